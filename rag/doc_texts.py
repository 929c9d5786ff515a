"""Each indexed document's extracted text, stored at ingest beside its chunks (SQLite).

The text every offset refers to (chunks, citations, sentences) is `SourceRecord.text`; ingest
writes it here, zlib-compressed, in the same transaction as the document's chunks and
catalogue row, and deletes it with them. The document viewer (ui/viewer.py) reads it back, so
what it shows is the very text the citations' `start`/`end` index, at no re-extraction cost.
Data dirs indexed before this table existed have no rows (the viewer then re-reads the file).
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS doc_texts(doc_id TEXT PRIMARY KEY, text BLOB NOT NULL);
"""


class DocTexts:
    def __init__(self, db) -> None:  # rag.lexical.IndexDB
        self.db = db

    def get(self, doc_id: str) -> str | None:
        rows = self.db.query("SELECT text FROM doc_texts WHERE doc_id = ?", (doc_id,))
        return zlib.decompress(rows[0][0]).decode("utf-8", "surrogatepass") if rows else None

    @staticmethod
    def put(conn: sqlite3.Connection, doc_id: str, text: str) -> None:
        blob = zlib.compress(text.encode("utf-8", "surrogatepass"), 6)
        conn.execute("INSERT OR REPLACE INTO doc_texts(doc_id, text) VALUES (?, ?)", (doc_id, blob))

    @staticmethod
    def delete(conn: sqlite3.Connection, doc_ids: Iterable[str]) -> None:
        conn.executemany("DELETE FROM doc_texts WHERE doc_id = ?", [(d,) for d in doc_ids])
