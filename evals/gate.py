"""The CI quality gate: fixed eval runs whose metrics must stay within evals/thresholds.json.

thresholds.json: {"runs": [{"name", "dataset", "limit", "scope", "metrics": {path: {"min"|"max": x}}}]}
where a path points into a configuration's metrics (e.g. "refusals.false_refusal_rate").
Thresholds start at measured values minus a small margin (plus, for "max" metrics).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from evals.data import load_dataset, select
from evals.evaluate import default_configs, evaluate
from evals.report import get

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.json"


def load_thresholds(path: Path = THRESHOLDS) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["runs"]


def check(metrics: dict, rules: dict[str, dict]) -> list[str]:
    """One message per metric outside its bound (a missing metric fails too)."""
    failures = []
    for path, bound in rules.items():
        value = get(metrics, path)
        if value is None:
            failures.append(f"{path}: missing")
        elif "min" in bound and value < bound["min"]:
            failures.append(f"{path} = {value:.4f} < min {bound['min']}")
        elif "max" in bound and value > bound["max"]:
            failures.append(f"{path} = {value:.4f} > max {bound['max']}")
    return failures


def run_gate(spec: dict, settings: Settings, out_dir: Path, embedder=None, progress: bool = False) -> dict:
    """Run one gate entry (our default configuration only) and return its metrics."""
    ds = select(load_dataset(spec["dataset"]), spec.get("limit"), spec.get("scope", "all"))
    configs = default_configs(settings, "extractive", baseline=False)
    rep, _ = evaluate(ds, settings, configs, out_dir, progress=progress, embedder=embedder)
    return rep["configs"][0]["metrics"]
