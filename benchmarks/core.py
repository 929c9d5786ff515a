"""Core benchmark: cold `rag ask`, warm per-question latency, ingest vs raw embedding throughput.

Prints figures and their ratio to the targets of issue #2; no pass/fail.
    python benchmarks/core.py [--corpus ../shared/evaldata/squad2_dev] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_Q = "What does Stoltenberg say about China?"


def env_for(data_dir: Path) -> dict:
    env = dict(os.environ, RAG_DATA_DIR=str(data_dir), RAG_MODE="extractive", HF_HUB_OFFLINE="1")
    env.pop("RAG_LLM_BASE_URL", None)
    return env


def rag(args, env, stdin=None):
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, check=True)


def cold_ask(env, runs: int) -> dict:
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        rag(["ask", "--json", SEED_Q], env)
        walls.append(time.perf_counter() - t)
    rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"cold_ask_s_median": statistics.median(walls), "cold_ask_s_max": max(walls),
            "max_rss_mib": rss_mib}


def warm_ask(env, repeats: int = 5) -> dict:
    golden = [json.loads(x)["question"] for x in (ROOT / "evals/datasets/seed.jsonl").read_text().splitlines() if x]
    questions = golden * repeats
    out = rag(["ask", "--json", "-"], env, stdin="\n".join(questions) + "\n")
    totals = [json.loads(line)["timings_ms"]["total"] for line in out.stdout.splitlines()]
    warm = sorted(totals[len(golden):])  # first pass warms caches; the rest is steady state
    return {"warm_questions": len(warm), "warm_ms_p50": statistics.median(warm),
            "warm_ms_p95": warm[int(0.95 * (len(warm) - 1))], "first_pass_ms_p50": statistics.median(totals[:len(golden)])}


def ingest_vs_raw(corpus: Path) -> dict:
    from rag.embeddings import OnnxMiniLM
    from rag.ingest import SourceRecord, chunk_records
    from rag.service import RagService
    from rag.settings import Settings

    records = [SourceRecord(d["id"], d["text"], d.get("title", ""), d.get("source", ""))
               for d in map(json.loads, (corpus / "documents.jsonl").read_text().splitlines())]
    embedder = OnnxMiniLM()
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-ingest-")))
    texts = [n.text for n in chunk_records(settings, embedder, records)]
    t = time.perf_counter()
    embedder.embed(texts)  # the model alone: length-sorted batches of 32, no store, no pipeline
    raw = len(texts) / (time.perf_counter() - t)
    t = time.perf_counter()
    report = RagService(settings, embedder=embedder).ingest_records(records)
    ingest = report.chunks_written / (time.perf_counter() - t)
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    return {"corpus": corpus.name, "chunks": len(texts), "raw_embed_chunks_per_s": raw,
            "ingest_chunks_per_s": ingest, "ingest_over_raw": ingest / raw}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/evaldata/squad2_dev")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-startup", action="store_true",
                    help="skip `rag serve` start-up (benchmarks/startup.py)")
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-core-"))
    env = env_for(data_dir)
    rag(["ingest", "seeds/", "--no-progress"], env)
    figures = {**cold_ask(env, args.runs), **warm_ask(env)}
    if args.corpus.exists():
        figures.update(ingest_vs_raw(args.corpus))
    if not args.no_startup:
        from benchmarks.startup import measure  # command → page → first answer (issue 12)

        figures.update(measure(runs=3))
    shutil.rmtree(data_dir, ignore_errors=True)
    targets = {"cold_ask_s_median": 3.0, "warm_ms_p50": 50.0, "serve_page_s_median": 10.0}
    for key, value in figures.items():
        line = f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}"
        if key in targets:
            line += f"   (target < {targets[key]}: ratio {value / targets[key]:.2f})"
        if key == "ingest_over_raw":
            line += "   (target >= 0.80)"
        print(line)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
