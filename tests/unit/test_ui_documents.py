"""RagService document methods behind the documents panel: list, delete, re-index."""

import pytest

from rag.errors import InputError
from rag.service import RagService
from tests.fakes import FakeEmbedder


@pytest.fixture
def svc(make_settings, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pumps.md").write_text("# Pumps\nThe pump runs at 40 bar.\n")
    (docs / "valves.txt").write_text("Valves\nThe valve opens at 3 bar.\n")
    service = RagService(make_settings(), embedder=FakeEmbedder())
    service.ingest_paths([docs])
    return service


def test_list_documents_counts_chunks(svc):
    rows = svc.list_documents()
    assert [r["title"] for r in rows] == ["Pumps", "Valves"]
    assert all(r["chunks"] >= 1 and r["path"].endswith(r["source"].split("/")[-1]) for r in rows)


def test_delete_keeps_docstore_in_sync(svc):
    pumps = svc.list_documents()[0]
    assert svc.delete_document(pumps["doc_id"]) is True
    assert [r["title"] for r in svc.list_documents()] == ["Valves"]
    assert svc.delete_document(pumps["doc_id"]) is False
    from pathlib import Path

    report = svc.ingest_paths([Path(pumps["path"])])
    assert report.added == [pumps["doc_id"]]  # not "unchanged": the docstore forgot it too


def test_reindex_rewrites_chunks(svc):
    row = svc.list_documents()[1]
    report = svc.reindex_document(row["doc_id"])
    assert report.added == [row["doc_id"]] and report.chunks_written == row["chunks"]
    with pytest.raises(InputError):
        svc.reindex_document("no/such/doc.txt")
