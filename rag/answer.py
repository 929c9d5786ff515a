"""Answer stage, embedded default: pick the retrieved sentences that answer the question.

Answerability is judged per sentence, not from retrieval similarity alone:
- coverage: the idf-weighted share of the question's content terms the sentence holds;
- similarity: cosine between question and sentence embeddings;
- answer type: a "how many / how much / when" question needs a sentence holding a number or
  date (spaCy NER) that the question itself does not already name — a hard requirement;
  for "who / where / names of" questions a sentence with a fitting entity is preferred, but
  NER is too coarse there to refuse on (measured: as a hard gate it doubled false refusals
  on SQuAD 2.0 and clapnq, EVALS.md).
A question is refused when no sentence passes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.injection import is_injection
from rag.text import content_terms
from rag.types import REFUSAL_TEXT, Answer, Citation, Hit

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.sentences import Sentence, SentenceAnalyzer

log = logging.getLogger(__name__)

CONTEXT_DISCOUNT = 0.8
WH_HEAD_WEIGHT = 0.25  # "which broadcaster": the answer is a broadcaster, the word need not appear
WH_HEAD_RE = re.compile(r"\b(?:which|what)\s+(\w+)")
NUMERIC = {"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}
# (pattern on the lower-cased question, entity labels that can answer it, required?)
ANSWER_TYPES: list[tuple[re.Pattern, frozenset[str], bool]] = [
    (re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|proportion|share|amount)\b"),
     frozenset(NUMERIC), True),
    (re.compile(r"\bhow (long|old)\b"), frozenset(NUMERIC | {"DATE", "TIME"}), True),
    (re.compile(r"\bwhen\b|\b(what|which) (year|date|month|day|time|century|decade)\b"),
     frozenset({"DATE", "TIME"}), True),
    (re.compile(r"^(who|whom|whose)\b|\b(by|to|for|from|with) (who|whom)\b"),
     frozenset({"PERSON", "ORG", "NORP", "GPE"}), False),
    (re.compile(r"\bnames? of\b"), frozenset({"PERSON", "ORG", "PRODUCT", "WORK_OF_ART", "FAC"}), True),
    (re.compile(r"^where\b|\b(what|which) (country|city|place|town|state|nation)\b"),
     frozenset({"GPE", "LOC", "FAC"}), False),
]


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


def answer_type(question: str) -> tuple[frozenset[str] | None, bool]:
    """(entity labels that can answer the question, whether one is required)."""
    q = question.lower().strip()
    for pattern, labels, required in ANSWER_TYPES:
        if pattern.search(q):
            return labels, required
    return None, False


def expected_labels(question: str) -> frozenset[str] | None:
    return answer_type(question)[0]


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
    ) -> None:
        self.embedder = embedder
        self.analyzer = analyzer
        self.idf = idf
        self.max_sentences = max_sentences
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity
        self.min_score = min_score
        self.keep_ratio = keep_ratio
        self._vec_cache: dict[tuple, list[float]] = {}

    def run(self, question: str, hits: list[Hit], query_vec: list[float]) -> Answer:
        scored = self.score(question, hits, query_vec)
        chosen = self.select(scored)
        if not chosen:
            return Answer(question, REFUSAL_TEXT, [], refused=True, hits=hits)
        citations = [
            Citation(n=i, source=s.sentence.chunk.source, chunk_id=s.sentence.chunk.chunk_id,
                     quote=s.sentence.text, start=s.sentence.start, end=s.sentence.end,
                     score=round(s.score, 4), title=s.sentence.chunk.title)
            for i, s in enumerate(chosen, start=1)
        ]
        text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        return Answer(question, text, citations, refused=False, hits=hits)

    def score(self, question: str, hits: list[Hit], query_vec: list[float]) -> list[Scored]:
        # instruction-like sentences (rag/injection.py) are never an answer nor an LLM source
        sentences = [s for s in self.analyzer.analyze([h.chunk for h in hits])
                     if not is_injection(s.text)]
        if not sentences:
            return []
        vectors = self._vectors(sentences)
        q_terms = set(content_terms(question)) - QUESTION_NOISE
        weights = {t: self.idf(t) for t in q_terms}
        for head in wh_heads(question):
            if head in weights:
                weights[head] *= WH_HEAD_WEIGHT
        total = sum(weights.values()) or 1.0
        labels, required = answer_type(question)
        q_all_terms = set(content_terms(question))
        out: dict[tuple, Scored] = {}
        prev_terms: dict[str, set[str]] = {}
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
            similarity = sum(a * b for a, b in zip(query_vec, vectors[sent.key]))
            typed_ok = labels is None or any(
                label in labels and not set(content_terms(text)) & q_all_terms
                for text, label in sent.entities
            )
            out[sent.key] = Scored(sent, 0.5 * coverage + 0.5 * similarity, coverage, similarity,
                                   typed_ok, required)
        return sorted(out.values(), key=lambda s: -s.score)

    def select(self, scored: list[Scored]) -> list[Scored]:
        passing = [
            s for s in scored
            if (s.typed_ok or not s.type_required) and s.coverage >= self.min_coverage
            and s.similarity >= self.min_similarity and s.score >= self.min_score
        ]
        eligible = [s for s in passing if s.typed_ok] or passing
        if not eligible:
            return []
        best = eligible[0].score
        return [s for s in eligible if s.score >= self.keep_ratio * best][: self.max_sentences]

    def _vectors(self, sentences: list[Sentence]) -> dict[tuple, list[float]]:
        if len(self._vec_cache) > 50_000:
            self._vec_cache.clear()
        missing = list({s.key: s for s in sentences if s.key not in self._vec_cache}.values())
        for s, v in zip(missing, self.embedder.embed([s.text for s in missing])):
            self._vec_cache[s.key] = v
        return {s.key: self._vec_cache[s.key] for s in sentences}
