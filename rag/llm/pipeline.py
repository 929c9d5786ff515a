"""Question → (condense) → retrieve → answer, as a stream of events, in any mode.

Generative steps, in order:

1. refusal gate: the extractive scorer judges the retrieved sentences; when none answers
   the question the answer is a refusal and the LLM is never called;
2. prompt: the best-scoring sentences as numbered sources, fitted to the context window;
3. tokens are streamed as they arrive ("token" events, provisional);
4. verification rewrites the answer: supported sentences only, citations repaired, exact
   quotes; nothing supported → refusal ("answer" event, authoritative).

Any LLM failure gives the extractive answer with a one-line notice instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING

from rag.errors import ConfigError, LLMError
from rag.llm.client import LLMClient, build_client, probe, resolve_endpoint
from rag.llm.condense import condense
from rag.llm.prompt import FittedPrompt, Source, fit_prompt
from rag.types import REFUSAL_TEXT, Answer, Event, Hit

if TYPE_CHECKING:
    from rag.answer import Scored
    from rag.service import RagService

log = logging.getLogger(__name__)

MIN_SOURCE_SCORE = 0.3  # extractive score below which a sentence is not worth prompt tokens
PROBE_TTL_S = 30.0


def _ms(t0: float, t1: float) -> float:
    return (t1 - t0) * 1e3


class Pipeline:
    """Shared by every entry point through `RagService.stream` / `RagService.ask`."""

    def __init__(self, service: RagService) -> None:
        self.svc = service
        self.settings = service.settings
        self._probe: tuple[float, bool] | None = None

    @cached_property
    def client(self) -> LLMClient:
        return build_client(self.settings)

    @cached_property
    def verifier(self):
        from rag.llm.verify import SpacySegmenter, Verifier

        return Verifier(self.svc.embedder, SpacySegmenter(lambda: self.svc.analyzer.nlp),
                        idf=lambda t: self.svc.retriever.bm25.idf(t))

    # --- mode ---------------------------------------------------------------------
    def resolve_mode(self, requested: str | None = None) -> tuple[str, str | None]:
        """(extractive | generative, notice). auto: generative iff configured and reachable."""
        mode = requested or self.settings.mode
        if mode == "extractive":
            return "extractive", None
        endpoint = resolve_endpoint(self.settings)
        if mode == "generative":
            if endpoint is None:
                build_client(self.settings)  # raises the ConfigError that says what to set
            return "generative", None
        if mode != "auto":
            raise ConfigError(f"unknown mode {mode!r}: use extractive, generative or auto")
        if endpoint is None or not endpoint.explicit:
            return "extractive", None
        now = time.monotonic()
        if self._probe is None or now - self._probe[0] > PROBE_TTL_S:
            self._probe = (now, probe(endpoint, self.settings.llm_probe_timeout))
        if self._probe[1]:
            return "generative", None
        return "extractive", "the LLM endpoint is unreachable; extractive answer"

    # --- entry points -------------------------------------------------------------
    def ask(self, question: str, history=None, mode: str | None = None,
            top_k: int | None = None) -> Answer:
        answer = None
        for event in self.stream(question, history=history, mode=mode, top_k=top_k):
            if event.type == "answer":
                answer = event.answer
        assert answer is not None
        return answer

    def stream(self, question: str, history=None, mode: str | None = None,
               top_k: int | None = None) -> Iterator[Event]:
        from rag.service import clean_question

        q, notice = clean_question(question, self.settings.max_question_chars)
        mode, mode_notice = self.resolve_mode(mode)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        standalone = self._condense(q, history, mode)
        t1 = time.perf_counter()
        qvec = self.svc.embedder.embed([standalone])[0]
        t2 = time.perf_counter()
        hits = self.svc.retriever.retrieve(standalone, top_k=top_k, query_vec=qvec)
        t3 = time.perf_counter()
        timings.update(condense=_ms(t0, t1), embed=_ms(t1, t2), retrieve=_ms(t2, t3))
        yield Event("retrieval", question=standalone, hits=hits)
        if mode == "extractive":
            answer = self.svc.extractive.run(standalone, hits, qvec)
            timings["answer"] = _ms(t3, time.perf_counter())
        else:
            answer = yield from self._generate(standalone, hits, qvec, timings)
        timings["total"] = _ms(t0, time.perf_counter())
        answer.question = q
        answer.timings_ms = {**timings, **answer.timings_ms}
        answer.notice = "; ".join(n for n in (notice, mode_notice, answer.notice) if n) or None
        yield Event("answer", answer=answer)

    # --- steps ----------------------------------------------------------------------
    def _condense(self, question: str, history, mode: str) -> str:
        if not history:
            return question
        llm = None
        if mode == "generative" and self.settings.llm_condense:
            def llm(messages: list[dict]) -> str:
                return self.client.complete(messages, max_tokens=64, stop=["\n"])
        return condense(question, history, self.svc.analyzer.entities,
                        turns=self.settings.llm_history_turns, llm_complete=llm)

    def _generate(self, q: str, hits: list[Hit], qvec: list[float], timings: dict[str, float]):
        t0 = time.perf_counter()
        scored = self.svc.extractive.score(q, hits, qvec)
        chosen = self.svc.extractive.select(scored)
        t_gate = time.perf_counter()
        timings["gate"] = _ms(t0, t_gate)
        if not chosen:  # the refusal gate: no answering evidence, no LLM call
            log.info("refusal gate: no retrieved sentence answers %r; LLM not called", q)
            return Answer(q, REFUSAL_TEXT, [], refused=True, mode="generative", hits=hits,
                          llm={"called": False})
        try:
            fitted = fit_prompt(q, self._sources(scored, chosen), self.client.count_messages,
                                self.settings.llm_context_window, self.settings.llm_max_tokens)
        except ValueError as exc:
            return self._fallback(q, hits, qvec, str(exc))
        t1 = time.perf_counter()
        timings["prompt"] = _ms(t_gate, t1)
        tokens: list[str] = []
        try:
            for tok in self.client.stream_chat(fitted.messages):
                if not tokens:
                    timings["first_token"] = _ms(t1, time.perf_counter())
                tokens.append(tok)
                yield Event("token", text=tok)
        except LLMError as exc:
            return self._fallback(q, hits, qvec, str(exc))
        t2 = time.perf_counter()
        verified = self.verifier.verify(q, "".join(tokens), fitted.sources)
        t3 = time.perf_counter()
        timings.update(generate=_ms(t1, t2), verify=_ms(t2, t3))
        return self._answer(q, hits, fitted, verified, "".join(tokens))

    def _sources(self, scored: list[Scored], chosen: list[Scored]) -> list[Source]:
        from rag.injection import is_injection

        keys = {s.sentence.key for s in chosen}
        rest = [s for s in scored if s.sentence.key not in keys and s.score >= MIN_SOURCE_SCORE]
        picked = (list(chosen) + rest)[: max(self.settings.llm_max_sources, len(chosen))]
        picked = [s for s in picked if not is_injection(s.sentence.text)]  # also done in score()
        return [Source(i, s.sentence.chunk, s.sentence.start, s.sentence.end, s.sentence.text,
                       round(s.score, 4)) for i, s in enumerate(picked, start=1)]

    def _answer(self, q: str, hits: list[Hit], fitted: FittedPrompt, verified, raw: str) -> Answer:
        notes = []
        if fitted.dropped:
            notes.append(f"{fitted.dropped} source(s) dropped to fit the context window")
        if verified.removed and not verified.refused:
            notes.append(f"{verified.removed} unsupported sentence(s) removed")
        if verified.refused and raw.strip():
            notes.append("no sentence of the generated answer is supported by the sources")
        if verified.fixed:
            notes.append(f"{verified.fixed} citation(s) corrected")
        return Answer(
            q, verified.text, verified.citations, verified.refused, mode="generative", hits=hits,
            notice="; ".join(notes) or None, sentences=verified.sentences,
            llm={"called": True, "model": self.client.served_model,
                 "prompt_tokens": fitted.prompt_tokens, "sources": len(fitted.sources),
                 "dropped_sources": fitted.dropped, "raw": raw},
        )

    def _fallback(self, q: str, hits: list[Hit], qvec: list[float], why: str) -> Answer:
        answer = self.svc.extractive.run(q, hits, qvec)
        answer.notice = f"{why}; showing the extractive answer"
        return answer
