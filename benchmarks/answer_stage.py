"""Warm extractive answer-stage latency: ExtractiveAnswerer.run on pre-retrieved hits.

    python benchmarks/answer_stage.py [--data-dir D] [--dataset squad2_dev] [--limit 100] [--reps 3]

Retrieval and the question embedding are done once, outside the timed loop, so two code
versions can be compared on the same index without retrieval noise (EVALS.md, "Answer
quality on real documents"). Prints the load average next to each figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default="data")
    p.add_argument("--dataset", default="squad2_dev")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()

    from evals.data import load_dataset, select
    from evals.runner import Config, OursRunner
    from rag.settings import Settings

    ds = select(load_dataset(args.dataset), limit=args.limit)
    runner = OursRunner(Settings(data_dir=args.data_dir), ds)
    runner.ingest()
    svc = runner.service(Config("bench"))
    prepared = []
    for q in ds.questions:
        vec = svc.embedder.embed([q.question])[0]
        prepared.append((q.question, svc.retriever.retrieve(q.question, top_k=5, query_vec=vec), vec))
    for rep in range(args.reps):
        times = []
        for question, hits, vec in prepared:
            t0 = time.perf_counter()
            svc.extractive.run(question, hits, vec)
            times.append((time.perf_counter() - t0) * 1e3)
        print(f"rep {rep + 1}: answer stage p50 {statistics.median(times):.2f} ms, "
              f"mean {statistics.mean(times):.2f} ms, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
