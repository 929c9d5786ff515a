"""The generative backend of the answer pipeline: endpoint choice, prompt, token stream, verification.

Endpoint, in order: a configured one (`RAG_LLM_BASE_URL` / `RAG_LLM_API_KEY`) always wins;
else a local model server (managed by `rag serve`, or found running, see `rag.llm.managed`);
else none. `auto` uses the LLM only when the chosen endpoint is up; otherwise the answer is
extractive with a notice saying why (unreachable, the local model still loading, crashed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from rag.injection import is_injection
from rag.errors import LLMError
from rag.llm.client import NO_KEY, Endpoint, LLMClient, build_client, probe, resolve_endpoint
from rag.llm.prompt import FittedPrompt, Source, fit_prompt
from rag.types import Answer, Event, Hit

if TYPE_CHECKING:
    from rag.answer import Scored
    from rag.embeddings import Embedder
    from rag.llm.managed import LocalStatus
    from rag.sentences import SentenceAnalyzer
    from rag.settings import Settings

log = logging.getLogger(__name__)

MIN_SOURCE_SCORE = 0.3  # extractive score below which a sentence is not worth prompt tokens
PROBE_TTL_S = 30.0
LOCAL_MODEL = "local"  # the alias the bundled server serves its model under


def _ms(t0: float, t1: float) -> float:
    return (t1 - t0) * 1e3


def _server_timings(timings: dict) -> dict:
    """llama.cpp's timings, when the server sent them: prompt tokens evaluated vs reused."""
    if "prompt_n" not in timings:
        return {}
    return {"prompt_evaluated": int(timings["prompt_n"]), "prompt_cached": int(timings.get("cache_n", 0)),
            "generated_tokens": int(timings.get("predicted_n", 0)),
            "prompt_ms": round(float(timings.get("prompt_ms", 0.0)), 1),
            "generation_ms": round(float(timings.get("predicted_ms", 0.0)), 1)}


def _within_budget(chosen: list[Scored], rest: list[Scored], max_sources: int,
                   max_chars: int) -> list[Scored]:
    """The gate's sentences, then the next best ones while they fit `max_sources` and
    `max_chars`: every prompt token costs ~30 ms of CPU before the first answer token."""
    picked, used = list(chosen), sum(len(s.sentence.text) for s in chosen)
    for s in rest:
        if len(picked) >= max_sources or used + len(s.sentence.text) > max_chars:
            break
        picked.append(s)
        used += len(s.sentence.text)
    return picked


class LocalLLM(Protocol):
    """A local model server's state (rag.llm.managed: ManagedLLM, RunningLLM)."""

    def status(self) -> LocalStatus: ...


