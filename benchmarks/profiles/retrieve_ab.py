import os, statistics, sys, time
from pathlib import Path
from rag.service import RagService
from rag.settings import Settings
from rag.retrieve import chunk_from, convex_fuse
from rag.text import content_terms
from rag.types import Chunk
from benchmarks.synth import questions
from benchmarks.scale import pct
svc = RagService(Settings(data_dir=Path(sys.argv[1]), mode="extractive"))
qs = questions(400)[int(sys.argv[2]):int(sys.argv[2]) + int(sys.argv[3])]
r = svc.retriever; db = svc.index_db; st = svc.store
def old(q):
    vec = svc.embedder.embed([q])[0]
    n = min(60, st.count())
    res = st.collection.query(query_embeddings=[vec], n_results=n, include=["distances", "documents", "metadatas"])
    dense = [(chunk_from(i, t, m), 1.0 - float(d)) for i, t, m, d in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])]
    terms = list(dict.fromkeys(content_terms(q)))
    match = " OR ".join(f'"{t}"' for t in terms)
    rows = db.query("SELECT c.chunk_id, c.doc_id, c.source, c.title, c.text, c.start_char, c.end_char, c.section, c.page, c.blocks, -f.rank FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?) f JOIN chunks c ON c.rowid = f.rowid ORDER BY f.rank", (match, 60))
    sparse = [(Chunk(*row[:10]), float(row[10])) for row in rows if row[10] > 0]
    return convex_fuse(dense, sparse, 0.6)[:5]
def new(q):
    return r.retrieve(q)
old(qs[0]); new(qs[0])
to, tn, same = [], [], 0
for i, q in enumerate(qs):
    fs = (old, new) if i % 2 else (new, old)
    res = {}
    for f in fs:
        t = time.perf_counter(); res[f] = f(q); dt = time.perf_counter() - t
        (to if f is old else tn).append(dt)
    same += [h.chunk.chunk_id for h in res[old]] == [h.chunk.chunk_id for h in res[new]]
print("load %.1f" % os.getloadavg()[0], "old p50 %.1f p95 %.1f | new p50 %.1f p95 %.1f ms | same top5 %d/%d" % (
    statistics.median(to)*1e3, pct(to, .95)*1e3, statistics.median(tn)*1e3, pct(tn, .95)*1e3, same, len(qs)))
