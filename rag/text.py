"""Shared text helpers: the one tokenizer/stemmer used by BM25 and by lexical overlap."""

from __future__ import annotations

import re
from functools import lru_cache

TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


class _TermCache:
    """Raw word -> its BM25 term (or "" for a stop word), memoised: one dict lookup per word.

    Measured on 20k synthetic chunks: 2.2 s without the memo, about 0.5 s with it.
    Bounded: cleared when it passes `limit` distinct words.
    """

    def __init__(self, limit: int = 500_000) -> None:
        self.limit = limit
        self.terms: dict[str, str] = {}

    def learn(self, words: list[str]) -> None:
        if len(self.terms) > self.limit:
            self.terms.clear()
        stop = stopwords()
        kept = [w for w in words if w.lower() not in stop or (w.isupper() and len(w) > 1)]
        stems = stemmer().stemWords([w.lower() for w in kept])
        new = dict.fromkeys(words, "")
        new.update(zip(kept, stems))
        self.terms.update(new)


_CACHE = _TermCache()


def content_terms(text: str) -> list[str]:
    """Stop-word-free, lower-cased, stemmed terms (the BM25 vocabulary).

    Upper-case acronyms are kept even when they spell a stop word ("US", "IT").
    """
    words = TOKEN_RE.findall(text.replace("’", "'"))
    terms = _CACHE.terms
    unknown = [w for w in set(words) if w not in terms]
    if unknown:
        _CACHE.learn(unknown)
        terms = _CACHE.terms
    return [t for t in map(terms.__getitem__, words) if t]
