"""kill -9 of `rag serve` while it indexes a web upload (POST /v1/documents), then a restart:
the index ends consistent and re-uploading gives the state of a clean ingest.

Killed once a document of the upload is half-written (its chunks already in Chroma, its
catalogue row still pending: a condition read from the catalogue and Chroma, not a sleep). The
server runs with RAG_TEST_HOLD_COMMIT, so every document after the first waits in that state
until the kill: the kill lands there on a fast machine as on a slow one. At
start-up `rag serve` deletes what the killed write left (ui/cli.py `recover_uploads`), so
before any new upload the catalogue, Chroma, the lexical index and uploads/ agree. In the
server pass (RAG_CHROMA_MODE=server) the killed `rag serve` was writing to a Chroma server.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rag.ingest import HOLD_COMMIT_ENV
from tests.stores import chunk_ids, chunk_texts
from ui.testing import READY, rag_env, run_rag, serve, wait_until

N_FILES = 3


def _documents() -> list[tuple[str, bytes]]:
    """N_FILES real prose files (Debian copyright texts), 2.5-4 kB each."""
    texts = [p.read_text(errors="replace")[:4000] for p in sorted(Path("/usr/share/doc").glob("*/copyright"))]
    texts = [t for t in texts if len(t) >= 2500]
    if len(texts) < N_FILES:
        pytest.skip("not enough /usr/share/doc texts on this machine")
    return [(f"licence-{i}.txt", texts[i].encode()) for i in range(N_FILES)]


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)


def _catalogue(data: Path) -> dict[str, tuple[int, bool]]:
    """doc_id -> (chunks, pending)."""
    path = data / "index-documents.sqlite"
    if not path.exists():
        return {}
    try:
        with _ro(path) as conn:
            return {d: (int(n), bool(p)) for d, n, p in conn.execute(
                "SELECT doc_id, chunks, pending FROM documents")}
    except sqlite3.Error:
        return {}


def _lexical_ids(data: Path) -> set[str]:
    with _ro(data / "index-documents.sqlite") as conn:
        return {r[0] for r in conn.execute("SELECT chunk_id FROM chunks")}


def _half_written(data: Path) -> str | None:
    """An uploaded document whose chunks are in Chroma while its catalogue row is pending."""
    cat = _catalogue(data)
    committed = [d for d, (_, pending) in cat.items() if "uploads/" in d and not pending]
    pending = [d for d, (_, p) in cat.items() if "uploads/" in d and p]
    if not committed or not pending:
        return None
    ids = chunk_ids(data)
    return next((d for d in pending if any(i.startswith(f"{d}#") for i in ids)), None)


def _wait_for(cond, timeout: float, what: str):
    return wait_until(cond, timeout, what, every=0.02)


def _assert_consistent(data: Path) -> dict[str, tuple[int, bool]]:
    """Catalogue, Chroma, lexical index and uploads/ agree; no pending row."""
    cat = _catalogue(data)
    assert not any(p for _, p in cat.values()), cat
    chroma, lexical = chunk_ids(data), _lexical_ids(data)
    assert chroma == lexical
    assert {i.rpartition("#")[0] for i in chroma} == set(cat)
    for doc, (chunks, _) in cat.items():
        assert sum(1 for i in chroma if i.rpartition("#")[0] == doc) == chunks, doc
    uploads = {f"data/uploads/{p.name}" for p in (data / "uploads").iterdir()}
    assert uploads == {d for d in cat if d.startswith("data/uploads/")}  # no orphan, no .part
    return cat


def _upload(url: str, docs: list[tuple[str, bytes]]) -> dict:
    r = httpx.post(f"{url}v1/documents", files=[("files", (n, d, "text/plain")) for n, d in docs],
                   timeout=600)
    assert r.status_code == 200, r.text
    return r.json()


def _serve_cmd(data: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "rag.cli", "--data-dir", str(data), "serve", "--port", str(port)]


def test_kill_9_during_a_web_upload_then_restart_is_consistent_and_reupload_is_clean(tmp_path):
    from ui.testing import free_port

    docs = _documents()
    base, clean = tmp_path / "killed", tmp_path / "clean"
    for b in (base, clean):
        b.mkdir()
    # the clean state: the same files at the same doc ids, one CLI ingest
    (clean / "data" / "uploads").mkdir(parents=True)
    for name, data in docs:
        (clean / "data" / "uploads" / name).write_bytes(data)
    run_rag("--data-dir", "data", "ingest", "data/uploads", "--no-progress", cwd=clean)
    clean_index = chunk_texts(clean / "data")

    data = base / "data"  # an empty index: the page's first upload
    port = free_port()
    hold = tmp_path / "hold-commit"
    hold.touch()
    proc = subprocess.Popen(_serve_cmd(Path("data"), port), cwd=base,
                            env={**rag_env(), HOLD_COMMIT_ENV: str(hold)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: READY in (proc.stdout.readline() or "") or proc.poll() is not None, 300,
                  "rag serve ready")
        assert proc.poll() is None
        url = f"http://127.0.0.1:{port}/"
        import threading

        done: list = []
        threading.Thread(target=lambda: done.append(_upload_quietly(url, docs)), daemon=True).start()
        doc = _wait_for(lambda: _half_written(data) or (done and "finished"), 600,
                        "a half-written upload")
        assert doc != "finished", f"the upload finished despite {HOLD_COMMIT_ENV}: {done}"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        hold.unlink()
    # what the kill left: a pending row whose chunks are in Chroma, its stored file
    cat = _catalogue(data)
    assert cat[doc][1] and any(i.startswith(f"{doc}#") for i in chunk_ids(data))
    assert (base / doc).is_file()

    with serve(Path("data"), cwd=base) as url:  # restart: recovery at start-up
        listed = httpx.get(f"{url}v1/documents", timeout=60).json()["data"]
        after = _assert_consistent(data)
        assert doc not in after and {d["doc_id"] for d in listed} == set(after)
        report = _upload(url, docs)  # the same files again
        assert report["rejected"] == [] and len(report["accepted"]) == N_FILES
        statuses = {a["name"]: a["status"] for a in report["accepted"]}
        assert statuses[Path(doc).name] == "added"  # the half-written one is indexed anew
        _assert_consistent(data)
    final = chunk_texts(data)
    assert final.keys() == clean_index.keys() and final == clean_index  # same ids, same texts
    assert {d: n for d, (n, _) in _catalogue(data).items()} == \
        {d: n for d, (n, _) in _catalogue(clean / "data").items()}


def _upload_quietly(url: str, docs) -> object:
    try:
        return httpx.post(f"{url}v1/documents", timeout=600,
                          files=[("files", (n, d, "text/plain")) for n, d in docs]).status_code
    except httpx.HTTPError as exc:  # the server is killed mid-request
        return exc
