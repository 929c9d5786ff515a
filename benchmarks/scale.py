"""`rag bench`: ours vs a plain llama-index pipeline, at several corpus sizes.

    rag bench [--quick] [--sizes 1k,10k,100k] [--chroma embedded|server|both] [--corpus-dir DIR]
              [--ingest-chunks N] [--out FILE.json]

- ingest (real, on the 1k corpus): our ingest chunks/s (with sentences stored) and the plain
  llama-index pipeline's (VectorStoreIndex over ChromaVectorStore, same embedder, defaults,
  as evals/baseline.py builds it), each as a ratio to the raw embedder on the same chunk texts
  (and ours also to the raw embedder on what ours embeds: title + section + text);
  `--sizes none` runs this comparison alone;
- at every size: retrieval and extractive answer p50/p95 over first-seen questions (warm
  process), `status` time, adding one document, cold `rag ask` wall and peak RSS.
  Sizes above 1k are synthetic (benchmarks/synth.py) and their vectors are PRECOMPUTED:
  a pool of real MiniLM embeddings of distinct chunks, each reused with small noise, written
  straight into Chroma, the lexical index, the catalogue and the sentence store (sentences
  split by a regex, vectors from the same pool), so the stores and the query path are
  measured, not the embedder;
- `rag serve` (no local LLM): seconds to ready, RSS when ready and after a question and a
  document listing through the API;
- `--chroma server` runs it all against a `chroma run` server on 127.0.0.1 over the same files
  an embedded build wrote; `both` measures embedded, then server, side by side;
- `--corpus-dir DIR` keeps each size's stores in DIR/<size> and reuses them (the 100k build
  takes minutes); `--ingest-chunks 0` skips the ingest comparison.

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
    p.add_argument("--sizes", help="comma-separated chunk counts (default 1k,10k,100k); none: the ingest comparison only")
    p.add_argument("--ingest-chunks", type=int, default=1000,
                   help="chunks of the real-ingest comparison (ours / baseline / raw embedder); 0: skip it")
    p.add_argument("--questions", type=int, default=60)
    p.add_argument("--chroma", choices=["embedded", "server", "both"], default="embedded",
                   help="both: every size against embedded Chroma, then a `chroma run` server over the same files")
    p.add_argument("--chroma-port", type=int, default=0, help="port of the benchmark's `chroma run` (0: a free one)")
    p.add_argument("--corpus-dir", type=Path,
                   help="build each size's stores here once and reuse them on later runs")
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
    """Per first-seen question: "retrieve" (after the question's embedding; BM25 started
    before it), "search" (embedding + retrieve: the question's wall time to its hits), answer."""
    retrieve, search, answer = [], [], []
    svc.ask("warm-up question about nothing in particular", mode="extractive")
    for q in questions:
        a = svc.ask(q, mode="extractive")
        retrieve.append(a.timings_ms["retrieve"])
        search.append(a.timings_ms["embed"] + a.timings_ms["retrieve"])
        answer.append(a.timings_ms["answer"])
    return {"retrieve_ms_p50": statistics.median(retrieve), "retrieve_ms_p95": pct(retrieve, 0.95),
            "search_ms_p50": statistics.median(search), "search_ms_p95": pct(search, 0.95),
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
        from llama_index.core.schema import MetadataMode

        nodes = chunk_records(settings, embedder, recs)
        texts = [n.text for n in nodes]
        load = {"raw": os.getloadavg()[0]}
        raw = len(texts) / timed(lambda: embedder.embed(texts))
        # what ours embeds per chunk: title + section + text
        embed_texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        raw_embed_text = len(texts) / timed(lambda: embedder.embed(embed_texts))
        svc = RagService(settings, embedder=embedder)
        load["ours"] = os.getloadavg()[0]
        t = time.perf_counter()
        report = svc.ingest_records(recs)
        ours = report.chunks_written / (time.perf_counter() - t)
        load["baseline"] = os.getloadavg()[0]
        base_chunks, base_s = baseline_ingest(tmp / "baseline", embedder, recs)
        load["end"] = os.getloadavg()[0]
        ours_s = report.chunks_written / ours
        return {"chunks": len(texts), "load_1min": load, "raw_embed_chunks_per_s": raw, "ours_chunks_per_s": ours,
                "ours_over_raw": ours / raw, "raw_embed_text_chunks_per_s": raw_embed_text,
                "ours_over_raw_embed_text": ours / raw_embed_text, "baseline_chunks": base_chunks,
                "baseline_chunks_per_s": base_chunks / base_s,
                "ours_over_baseline": ours / (base_chunks / base_s),
                # same records, so source text per second is the inverse ratio of wall times
                "ours_over_baseline_text": base_s / ours_s}
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
def chroma_server(path: Path, port: int = 0):
    """`chroma run` over `path` on 127.0.0.1 (port 0: a free one); yields the port."""
    from ui.testing import free_port

    port = port or free_port()
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("chroma run did not start")
            time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def build_corpus(svc, size: int) -> str:
    """Fill an empty service's stores with `size` chunks; returns how they were built."""
    if size <= 1000:  # real ingest; larger sizes get precomputed vectors
        svc.ingest_records(records(size))
        return "real ingest (embedded, sentences stored)"
    insert_precomputed(svc, size, precomputed_pool(svc.embedder))
    return "precomputed vectors inserted"


def precomputed_pool(embedder) -> list[list[float]]:
    from benchmarks.synth import synth_texts

    return embedder.embed([t for _, t in synth_texts(512, seed=3)])


def bench_size(size: int, embedder, questions: list[str], base_env: dict, chroma: str,
               corpus_dir: Path | None = None, chroma_port: int = 0) -> dict:
    """Every per-size figure. `corpus_dir`: build the stores there once and reuse them on
    later runs (the add-one-document probe is deleted again, so the corpus stays the same);
    server mode runs `chroma run` over the same data dir's Chroma files."""
    from rag.service import RagService
    from rag.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix=f"scale-bench-{size}-"))
    base = corpus_dir / str(size) if corpus_dir else tmp
    try:
        data = base / "data"
        marker = base / "built.json"
        if chroma == "server" and not marker.exists():  # build embedded, then serve the files
            bench_build(data, size, embedder, marker)
        server = chroma_server(data / "chroma", chroma_port) if chroma == "server" else _nothing()
        with server as port:
            kw = {"chroma_mode": "server", "chroma_port": port} if port else {}
            env = {**base_env, **({"RAG_CHROMA_MODE": "server", "RAG_CHROMA_PORT": str(port)} if port else {})}
            settings = Settings(data_dir=data, mode="extractive", **kw)
            if not marker.exists():
                bench_build(data, size, embedder, marker, settings)
            svc = RagService(settings, embedder=embedder)
            row = {"chroma": chroma, "chunks": svc.store.count(), **json.loads(marker.read_text())}
            row.update(query_latency(svc, questions))
            row["status_s"] = timed(lambda: RagService(settings, embedder=embedder).status())
            row["add_one_doc_s"] = add_one_doc(svc)
            row.update(cold_ask(settings.data_dir, env, questions[0]))
            row.update(serve_figures(settings.data_dir, env))
            row["load_average"] = os.getloadavg()
            return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_build(data: Path, size: int, embedder, marker: Path, settings=None) -> None:
    from rag.service import RagService
    from rag.settings import Settings

    settings = settings or Settings(data_dir=data, mode="extractive")
    svc = RagService(settings, embedder=embedder)
    t = time.perf_counter()
    how = build_corpus(svc, size)
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # a `chroma run` may open these files next
    marker.write_text(json.dumps({"built_by": how, "build_s": time.perf_counter() - t,
                                  "build_load_average": os.getloadavg()}))


