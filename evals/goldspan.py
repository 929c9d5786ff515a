"""Gold passages of the real-document sets: find them in extracted text, match citations and answers.

A gold passage is written once per question as a verbatim piece of the document's visible text,
and must be found in every extraction of that document (.txt/.md as the file, HTML through
BeautifulSoup, PDF through pypdf, with its line breaks, hyphenation and ligatures). So matching
runs on a *skeleton*: the NFKC-normalised, lower-cased letters and digits only, each mapped back
to its offset in the extracted text. Whitespace, punctuation, Markdown markup (`**`, backticks)
and line-end hyphens do not count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from evals import metrics as m

HYPHEN_BREAK_RE = re.compile(r"-\s*\n\s*")


def skeleton(text: str) -> tuple[str, list[int]]:
    """Letters and digits of `text` (NFKC, lower case) and, per kept char, its offset in `text`."""
    chars, offsets = [], []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).lower():
            if c.isalnum():
                chars.append(c)
                offsets.append(i)
    return "".join(chars), offsets


def locate(text: str, passage: str) -> list[tuple[int, int]]:
    """Every (start, end) span of `text` whose skeleton equals the passage's skeleton."""
    hay, offsets = skeleton(text)
    needle, _ = skeleton(passage)
    if not needle:
        return []
    spans, pos = [], hay.find(needle)
    while pos >= 0:
        spans.append((offsets[pos], offsets[pos + len(needle) - 1] + 1))
        pos = hay.find(needle, pos + 1)
    return spans


def overlaps(citation: dict, spans: Sequence[tuple[str, int, int]]) -> bool:
    """A citation {doc_id, start, end} shares at least one character with a gold span."""
    start, end = citation.get("start"), citation.get("end")
    if start is None or end is None:
        return False
    return any(citation.get("doc_id") == doc and max(start, s) < min(end, e) for doc, s, e in spans)


def answer_variants(text: str) -> list[str]:
    """The answer without markers, plus line-end hyphenation joined ("up-\\ndate" → update, up-date)."""
    return [m.strip_markers(t) for t in (text, HYPHEN_BREAK_RE.sub("", text), HYPHEN_BREAK_RE.sub("-", text))]


def has_gold(text: str, golds: Sequence[str], match: str = "any") -> bool:
    """SQuAD-normalised containment of any (or, for list answers, every) gold string."""
    if not golds:
        return False
    variants = answer_variants(text)
    found = [any(m.contains_answer(v, [g]) for v in variants) for g in golds]
    return all(found) if match == "all" else any(found)
