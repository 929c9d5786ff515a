"""Documents as a table: one row per indexed document, in the lexical index's SQLite file.

Columns: doc_id, hash (llama-index Document.hash: text and metadata), chunk count, source,
title, path, ingest time, a `pending` flag, and content_hash (sha256 of a file's bytes: the
same file under another name has the same one). Ingest marks a document pending (committed) before it
touches Chroma, and clears the flag in the same transaction that writes its lexical rows;
a killed ingest therefore leaves pending rows, and the next run deletes those documents'
chunks from Chroma and from the lexical index before anything else (rag/ingest.py).

`status`, the Documents panel and the API list from here in O(documents).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from rag.lexical import IndexDB

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents(
    doc_id TEXT PRIMARY KEY, hash TEXT NOT NULL DEFAULT '', chunks INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '',
    ingested_at REAL NOT NULL DEFAULT 0, flagged INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 0, content_hash TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS documents_pending ON documents(pending) WHERE pending = 1;
"""

COLUMNS = "doc_id, hash, chunks, source, title, path, ingested_at, flagged, pending, content_hash"


@dataclass(frozen=True)
class DocRow:
    doc_id: str
    hash: str
    chunks: int
    source: str
    title: str
    path: str
    ingested_at: float
    flagged: int = 0  # instruction-like sentences found at ingest (rag/injection.py)
    pending: bool = False
    content_hash: str = ""  # sha256 of the file's bytes ("" for records that are not files)

    def to_dict(self) -> dict:
        """The row shape RagService.list_documents has always returned (plus ingest time)."""
        return {"doc_id": self.doc_id, "source": self.source or self.doc_id, "title": self.title,
                "path": self.path, "chunks": self.chunks, "ingested_at": self.ingested_at,
                "flagged": self.flagged}


class Catalog:
    def __init__(self, db: IndexDB) -> None:
        self.db = db

    # --- reads ------------------------------------------------------------------------
    def get(self, doc_id: str) -> DocRow | None:
        rows = self.db.query(f"SELECT {COLUMNS} FROM documents WHERE doc_id = ?", (doc_id,))
        return DocRow(*rows[0]) if rows else None

    def hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """doc_id -> hash of the committed (not pending) documents among doc_ids."""
        ids = list(doc_ids)
        out: dict[str, str] = {}
        for lo in range(0, len(ids), 500):
            part = ids[lo:lo + 500]
            marks = ",".join("?" * len(part))
            out.update(self.db.query(
                f"SELECT doc_id, hash FROM documents WHERE pending = 0 AND doc_id IN ({marks})", tuple(part)))
        return out

    def rows(self) -> list[DocRow]:
        return [DocRow(*r) for r in self.db.query(
            f"SELECT {COLUMNS} FROM documents WHERE pending = 0 ORDER BY doc_id")]

    def with_content(self, content_hash: str) -> list[str]:
        """Committed documents whose file had exactly these bytes (sha256)."""
        if not content_hash:
            return []
        return [r[0] for r in self.db.query(
            "SELECT doc_id FROM documents WHERE pending = 0 AND content_hash = ? ORDER BY doc_id",
            (content_hash,))]

    def missing_content_hashes(self) -> list[tuple[str, str, float]]:
        """(doc_id, path, ingested_at) of committed file documents indexed before content
        hashes existed."""
        return [(r[0], r[1], r[2]) for r in self.db.query(
            "SELECT doc_id, path, ingested_at FROM documents"
            " WHERE pending = 0 AND content_hash = '' AND path != ''")]

    def set_content_hash(self, doc_id: str, content_hash: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE documents SET content_hash = ? WHERE doc_id = ?", (content_hash, doc_id))

    def pending(self) -> list[str]:
        return [r[0] for r in self.db.query("SELECT doc_id FROM documents WHERE pending = 1")]

    def count(self) -> tuple[int, int]:
        """(documents, chunks) committed."""
        docs, chunks = self.db.query(
            "SELECT count(*), coalesce(sum(chunks), 0) FROM documents WHERE pending = 0")[0]
        return int(docs), int(chunks)

    # --- writes -----------------------------------------------------------------------
    def mark_pending(self, doc_ids: Iterable[str]) -> None:
        """Committed before Chroma is touched: the trace a killed ingest leaves."""
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO documents(doc_id, pending) VALUES (?, 1)"
                " ON CONFLICT(doc_id) DO UPDATE SET pending = 1", [(d,) for d in doc_ids])

    @staticmethod
    def put(conn: sqlite3.Connection, row: DocRow) -> None:
        conn.execute(
            f"INSERT OR REPLACE INTO documents({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            (row.doc_id, row.hash, row.chunks, row.source, row.title, row.path,
             row.ingested_at or time.time(), row.flagged, row.content_hash),
        )

    @staticmethod
    def delete(conn: sqlite3.Connection, doc_ids: Iterable[str]) -> None:
        conn.executemany("DELETE FROM documents WHERE doc_id = ?", [(d,) for d in doc_ids])


