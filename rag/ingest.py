"""Ingest stage: files or records → llama-index Documents → section-aware chunks → Chroma.

Built on llama-index's pieces (a section-aware splitter, IngestionPipeline into
ChromaVectorStore); content-hash dedupe and the list of documents live in the SQLite
catalogue (rag/catalog.py), written in the same transaction as the lexical index
(rag/lexical.py), once per batch. Chunk ids are stable: "<doc_id>#<n>".
Each chunk keeps source, title and its char span in the extracted source text, plus its
section (heading path), page (PDF) and block structure (rag.structure); title and section are
part of the embedded text, never of the chunk's own (quoted) text.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.errors import ConfigError, InputError
from rag.loaders import UnreadableFile, iter_files, load_file
from rag.types import Chunk

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.lexical import IndexDB
    from rag.sentences import SentenceAnalyzer
    from rag.settings import Settings
    from vectorstore.chroma import ChromaStore

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 120
META_KEYS = ["source", "title", "path", "start", "end", "section", "page", "blocks", "injection"]
# title and section go into the embedded text (rag.structure.index_text's layout), never the rest
EMBED_KEYS = ["title", "section"]
LOCK_NAME = ".ingest.lock"
LOCK_POLL_S = 0.5
# tests only: while this file exists, every batch after the first waits between its Chroma write
# and its catalogue commit (a kill -9 there is then certain, not a race with a fast machine)
HOLD_COMMIT_ENV = "RAG_TEST_HOLD_COMMIT"
HOLD_POLL_S = 0.05
EMBED_STEP = 64  # texts (chunks, then their distinct sentences) embedded between two progress reports


class ChunkProgress(Protocol):
    """Called after each step of EMBED_STEP texts embedded for the current batch of documents
    (one file ingested alone = one batch): `done` of `total` texts, the batch's chunks and
    their distinct sentences (spaCy has analysed them already, in the parsing thread)."""

    def __call__(self, done: int, total: int) -> None: ...


def file_sha256(path: Path) -> str:
    """The hash of a file's bytes (the catalogue's content_hash: same bytes, same hash)."""
    import hashlib

    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


@dataclass(frozen=True)
class SourceRecord:
    """One document to index: an id, its extracted text, a title and where it came from."""

    doc_id: str
    text: str
    title: str
    source: str
    path: str = ""  # set for files, so --prune can tell when they disappear
    content_hash: str = ""  # sha256 of a file's bytes (duplicates under another name)


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


def list_files(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The supported files under paths (paths only: contents are read one at a time)."""
    try:
        files, skipped_paths = iter_files(list(paths))
    except FileNotFoundError as exc:
        raise InputError(f"no such file or folder: {exc}") from exc
    skipped = [(str(p), why) for p, why in skipped_paths]
    for path, why in skipped:
        log.warning("skipped %s: %s", path, why)
    return files, skipped


def iter_records(files: Iterable[Path], skipped: list[tuple[str, str]]) -> Iterator[SourceRecord]:
    """Load files lazily; unreadable ones are appended to `skipped` with a reason, never fatal."""
    for f in files:
        try:
            loaded = load_file(f)
        except UnreadableFile as exc:
            log.warning("skipped %s: %s", f, exc)
            skipped.append((str(f), str(exc)))
            continue
        doc_id = doc_id_for(f)
        yield SourceRecord(doc_id, loaded.text, loaded.title, doc_id, path=str(f.resolve()),
                           content_hash=loaded.content_hash)  # hashed as it was read


def read_files(paths: Sequence[Path]) -> tuple[list[SourceRecord], list[tuple[str, str]]]:
    """Every supported file loaded into memory (small inputs; ingest itself iterates)."""
    files, skipped = list_files(paths)
    records = list(iter_records(files, skipped))
    return records, skipped


def _to_document(rec: SourceRecord):
    from llama_index.core import Document

    return Document(
        id_=rec.doc_id,
        text=rec.text,
        metadata={"source": rec.source, "title": rec.title[:MAX_TITLE_CHARS], "path": rec.path},
        excluded_embed_metadata_keys=[k for k in META_KEYS if k not in EMBED_KEYS],
        excluded_llm_metadata_keys=META_KEYS,
        metadata_template="{value}",
        metadata_seperator="\n",
        text_template="{metadata_str}\n\n{content}",
    )


