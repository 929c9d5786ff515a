"""Ingest stage: files or records → llama-index Documents → sentence-aware chunks → Chroma.

Built on llama-index's IngestionPipeline with a persisted docstore (content-hash dedupe,
upsert by stable id) and ChromaVectorStore. Chunk ids are stable: "<doc_id>#<n>".
Each chunk keeps source, title and its char span in the extracted source text.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import ConfigError, InputError
from rag.loaders import UnreadableFile, iter_files, load_file

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.settings import Settings
    from vectorstore.chroma import ChromaStore

log = logging.getLogger(__name__)

DOCS_PER_BATCH = 32
LOCK_NAME = ".ingest.lock"
LOCK_POLL_S = 0.5


@contextmanager
def ingest_lock(data_dir: Path, wait_s: float) -> Iterator[None]:
    """One writer per data dir across processes (fcntl.flock): wait up to wait_s, then fail."""
    import fcntl

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fh = open(data_dir / LOCK_NAME, "a+")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ConfigError(f"cannot write to the index in {data_dir}: {exc.strerror}") from exc
    with fh:
        deadline = time.monotonic() + wait_s
        warned = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise InputError(f"another process is writing to the index in {data_dir}; "
                                     f"gave up after {wait_s:g} s (try again when it is done)") from None
                if not warned:
                    log.warning("another process is writing to the index in %s; waiting up to %g s",
                                data_dir, wait_s)
                    warned = True
                time.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
META_KEYS = ["source", "title", "path", "start", "end", "injection"]


@dataclass(frozen=True)
class SourceRecord:
    """One document to index: an id, its extracted text, a title and where it came from."""

    doc_id: str
    text: str
    title: str
    source: str
    path: str = ""  # set for files, so --prune can tell when they disappear


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 3),
        }


def doc_id_for(path: Path) -> str:
    """Path relative to the working directory when inside it, else absolute; POSIX form."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def read_files(paths: Sequence[Path]) -> tuple[list[SourceRecord], list[tuple[str, str]]]:
    """Load every supported file; unreadable ones are skipped with a reason, never fatal."""
    try:
        files, skipped_paths = iter_files(list(paths))
    except FileNotFoundError as exc:
        raise InputError(f"no such file or folder: {exc}") from exc
    skipped = [(str(p), why) for p, why in skipped_paths]
    records = []
    for f in files:
        try:
            loaded = load_file(f)
        except UnreadableFile as exc:
            skipped.append((str(f), str(exc)))
            continue
        doc_id = doc_id_for(f)
        records.append(SourceRecord(doc_id, loaded.text, loaded.title, doc_id, path=str(f.resolve())))
    for path, why in skipped:
        log.warning("skipped %s: %s", path, why)
    return records, skipped


def _to_document(rec: SourceRecord):
    from llama_index.core import Document

    return Document(
        id_=rec.doc_id,
        text=rec.text,
        metadata={"source": rec.source, "title": rec.title, "path": rec.path},
        excluded_embed_metadata_keys=META_KEYS,
        excluded_llm_metadata_keys=META_KEYS,
    )


def make_splitter(settings: Settings, embedder: Embedder):
    """Sentence-aware chunks sized in the embedder's own tokens; ids "<doc_id>#<n>"."""
    from rag.llama_adapters import SpanSentenceSplitter

    return SpanSentenceSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        tokenizer=lambda text: [0] * embedder.count_tokens(text),
        include_metadata=True,  # all keys are excluded from the embedded text
        id_func=lambda i, doc: f"{doc.doc_id}#{i}",
    )


def chunk_records(settings: Settings, embedder: Embedder, records: Sequence[SourceRecord]):
    """The nodes ingest would write for these records (no embedding, no store)."""
    return make_splitter(settings, embedder)([_to_document(r) for r in records])


class Ingestor:
    """Writes SourceRecords into one Chroma collection through llama-index's pipeline."""

    def __init__(self, settings: Settings, embedder: Embedder, store: ChromaStore) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self._docstore = self._load_docstore()
        self._pipeline = self._build_pipeline()
        self.seen_mtime = self._docstore_mtime()

    def _docstore_mtime(self) -> int:
        path = self.settings.docstore_path
        return path.stat().st_mtime_ns if path.exists() else 0

    def stale(self) -> bool:
        """True when another process rewrote the docstore since this one read or wrote it."""
        return self._docstore_mtime() != self.seen_mtime

    def _load_docstore(self):
        from llama_index.core.storage.docstore import SimpleDocumentStore

        path = self.settings.docstore_path
        if path.exists():
            try:
                return SimpleDocumentStore.from_persist_path(str(path))
            except Exception:  # a killed write: rebuild from scratch, Chroma is re-synced below
                log.warning("docstore %s is unreadable; re-indexing everything", path)
        return SimpleDocumentStore()

    def _build_pipeline(self):
        from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline

        from rag.llama_adapters import BatchedChromaVectorStore, EmbedderAdapter, InjectionMarker

        splitter = make_splitter(self.settings, self.embedder)
        vector_store = BatchedChromaVectorStore(
            chroma_collection=self.store.collection, max_batch=self.store.max_batch_size()
        )
        return IngestionPipeline(
            transformations=[splitter, InjectionMarker(), EmbedderAdapter.wrap(self.embedder)],
            vector_store=vector_store,
            docstore=self._docstore,
            docstore_strategy=DocstoreStrategy.UPSERTS,
        )

    def ingest(
        self,
        records: Iterable[SourceRecord],
        progress: Callable[[int], None] | None = None,
    ) -> IngestReport:
        report = IngestReport()
        started = time.perf_counter()
        batch: list[SourceRecord] = []
        for rec in records:
            batch.append(rec)
            if len(batch) >= DOCS_PER_BATCH:
                self._run_batch(batch, report, progress)
                batch = []
        if batch:
            self._run_batch(batch, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def _run_batch(self, batch, report, progress) -> None:
        todo = []
        for rec in batch:
            doc = _to_document(rec)
            known = self._docstore.get_document_hash(rec.doc_id)
            if known == doc.hash:
                report.unchanged.append(rec.doc_id)
                continue
            if known is None:
                # not in the docstore: drop chunks a killed ingest may have left behind
                self.store.delete_doc(rec.doc_id)
                report.added.append(rec.doc_id)
            else:
                report.updated.append(rec.doc_id)
            todo.append(doc)
        if todo:
            nodes = self._pipeline.run(documents=todo)
            report.chunks_written += len(nodes)
            self._persist()
        if progress:
            progress(len(batch))

    def prune(self, keep: Callable[[str, dict], bool]) -> list[str]:
        """Delete every indexed document for which keep(doc_id, metadata) is False."""
        removed = []
        for doc_id in sorted(set(self._docstore.get_all_document_hashes().values())):
            doc = self._docstore.get_document(doc_id, raise_error=False)
            if doc is not None and keep(doc_id, doc.metadata):
                continue
            self.store.delete_doc(doc_id)
            self._docstore.delete_document(doc_id, raise_error=False)
            self._docstore.delete_ref_doc(doc_id, raise_error=False)
            removed.append(doc_id)
        if removed:
            self._persist()
        return removed

    def _persist(self) -> None:
        path = self.settings.docstore_path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        self._docstore.persist(str(tmp))
        os.replace(tmp, path)
        self.seen_mtime = self._docstore_mtime()


def file_still_exists(doc_id: str, metadata: dict) -> bool:
    """Prune rule for files: keep records that are not files, and files still on disk."""
    path = metadata.get("path")
    return not path or Path(path).exists()
