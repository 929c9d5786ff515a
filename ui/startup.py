"""`rag serve` opens its port first and builds the page after.

`import gradio` alone takes 4-16 s on a loaded 2-core machine, and the models another few.
So the socket listens at once with a small ASGI app (StartingApp: a "starting…" page that
reloads itself, /health saying "loading", 503 + Retry-After elsewhere); the real app (FastAPI
+ the Gradio page) is built in a thread and swapped in (SwappableApp.install), its lifespan
run by us; then the models load (ui.loading.ServiceLoader) while the page already works.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

STARTING_TITLE = "Starting the document chat…"
RELOAD_S = 1
LIFESPAN_TIMEOUT_S = 60.0
LOADING_HEALTH = {"status": "loading", "documents": None, "chunks": None, "embedder": None,
                  "llm": {"configured": False, "reachable": None, "model": None}}


def starting_html(title: str) -> bytes:
    t = html.escape(title)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="{RELOAD_S}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{t}</title></head><body style="font-family: sans-serif; margin: 3em;">'
            f'<h1>{t}</h1><p id="rag-starting" role="status">{html.escape(STARTING_TITLE)} '
            'loading models… this page reloads by itself.</p></body></html>').encode()


async def _respond(send, status: int, body: bytes, content_type: str,
                   headers: list[tuple[bytes, bytes]] = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *headers]})
    await send({"type": "http.response.body", "body": body})


class StartingApp:
    """What the port serves while the page is being built."""

    def __init__(self, title: str) -> None:
        self.page = starting_html(title)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1013})
            return
        path, method = scope.get("path", "/"), scope.get("method", "GET")
        if method in ("GET", "HEAD") and path == "/health":
            await _respond(send, 200, json.dumps(LOADING_HEALTH).encode(), "application/json")
        elif method in ("GET", "HEAD") and path in ("", "/"):
            await _respond(send, 200, self.page, "text/html; charset=utf-8")
        else:
            body = json.dumps({"error": {"message": "the server is starting; retry shortly",
                                         "type": "server_error", "param": None, "code": "loading"}})
            await _respond(send, 503, body.encode(), "application/json", [(b"retry-after", b"2")])


class _Lifespan:
    """Drives an ASGI app's lifespan (startup now, shutdown later) from inside the loop."""

    def __init__(self, app) -> None:
        self.app = app
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        msg = await asyncio.wait_for(self.outbox.get(), LIFESPAN_TIMEOUT_S)
        if msg["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the page failed to start: {msg.get('message', msg['type'])}")

    async def shutdown(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self.outbox.get(), LIFESPAN_TIMEOUT_S)
        except TimeoutError:
            log.warning("the page's shutdown did not finish in %.0f s", LIFESPAN_TIMEOUT_S)


class SwappableApp:
    """Serves `placeholder` until install(app) (from any thread); runs app's lifespan."""

    def __init__(self, placeholder) -> None:
        self.placeholder = placeholder
        self.app = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lifespan: _Lifespan | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
            return
        await (self.app or self.placeholder)(scope, receive, send)

    async def _serve_lifespan(self, receive, send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                self.loop = asyncio.get_running_loop()
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if self._lifespan is not None:
                    await self._lifespan.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _install(self, app) -> None:
        lifespan = _Lifespan(app)
        await lifespan.startup()
        self._lifespan, self.app = lifespan, app

    def install(self, app, timeout: float = LIFESPAN_TIMEOUT_S) -> None:
        """Start app's lifespan in the server's loop, then route every request to it."""
        if self.loop is None:
            raise RuntimeError("the server is not running")
        asyncio.run_coroutine_threadsafe(self._install(app), self.loop).result(timeout)


def build_in_background(swappable: SwappableApp, build: Callable[[], object],
                        then: Callable[[], None], failed: Callable[[BaseException], None]) -> None:
    """build() the real app in a thread, install it, then call then() (or failed(exc))."""
    import threading

    def work() -> None:
        try:
            swappable.install(build())
        except BaseException as exc:  # the server is told to stop: nothing to serve
            log.exception("building the page failed")
            failed(exc)
            return
        then()

    threading.Thread(target=work, name="rag-build-page", daemon=True).start()
