"""Verification of a generated answer against the sources it was given.

For every sentence of the answer (markers [n] stripped):

- support of each source = 0.5 * lexical recall + 0.5 * cosine similarity (the retrieval
  embedder). Lexical recall is the idf-weighted share of the sentence's *new* content terms
  (those the question does not already hold) found in the source, so restating the question
  supports nothing. Two sources together may support a sentence that joins two facts;
- novelty: numbers, named entities and capitalised names that appear in no source (nor in the
  question) make the sentence unsupported whatever its similarity ("Paris", "30 firms");
- citations: markers that point at a source which does not support the sentence are replaced
  by the best supporting source(s); out-of-range markers are dropped.

Unsupported sentences are removed from the answer text (and reported with their score);
an answer with no supported sentence becomes a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rag.text import content_terms
from rag.types import REFUSAL_TEXT, Citation, SentenceSupport

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.llm.prompt import Source

MARKER_RE = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
NUM_RE = re.compile(r"\d+(?:[.,]\d+)*")
WORD_RE = re.compile(r"[A-Za-z][\w'’\-]*")
REFUSAL_RE = re.compile(  # the model's own "the sources do not answer", in its usual wordings
    r"\b(can(?:no|['’])?t|could ?n[o'’]t|unable to) (?:find|determine|answer)\b"
    r"|\bnot (?:mentioned|stated|found)\b|\bno (?:information|mention)\b"
    r"|\bnot specified\b(?=.*\b(?:sources?|documents?|text|context)\b)"  # not "if not specified, ..."
    r"|(?P<negation>\bdo(?:es)?(?: not|n['’]t) (?:say|mention|contain|provide|specify|state|include|answer)\b"
    r"|\bnot provided\b)", re.I)
SOURCE_TALK_RE = re.compile(  # "..., as stated in source [1]." once the marker is gone
    r",?\s*\b(?:(?:which is |as )?(?:stated|mentioned|noted|said|supported|shown|indicated|reported|"
    r"described|found) (?:in|by)|according to|as per|per)\s+(?:the\s+)?"
    r"sources?\b(?:\s+(?:above|provided))?", re.I)
PAIR_GAIN = 0.08  # a second source must raise support by this much to be cited too
MODEL_REFUSED = "says the sources do not answer"  # the reason given for the model's own refusals
NOVEL_PREFIX = "not in the sources: "  # the reason's start for a name or number no source holds


Span = tuple[int, int, tuple[tuple[str, str], ...]]  # (start, end, entities)


class Segmenter(Protocol):
    def segment(self, text: str) -> list[Span]:
        """Sentence spans of text (markers already removed), each with its named entities."""


class RegexSegmenter:
    """Splits after . ! ? followed by whitespace; no entities (tests, and a fallback)."""

    SPLIT_RE = re.compile(r"(?<=[.!?])\s+")

    def segment(self, text: str) -> list[Span]:
        spans, pos = [], 0
        for m in self.SPLIT_RE.finditer(text):
            spans.append((pos, m.start(), ()))
            pos = m.end()
        spans.append((pos, len(text), ()))
        return [sp for sp in spans if text[sp[0]:sp[1]].strip()]


class SpacySegmenter:
    """spaCy sentences and entities (the SentenceAnalyzer's pipeline)."""

    def __init__(self, nlp_getter: Callable[[], object]) -> None:
        self._nlp = nlp_getter

    def segment(self, text: str) -> list[Span]:
        doc = self._nlp()(text)
        return [(s.start_char, s.end_char, tuple((e.text, e.label_) for e in s.ents))
                for s in doc.sents if s.text.strip()]


def split_cited(text: str, segmenter: Segmenter) -> list[tuple[str, list[int], tuple]]:
    """(sentence without markers, the numbers cited in or right after it, entities)."""
    pieces, marks, pos = [], [], 0
    for m in MARKER_RE.finditer(text):
        pieces.append(text[pos:m.start()])
        marks.append((sum(map(len, pieces)), [int(n) for n in re.split(r"[,;]\s*", m.group(1))]))
        pos = m.end()
    pieces.append(text[pos:])
    clean = "".join(pieces)
    spans = segmenter.segment(clean) if clean.strip() else []
    out = []
    for i, (start, end, ents) in enumerate(spans):
        nxt = spans[i + 1][0] if i + 1 < len(spans) else len(clean) + 1
        lo = start if i else -1
        cited = [n for at, nums in marks if lo < at < nxt or (i == 0 and at <= start) for n in nums]
        sent = SOURCE_TALK_RE.sub("", " ".join(clean[start:end].split()))
        sent = re.sub(r"\s+([.,;:!?])", r"\1", sent).lstrip(" ,;:")
        sent = sent[:1].upper() + sent[1:]
        out.append((sent, cited, ents))
    return out


def is_model_refusal(sentence: str, source_text: str) -> bool:
    """The model says the sources do not answer. "Not mentioned", "no information" always
    are; a plain negation ("does not provide") is not when a source says it too: the model
    quotes a fact ("The 2.4 kernel does not provide proper support ..."). `source_text`: the
    sources' text, lower-cased, whitespace collapsed."""
    m = REFUSAL_RE.search(sentence)
    if m is None:
        return False
    return not m.group("negation") or " ".join(m.group(0).lower().split()) not in source_text


def _facts(clean: str, ents) -> list[str]:
    """The sentence's numbers and named entities: what a citation must hold."""
    return list(dict.fromkeys([*NUM_RE.findall(clean), *(text for text, _ in ents)]))


def _cite_the_facts(clean: str, ents, final: list[int], scores: list[float],
                    sources: Sequence[Source], question: str) -> list[int]:
    """`final` plus, for each number or name of the sentence that no cited source holds (nor
    the question), the best-supporting source that does ("..., which is 60% of the land [1]"
    when 60% is in [2])."""
    out = list(final)
    for fact in _facts(clean, ents):
        if fact.lower() in question.lower() or any(fact in sources[i].text for i in out):
            continue
        holders = [i for i in range(len(sources)) if fact in sources[i].text]
        if holders:
            out.append(max(holders, key=lambda i: scores[i]))
    return out


DEMONYM_RE = re.compile(r"(?:ian|ean|ese|ish|an|i)$")


def _name_allowed(term: str, allowed: set[str]) -> bool:
    """Exact stem, or a demonym of an allowed name ("russian" ~ "russia", "chines" ~ "china")."""
    if term in allowed:
        return True
    if DEMONYM_RE.search(term) and len(term) >= 5:
        return any(a[:4] == term[:4] for a in allowed)
    return False


@dataclass
class Verified:
    text: str
    citations: list[Citation]
    sentences: list[SentenceSupport]
    refused: bool
    removed: int = 0
    fixed: int = 0
    notes: list[str] = field(default_factory=list)


def with_markers(sentence: str, numbers: Sequence[int]) -> str:
    marks = "".join(f" [{n}]" for n in numbers)
    if sentence and sentence[-1] in ".!?":
        return sentence[:-1] + marks + sentence[-1]
    return sentence + marks


class Verifier:
    def __init__(self, embedder: Embedder, segmenter: Segmenter,
                 idf: Callable[[str], float] = lambda term: 1.0,
                 min_support: float = 0.5, min_cite: float = 0.35) -> None:
        self.embedder = embedder
        self.segmenter = segmenter
        self.idf = idf
        self.min_support = min_support
        self.min_cite = min_cite

    def verify(self, question: str, answer_text: str, sources: list[Source]) -> Verified:
        cleaned = split_cited(answer_text, self.segmenter)
        if not cleaned or not sources:
            return self._refusal([], len(cleaned))
        q_terms = set(content_terms(question))
        src_terms = [set(content_terms(s.text)) for s in sources]
        allowed_terms = set().union(*src_terms) | q_terms
        allowed_numbers = set(NUM_RE.findall(" ".join(s.text for s in sources) + " " + question))
        source_text = " ".join(" ".join(s.text for s in sources).lower().split())
        vectors = self.embedder.embed([c for c, _, _ in cleaned] + [s.text for s in sources])
        a_vecs, s_vecs = vectors[: len(cleaned)], vectors[len(cleaned):]
        reports: list[SentenceSupport] = []
        kept: list[tuple[str, list[int], list[float]]] = []  # (sentence, source indices, scores)
        seen: set[str] = set()
        fixed = 0
        for (clean, cited, ents), a_vec in zip(cleaned, a_vecs):
            terms = set(content_terms(clean))
            reason, score, chosen, scores = self._judge(
                clean, ents, terms - q_terms, a_vec, s_vecs, src_terms, allowed_terms,
                allowed_numbers, seen, source_text)
            seen.add(clean.lower())
            if reason:
                reports.append(SentenceSupport(clean, False, round(score, 4), (), tuple(cited), reason))
                continue
            valid = [n - 1 for n in dict.fromkeys(cited)
                     if 1 <= n <= len(sources) and scores[n - 1] >= max(self.min_cite, 0.6 * score)]
            final = _cite_the_facts(clean, ents, valid or chosen, scores, sources, question)
            if set(final) != {n - 1 for n in cited}:
                fixed += 1
            kept.append((clean, final, scores))
            reports.append(SentenceSupport(clean, True, round(score, 4), (), tuple(cited), ""))
        return self._assemble(kept, reports, sources, fixed)

    def _judge(self, clean, ents, terms, a_vec, s_vecs, src_terms, allowed_terms, allowed_numbers,
               seen, source_text: str = "") -> tuple[str, float, list[int], list[float]]:
        """(reason if unsupported, best support, supporting source indices, per-source scores).

        `terms`: the sentence's content terms that the question does not already hold.
        """
        if clean.lower() in seen:
            return "repeated sentence", 0.0, [], []
        if is_model_refusal(clean, source_text):
            return MODEL_REFUSED, 0.0, [], []
        if not terms:
            return "adds nothing to the question", 0.0, [], []
        weights = {t: self.idf(t) or 1.0 for t in terms}
        total = sum(weights.values())
        lex = [sum(w for t, w in weights.items() if t in st) / total for st in src_terms]
        sims = [sum(a * b for a, b in zip(a_vec, v)) for v in s_vecs]
        scores = [0.5 * lx + 0.5 * sm for lx, sm in zip(lex, sims)]
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        best, chosen = scores[order[0]], [order[0]]
        if len(order) > 1:
            union = src_terms[order[0]] | src_terms[order[1]]
            pair = 0.5 * sum(w for t, w in weights.items() if t in union) / total \
                + 0.5 * max(sims[order[0]], sims[order[1]])
            if pair >= best + PAIR_GAIN and lex[order[1]] > 0:
                best, chosen = pair, [order[0], order[1]]
        novel = self._novel(clean, ents, allowed_terms, allowed_numbers)
        if novel:
            return NOVEL_PREFIX + ", ".join(novel), best, [], scores
        if best < self.min_support:
            return "no source supports it", best, [], scores
        return "", best, chosen, scores

    @staticmethod
    def _novel(clean: str, ents, allowed_terms: set[str], allowed_numbers: set[str]) -> list[str]:
        out: list[str] = []
        for num in NUM_RE.findall(clean):
            if num not in allowed_numbers:
                out.append(num)
        names = [text for text, _ in ents]
        words = list(WORD_RE.finditer(clean))
        names += [m.group() for m in words[1:] if m.group()[0].isupper()]
        for name in names:
            if any(not _name_allowed(t, allowed_terms) for t in content_terms(name)) and name not in out:
                out.append(name)
        return out

    def _assemble(self, kept, reports, sources, fixed) -> Verified:
        removed = sum(1 for r in reports if not r.supported)
        if not kept:
            return self._refusal(reports, removed, fixed)
        numbers: dict[int, int] = {}  # source index -> final citation number
        citations: list[Citation] = []
        parts: list[str] = []
        per_sentence: list[tuple[int, ...]] = []
        for clean, final, scores in kept:
            for i in final:
                if i not in numbers:
                    numbers[i] = len(numbers) + 1
                    s = sources[i]
                    citations.append(Citation(
                        n=numbers[i], source=s.chunk.source, chunk_id=s.chunk.chunk_id, quote=s.text,
                        start=s.start, end=s.end, score=round(scores[i], 4), title=s.chunk.title))
            nums = tuple(numbers[i] for i in final)
            per_sentence.append(nums)
            parts.append(with_markers(clean, nums))
        it = iter(per_sentence)
        reports = [SentenceSupport(r.text, r.supported, r.score, next(it) if r.supported else (),
                                   r.cited, r.reason) for r in reports]
        return Verified(" ".join(parts), citations, reports, refused=False, removed=removed, fixed=fixed)

    @staticmethod
    def _refusal(reports, removed, fixed=0) -> Verified:
        return Verified(REFUSAL_TEXT, [], list(reports), refused=True, removed=removed, fixed=fixed)
