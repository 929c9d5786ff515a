"""Evaluation sets: the seed golden set and any folder in the evaldata shape.

evaldata shape: documents.jsonl {id, title, text, source} and questions.jsonl
{id, question, answers, gold_doc_ids, answerable}. Read in place, never copied.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError
from rag.ingest import SourceRecord

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SEED_QUESTIONS = Path(__file__).resolve().parent / "datasets" / "seed.jsonl"
SEEDS_DIR = ROOT / "seeds"
DEFAULT_EVALDATA = "../shared/evaldata"


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answerable: bool
    answers: list[str]
    gold_doc_ids: list[str]
    kind: str = ""
    must_cite: str = ""
    history: list[dict] = field(default_factory=list)
    context_doc_id: str = ""


@dataclass
class EvalSet:
    name: str
    source: str
    records: list[SourceRecord]
    questions: list[EvalQuestion]
    sha256: str
    selection: dict = field(default_factory=dict)

    @property
    def texts(self) -> dict[str, str]:
        return {r.doc_id: r.text for r in self.records}

    @property
    def corpus_hash(self) -> str:
        h = hashlib.sha256()
        for r in self.records:
            h.update(r.doc_id.encode() + b"\0" + r.text.encode() + b"\0")
        return h.hexdigest()


def evaldata_dir() -> Path:
    """$RAG_EVALDATA_DIR, default ../shared/evaldata relative to the repository root."""
    raw = os.environ.get("RAG_EVALDATA_DIR") or DEFAULT_EVALDATA
    path = Path(raw)
    return path if path.is_absolute() else (ROOT / path).resolve()


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def file_hash(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def _question(row: dict, default_gold: list[str]) -> EvalQuestion:
    answerable = bool(row["answerable"])
    gold = row.get("gold_doc_ids") or (default_gold if answerable else [])
    return EvalQuestion(
        id=str(row["id"]), question=row["question"], answerable=answerable,
        answers=list(row.get("answers") or []), gold_doc_ids=list(gold),
        kind=row.get("kind") or ("answerable" if answerable else "unanswerable"),
        must_cite=row.get("must_cite") or "", history=list(row.get("history") or []),
        context_doc_id=row.get("context_doc_id") or "",
    )


def load_seed(questions_path: Path = SEED_QUESTIONS, seeds_dir: Path = SEEDS_DIR) -> EvalSet:
    """The hand-written golden set over seeds/; gold doc = every seed file."""
    from rag.loaders import load_file

    files = sorted(p for p in seeds_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    records = []
    for f in files:
        loaded = load_file(f)
        doc_id = f"seeds/{f.name}"
        records.append(SourceRecord(doc_id, loaded.text, loaded.title, doc_id))
    gold = [r.doc_id for r in records]
    questions = [_question(row, gold) for row in read_jsonl(questions_path)]
    return EvalSet("seed", str(questions_path), records, questions, file_hash(questions_path, *files))


def resolve_dataset(name: str) -> Path:
    """A folder with documents.jsonl + questions.jsonl, given as a path or a set name."""
    for candidate in (Path(name), evaldata_dir() / name):
        if (candidate / "documents.jsonl").is_file() and (candidate / "questions.jsonl").is_file():
            return candidate.resolve()
    raise InputError(
        f"no evaluation set '{name}': give 'seed', a folder with documents.jsonl and "
        f"questions.jsonl, or a set name under {evaldata_dir()} (RAG_EVALDATA_DIR)"
    )


def load_evaldata(folder: Path) -> EvalSet:
    docs_path, q_path = folder / "documents.jsonl", folder / "questions.jsonl"
    records = [
        SourceRecord(str(d["id"]), d["text"], d.get("title") or "", d.get("source") or str(d["id"]))
        for d in read_jsonl(docs_path)
    ]
    questions = [_question(row, []) for row in read_jsonl(q_path)]
    return EvalSet(folder.name, str(folder), records, questions, file_hash(docs_path, q_path))


def load_dataset(name: str) -> EvalSet:
    return load_seed() if name == "seed" else load_evaldata(resolve_dataset(name))


def select(ds: EvalSet, limit: int | None = None, scope: str = "all") -> EvalSet:
    """Fix the questions (balanced limit) and the corpus (all, or the questions' titles).

    --limit N takes the first N/2 answerable and the first N/2 unanswerable questions in
    file order (topped up from the other kind when one runs short), so a limited run still
    measures refusals. scope="titles" keeps only documents sharing a title with a selected
    question's gold or context document (for SQuAD: the same Wikipedia articles).
    """
    questions = _balanced(ds.questions, limit) if limit else list(ds.questions)
    records = ds.records
    if scope == "titles":
        titles = {r.doc_id: r.title for r in ds.records}
        keep = {titles.get(d) for q in questions for d in [*q.gold_doc_ids, q.context_doc_id] if d}
        records = [r for r in ds.records if r.title in keep]
    selection = {"limit": limit, "scope": scope, "questions": len(questions), "documents": len(records)}
    return EvalSet(ds.name, ds.source, records, questions, ds.sha256, selection)


def _balanced(questions: list[EvalQuestion], limit: int) -> list[EvalQuestion]:
    yes = [q for q in questions if q.answerable]
    no = [q for q in questions if not q.answerable]
    n_no = min(len(no), limit // 2)
    n_yes = min(len(yes), limit - n_no)
    n_no = min(len(no), limit - n_yes)
    chosen = {q.id for q in yes[:n_yes] + no[:n_no]}
    return [q for q in questions if q.id in chosen]
