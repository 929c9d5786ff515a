"""Retrieve stage: dense (Chroma, cosine) + BM25 (SQLite FTS5, rag.lexical), fused.

Default fusion: a convex combination of min-max normalised scores,
alpha * dense + (1 - alpha) * bm25, over the top `fusion_depth` of each list (a chunk
missing from one list scores 0 there). Measured on squad2_dev / rgb_en_fact / clapnq_dev
(EVALS.md, "Fusion"): it beats reciprocal rank fusion on all three and both single
retrievers on all three; RRF lost to dense-only on the natural-question sets.
llama-index's QueryFusionRetriever ("relative_score" mode is this fusion) would do the
same, but importing it adds ~1.4 s to every cold `rag ask` (measured), so it is a few
lines here.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from rag.types import Chunk, Hit

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rag.embeddings import Embedder
    from rag.lexical import LexicalIndex
    from rag.settings import Settings
    from vectorstore.chroma import ChromaStore

log = logging.getLogger(__name__)


class SentenceVectors(Protocol):
    """Stored sentence vectors by chunk (rag.sentence_store.SqliteSentenceStore)."""

    def vectors(self, chunk_ids: Sequence[str]) -> dict: ...


def chunk_from(chunk_id: str, text: str, meta: dict) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=str(meta.get("ref_doc_id", "")),
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", len(text))),
        section=str(meta.get("section") or ""),
        page=int(meta["page"]) if meta.get("page") else None,
        blocks=str(meta.get("blocks") or ""),
    )


class HybridRetriever:
    """top-k chunks for a question; scores and per-retriever ranks kept for display.

    The lexical side is the persistent SQLite FTS5 index (rag/lexical.py): nothing is built
    at start-up or after an ingest, and every question sees the latest committed writes of
    any process sharing the data dir. In hybrid mode the BM25 query runs in a worker thread
    while this one embeds the question and asks Chroma (sqlite3, onnxruntime and Chroma's
    bindings release the GIL), so a question costs the slower of the two, not their sum.
    Dense hits come from Chroma as ids and distances only; their text and metadata are read
    from the lexical index's chunk table (committed chunks only: a killed ingest's orphans in
    Chroma are never returned).
    """

    def __init__(self, settings: Settings, embedder: Embedder, store: ChromaStore,
                 lexical: LexicalIndex, sentences: SentenceVectors | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.bm25 = lexical
        self.sentences = sentences  # stored sentence vectors, for dense_sentence_weight
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def refresh(self) -> None:
        """Nothing to rebuild: the lexical index is updated in place by ingest."""

    def dense(self, query: str, n: int, query_vec: list[float] | None = None) -> list[tuple[Chunk, float]]:
        vec = query_vec if query_vec is not None else self.embedder.embed([query])[0]
        nearest = self.store.nearest(vec, n)
        chunks = self.bm25.chunks_by_id([i for i, _ in nearest])
        ranked = [(chunks[i], 1.0 - d) for i, d in nearest if i in chunks]
        weight = self.settings.dense_sentence_weight
        if weight <= 0 or self.sentences is None or not ranked:
            return ranked
        return sentence_rescore(ranked, self.sentences.vectors([c.chunk_id for c, _ in ranked]), vec, weight)

    def start_bm25(self, query: str, top_k: int | None = None, mode: str | None = None) -> Future | None:
        """Start the BM25 query in the worker thread (hybrid mode), to pass to retrieve():
        the caller can embed the question meanwhile."""
        if (mode or self.settings.retrieval) != "hybrid":
            return None
        n = max(top_k or self.settings.top_k, self.settings.fusion_depth)
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bm25")
            return self._pool.submit(self.bm25.search, query, n)

    def retrieve(self, query: str, top_k: int | None = None, mode: str | None = None,
                 query_vec: list[float] | None = None, bm25: Future | None = None) -> list[Hit]:
        """`bm25`: what start_bm25() returned for the same query, top_k and mode."""
        top_k = top_k or self.settings.top_k
        mode = mode or self.settings.retrieval
        s = self.settings
        n = max(top_k, s.fusion_depth)
        pending = bm25 if bm25 is not None else self.start_bm25(query, top_k, mode)
        dense = self.dense(query, n, query_vec) if mode in ("hybrid", "dense") else []
        if pending is not None:
            sparse = pending.result()
        else:
            sparse = self.bm25.search(query, n) if mode == "bm25" else []
        if s.fusion == "rrf":
            return rrf_fuse(dense, sparse, s.rrf_k)[:top_k]
        return convex_fuse(dense, sparse, s.fusion_alpha)[:top_k]


def sentence_rescore(ranked: list[tuple[Chunk, float]], vectors: dict, query_vec: Sequence[float],
                     weight: float) -> list[tuple[Chunk, float]]:
    """Dense candidates re-scored with their best sentence, re-sorted:
    (1 - weight) * chunk cosine + weight * max(chunk cosine, best stored sentence cosine).
    `vectors`: chunk id -> its sentences' unit vectors (rows); a chunk without keeps its cosine."""
    import numpy as np

    q = np.asarray(query_vec, dtype=np.float32)
    out = []
    for chunk, score in ranked:
        rows = vectors.get(chunk.chunk_id)
        best = float((rows @ q).max()) if rows is not None and len(rows) else score
        out.append((chunk, (1 - weight) * score + weight * max(score, best)))
    out.sort(key=lambda t: (-t[1], t[0].chunk_id))
    return out


