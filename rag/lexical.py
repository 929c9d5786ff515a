"""A persistent, incremental lexical (BM25) index in SQLite FTS5, beside the vector store.

Each chunk is stored once (id, document, source, title, text, span) with its pre-tokenised
`rag.text.content_terms` joined by spaces in an FTS5 table, so FTS5's tokenizer only splits
on the spaces and the vocabulary is exactly the one the answerer uses. Ranking is FTS5's
bm25(); document frequencies come from an fts5vocab table (the answerer's idf).

Chosen over bm25s saved and memory-mapped (BENCHMARKS.md "Lexical index"): bm25s cannot add
or delete one document without re-indexing everything, FTS5 can, inside the same
transaction as the catalogue (rag/catalog.py shares this database file).

The database runs in WAL mode so several processes (`rag serve` replicas, the CLI) can share
one data dir; every write bumps a version counter that readers check before each question.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.text import content_terms
from rag.types import Chunk

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('version', 0);
CREATE TABLE IF NOT EXISTS chunks(
    rowid INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, doc_id TEXT NOT NULL,
    source TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    start_char INTEGER NOT NULL, end_char INTEGER NOT NULL,
    section TEXT NOT NULL DEFAULT '', page INTEGER, blocks TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    terms, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'");
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, row);
"""


# read connections (BM25 queries): FTS5's bm25() looks up every matching row's size, so the
# default 2 MiB page cache thrashes at 100k chunks; 16 MiB + memory-mapped pages
# measured 20-30 % faster at 100k (BENCHMARKS.md "Retrieval at 100k")
READ_CACHE_KIB = 16 * 1024
READ_MMAP_BYTES = 256 * 1024 * 1024


class IndexDB:
    """One SQLite file (WAL) shared by the lexical index and the catalogue; thread-safe.

    A file that is not a database (a killed or foreign write) is moved aside and rebuilt
    empty: ingest then re-indexes every document and drops its stale Chroma chunks.
    """

    def __init__(self, path: Path, schemas: Iterable[str] = ()) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._local = threading.local()  # per-thread read connections (WAL: readers run in parallel)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = self._open(schemas)
        except sqlite3.DatabaseError as exc:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            log.warning("index %s is unreadable (%s); moved to %s, re-indexing", path, exc, aside)
            for suffix in ("", "-wal", "-shm"):
                src = Path(f"{path}{suffix}")
                if src.exists():
                    src.replace(Path(f"{aside}{suffix}"))
            self.conn = self._open(schemas)
        self._readers: list[sqlite3.Connection] = []

    def _open(self, schemas: Iterable[str]) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA + "".join(schemas))
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE); bumps the version on commit."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'version'")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def read(self, sql: str, args: tuple = ()) -> list[tuple]:
        """A read on this thread's own connection: runs in parallel with other threads'
        reads and the writer (WAL), and sqlite3 releases the GIL while it runs."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            conn.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
            conn.execute(f"PRAGMA mmap_size = {READ_MMAP_BYTES}")
            self._local.conn = conn
            with self.lock:
                self._readers.append(conn)
        return conn.execute(sql, args).fetchall()

    def version(self) -> int:
        """Bumped by every write, from any process sharing the file."""
        return int(self.query("SELECT value FROM meta WHERE key = 'version'")[0][0])

    def checkpoint(self) -> None:
        """Fold the WAL back into the database file (end of an ingest run)."""
        with self.lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self.lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self.conn.close()


def terms_of(chunk: Chunk) -> str:
    return " ".join(content_terms(chunk.index_text))  # title + section + text


class LexicalIndex:
    """BM25 over every indexed chunk; incremental add/delete; ranked (Chunk, score) output."""

    def __init__(self, db: IndexDB) -> None:
        self.db = db
        self._n: tuple[int, int] | None = None  # (version, chunk count)

    # --- writes (inside the caller's db.transaction()) ---------------------------------
    @staticmethod
    def add(conn: sqlite3.Connection, chunks: Iterable[Chunk]) -> int:
        n = 0
        for c in chunks:
            cur = conn.execute(
                "INSERT INTO chunks(chunk_id, doc_id, source, title, text, start_char, end_char,"
                " section, page, blocks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (c.chunk_id, c.doc_id, c.source, c.title, c.text, c.start, c.end, c.section, c.page,
                 c.blocks),
            )
            conn.execute("INSERT INTO chunks_fts(rowid, terms) VALUES (?, ?)", (cur.lastrowid, terms_of(c)))
            n += 1
        return n

    @staticmethod
    def delete_docs(conn: sqlite3.Connection, doc_ids: Iterable[str]) -> None:
        for doc_id in doc_ids:
            conn.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE doc_id = ?)",
                         (doc_id,))
            conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))

    # --- reads ------------------------------------------------------------------------
    def count(self) -> int:
        version = self.db.version()
        if self._n is None or self._n[0] != version:
            self._n = (version, int(self.db.query("SELECT count(*) FROM chunks")[0][0]))
        return self._n[1]

    def doc_freq(self, term: str) -> int:
        rows = self.db.query("SELECT doc FROM chunks_vocab WHERE term = ?", (term,))
        return int(rows[0][0]) if rows else 0

    def idf(self, term: str) -> float:
        """BM25's idf: rare terms weigh more; unseen terms weigh most."""
        n, df = self.count(), self.doc_freq(term)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def search(self, query: str, n: int) -> list[tuple[Chunk, float]]:
        terms = list(dict.fromkeys(content_terms(query)))
        if not terms or n <= 0:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self.db.read(
            "SELECT c.chunk_id, c.doc_id, c.source, c.title, c.text, c.start_char, c.end_char,"
            " c.section, c.page, c.blocks, -f.rank"
            " FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?) f"
            " JOIN chunks c ON c.rowid = f.rowid ORDER BY f.rank",
            (match, n),
        )
        return [(Chunk(*row[:10]), float(row[10])) for row in rows if row[10] > 0]

    def chunks_by_id(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """The committed chunks among chunk_ids (the dense side's hits, without asking Chroma
        for their text and metadata); ids of uncommitted writes are absent."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self.db.read(
            "SELECT chunk_id, doc_id, source, title, text, start_char, end_char, section, page, blocks"
            f" FROM chunks WHERE chunk_id IN ({marks})", tuple(chunk_ids))
        return {row[0]: Chunk(*row) for row in rows}

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        rows = self.db.query(
            "SELECT chunk_id, doc_id, source, title, text, start_char, end_char, section, page, blocks"
            " FROM chunks"
            " WHERE doc_id = ? ORDER BY start_char", (doc_id,))
        return [Chunk(*row) for row in rows]
