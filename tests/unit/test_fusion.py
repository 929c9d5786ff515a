"""Fusion of dense and BM25 rankings (rag.retrieve.convex_fuse / rrf_fuse)."""

from rag.retrieve import convex_fuse, rrf_fuse
from rag.types import Chunk


def _c(i: str) -> Chunk:
    return Chunk(chunk_id=i, doc_id=i, source=i, title="", text=i, start=0, end=1)


def test_convex_weighs_normalised_scores():
    dense = [(_c("a"), 0.9), (_c("b"), 0.8), (_c("c"), 0.1)]
    sparse = [(_c("b"), 12.0), (_c("c"), 6.0), (_c("a"), 0.0)]
    hits = convex_fuse(dense, sparse, alpha=0.6)
    scores = {h.chunk.chunk_id: round(h.score, 4) for h in hits}
    # a: 0.6*1 + 0.4*0 ; b: 0.6*(0.7/0.8) + 0.4*1 ; c: 0 + 0.4*0.5
    assert scores == {"a": 0.6, "b": round(0.6 * 0.875 + 0.4, 4), "c": 0.2}
    assert [h.chunk.chunk_id for h in hits] == ["b", "a", "c"]
    assert hits[0].dense_rank == 2 and hits[0].bm25_rank == 1


def test_convex_with_one_list_keeps_its_order():
    dense = [(_c("x"), 0.5), (_c("y"), 0.4)]
    assert [h.chunk.chunk_id for h in convex_fuse(dense, [], 0.6)] == ["x", "y"]
    assert [h.chunk.chunk_id for h in convex_fuse([], dense, 0.6)] == ["x", "y"]
    assert convex_fuse([], [], 0.6) == []


def test_chunk_missing_from_a_list_scores_zero_there():
    hits = convex_fuse([(_c("a"), 0.9), (_c("b"), 0.5)], [(_c("c"), 3.0), (_c("b"), 1.0)], 0.5)
    by_id = {h.chunk.chunk_id: h for h in hits}
    assert by_id["a"].bm25_rank is None and by_id["c"].dense_rank is None
    assert by_id["a"].score == by_id["c"].score == 0.5


def test_rrf_still_available():
    hits = rrf_fuse([(_c("a"), 0.9), (_c("b"), 0.5)], [(_c("b"), 3.0)], k=60)
    assert [h.chunk.chunk_id for h in hits] == ["b", "a"]
    assert abs(hits[0].score - (1 / 62 + 1 / 61)) < 1e-12
