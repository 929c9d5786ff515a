"""Faults as tests (real processes, real Chroma): kill -9 during ingest, two writers on one
data dir, disk full and a read-only data dir during ingest.

In the server pass (RAG_CHROMA_MODE=server, `make test-server`) the same tests run against a
`chroma run` server: the killed `rag ingest` is then a client killed while it writes to the
server, and the rerun must still leave the server's collection equal to a clean ingest's
(tests/stores.py reads the collection in either mode).

The LLM faults (endpoint down, slow beyond the timeout, garbage, cut streams, 429/500) are in
tests/integration/test_llm_fake_server.py.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.ingest import HOLD_COMMIT_ENV, LOCK_NAME
from tests.stores import chunk_texts
from ui.testing import rag_env

DOC_SOURCES = sorted(Path("/usr/share/doc").glob("*/copyright"))[:200]


def _corpus(folder: Path, n: int = 60) -> Path:
    """n real prose files (Debian copyright texts), 300-3000 chars each."""
    folder.mkdir()
    kept = 0
    for src in DOC_SOURCES:
        text = src.read_text(errors="replace")[:3000]
        if len(text) >= 300 and kept < n:
            (folder / f"{src.parent.name}.txt").write_text(text)
            kept += 1
    if kept < 40:  # two batches of 32 documents at least
        pytest.skip("not enough /usr/share/doc texts on this machine")
    return folder


def _ingest_cmd(data: Path, folder: Path) -> list[str]:
    return [sys.executable, "-m", "rag.cli", "--data-dir", str(data), "ingest", str(folder),
            "--no-progress", "--json"]


def _committed_docs(data: Path) -> int:
    """Documents the catalogue holds as committed (0 before the first batch)."""
    import sqlite3

    path = data / "index-documents.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM documents WHERE pending = 0").fetchone()[0])
    except sqlite3.Error:  # not created yet, or busy
        return 0


def _wait_for(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not seen after {timeout}s")


@pytest.fixture(scope="module")
def clean_index(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    folder = _corpus(base / "docs")
    data = base / "clean"
    subprocess.run(_ingest_cmd(data, folder), cwd=base, env=rag_env(), check=True,
                   capture_output=True, timeout=900)
    return base, folder, chunk_texts(data)


def test_kill_9_during_ingest_then_rerun_equals_a_clean_ingest(clean_index, tmp_path):
    base, folder, clean = clean_index
    data = base / "killed"
    hold = tmp_path / "hold-commit"  # the second batch waits, written to Chroma, uncommitted
    hold.touch()
    proc = subprocess.Popen(_ingest_cmd(data, folder), cwd=base,
                            env={**rag_env(), HOLD_COMMIT_ENV: str(hold)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # the first batch of documents is committed (chunks in Chroma, catalogue rows written)
    _wait_for(lambda: _committed_docs(data) > 0 or proc.poll() is not None, 600,
              "the first committed batch")
    assert proc.poll() is None, f"ingest finished despite {HOLD_COMMIT_ENV}; use more documents"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    hold.unlink()
    rerun = subprocess.run(_ingest_cmd(data, folder), cwd=base, env=rag_env(),
                           capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    after = chunk_texts(data)
    assert len(after) == len(clean) and after.keys() == clean.keys()
    assert after == clean  # same ids, same texts: no duplicates, no half-written document


def test_a_second_writer_waits_for_the_lock_then_fails_clearly(clean_index, tmp_path):
    base, folder, _clean = clean_index
    data = tmp_path / "data"
    data.mkdir()
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.txt").write_text("Quillon\nThe Quillon-4 valve opens at 3 bar.\n")
    with open(data / LOCK_NAME, "a+") as fh:  # another writer holds the data dir
        fcntl.flock(fh, fcntl.LOCK_EX)
        env = {**rag_env(), "RAG_INGEST_LOCK_WAIT": "3"}
        t0 = time.monotonic()
        blocked = subprocess.run(_ingest_cmd(data, one), cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=300)
        assert blocked.returncode == 2 and time.monotonic() - t0 >= 3
        assert "another process is writing to the index" in blocked.stderr
        assert "Traceback" not in blocked.stderr
        waiting = subprocess.Popen(_ingest_cmd(data, one), cwd=tmp_path,
                                   env={**rag_env(), "RAG_INGEST_LOCK_WAIT": "300"},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        err_lines = []
        _wait_for(lambda: err_lines.append(waiting.stderr.readline()) or "waiting" in err_lines[-1],
                  300, "the waiting message")
    out, err = waiting.communicate(timeout=300)  # the lock is released: it proceeds
    assert waiting.returncode == 0, err
    (only,) = chunk_texts(data)
    assert only.endswith("a.txt#0")


def _run(data: Path, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", "--data-dir", str(data), *args],
                          cwd=cwd, env=rag_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (root only; skipped where mount is not permitted)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_during_ingest_is_a_clear_error_and_the_index_stays_usable(clean_index, small_disk):
    base, folder, _clean = clean_index
    from tests.conftest import SEEDS

    data = small_disk / "data"
    first = _run(data, "ingest", str(SEEDS), "--no-progress", cwd=base)
    assert first.returncode == 0, first.stderr
    before = chunk_texts(data)
    full = _run(data, "ingest", str(folder), "--no-progress", cwd=base)
    print("disk-full stderr:", full.stderr.strip()[-400:])
    assert full.returncode != 0 and "Traceback" not in full.stderr
    assert "space" in full.stderr.lower() or "full" in full.stderr.lower(), full.stderr
    ask = _run(data, "ask", "--json", "What does Stoltenberg say about China?", cwd=base)
    assert ask.returncode == 0, ask.stderr
    assert set(before) <= set(chunk_texts(data))  # nothing that was indexed is lost


def test_read_only_data_dir_ingest_is_a_clear_error_and_the_index_unchanged(clean_index, small_disk):
    base, folder, _clean = clean_index
    from tests.conftest import SEEDS

    data = small_disk / "data"
    assert _run(data, "ingest", str(SEEDS), "--no-progress", cwd=base).returncode == 0
    before = chunk_texts(data)
    view = small_disk.parent / "read-only"  # the same data dir, seen through a read-only bind mount
    view.mkdir()
    subprocess.run(["mount", "--bind", str(data), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        ro = _run(view, "ingest", str(folder), "--no-progress", cwd=base)
        print("read-only stderr:", ro.stderr.strip()[-400:])
        assert ro.returncode == 2 and "Traceback" not in ro.stderr and "cannot write to the index" in ro.stderr
        assert "read-only" in ro.stderr.lower() or "readonly" in ro.stderr.lower(), ro.stderr
    finally:
        subprocess.run(["umount", str(view)], check=False)
    assert chunk_texts(data) == before
    ask = _run(data, "ask", "--json", "What does Stoltenberg say about China?", cwd=base)
    assert ask.returncode == 0, ask.stderr
