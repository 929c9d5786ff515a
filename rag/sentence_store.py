"""Sentences computed once, at ingest: spans, entities and vectors per chunk (SQLite).

Ingest calls `SentenceAnalyzer.analyze(chunks)` (the splitting is the analyzer's business)
and embeds each sentence; rows are keyed by chunk id, vectors are float32 blobs. The
answerer reads them through the small `SentenceSource` protocol; chunks indexed before this
store existed have no rows and are analysed at question time, as before.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from rag.types import Chunk

if TYPE_CHECKING:
    from rag.lexical import IndexDB
    from rag.sentences import Sentence

SCHEMA = """
CREATE TABLE IF NOT EXISTS sentences(
    chunk_id TEXT NOT NULL, seq INTEGER NOT NULL, doc_id TEXT NOT NULL,
    start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, text TEXT NOT NULL,
    entities TEXT NOT NULL, vec BLOB NOT NULL, kind TEXT NOT NULL DEFAULT 'paragraph',
    section TEXT NOT NULL DEFAULT '[]', page INTEGER, PRIMARY KEY (chunk_id, seq));
CREATE INDEX IF NOT EXISTS sentences_doc ON sentences(doc_id);
CREATE TABLE IF NOT EXISTS analysed(chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS analysed_doc ON analysed(doc_id);
"""


class SentenceSource(Protocol):
    """Precomputed sentences with their vectors, for the chunks that have them."""

    def sentences(self, chunks: Sequence[Chunk]) -> dict[str, list[tuple[Sentence, list[float]]]]:
        """chunk_id -> [(sentence, unit vector)], in order; chunks without rows are absent."""
        ...


class SqliteSentenceStore:
    def __init__(self, db: IndexDB) -> None:
        self.db = db

    def sentences(self, chunks: Sequence[Chunk]) -> dict[str, list[tuple[Sentence, list[float]]]]:
        import numpy as np

        from rag.sentences import Sentence

        by_id = {c.chunk_id: c for c in chunks}
        if not by_id:
            return {}
        marks = ",".join("?" * len(by_id))
        done = {r[0] for r in self.db.query(
            f"SELECT chunk_id FROM analysed WHERE chunk_id IN ({marks})", tuple(by_id))}
        out: dict[str, list[tuple[Sentence, list[float]]]] = {cid: [] for cid in done}
        rows = self.db.query(
            "SELECT chunk_id, start_char, end_char, text, entities, vec, kind, section, page FROM sentences"
            f" WHERE chunk_id IN ({marks}) ORDER BY chunk_id, seq", tuple(by_id))
        for chunk_id, start, end, text, ents, vec, kind, section, page in rows:
            if chunk_id not in done:
                continue
            sent = Sentence(chunk=by_id[chunk_id], start=start, end=end, text=text,
                            entities=tuple(tuple(e) for e in json.loads(ents)), kind=kind,
                            section=tuple(json.loads(section)), page=page)
            out[chunk_id].append((sent, np.frombuffer(vec, dtype=np.float32)))
        return out

    def vectors(self, chunk_ids: Sequence[str]):
        """chunk_id -> (its stored sentences' unit vectors as rows, float32); chunks without
        stored sentences are absent. One read on the caller thread's own connection."""
        import numpy as np

        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self.db.read(f"SELECT chunk_id, vec FROM sentences WHERE chunk_id IN ({marks})",
                            tuple(chunk_ids))
        out: dict[str, list] = {}
        for chunk_id, vec in rows:
            out.setdefault(chunk_id, []).append(np.frombuffer(vec, dtype=np.float32))
        return {cid: np.vstack(vecs) for cid, vecs in out.items()}

    @staticmethod
    def add(conn: sqlite3.Connection, sentences: Sequence[Sentence], vectors: Sequence[Sequence[float]],
            chunks: Iterable[Chunk]) -> None:
        """Store one batch: every chunk in `chunks` is marked analysed, with or without sentences."""
        import numpy as np

        seq: dict[str, int] = {}
        rows = []
        for sent, vec in zip(sentences, vectors):
            cid = sent.chunk.chunk_id
            seq[cid] = seq.get(cid, -1) + 1
            rows.append((cid, seq[cid], sent.chunk.doc_id, sent.start, sent.end, sent.text,
                         json.dumps(list(sent.entities)), np.asarray(vec, dtype=np.float32).tobytes(),
                         sent.kind, json.dumps(list(sent.section)), sent.page))
        conn.executemany("INSERT OR REPLACE INTO sentences VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT OR REPLACE INTO analysed VALUES (?, ?)",
                         [(c.chunk_id, c.doc_id) for c in chunks])

    @staticmethod
    def delete_docs(conn: sqlite3.Connection, doc_ids: Iterable[str]) -> None:
        for doc_id in doc_ids:
            conn.execute("DELETE FROM sentences WHERE doc_id = ?", (doc_id,))
            conn.execute("DELETE FROM analysed WHERE doc_id = ?", (doc_id,))
