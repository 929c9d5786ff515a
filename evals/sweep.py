"""Sweep the extractive answerer's refusal thresholds without changing rag/answer.py.

Each question is scored once by the real ExtractiveAnswerer (coverage, similarity, score,
answer-type check per retrieved sentence); those scores are cached, then ExtractiveAnswerer
instances with other thresholds re-run only their `select` step on them. For every grid
point: refusal rate on unanswerable, false-refusal rate and containment on answerable.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from evals import metrics as m
from evals.data import EvalSet
from evals.runner import Config, OursRunner, ResultCache, fingerprint, run_cached

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)

DEFAULTS = {"min_coverage": 0.25, "min_similarity": 0.25, "min_score": 0.42, "keep_ratio": 0.85}
GRID = {
    "min_score": [0.30, 0.35, 0.38, 0.40, 0.42, 0.44, 0.46, 0.48, 0.50, 0.55, 0.60],
    "min_coverage": [0.0, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65],
    "min_similarity": [0.0, 0.15, 0.25, 0.35, 0.45, 0.55],
    "keep_ratio": [0.7, 0.85, 0.95, 1.0],
}


def score_rows(runner: OursRunner, cfg: Config, q) -> dict:
    """Every retrieved sentence's scores for one question (the answerer's own `score`)."""
    svc = runner.service(cfg)
    qvec = svc.embedder.embed([q.question])[0]
    hits = svc.retriever.retrieve(q.question, top_k=cfg.top_k, query_vec=qvec)
    scored = svc.extractive.score(q.question, hits, qvec)
    return {"id": q.id, "scored": [
        {"text": s.sentence.text, "score": s.score, "coverage": s.coverage, "similarity": s.similarity,
         "typed_ok": s.typed_ok, "type_required": getattr(s, "type_required", True)} for s in scored]}


def as_scored(items: list[dict], ignore_type: bool = False) -> list:
    """Scored objects for ExtractiveAnswerer.select (older answerers: no type_required field)."""
    import dataclasses

    from rag.answer import Scored

    has_required = "type_required" in {f.name for f in dataclasses.fields(Scored)}
    out = []
    for i in items:
        args = [SimpleNamespace(text=i["text"]), i["score"], i["coverage"], i["similarity"],
                True if ignore_type else i["typed_ok"]]
        if has_required:
            args.append(i.get("type_required", True))
        out.append(Scored(*args))
    return out


def evaluate_point(rows: list[dict], ds: EvalSet, params: dict, ignore_type: bool = False) -> dict:
    from rag.answer import ExtractiveAnswerer

    answerer = ExtractiveAnswerer(None, None, lambda t: 1.0, **params)
    refused_no, refused_yes, contained, f1 = [], [], [], []
    for row, q in zip(rows, ds.questions):
        chosen = answerer.select(as_scored(row["scored"], ignore_type))
        if not q.answerable:
            refused_no.append(not chosen)
            continue
        refused_yes.append(not chosen)
        text = " ".join(s.sentence.text for s in chosen)
        contained.append(bool(chosen) and m.contains_answer(text, q.answers))
        f1.append(m.token_f1(text, q.answers) if chosen else 0.0)
    out = {**params, "ignore_type": ignore_type,
           "refusal_rate": m.mean(map(float, refused_no)), "false_refusal_rate": m.mean(map(float, refused_yes)),
           "containment": m.mean(map(float, contained)), "token_f1": m.mean(f1)}
    if out["refusal_rate"] is not None and out["false_refusal_rate"] is not None:
        out["balanced_accuracy"] = (out["refusal_rate"] + 1 - out["false_refusal_rate"]) / 2
    return out


def auroc(pos: list[float], neg: list[float]) -> float | None:
    """P(a random answerable question scores above a random unanswerable one); ties count half."""
    if not pos or not neg:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


SIGNALS = {
    "best score": lambda items: max((i["score"] for i in items), default=0.0),
    "best similarity": lambda items: max((i["similarity"] for i in items), default=0.0),
    "best coverage": lambda items: max((i["coverage"] for i in items), default=0.0),
    "best score, type-checked": lambda items: max(
        (i["score"] for i in items if i["typed_ok"] or not i.get("type_required", True)), default=0.0),
}


def signal_aurocs(rows: list[dict], ds: EvalSet) -> dict[str, float | None]:
    """How well each per-question signal separates answerable from unanswerable questions."""
    out = {}
    for name, fn in SIGNALS.items():
        pos = [fn(r["scored"]) for r, q in zip(rows, ds.questions) if q.answerable]
        neg = [fn(r["scored"]) for r, q in zip(rows, ds.questions) if not q.answerable]
        out[name] = auroc(pos, neg)
    return out


def grid_points() -> list[tuple[dict, bool]]:
    """One knob at a time around the defaults, plus the defaults without the answer-type check.

    "answer-type check off" marks every sentence as type-matching (neither gate nor preference).
    """
    points = [(dict(DEFAULTS), False), (dict(DEFAULTS), True)]
    for knob, values in GRID.items():
        points += [({**DEFAULTS, knob: v}, False) for v in values if v != DEFAULTS[knob]]
    points += [({**DEFAULTS, "min_score": s, "min_coverage": c}, False)
               for s in (0.40, 0.45, 0.50) for c in (0.35, 0.45)]
    points += [({**DEFAULTS, "min_score": s}, True) for s in (0.46, 0.50, 0.55)]
    points += [({**DEFAULTS, "min_similarity": s}, True) for s in (0.45, 0.55)]
    return points


def run(ds: EvalSet, settings: Settings, out_dir: Path, progress: bool = True, runner=None) -> dict:
    from evals.evaluate import tqdm_factory

    runner = runner or OursRunner(settings, ds)
    runner.ingest(tqdm_factory(progress))
    cfg = Config(f"sweep/{settings.retrieval}/k{settings.top_k}", retrieval=settings.retrieval,
                 top_k=settings.top_k)
    cache = ResultCache(out_dir / "results" / f"{cfg.slug}.jsonl", fingerprint(ds, cfg, settings, "sweep"))
    bar = tqdm_factory(progress)(len(ds.questions), "sweep scores")
    rows = run_cached(cache, ds.questions, lambda q: score_rows(runner, cfg, q), bar)
    return {"defaults": DEFAULTS, "points": [evaluate_point(rows, ds, p, t) for p, t in grid_points()],
            "auroc": signal_aurocs(rows, ds)}


def markdown(result: dict, title: str) -> str:
    lines = [f"# Extractive answerer threshold sweep: {title}", "",
             "One knob changed at a time from the defaults "
             + ", ".join(f"{k}={v}" for k, v in result["defaults"].items()) + ".", "",
             "| min_coverage | min_similarity | min_score | keep_ratio | answer-type check | refusal (unans.) "
             "| false refusal (ans.) | containment (ans.) | token F1 (ans.) | balanced acc. |",
             "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for p in result["points"]:
        lines.append(
            f"| {p['min_coverage']:.2f} | {p['min_similarity']:.2f} | {p['min_score']:.2f} | {p['keep_ratio']:.2f} "
            f"| {'off' if p['ignore_type'] else 'on'} | {_pct(p['refusal_rate'])} | {_pct(p['false_refusal_rate'])} "
            f"| {_f(p['containment'])} | {_f(p.get('token_f1'))} | {_f(p.get('balanced_accuracy'))} |")
    lines += ["", "AUROC of per-question signals, answerable vs unanswerable (0.5 = chance):", "",
              "| signal | AUROC |", "|---|---:|"]
    lines += [f"| {name} | {_f(v)} |" for name, v in result.get("auroc", {}).items()]
    return "\n".join(lines) + "\n"


def run_and_write(ds: EvalSet, settings: Settings, out_dir: Path, progress: bool = True) -> dict:
    result = run(ds, settings, out_dir, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "sweep.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out_dir / "sweep.md").write_text(markdown(result, ds.name), encoding="utf-8")
    return result


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"


