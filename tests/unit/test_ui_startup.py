"""Start-up in steps: the port serves a "starting" page, the real app is swapped in (its
lifespan run), the models load after; until then the page says it is loading."""

from __future__ import annotations

import contextlib
import html
import threading
import time
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from rag.types import Answer, Event
from ui import app as app_module
from ui.app import ChatApp
from ui.loading import STILL_LOADING, ServiceLoader
from ui.server import GRADIO_UPLOAD, ApiGuard
from ui.startup import StartingApp, SwappableApp
from ui.testing import free_port


def wait_for(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.02)


def test_loader_waits_for_the_hold_then_loads_once(tmp_path):
    calls = []
    hold = tmp_path / "go"
    loader = ServiceLoader(lambda: calls.append(1), hold=hold)
    done = threading.Event()
    loader.start(on_done=done.set)
    assert not loader.wait(0.3) and loader.state == "loading" and calls == []
    hold.touch()
    assert done.wait(30) and loader.ready and loader.state == "ok" and calls == [1]
    loader.start()
    assert calls == [1] and loader.error is None and loader.seconds is not None


def test_a_failed_load_ends_loading_with_its_error():
    def boom():
        raise RuntimeError("index built with another embedder")

    loader = ServiceLoader(boom)
    loader.start()
    assert loader.wait(30) and "another embedder" in loader.error


def _svc(settings):
    answer = Answer("q", "Pumps run at 40 bar. [1]", [], False)

    def stream(question, history=None, mode=None, top_k=None):
        return iter([Event("retrieval"), Event("answer", answer=answer)])

    return SimpleNamespace(settings=settings, stream=stream, store=SimpleNamespace(count=lambda: 1),
                           ask=lambda *a, **k: answer, list_documents=lambda: [])


def test_page_says_still_loading_then_answers(make_settings, tmp_path, monkeypatch):
    hold = tmp_path / "go"
    loader = ServiceLoader(lambda: None, hold=hold)
    chat = ChatApp(_svc(make_settings()), loader=loader)
    loader.start()
    [[msg]] = list(chat.respond("How hard?", [], None, 5))
    assert STILL_LOADING in html.unescape(msg["content"]) and "rag-error" not in msg["content"]
    table, select, summary, banner = chat.refresh()
    assert "loading" in summary and banner["visible"] is True
    assert chat.loading_tick()[-1] is not None and banner["value"].startswith("Loading models")
    monkeypatch.setattr(app_module, "WRITE_LOAD_WAIT_S", 0.1)
    with pytest.raises(app_module.gr.Error):
        chat.ask_api("q")
    hold.touch()
    assert loader.wait(30)
    steps = list(chat.respond("How hard?", [], None, 5))
    assert "40 bar" in steps[-2][0]["content"]
    *_, banner, timer = chat.loading_tick()
    assert banner["visible"] is False and timer.active is False



def test_a_late_loading_tick_never_sets_the_picked_document(make_settings, tmp_path):
    """A page opened after loading still ticks once, and loads the panel; on a busy server
    either reply can come after the user picked a document (sent before the pick, answered
    after it), so neither sends the picker's value: only its choices (found as a flaky delete
    test). A delete or re-index reply does say what is picked."""
    svc = _svc(make_settings())
    svc.list_documents = lambda: [{"source": str(tmp_path / "ibis.md"), "title": "Ibis memo",
                                   "chunks": 1, "doc_id": "uploads/ibis.md"}]
    loader = ServiceLoader(lambda: None)
    chat = ChatApp(svc, loader=loader)
    loader.start()
    assert loader.wait(30)
    shown = chat.doc_rows()[0][-1]
    for reply in (chat.loading_tick(), chat.refresh()):
        _table, select, *_ = reply
        assert "value" not in select and [c[1] for c in select["choices"]] == [shown]
    _note, _table, select, _summary = chat.delete(shown, confirmed=False)
    assert select["value"] == shown  # "Cancel" keeps it picked


def test_every_write_and_the_api_wait_for_loading_then_say_so(make_settings, tmp_path, monkeypatch):
    loader = ServiceLoader(lambda: None, hold=tmp_path / "never")
    chat = ChatApp(_svc(make_settings()), loader=loader)
    loader.start()
    monkeypatch.setattr(app_module, "WRITE_LOAD_WAIT_S", 0.1)
    shown = []
    doc = tmp_path / "a.md"
    doc.write_text("# A\nalpha\n")
    _md, report, *_ = chat.upload([str(doc)], progress=lambda value, desc="": shown.append(desc))
    assert shown == ["Waiting for the models to load"]
    assert report["rejected"] == [{"name": "a.md", "reason": STILL_LOADING}] and not report["accepted"]
    assert chat.delete("a.md")[0] == STILL_LOADING and chat.reindex("a.md")[0] == STILL_LOADING
    assert chat.delete(None)[0] == chat.reindex(None)[0] == "Pick a document first."
    with pytest.raises(app_module.gr.Error):
        chat.ask_api("q")


@contextlib.contextmanager
def _uvicorn(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_the_port_serves_a_starting_page_then_the_swapped_in_app_with_its_lifespan():
    events = []

    @contextlib.asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield
        events.append("shutdown")

    real = Starlette(routes=[Route("/", lambda r: PlainTextResponse("the chat"))], lifespan=lifespan)
    swappable = SwappableApp(StartingApp("Ask your documents"))
    with _uvicorn(swappable) as url:
        page = httpx.get(url + "/", timeout=30)
        assert page.status_code == 200 and "Starting" in page.text and 'http-equiv="refresh"' in page.text
        assert httpx.get(url + "/health", timeout=30).json()["status"] == "loading"
        other = httpx.post(url + "/v1/chat/completions", timeout=30)
        assert other.status_code == 503 and other.headers["retry-after"] == "2"
        swappable.install(real)
        assert events == ["startup"] and httpx.get(url + "/", timeout=30).text == "the chat"
    assert events == ["startup", "shutdown"]


def test_gradio_upload_route_over_the_cap_gets_our_message():
    async def ok(scope, receive, send):
        await PlainTextResponse("stored")(scope, receive, send)

    guarded = ApiGuard(ok, json_limit=10, upload_limit=1000, upload_message="too large: at most 2 files")
    client = TestClient(guarded)  # no lifespan: the inner app has none
    big = client.post(GRADIO_UPLOAD, files={"files": ("big.txt", b"x" * 2000)})
    assert big.status_code == 413 and big.text == "too large: at most 2 files"
    assert client.post(GRADIO_UPLOAD, files={"files": ("a.txt", b"x" * 10)}).text == "stored"


def test_lifespan_failure_is_raised_to_the_installer():
    async def broken(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "no queue"})

    swappable = SwappableApp(StartingApp("t"))
    with _uvicorn(swappable):
        with pytest.raises(RuntimeError, match="no queue"):
            swappable.install(broken)
        assert swappable.app is None  # still the starting page
