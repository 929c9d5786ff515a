"""Small adapters that let our components plug into llama-index's ingestion pipeline."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import BaseNode, TransformComponent
from llama_index.vector_stores.chroma import ChromaVectorStore
from pydantic import PrivateAttr


class EmbedderAdapter(BaseEmbedding):
    """A llama-index embedding model backed by one of our Embedders."""

    _embedder: Any = PrivateAttr()

    @classmethod
    def wrap(cls, embedder) -> EmbedderAdapter:
        adapter = cls(model_name=embedder.name, embed_batch_size=512)
        adapter._embedder = embedder
        return adapter

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class SpanStamper(TransformComponent):
    """Copies each chunk's char span into flat metadata, where Chroma can return it."""

    def __call__(self, nodes: list[BaseNode], **kwargs: Any) -> list[BaseNode]:
        for node in nodes:
            node.metadata["start"] = node.start_char_idx
            node.metadata["end"] = node.end_char_idx
        return nodes


class BatchedChromaVectorStore(ChromaVectorStore):
    """ChromaVectorStore that never sends more than the server's max batch size at once."""

    _max_batch: int = PrivateAttr(default=5000)

    def __init__(self, max_batch: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_batch = max_batch

    def add(self, nodes: list[BaseNode], **add_kwargs: Any) -> list[str]:
        ids: list[str] = []
        for lo in range(0, len(nodes), self._max_batch):
            ids.extend(super().add(nodes[lo : lo + self._max_batch], **add_kwargs))
        return ids
