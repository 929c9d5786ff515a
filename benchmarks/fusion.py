"""Fusion study: dense vs BM25 vs RRF vs convex combinations, on the public eval sets.

    python benchmarks/fusion.py [--sets squad2_dev,rgb_en_fact,clapnq_dev] [--depth 60]

Ingests each set once (our chunking and embedder, data under data/bench-fusion), records the
dense and BM25 rankings of every answerable question, then scores each fusion offline:
document-level hit@1 and MRR@10, as `rag eval` computes them. Prints one table.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rag.retrieve import convex_fuse, rrf_fuse

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rankings(name: str, data_dir: Path, depth: int) -> list[dict]:
    from evals.data import load_dataset
    from evals.runner import Config, OursRunner
    from rag.settings import Settings

    ds = load_dataset(name)
    runner = OursRunner(Settings(data_dir=data_dir), ds)
    runner.ingest()
    svc = runner.service(Config("fusion"))
    rows = []
    for q in ds.questions:
        if not (q.answerable and q.gold_doc_ids):
            continue
        vec = svc.embedder.embed([q.question])[0]
        rows.append({"gold": set(q.gold_doc_ids), "dense": svc.retriever.dense(q.question, depth, vec),
                     "bm25": svc.retriever.bm25.search(q.question, depth)})
    return rows


def doc_metrics(rows: list[dict], fuse) -> tuple[float, float]:
    hit1 = mrr = 0.0
    for r in rows:
        docs = list(dict.fromkeys(h.chunk.doc_id for h in fuse(r["dense"], r["bm25"])))[:10]
        hit1 += bool(docs) and docs[0] in r["gold"]
        mrr += next((1 / i for i, d in enumerate(docs, 1) if d in r["gold"]), 0.0)
    return hit1 / len(rows), mrr / len(rows)


FUSIONS = {
    "dense only": lambda d, b: convex_fuse(d, [], 1.0),
    "bm25 only": lambda d, b: convex_fuse([], b, 0.0),
    "rrf k=60": lambda d, b: rrf_fuse(d, b, 60),
    **{f"convex alpha={a}": (lambda a: lambda d, b: convex_fuse(d, b, a))(a) for a in (0.4, 0.5, 0.6, 0.7)},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="squad2_dev,rgb_en_fact,clapnq_dev")
    ap.add_argument("--depth", type=int, default=60)
    ap.add_argument("--data-dir", type=Path, default=Path("data/bench-fusion"))
    args = ap.parse_args()
    sets = {n: rankings(n, args.data_dir, args.depth) for n in args.sets.split(",")}
    print(f"{'fusion':22s}" + "".join(f"{n:>26s}" for n in sets))
    print(f"{'':22s}" + "".join(f"{'hit@1 / MRR@10':>26s}" for _ in sets))
    for label, fuse in FUSIONS.items():
        cells = "".join(f"{'%.3f / %.3f' % doc_metrics(rows, fuse):>26s}" for rows in sets.values())
        print(f"{label:22s}{cells}")


if __name__ == "__main__":
    main()
