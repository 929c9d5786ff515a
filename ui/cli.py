"""`rag serve`: the web chat on http://127.0.0.1:7860 (loopback unless told otherwise)."""

from __future__ import annotations

import ipaddress
import logging
import os
import sys

from rag.errors import ConfigError, InputError

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="web chat (Gradio) on http://127.0.0.1:7860")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--auth", metavar="USER:PASS", help="require this login")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="per file (default 20)")
    p.add_argument("--max-files", type=int, default=10, help="per upload (default 10)")
    p.add_argument("--queue-size", type=int, default=16, help="waiting requests before 'busy'")
    p.add_argument("--concurrency", type=int, default=2, help="requests answered at once")
    p.add_argument("--top-k", type=int)
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


def exposure_warning(host: str, auth) -> str | None:
    if is_loopback(host) or auth:
        return None
    return (f"rag: warning: serving on {host} without --auth: anyone who can reach this "
            "machine can read your documents and change the index")


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise InputError(f"--{name} must be positive")


def _ui_config(args):
    from ui.app import UiConfig
    from ui.uploads import UploadLimits

    for name in ("max_upload_mb", "max_files", "queue_size", "concurrency"):
        _positive(name.replace("_", "-"), getattr(args, name))
    limits = UploadLimits(max_bytes=int(args.max_upload_mb * 1024 * 1024), max_files=args.max_files)
    return UiConfig(limits=limits, queue_size=args.queue_size, concurrency=args.concurrency)


def warm_up(svc) -> None:
    """Load the models before the first visitor does (a refusal is fine)."""
    if svc.store.count() == 0:
        return
    try:
        svc.ask("warm up")
    except Exception:  # a cold start is slower, not broken
        log.warning("warm-up question failed", exc_info=True)


def cmd_serve(args, settings) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    auth = parse_auth(args.auth)
    config = _ui_config(args)
    warning = exposure_warning(args.host, auth)
    if warning:
        print(warning, file=sys.stderr)
    from ui.uploads import clear_cache, gradio_cache_dir

    own_cache = gradio_cache_dir(settings.data_dir).resolve()
    if os.environ.setdefault("GRADIO_TEMP_DIR", str(own_cache)) == str(own_cache):
        clear_cache(own_cache)  # copies of deleted (or any earlier) uploads are not served again
    from rag.service import RagService
    from ui.app import build_app, launch_kwargs

    svc = RagService(settings)
    warm_up(svc)
    demo, config = build_app(svc, config)
    try:
        demo.launch(prevent_thread_lock=True, **launch_kwargs(config, args.host, args.port, auth))
    except OSError as exc:
        raise ConfigError(f"cannot serve on {args.host}:{args.port}: {exc}") from exc
    print(f"Web chat on http://{args.host}:{args.port}  (Ctrl-C to stop)", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close()
    return 0
