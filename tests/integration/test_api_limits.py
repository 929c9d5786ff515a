"""Bounded concurrency, shared by the page and the API: 429 at once, slots freed on disconnect.

`rag serve --concurrency 1` with a generative answer held open by a loopback LLM that streams
one word, then waits for the test to release it: the slot is busy for exactly as long as the
test wants, whatever the machine's load.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.conftest import SEEDS
from tests.fakes import FakeLLM, serving
from ui.testing import run_rag, serve

QUESTION = "Who criticized Stoltenberg's remarks about warheads?"
WAIT_S = 90


class HeldLLM(FakeLLM):
    """Quotes its first source; after the first word the stream waits for the test."""

    def __init__(self) -> None:
        super().__init__(word_delay=0.01)
        self.started = threading.Event()  # a chat request arrived and its first word went out
        self.release = threading.Event()  # let the rest of the answer go
        self.trickle = False  # after release: one word every 50 ms until the reader hangs up

    def reset(self) -> None:
        self.started.clear()
        self.release.clear()
        self.hung_up.clear()
        self.trickle = False

    def after_first_word(self, send) -> None:
        self.started.set()
        self.release.wait(WAIT_S)
        while self.trickle:
            send("more ")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def llm():
    with serving(HeldLLM()) as fake:
        yield fake
        fake.release.set()


@pytest.fixture(scope="module")
def url(tmp_path_factory, llm):
    base = tmp_path_factory.mktemp("limits")
    data = base / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=base)
    env = {"RAG_LLM_BASE_URL": llm.base_url, "RAG_LLM_MODEL": "fake", "RAG_LLM_TIMEOUT": "120"}
    with serve(data, "--concurrency", "1", "--queue-size", "1", cwd=base, env=env) as u:
        yield u.rstrip("/")


@pytest.fixture
def held(llm):
    llm.reset()
    yield llm
    llm.release.set()


def _body(model: str, stream: bool = False) -> dict:
    return {"model": model, "stream": stream, "messages": [{"role": "user", "content": QUESTION}]}


def _start_held_stream(client: httpx.Client, held: HeldLLM):
    """A generative stream that holds the only slot until held.release is set."""
    cm = client.stream("POST", "/v1/chat/completions", json=_body("rag-generative", stream=True))
    resp = cm.__enter__()
    assert resp.status_code == 200
    assert held.started.wait(WAIT_S), "the LLM was never called"
    return cm, resp


def _wait_until_free(url: str, within: float = WAIT_S) -> httpx.Response:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        r = httpx.post(f"{url}/v1/chat/completions", json=_body("rag-extractive"), timeout=60)
        if r.status_code != 429:
            return r
        time.sleep(0.2)
    raise AssertionError("the slot was never freed")


def test_over_the_limit_is_429_at_once_then_served(url, held):
    with httpx.Client(base_url=url, timeout=120) as client:
        cm, resp = _start_held_stream(client, held)
        t0 = time.monotonic()
        busy = httpx.post(f"{url}/v1/chat/completions", json=_body("rag-extractive"), timeout=30)
        took = time.monotonic() - t0
        assert busy.status_code == 429 and busy.headers["Retry-After"].isdigit()
        assert busy.json()["error"]["type"] == "rate_limit_error"
        assert took < 10  # no waiting in a queue
        streamed = httpx.post(f"{url}/v1/chat/completions", json=_body("rag-extractive", True),
                              timeout=30)
        assert streamed.status_code == 429
        held.release.set()
        lines = [ln for ln in resp.iter_lines() if ln.startswith("data: ")]
        cm.__exit__(None, None, None)
    assert lines[-1] == "data: [DONE]"
    last = json.loads(lines[-2][6:])
    assert last["choices"][0]["finish_reason"] == "stop" and last["mode"] == "generative"
    assert "Peskov" in last["answer"] and last["citations"]
    after = _wait_until_free(url)
    assert after.status_code == 200 and "Peskov" in after.json()["choices"][0]["message"]["content"]


def test_a_client_that_disconnects_mid_stream_frees_its_slot(url, held):
    client = httpx.Client(base_url=url, timeout=120)
    cm, resp = _start_held_stream(client, held)
    first = next(resp.iter_lines())
    assert first.startswith("data: ")
    held.trickle = True  # the model would go on for ever
    cm.__exit__(None, None, None)  # hang up mid-answer
    client.close()
    held.release.set()  # the server notices the hang-up at its next write
    assert _wait_until_free(url, within=60).status_code == 200
    assert held.hung_up.wait(30)  # and it closed its own stream from the model


def test_the_page_and_the_api_share_one_limit(url, held):
    gradio_client = pytest.importorskip("gradio_client")
    page = gradio_client.Client(f"{url}/", verbose=False)
    job = page.submit(QUESTION, "generative", 5, api_name="/chat")  # the page takes the slot
    assert held.started.wait(WAIT_S)
    busy = httpx.post(f"{url}/v1/chat/completions", json=_body("rag-extractive"), timeout=30)
    assert busy.status_code == 429
    held.release.set()
    answer, _how = job.result(timeout=WAIT_S)
    assert "Peskov" in answer["content"]
    assert _wait_until_free(url).status_code == 200


def test_the_mounted_page_keeps_its_bounded_queue(url, held):
    gradio_client = pytest.importorskip("gradio_client")
    from gradio_client.utils import Status

    page = gradio_client.Client(f"{url}/", verbose=False)
    running = page.submit(QUESTION, "generative", 5, api_name="/chat")
    assert held.started.wait(WAIT_S)
    waiting = page.submit(QUESTION, "extractive", 5, api_name="/chat")  # queue size 1: it waits
    deadline = time.monotonic() + WAIT_S
    while waiting.status().code != Status.IN_QUEUE and time.monotonic() < deadline:
        time.sleep(0.1)
    assert waiting.status().code == Status.IN_QUEUE
    t0 = time.monotonic()
    with pytest.raises(Exception) as exc:
        page.submit(QUESTION, "extractive", 5, api_name="/chat").result(timeout=30)
    assert "try again" in str(exc.value).lower() and time.monotonic() - t0 < 15
    held.release.set()
    assert "Peskov" in running.result(timeout=WAIT_S)[0]["content"]
    assert "Peskov" in waiting.result(timeout=WAIT_S)[0]["content"]