def make_splitter(settings: Settings, embedder: Embedder):
    """Section-aware, sentence-aware chunks sized in the embedder's own tokens; ids "<doc_id>#<n>".

    The chunk size counts the chunk's own text; the title and section embedded with it
    (at most ~MAX_TITLE_CHARS + 160 chars) stay within MiniLM's 256 word pieces.
    """
    from rag.llama_adapters import SectionSplitter

    return SectionSplitter(
        section_chunks=settings.section_chunks,
        min_section_tokens=max(1, settings.chunk_size // 4),
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        paragraph_separator="\n\n",
        tokenizer=lambda text: [0] * embedder.count_tokens(text),
        include_metadata=True,
        id_func=lambda i, doc: f"{doc.doc_id}#{i}",
    )


def chunk_records(settings: Settings, embedder: Embedder, records: Sequence[SourceRecord]):
    """The nodes ingest would write for these records (no embedding, no store)."""
    return make_splitter(settings, embedder)([_to_document(r) for r in records])


@dataclass
class _Batch:
    """Documents whose content changed, split into chunks (by the parsing thread)."""

    records: list[SourceRecord]
    docs: list[Any]
    nodes: list[Any]
    seen: int  # records of the input this batch accounts for (changed or not)
    chunks: list[Chunk] = field(default_factory=list)
    sentences: list[Any] | None = None  # rag.sentences.Sentence, when stored at ingest


def node_chunk(node) -> Chunk:
    from llama_index.core.schema import MetadataMode

    from rag.retrieve import chunk_from

    text = node.get_content(metadata_mode=MetadataMode.NONE)
    return chunk_from(node.node_id, text, {**node.metadata, "ref_doc_id": node.ref_doc_id or ""})


class Ingestor:
    """Writes SourceRecords into Chroma, the lexical index and the catalogue, batch by batch.

    Per batch: documents whose content hash differs from the catalogue's are marked pending
    (committed), their old chunks are deleted from Chroma, the new chunks are embedded and
    added to Chroma through llama-index's IngestionPipeline, then one SQLite transaction
    (`_commit`)
    writes their lexical rows, stored sentences and catalogue rows and clears the pending
    flag. A run killed anywhere leaves pending rows; `recover()` (run first by every ingest)
    deletes those documents everywhere, so they are indexed again as new.

    Parsing (loading, hashing, splitting, spaCy's sentences and entities) runs in a thread
    one batch ahead of embedding: ONNX inference releases the GIL, so the two overlap. Each
    batch's chunks and distinct sentences are embedded in one call.
    """

    def __init__(self, settings: Settings, embedder: Embedder, store: ChromaStore, db: IndexDB,
                 analyzer: SentenceAnalyzer | None = None) -> None:
        from rag.catalog import Catalog
        from rag.lexical import LexicalIndex

        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.db = db
        self.catalog = Catalog(db)
        self.lexical = LexicalIndex(db)
        self.analyzer = analyzer
        self._splitter = make_splitter(settings, embedder)
        self._pipeline = self._build_pipeline()
        self._commits = 0  # batches committed by this ingestor (for HOLD_COMMIT_ENV)

    def _build_pipeline(self):
        from llama_index.core.ingestion import IngestionPipeline

        from rag.llama_adapters import BatchedChromaVectorStore, InjectionMarker

        vector_store = BatchedChromaVectorStore(
            chroma_collection=self.store.collection, max_batch=self.store.max_batch_size()
        )
        # no docstore and no cache: content hashes live in the catalogue, and an in-memory
        # cache would hold every node of a 10k-file ingest
        # chunks are embedded by _embed (with their sentences, in one embedder call): the
        # pipeline marks injections and writes to Chroma
        return IngestionPipeline(transformations=[InjectionMarker()], vector_store=vector_store,
                                 disable_cache=True)

    # --- recovery ---------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Delete every trace of documents a killed run left pending."""
        pending = self.catalog.pending()
        if pending:
            log.warning("recovering %d document(s) from an interrupted ingest", len(pending))
            self._delete_everywhere(pending)
        return pending

    def _delete_everywhere(self, doc_ids: list[str]) -> None:
        from rag.catalog import Catalog
        from rag.doc_texts import DocTexts
        from rag.sentence_store import SqliteSentenceStore

        self.catalog.mark_pending(doc_ids)
        self.store.delete_docs(doc_ids)
        with self.db.transaction() as conn:
            self.lexical.delete_docs(conn, doc_ids)
            SqliteSentenceStore.delete_docs(conn, doc_ids)
            Catalog.delete(conn, doc_ids)
            DocTexts.delete(conn, doc_ids)

    # --- ingest -----------------------------------------------------------------------
    def ingest(
        self,
        records: Iterable[SourceRecord],
        progress: Callable[[int], None] | None = None,
        chunk_progress: ChunkProgress | None = None,
    ) -> IngestReport:
        """`progress(n)`: n more input records handled (per batch); `chunk_progress`: see
        ChunkProgress (within a batch)."""
        report = IngestReport()
        started = time.perf_counter()
        self.recover()
        for batch in prefetch(self._parse(records, report), depth=1):
            if batch.docs:
                self._write(batch, chunk_progress)
                report.chunks_written += len(batch.nodes)
            if progress:
                progress(batch.seen)
        self.db.checkpoint()
        report.seconds = time.perf_counter() - started
        return report

    def _parse(self, records: Iterable[SourceRecord], report: IngestReport) -> Iterator[_Batch]:
        """Changed documents, in batches, split into nodes (runs in the prefetch thread)."""
        size = max(1, self.settings.ingest_batch_docs)
        for group in batched(records, size):
            docs = {r.doc_id: _to_document(r) for r in group}  # last one wins on a repeated id
            known = self.catalog.hashes(docs)
            todo_recs, todo_docs = [], []
            for rec in {r.doc_id: r for r in group}.values():
                doc = docs[rec.doc_id]
                if known.get(rec.doc_id) == doc.hash:
                    report.unchanged.append(rec.doc_id)
                    continue
                (report.updated if rec.doc_id in known else report.added).append(rec.doc_id)
                todo_recs.append(rec)
                todo_docs.append(doc)
            nodes = self._splitter(todo_docs) if todo_docs else []
            chunks = [node_chunk(n) for n in nodes]
            yield _Batch(todo_recs, todo_docs, nodes, len(group), chunks, self._analyze(chunks))

    def _analyze(self, chunks: list[Chunk]):
        """Sentence spans + entities (spaCy, in the parsing thread), or None when off."""
        if self.analyzer is None or not self.settings.precompute_sentences or not chunks:
            return None
        return self.analyzer.analyze(chunks)

    def _write(self, batch: _Batch, chunk_progress: ChunkProgress | None = None) -> None:
        ids = [d.doc_id for d in batch.docs]
        self.catalog.mark_pending(ids)  # the trace a kill from here on leaves
        self.store.delete_docs(ids)  # old chunks, and any a killed run left behind
        vectors = self._embed(batch, chunk_progress)
        with self.store.guard():  # a Chroma server lost mid-write: StoreUnavailableError
            self._pipeline.run(nodes=batch.nodes)  # injection marks, then Chroma
        self._hold_before_commit()
        self._commit(batch, vectors)
        self._commits += 1

    def _hold_before_commit(self) -> None:
        """Tests only (HOLD_COMMIT_ENV): hold a half-written batch until the file is gone."""
        hold = os.environ.get(HOLD_COMMIT_ENV, "").strip()
        if not hold or self._commits == 0:
            return
        log.warning("holding a written batch before its commit while %s exists", hold)
        while Path(hold).exists():
            time.sleep(HOLD_POLL_S)

    def _embed(self, batch: _Batch,
               chunk_progress: ChunkProgress | None = None) -> list[list[float]] | None:
        """Chunk vectors go on the nodes; the stored sentences' vectors (one per sentence, in
        order) are returned (None when sentences are not stored). How, by
        settings.sentence_vectors: "standalone" (each distinct sentence, and each chunk's embed
        text, embedded alone), "pooled" (`_embed_pooled`) or "sentence_first"
        (`_embed_sentence_first`). With `chunk_progress`, texts go in steps of EMBED_STEP,
        reported after each."""
        from llama_index.core.schema import MetadataMode

        from rag.embeddings import SpanEmbedder

        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in batch.nodes]
        mode = self.settings.sentence_vectors
        if batch.sentences and mode == "sentence_first":
            vecs, sent_vecs = self._embed_sentence_first(texts, batch, chunk_progress)
        elif batch.sentences and mode == "pooled" and isinstance(self.embedder, SpanEmbedder):
            vecs, sent_vecs = self._embed_pooled(texts, batch, chunk_progress)
        else:
            vecs, sent_vecs = self._embed_standalone(texts, batch, chunk_progress)
        for node, vec in zip(batch.nodes, vecs):
            node.embedding = vec
        return None if batch.sentences is None else sent_vecs

    def _embed_standalone(self, texts: list[str], batch: _Batch, progress: ChunkProgress | None
                          ) -> tuple[list[list[float]], list[list[float]]]:
        """The chunks' embed texts and every distinct sentence (two overlapping chunks share
        some) embedded alone, in one embedder call."""
        sents = batch.sentences or []
        alone = {s.key: s.text for s in sents}
        vecs = _stepwise(self.embedder.embed, texts + list(alone.values()), progress)
        by_key = dict(zip(alone, vecs[len(texts):]))
        return vecs[:len(texts)], [by_key[s.key] for s in sents]

    def _embed_pooled(self, texts: list[str], batch: _Batch, progress: ChunkProgress | None
                      ) -> tuple[list[list[float]], list[list[float]]]:
        """Chunk vectors, and each sentence's vector pooled from its chunk's pass (an
        `SpanEmbedder`); sentences outside the embedder's window are embedded alone, after."""
        from llama_index.core.schema import MetadataMode

        sents = batch.sentences or []
        spans: list[list[tuple[int, int]]] = [[] for _ in texts]
        where: list[tuple[int, int]] = []  # per sentence: (chunk index, span index)
        row = {n.node_id: i for i, n in enumerate(batch.nodes)}
        offset = [len(t) - len(n.get_content(metadata_mode=MetadataMode.NONE))
                  for t, n in zip(texts, batch.nodes)]  # the chunk's text ends its embed text
        for sent in sents:
            i = row[sent.chunk.chunk_id]
            a = offset[i] + sent.start - sent.chunk.start
            where.append((i, len(spans[i])))
            spans[i].append((a, a + len(sent.text)))

        def run(part: list) -> list:
            vecs, span_vecs = self.embedder.embed_spans([t for t, _ in part], [sp for _, sp in part])
            return list(zip(vecs, span_vecs))

        pairs = _stepwise(run, list(zip(texts, spans)), progress)
        pooled = [pairs[i][1][j] for i, j in where]
        alone = {s.key: s.text for s, v in zip(sents, pooled) if v is None}
        extra = _stepwise(self.embedder.embed, list(alone.values()), progress,
                          done=len(texts), total=len(texts) + len(alone))
        by_key = dict(zip(alone, extra))
        return [v for v, _ in pairs], [v if v is not None else by_key[s.key] for s, v in zip(sents, pooled)]

    def _embed_sentence_first(self, texts: list[str], batch: _Batch, progress: ChunkProgress | None
                              ) -> tuple[list[list[float]], list[list[float]]]:
        """Each distinct sentence and each distinct header (title + section: what precedes the
        chunk's own text in its embed text) embedded alone once, shortest first (less padding);
        a chunk's vector is the normalised mean of its sentences' and header's vectors, each
        weighted by its word pieces: no chunk forward pass. A chunk without stored sentences
        is embedded whole. The sentence vectors are exactly the standalone ones."""
        import numpy as np

        from rag.embeddings import unit_rows

        parts, members = _sentence_first_parts(texts, batch)
        keys = sorted(parts, key=lambda k: len(parts[k]))
        vecs = np.asarray(_stepwise(self.embedder.embed, [parts[k] for k in keys], progress),
                          dtype=np.float32)
        slot = {k: i for i, k in enumerate(keys)}
        weight = np.array([max(1, self.embedder.count_tokens(parts[k])) for k in keys], dtype=np.float32)
        chunk_vecs = [weight[[slot[k] for k in m]] @ vecs[[slot[k] for k in m]] for m in members]
        sents = batch.sentences or []
        return unit_rows(np.array(chunk_vecs)).tolist(), [vecs[slot[s.key]].tolist() for s in sents]

    def _commit(self, batch: _Batch, vectors: list[list[float]] | None) -> None:
        """One transaction: lexical rows, stored sentences, catalogue rows (pending cleared)."""
        from rag.catalog import Catalog, DocRow
        from rag.doc_texts import DocTexts
        from rag.sentence_store import SqliteSentenceStore

        ids = [d.doc_id for d in batch.docs]
        counts: dict[str, int] = {}
        flagged: dict[str, int] = {}
        for c, node in zip(batch.chunks, batch.nodes):
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
            flagged[c.doc_id] = flagged.get(c.doc_id, 0) + int(node.metadata.get("injection") or 0)
        now = time.time()
        with self.db.transaction() as conn:
            self.lexical.delete_docs(conn, ids)
            SqliteSentenceStore.delete_docs(conn, ids)
            self.lexical.add(conn, batch.chunks)
            if batch.sentences is not None:
                SqliteSentenceStore.add(conn, batch.sentences, vectors or [], batch.chunks)
            for rec, doc in zip(batch.records, batch.docs):
                Catalog.put(conn, DocRow(rec.doc_id, doc.hash, counts.get(rec.doc_id, 0), rec.source,
                                         rec.title, rec.path, now, flagged.get(rec.doc_id, 0),
                                         content_hash=rec.content_hash))
                DocTexts.put(conn, rec.doc_id, rec.text)  # what the offsets index (the viewer's)

    # --- delete / prune ---------------------------------------------------------------
    def delete(self, doc_ids: list[str]) -> None:
        """Remove documents from Chroma, the lexical index, stored sentences and the catalogue."""
        if doc_ids:
            self._delete_everywhere(doc_ids)

    def prune(self, keep: Callable[[str, dict], bool]) -> list[str]:
        """Delete every indexed document for which keep(doc_id, metadata) is False."""
        removed = [r.doc_id for r in self.catalog.rows()
                   if not keep(r.doc_id, {"path": r.path, "source": r.source, "title": r.title})]
        self.delete(removed)
        return removed


