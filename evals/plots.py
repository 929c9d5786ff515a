"""PNG plots with matplotlib's Agg backend: hit@k curves, refusal trade-off, latency."""

from __future__ import annotations

import logging
from pathlib import Path

from evals.metrics import KS

log = logging.getLogger(__name__)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def hit_curve(columns: list[dict], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for c in columns:
        ys = [c["metrics"]["retrieval"].get(f"hit@{k}") for k in KS]
        if all(y is not None for y in ys):
            ax.plot(KS, ys, marker="o", label=c["name"])
    ax.set(xlabel="k (distinct documents)", ylabel="hit@k", title="Gold document in the top k", ylim=(0, 1.02))
    ax.set_xticks(KS)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def refusal_tradeoff(columns: list[dict], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    markers = "osD^vP*Xh<>"
    for i, c in enumerate(columns):
        r = c["metrics"]["refusals"]
        if r["refusal_rate"] is None or r["false_refusal_rate"] is None:
            continue
        ax.scatter([r["false_refusal_rate"]], [r["refusal_rate"]], s=45, alpha=0.8,
                   marker=markers[i % len(markers)], label=c["name"])
    ax.set(xlabel="false-refusal rate (answerable refused)", ylabel="refusal rate (unanswerable refused)",
           title="Refusals: up and to the left is better", xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def latency_hist(columns: list[dict], rows_by_config: dict[str, list[dict]], path: Path) -> Path:
    plt = _pyplot()
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 4))
    series = {c["name"]: [r["latency_ms"] for r in rows_by_config.get(c["name"], [])
                          if r.get("latency_ms")] for c in columns}
    values = [x for xs in series.values() for x in xs]
    bins = np.geomspace(max(min(values), 0.1), max(values) * 1.01, 40) if values else 10
    for name, xs in series.items():
        if xs:
            ax.hist(xs, bins=bins, alpha=0.5, label=name, histtype="stepfilled")
    ax.set_xscale("log")
    ax.set(xlabel="ms per question (log scale)", ylabel="questions", title="Latency per question")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def write_all(report: dict, rows_by_config: dict[str, list[dict]], out_dir: Path) -> list[Path]:
    columns = [c for c in report["configs"] if c["status"] == "ok"]
    return [
        hit_curve(columns, out_dir / "hit_at_k.png"),
        refusal_tradeoff(columns, out_dir / "refusals.png"),
        latency_hist(columns, rows_by_config, out_dir / "latency.png"),
    ]
