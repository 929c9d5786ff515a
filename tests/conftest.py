import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ui.testing import stop_process

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# `rag serve` would start the bundled 1.5B model for every UI test: the tests that want the
# managed model server ask for it (tests/integration/test_llm_managed.py)
os.environ.setdefault("RAG_LOCAL_LLM", "off")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_FILE = next(SEEDS.glob("*.txt"))


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start_chroma_server(config) -> None:
    """RAG_CHROMA_MODE=server: every Settings built by the tests, in this process and in the
    `rag` subprocesses they start (they inherit the environment), talks to one real
    `chroma run` server started here (on RAG_CHROMA_PORT, else a free port; an already
    listening RAG_CHROMA_PORT is used as is). Each data dir gets its own collections on it
    (RAG_CHROMA_COLLECTION_SCOPE=data_dir), so tests stay as independent as embedded."""
    os.environ.setdefault("RAG_CHROMA_COLLECTION_SCOPE", "data_dir")
    port = int(os.environ.get("RAG_CHROMA_PORT") or 0)
    if port and _listening(port):
        return
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    path = tempfile.mkdtemp(prefix="rag-test-chroma-")
    proc = subprocess.Popen([exe, "run", "--path", path, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"RAG_CHROMA_MODE=server: `chroma run` did not start on port {port}")
        time.sleep(0.3)
    os.environ["RAG_CHROMA_PORT"] = str(port)
    config._rag_chroma_server = (proc, path)


def pytest_configure(config):
    if os.environ.get("RAG_CHROMA_MODE") == "server":
        _start_chroma_server(config)


def pytest_unconfigure(config):
    proc, path = getattr(config, "_rag_chroma_server", (None, None))
    if proc is not None:
        stop_process(proc)
        shutil.rmtree(path, ignore_errors=True)


def pytest_report_header(config):
    mode = os.environ.get("RAG_CHROMA_MODE", "embedded")
    return f"chroma: {mode}" + (f" (127.0.0.1:{os.environ.get('RAG_CHROMA_PORT')})" if mode == "server" else "")


def pytest_collection_modifyitems(items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "unit" in parts:
            item.add_marker(pytest.mark.unit)
        elif "integration" in parts:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def make_settings(tmp_path):
    from rag.settings import Settings

    def make(**overrides):
        overrides.setdefault("data_dir", tmp_path / "data")
        return Settings(**overrides)

    return make


@pytest.fixture(scope="session")
def onnx_embedder():
    from rag.embeddings import OnnxMiniLM

    return OnnxMiniLM()


@pytest.fixture(scope="session")
def seed_service(tmp_path_factory, onnx_embedder):
    """The real pipeline (ONNX MiniLM, embedded Chroma, spaCy) over a copy of seeds/."""
    from rag.service import RagService
    from rag.settings import Settings

    base = tmp_path_factory.mktemp("seed")
    docs = base / "seeds"
    shutil.copytree(SEEDS, docs)
    svc = RagService(Settings(data_dir=base / "data"), embedder=onnx_embedder)
    svc.ingest_paths([docs])
    return svc
