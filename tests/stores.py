"""What fault tests read of a data dir's Chroma collection, as a fresh process sees it, in
either mode: embedded (the data dir's own Chroma files) or on the Chroma server of
RAG_CHROMA_MODE=server (tests/conftest.py; the collection named for that data dir)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from functools import lru_cache
from pathlib import Path


def _settings(data: Path):
    from rag.settings import Settings

    return Settings(data_dir=data)  # mode, port and collection scope from the environment


@lru_cache(maxsize=4)
def _http_client(host: str, port: int):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False))


def _server_collection(settings):
    """The data dir's collection on the server; None before it exists."""
    from chromadb.errors import NotFoundError

    try:
        return _http_client(settings.chroma_host, settings.chroma_port).get_collection(
            settings.chroma_collection, embedding_function=None)
    except NotFoundError:
        return None


def chunk_texts(data: Path) -> dict[str, str]:
    """chunk id -> text of every chunk in the data dir's collection."""
    settings = _settings(data)
    if settings.chroma_mode == "server":
        collection = _server_collection(settings)
    else:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        client = chromadb.PersistentClient(path=str(settings.chroma_path),
                                           settings=ChromaSettings(anonymized_telemetry=False))
        collection = client.get_collection(settings.chroma_collection, embedding_function=None)
    if collection is None:
        return {}
    got = collection.get(include=["documents"])
    return dict(zip(got["ids"], got["documents"]))


def chunk_ids(data: Path) -> set[str]:
    """Every chunk id, read-only: safe to poll while another process writes (embedded: from
    Chroma's own SQLite file, opened read-only; empty while it does not exist)."""
    settings = _settings(data)
    if settings.chroma_mode == "server":
        collection = _server_collection(settings)
        return set(collection.get(include=[])["ids"]) if collection is not None else set()
    path = settings.chroma_path / "chroma.sqlite3"
    if not path.exists():
        return set()
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
            return {r[0] for r in conn.execute("SELECT embedding_id FROM embeddings")}
    except sqlite3.Error:
        return set()
