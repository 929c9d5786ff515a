"""ChromaStore.call: one retry of a store call whose server connection was lost, then the
clear StoreUnavailableError; the embedded store (no connection) is never retried."""

from __future__ import annotations

import httpx
import pytest

import vectorstore.chroma as chroma
from rag.errors import StoreUnavailableError
from vectorstore.chroma import ChromaStore


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(chroma, "RETRY_PAUSE_S", 0.0)


def failing(times: int, exc: Exception):
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= times:
            raise exc
        return "ok"

    return fn, calls


def test_a_connection_dropped_once_is_retried():
    fn, calls = failing(1, httpx.RemoteProtocolError("Server disconnected without sending a response."))
    assert ChromaStore(None, None, where="127.0.0.1:1").call(fn) == "ok"
    assert len(calls) == 2


def test_a_server_still_down_after_the_retry_is_store_unavailable():
    fn, calls = failing(2, httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(StoreUnavailableError, match="cannot reach the Chroma server at 127.0.0.1:1"):
        ChromaStore(None, None, where="127.0.0.1:1").call(fn)
    assert len(calls) == 2


def test_the_embedded_store_is_not_retried_and_other_errors_pass():
    fn, calls = failing(1, httpx.ConnectError("x"))
    with pytest.raises(httpx.ConnectError):
        ChromaStore(None, None, where=None).call(fn)
    assert len(calls) == 1
    fn, calls = failing(1, ValueError("bad query"))
    with pytest.raises(ValueError):
        ChromaStore(None, None, where="127.0.0.1:1").call(fn)
    assert len(calls) == 1
