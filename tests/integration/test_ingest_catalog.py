"""Catalogue + lexical index + stored sentences against a real embedded Chroma.

Consistency with Chroma after ingest, update, delete and a killed ingest; listing without
reading chunks; answering from sentences stored at ingest.
"""

import pytest

from rag.service import RagService
from tests.fakes import FakeEmbedder, RecordingEmbedder


@pytest.fixture
def docs(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Alpha report\nThe alpha pump runs at 40 bar. It was serviced in May.\n")
    (d / "b.md").write_text("# Beta notes\n\nThe beta valve leaks when cold. Replace the gasket.\n")
    (d / "c.txt").write_text("Gamma log\nThe gamma turbine was installed in 2019 by Siemens.\n")
    return d


def _service(make_settings, **kw):
    return RagService(make_settings(chunk_size=24, chunk_overlap=4, ingest_batch_docs=1, **kw),
                      embedder=FakeEmbedder())


def _chroma_ids(svc):
    return sorted(i for i, _, _ in svc.store.iter_all())


def _lexical_ids(svc):
    return sorted(r[0] for r in svc.index_db.query("SELECT chunk_id FROM chunks"))


def test_lexical_and_catalogue_follow_chroma(make_settings, docs):
    svc = _service(make_settings)
    svc.ingest_paths([docs])
    assert _lexical_ids(svc) == _chroma_ids(svc) and len(_chroma_ids(svc)) >= 3
    (docs / "a.txt").write_text("Alpha report\nThe alpha pump now runs at 55 bar.\n")
    svc.ingest_paths([docs])
    assert _lexical_ids(svc) == _chroma_ids(svc)
    assert "55 bar" in svc.lexical.search("alpha pump bar", 3)[0][0].text
    doc_b = next(r["doc_id"] for r in svc.list_documents() if r["doc_id"].endswith("b.md"))
    assert svc.delete_document(doc_b)
    assert _lexical_ids(svc) == _chroma_ids(svc) and not any("b.md" in i for i in _chroma_ids(svc))
    assert svc.lexical.search("beta valve gasket", 3) == []
    rows = svc.list_documents()
    assert [r["chunks"] for r in rows] == [len([i for i in _chroma_ids(svc) if i.startswith(r["doc_id"] + "#")])
                                            for r in rows]


def test_killed_ingest_is_recovered_everywhere(make_settings, docs, monkeypatch):
    svc = _service(make_settings)
    calls = {"n": 0}
    original = svc.ingestor._commit

    def killed_after_chroma_write(batch, vectors):
        calls["n"] += 1
        if calls["n"] == 2:  # second document: its chunks are in Chroma, nothing in SQLite yet
            raise KeyboardInterrupt
        return original(batch, vectors)

    monkeypatch.setattr(svc.ingestor, "_commit", killed_after_chroma_write)
    with pytest.raises(KeyboardInterrupt):
        svc.ingest_paths([docs])
    assert len(svc.catalog.pending()) == 1
    orphan = svc.catalog.pending()[0]
    assert any(i.startswith(orphan + "#") for i in _chroma_ids(svc))
    assert [r["doc_id"] for r in svc.list_documents()] == [sorted(_chroma_ids(svc))[0].split("#")[0]]

    # the next run, even over another file only, removes the orphan chunks everywhere
    again = _service(make_settings)
    report = again.ingest_paths([docs / "c.txt"])
    assert again.catalog.pending() == []
    assert not any(i.startswith(orphan + "#") for i in _chroma_ids(again))
    assert _lexical_ids(again) == _chroma_ids(again)
    full = again.ingest_paths([docs])
    assert report.added and len(full.unchanged) == 2 and full.added == [orphan]
    assert _lexical_ids(again) == _chroma_ids(again)
    assert len(_chroma_ids(again)) == len(set(_chroma_ids(again)))


def test_listing_and_status_never_read_chunks(make_settings, docs, monkeypatch):
    svc = _service(make_settings)
    svc.ingest_paths([docs])

    def no_scan(*_a, **_k):
        raise AssertionError("chunks were read")

    monkeypatch.setattr(svc.store, "iter_all", no_scan)
    monkeypatch.setattr(svc.store.collection, "get", no_scan)
    rows = svc.list_documents()
    assert [r["title"] for r in rows] == ["Alpha report", "Beta notes", "Gamma log"]
    assert set(rows[0]) >= {"doc_id", "source", "title", "path", "chunks"}
    assert svc.status()["documents"] == 3


def test_answers_read_sentences_stored_at_ingest(make_settings, docs, monkeypatch):
    svc = _service(make_settings, mode="extractive")
    svc.ingest_paths([docs])
    stored = svc.index_db.query("SELECT count(*) FROM sentences")[0][0]
    assert stored >= 3
    first = svc.ask("When was the gamma turbine installed?")
    assert not first.refused and "2019" in first.text

    fresh = RagService(svc.settings, embedder=FakeEmbedder())
    analysed = []
    original = fresh.analyzer.analyze
    monkeypatch.setattr(fresh.analyzer, "analyze", lambda chunks: analysed.extend(chunks) or original(chunks))
    again = fresh.ask("When was the gamma turbine installed?")
    assert analysed == [] and again.text == first.text

    # chunks indexed before sentences were stored: analysed at question time, same answer
    fresh.index_db.conn.execute("DELETE FROM analysed")
    third = fresh.ask("When was the gamma turbine installed?")
    assert analysed and third.text == first.text


def test_legacy_docstore_is_migrated_once(make_settings, docs):
    """A data dir from before the catalogue: Chroma chunks + a JSON docstore, no SQLite file.
    Opening it fills the lexical index and the catalogue from Chroma, keeps the JSON's hashes
    (so the next ingest re-embeds nothing) and renames the JSON; answers work as before."""
    import json

    svc = _service(make_settings, mode="extractive")
    svc.ingest_paths([docs])
    before = svc.ask("When was the gamma turbine installed?")
    hashes = {r.doc_id: r.hash for r in map(svc.catalog.get, [d["doc_id"] for d in svc.list_documents()])}
    ids = _chroma_ids(svc)
    settings = svc.settings
    svc.index_db.conn.close()
    for suffix in ("", "-wal", "-shm"):
        settings.index_path.with_name(settings.index_path.name + suffix).unlink(missing_ok=True)
    legacy = settings.legacy_docstore_path
    legacy.write_text(json.dumps({"docstore/metadata": {d: {"doc_hash": h} for d, h in hashes.items()}}))

    old = _service(make_settings, mode="extractive")
    assert [r["title"] for r in old.list_documents()] == ["Alpha report", "Beta notes", "Gamma log"]
    assert not legacy.exists() and legacy.with_name(legacy.name + ".migrated").exists()
    assert _lexical_ids(old) == ids == _chroma_ids(old)
    assert {r["doc_id"]: old.catalog.get(r["doc_id"]).hash for r in old.list_documents()} == hashes
    again = old.ask("When was the gamma turbine installed?")
    assert not again.refused and again.text == before.text
    report = old.ingest_paths([docs])
    assert len(report.unchanged) == 3 and not report.added and not report.updated
    assert _chroma_ids(old) == ids

    # the migration runs once: a later open does not scan Chroma again
    third = _service(make_settings, mode="extractive")
    third.store.iter_all = lambda *a, **k: (_ for _ in ()).throw(AssertionError("scanned"))
    assert len(third.list_documents()) == 3


def test_one_embedder_call_per_batch_and_overlapping_sentences_embedded_once(make_settings, tmp_path):
    """Chunks and their distinct sentences go to the embedder together; a sentence that two
    overlapping chunks share is embedded once, and every stored sentence keeps its own vector."""
    import numpy as np

    d = tmp_path / "long"
    d.mkdir()
    words = " ".join(f"w{i}" for i in range(12))
    (d / "long.txt").write_text("Long file\n" + " ".join(f"Sentence {i} says {words}." for i in range(12)) + "\n")
    embedder = RecordingEmbedder()
    svc = RagService(make_settings(chunk_size=40, chunk_overlap=20, ingest_batch_docs=8), embedder=embedder)
    report = svc.ingest_paths([d])
    assert report.chunks_written >= 3 and embedder.calls == 1
    rows = svc.index_db.query("SELECT chunk_id, start_char, end_char, text, vec FROM sentences")
    spans = {(s, e) for _, s, e, _, _ in rows}
    assert len(rows) > len(spans)  # overlapping chunks share sentences ...
    assert len(embedder.texts) == report.chunks_written + len(spans)  # ... embedded once each
    for _, _, _, text, vec in rows:
        assert np.allclose(np.frombuffer(vec, dtype=np.float32), embedder.embed_one(text), atol=1e-6)


class SpanRecordingEmbedder(RecordingEmbedder):
    """A SpanEmbedder fake: a span's vector is the hashing vector of the text it slices, except
    for spans slicing `outside` (reported as past the window, so ingest embeds them alone)."""

    def __init__(self, outside: str) -> None:
        super().__init__()
        self.outside = outside
        self.sliced: list[str] = []

    def embed_spans(self, texts, spans):
        self.calls += 1
        self.texts.extend(texts)
        vecs = FakeEmbedder.embed(self, texts)
        self.calls -= 1
        out = []
        for text, mine in zip(texts, spans):
            parts = [text[a:b] for a, b in mine]
            self.sliced.extend(parts)
            out.append([None if self.outside in p else self.embed_one(p) for p in parts])
        return vecs, out


def test_pooled_sentence_vectors_come_from_the_chunk_pass(make_settings, tmp_path):
    """sentence_vectors=pooled: each span handed to the embedder is exactly its sentence inside
    the chunk's embed text (after title and section); only sentences the pass could not cover
    are embedded alone, once each; with "standalone" every distinct sentence is."""
    import numpy as np

    d = tmp_path / "docs"
    d.mkdir()
    (d / "pump.md").write_text("# Pump manual\n\n## Service\n\nThe alpha pump runs at 40 bar. It was serviced"
                               " in May.\nThe night crew — Zoë and José — logged it.\n")
    embedder = SpanRecordingEmbedder(outside="night crew")
    svc = RagService(make_settings(sentence_vectors="pooled"), embedder=embedder)
    report = svc.ingest_paths([d])
    rows = svc.index_db.query("SELECT text, vec FROM sentences ORDER BY chunk_id, seq")
    texts = [t for t, _ in rows]
    assert "It was serviced in May." in texts and embedder.sliced == texts
    assert embedder.texts[0].index("The alpha pump") > len("Pump manual")  # after title + section
    assert embedder.texts[report.chunks_written:] == [t for t in texts if "night crew" in t]
    for text, vec in rows:
        assert np.allclose(np.frombuffer(vec, dtype=np.float32), embedder.embed_one(text), atol=1e-6)

    other = SpanRecordingEmbedder(outside="night crew")
    svc2 = RagService(make_settings(data_dir=tmp_path / "d2", sentence_vectors="standalone"), embedder=other)
    svc2.ingest_paths([d])
    assert other.sliced == [] and sorted(other.texts[report.chunks_written:]) == sorted(set(texts))


def test_pooled_progress_counts_chunks_then_sentences_embedded_alone(make_settings):
    from rag.ingest import EMBED_STEP, SourceRecord

    text = "\n\n".join(f"Paragraph {i} tells that pump {i} runs at {i} bar. Hall {i} is far." for i in range(300))
    embedder = SpanRecordingEmbedder(outside="Hall 7")  # "Hall 7 is far.", "Hall 70 ...": alone
    svc = RagService(make_settings(sentence_vectors="pooled", chunk_size=40, chunk_overlap=0), embedder=embedder)
    steps: list[tuple[int, int]] = []
    report = svc.ingest_records([SourceRecord("big", text, "Big", "big")],
                                chunk_progress=lambda done, total: steps.append((done, total)))
    alone = len(embedder.texts) - report.chunks_written
    assert report.chunks_written > 2 * EMBED_STEP and 0 < alone < 20
    assert steps[-1] == (report.chunks_written + alone, report.chunks_written + alone)
    assert [d for d, _ in steps] == sorted(d for d, _ in steps) and len(steps) >= 3
