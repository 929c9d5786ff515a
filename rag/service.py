"""The one service the CLI, web chat and API share: ingest, ask, status.

Components (embedder, vector store, retriever, sentence analyser, answerer) are built
from one Settings object, lazily, and reused for every question.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import InputError
from rag.types import Answer, Event

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.ingest import IngestReport, SourceRecord
    from rag.settings import Settings

log = logging.getLogger(__name__)


def clean_question(question: str, max_chars: int) -> tuple[str, str | None]:
    """Strip; reject empty; truncate (with a notice) beyond max_chars."""
    if question is None or not question.strip():
        raise InputError("the question is empty")
    q = " ".join(question.split())
    if len(q) > max_chars:
        return q[:max_chars], f"question truncated from {len(q)} to {max_chars} characters"
    return q, None


class RagService:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        if embedder is not None:
            self.__dict__["embedder"] = embedder

    @cached_property
    def embedder(self) -> Embedder:
        from rag.embeddings import build_embedder

        return build_embedder(self.settings)

    @cached_property
    def store(self):
        from vectorstore import open_store

        return open_store(self.settings, self.embedder)

    @cached_property
    def retriever(self):
        from rag.retrieve import HybridRetriever

        return HybridRetriever(self.settings, self.embedder, self.store)

    @cached_property
    def analyzer(self):
        from rag.sentences import SentenceAnalyzer

        return SentenceAnalyzer()

    @cached_property
    def extractive(self):
        from rag.answer import ExtractiveAnswerer

        return ExtractiveAnswerer(
            self.embedder, self.analyzer, lambda t: self.retriever.bm25.idf(t),
            max_sentences=self.settings.max_answer_sentences,
        )

    @cached_property
    def ingestor(self):
        """One Ingestor (and one in-memory docstore) per service, loaded from disk once."""
        from rag.ingest import Ingestor

        return Ingestor(self.settings, self.embedder, self.store)

    @contextmanager
    def writing(self):
        """The data dir's ingest lock; the docstore re-read if another process changed it."""
        from rag.ingest import ingest_lock

        with ingest_lock(self.settings.data_dir, self.settings.ingest_lock_wait):
            if "ingestor" in self.__dict__ and self.ingestor.stale():
                log.info("docstore changed on disk (another process); reloading it")
                del self.__dict__["ingestor"]
            yield

    # --- ingest ---------------------------------------------------------------
    def ingest_records(self, records: Sequence[SourceRecord],
                       progress: Callable[[int], None] | None = None) -> IngestReport:
        with self.writing():
            report = self.ingestor.ingest(records, progress)
        self.retriever.refresh()
        return report

    def ingest_paths(self, paths: Sequence[Path], prune: bool = False,
                     progress_factory: Callable[[int], Callable[[int], None]] | None = None) -> IngestReport:
        from rag.ingest import file_still_exists, read_files

        records, skipped = read_files(paths)
        progress = progress_factory(len(records)) if progress_factory else None
        with self.writing():
            ingestor = self.ingestor
            report = ingestor.ingest(records, progress)
            report.skipped = skipped
            if prune:
                report.removed = ingestor.prune(file_still_exists)
        self.retriever.refresh()
        return report

    @cached_property
    def llm_pipeline(self):
        from rag.llm.pipeline import Pipeline

        return Pipeline(self)

    def stream(self, question: str, history=None, mode: str | None = None,
               top_k: int | None = None) -> Iterator[Event]:
        """Answer as a stream of `rag.types.Event`s, for chat UIs and APIs.

        Events, in order:
        - one `Event(type="retrieval", question=..., hits=[...])`: `question` is what was
          searched (a follow-up rewritten as a standalone question);
        - zero or more `Event(type="token", text=...)`: raw model output as it arrives
          (generative mode only; provisional: it may hold unsupported sentences);
        - one `Event(type="answer", answer=Answer)`: the final, verified answer with exact
          citations; show it in place of the streamed tokens.

        `history`: earlier turns, oldest first, as (question, answer) pairs or OpenAI-style
        {"role": "user" | "assistant", "content": ...} dicts; only the last
        settings.llm_history_turns are used. `mode`: extractive | generative | auto
        (default settings.mode). LLM failures never raise: the answer event then carries the
        extractive answer and a one-line `notice`. Raises InputError (empty question) and
        ConfigError (generative mode with no LLM configured) before the first event.
        """
        events = self.llm_pipeline.stream(question, history=history, mode=mode, top_k=top_k)
        first = next(events)  # validate input and mode eagerly, before the caller iterates
        return itertools.chain([first], events)

    # --- ask ------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None, history=None,
            mode: str | None = None) -> Answer:
        """One answer: the final event of `stream`. `mode` overrides settings.mode."""
        return self.llm_pipeline.ask(question, history=history, mode=mode, top_k=top_k)

    # --- documents ------------------------------------------------------------
    def list_documents(self) -> list[dict]:
        """One row per indexed document: doc_id, source, title, path, chunks, flagged
        (instruction-like sentences found at ingest, withheld from answers)."""
        docs: dict[str, dict] = {}
        for _, _, meta in self.store.iter_all():
            doc_id = meta.get("ref_doc_id") or meta.get("source", "")
            row = docs.setdefault(doc_id, {
                "doc_id": doc_id, "source": meta.get("source", doc_id),
                "title": meta.get("title", ""), "path": meta.get("path", ""), "chunks": 0,
                "flagged": 0,
            })
            row["chunks"] += 1
            row["flagged"] += int(meta.get("injection") or 0)  # rag/injection.py, set at ingest
        return sorted(docs.values(), key=lambda row: row["doc_id"])

    def delete_document(self, doc_id: str) -> bool:
        """Remove one document from Chroma and the docstore; False if it was not indexed."""
        known = any(row["doc_id"] == doc_id for row in self.list_documents())
        with self.writing():
            removed = self.ingestor.prune(lambda other, _meta: other != doc_id)
            self.store.delete_doc(doc_id)  # chunks a killed ingest left outside the docstore
        self.retriever.refresh()
        return known or bool(removed)

    def reindex_document(self, doc_id: str) -> IngestReport:
        """Drop one file's chunks and index the file again from its path."""
        row = next((r for r in self.list_documents() if r["doc_id"] == doc_id), None)
        if row is None:
            raise InputError(f"not indexed: {doc_id}")
        path = Path(row["path"]) if row["path"] else None
        if path is None or not path.is_file():
            raise InputError(f"the file behind {doc_id} is gone; delete it instead")
        self.delete_document(doc_id)
        return self.ingest_paths([path])

    # --- status ---------------------------------------------------------------
    def status(self) -> dict:
        store = self.store
        return {
            "data_dir": str(self.settings.data_dir.resolve()),
            "collection": self.settings.collection,
            "documents": len(self.list_documents()),
            "chunks": store.count(),
            "embedder": store.embedder_name,
            "dimension": store.dimension,
        }