def _minmax(ranked: list[tuple[Chunk, float]]) -> dict[str, float]:
    if not ranked:
        return {}
    lo, hi = min(s for _, s in ranked), max(s for _, s in ranked)
    return {c.chunk_id: (s - lo) / (hi - lo) if hi > lo else 1.0 for c, s in ranked}


def convex_fuse(dense: list[tuple[Chunk, float]], sparse: list[tuple[Chunk, float]],
                alpha: float) -> list[Hit]:
    """alpha * minmax(dense) + (1 - alpha) * minmax(bm25); one list alone keeps its order."""
    if not sparse or not dense:
        alpha = 1.0 if dense else 0.0
    nd, nb = _minmax(dense), _minmax(sparse)
    table = _rank_table(dense, sparse)
    hits = [
        Hit(chunk=row["chunk"], score=alpha * nd.get(cid, 0.0) + (1 - alpha) * nb.get(cid, 0.0),
            dense_rank=row.get("dense_rank"), bm25_rank=row.get("bm25_rank"),
            dense_score=row.get("dense_score"), bm25_score=row.get("bm25_score"))
        for cid, row in table.items()
    ]
    hits.sort(key=lambda h: (-h.score, h.chunk.chunk_id))
    return hits


def _rank_table(dense: list[tuple[Chunk, float]], sparse: list[tuple[Chunk, float]]) -> dict[str, dict]:
    """chunk id -> {chunk, <name>_rank, <name>_score} for both lists."""
    table: dict[str, dict] = {}
    for name, ranked in (("dense", dense), ("bm25", sparse)):
        for rank, (chunk, score) in enumerate(ranked, start=1):
            row = table.setdefault(chunk.chunk_id, {"chunk": chunk})
            row[f"{name}_rank"] = rank
            row[f"{name}_score"] = score
    return table


def rrf_fuse(dense: list[tuple[Chunk, float]], sparse: list[tuple[Chunk, float]], k: int) -> list[Hit]:
    """Reciprocal rank fusion: score = sum over lists of 1 / (k + rank)."""
    table = _rank_table(dense, sparse)
    hits = [
        Hit(
            chunk=row["chunk"],
            score=sum(1.0 / (k + row[r]) for r in ("dense_rank", "bm25_rank") if r in row),
            dense_rank=row.get("dense_rank"),
            bm25_rank=row.get("bm25_rank"),
            dense_score=row.get("dense_score"),
            bm25_score=row.get("bm25_score"),
        )
        for row in table.values()
    ]
    hits.sort(key=lambda h: (-h.score, h.chunk.chunk_id))
    return hits
