"""Evaluation sets: the seed golden set and any folder in the evaldata shape.

evaldata shape: documents.jsonl {id, title, text, source} and questions.jsonl
{id, question, answers, gold_doc_ids, answerable}. Read in place, never copied.

Real-document shape (evals/datasets/realdocs_*): files/ (real .txt/.md/.html/.pdf files, read
through rag.ingest.read_files, so PDFs go through the PDF loader) and questions.jsonl
{id, question, answerable, kind, doc, answers, answer_match, gold_passage}, or a dataset.json
{"questions": "<path relative to the folder>"} to share another set's questions (the *_pdf twins).
`doc` is a file stem; `gold_passage` is located in that file's extracted text (see goldspan).
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
DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
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
    gold_passage: str = ""
    gold_spans: tuple[tuple[str, int, int], ...] = ()  # (doc_id, start, end) in the extracted text
    answer_match: str = "any"  # "all": a list answer must hold every gold string


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


def resolve_realdocs(name: str) -> Path | None:
    """A real-document set: a folder (path, or name under evals/datasets) holding files/."""
    for candidate in (Path(name), DATASETS_DIR / name):
        if (candidate / "files").is_dir() and _questions_path(candidate).is_file():
            return candidate.resolve()
    return None


def resolve_dataset(name: str) -> Path:
    """A folder with documents.jsonl + questions.jsonl, given as a path or a set name."""
    for candidate in (Path(name), evaldata_dir() / name):
        if (candidate / "documents.jsonl").is_file() and (candidate / "questions.jsonl").is_file():
            return candidate.resolve()
    raise InputError(
        f"no evaluation set '{name}': give 'seed', a set under evals/datasets (e.g. realdocs_dev), "
        f"a folder with documents.jsonl and questions.jsonl, or a set name under {evaldata_dir()} "
        f"(RAG_EVALDATA_DIR)"
    )


def load_evaldata(folder: Path) -> EvalSet:
    docs_path, q_path = folder / "documents.jsonl", folder / "questions.jsonl"
    records = [
        SourceRecord(str(d["id"]), d["text"], d.get("title") or "", d.get("source") or str(d["id"]))
        for d in read_jsonl(docs_path)
    ]
    questions = [_question(row, []) for row in read_jsonl(q_path)]
    return EvalSet(folder.name, str(folder), records, questions, file_hash(docs_path, q_path))


def _questions_path(folder: Path) -> Path:
    meta = folder / "dataset.json"
    if meta.is_file():
        return (folder / json.loads(meta.read_text(encoding="utf-8"))["questions"]).resolve()
    return folder / "questions.jsonl"


def load_realdocs(folder: Path) -> EvalSet:
    """files/ through the product's loaders; gold passages located in the extracted texts."""
    from dataclasses import replace

    from evals.goldspan import locate
    from rag.ingest import read_files

    loaded, skipped = read_files([folder / "files"])
    if skipped:
        raise InputError(f"{folder.name}: unreadable files: {skipped}")
    records = [replace(r, doc_id=f"{folder.name}/{Path(r.path).name}", source=f"{folder.name}/{Path(r.path).name}")
               for r in loaded]
    by_stem = {Path(r.doc_id).stem: r for r in records}
    q_path = _questions_path(folder)
    questions, missing = [], []
    for row in read_jsonl(q_path):
        q = _question(row, [])
        rec = by_stem.get(row.get("doc") or "")
        if q.answerable:
            if rec is None:
                raise InputError(f"{folder.name}: question {q.id}: no document with stem {row.get('doc')!r}")
            spans = tuple((rec.doc_id, s, e) for s, e in locate(rec.text, row["gold_passage"]))
            if not spans:
                missing.append(q.id)
            q = replace(q, gold_doc_ids=[rec.doc_id], gold_passage=row["gold_passage"], gold_spans=spans,
                        answer_match=row.get("answer_match") or "any")
        questions.append(q)
    if missing:
        raise InputError(f"{folder.name}: gold passage not found in the extracted text for {missing}")
    files = sorted((folder / "files").iterdir())
    return EvalSet(folder.name, str(folder), records, questions, file_hash(q_path, *files))


def load_dataset(name: str) -> EvalSet:
    if name == "seed":
        return load_seed()
    realdocs = resolve_realdocs(name)
    return load_realdocs(realdocs) if realdocs else load_evaldata(resolve_dataset(name))


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
