import os, sys, time, tempfile, cProfile, pstats
from pathlib import Path
from rag.service import RagService
from rag.settings import Settings
from rag.embeddings import build_embedder
from rag.ingest import chunk_records, node_chunk
from rag.sentences import SentenceAnalyzer
from benchmarks.scale import records
n = int(sys.argv[1])
recs = records(n)
emb = build_embedder(Settings())
emb.embed(["warm up"])
t = time.perf_counter(); nodes = chunk_records(Settings(), emb, recs); split = time.perf_counter() - t
texts = [x.text for x in nodes]
t = time.perf_counter(); emb.embed(texts); raw = time.perf_counter() - t
chunks = [node_chunk(x) for x in nodes]
an = SentenceAnalyzer(); an.analyze(chunks[:2])
t = time.perf_counter(); sents = an.analyze(chunks); spacy_s = time.perf_counter() - t
uniq = {(s.chunk.doc_id, s.start, s.end): s.text for s in sents}
t = time.perf_counter(); emb.embed([s.text for s in sents]); sent_s = time.perf_counter() - t
print(f"load {os.getloadavg()[0]:.1f} chunks {len(texts)} split {split:.2f}s raw-embed {raw:.2f}s ({len(texts)/raw:.1f}/s) spacy {spacy_s:.2f}s sentences {len(sents)} unique {len(uniq)} embed-sentences {sent_s:.2f}s")
tmp = Path(tempfile.mkdtemp(prefix="scale-ing-"))
svc = RagService(Settings(data_dir=tmp / "d", precompute_sentences=os.environ.get("PRE", "1") == "1"), embedder=emb)
svc.analyzer.analyze(chunks[:1])
pr = cProfile.Profile(); pr.enable()
t = time.perf_counter(); rep = svc.ingest_records(recs); tot = time.perf_counter() - t
pr.disable()
print(f"load {os.getloadavg()[0]:.1f} ingest {tot:.2f}s {rep.chunks_written/tot:.1f} chunks/s = {rep.chunks_written/tot/(len(texts)/raw):.2f} of raw")
if os.environ.get("PROFILE"):
    pstats.Stats(pr).sort_stats("cumulative").print_stats(30)
