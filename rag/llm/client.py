"""One client for every OpenAI-compatible endpoint, through the `openai` package.

Endpoint resolution (nothing is contacted unless configured):

- `RAG_LLM_BASE_URL` set: that server (llama.cpp, vLLM, Ollama, LM Studio, OpenAI itself...),
  with `RAG_LLM_API_KEY` if given. `OPENAI_API_KEY` is never sent to a custom base URL.
- no base URL: OpenAI's own API, with `RAG_LLM_API_KEY`, else `OPENAI_API_KEY`.

`auto` mode uses the LLM only when `RAG_LLM_BASE_URL` or `RAG_LLM_API_KEY` is set and the
endpoint answers a quick probe; a stray `OPENAI_API_KEY` alone never makes `auto` send
documents to the cloud (use `--mode generative` for that). When a configured endpoint fails
there is no fallback to any other service: the answer falls back to the extractive path.

Every failure (connection refused, timeout, 5xx, rate limit, malformed stream) becomes an
`LLMError` with a one-line message; the API key is never logged or put in a message.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.errors import ConfigError, LLMError

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # OpenAI-compatible servers without auth still need a non-empty key
MESSAGE_OVERHEAD_TOKENS = 8  # chat-template tokens around each message (generous)


@dataclass(frozen=True)
class Endpoint:
    base_url: str | None  # None: OpenAI's default
    api_key: str
    model: str
    explicit: bool  # configured through RAG_* settings (auto mode may use it)

    @property
    def display_url(self) -> str:
        return self.base_url or OPENAI_URL


def resolve_endpoint(settings: Settings) -> Endpoint | None:
    """The configured endpoint, or None when nothing is configured."""
    rag_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    base = (settings.llm_base_url or "").strip().rstrip("/") or None
    if base:
        return Endpoint(base, rag_key or NO_KEY, settings.llm_model, explicit=True)
    if rag_key:
        return Endpoint(None, rag_key, settings.llm_model, explicit=True)
    env_key = os.environ.get("OPENAI_API_KEY", "").strip()
    if env_key:
        return Endpoint(None, env_key, settings.llm_model, explicit=False)
    return None


def probe(endpoint: Endpoint, timeout: float) -> bool:
    """True when the endpoint answers HTTP at all below 500 (GET /models, short timeout)."""
    req = urllib.request.Request(endpoint.display_url + "/models",
                                 headers={"Authorization": f"Bearer {endpoint.api_key}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError) as exc:
        log.info("LLM endpoint %s not reachable: %s", endpoint.display_url, type(exc).__name__)
        return False


def describe_error(exc: BaseException, timeout: float) -> str:
    """A one-line, key-free description of an LLM failure."""
    import openai

    if isinstance(exc, LLMError):
        return str(exc)
    if isinstance(exc, openai.APITimeoutError):
        return f"the LLM timed out after {timeout:g} s"
    if isinstance(exc, openai.APIConnectionError):
        return "the LLM endpoint is unreachable (connection failed)"
    if isinstance(exc, openai.RateLimitError):
        return "the LLM endpoint is rate limiting (HTTP 429)"
    if isinstance(exc, openai.APIStatusError):
        return f"the LLM endpoint answered HTTP {exc.status_code}"
    if isinstance(exc, (json.JSONDecodeError, openai.APIResponseValidationError, openai.APIError,
                        KeyError, TypeError, AttributeError, ValueError)):
        return "the LLM returned a malformed response"
    return f"the LLM call failed ({type(exc).__name__})"


class LLMClient:
    """Chat completions (streamed) against one endpoint; errors become `LLMError`."""

    def __init__(self, endpoint: Endpoint, settings: Settings) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self._client = None
        self._tokenize_url: str | None | bool = None  # None: not probed yet; False: none
        self.served_model = endpoint.model  # as reported by the server's stream
        self.last_timings: dict = {}  # llama.cpp's per-request timings (prompt_n = tokens evaluated)

    @property
    def client(self):
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                base_url=self.endpoint.base_url, api_key=self.endpoint.api_key,
                timeout=self.settings.llm_timeout, max_retries=0,
            )
        return self._client

    def stream_chat(self, messages: list[dict], max_tokens: int | None = None,
                    stop: list[str] | None = None) -> Iterator[str]:
        """Yield content deltas; raise `LLMError` on any failure, before or mid-stream."""
        timeout = self.settings.llm_timeout
        t0 = time.perf_counter()
        produced = finished = False
        stream = None
        self.last_timings = {}
        try:
            stream = self.client.chat.completions.create(
                model=self.endpoint.model, messages=messages, stream=True,
                temperature=self.settings.llm_temperature,
                max_tokens=max_tokens or self.settings.llm_max_tokens,
                **({"stop": stop} if stop else {}),
            )
            for chunk in stream:
                self.served_model = getattr(chunk, "model", None) or self.served_model
                self._note_timings(chunk)
                for choice in getattr(chunk, "choices", None) or []:
                    delta = getattr(choice.delta, "content", None) if choice.delta else None
                    if delta:
                        produced = True
                        yield delta
                    finished = finished or bool(getattr(choice, "finish_reason", None))
        except GeneratorExit:  # the user stopped: close the HTTP stream, the server stops too
            if stream is not None:
                stream.close()
            raise
        except Exception as exc:  # noqa: BLE001 - every backend failure is one LLMError
            msg = describe_error(exc, timeout)
            log.info("LLM call to %s failed after %.1f s: %s",
                        self.endpoint.display_url, time.perf_counter() - t0, msg)
            raise LLMError(msg) from None
        if not produced:
            log.warning("LLM at %s streamed no content", self.endpoint.display_url)
            raise LLMError("the LLM returned an empty or malformed stream")
        if not finished:  # the connection closed before the last chunk
            log.warning("LLM stream from %s ended without a finish reason", self.endpoint.display_url)
            raise LLMError("the LLM stream ended early")

    def _note_timings(self, chunk) -> None:
        """llama.cpp sends `timings` on its last chunk: how many prompt tokens it evaluated
        (`prompt_n`) and how many it reused from the cached prefix (`cache_n`)."""
        timings = (getattr(chunk, "model_extra", None) or {}).get("timings")
        if isinstance(timings, dict):
            self.last_timings = {k: v for k, v in timings.items() if isinstance(v, (int, float))}

    def complete(self, messages: list[dict], max_tokens: int | None = None,
                 stop: list[str] | None = None) -> str:
        return "".join(self.stream_chat(messages, max_tokens, stop))

    # --- token counting -------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Exact with a llama.cpp server (/tokenize), else a conservative estimate."""
        url = self._tokenizer_url()
        if url:
            try:
                body = json.dumps({"content": text, "add_special": False}).encode()
                req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=min(5.0, self.settings.llm_timeout)) as resp:
                    return len(json.loads(resp.read())["tokens"])
            except (OSError, ValueError, KeyError) as exc:
                log.info("token counting through %s failed (%s); estimating", url, type(exc).__name__)
        return estimate_tokens(text)

    def count_messages(self, messages: list[dict]) -> int:
        return sum(self.count_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)

    def _tokenizer_url(self) -> str | None:
        if self._tokenize_url is None:
            self._tokenize_url = False
            base = self.endpoint.base_url
            if base and self._is_loopback(base):
                root = base[: -len("/v1")] if base.endswith("/v1") else base
                url = root + "/tokenize"
                try:
                    req = urllib.request.Request(url, data=b'{"content": "a"}',
                                                 headers={"Content-Type": "application/json"})
                    with urllib.request.urlopen(req, timeout=2.0) as resp:
                        if "tokens" in json.loads(resp.read()):
                            self._tokenize_url = url
                except (OSError, ValueError):
                    pass
        return self._tokenize_url or None

    @staticmethod
    def _is_loopback(url: str) -> bool:
        from urllib.parse import urlparse

        host = urlparse(url).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")


def estimate_tokens(text: str) -> int:
    """Upper-bound-ish token estimate for BPE tokenizers: ~3 characters per token."""
    return math.ceil(len(text) / 3) + 1


def build_client(settings: Settings) -> LLMClient:
    endpoint = resolve_endpoint(settings)
    if endpoint is None:
        raise ConfigError(
            "generative mode needs an LLM: set RAG_LLM_BASE_URL (e.g. from `rag llm serve`) "
            "or RAG_LLM_API_KEY / OPENAI_API_KEY"
        )
    return LLMClient(endpoint, settings)
