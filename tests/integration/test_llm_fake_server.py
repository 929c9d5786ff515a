"""The generative path against a fake OpenAI-compatible server on loopback (real pipeline).

The server misbehaves on purpose: timeouts, 500s, 429s, garbage or cut streams, a model
that cites the wrong source or invents facts. Every case must end in a verified answer or
the extractive answer with a one-line notice, never an exception.
"""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
from pydantic import SecretStr

from rag.llm.keep import ALL_REMOVED, NOT_CITED
from rag.llm.verify import NOVEL_PREFIX
from rag.types import REFUSAL_TEXT
from tests.fakes import FakeLLM, SwappablePipeline, numbered_sources, serving

SECRET = "sk-test-secret-4242"


@pytest.fixture(scope="module")
def fake_llm():
    with serving(FakeLLM(reply=lambda sources, question: "Nothing.")) as fake:
        yield fake


@pytest.fixture
def pipe(seed_service, fake_llm):
    fake_llm.behaviour, fake_llm.delay = "ok", 0.0
    fake_llm.requests.clear()
    fake_llm.headers.clear()
    return SwappablePipeline(seed_service, seed_service.settings.model_copy(update={
        "llm_base_url": fake_llm.base_url, "llm_api_key": SecretStr(SECRET), "mode": "generative",
        "llm_timeout": 2.0, "llm_model": "fake"}))


def _number_of(sources: dict[int, str], needle: str) -> int:
    return next(n for n, text in sources.items() if needle in text)


def _wrong_number(sources: dict[int, str], needle: str) -> int:
    return next(n for n, text in sources.items() if needle not in text)


Q_PESKOV = "Who criticized Stoltenberg's remarks about warheads?"


