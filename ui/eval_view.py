"""The "Evaluation" tab: the last `rag eval` reports, their tables and plots, in the page.

`rag eval` writes `<data_dir>/evals/<set>/report.json` (every number), `report.md` and
`hit_at_k.png`, `refusals.png`, `latency.png` (evals/cli.py, evals/report.py, evals/plots.py).
The tab lists those folders, newest first, and shows one: the summary line and the metrics
table built from report.json with the same rows and formats as report.md (evals.report), the
per-kind table, configurations not run, the optional LLM judge, and the plots inlined as
`data:` PNGs (no request leaves the page, none reaches the data dir). Every string from a
report (set and configuration names, reasons) reaches the page through `render.esc`; no
absolute server path is shown.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ui.render import esc

log = logging.getLogger(__name__)

REPORT = "report.json"
PLOTS = (("hit_at_k.png", "Gold document in the top k (hit@k)"),
         ("refusals.png", "Refusals: unanswerable refused against answerable refused"),
         ("latency.png", "Latency per question"))
MAX_PLOT_BYTES = 3 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EMPTY = ("No evaluation yet: run <code>rag eval --dataset seed</code> (or <code>rag eval "
         "--dataset realdocs_dev</code>, or a folder of your own questions) with this data dir; "
         "its report appears here.")


@dataclass(frozen=True)
class ReportRef:
    name: str  # the folder under <data_dir>/evals
    path: Path
    mtime: float

    @property
    def label(self) -> str:
        return f"{self.name} · {time.strftime('%Y-%m-%d %H:%M', time.localtime(self.mtime))}"


def find_reports(data_dir: Path) -> list[ReportRef]:
    """Report folders directly under <data_dir>/evals, newest first."""
    root = Path(data_dir) / "evals"
    refs = []
    for path in root.glob(f"*/{REPORT}") if root.is_dir() else []:
        try:
            refs.append(ReportRef(path.parent.name, path, path.stat().st_mtime))
        except OSError:
            continue
    return sorted(refs, key=lambda r: r.mtime, reverse=True)


def _table(head: list[str], rows: list[list[str]], caption: str, numeric_from: int) -> str:
    """An HTML table of already escaped cells; columns from numeric_from on right-aligned."""
    th = "".join(f'<th scope="col">{h}</th>' for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"rag-num" if i >= numeric_from else ""}">{c}</td>'
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return (f'<table class="rag-eval-table"><caption>{caption}</caption>'
            f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")


def metrics_html(columns: list[dict]) -> str:
    from evals.report import ROWS, fmt, get

    rows = []
    for sec, label, path, kind in ROWS:
        values = [get(c.get("metrics", {}), path) for c in columns]
        if all(v is None for v in values):
            continue
        rows.append([esc(sec), esc(label), *(esc(fmt(v, kind)) for v in values)])
    head = ["", "metric", *(f"<code>{esc(c.get('name', '?'))}</code>" for c in columns)]
    return _table(head, rows, "Metrics", numeric_from=2)


def kinds_html(columns: list[dict]) -> str:
    from evals.report import fmt

    kinds = sorted({k for c in columns for k in c.get("metrics", {}).get("by_kind", {})})
    if len(kinds) <= 2:
        return ""
    rows = []
    for kind in kinds:
        cells, n = [], 0
        for c in columns:
            row = c["metrics"]["by_kind"].get(kind, {})
            n = row.get("n", n)
            cells.append(esc(f"{fmt(row.get('correct'), 'f3')} / {fmt(row.get('refused'), 'f3')}"))
        rows.append([esc(kind), esc(n), *cells])
    head = ["kind", "n", *(f"<code>{esc(c.get('name', '?'))}</code> correct / refused" for c in columns)]
    return _table(head, rows, "By question kind", numeric_from=1)


def _summary(report: dict) -> str:
    ds = report.get("dataset", {})
    parts = [f"{esc(ds.get('questions', '?'))} questions ({esc(ds.get('answerable', '?'))} answerable, "
             f"{esc(ds.get('unanswerable', '?'))} unanswerable) over {esc(ds.get('documents', '?'))} "
             "document(s)"]
    if report.get("started"):
        parts.append(f"run {esc(report['started'])}")
    if report.get("seconds") is not None:
        parts.append(f"{esc(report['seconds'])} s")
    if report.get("git_commit"):
        parts.append(f"commit <code>{esc(str(report['git_commit'])[:10])}</code>")
    return f'<p class="rag-meta">{" · ".join(parts)}</p>'


def _not_run(report: dict) -> str:
    missing = [c for c in report.get("configs", []) if c.get("status") != "ok"]
    if not missing:
        return ""
    items = "".join(f"<li><code>{esc(c.get('name', '?'))}</code>: "
                    f"{esc(c.get('reason', c.get('status')))}</li>" for c in missing)
    return f"<h4>Not run</h4><ul>{items}</ul>"


def _judge(report: dict) -> str:
    judge = report.get("llm_judge")
    if not judge:
        return ""
    if judge.get("status") != "ok":
        return f"<h4>LLM judge (separate, optional)</h4><p>Not run: {esc(judge.get('reason', ''))}</p>"
    rows = [[f"<code>{esc(name)}</code>", esc(f"{j.get('accepted', 0):.3f}"), esc(j.get("judged")),
             esc(j.get("failed"))] for name, j in judge.get("configs", {}).items()]
    return _table(["configuration", "accepted", "judged", "failed"], rows,
                  "LLM judge (separate, optional)", numeric_from=1)


def plot_html(folder: Path) -> str:
    """The report's PNG plots, inlined (only real PNGs of a sane size)."""
    figures = []
    for name, caption in PLOTS:
        path = folder / name
        try:
            data = path.read_bytes() if path.stat().st_size <= MAX_PLOT_BYTES else b""
        except OSError:
            continue
        if not data.startswith(PNG_MAGIC):
            continue
        src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        figures.append(f'<figure class="rag-eval-plot"><img src="{src}" alt="{esc(caption)}">'
                       f"<figcaption>{esc(caption)}</figcaption></figure>")
    return f'<div class="rag-eval-plots">{"".join(figures)}</div>' if figures else ""


