"""`rag llm serve`: the bundled model behind an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from rag.llm.local import MODELS, SPECULATIVE

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("llm", help="local LLM server (`rag llm serve`)")
    sub = p.add_subparsers(dest="llm_command", required=True, parser_class=type(p))
    s = sub.add_parser("serve", help="start an OpenAI-compatible llama.cpp server on 127.0.0.1")
    s.add_argument("--model", choices=MODELS, default="default",
                   help="default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M; small: SmolLM2-135M (tests)")
    s.add_argument("--port", type=int, help="port (default $RAG_LLM_PORT or 8080; 0 = any free)")
    s.add_argument("--threads", type=int, help="CPU threads (default $RAG_LLM_THREADS or cores less one)")
    s.add_argument("--batch-threads", type=int,
                   help="prompt-processing threads (default $RAG_LLM_BATCH_THREADS or one per core)")
    s.add_argument("--speculative", choices=["off", *SPECULATIVE],
                   help="n-gram speculative decoding (default $RAG_LLM_SPECULATIVE or off)")
    s.add_argument("--ctx", type=int, help="context window (default $RAG_LLM_CONTEXT_WINDOW)")
    s.add_argument("--no-warm-up", action="store_true",
                   help="do not evaluate the system prompt into the prompt cache at start")
    s.add_argument("--verify", action="store_true", help="re-check the assembled model's SHA-256")
    s.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # managed: die with it
    s.set_defaults(func=cmd_serve)


def cmd_serve(args, settings) -> int:
    from rag.llm.local import LocalServer, model_path

    if args.parent_pid:
        from rag.llm.managed import set_parent_death_signal

        set_parent_death_signal(args.parent_pid)
    path = model_path(args.model, settings.data_dir, verify=args.verify)
    server = LocalServer(
        path, port=settings.llm_port if args.port is None else args.port,
        n_ctx=args.ctx or settings.llm_context_window,
        threads=args.threads if args.threads is not None else settings.llm_threads,
        batch_threads=args.batch_threads if args.batch_threads is not None else settings.llm_batch_threads,
        speculative="" if args.speculative == "off" else (args.speculative or settings.llm_speculative),
        verbose=bool(getattr(args, "verbose", False)),
    )
    url = server.start()
    print(url, flush=True)
    if not args.no_warm_up:  # in the background: the server answers meanwhile
        from rag.llm.local import warm_prompt_cache

        threading.Thread(target=warm_prompt_cache, args=(url, server.alias), daemon=True).start()
    print(f"serving {path.name}; use it with: export RAG_LLM_BASE_URL={url} RAG_MODE=generative\n"
          "Ctrl-C to stop.", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    return _stop_within(server, STOP_GRACE_S)


STOP_GRACE_S = 10.0  # llama.cpp's own stop can wait on a generation in flight without end


def _stop_within(server, grace_s: float) -> int:
    """Stop the server, waiting at most grace_s; past that the process ends at once (an
    orderly stop that hangs would keep the port and the cores busy)."""
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(grace_s)
    if stopper.is_alive():
        print(f"the model server did not stop within {grace_s:.0f} s; exiting now",
              file=sys.stderr, flush=True)
        os._exit(0)
    return 0
