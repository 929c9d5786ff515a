"""Answer stage, embedded default: pick the retrieved sentences that answer the question.

Answerability is judged per sentence, not from retrieval similarity alone:
- coverage: the idf-weighted share of the question's content terms the sentence holds;
- similarity: cosine between question and sentence embeddings;
- the asked-for slot (rag/slots.py): an email, URL, path, version, year, date, number,
  person or organisation the question asks for must be in the sentence, as something the
  question does not already name; for plain "who / where" a fitting entity is only
  preferred (NER is too coarse to refuse on: as a hard gate it doubled false refusals on
  SQuAD 2.0 and clapnq, EVALS.md);
- anchors: the question's numbers and capitalised names must occur in the sentence's chunk.
A question is refused when no sentence passes.
"""

from __future__ import annotations

import logging
import re

import numpy as np
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.injection import is_injection
from rag.slots import anchors, anchors_present, asked_slot, fills
from rag.text import content_terms
from rag.types import REFUSAL_TEXT, Answer, Chunk, Citation, Hit

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.sentence_store import SentenceSource
    from rag.sentences import Sentence, SentenceAnalyzer

log = logging.getLogger(__name__)

CONTEXT_DISCOUNT = 0.8
WH_HEAD_WEIGHT = 0.25  # "which broadcaster": the answer is a broadcaster, the word need not appear
WH_HEAD_RE = re.compile(r"\b(?:which|what)\s+(\w+)")
# words that shape a question but say nothing about its topic
QUESTION_NOISE = frozenset(
    content_terms("say says said tell told mention mentioned describe described explain "
                  "happen happened according think thinks main kind type")
)


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    score: float
    coverage: float
    similarity: float
    typed_ok: bool  # holds an entity of the expected kind (or no kind is expected)
    type_required: bool = True  # False: typed_ok is a preference, not a gate
    anchored: bool = True  # the question's numbers and names occur in the sentence's chunk


def expected_labels(question: str) -> frozenset[str] | None:
    """Entity labels that can answer the question (None: any sentence may)."""
    slot = asked_slot(question)
    return slot.labels if slot and slot.labels else None


def wh_heads(question: str) -> set[str]:
    """Stemmed head nouns of "which X" / "what X" phrases."""
    return {t for m in WH_HEAD_RE.finditer(question.lower()) for t in content_terms(m.group(1))}


