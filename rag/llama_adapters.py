"""Small adapters that let our components plug into llama-index's ingestion pipeline."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import BaseNode, MetadataMode, TransformComponent
from llama_index.vector_stores.chroma import ChromaVectorStore
from pydantic import Field, PrivateAttr

from rag.structure import Block, common_section, detect, encode_blocks, page_at, page_starts, section_label

MAX_SECTION_CHARS = 160


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


def locate(text: str, chunk: str, prev_start: int, prev_end: int, expect: int | None = None,
           must_end: int | None = None) -> int:
    """Where `chunk` starts in `text`, given the previous chunk's span (-1, 0 for the first).

    Chunks come in document order, each starting after the previous one's start and reaching
    past its end (overlapping it, or following it after whitespace). In repeated text several
    places qualify: the one ending at `must_end` (the last chunk), else the one nearest the
    `expect`ed start, else the first, so repeated passages resolve to their own occurrence.
    """
    limit = prev_end
    while limit < len(text) and text[limit].isspace():
        limit += 1
    found, pos = [], text.find(chunk, prev_start + 1)
    while 0 <= pos <= limit:
        if pos + len(chunk) > prev_end:
            found.append(pos)
        pos = text.find(chunk, pos + 1)
    if must_end is not None and must_end - len(chunk) in found:
        return must_end - len(chunk)
    if found:
        return found[0] if expect is None else min(found, key=lambda p: abs(p - expect))
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


def _overlapping(blocks: list[Block], ends: list[int], a: int, b: int) -> list[Block]:
    """The blocks overlapping [a, b), found by bisection (ends are increasing)."""
    out = []
    i = bisect_right(ends, a)
    while i < len(blocks) and blocks[i].start < b:
        out.append(blocks[i])
        i += 1
    return out


def _fill_gaps(text: str, spans: list[tuple[int, int]], groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Add a chunk for any words no chunk covers (llama-index's merge can drop a last sentence)."""
    out: list[tuple[int, int]] = []
    for lo, hi in groups:
        mine = [s for s in spans if lo <= s[0] < hi]
        reach = lo
        for a, b in mine:
            if text[reach:a].strip():
                out.append(_strip(text, reach, a))
            out.append((a, b))
            reach = max(reach, b)
        if text[reach:hi].strip():
            out.append(_strip(text, reach, hi))
    return out


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


class SectionSplitter(SpanSentenceSplitter):
    """Chunks by section: a chunk never straddles a heading, except where tiny sections merge.

    Within a section (or the whole text, with section_chunks off) llama-index's sentence
    splitting applies. Each chunk's metadata gets exact "start"/"end", "section" (heading path,
    without the title), "page" (paged text) and "blocks" (its block structure, JSON).
    """

    section_chunks: bool = Field(default=True)
    min_section_tokens: int = Field(default=40)

    def __init__(self, section_chunks: bool = True, min_section_tokens: int = 40, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.section_chunks = section_chunks
        self.min_section_tokens = min_section_tokens

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        from llama_index.core.node_parser.node_utils import build_nodes_from_splits

        out: list[BaseNode] = []
        for doc in nodes:
            text = doc.get_content(metadata_mode=MetadataMode.NONE)
            blocks = detect(text)
            spans = self._spans(text, blocks)
            chunk_nodes = build_nodes_from_splits([text[a:b] for a, b in spans], doc, id_func=self.id_func)
            title = str(doc.metadata.get("title", ""))
            starts = page_starts(text)
            ends = [blk.end for blk in blocks]  # increasing: blocks are disjoint and in order
            for node, (a, b) in zip(chunk_nodes, spans):
                inside = _overlapping(blocks, ends, a, b)
                body = [blk for blk in inside if blk.kind != "heading"] or inside
                section = section_label(common_section([blk.section for blk in body]), title)
                node.metadata.update({"start": a, "end": b, "blocks": encode_blocks(inside, a, b)})
                if section:
                    node.metadata["section"] = section[:MAX_SECTION_CHARS]
                if len(starts) > 1:
                    node.metadata["page"] = page_at(starts, a)
            out.extend(chunk_nodes)
        return out

    def _spans(self, text: str, blocks: list[Block]) -> list[tuple[int, int]]:
        groups = self._section_groups(text, blocks) if self.section_chunks else [(0, len(text))]
        spans: list[tuple[int, int]] = []
        for lo, hi in groups:
            sub = text[lo:hi]
            prev = (-1, 0)
            pieces = self.split_text(sub)
            for i, piece in enumerate(pieces):
                expect = prev[1] - (prev[1] - prev[0]) * self.chunk_overlap // max(1, self.chunk_size)
                pos = locate(sub, piece, *prev, expect=expect if i else None,
                             must_end=len(sub.rstrip()) if i == len(pieces) - 1 else None)
                if pos < 0:
                    raise ValueError("a chunk is not a slice of its document")
                prev = (pos, pos + len(piece))
                spans.append((lo + pos, lo + pos + len(piece)))
        return _fill_gaps(text, spans, groups)

    def _section_groups(self, text: str, blocks: list[Block]) -> list[tuple[int, int]]:
        """Spans of sections (a heading and what follows it), tiny ones merged with a neighbour."""
        cuts = [text.rfind("\n", 0, b.start) + 1 for b in blocks if b.kind == "heading"]  # "## " too
        bounds = sorted({0, *cuts, len(text)})
        sections = [(a, b) for a, b in zip(bounds, bounds[1:]) if text[a:b].strip()]
        size = [len(self._tokenizer(text[a:b])) for a, b in sections]
        groups: list[list[int]] = []  # [start, end, tokens]
        for (a, b), n in zip(sections, size):
            if groups and groups[-1][2] < self.min_section_tokens:  # a tiny one leads into the next
                groups[-1][1], groups[-1][2] = b, groups[-1][2] + n
            else:
                groups.append([a, b, n])
        if len(groups) > 1 and groups[-1][2] < self.min_section_tokens:  # a tiny last one: backwards
            last = groups.pop()
            groups[-1][1], groups[-1][2] = last[1], groups[-1][2] + last[2]
        return [(a, b) for a, b, _ in groups] or [(0, len(text))]

    def _postprocess_parsed_nodes(self, nodes: list[BaseNode], parent_doc_map: dict) -> list[BaseNode]:
        nodes = SentenceSplitter._postprocess_parsed_nodes(self, nodes, parent_doc_map)
        for node in nodes:  # llama-index re-finds spans by text search; ours are exact
            node.start_char_idx, node.end_char_idx = node.metadata["start"], node.metadata["end"]
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
