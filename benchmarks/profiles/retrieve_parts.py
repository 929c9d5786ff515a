"""Split a warm retrieval at 100k into its parts; first-seen questions."""
import cProfile, os, pstats, statistics, sys, time
from pathlib import Path
from rag.service import RagService
from rag.settings import Settings
from benchmarks.synth import questions
from benchmarks.scale import pct

data = Path(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 40
svc = RagService(Settings(data_dir=data, mode="extractive"))
qs = questions(nq + 60)
svc.ask(qs[0], mode="extractive")  # warm
r = svc.retriever
parts = {k: [] for k in ("embed", "chroma_full", "chroma_ids", "sqlite_chunks", "fts", "total")}
for q in qs[1:nq + 1]:
    t0 = time.perf_counter(); vec = svc.embedder.embed([q])[0]; t1 = time.perf_counter()
    svc.store.collection.query(query_embeddings=[vec], n_results=60, include=["distances", "documents", "metadatas"]); t2 = time.perf_counter()
    res = svc.store.collection.query(query_embeddings=[vec], n_results=60, include=["distances"]); t3 = time.perf_counter()
    svc.lexical.chunks_by_id(res["ids"][0]); t4 = time.perf_counter()
    svc.lexical.search(q, 60); t5 = time.perf_counter()
    parts["embed"].append(t1 - t0); parts["chroma_full"].append(t2 - t1); parts["chroma_ids"].append(t3 - t2)
    parts["sqlite_chunks"].append(t4 - t3); parts["fts"].append(t5 - t4)
tot = []
for q in qs[nq + 1:nq + 41]:
    t = time.perf_counter(); r.retrieve(q); tot.append(time.perf_counter() - t)
parts["total"] = tot
print("load", os.getloadavg())
for k, v in parts.items():
    print(f"{k:14s} p50 {statistics.median(v)*1e3:7.1f}  p95 {pct(v, .95)*1e3:7.1f} ms")
if os.environ.get("PROFILE"):
    pr = cProfile.Profile(); pr.enable()
    for q in qs[1:nq + 1]:
        r.retrieve(q + " ")
    pr.disable()
    pstats.Stats(pr).sort_stats("cumulative").print_stats(25)
