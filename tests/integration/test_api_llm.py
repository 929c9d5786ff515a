"""Generative mode through the API: a real `rag serve` against a real llama.cpp server (SmolLM2).

A 135M model answers badly; what must hold whatever it writes: the provisional extractive
answer comes first (an extension field), tokens stream as they come, the last chunk carries the
verified answer with exact citations, the refusal gate skips the model, usage counts the model's
tokens.
"""

from __future__ import annotations

import pytest

from rag.llm.keep import is_kept_notice
from rag.types import REFUSAL_TEXT
from tests.conftest import SEED_FILE, SEEDS
from tests.integration.test_llm_local import llm_url  # noqa: F401  (the real llama.cpp server)
from ui.testing import run_rag, serve

openai = pytest.importorskip("openai")

SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")
QUESTION = "Who criticized Stoltenberg's remarks about warheads?"


@pytest.fixture(scope="module")
def server(tmp_path_factory, llm_url):  # noqa: F811
    base = tmp_path_factory.mktemp("api-llm")
    data = base / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=base)
    env = {"RAG_LLM_BASE_URL": llm_url, "RAG_LLM_MAX_TOKENS": "64", "RAG_LLM_CONTEXT_WINDOW": "2048",
           "RAG_LLM_TIMEOUT": "120", "OPENAI_API_KEY": ""}
    with serve(data, cwd=base, env=env) as url:
        yield url.rstrip("/")


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0, timeout=300)


def _check_verified(text: str, extra: dict, provisional: dict | None = None) -> None:
    """The verified answer, or the quoted (extractive) one kept in its place with a notice
    saying why (rag.llm.keep); either way every citation is an exact quote."""
    if extra["mode"] == "extractive":
        assert is_kept_notice(extra["notice"]) and not extra["refused"] and extra["citations"]
        if provisional is not None:
            assert (text, extra["citations"]) == (provisional["answer"], provisional["citations"])
    else:
        assert extra["mode"] == "generative"
    if extra["refused"]:
        assert text == REFUSAL_TEXT and extra["citations"] == []
        return
    for c in extra["citations"]:
        assert SEED_TEXT[c["start"]:c["end"]] == c["quote"] and f"[{c['n']}]" in text


def test_generative_is_offered_and_the_endpoint_is_up(client, server):
    import httpx

    assert "rag-generative" in {m.id for m in client.models.list()}
    llm = httpx.get(f"{server}/health", timeout=30).json()["llm"]
    assert llm["configured"] is True and llm["reachable"] is True


def test_generative_completion_is_verified(client):
    resp = client.chat.completions.create(model="rag-generative",
                                          messages=[{"role": "user", "content": QUESTION}])
    _check_verified(resp.choices[0].message.content, resp.model_extra)
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_generative_stream_sends_tokens_then_the_verified_answer(client):
    chunks = list(client.chat.completions.create(
        model="rag-generative", messages=[{"role": "user", "content": QUESTION}], stream=True,
        stream_options={"include_usage": True}))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    assert streamed.strip()  # the model's own tokens, as they came
    _check_verified(final.model_extra["answer"], final.model_extra)
    assert chunks[-1].usage.completion_tokens > 0


def test_stream_starts_with_the_provisional_cited_answer_openai_client(client):
    """The openai client keeps the extension field; its content deltas are the model's text only."""
    chunks = list(client.chat.completions.create(
        model="rag-generative", messages=[{"role": "user", "content": QUESTION}], stream=True))
    early = [i for i, c in enumerate(chunks) if (c.model_extra or {}).get("provisional")]
    assert len(early) == 1
    first_content = next(i for i, c in enumerate(chunks) if c.choices and c.choices[0].delta.content)
    assert early[0] < first_content  # before any generated token
    prov = chunks[early[0]].model_extra["provisional"]
    assert prov["mode"] == "extractive" and prov["citations"]
    for c in prov["citations"]:
        assert SEED_TEXT[c["start"]:c["end"]] == c["quote"] and f"[{c['n']}]" in prov["answer"]
    assert "Peskov" in prov["answer"]
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    _check_verified(final.model_extra["answer"], final.model_extra, provisional=prov)


def test_stream_starts_with_the_provisional_cited_answer_raw_sse(server):
    import json

    import httpx

    body = {"model": "rag-generative", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    events = []
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body, timeout=300) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data: "):
                events.append(line[len("data: "):])
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant" and "provisional" in chunks[1]
    assert chunks[1]["choices"][0]["delta"] == {} and chunks[1]["provisional"]["citations"]
    assert [c for c in chunks if "provisional" in c] == [chunks[1]]
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    _check_verified(final["answer"], final, provisional=chunks[1]["provisional"])


def test_refusal_gate_answers_without_the_model(client):
    resp = client.chat.completions.create(model="rag-generative",
                                          messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert resp.model_extra["refused"] is True and resp.choices[0].message.content == REFUSAL_TEXT
    assert resp.usage.total_tokens == 0  # the model was not called
