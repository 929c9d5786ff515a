"""The generative path against a real llama.cpp server (xllamacpp) with SmolLM2-135M.

The server is `rag llm serve --model small --port 0`, started once for this module. A 135M
model answers badly; these tests check what must hold whatever it writes: streaming, the
JSON contract, exact and verified citations, the refusal gate, follow-up condensing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.llm.keep import is_kept_notice
from rag.llm.verify import MODEL_REFUSED, NOVEL_PREFIX
from rag.types import REFUSAL_TEXT
from tests.conftest import SEED_FILE, SEEDS
from tests.fakes import SwappablePipeline

pytest.importorskip("xllamacpp", reason="needs the local-llm extra")

ROOT = Path(__file__).resolve().parents[2]
SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory):
    env = {**os.environ, "RAG_LLM_THREADS": os.environ.get("RAG_LLM_THREADS", "1")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "--data-dir", str(tmp_path_factory.mktemp("llm")),
         "llm", "serve", "--model", "small", "--port", "0", "--ctx", "2048"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        pytest.fail(f"rag llm serve did not start: {url!r} {proc.stderr.read()[-2000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def pipe(seed_service, llm_url):
    return SwappablePipeline(seed_service, seed_service.settings.model_copy(update={
        "llm_base_url": llm_url, "mode": "generative", "llm_max_tokens": 64,
        "llm_context_window": 2048, "llm_timeout": 120.0}))


def _check_verified(answer, provisional=None):
    """What verification guarantees, whatever the model wrote: the verified answer, or the
    quoted (extractive) one kept in its place with a notice saying why (rag.llm.keep)."""
    if answer.mode == "extractive":
        assert answer.llm["called"] and answer.llm["kept_extractive"] and is_kept_notice(answer.notice)
        assert not answer.refused and not any(guardrail_refusal_reason(s.reason) for s in answer.sentences)
        if provisional is not None:
            assert (answer.text, answer.citations) == (provisional.text, provisional.citations)
        for c in answer.citations:
            assert SEED_TEXT[c.start:c.end] == c.quote and f"[{c.n}]" in answer.text
        return
    assert answer.mode == "generative"
    if answer.refused:
        assert answer.text == REFUSAL_TEXT and answer.citations == []
        return
    numbers = [c.n for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    for c in answer.citations:
        assert SEED_TEXT[c.start:c.end] == c.quote
        assert f"[{c.n}]" in answer.text
    for s in answer.sentences:
        body = s.text.rstrip(".!?")
        assert (body in answer.text) == s.supported or s.reason == "repeated sentence"
        if s.supported:
            assert s.score >= 0.5 and s.citations and all(n in numbers for n in s.citations)
        else:
            assert not s.citations and s.reason


def guardrail_refusal_reason(reason: str) -> bool:
    """The model said the sources do not answer, or named a fact they lack: never overridden."""
    return reason == MODEL_REFUSED or reason.startswith(NOVEL_PREFIX)


def test_server_answers_the_models_endpoint(llm_url):
    import urllib.request

    with urllib.request.urlopen(llm_url + "/models", timeout=10) as resp:
        assert json.loads(resp.read())["data"]


def test_answers_reuse_the_cached_system_prompt_and_report_it(pipe, llm_url):
    """The fixed system prompt is evaluated once (at start-up, then kept in llama.cpp's prompt
    cache): an answer evaluates only its sources and question, as the server's timings say."""
    from rag.llm.local import warm_prompt_cache

    assert warm_prompt_cache(llm_url, timeout=120)
    first = pipe.ask("What did North Korea receive in return for artillery shells?")
    assert first.llm["called"] and first.llm["prompt_cached"] > 0
    answer = pipe.ask("Who criticized Stoltenberg's remarks about warheads?")
    llm = answer.llm
    assert llm["called"] and llm["prompt_evaluated"] > 0 and llm["generated_tokens"] > 0
    assert llm["prompt_cached"] >= 60  # SmolLM2 tokenises the system prompt to ~110 tokens
    assert llm["prompt_evaluated"] + llm["prompt_cached"] <= llm["prompt_tokens"] + 16


def test_streaming_events_and_verified_answer(pipe):
    events = list(pipe.stream("Who criticized Stoltenberg's remarks about warheads?"))
    kinds = [e.type for e in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "answer" and "token" in kinds
    assert kinds.count("answer") == 1 and kinds[1] == "provisional" and set(kinds[2:-1]) == {"token"}
    assert events[1].answer.citations and SEED_TEXT[events[1].answer.citations[0].start:
                                                    events[1].answer.citations[0].end] == \
        events[1].answer.citations[0].quote  # the quoted answer, exact, before any token
    answer = events[-1].answer
    assert "".join(e.text for e in events if e.type == "token") == answer.llm["raw"]
    assert answer.llm["called"] and 0 < answer.llm["prompt_tokens"] < 2048 - 64
    assert answer.timings_ms["first_token"] > 0 and answer.timings_ms["generate"] >= answer.timings_ms["first_token"]
    _check_verified(answer, provisional=events[1].answer)


def test_refusal_gate_skips_the_llm(pipe):
    answer = pipe.ask("What is the capital of France?")
    assert answer.refused and answer.text == REFUSAL_TEXT and answer.llm == {"called": False}


def test_follow_up_is_condensed_before_retrieval(pipe):
    history = [("What has North Korea supplied to Russia?", "Artillery shells.")]
    events = list(pipe.stream("What did it get in return?", history=history))
    retrieval = events[0]
    assert "North Korea" in retrieval.question
    assert any("in return" in h.chunk.text for h in retrieval.hits[:2])
    _check_verified(events[-1].answer)


@pytest.fixture(scope="module")
def cli_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli") / "data"
    subprocess.run([sys.executable, "-m", "rag.cli", "--data-dir", str(data), "ingest", str(SEEDS),
                    "--no-progress"], check=True, cwd=ROOT, capture_output=True)
    return data


def _rag(args, llm_url, data, stdin=None):
    env = {**os.environ, "RAG_LLM_BASE_URL": llm_url, "RAG_LLM_MAX_TOKENS": "64"}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "rag.cli", "--data-dir", str(data), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, input=stdin, timeout=300)


def test_cli_json_contract_in_generative_mode(llm_url, cli_data):
    out = _rag(["ask", "--mode", "generative", "--json", "Which broadcaster interviewed Stoltenberg?"],
               llm_url, cli_data)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"question", "answer", "refused", "mode", "citations", "timings_ms", "llm"} <= set(data)
    assert data["llm"]["called"] is True
    assert data["mode"] == "generative" or (data["llm"]["kept_extractive"] and is_kept_notice(data["notice"]))
    assert "sentences" in data and all({"text", "supported", "score"} <= set(s) for s in data["sentences"])
    for c in data["citations"]:
        assert c["source"].endswith(SEED_FILE.name) and SEED_TEXT[c["start"]:c["end"]] == c["quote"]
    assert data["refused"] or data["citations"]


def test_cli_chat_streams_and_handles_a_follow_up(llm_url, cli_data):
    out = _rag(["chat", "--mode", "generative"], llm_url, cli_data,
               stdin="What has North Korea supplied to Russia?\nWhat did it get in return?\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("-- verified --") + out.stdout.count(REFUSAL_TEXT) >= 2
    assert "Traceback" not in out.stderr


def test_auto_mode_picks_the_reachable_server(llm_url, cli_data):
    out = _rag(["ask", "--mode", "auto", "--json", "What is the capital of France?"], llm_url, cli_data)
    data = json.loads(out.stdout)
    assert data["mode"] == "generative" and data["refused"] is True and data["llm"] == {"called": False}
