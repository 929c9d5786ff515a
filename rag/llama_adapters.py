"""Small adapters that let our components plug into llama-index's ingestion pipeline."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import BaseNode, MetadataMode, TransformComponent
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


def locate(text: str, chunk: str, prev_start: int, prev_end: int) -> int:
    """Where `chunk` starts in `text`: after the previous chunk's start and ending past its end.

    Chunks come in document order and each one reaches further than the last, so repeated
    passages resolve to the right occurrence (llama-index's own search can pick an earlier one).
    """
    pos = text.find(chunk, prev_start + 1)
    while pos >= 0 and pos + len(chunk) <= prev_end:
        pos = text.find(chunk, pos + 1)
    return pos if pos >= 0 else text.find(chunk)


class SpanSentenceSplitter(SentenceSplitter):
    """SentenceSplitter whose chunks carry exact char spans in flat metadata ("start", "end")."""

    def _postprocess_parsed_nodes(self, nodes: list[BaseNode], parent_doc_map: dict) -> list[BaseNode]:
        nodes = super()._postprocess_parsed_nodes(nodes, parent_doc_map)
        last: dict[str, tuple[int, int]] = {}
        for node in nodes:
            doc = parent_doc_map.get(node.ref_doc_id or "")
            if doc is None:
                continue
            text = node.get_content(metadata_mode=MetadataMode.NONE)
            start = locate(doc.text, text, *last.get(doc.doc_id, (-1, 0)))
            if start < 0:
                raise ValueError(f"chunk {node.node_id} is not a slice of its document")
            node.start_char_idx, node.end_char_idx = start, start + len(text)
            node.metadata["start"], node.metadata["end"] = start, start + len(text)
            last[doc.doc_id] = (start, start + len(text))
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


class InjectionMarker(TransformComponent):
    """Marks each chunk with how many instruction-like sentences it holds (metadata "injection")."""

    def __call__(self, nodes: list[BaseNode], **kwargs: Any) -> list[BaseNode]:
        from rag.injection import count_injections

        for node in nodes:
            node.metadata["injection"] = count_injections(node.get_content(metadata_mode=MetadataMode.NONE))
        return nodes
