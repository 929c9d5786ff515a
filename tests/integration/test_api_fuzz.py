"""Schema-driven fuzzing of every endpoint in /openapi.json (schemathesis): never a 5xx.

Valid and invalid inputs (positive and negative generation), a few examples per operation,
derandomized so a failure reproduces; against a real `rag serve` with an API key.
"""

from __future__ import annotations

import pytest

from tests.conftest import SEEDS
from ui.testing import run_rag, serve

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402

KEY = "fuzz-key-51e2"
EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    data = base / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=base)
    with serve(data, "--max-upload-mb", "0.05", cwd=base, env={"RAG_API_KEY": KEY}) as url:
        schema = schemathesis.openapi.from_url(f"{url.rstrip('/')}/openapi.json", timeout=30)
        schema.config.generation.update(modes=list(GenerationMode), deterministic=True)
        yield schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"},
                                      checks=[not_a_server_error], timeout=60)
    if response.status_code >= 400:  # every error is OpenAI-shaped
        assert "error" in response.json() or case.path.startswith("/docs"), (case.as_curl_command(), response.text)
