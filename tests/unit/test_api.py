"""The HTTP API's pieces without a server: request parsing, SSE chunks, the shared limiter."""

from __future__ import annotations

import json
import threading

import pytest

from rag.types import Answer, Citation, Event
from ui.api import ApiError, ChatRequest, ChunkWriter, parse_chat, usage_of
from ui.gate import Limiter

CITE = Citation(n=1, source="a.txt", chunk_id="a.txt#0", quote="Valves open at 3 bar.",
                start=10, end=31, score=0.8, title="A")


def _req(messages, **kw) -> ChatRequest:
    return ChatRequest(model=kw.pop("model", "rag-extractive"), messages=messages, **kw)


def test_last_user_message_is_the_question_and_earlier_turns_the_history():
    call = parse_chat(_req([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What has North Korea supplied?"},
        {"role": "assistant", "content": "Shells. [1]"},
        {"role": "user", "content": [{"type": "text", "text": "What did it"}, {"type": "text", "text": "get?"}]},
    ], model="rag-auto", top_k=3), max_question_chars=100)
    assert call.question == "What did it\nget?" and call.mode == "auto" and call.top_k == 3
    assert call.history == [{"role": "user", "content": "What has North Korea supplied?"},
                            {"role": "assistant", "content": "Shells. [1]"}]


@pytest.mark.parametrize("messages, kw, status, param", [
    ([{"role": "assistant", "content": "hi"}], {}, 400, "messages"),
    ([{"role": "user", "content": " \n"}], {}, 400, "messages"),
    ([{"role": "user", "content": "x" * 101}], {}, 400, "messages"),
    ([{"role": "user", "content": "q"}], {"model": "gpt-4"}, 404, "model"),
    ([{"role": "user", "content": "q"}], {"n": 3}, 400, "n"),
    ([{"role": "user", "content": "q"}], {"tools": [{"type": "function"}]}, 400, "tools"),
    ([{"role": "user", "content": "q"}], {"response_format": {"type": "json_object"}}, 400, "response_format"),
    ([{"role": "user", "content": [{"type": "image_url"}]}], {}, 400, "messages"),
])
def test_unusable_requests_are_rejected_with_the_parameter(messages, kw, status, param):
    with pytest.raises(ApiError) as exc:
        parse_chat(_req(messages, **kw), max_question_chars=100)
    assert exc.value.status == status and exc.value.param == param
    assert exc.value.body()["error"]["message"]


def test_harmless_parameters_pass():
    call = parse_chat(_req([{"role": "user", "content": "q"}], temperature=1.5, max_tokens=5,
                           n=1, tool_choice="none", stop="x"), max_question_chars=100)
    assert call.question == "q"


def _decode(lines: list[str]) -> list[dict]:
    assert all(ln.startswith("data: ") and ln.endswith("\n\n") for ln in lines)
    return [json.loads(ln[6:]) for ln in lines]


def _content(chunks: list[dict]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def _run(writer: ChunkWriter, events: list[Event]) -> list[dict]:
    lines = writer.start()
    for e in events:
        lines += writer.feed(e)
    return _decode(lines)


def test_extractive_stream_replays_the_answer_and_ends_with_citations():
    answer = Answer("q", "Valves open at 3 bar. [1]", [CITE], refused=False)
    provisional = Event("provisional", answer=Answer("q", "draft", [], refused=False))
    chunks = _run(ChunkWriter("rag-extractive", include_usage=False, stream_tokens=True),
                  [Event("retrieval"), provisional, Event("some-future-type"), Event("answer", answer=answer)])
    assert _content(chunks) == answer.text  # unknown events are ignored, provisional adds no content
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop" and last["refused"] is False
    assert last["citations"] == [{"page": None, "section": None, **CITE.to_dict()}]
    assert last["answer"] == answer.text
    assert all("citations" not in c for c in chunks[:-1])
    assert len({c["id"] for c in chunks}) == 1


def test_generative_stream_sends_tokens_then_the_verified_answer_on_the_last_chunk():
    answer = Answer("q", "Valves open at 3 bar. [1]", [CITE], refused=False, mode="generative",
                    llm={"called": True, "prompt_tokens": 120})
    tokens = [Event("token", text=t) for t in ("Valves open ", "at 3 bar [2]. ", "Paris.")]
    chunks = _run(ChunkWriter("rag-generative", include_usage=True, stream_tokens=True),
                  [Event("retrieval"), *tokens, Event("answer", answer=answer)])
    assert _content(chunks) == "Valves open at 3 bar [2]. Paris."  # raw, provisional
    assert chunks[-2]["answer"] == answer.text and chunks[-2]["mode"] == "generative"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 120, "completion_tokens": 3, "total_tokens": 123}


