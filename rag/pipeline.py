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
5. unless the model itself said the sources do not answer: when the verifier removed every
   sentence of an attempted answer and the gate's evidence bears the asked-for fact
   (`keeps_extractive`), the answer is the extractive one, marked extractive, with a notice.
   A refusal in generative mode is then always one of the gate's or of the model's.

Any LLM failure gives the extractive answer with a one-line notice instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Sequence
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

KEPT_EXTRACTIVE = ("no sentence of the generated answer is supported by the sources; "
                   "showing the extractive answer")
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


def fact_bearing(s: Scored) -> bool:
    """A gate sentence that states the kind of fact asked for: it fills the asked-for slot (a
    number for "how many", a person for "who"; any sentence when none is asked), it is no
    heading or question, and no bare list introduction ("... subdivided into stages:")."""
    sent = s.sentence
    intro_only = sent.text.rstrip().endswith(":") and not s.after
    return s.typed_ok and not s.is_question and sent.kind != "heading" and not intro_only


def keeps_extractive(verified: Answer, chosen: Sequence[Scored]) -> bool:
    """Show the extractive answer instead of the verifier's refusal?

    Yes when the refusal is only the verifier's (it removed every sentence of an attempted
    answer: paraphrased beyond support, or a name or number the sources lack) and a gate
    sentence is fact-bearing. No when the model said the sources do not answer, in any
    sentence: a second reader judging the evidence insufficient is a refusal worth keeping.
    """
    from rag.llm.verify import MODEL_REFUSED

    if not verified.refused or not verified.llm.get("called"):
        return False
    if any(s.reason == MODEL_REFUSED for s in verified.sentences):
        return False
    return any(fact_bearing(s) for s in chosen)


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
        if not keeps_extractive(verified, chosen):
            return verified
        log.info("verifier removed every generated sentence for %r; keeping the extractive answer", q)
        provisional.notice = KEPT_EXTRACTIVE
        provisional.sentences = verified.sentences  # what the model wrote, and why it went
        provisional.llm = {**verified.llm, "kept_extractive": True}
        return provisional
