"""`rag` command line: ingest, ask, chat, status (+ commands registered by other modules).

Exit codes: 0 answered or refused; 2 bad usage or input (one line on stderr); 1 internal error.
Errors become user messages here, at the edge, and nowhere else.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from pathlib import Path
from typing import TextIO

from rag.errors import InputError, RagError

log = logging.getLogger("rag")

MODES = ("extractive", "generative", "auto")

# modules that add sub-commands: each has register(subparsers) setting func=handler(args, settings)
EXTRA_COMMANDS: tuple[str, ...] = ("ui.cli", "evals.cli", "rag.llm.cli", "benchmarks.scale")


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # one line on stderr, exit 2
        self.exit(2, f"rag: error: {message} (see: rag --help)\n")


def build_settings(args: argparse.Namespace):
    from rag.settings import Settings

    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    for name in ("top_k", "mode", "retrieval"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    return Settings(**overrides)


def make_service(settings, local_llm=None):
    from rag.service import RagService

    return RagService(settings, local_llm=local_llm)


# --- ingest -----------------------------------------------------------------------
def cmd_ingest(args, settings) -> int:
    svc = make_service(settings)
    paths = [Path(p) for p in args.paths] or [settings.seeds_dir]
    report = svc.ingest_paths(paths, prune=args.prune, progress_factory=_progress(args))
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(
            f"added {len(report.added)}, updated {len(report.updated)}, "
            f"unchanged {len(report.unchanged)}, removed {len(report.removed)}, "
            f"skipped {len(report.skipped)}; {report.chunks_written} chunks written "
            f"in {report.seconds:.1f} s"
        )
        for path, why in report.skipped:
            print(f"  skipped {path}: {why}", file=sys.stderr)
    return 0


def _progress(args):
    if args.no_progress:
        return None

    def factory(total: int):
        from tqdm import tqdm

        bar = tqdm(total=total, unit="doc", desc="ingest", disable=None, file=sys.stderr)
        return bar.update

    return factory


# --- ask ----------------------------------------------------------------------------
def render_text(answer) -> str:
    lines = [answer.text]
    if answer.notice:
        lines.insert(0, f"({answer.notice})")
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"[{c.n}] {c.source} ({c.chunk_id}, chars {c.start}-{c.end}, score {c.score:.3f})")
            lines.append(f'    "{c.quote}"')
    return "\n".join(lines)


def _require_index(svc) -> None:
    if svc.store.count() == 0:
        raise InputError("the index is empty: run `rag ingest` first")


def cmd_ask(args, settings) -> int:
    svc = make_service(settings)
    if args.question == "-":
        return _ask_stdin(svc, args)
    _require_index(svc)
    answer = svc.ask(args.question)
    print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else render_text(answer))
    return 0


def _ask_stdin(svc, args) -> int:
    _require_index(svc)
    for line in sys.stdin:
        question = line.rstrip("\n")
        try:
            answer = svc.ask(question)
        except InputError as exc:
            out = {"question": question, "error": str(exc)}
            print(json.dumps(out) if args.json else f"error: {exc}", flush=True)
            continue
        print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else render_text(answer) + "\n",
              flush=True)
    return 0


# --- chat ---------------------------------------------------------------------------
def cmd_chat(args, settings) -> int:
    from rag.llm.managed import managed_llm

    with managed_llm(settings, enabled=args.start_llm) as llm:
        svc = make_service(settings, local_llm=llm)
        _require_index(svc)
        if llm is not None:
            print(f"Starting the local model {llm.status().model} in the background; "
                  "answers are extractive until it is ready.")
        print("Ask about your documents. Empty line or Ctrl-D to quit; "
              "Ctrl-C while the model writes keeps the quoted answer.")
        _chat_loop(svc)
    return 0


def _chat_loop(svc) -> None:
    history: list[tuple[str, str]] = []
    while True:
        try:
            question = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if not question.strip():
            return
        try:
            chat_turn(svc, question, history)
        except InputError as exc:
            print(f"error: {exc}")


def chat_turn(svc, question: str, history: list[tuple[str, str]], out: TextIO | None = None):
    """Stream one answer to `out`: the provisional (extractive) answer, the model's tokens,
    then the verified answer. Ctrl-C during generation keeps the provisional answer."""
    out = out or sys.stdout
    answer = provisional = None
    streaming = False
    events = svc.stream(question, history=history)
    try:
        for event in events:
            if event.type == "provisional":
                provisional = event.answer
                out.write("(provisional, quoted from your documents)\n"
                          + render_text(provisional) + "\n\n-- the model is writing --\n")
            elif event.type == "token":
                streaming = True
                out.write(event.text)
            elif event.type == "answer":
                answer = event.answer
            out.flush()
    except KeyboardInterrupt:
        events.close()
        if provisional is None:
            raise
        out.write("\n(stopped; keeping the quoted answer above)\n\n")
        history.append((question, provisional.text))
        return provisional
    if streaming or provisional is not None:
        out.write("\n-- verified --\n")
    out.write(render_text(answer) + "\n\n")
    history.append((question, answer.text))
    return answer


# --- status -------------------------------------------------------------------------
def cmd_status(args, settings) -> int:
    status = make_service(settings).status()
    if args.json:
        print(json.dumps(status))
    else:
        for key, value in status.items():
            print(f"{key}: {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="rag", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="index location (default: $RAG_DATA_DIR or ./data)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    p = sub.add_parser("ingest", help="index files (default: seeds/)")
    p.add_argument("paths", nargs="*")
    p.add_argument("--prune", action="store_true", help="remove indexed files that disappeared")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer one question ('-': one per stdin line)")
    p.add_argument("question")
    p.add_argument("--json", action="store_true")
    p.add_argument("--top-k", type=int)
    p.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"])
    p.add_argument("--mode", choices=MODES, help="answer mode (default $RAG_MODE or auto)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="terminal chat (streams LLM tokens; follow-ups understood)")
    p.add_argument("--top-k", type=int)
    p.add_argument("--mode", choices=MODES, help="answer mode (default $RAG_MODE or auto)")
    p.add_argument("--start-llm", action="store_true",
                   help="start the bundled model server for this chat (default: use one "
                        "`rag serve` or RAG_LLM_BASE_URL provides)")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("status", help="what is indexed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    for module in EXTRA_COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="rag: %(levelname)s: %(message)s",
    )
    try:
        return args.func(args, build_settings(args))
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the edge: never a stack trace unless -v
        log.debug("internal error", exc_info=True)
        if args.verbose:
            raise
        print(f"rag: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