class ExtractiveAnswerer:
    """Selects answering sentences from retrieved chunks and cites each one."""

    def __init__(
        self,
        embedder: Embedder,
        analyzer: SentenceAnalyzer,
        idf: Callable[[str], float],
        max_sentences: int = 3,
        min_coverage: float = 0.25,
        min_similarity: float = 0.25,
        min_score: float = 0.42,
        keep_ratio: float = 0.85,
        stored: SentenceSource | None = None,
    ) -> None:
        self.embedder = embedder
        self.analyzer = analyzer
        self.idf = idf
        self.max_sentences = max_sentences
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity
        self.min_score = min_score
        self.keep_ratio = keep_ratio
        self.stored = stored  # sentences + vectors computed at ingest (None: compute here)
        self._vec_cache: dict[tuple, list[float]] = {}

    def run(self, question: str, hits: list[Hit], query_vec: list[float]) -> Answer:
        return self.compose(question, hits, self.select(self.score(question, hits, query_vec)))

    def compose(self, question: str, hits: list[Hit], chosen: list[Scored]) -> Answer:
        """The cited answer made of the selected sentences (a refusal when none)."""
        if not chosen:
            return Answer(question, REFUSAL_TEXT, [], refused=True, hits=hits)
        citations = [
            Citation(n=i, source=s.sentence.chunk.source, chunk_id=s.sentence.chunk.chunk_id,
                     quote=s.sentence.text, start=s.sentence.start, end=s.sentence.end,
                     score=round(s.score, 4), title=s.sentence.chunk.title,
                     page=s.sentence.page, section=s.sentence.section_label)
            for i, s in enumerate(chosen, start=1)
        ]
        text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        return Answer(question, text, citations, refused=False, hits=hits)

    def score(self, question: str, hits: list[Hit], query_vec: list[float]) -> list[Scored]:
        sentences, vectors = self._sentences([h.chunk for h in hits])
        # instruction-like sentences (rag/injection.py) are never an answer nor an LLM source
        sentences = [s for s in sentences if not is_injection(s.text)]
        if not sentences:
            return []
        q_terms = set(content_terms(question)) - QUESTION_NOISE
        weights = {t: self.idf(t) for t in q_terms}
        for head in wh_heads(question):
            if head in weights:
                weights[head] *= WH_HEAD_WEIGHT
        total = sum(weights.values()) or 1.0
        slot = asked_slot(question)
        required = slot is not None and slot.required
        q_anchors = anchors(question)
        qvec = np.asarray(query_vec, dtype=np.float32)
        out: dict[tuple, Scored] = {}
        prev_terms: dict[str, set[str]] = {}
        anchored_in: dict[str, bool] = {}  # chunk id -> the question's anchors occur in it
        for sent in sentences:
            s_terms = set(content_terms(sent.text))
            # "these remarks": the previous sentence of the same chunk gives context
            ctx = s_terms | prev_terms.get(sent.chunk.chunk_id, set())
            prev_terms[sent.chunk.chunk_id] = s_terms
            if sent.key in out:
                continue
            coverage = max(
                sum(w for t, w in weights.items() if t in s_terms) / total,
                CONTEXT_DISCOUNT * sum(w for t, w in weights.items() if t in ctx) / total,
            )
            similarity = float(np.dot(qvec, vectors[sent.key]))
            typed_ok = fills(slot, sent.text, sent.entities, question)
            cid = sent.chunk.chunk_id
            if cid not in anchored_in:
                anchored_in[cid] = anchors_present(q_anchors, sent.chunk.index_text)
            anchored = anchored_in[cid]
            out[sent.key] = Scored(sent, 0.5 * coverage + 0.5 * similarity, coverage, similarity,
                                   typed_ok, required, anchored)
        return sorted(out.values(), key=lambda s: -s.score)

    def select(self, scored: list[Scored]) -> list[Scored]:
        passing = [
            s for s in scored
            if (s.typed_ok or not s.type_required) and s.anchored and s.coverage >= self.min_coverage
            and s.similarity >= self.min_similarity and s.score >= self.min_score
        ]
        eligible = [s for s in passing if s.typed_ok] or passing
        if not eligible:
            return []
        best = eligible[0].score
        return [s for s in eligible if s.score >= self.keep_ratio * best][: self.max_sentences]

    def _sentences(self, chunks: list[Chunk]) -> tuple[list[Sentence], dict[tuple, list[float]]]:
        """The chunks' sentences in order, and their vectors: stored at ingest when there,
        else analysed and embedded now (chunks indexed before sentences were stored)."""
        stored = self.stored.sentences(chunks) if self.stored is not None else {}
        missing = [c for c in chunks if c.chunk_id not in stored]
        fresh = self.analyzer.analyze(missing) if missing else []
        vectors = self._vectors(fresh)
        per_chunk: dict[str, list[Sentence]] = {}
        for s in fresh:
            per_chunk.setdefault(s.chunk.chunk_id, []).append(s)
        for cid, pairs in stored.items():
            per_chunk[cid] = [s for s, _ in pairs]
            vectors.update((s.key, v) for s, v in pairs)
        return [s for c in chunks for s in per_chunk.get(c.chunk_id, [])], vectors

    def _vectors(self, sentences: list[Sentence]) -> dict[tuple, list[float]]:
        if len(self._vec_cache) > 50_000:
            self._vec_cache.clear()
        missing = list({(s.key, s.text): s for s in sentences if (s.key, s.text) not in self._vec_cache}.values())
        for s, v in zip(missing, self.embedder.embed([s.text for s in missing])):
            self._vec_cache[(s.key, s.text)] = v
        return {s.key: self._vec_cache[(s.key, s.text)] for s in sentences}
