"""Retrieve stage: dense (Chroma, cosine) + BM25 (bm25s), fused by reciprocal rank fusion.

llama-index's QueryFusionRetriever/BM25Retriever do the same, but importing them adds
~1.4 s to every cold `rag ask` (measured), so the fusion is done here in a few lines.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from typing import TYPE_CHECKING

from rag.text import content_terms
from rag.types import Chunk, Hit

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.settings import Settings
    from vectorstore.chroma import ChromaStore

log = logging.getLogger(__name__)


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


class BM25Index:
    """A bm25s index over every chunk of the collection, built on first use."""

    def __init__(self, store: ChromaStore) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
        self.chunks = [chunk_from(i, t, m) for i, t, m in store.iter_all()]
        corpus = [content_terms(c.index_text) for c in self.chunks]  # title + section + text
        self._df = Counter(term for terms in corpus for term in set(terms))
        self._retriever = bm25s.BM25()
        if self.chunks:
            self._retriever.index(corpus, show_progress=False)

    def idf(self, term: str) -> float:
        """BM25's idf: rare terms weigh more; unseen terms weigh most."""
        n, df = len(self.chunks), self._df.get(term, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def search(self, query: str, n: int) -> list[tuple[Chunk, float]]:
        terms = content_terms(query)
        if not self.chunks or not terms:
            return []
        n = min(n, len(self.chunks))
        docs, scores = self._retriever.retrieve([terms], k=n, show_progress=False, n_threads=1)
        return [(self.chunks[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]


class HybridRetriever:
    """top-k chunks for a question; scores and per-retriever ranks kept for display."""

    def __init__(self, settings: Settings, embedder: Embedder, store: ChromaStore) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self._bm25: BM25Index | None = None

    def refresh(self) -> None:
        """Forget the BM25 index; call after ingest."""
        self._bm25 = None

    @property
    def bm25(self) -> BM25Index:
        if self._bm25 is None:
            self._bm25 = BM25Index(self.store)
        return self._bm25

    def dense(self, query: str, n: int, query_vec: list[float] | None = None) -> list[tuple[Chunk, float]]:
        vec = query_vec if query_vec is not None else self.embedder.embed([query])[0]
        res = self.store.query(vec, n)
        return [
            (chunk_from(i, t, m), 1.0 - float(d))
            for i, t, m, d in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    def retrieve(self, query: str, top_k: int | None = None, mode: str | None = None,
                 query_vec: list[float] | None = None) -> list[Hit]:
        top_k = top_k or self.settings.top_k
        mode = mode or self.settings.retrieval
        n = max(top_k * 4, 20)
        dense = self.dense(query, n, query_vec) if mode in ("hybrid", "dense") else []
        sparse = self.bm25.search(query, n) if mode in ("hybrid", "bm25") else []
        return rrf_fuse(dense, sparse, self.settings.rrf_k)[:top_k]


def rrf_fuse(dense: list[tuple[Chunk, float]], sparse: list[tuple[Chunk, float]], k: int) -> list[Hit]:
    """Reciprocal rank fusion: score = sum over lists of 1 / (k + rank)."""
    table: dict[str, dict] = {}
    for name, ranked in (("dense", dense), ("bm25", sparse)):
        for rank, (chunk, score) in enumerate(ranked, start=1):
            row = table.setdefault(chunk.chunk_id, {"chunk": chunk, "rrf": 0.0})
            row["rrf"] += 1.0 / (k + rank)
            row[f"{name}_rank"] = rank
            row[f"{name}_score"] = score
    hits = [
        Hit(
            chunk=row["chunk"],
            score=row["rrf"],
            dense_rank=row.get("dense_rank"),
            bm25_rank=row.get("bm25_rank"),
            dense_score=row.get("dense_score"),
            bm25_score=row.get("bm25_score"),
        )
        for row in table.values()
    ]
    hits.sort(key=lambda h: (-h.score, h.chunk.chunk_id))
    return hits