def _stepwise(call: Callable[[list], list], items: list, progress: ChunkProgress | None,
              done: int = 0, total: int | None = None) -> list:
    """call(part) over parts of EMBED_STEP items (all in one part without `progress`), the
    results concatenated; `progress(done + items so far, total)` after each part (total:
    done + len(items) by default)."""
    if not items:
        return []
    if progress is None:
        return list(call(items))
    total = done + len(items) if total is None else total
    out: list = []
    for lo in range(0, len(items), EMBED_STEP):
        out += call(items[lo:lo + EMBED_STEP])
        progress(done + len(out), total)
    return out


def _sentence_first_parts(texts: list[str], batch: _Batch) -> tuple[dict[tuple, str], list[list[tuple]]]:
    """What sentence_first embeds: key -> text (each distinct sentence, header, and each chunk
    without sentences), and per chunk the keys its vector is pooled from."""
    parts: dict[tuple, str] = {}
    members: list[list[tuple]] = [[] for _ in texts]
    row = {n.node_id: i for i, n in enumerate(batch.nodes)}
    for sent in batch.sentences or ():
        parts.setdefault(sent.key, sent.text)
        members[row[sent.chunk.chunk_id]].append(sent.key)
    for i, (text, chunk) in enumerate(zip(texts, batch.chunks)):
        if not members[i]:  # nothing stored to pool from: the embed text itself
            parts[("chunk", i)] = text
            members[i].append(("chunk", i))
            continue
        header = text[:len(text) - len(chunk.text)].strip() if text.endswith(chunk.text) else ""
        if header:
            parts.setdefault(("header", header), header)
            members[i].append(("header", header))
    return parts, members


def batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def prefetch(items: Iterable, depth: int = 1) -> Iterator:
    """Iterate `items` in a worker thread, `depth` items ahead; its exceptions re-raised here."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((item, None), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((done, None))
        except BaseException as exc:  # handed to the consumer
            q.put((done, exc))

    worker = threading.Thread(target=work, name="ingest-parse", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = q.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def file_still_exists(doc_id: str, metadata: dict) -> bool:
    """Prune rule for files: keep records that are not files, and files still on disk."""
    path = metadata.get("path")
    return not path or Path(path).exists()
