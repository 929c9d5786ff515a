"""sentence_vectors="sentence_first": chunk vectors pooled from standalone sentence vectors,
and the dense side re-scored with each candidate's best stored sentence."""

import numpy as np
import pytest

from rag.ingest import EMBED_STEP, SourceRecord
from rag.retrieve import sentence_rescore
from rag.service import RagService
from rag.types import Chunk
from tests.fakes import FakeEmbedder, RecordingEmbedder


DOC = ("# Pump manual\n\n## Service\n\nThe alpha pump runs at 40 bar. It was serviced in May.\n"
       "The night crew logged it.\n\n## Storage\n\nKeep the spare seals dry. Seals crack in frost.\n")


def _unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def test_chunks_get_the_weighted_mean_of_their_sentences_and_header(make_settings, tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "pump.md").write_text(DOC)
    embedder = RecordingEmbedder()
    svc = RagService(make_settings(sentence_vectors="sentence_first", chunk_size=24, chunk_overlap=0),
                     embedder=embedder)
    report = svc.ingest_paths([d])
    plain = FakeEmbedder()
    rows = svc.index_db.query("SELECT chunk_id, text, vec FROM sentences ORDER BY chunk_id, seq")
    assert report.chunks_written >= 2 and rows
    # each distinct text embedded once; a chunk's whole embed text only for the heading-only one
    assert len(embedder.texts) == len(set(embedder.texts))
    assert not any("alpha pump" in t and "Pump manual" in t for t in embedder.texts)
    assert "Pump manual\n\n# Pump manual\n\n## Service" in embedder.texts
    for _, text, vec in rows:  # stored sentence vectors: exactly the standalone ones
        assert np.allclose(np.frombuffer(vec, dtype=np.float32), plain.embed([text])[0], atol=1e-6)
    got = svc.store.collection.get(include=["embeddings", "documents", "metadatas"])
    for cid, vec, meta in zip(got["ids"], got["embeddings"], got["metadatas"]):
        sents = [t for c, t, _ in rows if c == cid]
        header = "\n".join(x for x in (meta["title"], meta.get("section", "")) if x)
        parts = [*sents, header] if sents else [f"{header}\n\n{got['documents'][got['ids'].index(cid)]}"]
        want = _unit(sum(plain.count_tokens(p) * np.asarray(plain.embed([p])[0]) for p in parts))
        assert np.allclose(vec, want, atol=1e-5), cid


def test_texts_go_shortest_first_and_progress_ends_at_the_total(make_settings):
    text = "\n\n".join(f"Paragraph {i} tells that pump {i} runs at {i} bar." + " Hall is far." * (i % 3)
                       for i in range(300))
    embedder = RecordingEmbedder()
    svc = RagService(make_settings(sentence_vectors="sentence_first", chunk_size=40, chunk_overlap=0),
                     embedder=embedder)
    steps: list[tuple[int, int]] = []
    svc.ingest_records([SourceRecord("big", text, "Big", "big")],
                       chunk_progress=lambda done, total: steps.append((done, total)))
    n = len(embedder.texts)
    assert n > 2 * EMBED_STEP and [len(t) for t in embedder.texts] == sorted(len(t) for t in embedder.texts)
    assert steps[-1] == (n, n) and [s for s, _ in steps] == sorted(s for s, _ in steps)


def test_a_chunk_without_stored_sentences_is_embedded_whole(make_settings):
    embedder = RecordingEmbedder()
    svc = RagService(make_settings(sentence_vectors="sentence_first", precompute_sentences=False),
                     embedder=embedder)
    report = svc.ingest_records([SourceRecord("a", "The alpha pump runs at 40 bar.", "Alpha", "a")])
    assert report.chunks_written == 1 and embedder.texts == ["Alpha\n\nThe alpha pump runs at 40 bar."]


def test_env_var_selects_it(monkeypatch):
    from rag.settings import Settings

    monkeypatch.setenv("RAG_SENTENCE_VECTORS", "sentence_first")
    monkeypatch.setenv("RAG_DENSE_SENTENCE_WEIGHT", "0.5")
    s = Settings()
    assert s.sentence_vectors == "sentence_first" and s.dense_sentence_weight == 0.5


def _chunk(cid: str) -> Chunk:
    return Chunk(cid, "d", "d", "T", "text", 0, 4)


def test_rescore_lifts_a_chunk_whose_best_sentence_matches():
    q = np.array([1.0, 0.0], dtype=np.float32)
    ranked = [(_chunk("a"), 0.8), (_chunk("b"), 0.6), (_chunk("c"), 0.5)]
    vectors = {"a": np.array([[0.7, 0.714]], dtype=np.float32),  # best sentence 0.7 < chunk 0.8
               "b": np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)}  # a sentence at 1.0
    out = sentence_rescore(ranked, vectors, q, 0.75)
    assert [c.chunk_id for c, _ in out] == ["b", "a", "c"]
    scores = {c.chunk_id: s for c, s in out}
    assert scores["b"] == pytest.approx(0.25 * 0.6 + 0.75 * 1.0)
    assert scores["a"] == pytest.approx(0.8) and scores["c"] == pytest.approx(0.5)  # never lowered
    assert [c.chunk_id for c, _ in sentence_rescore(ranked, vectors, q, 0.0)] == ["a", "b", "c"]


def test_the_retriever_rescores_with_the_stored_sentences(make_settings):
    texts = {"a": "Pumps and valves and seals. Pumps need care. Valves need care.",
             "b": "The harbour opened in 1901. The alpha pump runs at 40 bar."}
    records = [SourceRecord(k, v, k.upper(), k) for k, v in texts.items()]
    off = RagService(make_settings(dense_sentence_weight=0.0), embedder=FakeEmbedder())
    off.ingest_records(records)
    on = RagService(make_settings(dense_sentence_weight=1.0), embedder=FakeEmbedder())
    question = "alpha pump runs at 40 bar"
    plain = dict((c.chunk_id, s) for c, s in off.retriever.dense(question, 5))
    rescored = dict((c.chunk_id, s) for c, s in on.retriever.dense(question, 5))
    q = np.asarray(FakeEmbedder().embed([question])[0])
    best = max(float(np.asarray(FakeEmbedder().embed([t])[0]) @ q) for t in texts["b"].split(". "))
    assert rescored["b#0"] == pytest.approx(max(plain["b#0"], best), abs=1e-5)
    assert rescored["b#0"] > plain["b#0"]
