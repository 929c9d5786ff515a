"""Ingest against a real embedded Chroma: idempotence, updates, prune, recovery, batching."""

import pytest

from rag.errors import EmbedderMismatchError
from rag.service import RagService
from tests.fakes import FakeEmbedder


def _ids(svc):
    return sorted(i for i, _, _ in svc.store.iter_all())


@pytest.fixture
def docs(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Alpha report\nThe alpha pump runs at 40 bar. It was serviced in May.\n")
    (d / "b.md").write_text("# Beta notes\n\nThe beta valve leaks when cold. Replace the gasket.\n")
    return d


@pytest.fixture
def svc(make_settings):
    return RagService(make_settings(chunk_size=24, chunk_overlap=4), embedder=FakeEmbedder())


def test_reingest_unchanged_changes_nothing(svc, docs):
    first = svc.ingest_paths([docs])
    ids, count = _ids(svc), svc.store.count()
    second = svc.ingest_paths([docs])
    assert len(first.added) == 2 and first.chunks_written == count > 0
    assert second.added == [] and second.updated == [] and len(second.unchanged) == 2
    assert second.chunks_written == 0
    assert _ids(svc) == ids and svc.store.count() == count


def test_changed_file_is_replaced(svc, docs):
    svc.ingest_paths([docs])
    (docs / "a.txt").write_text("Alpha report\nThe alpha pump now runs at 55 bar.\n")
    report = svc.ingest_paths([docs])
    assert [p.split("/")[-1] for p in report.updated] == ["a.txt"]
    texts = " ".join(t for _, t, _ in svc.store.iter_all())
    assert "55 bar" in texts and "40 bar" not in texts


def test_prune_removes_files_that_disappeared(svc, docs):
    svc.ingest_paths([docs])
    (docs / "b.md").unlink()
    kept = svc.ingest_paths([docs])  # without --prune nothing is deleted
    assert kept.removed == [] and any("b.md" in i for i in _ids(svc))
    pruned = svc.ingest_paths([docs], prune=True)
    assert [p.split("/")[-1] for p in pruned.removed] == ["b.md"]
    assert not any("b.md" in i for i in _ids(svc))
    assert svc.status()["documents"] == 1


def test_killed_ingest_leaves_no_duplicates(svc, docs, make_settings):
    svc.ingest_paths([docs])
    ids = _ids(svc)
    # a killed ingest: chunks are in Chroma but the docstore was never written
    svc.settings.docstore_path.unlink()
    again = RagService(svc.settings, embedder=FakeEmbedder())
    report = again.ingest_paths([docs])
    assert len(report.added) == 2
    assert _ids(again) == ids


def test_corrupt_docstore_is_rebuilt(svc, docs):
    svc.ingest_paths([docs])
    ids = _ids(svc)
    svc.settings.docstore_path.write_text("{ truncated")
    again = RagService(svc.settings, embedder=FakeEmbedder())
    again.ingest_paths([docs])
    assert _ids(again) == ids


def test_batches_stay_within_chroma_max_batch(svc, docs, monkeypatch):
    sent = []
    original = svc.store.collection.add

    def spy(**kwargs):
        sent.append(len(kwargs["ids"]))
        return original(**kwargs)

    monkeypatch.setattr(svc.store, "max_batch_size", lambda: 2)
    monkeypatch.setattr(svc.store.collection, "add", spy)
    (docs / "c.txt").write_text("Gamma. " * 200)
    svc.ingest_paths([docs])
    assert sent and max(sent) <= 2
    assert svc.store.count() == sum(sent)


def test_other_embedder_is_refused(svc, docs, make_settings):
    svc.ingest_paths([docs])
    other = RagService(make_settings(), embedder=FakeEmbedder(dimension=32))
    with pytest.raises(EmbedderMismatchError, match="fake-hash/64"):
        other.ingest_paths([docs])
    same_dim_other_name = RagService(make_settings(), embedder=FakeEmbedder(name="another-model"))
    with pytest.raises(EmbedderMismatchError):
        same_dim_other_name.ask("alpha pump")


def test_spans_point_into_the_extracted_text(svc, docs):
    (docs / "page.html").write_text("<title>Gauge</title><p>The gauge reads 3 bar.</p><p>Check it daily.</p>")
    svc.ingest_paths([docs])
    from rag.loaders import load_file

    for chunk_id, text, meta in svc.store.iter_all():
        source = load_file(docs / meta["source"].split("/")[-1]).text
        assert source[meta["start"]:meta["end"]] == text, chunk_id
