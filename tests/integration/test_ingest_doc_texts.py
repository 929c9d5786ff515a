"""Ingest stores each document's extracted text with its chunks; delete and re-index follow."""

import shutil
from pathlib import Path

from rag.doc_texts import DocTexts
from rag.loaders import load_file
from rag.service import RagService
from rag.settings import Settings
from tests.conftest import SEED_FILE

MD = "# Notes\n\nThe [pump](http://203.0.113.9/) runs at 40 bar. ![x](y.png)\n\n- one\n- two\n"


def test_stored_text_is_the_text_the_chunks_index_and_goes_with_the_document(tmp_path, onnx_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED_FILE, docs / SEED_FILE.name)
    (docs / "notes.md").write_text(MD)
    svc = RagService(Settings(data_dir=tmp_path / "data"), embedder=onnx_embedder)
    svc.ingest_paths([docs])
    texts = DocTexts(svc.index_db)
    rows = {r.doc_id: r for r in svc.catalog.rows()}
    assert len(rows) == 2
    for doc_id, row in rows.items():
        stored = texts.get(doc_id)
        assert stored == load_file(Path(row.path)).text
        chunks = svc.lexical.chunks_of(doc_id)
        assert chunks and all(stored[c.start:c.end] == c.text for c in chunks)
    md_id = next(d for d in rows if d.endswith("notes.md"))
    assert "http" not in texts.get(md_id) and "The pump runs at 40 bar." in texts.get(md_id)

    (docs / "notes.md").write_text(MD.replace("40 bar", "55 bar"))  # changed: stored again
    svc.ingest_paths([docs])
    assert "55 bar" in texts.get(md_id)
    assert svc.delete_document(md_id)
    assert texts.get(md_id) is None
    assert texts.get(next(d for d in rows if d != md_id)) is not None  # the other one stays