def test_provisional_answer_comes_first_as_an_extra_field_with_no_content():
    cite = Citation(n=1, source="s.md", chunk_id="c1", quote="It opens at 3 bar.", start=0, end=18, score=0.9)
    provisional = Answer("q", "It opens at 3 bar. [1]", [cite], refused=False)
    answer = Answer("q", "The valve opens at 3 bar [1].", [cite], refused=False, mode="generative",
                    llm={"called": True, "prompt_tokens": 50})
    chunks = _run(ChunkWriter("rag-generative", include_usage=False, stream_tokens=True),
                  [Event("retrieval"), Event("provisional", answer=provisional),
                   Event("token", text="The valve opens at 3 bar [1]."), Event("answer", answer=answer)])
    early = [c for c in chunks if "provisional" in c]
    assert len(early) == 1 and chunks.index(early[0]) == 1  # right after the role chunk
    assert early[0]["provisional"]["answer"] == provisional.text
    assert early[0]["provisional"]["citations"][0]["quote"] == "It opens at 3 bar."
    assert early[0]["choices"][0]["delta"] == {} and early[0]["choices"][0]["finish_reason"] is None
    assert _content(chunks) == "The valve opens at 3 bar [1]."  # plain clients: the generated text only
    assert chunks[-1]["answer"] == answer.text and "provisional" not in chunks[-1]


def test_verified_only_stream_sends_just_the_verified_text():
    answer = Answer("q", "Valves open at 3 bar. [1]", [CITE], refused=False, mode="generative",
                    llm={"called": True, "prompt_tokens": 9})
    chunks = _run(ChunkWriter("rag-generative", include_usage=False, stream_tokens=False),
                  [Event("token", text="Paris. "), Event("answer", answer=answer)])
    assert _content(chunks) == answer.text


def test_usage_is_zero_without_a_model_call():
    refused = Answer("q", "no", [], refused=True, mode="generative", llm={"called": False})
    assert usage_of(refused, 0) == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def test_limiter_refuses_when_full_and_frees_from_any_thread():
    lim = Limiter(1)
    assert lim.try_acquire() and not lim.try_acquire()
    t = threading.Thread(target=lim.release)
    t.start()
    t.join()
    with lim.hold():
        assert not lim.try_acquire()
    assert lim.try_acquire()
    with pytest.raises(ValueError):
        Limiter(0)


class FakeService:
    """Just what the routes call, through RagService's interface."""

    def __init__(self, settings) -> None:
        from types import SimpleNamespace

        self.settings = settings
        self.store = SimpleNamespace(count=lambda: 1)
        self.closed = False

    def stream(self, question, history=None, mode=None, top_k=None):
        def events():
            try:
                yield Event("retrieval", question=question)
                yield Event("answer", answer=Answer(question, "Valves open at 3 bar. [1]", [CITE], False))
            finally:
                self.closed = True
        return events()


@pytest.fixture
def api_client(make_settings):
    from types import SimpleNamespace

    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from ui import api
    from ui.gate import Gate

    svc = FakeService(make_settings())
    chat = SimpleNamespace(gate=Gate(), limiter=Limiter(1))
    app = FastAPI()
    api.install_error_handlers(app)
    app.include_router(api.build_router(api.ApiContext(svc, chat, SecretStr("k"))))
    with TestClient(app, headers={"Authorization": "Bearer k"}) as client:
        yield client, chat.limiter, svc


BODY = {"model": "rag-extractive", "messages": [{"role": "user", "content": "When do valves open?"}]}


def test_routes_answer_check_the_key_and_refuse_when_full(api_client):
    client, limiter, svc = api_client
    r = client.post("/v1/chat/completions", json=BODY)
    assert r.status_code == 200 and r.json()["citations"][0]["quote"] == CITE.quote
    assert svc.closed
    bad = client.post("/v1/chat/completions", json=BODY, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    assert limiter.try_acquire()  # someone else holds the only slot
    full = client.post("/v1/chat/completions", json={**BODY, "stream": True})
    assert full.status_code == 429 and full.headers["Retry-After"]
    limiter.release()
    with client.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as r:
        lines = [ln for ln in r.iter_lines() if ln]
    assert lines[-1] == "data: [DONE]"
    assert limiter.try_acquire()  # the stream gave its slot back
    limiter.release()
