"""Re-scoring the dense candidates with their best stored sentence: which rule, measured.

Over an index `rag eval` built (same data dir, same RAG_* settings, e.g.
RAG_SENTENCE_VECTORS), for each answerable question: Chroma's top fusion_depth, each
candidate's best stored-sentence cosine, BM25's top fusion_depth, then convex fusion as the
product does it, under several dense rules. Prints per rule: document hit@1 / MRR@10 (the
eval's ranking of distinct documents) and gold-passage chunk hit@1 / hit@5 (a top chunk
overlapping a gold span; realdocs sets only).

    python benchmarks/profiles/dense_rescore.py squad2_dev /tmp/d   # after rag --data-dir /tmp/d eval ...
"""
import sys

import numpy as np

from evals.data import load_dataset, select
from evals.runner import collection_name
from rag.embeddings import build_embedder
from rag.retrieve import convex_fuse
from rag.sentence_store import SqliteSentenceStore
from rag.service import RagService
from rag.settings import Settings

RULES = {
    "chunk": lambda c, b: c,
    "max": lambda c, b: max(c, b),
    "best": lambda c, b: b,
    **{f"mix{w:.2f}": (lambda w: lambda c, b: (1 - w) * c + w * b)(w) for w in (0.25, 0.5, 0.75)},
    **{f"mixmax{w:.2f}": (lambda w: lambda c, b: (1 - w) * c + w * max(c, b))(w) for w in (0.25, 0.5, 0.75)},
}


def main(dataset: str, data_dir: str) -> None:
    ds = select(load_dataset(dataset))
    base = Settings(data_dir=data_dir, mode="extractive")
    embedder = build_embedder(base)
    s = base.model_copy(update={"collection": collection_name("eval", ds, base, embedder.name)})
    svc = RagService(s, embedder=embedder)
    assert svc.store.count() > 0, "no index: run rag eval on this data dir first"
    store = SqliteSentenceStore(svc.index_db)
    n = s.fusion_depth
    scores = {r: {"hit1": 0, "mrr": 0.0, "p1": 0, "p5": 0} for r in RULES}
    qs = [q for q in ds.questions if q.answerable and q.gold_doc_ids]
    for q in qs:
        vec = embedder.embed([q.question])[0]
        nearest = svc.store.nearest(vec, n)
        chunks = svc.lexical.chunks_by_id([i for i, _ in nearest])
        dense = [(chunks[i], 1.0 - d) for i, d in nearest if i in chunks]
        sv = store.vectors([c.chunk_id for c, _ in dense])
        qv = np.asarray(vec, dtype=np.float32)
        best = {cid: float((m @ qv).max()) for cid, m in sv.items()}
        sparse = svc.lexical.search(q.question, n)
        for name, rule in RULES.items():
            rescored = sorted(((c, rule(x, best.get(c.chunk_id, x))) for c, x in dense), key=lambda t: -t[1])
            hits = convex_fuse(rescored, sparse, s.fusion_alpha)[:20]
            docs = list(dict.fromkeys(h.chunk.doc_id for h in hits))
            rank = next((i for i, d in enumerate(docs[:10], 1) if d in q.gold_doc_ids), None)
            sc = scores[name]
            sc["hit1"] += rank == 1
            sc["mrr"] += 1 / rank if rank else 0.0
            gold = [next((i for i, h in enumerate(hits[:5], 1) if any(
                h.chunk.doc_id == d and h.chunk.start < e and a < h.chunk.end for d, a, e in q.gold_spans)), None)]
            sc["p1"] += gold[0] == 1
            sc["p5"] += gold[0] is not None
    print(f"{dataset}: {len(qs)} answerable questions, sentence_vectors={s.sentence_vectors}")
    for name, sc in scores.items():
        print(f"  {name:12s} doc hit@1 {sc['hit1'] / len(qs):.3f}  MRR@10 {sc['mrr'] / len(qs):.3f}"
              f"  passage hit@1 {sc['p1'] / len(qs):.3f}  hit@5 {sc['p5'] / len(qs):.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
