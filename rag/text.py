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


def content_terms(text: str) -> list[str]:
    """Stop-word-free, lower-cased, stemmed terms (the BM25 vocabulary).

    Upper-case acronyms are kept even when they spell a stop word ("US", "IT").
    """
    words = [
        w.lower()
        for w in TOKEN_RE.findall(text.replace("’", "'"))
        if w.lower() not in stopwords() or (w.isupper() and len(w) > 1)
    ]
    return stemmer().stemWords(words)
