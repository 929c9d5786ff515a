"""The one service the CLI, web chat and API share: ingest, ask, status.

Components (embedder, vector store, retriever, sentence analyser, answerer) are built
from one Settings object, lazily, and reused for every question.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import InputError
from rag.pipeline import clean_question  # noqa: F401 - re-exported for callers
from rag.types import Answer, Event, Hit

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.ingest import ChunkProgress, IngestReport, SourceRecord
    from rag.llm.backend import LocalLLM
    from rag.pipeline import AnswerPipeline
    from rag.settings import Settings

log = logging.getLogger(__name__)


def _prepend(first: Event, rest: Iterator[Event]) -> Iterator[Event]:
    """first, then rest; close() reaches the pipeline (and its LLM stream), unlike a chain."""
    yield first
    yield from rest


class RagService:
    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 local_llm: LocalLLM | None = None) -> None:
        """`local_llm`: a managed local model server (rag.llm.managed); default: one that
        `rag serve` runs for the same data dir, if any (never started from here)."""
        self.settings = settings
        if embedder is not None:
            self.__dict__["embedder"] = embedder
        self._local_llm = local_llm
        self._content_checked: set[str] = set()  # doc ids whose missing content hash was looked for

    @cached_property
    def embedder(self) -> Embedder:
        from rag.embeddings import build_embedder

        return build_embedder(self.settings)

    @cached_property
    def store(self):
        from vectorstore import open_store

        return open_store(self.settings, self.embedder)

    @cached_property
    def index_db(self):
        """The SQLite file beside Chroma: lexical index, catalogue, stored sentences."""
        from rag.catalog import migrate_legacy, open_index_db

        db = open_index_db(self.settings)
        migrate_legacy(self.settings, self.store, db)
        return db

    @cached_property
    def catalog(self):
        from rag.catalog import Catalog

        return Catalog(self.index_db)

    @cached_property
    def lexical(self):
        from rag.lexical import LexicalIndex

        return LexicalIndex(self.index_db)

    @cached_property
    def retriever(self):
        from rag.retrieve import HybridRetriever
        from rag.sentence_store import SqliteSentenceStore

        return HybridRetriever(self.settings, self.embedder, self.store, self.lexical,
                               SqliteSentenceStore(self.index_db))

    @cached_property
    def analyzer(self):
        from rag.sentences import SentenceAnalyzer

        return SentenceAnalyzer()

    @cached_property
    def extractive(self):
        from rag.answer import ExtractiveAnswerer

        from rag.sentence_store import SqliteSentenceStore

        return ExtractiveAnswerer(
            self.embedder, self.analyzer, lambda t: self.retriever.bm25.idf(t),
            max_sentences=self.settings.max_answer_sentences,
            stored=SqliteSentenceStore(self.index_db),
        )

    @cached_property
    def ingestor(self):
        """One Ingestor per service; its state is the SQLite catalogue, shared by processes."""
        from rag.ingest import Ingestor

        return Ingestor(self.settings, self.embedder, self.store, self.index_db, self.analyzer)

    @contextmanager
    def writing(self):
        """The data dir's ingest lock (the catalogue itself is shared through SQLite)."""
        from rag.ingest import ingest_lock

        with ingest_lock(self.settings.data_dir, self.settings.ingest_lock_wait):
            yield

    def recover(self) -> list[str]:
        """Delete every trace of documents a killed write left half-done (pending catalogue
        rows: chunks in Chroma, not committed to the catalogue); their ids. Every ingest
        does this first; `rag serve` does it at start-up, so a killed upload is not
        retrievable in between."""
        if not self.catalog.pending():
            return []
        with self.writing():
            return self.ingestor.recover()

    # --- ingest ---------------------------------------------------------------
    def ingest_records(self, records: Sequence[SourceRecord],
                       progress: Callable[[int], None] | None = None,
                       chunk_progress: ChunkProgress | None = None) -> IngestReport:
        with self.writing():
            report = self.ingestor.ingest(records, progress, chunk_progress)
        self.retriever.refresh()
        return report

    def ingest_paths(self, paths: Sequence[Path], prune: bool = False,
                     progress_factory: Callable[[int], Callable[[int], None]] | None = None,
                     chunk_progress: ChunkProgress | None = None) -> IngestReport:
        """`progress_factory(n_files)` → a callback told of each batch of files done;
        `chunk_progress(done, total)`: chunks embedded within the current batch."""
        from rag.ingest import file_still_exists, iter_records, list_files

        files, skipped = list_files(paths)
        progress = progress_factory(len(files)) if progress_factory else None
        with self.writing():
            ingestor = self.ingestor
            report = ingestor.ingest(iter_records(files, skipped), progress, chunk_progress)
            report.skipped = skipped
            if prune:
                report.removed = ingestor.prune(file_still_exists)
        self.retriever.refresh()
        return report

    @cached_property
    def local_llm(self) -> LocalLLM | None:
        if self._local_llm is not None:
            return self._local_llm
        from rag.llm.managed import discover

        return discover(self.settings)

    @cached_property
    def llm(self):
        """The generative backend (imports no LLM library until it is used)."""
        from rag.llm.backend import LLMBackend

        return LLMBackend(self.settings, self.embedder, self.analyzer,
                          lambda t: self.retriever.bm25.idf(t), local=self.local_llm)

    @cached_property
    def pipeline(self) -> AnswerPipeline:
        from rag.pipeline import AnswerPipeline

        return AnswerPipeline(self.settings, self.embedder, self.retriever, self.extractive,
                              self.analyzer, generator=self.llm)

    def stream(self, question: str, history=None, mode: str | None = None,
               top_k: int | None = None) -> Iterator[Event]:
        """Answer as a stream of `rag.types.Event`s, for chat UIs and APIs.

        Events, in order:
        - one `Event(type="retrieval", question=..., hits=[...])`: `question` is what was
          searched (a follow-up rewritten as a standalone question);
        - generative mode, when the refusal gate passes: one `Event(type="provisional",
          answer=Answer)`, the extractive answer with exact citations, before any LLM work:
          show it at once, marked provisional; it is the answer to keep if the user stops
          the generation (a gate refusal skips this: the answer event follows, final);
        - zero or more `Event(type="token", text=...)`: raw model output as it arrives
          (generative mode only; provisional: it may hold unsupported sentences);
        - one `Event(type="answer", answer=Answer)`: the final, verified answer with exact
          citations; show it in place of the provisional answer and the streamed tokens.

        `history`: earlier turns, oldest first, as (question, answer) pairs or OpenAI-style
        {"role": "user" | "assistant", "content": ...} dicts; only the last
        settings.llm_history_turns are used. `mode`: extractive | generative | auto
        (default settings.mode). LLM failures never raise: the answer event then carries the
        extractive answer and a one-line `notice` (so does a local model still loading).
        Raises InputError (empty question) and ConfigError (generative mode with no LLM
        configured) before the first event.
        """
        events = self.pipeline.stream(question, history=history, mode=mode, top_k=top_k)
        first = next(events)  # validate input and mode eagerly, before the caller iterates
        return _prepend(first, events)

    def retrieve(self, question: str, top_k: int | None = None) -> list[Hit]:
        """Ranked chunks for a question, no answer (InputError when it is empty)."""
        q, _ = clean_question(question, self.settings.max_question_chars)
        return self.retriever.retrieve(q, top_k=top_k)

    # --- ask ------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None, history=None,
            mode: str | None = None) -> Answer:
        """One answer: the final event of `stream`. `mode` overrides settings.mode."""
        return self.pipeline.ask(question, history=history, mode=mode, top_k=top_k)

    # --- documents ------------------------------------------------------------
    def list_documents(self) -> list[dict]:
        """One row per indexed document (doc_id, source, title, path, chunks, ingested_at,
        flagged: instruction-like sentences found at ingest, withheld from answers), from the
        catalogue: O(documents), no chunk is read."""
        return [row.to_dict() for row in self.catalog.rows()]

    def documents_with_content(self, content_hash: str) -> list[str]:
        """Indexed documents whose file had exactly these bytes (sha256 of the file), e.g.
        the same file under another name. Documents indexed before content hashes were kept
        get theirs from their file, if it is unchanged since it was indexed."""
        self._backfill_content_hashes()
        return self.catalog.with_content(content_hash)

    def _backfill_content_hashes(self) -> None:
        """Each old row once per service: its hash is stored when its file is unchanged; a
        file gone or changed since is remembered, not looked at again on every upload."""
        from rag.ingest import file_sha256

        for doc_id, path, ingested_at in self.catalog.missing_content_hashes():
            if doc_id in self._content_checked:
                continue
            self._content_checked.add(doc_id)
            file = Path(path)
            if file.is_file() and file.stat().st_mtime <= ingested_at:
                self.catalog.set_content_hash(doc_id, file_sha256(file))

    def delete_document(self, doc_id: str) -> bool:
        """Remove one document from Chroma, the lexical index and the catalogue;
        False if it was not indexed."""
        known = self.catalog.get(doc_id) is not None
        with self.writing():
            self.ingestor.delete([doc_id])  # also chunks a killed ingest left outside the catalogue
        return known

    def reindex_document(self, doc_id: str) -> IngestReport:
        """Drop one file's chunks and index the file again from its path."""
        row = self.catalog.get(doc_id)
        if row is None or row.pending:
            raise InputError(f"not indexed: {doc_id}")
        path = Path(row.path) if row.path else None
        if path is None or not path.is_file():
            raise InputError(f"the file behind {doc_id} is gone; delete it instead")
        self.delete_document(doc_id)
        return self.ingest_paths([path])

    # --- status ---------------------------------------------------------------
    def status(self) -> dict:
        store = self.store
        documents, _chunks = self.catalog.count()
        return {
            "data_dir": str(self.settings.data_dir.resolve()),
            "collection": self.settings.collection,
            "documents": documents,
            "chunks": store.count(),
            "embedder": store.embedder_name,
            "dimension": store.dimension,
        }
