"""The same pipeline against a real Chroma server (`chroma run`), chroma_mode=server."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.service import RagService
from rag.settings import Settings
from tests.conftest import SEEDS


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_and_ask_through_a_chroma_server(chroma_server, tmp_path, onnx_embedder):
    settings = Settings(data_dir=tmp_path / "data", chroma_mode="server", chroma_port=chroma_server)
    svc = RagService(settings, embedder=onnx_embedder)
    report = svc.ingest_paths([SEEDS])
    assert len(report.added) == 1 and report.chunks_written >= 5
    assert not (tmp_path / "data" / "chroma").exists()  # vectors live on the server
    answer = svc.ask("Who criticized Stoltenberg's remarks about warheads?")
    assert not answer.refused and "Peskov" in answer.text
    again = RagService(settings, embedder=onnx_embedder).ingest_paths([SEEDS])
    assert again.added == [] and len(again.unchanged) == 1


def test_dead_server_is_a_clear_config_error(tmp_path, onnx_embedder):
    settings = Settings(data_dir=tmp_path / "data", chroma_mode="server", chroma_port=_free_port())
    with pytest.raises(ConfigError, match="cannot reach the Chroma server"):
        RagService(settings, embedder=onnx_embedder).status()


@pytest.mark.skipif(os.environ.get("RAG_CHROMA_MODE") != "server", reason="the server-mode pass only")
def test_server_mode_pass_really_uses_the_server(make_settings, onnx_embedder):
    """RAG_CHROMA_MODE=server (tests/conftest.py): Settings built by tests talk to the session's
    `chroma run`, each data dir in its own collection, and nothing is written locally by Chroma."""
    settings = make_settings()
    assert settings.chroma_mode == "server" and settings.chroma_port == int(os.environ["RAG_CHROMA_PORT"])
    svc = RagService(settings, embedder=onnx_embedder)
    svc.ingest_paths([SEEDS])
    assert not settings.chroma_path.exists()
    assert svc.store.collection.name == settings.chroma_collection != settings.collection
    other = RagService(make_settings(data_dir=settings.data_dir.parent / "other"), embedder=onnx_embedder)
    assert other.store.count() == 0 and svc.store.count() > 0  # data dirs do not share chunks