def test_correct_answer_streams_then_verifies(pipe, fake_llm):
    fake_llm.reply = lambda s, q: (f"Kremlin spokesman Dmitry Peskov criticized the remarks as an "
                                   f"escalation [{_number_of(s, 'Peskov')}].")
    events = list(pipe.stream(Q_PESKOV))
    kinds = [e.type for e in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "answer" and kinds.count("token") > 3
    answer = events[-1].answer
    assert answer.mode == "generative" and not answer.refused and answer.notice is None
    assert "".join(e.text for e in events if e.type == "token") == answer.llm["raw"]
    (c,) = answer.citations
    assert "Peskov" in c.quote and answer.text.endswith("[1].")
    assert answer.sentences[0].supported and answer.llm["model"] == "fake"
    prompt = fake_llm.requests[-1]["messages"]
    assert "outside knowledge" in prompt[0]["content"] and Q_PESKOV in prompt[1]["content"]


def test_wrong_citation_number_is_corrected(pipe, fake_llm):
    fake_llm.reply = lambda s, q: (f"Kremlin spokesman Dmitry Peskov criticized the remarks as an "
                                   f"escalation [{_wrong_number(s, 'Peskov')}].")
    answer = pipe.ask(Q_PESKOV)
    assert not answer.refused and [("Peskov" in c.quote) for c in answer.citations] == [True]
    assert "corrected" in answer.notice
    assert answer.sentences[0].cited != answer.sentences[0].citations or answer.sentences[0].cited != (1,)


def test_invented_facts_are_removed(pipe, fake_llm):
    fake_llm.reply = lambda s, q: (
        f"Kremlin spokesman Dmitry Peskov criticized the remarks as an escalation [{_number_of(s, 'Peskov')}]. "
        "Peskov later resigned in 2019 after a dispute with Sergei Lavrov [1].")
    answer = pipe.ask(Q_PESKOV)
    assert not answer.refused and "2019" not in answer.text and "Lavrov" not in answer.text
    assert [s.supported for s in answer.sentences] == [True, False]
    assert "removed" in answer.notice and answer.to_dict()["sentences"][1]["supported"] is False


def test_outside_knowledge_ends_refused_even_when_the_model_says_paris(pipe, fake_llm):
    fake_llm.reply = lambda s, q: "The capital of France is Paris [1]."
    gated = pipe.ask("What is the capital of France?")
    assert gated.refused and gated.text == REFUSAL_TEXT and fake_llm.requests == []
    assert gated.llm == {"called": False}
    # a question that passes the gate, answered from outside knowledge
    answer = pipe.ask("Which broadcaster interviewed Stoltenberg?")
    assert len(fake_llm.requests) == 1
    assert answer.refused and answer.text == REFUSAL_TEXT and answer.citations == []
    assert answer.mode == "generative" and not answer.sentences[0].supported
    # the invented names are the reason: the guardrail refusal is never swapped for the quote
    assert answer.sentences[0].reason.startswith(NOVEL_PREFIX) and "Paris" in answer.sentences[0].reason
    assert "kept_extractive" not in answer.llm


def test_an_answer_that_only_restates_the_question_shows_the_quoted_answer_with_a_notice(pipe, fake_llm):
    """Nothing invented, nothing refused, nothing supported: the gate's quote is the answer."""
    fake_llm.reply = lambda s, q: "Someone criticized Stoltenberg's remarks about warheads [1]."
    events = list(pipe.stream(Q_PESKOV))
    provisional, answer = events[1].answer, events[-1].answer
    assert answer.mode == "extractive" and answer.notice == ALL_REMOVED and not answer.refused
    assert (answer.text, answer.citations) == (provisional.text, provisional.citations)
    assert "Peskov" in answer.text and answer.llm["kept_extractive"] and answer.llm["verified_text"] == REFUSAL_TEXT
    assert [s.supported for s in answer.sentences] == [False]
    assert not answer.sentences[0].reason.startswith(NOVEL_PREFIX)


def test_an_answer_resting_on_a_sentence_the_gate_did_not_choose_shows_the_quoted_answer(pipe, fake_llm):
    """The model quotes a further source (in the prompt, below the gate): verified, exact, and
    beside the point; the gate's quote is shown instead."""
    gate = {" ".join(c.quote.split()) for c in pipe.ask(Q_PESKOV, mode="extractive").citations}

    def quote_a_further_source(sources: dict[int, str], question: str) -> str:
        n = next(n for n, text in sources.items() if text not in gate)
        return f"{sources[n]} [{n}]"

    fake_llm.reply = quote_a_further_source
    answer = pipe.ask(Q_PESKOV)
    further = [t for t in numbered_sources(fake_llm.requests[-1]["messages"][-1]["content"]).values()
               if t not in gate]
    assert further  # the prompt holds sources beyond the gate's sentences
    assert answer.mode == "extractive" and answer.notice == NOT_CITED and answer.llm["kept_extractive"]
    assert {" ".join(c.quote.split()) for c in answer.citations} == gate
    assert answer.llm["verified_text"].startswith(further[0][:40])  # it was verified, just not the answer


@pytest.mark.parametrize("behaviour, words", [
    ("500", "HTTP 500"), ("429", "rate limit"), ("garbage", "malformed"), ("cut", "ended early"),
])
def test_llm_failures_fall_back_to_the_extractive_answer(pipe, fake_llm, behaviour, words, caplog):
    fake_llm.behaviour = behaviour
    fake_llm.reply = lambda s, q: "Kremlin spokesman Dmitry Peskov criticized the remarks as an escalation [1]."
    with caplog.at_level(logging.DEBUG):
        events = list(pipe.stream(Q_PESKOV))
    answer = events[-1].answer
    assert answer.mode == "extractive" and not answer.refused and "Peskov" in answer.text
    assert words in answer.notice and "extractive" in answer.notice and "\n" not in answer.notice
    assert fake_llm.headers[-1]["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in caplog.text and SECRET not in json.dumps(answer.to_dict())


def test_timeout_falls_back_quickly(pipe, fake_llm):
    fake_llm.behaviour, fake_llm.delay = "timeout", 5.0
    pipe.settings = pipe.settings.model_copy(update={"llm_timeout": 0.5})
    t0 = time.perf_counter()
    answer = pipe.ask(Q_PESKOV)
    assert time.perf_counter() - t0 < 4.0
    assert answer.mode == "extractive" and "timed out" in answer.notice


def test_connection_refused_falls_back(pipe):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pipe.settings = pipe.settings.model_copy(update={"llm_base_url": f"http://127.0.0.1:{port}/v1"})
    answer = pipe.ask(Q_PESKOV)
    assert answer.mode == "extractive" and "unreachable" in answer.notice


def test_sources_dropped_to_fit_a_small_window_are_reported(pipe, fake_llm):
    fake_llm.reply = lambda s, q: (f"Kremlin spokesman Dmitry Peskov criticized the remarks [{_number_of(s, 'Peskov')}].")
    pipe.settings = pipe.settings.model_copy(update={"llm_context_window": 620, "llm_max_tokens": 200})
    answer = pipe.ask(Q_PESKOV)
    assert answer.llm["dropped_sources"] > 0 and "dropped" in answer.notice
    assert answer.llm["sources"] == len(numbered_sources(fake_llm.requests[-1]["messages"][-1]["content"]))
    assert not answer.refused


def test_auto_mode_uses_a_reachable_endpoint_and_skips_a_dead_one(pipe, fake_llm):
    fake_llm.reply = lambda s, q: (f"Dmitry Peskov criticized the remarks [{_number_of(s, 'Peskov')}].")
    pipe.settings = pipe.settings.model_copy(update={"mode": "auto"})
    assert pipe.ask(Q_PESKOV).mode == "generative"
    dead = SwappablePipeline(pipe.svc, pipe.settings.model_copy(update={
        "llm_base_url": "http://127.0.0.1:9/v1", "llm_probe_timeout": 0.5}))
    answer = dead.ask(Q_PESKOV)
    assert answer.mode == "extractive" and "unreachable" in answer.notice