def add_one_doc(svc) -> float:
    """One 4-window document through the real ingest; deleted again afterwards."""
    one = records(4, seed=7)[:1]
    svc.delete_document(one[0].doc_id)  # a run killed before its clean-up
    took = timed(lambda: svc.ingest_records(one))
    svc.delete_document(one[0].doc_id)
    return took


def serve_figures(data_dir: Path, env: dict) -> dict:
    """`rag serve` (no local LLM): seconds until it says it is ready, its RSS then, and its
    peak RSS after one question and one Documents listing through the API."""
    import httpx

    from ui.testing import READY, free_port, stop_process

    port = free_port()
    cwd = Path(tempfile.mkdtemp(prefix="scale-serve-"))
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "--data-dir", str(data_dir), "serve",
                             "--no-local-llm", "--port", str(port)], cwd=cwd,
                            env={**env, "RAG_LOCAL_LLM": "off", "GRADIO_ANALYTICS_ENABLED": "False"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out: dict = {}
    try:
        for line in proc.stdout:  # the server prints READY once its socket listens
            if READY in line:
                out["serve_ready_s"] = time.perf_counter() - t
                break
        else:
            raise RuntimeError(f"rag serve exited ({proc.wait()})")
        url = f"http://127.0.0.1:{port}"
        out["serve_rss_ready_mb"] = _rss_mb(proc.pid)
        httpx.post(f"{url}/v1/chat/completions", timeout=300, json={
            "model": "rag", "messages": [{"role": "user", "content": "Who founded the company?"}]})
        httpx.get(f"{url}/v1/documents", timeout=300).raise_for_status()
        out["serve_rss_after_mb"] = _rss_mb(proc.pid)
        out["serve_rss_peak_mb"] = _rss_mb(proc.pid, "VmHWM:")
    finally:
        stop_process(proc)
        shutil.rmtree(cwd, ignore_errors=True)
    return out


def _rss_mb(pid: int, field: str = "VmRSS:") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def _nothing():
    yield None


def cmd_bench(args, settings) -> int:
    from benchmarks.synth import questions as first_seen
    from rag.embeddings import build_embedder

    spec = args.sizes or ("1k" if args.quick else "1k,10k,100k")
    sizes = [] if spec == "none" else [parse_size(s) for s in spec.split(",")]
    modes = ["embedded", "server"] if args.chroma == "both" else [args.chroma]
    embedder = build_embedder(settings)
    qs = first_seen(args.questions + 1)
    base_env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_MODE": "extractive"}
    result: dict = {"load_average_start": os.getloadavg(), "chroma": args.chroma, "sizes": {}}
    if args.ingest_chunks > 0:
        recs = records(args.ingest_chunks)
        print(f"ingest ({args.ingest_chunks} chunks, real embedding) ...", flush=True)
        result["ingest"] = ingest_figures({}, embedder, recs)
        result["baseline_query"] = baseline_retrieval(embedder, recs, qs[1:])
    for size in sizes:
        for mode in modes:
            print(f"size {size}, chroma {mode} ...", flush=True)
            key = str(size) if len(modes) == 1 else f"{size}/{mode}"
            result["sizes"][key] = bench_size(size, embedder, qs[1:], base_env, mode, args.corpus_dir,
                                                 args.chroma_port)
    result["load_average_end"] = os.getloadavg()
    args.out.write_text(json.dumps(result, indent=2))
    print(render(result))
    print(f"JSON: {args.out}")
    return 0


def render(r: dict) -> str:
    lines = [f"load average {r['load_average_start']} -> {r['load_average_end']}"]
    if "ingest" in r:
        ing, base = r["ingest"], r["baseline_query"]
        lines += [
            f"ingest comparison on {ing['chunks']} of our chunks: ours {ing['ours_chunks_per_s']:.1f} chunks/s"
            f" ({ing['ours_over_raw']:.2f} of raw {ing['raw_embed_chunks_per_s']:.1f};"
            f" {ing.get('ours_over_raw_embed_text', float('nan')):.2f} of raw"
            f" {ing.get('raw_embed_text_chunks_per_s', float('nan')):.1f} on title + section + text), baseline"
            f" {ing['baseline_chunks_per_s']:.1f} chunks/s ({ing['baseline_chunks']} chunks of 1024 tokens);"
            f" ours/baseline {ing['ours_over_baseline']:.2f}; per source text (chars/s) ours/baseline"
            f" {ing.get('ours_over_baseline_text', float('nan')):.2f}; 1-min load before raw / ours / baseline / end"
            f" {' / '.join(f'{v:.1f}' for v in ing.get('load_1min', {}).values())}",
            f"baseline retrieve p50/p95 {base['baseline_retrieve_ms_p50']:.1f}/{base['baseline_retrieve_ms_p95']:.1f}"
            f" ms (on the {ing['chunks']}-chunk ingest corpus, embedding included)"]
    lines += ["| chunks | chroma | built by | retrieve p50/p95 ms | embed+retrieve p50/p95 ms | answer p50/p95 ms | status s | add one doc s |"
              " cold ask s | cold RSS MB | serve ready s | serve RSS ready / after MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in r["sizes"].values():
        lines.append(f"| {row['chunks']} | {row['chroma']} | {row['built_by']}"
                     f" | {row['retrieve_ms_p50']:.1f}/{row['retrieve_ms_p95']:.1f}"
                     f" | {row.get('search_ms_p50', float('nan')):.1f}/{row.get('search_ms_p95', float('nan')):.1f}"
                     f" | {row['answer_ms_p50']:.1f}/{row['answer_ms_p95']:.1f} | {row['status_s']:.3f}"
                     f" | {row['add_one_doc_s']:.2f} | {row['cold_ask_s']:.2f} | {row['cold_ask_rss_mb']:.0f}"
                     f" | {row['serve_ready_s']:.1f} | {row['serve_rss_ready_mb']:.0f} / {row['serve_rss_after_mb']:.0f} |")
    return "\n".join(lines)
