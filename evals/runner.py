"""Run one configuration of our pipeline over an evaluation set, with a resumable cache.

Each question's raw outcome (answer text, refusal, citations, retrieved doc ids, latency)
is appended to <out>/results/<config>.jsonl as soon as it is known; a rerun with the same
fingerprint (data, selection, configuration, settings, code) only runs what is missing.
Scores are computed afterwards from these rows (evals.score).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evals.data import ROOT, EvalQuestion, EvalSet
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.service import RagService
    from rag.settings import Settings

log = logging.getLogger(__name__)

RETRIEVAL_DEPTH = 20  # chunks retrieved for hit@k / MRR / nDCG (ranked distinct docs, cut at 10)
# code behind each pipeline's answers: a change here invalidates its cached per-question results
CODE_PATHS = {
    "ours": ("rag/answer.py", "rag/slots.py", "rag/discourse.py", "rag/structure.py", "rag/pdf_render.py",
             "rag/retrieve.py", "rag/sentences.py", "rag/text.py", "rag/embeddings.py",
             "rag/ingest.py", "rag/llama_adapters.py", "rag/service.py", "rag/pipeline.py", "vectorstore",
             "evals/runner.py"),
    "baseline": ("rag/embeddings.py", "rag/llama_adapters.py", "evals/baseline.py", "evals/llama_llm.py"),
}
LLM_PATHS = ("rag/llm",)  # only for our generative answers and multi-turn questions


class Unavailable(Exception):
    """A configuration that cannot run here (e.g. generative mode without an LLM)."""


@dataclass(frozen=True)
class Config:
    """One column of the report."""

    name: str
    pipeline: str = "ours"  # ours | baseline
    retrieval: str = "hybrid"
    top_k: int = 5
    mode: str = "extractive"

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.name).strip("-")


def code_fingerprint(pipeline: str = "ours", with_llm: bool = False) -> str:
    h = hashlib.sha256()
    for name in CODE_PATHS[pipeline] + (LLM_PATHS if with_llm else ()):
        path = ROOT / name
        for p in sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []:
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def collection_name(prefix: str, ds: EvalSet, settings: Settings, embedder_name: str) -> str:
    """A Chroma collection per (corpus, chunking, embedder): "<prefix>-<name>-<hash>"."""
    key = f"{ds.corpus_hash}|{settings.chunk_size}|{settings.chunk_overlap}|{embedder_name}"
    if settings.sentence_vectors != "standalone":  # other chunk vectors (standalone keeps its name)
        key += f"|{settings.sentence_vectors}"
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", ds.name)[:40]
    return f"{prefix}-{name}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


# --- the cache -------------------------------------------------------------------------
class ResultCache:
    """<dir>/<slug>.jsonl: a header line with the fingerprint, then one row per question."""

    def __init__(self, path: Path, fingerprint: str, fresh: bool = False) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.rows: dict[str, dict] = {} if fresh else self._load()
        if not self.rows:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"fingerprint": fingerprint}) + "\n", encoding="utf-8")

    def _load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            return {}
        if header.get("fingerprint") != self.fingerprint:
            log.info("cache %s is stale; rerunning", self.path)
            return {}
        rows = {}
        for line in lines[1:]:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a killed write: that question runs again
                continue
            rows[row["id"]] = row
        return rows

    def add(self, row: dict) -> None:
        self.rows[row["id"]] = row
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def run_cached(cache: ResultCache, questions: list[EvalQuestion], answer: Callable[[EvalQuestion], dict],
               progress: Callable[[int], None] | None = None) -> list[dict]:
    """Answer every question not already cached; rows in question order."""
    for q in questions:
        if q.id not in cache.rows:
            cache.add(answer(q))
        if progress:
            progress(1)
    return [cache.rows[q.id] for q in questions]


# --- our pipeline ----------------------------------------------------------------------
def doc_of(chunk_id: str) -> str:
    return chunk_id.rsplit("#", 1)[0]


def citation_rows(citations: Iterable, texts: dict[str, str]) -> list[dict]:
    rows = []
    for c in citations:
        doc_id = doc_of(c.chunk_id)
        text = texts.get(doc_id)
        rows.append({"doc_id": doc_id, "start": c.start, "end": c.end, "quote": c.quote,
                     "exact": text is not None and text[c.start:c.end] == c.quote})
    return rows


def generative_unavailable(svc: RagService) -> str | None:
    """Why generative mode cannot run here, or None when it can."""
    if "mode" not in inspect.signature(svc.ask).parameters:
        return "RagService.ask has no `mode` parameter yet (the LLM answer path is not merged)"
    s = svc.settings
    if not (s.llm_base_url or s.llm_api_key):
        return "no LLM endpoint configured (RAG_LLM_BASE_URL / RAG_LLM_API_KEY)"
    return None


class OursRunner:
    """Our RagService over a dedicated collection under the data dir."""

    def __init__(self, settings: Settings, ds: EvalSet, embedder=None) -> None:
        from rag.embeddings import build_embedder

        self.base = settings
        self.ds = ds
        self.texts = ds.texts
        self.embedder = embedder or build_embedder(settings)
        self.collection = collection_name("eval", ds, settings, self.embedder.name)
        self._services: dict[tuple[str, str], RagService] = {}

    def service(self, cfg: Config) -> RagService:
        from rag.service import RagService

        key = (cfg.retrieval, cfg.mode)
        if key not in self._services:
            s = self.base.model_copy(update={"collection": self.collection, "retrieval": cfg.retrieval,
                                             "mode": cfg.mode, "top_k": cfg.top_k})
            self._services[key] = RagService(s, embedder=self.embedder)
        return self._services[key]

    def ingest(self, progress_factory=None) -> dict:
        svc = self.service(Config("ingest"))
        progress = progress_factory(len(self.ds.records), "ingest") if progress_factory else None
        report = svc.ingest_records(self.ds.records, progress)
        log.info("ingest into %s: %d added, %d unchanged, %d chunks in %.1f s", self.collection,
                 len(report.added), len(report.unchanged), report.chunks_written, report.seconds)
        return {"collection": self.collection, "added": len(report.added), "updated": len(report.updated),
                "unchanged": len(report.unchanged), "chunks_written": report.chunks_written,
                "seconds": round(report.seconds, 2), "chunks": svc.store.count()}

    def check(self, cfg: Config) -> None:
        if cfg.mode == "generative":
            why = generative_unavailable(self.service(cfg))
            if why:
                raise Unavailable(why)

    def answer(self, cfg: Config, q: EvalQuestion) -> dict:
        svc = self.service(cfg)
        row = base_row(q)
        t0 = time.perf_counter()
        try:
            answer = svc.ask(q.question, **self._ask_kwargs(svc, cfg, q))
        except RagError as exc:
            row.update(error=f"{type(exc).__name__}: {exc}", refused=True, latency_ms=_ms(t0))
            return row
        row["latency_ms"] = _ms(t0)
        row.update(answer=answer.text, refused=answer.refused, mode=answer.mode,
                   citations=citation_rows(answer.citations, self.texts),
                   context_doc_ids=[h.chunk.doc_id for h in answer.hits])
        if answer.llm:  # generative: what the model did (issue 13's eval columns)
            row["llm"] = {k: answer.llm.get(k) for k in ("called", "raw", "removed", "fixed", "prompt_tokens",
                                                          "prompt_evaluated", "generated_tokens",
                                                          "kept_extractive", "verified_text")}
            # why each generated sentence was dropped ("" when kept): rules can be re-scored offline
            row["llm"]["reasons"] = [s.reason for s in answer.sentences]
            row["llm"]["first_token_ms"] = answer.timings_ms.get("first_token")
            row["notice"] = answer.notice
        hits = svc.retriever.retrieve(q.question, top_k=RETRIEVAL_DEPTH)
        row["ranked_doc_ids"] = [h.chunk.doc_id for h in hits]
        return row

    @staticmethod
    def _ask_kwargs(svc: RagService, cfg: Config, q: EvalQuestion) -> dict:
        params = inspect.signature(svc.ask).parameters
        kwargs: dict = {"top_k": cfg.top_k}
        if "mode" in params:
            kwargs["mode"] = cfg.mode
        if q.history and "history" in params:
            kwargs["history"] = q.history
        return kwargs


def base_row(q: EvalQuestion) -> dict:
    return {"id": q.id, "answer": "", "refused": False, "citations": [], "context_doc_ids": [],
            "ranked_doc_ids": [], "latency_ms": None, "error": None}


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1e3, 2)


def fingerprint(ds: EvalSet, cfg: Config, settings: Settings, extra: str = "") -> str:
    keys = ("chunk_size", "chunk_overlap", "embedder", "rrf_k", "fusion", "fusion_alpha", "fusion_depth", "sentence_vectors", "dense_sentence_weight", "max_answer_sentences", "llm_model",
            "llm_base_url", "llm_temperature", "llm_max_tokens")
    payload = {"data": ds.sha256, "selection": ds.selection, "config": asdict(cfg),
               "settings": {k: str(getattr(settings, k, None)) for k in keys},
               "code": code_fingerprint(cfg.pipeline, cfg.pipeline == "ours" and (
                   cfg.mode == "generative" or any(q.history for q in ds.questions))),
               "extra": extra}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