def report_html(ref: ReportRef) -> str:
    """One report as HTML: summary, tables, plots (or why it cannot be read)."""
    try:
        report = json.loads(ref.path.read_text(encoding="utf-8"))
        columns = [c for c in report.get("configs", []) if c.get("status") == "ok"]
        name = report.get("dataset", {}).get("name", ref.name)
        body = (f"<h3>Evaluation: {esc(name)}</h3>" + _summary(report)
                + (metrics_html(columns) if columns else "<p>No configuration ran.</p>")
                + kinds_html(columns) + _not_run(report) + _judge(report))
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        log.warning("cannot read eval report %s: %s", ref.path, exc)
        return (f'<div class="rag-eval"><p class="rag-error">Could not read the report in '
                f"<code>evals/{esc(ref.name)}</code> ({esc(type(exc).__name__)}).</p></div>")
    return f'<div class="rag-eval">{body}{plot_html(ref.path.parent)}</div>'


def empty_html() -> str:
    return f'<div class="rag-eval rag-eval-empty"><p>{EMPTY}</p></div>'


class EvalView:
    """The tab's components and handlers, over one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)

    def show(self, name: str | None = None) -> tuple:
        """(report picker, report HTML): `name`, else the newest report."""
        refs = find_reports(self.data_dir)
        if not refs:
            return gr.update(choices=[], value=None, visible=False), empty_html()
        ref = next((r for r in refs if r.name == name), refs[0])  # only listed folders
        return (gr.update(choices=[(r.label, r.name) for r in refs], value=ref.name, visible=True),
                report_html(ref))

    def render(self, tab) -> None:
        """Inside the tab: the picker and the report; refreshed when the tab is opened."""
        gr.Markdown("How well answers come out on a golden set of questions over your documents: "
                    "the last `rag eval` reports of this data dir.")
        with gr.Row():
            picker = gr.Dropdown(choices=[], label="Report", scale=4, elem_id="rag-eval-pick")
            again = gr.Button("Refresh", scale=1, size="sm", elem_id="rag-eval-refresh")
        shown = gr.HTML(empty_html(), elem_id="rag-eval-report")
        private = {"api_visibility": "private", "queue": False}
        tab.select(self.show, inputs=picker, outputs=[picker, shown], **private)
        again.click(self.show, inputs=picker, outputs=[picker, shown], **private)
        picker.input(self.show, inputs=picker, outputs=[picker, shown], **private)


EVAL_CSS = """
.rag-eval table.rag-eval-table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
.rag-eval-table caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
.rag-eval-table th, .rag-eval-table td { border-bottom: 1px solid var(--border-color-primary);
  padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
.rag-eval-table td.rag-num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.rag-eval-plots { display: flex; flex-wrap: wrap; gap: 1em; }
.rag-eval-plot { margin: 0; max-width: 100%; }
.rag-eval-plot img { max-width: min(100%, 460px); height: auto; background: #fff; }
.rag-eval-plot figcaption { font-size: 0.85em; }
"""
