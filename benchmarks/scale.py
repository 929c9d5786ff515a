"""`rag bench`: ours vs a plain llama-index pipeline, at several corpus sizes.

    rag bench [--quick] [--sizes 1k,10k,100k] [--chroma embedded|server] [--out FILE.json]

- ingest (real, on the 1k corpus): our ingest chunks/s (with sentences stored) and the plain
  llama-index pipeline's (VectorStoreIndex over ChromaVectorStore, same embedder, defaults,
  as evals/baseline.py builds it), each as a ratio to the raw embedder on the same chunk texts;
- at every size: retrieval and extractive answer p50/p95 over first-seen questions (warm
  process), `status` time, adding one document, cold `rag ask` wall and peak RSS.
  Sizes above 1k are synthetic (benchmarks/synth.py) and their vectors are PRECOMPUTED:
  a pool of real MiniLM embeddings of distinct chunks, each reused with small noise, written
  straight into Chroma, the lexical index, the catalogue and the sentence store (sentences
  split by a regex, vectors from the same pool), so the stores and the query path are
  measured, not the embedder;
- `--chroma server` runs it all against a `chroma run` server on 127.0.0.1.

Prints a table with ours/baseline ratios and writes JSON. No pass/fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

CHROMA_PORT = 18320
SENT_RE = re.compile(r"[^.!?]+[.!?]?")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))] if xs else float("nan")


def parse_size(s: str) -> int:
    s = s.strip().lower()
    return int(float(s[:-1]) * 1000) if s.endswith("k") else int(s)


def register(sub) -> None:
    p = sub.add_parser("bench", help="scale benchmark: ours vs plain llama-index (figures, no pass/fail)")
    p.add_argument("--quick", action="store_true", help="1k chunks only (unless --sizes is given)")
    p.add_argument("--sizes", help="comma-separated chunk counts (default 1k,10k,100k)")
    p.add_argument("--ingest-chunks", type=int, default=1000,
                   help="chunks of the real-ingest comparison (ours / baseline / raw embedder)")
    p.add_argument("--questions", type=int, default=60)
    p.add_argument("--chroma", choices=["embedded", "server"], default="embedded")
    p.add_argument("--out", type=Path, default=Path("bench-scale.json"))
    p.set_defaults(func=cmd_bench)


# --- corpora --------------------------------------------------------------------------
def records(n_chunks: int, seed: int = 0):
    """About n_chunks chunks' worth of documents: 4 synthetic windows per document."""
    from benchmarks.synth import synth_texts
    from rag.ingest import SourceRecord

    texts = list(synth_texts(n_chunks, seed))
    out = []
    for i in range(0, len(texts), 4):
        group = texts[i:i + 4]
        doc_id = f"synth/{seed}/{i // 4:06d}.txt"
        out.append(SourceRecord(doc_id, "\n\n".join(t for _, t in group), group[0][0], doc_id))
    return out


def insert_precomputed(svc, n_chunks: int, pool: list[list[float]]) -> None:
    """Write synthetic chunks with precomputed (pooled, jittered) vectors into every store."""
    import numpy as np

    from benchmarks.synth import synth_texts
    from rag.catalog import Catalog, DocRow
    from rag.lexical import LexicalIndex
    from rag.sentence_store import SqliteSentenceStore
    from rag.sentences import Sentence
    from rag.types import Chunk

    rng = np.random.default_rng(0)
    pool_arr = np.asarray(pool, dtype=np.float32)
    batch = min(svc.store.max_batch_size(), 4000)
    texts = synth_texts(n_chunks, seed=1)
    done = 0
    while done < n_chunks:
        part = [next(texts) for _ in range(min(batch, n_chunks - done))]
        chunks = [Chunk(f"big/{(done + j) // 4:07d}.txt#{(done + j) % 4}", f"big/{(done + j) // 4:07d}.txt",
                        f"big/{(done + j) // 4:07d}.txt", title, text, 0, len(text))
                  for j, (title, text) in enumerate(part)]
        vecs = pool_arr[rng.integers(0, len(pool_arr), len(chunks))] + rng.normal(0, 0.02, (len(chunks), pool_arr.shape[1]))
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        svc.store.collection.add(
            ids=[c.chunk_id for c in chunks], embeddings=vecs.astype(np.float32).tolist(),
            documents=[c.text for c in chunks],
            metadatas=[{"ref_doc_id": c.doc_id, "source": c.source, "title": c.title, "start": 0,
                        "end": len(c.text)} for c in chunks])
        sents = []
        for c in chunks:
            for m in SENT_RE.finditer(c.text):
                lead = len(m.group()) - len(m.group().lstrip())
                text = m.group().strip()
                if len(text) >= 2:
                    sents.append(Sentence(c, m.start() + lead, m.start() + lead + len(text), text, ()))
        svecs = pool_arr[rng.integers(0, len(pool_arr), len(sents))]
        with svc.index_db.transaction() as conn:
            LexicalIndex.add(conn, chunks)
            SqliteSentenceStore.add(conn, sents, svecs, chunks)
            for doc_id in dict.fromkeys(c.doc_id for c in chunks):
                Catalog.put(conn, DocRow(doc_id, "synthetic", 4, doc_id, "", "", time.time()))
        done += len(chunks)
    svc.index_db.checkpoint()