def open_index_db(settings) -> IndexDB:
    """The one SQLite file beside Chroma: lexical index + catalogue (+ stored sentences and
    document texts)."""
    from rag.doc_texts import SCHEMA as DOC_TEXTS
    from rag.sentence_store import SCHEMA as SENTENCES

    db = IndexDB(settings.index_path, schemas=[SCHEMA, SENTENCES, DOC_TEXTS])
    add_content_hash_column(db)
    return db


def add_content_hash_column(db: IndexDB) -> None:
    """Catalogues written before content hashes get the column (empty until re-indexed)."""
    with db.lock:
        columns = {r[1] for r in db.conn.execute("PRAGMA table_info(documents)")}
        if "content_hash" not in columns:
            try:
                db.conn.execute("ALTER TABLE documents ADD COLUMN content_hash TEXT NOT NULL DEFAULT ''")
            except sqlite3.OperationalError:  # another process added it first
                log.debug("content_hash column already added", exc_info=True)
        db.conn.execute("CREATE INDEX IF NOT EXISTS documents_content ON documents(content_hash)")


def migrate_legacy(settings, store, db: IndexDB) -> bool:
    """Once, for a data dir built before the catalogue: fill the lexical index and the
    catalogue from Chroma (one scan) and the JSON docstore's hashes, then rename the JSON."""
    legacy = settings.legacy_docstore_path
    if not legacy.exists() or Catalog(db).count()[0] > 0 or store.count() == 0:
        return False
    import logging

    from rag.lexical import LexicalIndex
    from rag.retrieve import chunk_from

    log = logging.getLogger(__name__)
    log.warning("migrating %s into %s (one scan of %d chunks)", legacy, settings.index_path, store.count())
    hashes: dict[str, str] = {}
    try:
        raw = json.loads(legacy.read_text())
        for doc_id, meta in raw.get("docstore/metadata", {}).items():
            hashes[doc_id] = meta.get("doc_hash", "")
    except (OSError, ValueError, AttributeError):
        log.warning("legacy docstore %s unreadable: documents will be re-embedded on next ingest", legacy)
    chunks, metas = [], {}
    for i, t, m in store.iter_all():
        chunks.append(chunk_from(i, t, m))
        metas.setdefault(chunks[-1].doc_id, m)
    counts: dict[str, int] = {}
    for c in chunks:
        counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
    with db.transaction() as conn:
        LexicalIndex.add(conn, chunks)
        for doc_id, n in counts.items():
            m = metas[doc_id]
            Catalog.put(conn, DocRow(doc_id, hashes.get(doc_id, ""), n, str(m.get("source", doc_id)),
                                     str(m.get("title", "")), str(m.get("path", "")), time.time()))
    legacy.replace(legacy.with_name(legacy.name + ".migrated"))
    return True
