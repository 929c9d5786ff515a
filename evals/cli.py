"""`rag eval`: measure retrieval, answers, citations and refusals on a golden set.

    rag eval --dataset seed
    rag eval --dataset squad2_dev --limit 100 --out data/evals/squad-100
    rag eval --dataset ../shared/evaldata/clapnq_dev --compare
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate on the seed golden set or an evaldata-shaped set")
    p.add_argument("--dataset", default="seed",
                   help="'seed', a set under evals/datasets (realdocs_dev, realdocs_dev_pdf, ...), a folder with "
                        "documents.jsonl + questions.jsonl, or a set name under "
                        "$RAG_EVALDATA_DIR (default ../shared/evaldata)")
    p.add_argument("--mode", choices=["extractive", "generative"], default="extractive")
    p.add_argument("--limit", type=int, help="first N/2 answerable + first N/2 unanswerable questions")
    p.add_argument("--scope", choices=["all", "titles"], default="all",
                   help="corpus: every document, or only those sharing a title with the questions' gold docs")
    p.add_argument("--out", help="output folder (default: <data dir>/evals/<dataset>)")
    p.add_argument("--compare", action="store_true",
                   help="several configurations side by side: hybrid/dense/bm25, top-k 3/5/10, modes")
    p.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"])
    p.add_argument("--top-k", type=int)
    p.add_argument("--no-baseline", action="store_true", help="skip the llama-index baseline")
    p.add_argument("--sweep", action="store_true",
                   help="also sweep the extractive answerer's refusal thresholds (sweep.md / sweep.json)")
    p.add_argument("--judge", action="store_true",
                   help="also ask the configured LLM to grade answers (reported separately; needs RAG_LLM_*)")
    p.add_argument("--fresh", action="store_true", help="ignore cached per-question results")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_eval)


def default_out(settings, dataset: str, limit: int | None, scope: str) -> Path:
    name = "seed" if dataset == "seed" else Path(dataset).name
    suffix = (f"-limit{limit}" if limit else "") + ("-titles" if scope == "titles" else "")
    return settings.data_dir / "evals" / f"{name}{suffix}"


def _quiet_bm25s(args) -> None:
    """bm25s sets its own logger to DEBUG when imported; import it now and quiet it."""
    import bm25s  # noqa: F401

    logging.getLogger("bm25s").setLevel(logging.INFO if args.verbose else logging.WARNING)


def cmd_eval(args, settings) -> int:
    from evals import plots, report
    from evals.data import load_dataset, select
    from evals.evaluate import compare_configs, default_configs, evaluate
    from rag.errors import InputError

    _quiet_bm25s(args)
    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be at least 1")
    ds = select(load_dataset(args.dataset), args.limit, args.scope)
    out = Path(args.out) if args.out else default_out(settings, args.dataset, args.limit, args.scope)
    make = compare_configs if args.compare else default_configs
    configs = make(settings, args.mode, baseline=not args.no_baseline)
    rep, rows = evaluate(ds, settings, configs, out, fresh=args.fresh, progress=not args.no_progress,
                         judge=args.judge)
    if args.sweep:
        from evals import sweep

        rep["sweep"] = sweep.run_and_write(ds, settings, out, progress=not args.no_progress)
    json_path, md_path = report.write(rep, out)
    if not args.no_plots:
        plots.write_all(rep, rows, out)
    print("\n".join(report.metrics_table(report.ok_columns(rep))))
    for c in rep["configs"]:
        if c["status"] != "ok":
            print(f"not run: {c['name']}: {c.get('reason')}", file=sys.stderr)
    print(f"\nreport: {md_path} and {json_path.name}" + ("" if args.no_plots else ", plots *.png"))
    return 0
