"""One ASGI app for `rag serve`: the HTTP API (FastAPI) with the Gradio page mounted at "/".

Page and API share one RagService, one readers-writer Gate, one Limiter (answers computed
at once) and one exposure rule (a non-loopback address needs both --auth and RAG_API_KEY).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from rag.errors import ConfigError

log = logging.getLogger(__name__)

JSON_BODY_LIMIT = 1 << 20  # bytes of a JSON request to /v1/
DOCS_ASSETS = "/docs-assets"
GRADIO_UPLOAD = "/gradio_api/upload"  # where the page (and gradio_client) send files


@dataclass(frozen=True)
class ServeConfig:
    host: str
    port: int
    ui: object  # ui.app.UiConfig
    auth: tuple[str, str] | None = None
    api_key: SecretStr | None = None

    @property
    def upload_body_limit(self) -> int:
        return self.ui.limits.max_files * self.ui.hard_max_bytes + JSON_BODY_LIMIT


class ApiGuard:
    """Pure ASGI middleware for /v1/: an unknown HTTP method gets 405 (never the page's 404);
    a body declared above the limit gets 413 unread. The same cap, with our wording, for
    Gradio's upload route (Gradio's own max_file_size is unset: its generic error never shows)."""

    def __init__(self, app, json_limit: int, upload_limit: int, upload_message: str = "") -> None:
        self.app, self.json_limit, self.upload_limit = app, json_limit, upload_limit
        self.upload_message = upload_message or f"upload too large (limit {upload_limit} bytes)"

    async def _upload_too_large(self, scope, receive, send) -> bool:
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) <= self.upload_limit:
            return False
        from starlette.responses import PlainTextResponse

        await PlainTextResponse(self.upload_message, status_code=413)(scope, receive, send)
        return True

    async def __call__(self, scope, receive, send) -> None:
        if (scope["type"] == "http" and scope["path"] == GRADIO_UPLOAD and scope["method"] == "POST"
                and await self._upload_too_large(scope, receive, send)):
            return
        if scope["type"] == "http" and scope["path"] == "/health" and scope["method"] not in ("GET", "HEAD"):
            from ui.api import ApiError

            err = ApiError(405, "use GET /health", code="method_not_allowed", headers={"Allow": "GET"})
            await err.response()(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            from ui.api import ALL_METHODS, ApiError

            if scope["method"] not in ALL_METHODS:
                err = ApiError(405, f"method {scope['method']} is not supported",
                               code="method_not_allowed")
                await err.response()(scope, receive, send)
                return
            headers = dict(scope.get("headers") or [])
            limit = (self.upload_limit if b"multipart/" in headers.get(b"content-type", b"")
                     else self.json_limit)
            length = headers.get(b"content-length", b"0")
            if not length.isdigit() or int(length) > limit:
                err = ApiError(413, f"request body too large (limit {limit} bytes)",
                               code="request_too_large")
                await err.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _offline_docs(app) -> None:
    """Swagger UI from the swagger-ui-bundle package (no CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="rag-chat API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png")


def upload_cap_message(ui_config) -> str:
    from ui.uploads import human_size

    limits = ui_config.limits
    return (f"too large: at most {limits.max_files} files of {human_size(limits.max_bytes)} "
            "each per upload")


def build_server_app(svc, config: ServeConfig, loader=None):
    """FastAPI (API routes, /health, /docs, /openapi.json) + the Gradio page at "/".

    `loader` (ui.loading.ServiceLoader): loads the service's heavy parts once the port is
    open; until then the page and the API say they are loading."""
    import gradio as gr
    from fastapi import FastAPI

    from ui import api, viewer_route
    from ui.app import ChatApp, build_page, launch_kwargs
    from ui.gate import Limiter

    chat = ChatApp(svc, config.ui, limiter=Limiter(config.ui.concurrency), loader=loader)
    demo = build_page(chat)
    app = FastAPI(title="rag-chat API", version="1", docs_url=None, redoc_url=None,
                  description="OpenAI-compatible chat completions with citations, retrieval, "
                              "documents. Models: " + ", ".join(api.MODELS))
    api.install_error_handlers(app)
    ctx = api.ApiContext(svc, chat, config.api_key)
    app.include_router(api.build_router(ctx))
    app.include_router(api.build_health_router(ctx))
    _offline_docs(app)
    app.add_middleware(ApiGuard, json_limit=JSON_BODY_LIMIT, upload_limit=config.upload_body_limit,
                       upload_message=upload_cap_message(config.ui))
    app.include_router(viewer_route.build_router(chat, config.api_key))  # GET /view, before the page
    kwargs = launch_kwargs(config.ui, config.host, config.port, config.auth)
    kwargs.pop("quiet", None)
    app = gr.mount_gradio_app(app, demo, "/", run_history=False, **kwargs)
    # Gradio checks that files named in a request were uploaded by a user only once
    # `has_launched` is set, which launch() does and mount_gradio_app does not: without it,
    # any server file could be passed to /upload_documents as if uploaded.
    demo.has_launched = True
    return app


def run(app, config: ServeConfig, on_ready: Callable[[], None] | None = None) -> int:
    """Serve until Ctrl-C / SIGTERM. on_ready runs once the socket listens."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                on_ready()

    server = Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="warning",
                                   access_log=False, timeout_graceful_shutdown=5,
                                   lifespan="on"))
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits on bind errors
        raise ConfigError(f"cannot serve on {config.host}:{config.port} (address in use?)") from exc
    return 0
