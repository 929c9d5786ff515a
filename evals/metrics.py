"""Scoring functions: retrieval, answers, refusals, citations, latency. No LLM needed.

Answer normalisation, exact match and token F1 follow the official SQuAD v2.0 evaluation
script (lower-case, strip punctuation and the articles a/an/the, collapse whitespace).
ROUGE-L comes from Google's `rouge-score` package.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

KS = (1, 3, 5, 10)
ARTICLES_RE = re.compile(r"\b(a|an|the)\b", re.UNICODE)
MARKER_RE = re.compile(r"\[\d+\]")
SENT_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“‘(\[])")
LEADING_MARKERS_RE = re.compile(r"^((?:\[\d+\]\s*)+)")
PUNCT = set(string.punctuation) | set("‘’“”–—")


# --- answers ---------------------------------------------------------------------------
def normalize_answer(text: str) -> str:
    """SQuAD v2.0 normalisation: lower, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in PUNCT)
    return " ".join(ARTICLES_RE.sub(" ", text).split())


def strip_markers(text: str) -> str:
    """The answer without its citation markers ("[1]")."""
    return " ".join(MARKER_RE.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds)) if golds else 0.0


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1, the best over the gold answers."""
    pred = normalize_answer(prediction).split()
    return max((_f1(pred, normalize_answer(g).split()) for g in golds), default=0.0)


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """A normalised gold answer string occurs in the normalised text (word-bounded)."""
    hay = f" {normalize_answer(text)} "
    return any(f" {normalize_answer(g)} " in hay for g in golds if normalize_answer(g))


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(prediction: str, golds: Sequence[str]) -> float:
    """ROUGE-L F-measure (rouge-score, Porter stemming), the best over the gold answers."""
    if not golds or not prediction.strip():
        return 0.0
    scorer = _rouge_scorer()
    return max(scorer.score(g, prediction)["rougeL"].fmeasure for g in golds)


# --- retrieval -------------------------------------------------------------------------
def dedupe(ids: Iterable[str]) -> list[str]:
    """Ranked distinct ids: each id at its first (best) rank."""
    seen: dict[str, None] = {}
    for i in ids:
        seen.setdefault(i, None)
    return list(seen)


def hit_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return float(any(d in gold for d in ranked[:k]))


def recall_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return len(gold & set(ranked[:k])) / len(gold) if gold else 0.0


def reciprocal_rank(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    return next((1.0 / r for r, d in enumerate(ranked[:k], start=1) if d in gold), 0.0)


def ndcg_at(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k over distinct ranked ids."""
    dcg = sum(1.0 / math.log2(r + 1) for r, d in enumerate(ranked[:k], start=1) if d in gold)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal else 0.0


def retrieval_scores(ranked: Sequence[str], gold: Sequence[str]) -> dict[str, float]:
    """Per-question retrieval scores against the gold document ids."""
    gold_set, ranked = set(gold), dedupe(ranked)
    out = {f"hit@{k}": hit_at(ranked, gold_set, k) for k in KS}
    out.update({f"recall@{k}": recall_at(ranked, gold_set, k) for k in KS})
    out["mrr@10"] = reciprocal_rank(ranked, gold_set, 10)
    out["ndcg@10"] = ndcg_at(ranked, gold_set, 10)
    return out


# --- citations -------------------------------------------------------------------------
def answer_sentences(text: str, quotes: Sequence[str] = ()) -> list[str]:
    """Sentences of an answer; markers that open a piece belong to the sentence before.

    Cited quotes found verbatim in the answer are kept whole (an extractive answer's unit is
    "quote [n]", whatever punctuation the quote holds).
    """
    for i, quote in enumerate(sorted({q for q in quotes if q}, key=len, reverse=True)):
        text = text.replace(quote, f"Quote{i}")
    pieces = [p for p in SENT_SPLIT_RE.split(text.strip()) if p.strip()]
    out: list[str] = []
    for piece in pieces:
        m = LEADING_MARKERS_RE.match(piece)
        if m and out:
            out[-1] = f"{out[-1]} {m.group(1).strip()}"
            piece = piece[m.end():]
        if piece.strip():
            out.append(piece.strip())
    return out


def cited_sentence_share(text: str, quotes: Sequence[str] = ()) -> float | None:
    """Share of answer sentences that carry a citation marker; None for an empty answer."""
    sents = answer_sentences(text, quotes)
    return sum(bool(MARKER_RE.search(s)) for s in sents) / len(sents) if sents else None


# --- latency and aggregation -----------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None when empty."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None
