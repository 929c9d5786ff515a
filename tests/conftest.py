import os
import shutil
from pathlib import Path

import pytest

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
