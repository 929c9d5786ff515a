"""`rag serve`: the web chat and the OpenAI-compatible API on http://127.0.0.1:7860 (loopback
unless told otherwise)."""

from __future__ import annotations

import ipaddress
import logging
import os

from pydantic import SecretStr

from rag.errors import ConfigError, InputError, RagError

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="web chat + OpenAI-compatible API on http://127.0.0.1:7860")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--auth", metavar="USER:PASS", help="require this login")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="per file (default 20)")
    p.add_argument("--max-files", type=int, default=10, help="per upload (default 10)")
    p.add_argument("--queue-size", type=int, default=16, help="waiting requests before 'busy'")
    p.add_argument("--concurrency", type=int, default=2, help="answers computed at once (page and API together)")
    p.add_argument("--top-k", type=int)
    p.add_argument("--no-local-llm", action="store_true",
                   help="never start the bundled model server (also: RAG_LOCAL_LLM=off)")
    p.set_defaults(func=cmd_serve)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise InputError("--auth must look like USER:PASS")
    return user, password


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_problem(host: str, auth, api_key) -> str | None:
    """Why serving on host is refused: a non-loopback address needs --auth and RAG_API_KEY."""
    if is_loopback(host):
        return None
    missing = [what for what, ok in (("--auth USER:PASS (the page)", auth),
                                     ("RAG_API_KEY (the HTTP API)", api_key)) if not ok]
    if not missing:
        return None
    return (f"serving on {host} needs {' and '.join(missing)}: anyone who can reach this "
            "machine could read your documents and change the index")


def api_key_from_env() -> SecretStr | None:
    key = os.environ.get("RAG_API_KEY", "").strip()
    return SecretStr(key) if key else None


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise InputError(f"--{name} must be positive")


def _ui_config(args):
    from ui.config import UiConfig
    from ui.uploads import UploadLimits

    for name in ("max_upload_mb", "max_files", "queue_size", "concurrency"):
        _positive(name.replace("_", "-"), getattr(args, name))
    limits = UploadLimits(max_bytes=int(args.max_upload_mb * 1024 * 1024), max_files=args.max_files)
    return UiConfig(limits=limits, queue_size=args.queue_size, concurrency=args.concurrency)


def warm_up(svc) -> None:
    """Load the models before the first visitor does (a refusal is fine). Runs once the port
    is open (ui.loading.ServiceLoader): embedder, Chroma, catalogue, spaCy, the pipeline."""
    svc.catalog.count()
    if svc.store.count() == 0:
        svc.analyzer.nlp  # the first upload needs it  # noqa: B018
        return
    try:
        svc.ask("warm up")
    except Exception:  # a cold start is slower, not broken
        log.warning("warm-up question failed", exc_info=True)


def serve_config(args):
    """Options → ServeConfig; refuses an exposed address without both logins."""
    from ui.server import ServeConfig

    auth = parse_auth(args.auth)
    api_key = api_key_from_env()
    problem = exposure_problem(args.host, auth, api_key)
    if problem:
        raise ConfigError(problem)
    return ServeConfig(host=args.host, port=args.port, ui=_ui_config(args), auth=auth,
                       api_key=api_key)


def cmd_serve(args, settings) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    config = serve_config(args)
    from rag.llm.managed import managed_llm
    from ui.uploads import clear_cache, gradio_cache_dir

    own_cache = gradio_cache_dir(settings.data_dir).resolve()
    if os.environ.setdefault("GRADIO_TEMP_DIR", str(own_cache)) == str(own_cache):
        clear_cache(own_cache)  # copies of deleted (or any earlier) uploads are not served again
    from rag.service import RagService

    # the bundled model server, when no endpoint is configured: a child stopped with us
    if args.no_local_llm:  # nor one found running for this data dir (RAG_LOCAL_LLM=off)
        settings = settings.model_copy(update={"local_llm": "off"})
    with managed_llm(settings, enabled=not args.no_local_llm) as local_llm:
        return _serve(RagService(settings, local_llm=local_llm), config)


def recover_uploads(svc) -> None:
    """Before serving: undo what a killed upload left half-done (its chunks in Chroma, its
    stored file), so the catalogue, Chroma, the lexical index and uploads/ agree."""
    from pathlib import Path

    from ui.uploads import remove_orphans, uploads_dir

    # a new document's pending row has no path yet: its doc id is the path (relative to the cwd)
    paths = {d: (r.path if (r := svc.catalog.get(d)) and r.path else d) for d in svc.catalog.pending()}
    recovered = svc.recover()
    if recovered:
        log.warning("removed %d document(s) an interrupted write left half-indexed", len(recovered))
    gone = {str(Path(p).resolve()) for d, p in paths.items() if d in recovered}
    with svc.writing():
        remove_orphans(uploads_dir(svc.settings.data_dir), {r["path"] for r in svc.list_documents()},
                       gone, min_age_s=svc.settings.ingest_lock_wait)


def _serve(svc, config) -> int:
    """The port opens first (a "starting…" page); the page is built in a thread and swapped
    in; then the models load while the page already works (it says "loading models…")."""
    import signal

    from ui.loading import ServiceLoader
    from ui.server import run
    from ui.startup import StartingApp, SwappableApp, build_in_background

    def load() -> None:  # before any upload is served: a killed upload's leftovers go first
        recover_uploads(svc)
        warm_up(svc)

    loader = ServiceLoader.from_env(load)
    swappable = SwappableApp(StartingApp(config.ui.title))
    failure: list[BaseException] = []

    def build():
        from ui.server import build_server_app

        return build_server_app(svc, config, loader=loader)

    def page_ready() -> None:
        print(page_line(config), flush=True)
        loader.start(on_done=lambda: print(ready_line(config), flush=True))

    def failed(exc: BaseException) -> None:
        failure.append(exc)
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn stops; the error is reported below

    def listening() -> None:
        print(f"{LISTENING}http://{config.host}:{config.port} (starting…)", flush=True)
        build_in_background(swappable, build, page_ready, failed)

    code = run(swappable, config, on_ready=listening)
    if failure:
        raise RagError(f"the web chat failed to start: {failure[0]}") from failure[0]
    return code


LISTENING = "Listening on "
PAGE_SERVED = "Page served on "


def page_line(config) -> str:
    """Printed once the page is served, before the models are loaded."""
    return f"{PAGE_SERVED}http://{config.host}:{config.port} (loading models…)"


def ready_line(config) -> str:
    """Printed once the models are loaded too (tests wait for "Web chat on ")."""
    base = f"http://{config.host}:{config.port}"
    key = "key required" if config.api_key else "no key"
    return (f"Web chat on {base}  ·  OpenAI-compatible API on {base}/v1 ({key}), docs "
            f"{base}/docs  (Ctrl-C to stop)")