class LLMBackend:
    """Implements rag.pipeline.GenerativeBackend with any OpenAI-compatible endpoint."""

    def __init__(self, settings: Settings, embedder: Embedder, analyzer: SentenceAnalyzer,
                 idf: Callable[[str], float], local: LocalLLM | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.analyzer = analyzer
        self.idf = idf
        self.local = local
        self._probe: tuple[float, bool] | None = None
        self._client: LLMClient | None = None

    # --- endpoint and mode --------------------------------------------------------
    def endpoint(self) -> tuple[Endpoint | None, str | None]:
        """(the endpoint to use now, or None with the reason as a notice)."""
        configured = resolve_endpoint(self.settings)
        if configured is not None and configured.explicit:
            return configured, None
        if self.local is not None:
            st = self.local.status()
            if st.ready:
                return Endpoint(st.base_url, NO_KEY, LOCAL_MODEL, explicit=True), None
            if st.state != "off":
                return None, st.notice
        return configured, None

    def resolve_mode(self, requested: str) -> tuple[str, str | None]:
        endpoint, why = self.endpoint()
        if endpoint is None:
            if why:  # a local model exists but cannot answer yet / any more
                return "extractive", why
            if requested == "generative":
                build_client(self.settings)  # raises the ConfigError that says what to set
            return "extractive", None
        if requested == "generative":
            return "generative", None
        if not endpoint.explicit:  # a stray OPENAI_API_KEY never makes auto call the cloud
            return "extractive", None
        if endpoint.model == LOCAL_MODEL and endpoint.base_url == self._local_url():
            return "generative", None  # the supervisor watches it; no probe needed
        now = time.monotonic()
        if self._probe is None or now - self._probe[0] > PROBE_TTL_S:
            self._probe = (now, probe(endpoint, self.settings.llm_probe_timeout))
        if self._probe[1]:
            return "generative", None
        return "extractive", "the LLM endpoint is unreachable; extractive answer"

    def _local_url(self) -> str | None:
        return self.local.status().base_url if self.local is not None else None

    @property
    def client(self) -> LLMClient:
        endpoint, why = self.endpoint()
        if endpoint is None:
            if why:
                raise LLMError(why)
            return build_client(self.settings)  # raises ConfigError
        if self._client is None or self._client.endpoint != endpoint:
            self._client = LLMClient(endpoint, self.settings)
        return self._client

    @cached_property
    def verifier(self):
        from rag.llm.verify import SpacySegmenter, Verifier

        return Verifier(self.embedder, SpacySegmenter(lambda: self.analyzer.nlp), idf=self.idf)

    # --- pipeline hooks -------------------------------------------------------------
    def condenser(self) -> Callable[[list[dict]], str] | None:
        def complete(messages: list[dict]) -> str:
            return self.client.complete(messages, max_tokens=64, stop=["\n"])

        return complete

    def generate(self, q: str, hits: list[Hit], scored: list[Scored], chosen: list[Scored],
                 timings: dict[str, float]):
        """Yield "token" events; return the verified Answer. Raises LLMError."""
        t0 = time.perf_counter()
        client = self.client
        try:
            fitted = fit_prompt(q, self._sources(scored, chosen), client.count_messages,
                                self.settings.llm_context_window, self.settings.llm_max_tokens)
        except ValueError as exc:
            raise LLMError(str(exc)) from None
        t1 = time.perf_counter()
        timings["prompt"] = _ms(t0, t1)
        tokens: list[str] = []
        for tok in client.stream_chat(fitted.messages):
            if not tokens:
                timings["first_token"] = _ms(t1, time.perf_counter())
            tokens.append(tok)
            yield Event("token", text=tok)
        t2 = time.perf_counter()
        verified = self.verifier.verify(q, "".join(tokens), fitted.sources)
        t3 = time.perf_counter()
        timings.update(generate=_ms(t1, t2), verify=_ms(t2, t3))
        model = client.served_model
        if self.local is not None and client.endpoint.base_url == self._local_url():
            model = self.local.status().model or model
        server = _server_timings(client.last_timings)
        return self._answer(q, hits, fitted, verified, "".join(tokens), model, server)

    def _sources(self, scored: list[Scored], chosen: list[Scored]) -> list[Source]:
        keys = {s.sentence.key for s in chosen}
        rest = [s for s in scored if s.sentence.key not in keys and s.score >= MIN_SOURCE_SCORE]
        picked = _within_budget(list(chosen), rest, self.settings.llm_max_sources,
                                self.settings.llm_source_chars)
        picked = [s for s in picked if not is_injection(s.sentence.text)]  # also done in score()
        return [Source(i, s.sentence.chunk, s.sentence.start, s.sentence.end, s.sentence.text,
                       round(s.score, 4)) for i, s in enumerate(picked, start=1)]

    @staticmethod
    def _answer(q: str, hits: list[Hit], fitted: FittedPrompt, verified, raw: str,
                model: str, server: dict) -> Answer:
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
            llm={"called": True, "model": model,
                 "prompt_tokens": fitted.prompt_tokens, "sources": len(fitted.sources),
                 "dropped_sources": fitted.dropped, "raw": raw, "removed": verified.removed,
                 "fixed": verified.fixed, **server},
        )

