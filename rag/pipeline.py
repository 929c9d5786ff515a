"""The answer stage: question → (condense) → retrieve → answer, as a stream of events, in any mode.

Built from the components it needs (embedder, retriever, extractive answerer, sentence
analyser and an optional generative backend), never from the service that owns them.

Generative steps, in order:

1. refusal gate: the extractive scorer judges the retrieved sentences; when none answers
   the question the answer is a refusal and the LLM is never called ("answer", final);
2. the extractive answer built from the gate's sentences is emitted at once
   ("provisional" event): the first cited answer, before any LLM work;
3. the backend streams the model's tokens ("token" events, provisional);
4. the backend verifies the text: supported sentences only, citations repaired, exact
   quotes; nothing supported → refusal ("answer" event, authoritative);
5. the verified answer gives way to the extractive one (marked extractive, with a notice,
   `rag.llm.keep`) when the verifier emptied an attempt that invented nothing, or the
   verified text cites none of the gate's sentences or leaves out the asked-for fact. A
   guardrail refusal (the gate's, the model's own, an invented name or number) stands.

Any LLM failure gives the extractive answer with a one-line notice instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from rag.errors import ConfigError, InputError, LLMError
from rag.types import REFUSAL_TEXT, Answer, Event, Hit

if TYPE_CHECKING:
    from rag.answer import ExtractiveAnswerer, Scored
    from rag.embeddings import Embedder
    from rag.retrieve import HybridRetriever
    from rag.sentences import SentenceAnalyzer
    from rag.settings import Settings

log = logging.getLogger(__name__)

NO_LLM = ("generative mode needs an LLM: set RAG_LLM_BASE_URL (e.g. from `rag llm serve`) "
          "or RAG_LLM_API_KEY / OPENAI_API_KEY")


def clean_question(question: str, max_chars: int) -> tuple[str, str | None]:
    """Strip; reject empty; truncate (with a notice) beyond max_chars."""
    if question is None or not question.strip():
        raise InputError("the question is empty")
    q = " ".join(question.split())
    if len(q) > max_chars:
        return q[:max_chars], f"question truncated from {len(q)} to {max_chars} characters"
    return q, None


def _ms(t0: float, t1: float) -> float:
    return (t1 - t0) * 1e3


class GenerativeBackend(Protocol):
    """What the pipeline needs from an LLM (rag.llm.backend.LLMBackend is the real one)."""

    def resolve_mode(self, requested: str) -> tuple[str, str | None]:
        """(extractive | generative, notice) for a requested extractive | generative | auto."""

    def condenser(self) -> Callable[[list[dict]], str] | None:
        """A completion function for rewriting follow-ups, or None (heuristic only)."""

    def generate(self, question: str, hits: list[Hit], scored: list[Scored],
                 chosen: list[Scored], timings: dict[str, float]) -> Generator[Event, None, Answer]:
        """Yield "token" events, return the verified Answer; raise LLMError on any failure."""


class AnswerPipeline:
    """Shared by every entry point through `RagService.stream` / `RagService.ask`."""

    def __init__(self, settings: Settings, embedder: Embedder, retriever: HybridRetriever,
                 extractive: ExtractiveAnswerer, analyzer: SentenceAnalyzer,
                 generator: GenerativeBackend | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.retriever = retriever
        self.extractive = extractive
        self.analyzer = analyzer
        self.generator = generator

    def resolve_mode(self, requested: str | None = None) -> tuple[str, str | None]:
        mode = requested or self.settings.mode
        if mode not in ("extractive", "generative", "auto"):
            raise ConfigError(f"unknown mode {mode!r}: use extractive, generative or auto")
        if mode == "extractive":
            return "extractive", None
        if self.generator is None:
            if mode == "generative":
                raise ConfigError(NO_LLM)
            return "extractive", None
        return self.generator.resolve_mode(mode)

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
        q, notice = clean_question(question, self.settings.max_question_chars)
        mode, mode_notice = self.resolve_mode(mode)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        standalone = self._condense(q, history, mode)
        t1 = time.perf_counter()
        bm25 = self.retriever.start_bm25(standalone, top_k=top_k)  # runs while the question embeds
        qvec = self.embedder.embed([standalone])[0]
        t2 = time.perf_counter()
        hits = self.retriever.retrieve(standalone, top_k=top_k, query_vec=qvec, bm25=bm25)
        t3 = time.perf_counter()
        timings.update(condense=_ms(t0, t1), embed=_ms(t1, t2), retrieve=_ms(t2, t3))
        yield Event("retrieval", question=standalone, hits=hits)
        if mode == "extractive":
            answer = self.extractive.run(standalone, hits, qvec)
            timings["answer"] = _ms(t3, time.perf_counter())
        else:
            answer = yield from self._generate(standalone, hits, qvec, timings)
        timings["total"] = _ms(t0, time.perf_counter())
        answer.question = q
        answer.timings_ms = {**timings, **answer.timings_ms}
        answer.notice = "; ".join(n for n in (notice, mode_notice, answer.notice) if n) or None
        yield Event("answer", answer=answer)

    def _condense(self, question: str, history, mode: str) -> str:
        if not history:
            return question
        from rag.llm.condense import condense

        llm = None
        if mode == "generative" and self.settings.llm_condense and self.generator is not None:
            llm = self.generator.condenser()
        return condense(question, history, self.analyzer.entities,
                        turns=self.settings.llm_history_turns, llm_complete=llm)

    def _generate(self, q: str, hits: list[Hit], qvec: list[float], timings: dict[str, float]):
        t0 = time.perf_counter()
        scored = self.extractive.score(q, hits, qvec)
        chosen = self.extractive.select(scored)
        timings["gate"] = _ms(t0, time.perf_counter())
        if not chosen:  # the refusal gate: no answering evidence, no LLM call
            log.info("refusal gate: no retrieved sentence answers %r; LLM not called", q)
            return Answer(q, REFUSAL_TEXT, [], refused=True, mode="generative", hits=hits,
                          llm={"called": False})
        provisional = self.extractive.compose(q, hits, chosen)
        provisional.timings_ms = {**timings, "provisional": _ms(t0, time.perf_counter())}
        yield Event("provisional", answer=provisional)
        assert self.generator is not None
        try:
            verified = yield from self.generator.generate(q, hits, scored, chosen, timings)
        except LLMError as exc:
            provisional.notice = f"{exc}; showing the extractive answer"
            return provisional
        from rag.llm.keep import keep_extractive

        why = keep_extractive(q, verified, chosen)
        if why is None:
            return verified
        log.info("keeping the extractive answer for %r: %s", q, why)
        # the verified text's own notes are about a text not shown; its sentences say what the
        # model wrote and why each went or stayed
        return replace(provisional, notice=why, sentences=verified.sentences,
                       llm={**verified.llm, "kept_extractive": True, "verified_text": verified.text})
