"""A full queue answers "busy, retry" at once instead of leaving the caller waiting."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from rag.types import Answer
from ui.app import UiConfig, build_app, launch_kwargs
from ui.testing import free_port

gradio_client = pytest.importorskip("gradio_client")


class SlowService:
    def __init__(self, settings, seconds: float) -> None:
        self.settings = settings
        self.seconds = seconds
        self.store = SimpleNamespace(count=lambda: 1)
        self.release = threading.Event()

    def ask(self, question, top_k=None, mode=None):
        self.release.wait(self.seconds)
        return Answer(question, "Slow answer. [1]", [], refused=False)

    def list_documents(self):
        return []


@pytest.fixture
def busy_server(make_settings):
    svc = SlowService(make_settings(), seconds=20)
    demo, config = build_app(svc, UiConfig(queue_size=1, concurrency=1))
    port = free_port()
    demo.launch(prevent_thread_lock=True, **launch_kwargs(config, "127.0.0.1", port, None))
    try:
        yield f"http://127.0.0.1:{port}/", svc
    finally:
        svc.release.set()
        demo.close()


def test_full_queue_says_busy_quickly(busy_server):
    url, svc = busy_server
    client = gradio_client.Client(url, verbose=False)
    running = client.submit("q1", 0, api_name="/ask")  # runs (concurrency 1)
    time.sleep(1)
    waiting = client.submit("q2", 0, api_name="/ask")  # waits (queue size 1)
    time.sleep(1)
    started = time.monotonic()
    with pytest.raises(Exception) as exc:
        client.submit("q3", 0, api_name="/ask").result(timeout=15)
    assert time.monotonic() - started < 10
    assert "try again" in str(exc.value).lower()
    svc.release.set()
    assert running.result(timeout=30)["answer"] == "Slow answer. [1]"
    assert waiting.result(timeout=30)["answer"] == "Slow answer. [1]"
