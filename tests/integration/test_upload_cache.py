"""Deleted uploads are gone from Gradio's file cache too (a real `rag serve`, raw HTTP).

Gradio keeps a copy of every uploaded file and serves it at /gradio_api/file=<path>. Our
copy lives in <data_dir>/uploads; Gradio's is deleted once the upload is handled, every
cached copy of a document's content is deleted with the document, and `rag serve` empties
its own cache (<data_dir>/gradio-cache) at start-up.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ui.testing import call_raw, serve, upload_raw

gradio_client = pytest.importorskip("gradio_client")

SECRET = b"# Vault\nThe vault code of the Quillon depot is 4417.\n"


def _status(url: str, path: str) -> int:
    return httpx.get(f"{url}gradio_api/file={path}", timeout=30).status_code


GONE = (403, 404)  # Gradio answers 403 for a path it does not know (any more)


def _cached_with(cache: Path, content: bytes) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file() and p.read_bytes() == content]


def test_uploads_are_not_served_after_handling_delete_or_restart(tmp_path):
    data, cache = tmp_path / "data", (tmp_path / "data" / "gradio-cache").resolve()
    doc = tmp_path / "vault.md"
    doc.write_bytes(SECRET)
    with serve(data, cwd=tmp_path) as url:
        fd = upload_raw(url, "vault.md", SECRET)
        assert Path(fd["path"]).is_relative_to(cache)
        assert _status(url, fd["path"]) == 200  # Gradio serves what it cached
        event, out = call_raw(url, "upload_documents", [[fd]])
        assert event == "complete" and out[1]["accepted"][0]["status"] == "added", out
        assert _status(url, fd["path"]) in GONE and not Path(fd["path"]).exists()
        copy = upload_raw(url, "vault-copy.md", SECRET)  # cached again, never handled
        assert _status(url, copy["path"]) == 200
        client = gradio_client.Client(url, verbose=False, download_files=False)
        _md, report, *_ = client.predict([gradio_client.handle_file(str(doc))],
                                         api_name="/upload_documents")
        assert _cached_with(cache, SECRET) == [Path(copy["path"])]  # the handled one is gone
        note, *_ = client.predict(report["accepted"][0]["doc_id"], api_name="/delete_document")
        assert note.startswith("Deleted"), note
        assert _status(url, copy["path"]) in GONE and _cached_with(cache, SECRET) == []
        orphan = upload_raw(url, "orphan.md", b"# Orphan\nNever indexed.\n")
        assert _status(url, orphan["path"]) == 200
    # an upload never handled goes when the server stops (Gradio's own cleanup) or at the next start
    with serve(data, cwd=tmp_path) as url:
        assert _status(url, orphan["path"]) in GONE and not Path(orphan["path"]).exists()
