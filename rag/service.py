"""The one service the CLI, web chat and API share: ingest, ask, status.

Components (embedder, vector store, retriever, sentence analyser, answerer) are built
from one Settings object, lazily, and reused for every question.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import InputError
from rag.types import Answer

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

    # --- ingest ---------------------------------------------------------------
    def ingest_records(self, records: Sequence[SourceRecord],
                       progress: Callable[[int], None] | None = None) -> IngestReport:
        from rag.ingest import Ingestor

        report = Ingestor(self.settings, self.embedder, self.store).ingest(records, progress)
        self.retriever.refresh()
        return report

    def ingest_paths(self, paths: Sequence[Path], prune: bool = False,
                     progress_factory: Callable[[int], Callable[[int], None]] | None = None) -> IngestReport:
        from rag.ingest import Ingestor, file_still_exists, read_files

        records, skipped = read_files(paths)
        ingestor = Ingestor(self.settings, self.embedder, self.store)
        progress = progress_factory(len(records)) if progress_factory else None
        report = ingestor.ingest(records, progress)
        report.skipped = skipped
        if prune:
            report.removed = ingestor.prune(file_still_exists)
        self.retriever.refresh()
        return report

    # --- ask ------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None) -> Answer:
        q, notice = clean_question(question, self.settings.max_question_chars)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        qvec = self.embedder.embed([q])[0]
        t1 = time.perf_counter()
        hits = self.retriever.retrieve(q, top_k=top_k, query_vec=qvec)
        t2 = time.perf_counter()
        answer = self.extractive.run(q, hits, qvec)
        t3 = time.perf_counter()
        timings.update(embed=(t1 - t0) * 1e3, retrieve=(t2 - t1) * 1e3, answer=(t3 - t2) * 1e3,
                       total=(t3 - t0) * 1e3)
        answer.timings_ms = timings
        answer.notice = notice
        return answer

    # --- status ---------------------------------------------------------------
    def status(self) -> dict:
        store = self.store
        doc_ids = {m.get("ref_doc_id") for _, _, m in store.iter_all()}
        return {
            "data_dir": str(self.settings.data_dir.resolve()),
            "collection": self.settings.collection,
            "documents": len(doc_ids),
            "chunks": store.count(),
            "embedder": store.embedder_name,
            "dimension": store.dimension,
        }
