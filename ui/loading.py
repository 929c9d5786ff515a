"""Start-up in two steps: the page is served first, the heavy parts load after.

`rag serve` opens its port with the page and the API built but the service's heavy parts
(ONNX embedder, Chroma, spaCy, the answer pipeline) not loaded; a ServiceLoader loads them in
a thread once the socket listens. Until it is done the page says "loading models…", /health
says "loading", a question in the page gets a "still loading" answer and API calls wait for
it (a bounded wait, then 503).

A failure while loading is logged and ends the loading all the same: each request then meets
the real error (and shows it as the message it is), as before the split.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# tests only: loading waits until this file exists (start-up held deterministically)
HOLD_ENV = "RAG_TEST_HOLD_LOADING"
HOLD_POLL_S = 0.2
LOADING_TEXT = "Loading models (embedder, sentence model, index)… the page works once they are ready."
STILL_LOADING = ("Still loading the models: the server has just started. Ask again in a few "
                 "seconds (the notice at the top of the page goes away when it is ready).")


class ServiceLoader:
    """Runs `load` once, in a thread; tells whether it is done and since when."""

    def __init__(self, load: Callable[[], None], hold: Path | None = None) -> None:
        self._load = load
        self._hold = hold
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self.started_at: float | None = None
        self.seconds: float | None = None  # how long loading took (the hold included)

    @classmethod
    def from_env(cls, load: Callable[[], None]) -> ServiceLoader:
        hold = os.environ.get(HOLD_ENV, "").strip()
        return cls(load, Path(hold) if hold else None)

    @classmethod
    def done(cls) -> ServiceLoader:
        """A loader with nothing to load (in-process use, unit tests)."""
        loader = cls(lambda: None)
        loader._done.set()
        return loader

    def start(self, on_done: Callable[[], None] | None = None) -> None:
        if self._thread is not None or self._done.is_set():
            return
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, args=(on_done,), name="rag-loading",
                                        daemon=True)
        self._thread.start()

    def _run(self, on_done: Callable[[], None] | None) -> None:
        try:
            self._wait_hold()
            self._load()
        except Exception as exc:  # each request meets it again, as a message
            log.warning("loading the service failed: %s", exc, exc_info=True)
            self.error = str(exc) or type(exc).__name__
        finally:
            self.seconds = time.monotonic() - (self.started_at or time.monotonic())
            self._done.set()
            log.info("service loaded in %.1f s", self.seconds)
        if on_done is not None:
            on_done()

    def _wait_hold(self) -> None:
        if self._hold is None:
            return
        log.warning("loading held until %s exists (%s)", self._hold, HOLD_ENV)
        while not self._hold.exists():
            time.sleep(HOLD_POLL_S)

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def state(self) -> str:
        return "ok" if self.ready else "loading"