# --- measurements ---------------------------------------------------------------------
def query_latency(svc, questions: list[str]) -> dict:
    retrieve, answer = [], []
    for q in questions:
        a = svc.ask(q, mode="extractive")
        retrieve.append(a.timings_ms["retrieve"])
        answer.append(a.timings_ms["answer"])
    return {"retrieve_ms_p50": statistics.median(retrieve), "retrieve_ms_p95": pct(retrieve, 0.95),
            "answer_ms_p50": statistics.median(answer), "answer_ms_p95": pct(answer, 0.95)}


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def cold_ask(data_dir: Path, env: dict, question: str) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c",
                           "import resource,sys; from rag.cli import main; rc=main(sys.argv[1:]);"
                           "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr);"
                           "sys.exit(rc)", "--data-dir", str(data_dir), "ask", "--json", question],
                          env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t
    rss = next((int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("RSS ")), 0)
    return {"cold_ask_s": wall, "cold_ask_rss_mb": rss / 1024, "cold_ask_rc": proc.returncode}


def ingest_figures(settings_kw: dict, embedder, recs) -> dict:
    """Ours vs plain llama-index vs the raw embedder, on the same records."""
    from rag.ingest import chunk_records
    from rag.service import RagService
    from rag.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="scale-bench-ingest-"))
    try:
        settings = Settings(data_dir=tmp / "ours", **settings_kw)
        texts = [n.text for n in chunk_records(settings, embedder, recs)]
        raw = len(texts) / timed(lambda: embedder.embed(texts))
        svc = RagService(settings, embedder=embedder)
        t = time.perf_counter()
        report = svc.ingest_records(recs)
        ours = report.chunks_written / (time.perf_counter() - t)
        base_chunks, base_s = baseline_ingest(tmp / "baseline", embedder, recs)
        return {"chunks": len(texts), "raw_embed_chunks_per_s": raw, "ours_chunks_per_s": ours,
                "ours_over_raw": ours / raw, "baseline_chunks": base_chunks,
                "baseline_chunks_per_s": base_chunks / base_s,
                "ours_over_baseline": ours / (base_chunks / base_s)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def baseline_ingest(path: Path, embedder, recs) -> tuple[int, float]:
    """The plain llama-index way (as evals/baseline.py): VectorStoreIndex over ChromaVectorStore."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from rag.llama_adapters import EmbedderAdapter

    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
    docs = [Document(id_=r.doc_id, text=r.text) for r in recs]
    t = time.perf_counter()
    VectorStoreIndex.from_documents(docs, storage_context=StorageContext.from_defaults(vector_store=store),
                                    embed_model=EmbedderAdapter.wrap(embedder))
    return store._collection.count(), time.perf_counter() - t


def baseline_retrieval(embedder, recs, questions: list[str]) -> dict:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from rag.llama_adapters import EmbedderAdapter

    tmp = Path(tempfile.mkdtemp(prefix="scale-bench-base-"))
    try:
        client = chromadb.PersistentClient(path=str(tmp), settings=ChromaSettings(anonymized_telemetry=False))
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
        index = VectorStoreIndex.from_documents(
            [Document(id_=r.doc_id, text=r.text) for r in recs],
            storage_context=StorageContext.from_defaults(vector_store=store), embed_model=EmbedderAdapter.wrap(embedder))
        retriever = index.as_retriever()
        lat = []
        for q in questions:
            t = time.perf_counter()
            retriever.retrieve(q)
            lat.append((time.perf_counter() - t) * 1e3)
        return {"baseline_retrieve_ms_p50": statistics.median(lat), "baseline_retrieve_ms_p95": pct(lat, 0.95),
                "note": "includes the question's embedding (ours reports it separately)"}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def chroma_server(path: Path):
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(CHROMA_PORT)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", CHROMA_PORT)) == 0:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("chroma run did not start")
            time.sleep(0.3)
        yield CHROMA_PORT
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_size(size: int, embedder, questions: list[str], pool, base_env: dict, chroma: str) -> dict:
    from rag.service import RagService
    from rag.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix=f"scale-bench-{size}-"))
    try:
        with (chroma_server(tmp / "server") if chroma == "server" else _nothing()) as port:
            kw = {"chroma_mode": "server", "chroma_port": port} if port else {}
            env = {**base_env, **({"RAG_CHROMA_MODE": "server", "RAG_CHROMA_PORT": str(port)} if port else {})}
            settings = Settings(data_dir=tmp / "data", mode="extractive", **kw)
            svc = RagService(settings, embedder=embedder)
            t = time.perf_counter()
            if size <= 1000:  # real ingest; larger sizes get precomputed vectors
                svc.ingest_records(records(size))
                how = "real ingest (embedded, sentences stored)"
            else:
                insert_precomputed(svc, size, pool)
                how = "precomputed vectors inserted"
            build_s = time.perf_counter() - t
            row = {"chunks": svc.store.count(), "built_by": how, "build_s": build_s}
            row.update(query_latency(svc, questions))
            row["status_s"] = timed(lambda: RagService(settings, embedder=embedder).status())
            one = records(4, seed=7)[:1]
            row["add_one_doc_s"] = timed(lambda: svc.ingest_records(one))
            row.update(cold_ask(settings.data_dir, env, questions[0]))
            row["load_average"] = os.getloadavg()
            return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _nothing():
    yield None


def cmd_bench(args, settings) -> int:
    from benchmarks.synth import questions as first_seen
    from benchmarks.synth import synth_texts
    from rag.embeddings import build_embedder

    sizes = [parse_size(s) for s in (args.sizes or ("1k" if args.quick else "1k,10k,100k")).split(",")]
    embedder = build_embedder(settings)
    qs = first_seen(args.questions + 1)
    base_env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_MODE": "extractive"}
    result: dict = {"load_average_start": os.getloadavg(), "chroma": args.chroma, "sizes": {}}
    recs = records(args.ingest_chunks)
    print(f"ingest ({args.ingest_chunks} chunks, real embedding) ...", flush=True)
    result["ingest"] = ingest_figures({}, embedder, recs)
    result["baseline_query"] = baseline_retrieval(embedder, recs, qs[1:])
    pool = embedder.embed([t for _, t in synth_texts(512, seed=3)])
    for size in sizes:
        print(f"size {size} ...", flush=True)
        result["sizes"][str(size)] = bench_size(size, embedder, qs[1:], pool, base_env, args.chroma)
    result["load_average_end"] = os.getloadavg()
    args.out.write_text(json.dumps(result, indent=2))
    print(render(result))
    print(f"JSON: {args.out}")
    return 0


def render(r: dict) -> str:
    ing, base = r["ingest"], r["baseline_query"]
    lines = [f"ingest comparison on {ing['chunks']} of our chunks; load average {r['load_average_start']} -> {r['load_average_end']}; chroma {r['chroma']}",
             f"ingest: ours {ing['ours_chunks_per_s']:.1f} chunks/s ({ing['ours_over_raw']:.2f} of raw "
             f"{ing['raw_embed_chunks_per_s']:.1f}), baseline {ing['baseline_chunks_per_s']:.1f} chunks/s "
             f"({ing['baseline_chunks']} chunks of 1024 tokens); ours/baseline {ing['ours_over_baseline']:.2f}",
             f"baseline retrieve p50/p95 {base['baseline_retrieve_ms_p50']:.1f}/{base['baseline_retrieve_ms_p95']:.1f} ms "
             f"(on the {ing['chunks']}-chunk ingest corpus, embedding included)",
             "| chunks | built by | retrieve p50/p95 ms | answer p50/p95 ms | status s | add one doc s |"
             " cold ask s | cold RSS MB |",
             "|---|---|---|---|---|---|---|---|"]
    for row in r["sizes"].values():
        lines.append(f"| {row['chunks']} | {row['built_by']} | {row['retrieve_ms_p50']:.1f}/{row['retrieve_ms_p95']:.1f}"
                     f" | {row['answer_ms_p50']:.1f}/{row['answer_ms_p95']:.1f} | {row['status_s']:.3f}"
                     f" | {row['add_one_doc_s']:.2f} | {row['cold_ask_s']:.2f} | {row['cold_ask_rss_mb']:.0f} |")
    return "\n".join(lines)
