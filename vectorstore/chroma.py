"""The vector store component: one Chroma collection per index.

The collection's metadata records which embedder wrote its vectors and their dimension;
opening it with another embedder raises EmbedderMismatchError instead of mixing vectors.
Chroma's own default embedding function is never used: vectors always come from us.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from rag.errors import EmbedderMismatchError, StoreUnavailableError

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_PAUSE_S = 0.5  # before the one retry of a store call whose server connection was lost


def _unreachable(where: str, exc: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(f"cannot reach the Chroma server at {where}: {exc or type(exc).__name__}; "
                                 "is it running? (answers and uploads work again once it is back)")


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What the Chroma HTTP client raises when the server is down, restarting or cut off."""
    import httpx

    return (httpx.TransportError, ConnectionError)


@contextmanager
def reachable(where: str | None) -> Iterator[None]:
    """Turn a Chroma server's connection failures into StoreUnavailableError (where: host:port;
    None for the embedded store, which has no connection to lose)."""
    if where is None:
        yield
        return
    try:
        yield
    except _transport_errors() as exc:
        log.warning("Chroma server at %s unreachable: %s", where, exc)
        raise _unreachable(where, exc) from exc


def server_address(settings: Settings) -> str | None:
    return f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_mode == "server" else None


def make_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_mode == "server":
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as exc:
            raise _unreachable(server_address(settings), exc) from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class ChromaStore:
    """A Chroma collection bound to one embedder identity.

    Against a Chroma server every call is its own HTTP request: while the server is down a
    call raises StoreUnavailableError, and once it is back (same port, same data) the next
    call works again, with no reconnect step and no restart of the caller.
    """

    def __init__(self, client: Any, collection: Any, where: str | None = None) -> None:
        self.client = client
        self.collection = collection
        self.where = where  # host:port of a Chroma server; None when embedded

    def guard(self):
        """A context in which losing the Chroma server raises StoreUnavailableError."""
        return reachable(self.where)

    def call(self, fn: Callable[[], T]) -> T:
        """fn() (an idempotent store call: a read, a delete by id); a server connection lost
        once (a keep-alive connection the server dropped, a restart) is retried once after
        RETRY_PAUSE_S, then StoreUnavailableError."""
        if self.where is None:
            return fn()
        try:
            return fn()
        except _transport_errors() as exc:
            log.info("Chroma server at %s: %s; retrying once", self.where, exc)
            time.sleep(RETRY_PAUSE_S)
        with self.guard():
            return fn()

    @property
    def embedder_name(self) -> str:
        return self.collection.metadata.get("embedder", "")

    @property
    def dimension(self) -> int:
        return int(self.collection.metadata.get("dimension", 0))

    def count(self) -> int:
        return self.call(self.collection.count)

    def max_batch_size(self) -> int:
        return int(self.call(self.client.get_max_batch_size))

    def nearest(self, embedding: list[float], n: int) -> list[tuple[str, float]]:
        """(chunk id, cosine distance) of the n nearest chunks, nearest first; no text or
        metadata (the retriever reads those from the lexical index) and no count() call
        (32 ms at 100k chunks under load; Chroma returns fewer when it holds fewer)."""
        if n <= 0:
            return []
        res = self.call(lambda: self.collection.query(query_embeddings=[embedding], n_results=n,
                                                      include=["distances"]))
        return list(zip(res["ids"][0], map(float, res["distances"][0])))

    def iter_all(self, page: int = 5000) -> Iterator[tuple[str, str, dict]]:
        """(id, text, metadata) for every chunk, paged."""
        offset = 0
        while True:
            got = self.call(lambda: self.collection.get(include=["documents", "metadatas"], limit=page,
                                                        offset=offset))
            if not got["ids"]:
                return
            yield from zip(got["ids"], got["documents"], got["metadatas"])
            offset += len(got["ids"])

    def delete_doc(self, doc_id: str) -> None:
        self.call(lambda: self.collection.delete(where={"ref_doc_id": doc_id}))

    def delete_docs(self, doc_ids: list[str]) -> None:
        """Every chunk of these documents, in calls of at most 500 ids."""
        for lo in range(0, len(doc_ids), 500):
            part = doc_ids[lo:lo + 500]
            self.call(lambda: self.collection.delete(where={"ref_doc_id": {"$in": part}}))

    def get_chunks(self, ids: list[str]) -> list[tuple[str, str, dict]]:
        got = self.call(lambda: self.collection.get(ids=ids, include=["documents", "metadatas"]))
        return list(zip(got["ids"], got["documents"], got["metadatas"]))

    def llama_vector_store(self):
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)


def open_store(settings: Settings, embedder: Embedder, create: bool = True) -> ChromaStore:
    """Open (or create) the collection; refuse one written by another embedder."""
    client = make_client(settings)
    wanted = {"embedder": embedder.name, "dimension": embedder.dimension, "hnsw:space": "cosine"}
    where = server_address(settings)
    with reachable(where):
        if create:
            collection = client.get_or_create_collection(
                settings.chroma_collection, metadata=wanted, embedding_function=None
            )
        else:
            collection = client.get_collection(settings.chroma_collection, embedding_function=None)
    meta = collection.metadata or {}
    found = (meta.get("embedder"), int(meta.get("dimension", 0)))
    if found != (embedder.name, embedder.dimension):
        raise EmbedderMismatchError(
            f"collection '{settings.collection}' was built with embedder {found[0]} "
            f"(dimension {found[1]}), not {embedder.name} (dimension {embedder.dimension}); "
            "re-index into a new RAG_DATA_DIR or RAG_COLLECTION, or configure the original embedder"
        )
    return ChromaStore(client, collection, where)
