"""A readers-writer gate: questions run side by side; ingest and delete run alone."""

from __future__ import annotations

import threading
from contextlib import contextmanager


class Gate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def read(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and self._readers == 0)
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class Limiter:
    """One bound on answers computed at once, shared by the page and the HTTP API.

    The API takes a slot without waiting (`try_acquire`; full → HTTP 429 at once); the page
    waits for one (`hold`) inside Gradio's own bounded queue. Slots may be released from
    another thread than the one that took them (streams move between threads).
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be positive")
        self.slots = slots
        self._sem = threading.BoundedSemaphore(slots)

    def try_acquire(self) -> bool:
        return self._sem.acquire(blocking=False)

    def release(self) -> None:
        self._sem.release()

    @contextmanager
    def hold(self):
        self._sem.acquire()
        try:
            yield
        finally:
            self._sem.release()
