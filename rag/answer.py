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
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from rag import discourse
from rag.injection import is_injection
from rag.slots import anchors, anchors_present, asked_slot, fills, measured
from rag.text import content_terms
from rag.types import REFUSAL_TEXT, Answer, Chunk, Citation, Hit

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.sentence_store import SentenceSource
    from rag.sentences import Sentence, SentenceAnalyzer

log = logging.getLogger(__name__)

CONTEXT_DISCOUNT = 0.8
TYPED_RATIO = 0.7  # a sentence filling the asked-for slot is preferred if it scores this near the best
FOLLOW_RATIO = 0.5  # an anaphoric next sentence ("This was done to ...") joins at this share of the score
WH_HEAD_WEIGHT = 0.25  # "which broadcaster": the answer is a broadcaster, the word need not appear
DIGITS_RE = re.compile(r"\d+")
WH_HEAD_RE = re.compile(r"\b(?:which|what)\s+(\w+)")
# words that shape a question but say nothing about its topic
QUESTION_NOISE = frozenset(
    content_terms("say says said tell told mention mentioned describe described explain "
                  "happen happened according think thinks main kind type mean means meaning")
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
    is_question: bool = False  # a question in the text ("Why does ps get signal 17?") is no answer
    novel: bool = True  # says something beyond the question's and its document's own words
    before: tuple = ()  # sentences cited before it: what "this group" / "It" refers to
    after: tuple = ()  # sentences cited after it: the list it introduces, an anaphoric follow-up


def expected_labels(question: str) -> frozenset[str] | None:
    """Entity labels that can answer the question (None: any sentence may)."""
    slot = asked_slot(question)
    return slot.labels if slot and slot.labels else None


def _share(weights: dict[str, float], terms: set[str]) -> float:
    return sum(w for t, w in weights.items() if t in terms)


@lru_cache(maxsize=1024)
def _heading_terms(section: tuple[str, ...]) -> frozenset[str]:
    """The content terms of the nearest heading."""
    return frozenset(content_terms(section[-1])) if section else frozenset()


def _by_chunk(sentences: list[Sentence]) -> list[tuple[Chunk, list[Sentence]]]:
    groups: dict[str, tuple[Chunk, list[Sentence]]] = {}
    for s in sentences:
        groups.setdefault(s.chunk.chunk_id, (s.chunk, []))[1].append(s)
    return list(groups.values())


MAX_TITLE_PREFIX = 60


def _is_title_line(sent: Sentence, chunk: Chunk) -> bool:
    """The sentence is the line the document's title was taken from (a .txt's first line), not
    a later sentence that merely names the title ("Python-Multipart is a streaming parser.")."""
    title = chunk.title.strip()
    if not title or chunk.start != 0 or not sent.text.lstrip().startswith(title[:MAX_TITLE_PREFIX]):
        return False
    return not chunk.text[: max(0, sent.start - chunk.start)].strip()



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
        max_cited: int = 8,
    ) -> None:
        self.embedder = embedder
        self.analyzer = analyzer
        self.idf = idf
        self.max_sentences = max_sentences
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity
        self.min_score = min_score
        self.keep_ratio = keep_ratio
        self.max_cited = max_cited  # sentences cited in all, with their antecedents and list items
        self.stored = stored  # sentences + vectors computed at ingest (None: compute here)
        self._vec_cache: dict[tuple, list[float]] = {}

    def run(self, question: str, hits: list[Hit], query_vec: list[float]) -> Answer:
        return self.compose(question, hits, self.select(self.score(question, hits, query_vec)))

    def compose(self, question: str, hits: list[Hit], chosen: list[Scored]) -> Answer:
        """The cited answer made of the selected sentences, each with what it leans on (the
        sentence "this group" refers to, the list it introduces); a refusal when none."""
        if not chosen:
            return Answer(question, REFUSAL_TEXT, [], refused=True, hits=hits)
        parts: list[tuple[Sentence, float]] = []
        seen: set[tuple] = set()
        for s in chosen:
            for sent in (*s.before, s.sentence, *s.after):
                if sent.key not in seen and len(parts) < self.max_cited:
                    seen.add(sent.key)
                    parts.append((sent, s.score))
        citations = [
            Citation(n=i, source=sent.chunk.source, chunk_id=sent.chunk.chunk_id,
                     quote=sent.text, start=sent.start, end=sent.end,
                     score=round(score, 4), title=sent.chunk.title,
                     page=sent.page, section=sent.section_label)
            for i, (sent, score) in enumerate(parts, start=1)
        ]
        text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        return Answer(question, text, citations, refused=False, hits=hits)

    def score(self, question: str, hits: list[Hit], query_vec: list[float]) -> list[Scored]:
        sentences, vectors = self._sentences([h.chunk for h in hits])
        # instruction-like sentences (rag/injection.py) are never an answer nor an LLM source
        sentences = [s for s in sentences if not is_injection(s.text)]
        if not sentences:
            return []
        weights = self._weights(question)
        q_terms = set(content_terms(question))
        slot = asked_slot(question)
        q_anchors = anchors(question)
        measure = measured(question)
        qvec = np.asarray(query_vec, dtype=np.float32)
        sims = {s.key: float(np.dot(qvec, vectors[s.key])) for s in sentences}
        out: dict[tuple, Scored] = {}
        context: dict[tuple, tuple[list[Sentence], list[Sentence], tuple | None]] = {}
        for chunk, sents in _by_chunk(sentences):
            # the file name names its document too ("this README" in adduser-readme.txt)
            anchored = anchors_present(q_anchors, f"{chunk.index_text}\n{chunk.source}")
            topic = _heading_terms((chunk.title,))
            link = discourse.links(chunk, sents)
            prev_terms: set[str] = set()
            for i, sent in enumerate(sents):
                s_terms = set(content_terms(sent.text))
                # "these remarks": the previous sentence, the heading, a table's header row and the
                # question a FAQ answer answers give context, discounted
                ctx = s_terms | prev_terms | _heading_terms(sent.section)
                prev_terms = s_terms
                extra = [x for x in (link.header.get(i), sents[link.asked_by[i]] if i in link.asked_by else None) if x]
                for x in extra:
                    ctx |= set(content_terms(x.text))
                if sent.key in out:
                    continue
                own = _share(weights, s_terms)
                coverage = max(own, CONTEXT_DISCOUNT * _share(weights, ctx))
                similarity = sims[sent.key]
                # a number must be of what the question counts, said here or in the context
                typed_ok = fills(slot, sent.text, sent.entities, question) and (
                    slot is None or slot.name != "number" or not measure or bool(measure & ctx))
                lean_on = [link.asked_by[i]] if i in link.asked_by else []
                if slot is not None and typed_ok and i and own >= self.min_coverage:
                    lean_on.append(i - 1)  # the asked-for fact often comes just after the topic
                for j in lean_on:
                    similarity = max(similarity, CONTEXT_DISCOUNT * sims[sents[j].key])
                if slot is not None and typed_ok and own > 0 and sent.section:
                    # "JSON output" / "Added in: v0.6.12": the heading says what the filler is of
                    similarity = max(similarity, CONTEXT_DISCOUNT * self._heading_sim(sent.section[-1], qvec))
                said = s_terms.union(*(content_terms(x.text) for x in (*link.items.get(i, ()), link.before.get(i)) if x))
                # a one-line .txt's title is its own first sentence: that says nothing new only
                # if the title came from elsewhere
                own_title = _is_title_line(sent, chunk)
                # a one-digit number is no term but may be the whole answer ("exit status is 2")
                novel = bool(said - q_terms - (frozenset() if own_title else topic)
                             or set(DIGITS_RE.findall(sent.text)) - set(DIGITS_RE.findall(question)))
                out[sent.key] = Scored(sent, 0.5 * coverage + 0.5 * similarity, coverage, similarity,
                                       typed_ok, slot is not None and slot.required, anchored,
                                       discourse.is_question(sent.text) or i in link.labels, novel)
                follower = sents[link.follower[i]].key if i in link.follower else None
                before = [link.before[i]] if i in link.before else []
                context[sent.key] = (before, link.items.get(i, []), follower)
        for key, (before, items, follower) in context.items():
            s = out[key]
            after = list(items)
            if follower is not None and out[follower].score >= FOLLOW_RATIO * s.score:
                after.append(out[follower].sentence)
            if before or after:
                out[key] = replace(s, before=tuple(before), after=tuple(after))
        return sorted(out.values(), key=lambda s: -s.score)

    def _weights(self, question: str) -> dict[str, float]:
        """idf weight per content term of the question, normalised to sum 1."""
        q_terms = set(content_terms(question)) - QUESTION_NOISE
        weights = {t: self.idf(t) for t in q_terms}
        for head in wh_heads(question):
            if head in weights:
                weights[head] *= WH_HEAD_WEIGHT
        total = sum(weights.values()) or 1.0
        return {t: w / total for t, w in weights.items()}

    def select(self, scored: list[Scored]) -> list[Scored]:
        passing = [
            s for s in scored
            if s.anchored and not s.is_question and s.novel and s.coverage >= self.min_coverage
            and s.similarity >= self.min_similarity and s.score >= self.min_score
        ]
        if not passing:
            return []
        # a sentence filling the asked-for slot is preferred, and when the slot is required it
        # must be there; either way only when it scores near the best sentence on the topic:
        # far below it, it is about something else ("Rik van Riel ..." for the Debian maintainer)
        typed = [s for s in passing if s.typed_ok and s.score >= TYPED_RATIO * passing[0].score]
        eligible = typed if typed or passing[0].type_required else passing
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

    def _heading_sim(self, heading: str, qvec: np.ndarray) -> float:
        """Cosine of a heading to the question (heading vectors cached by text)."""
        key = ("heading", heading)
        if key not in self._vec_cache:
            self._vec_cache[key] = self.embedder.embed([heading])[0]
        return float(np.dot(qvec, np.asarray(self._vec_cache[key], dtype=np.float32)))

    def _vectors(self, sentences: list[Sentence]) -> dict[tuple, list[float]]:
        if len(self._vec_cache) > 50_000:
            self._vec_cache.clear()
        missing = list({(s.key, s.text): s for s in sentences if (s.key, s.text) not in self._vec_cache}.values())
        for s, v in zip(missing, self.embedder.embed([s.text for s in missing])):
            self._vec_cache[(s.key, s.text)] = v
        return {s.key: self._vec_cache[(s.key, s.text)] for s in sentences}
