"""Hybrid retrieval (real MiniLM + real Chroma + bm25s) vs dense-only."""

import pytest

from rag.ingest import SourceRecord
from rag.service import RagService

# rare surnames MiniLM has never seen, among distractors that talk about "proposals"
PEOPLE = [("Wojciechowski", "a four-day week"), ("Abernathy-Quist", "a rooftop garden"),
          ("Nakagawara", "free bus passes"), ("Oyelaran", "longer library hours"),
          ("Szczepanik", "a new bike lane"), ("Halvorsen-Ude", "solar panels on schools")]
DISTRACTORS = [
    "The council proposed a new budget and several proposals were debated.",
    "Proposals from councillors: what each councillor proposed this year.",
    "A councillor proposed changes; the proposal was rejected by the council.",
    "Councillors propose motions at every council meeting.",
]


@pytest.fixture(scope="module")
def council(tmp_path_factory, onnx_embedder):
    from rag.settings import Settings

    svc = RagService(Settings(data_dir=tmp_path_factory.mktemp("council")), embedder=onnx_embedder)
    records = [SourceRecord(f"p{i}", f"Councillor {name} wants {what} for the town.", "Minutes", f"p{i}.txt")
               for i, (name, what) in enumerate(PEOPLE)]
    records += [SourceRecord(f"d{i}", text, "Council", f"d{i}.txt") for i, text in enumerate(DISTRACTORS)]
    svc.ingest_records(records)
    return svc


def _reciprocal_ranks(svc, mode):
    out = []
    for i, (name, _) in enumerate(PEOPLE):
        ids = [h.chunk.doc_id for h in svc.retriever.retrieve(f"What did councillor {name} propose?",
                                                               top_k=5, mode=mode)]
        out.append(1 / (ids.index(f"p{i}") + 1) if f"p{i}" in ids else 0.0)
    return out


def test_hybrid_beats_dense_on_keyword_queries(council):
    dense = _reciprocal_ranks(council, "dense")
    hybrid = _reciprocal_ranks(council, "hybrid")
    bm25 = _reciprocal_ranks(council, "bm25")
    assert bm25 == [1.0] * len(PEOPLE)  # the rare name is the keyword
    assert sum(hybrid) > sum(dense)  # fusion lifts what dense alone misranks
    assert all(h >= d for h, d in zip(hybrid, dense))


def test_hits_keep_scores_and_ranks(council):
    hits = council.retriever.retrieve("What does Wojciechowski want?", top_k=3)
    assert len(hits) == 3
    assert hits[0].score >= hits[1].score >= hits[2].score > 0
    top = hits[0]
    assert top.chunk.doc_id == "p0"
    assert top.bm25_rank == 1 and top.dense_rank is not None and top.dense_score is not None


def test_top_k_is_respected(council):
    assert len(council.retriever.retrieve("council", top_k=7)) == 7
    assert len(council.retriever.retrieve("council", top_k=2)) == 2


def test_bm25_started_before_embedding_gives_the_same_hits(council, onnx_embedder):
    """The pipeline starts BM25 in the worker thread, then embeds: same hits as in one call."""
    q = "What did councillor Nakagawara propose?"
    vec = onnx_embedder.embed([q])[0]
    started = council.retriever.start_bm25(q, top_k=5)
    assert started is not None
    early = council.retriever.retrieve(q, top_k=5, query_vec=vec, bm25=started)
    plain = council.retriever.retrieve(q, top_k=5, query_vec=vec)
    assert [(h.chunk, h.score, h.bm25_rank) for h in early] == [(h.chunk, h.score, h.bm25_rank) for h in plain]
    assert early[0].chunk.doc_id == "p2" and early[0].bm25_rank == 1
    assert council.retriever.start_bm25(q, mode="dense") is None


def test_dense_hits_are_committed_chunks_only(council, onnx_embedder):
    """A chunk in Chroma without its lexical row (a killed ingest's orphan) is never returned;
    the others come back with the text and metadata ingest stored."""
    text = "Councillor Nakagawara wants free bus passes for the town."
    vec = onnx_embedder.embed([text])[0]
    council.store.collection.add(ids=["orphan#0"], embeddings=[vec], documents=[text],
                                 metadatas=[{"ref_doc_id": "orphan", "source": "orphan.txt"}])
    try:
        dense = council.retriever.dense(text, 5, vec)
        assert "orphan#0" in [i for i, _ in council.store.nearest(vec, 5)]
        assert [c.doc_id for c, _ in dense][0] == "p2" and "orphan" not in [c.doc_id for c, _ in dense]
        assert dense[0][0].text == text and dense[0][0].source == "p2.txt" and dense[0][0].title == "Minutes"
    finally:
        council.store.collection.delete(ids=["orphan#0"])
