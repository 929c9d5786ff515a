"""The answer stage through fakes of its components: event order per mode, gate, fallbacks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.errors import ConfigError, LLMError
from rag.llm.backend import LLMBackend
from rag.llm.managed import LocalStatus
from rag.pipeline import AnswerPipeline
from rag.types import REFUSAL_TEXT, Answer, Chunk, Citation, Event, Hit
from tests.fakes import FakeEmbedder, FakeRetriever

CHUNK = Chunk("a.txt#0", "a.txt", "a.txt", "Pumps", "Pumps run at 40 bar.", 0, 20)
HIT = Hit(CHUNK, 1.0)


class FakeExtractive:
    """The ExtractiveAnswerer interface: score → select (the gate) → compose; run = all three."""

    def __init__(self, answers: bool = True) -> None:
        self.answers = answers

    def score(self, question, hits, qvec):
        return [SimpleNamespace(score=0.9)] if self.answers else []

    def select(self, scored):
        return list(scored)

    def compose(self, question, hits, chosen):
        if not chosen:
            return Answer(question, REFUSAL_TEXT, [], refused=True, hits=hits)
        cite = Citation(1, "a.txt", "a.txt#0", "Pumps run at 40 bar.", 0, 20, 0.9)
        return Answer(question, "Pumps run at 40 bar. [1]", [cite], refused=False, hits=hits)

    def run(self, question, hits, qvec):
        return self.compose(question, hits, self.select(self.score(question, hits, qvec)))


class FakeBackend:
    """The GenerativeBackend protocol: tokens, then a verified answer (or an LLMError)."""

    def __init__(self, tokens=("Pumps ", "run ", "at 40 bar [1]."), fail_after: int | None = None,
                 mode=("generative", None)) -> None:
        self.tokens, self.fail_after, self.mode = tokens, fail_after, mode
        self.calls = 0

    def resolve_mode(self, requested):
        return self.mode

    def condenser(self):
        return None

    def generate(self, q, hits, scored, chosen, timings):
        self.calls += 1
        for i, tok in enumerate(self.tokens):
            if self.fail_after is not None and i == self.fail_after:
                raise LLMError("the LLM endpoint is unreachable (connection failed)")
            yield Event("token", text=tok)
        return Answer(q, "Pumps run at 40 bar [1].", [], refused=False, mode="generative", hits=hits)


def _pipe(make_settings, backend=None, answers=True, **settings):
    return AnswerPipeline(make_settings(**settings), FakeEmbedder(), FakeRetriever([HIT]),
                          FakeExtractive(answers), SimpleNamespace(entities=lambda t: []),
                          generator=backend)


def test_generative_stream_is_provisional_extractive_then_tokens_then_verified(make_settings):
    backend = FakeBackend()
    events = list(_pipe(make_settings, backend).stream("How hard do pumps run?", mode="generative"))
    assert [e.type for e in events] == ["retrieval", "provisional", "token", "token", "token", "answer"]
    provisional, final = events[1].answer, events[-1].answer
    assert provisional.mode == "extractive" and provisional.citations[0].quote == "Pumps run at 40 bar."
    assert "provisional" in provisional.timings_ms
    assert final.mode == "generative" and final is not provisional and "total" in final.timings_ms


def test_a_gate_refusal_is_final_at_once_and_calls_no_llm(make_settings):
    backend = FakeBackend()
    events = list(_pipe(make_settings, backend, answers=False).stream("What is the capital of France?",
                                                                      mode="generative"))
    assert [e.type for e in events] == ["retrieval", "answer"]
    assert events[-1].answer.refused and backend.calls == 0


def test_an_llm_failure_mid_stream_keeps_the_provisional_answer_with_a_notice(make_settings):
    events = list(_pipe(make_settings, FakeBackend(fail_after=1)).stream("q?", mode="generative"))
    assert [e.type for e in events] == ["retrieval", "provisional", "token", "answer"]
    final = events[-1].answer
    assert final.citations == events[1].answer.citations and final.mode == "extractive"
    assert "unreachable" in final.notice and "extractive" in final.notice


def test_extractive_mode_has_no_provisional_step(make_settings):
    backend = FakeBackend()
    events = list(_pipe(make_settings, backend).stream("q?", mode="extractive"))
    assert [e.type for e in events] == ["retrieval", "answer"] and backend.calls == 0


def test_without_a_backend_generative_mode_says_what_to_configure(make_settings):
    with pytest.raises(ConfigError, match="RAG_LLM_BASE_URL"):
        list(_pipe(make_settings, None).stream("q?", mode="generative"))
    assert _pipe(make_settings, None).resolve_mode("auto") == ("extractive", None)


def test_a_loading_local_model_means_extractive_answers_with_a_notice(make_settings):
    backend = FakeBackend(mode=("extractive", "the local model X is still loading; extractive answer"))
    answer = _pipe(make_settings, backend).ask("q?", mode="auto")
    assert answer.mode == "extractive" and "loading" in answer.notice and backend.calls == 0


class Local:
    def __init__(self, status: LocalStatus) -> None:
        self.st = status

    def status(self) -> LocalStatus:
        return self.st


def _backend(make_settings, status, **settings):
    return LLMBackend(make_settings(**settings), None, None, lambda t: 1.0, local=Local(status))


def test_backend_uses_a_ready_local_model_and_reports_a_loading_or_dead_one(make_settings, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ready = LocalStatus("ready", "SmolLM2", "http://127.0.0.1:5/v1")
    b = _backend(make_settings, ready)
    assert b.resolve_mode("auto") == ("generative", None)  # no probe: the supervisor watches it
    assert b.endpoint()[0].base_url == "http://127.0.0.1:5/v1"
    mode, notice = _backend(make_settings, LocalStatus("loading", "Qwen")).resolve_mode("generative")
    assert mode == "extractive" and "Qwen is still loading" in notice
    failed = LocalStatus("failed", "Qwen", message="the local model server stopped (exit code -9)")
    mode, notice = _backend(make_settings, failed).resolve_mode("auto")
    assert mode == "extractive" and "exit code -9" in notice
    with pytest.raises(LLMError, match="exit code -9"):
        _backend(make_settings, failed).client  # noqa: B018 - a generation attempt fails cleanly


def test_a_configured_endpoint_wins_over_the_local_model(make_settings):
    ready = LocalStatus("ready", "SmolLM2", "http://127.0.0.1:5/v1")
    b = _backend(make_settings, ready, llm_base_url="http://127.0.0.1:9/v1", llm_model="m")
    assert b.endpoint()[0].base_url == "http://127.0.0.1:9/v1"
