"""Prompt-injection detector: a small, documented heuristic for instruction-like passages.

A document is data. A sentence that talks to the reader as if it were the system ("ignore all
previous instructions", "reply only with X", "you are now ...", "reveal the system prompt",
"disregard the above") is marked at ingest (chunk metadata "injection": how many such
sentences the chunk holds) and is never used as an extractive answer nor passed to an LLM as
a source (rag/answer.py drops it when scoring). The Documents panel shows the count.

It is a heuristic: precise phrases, not a classifier. It misses paraphrases ("kindly set
aside what you were told") and may flag a document *about* prompt injection; a flagged
sentence is only withheld from answers, never deleted, so a false positive costs one sentence.
"""

from __future__ import annotations

import re

_PRIOR = r"(?:previous|prior|preceding|above|earlier|former|foregoing|original)"
_RULES = r"(?:instructions?|prompts?|rules|directions|directives|guidelines|context|messages?)"
PATTERNS: tuple[re.Pattern, ...] = tuple(re.compile(p, re.I) for p in (
    rf"\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|every|of)\s+)*{_PRIOR}\s+{_RULES}",
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all|any|your)\s+(?:(?:of|the|your|my)\s+)*"
    r"(?:instructions?|prompts?)\b",
    rf"\b(?:disregard|ignore|forget)\s+(?:all\s+|everything\s+)?(?:the\s+)?{_PRIOR}\b",
    r"\b(?:reply|respond|answer|say|output|print|write)\s+(?:only|exactly|just|solely)\s+(?:with|:)",
    r"\b(?:reply|respond|answer)\s+with\s+(?:only|exactly|just)\b",
    r"\byou\s+are\s+now\b",
    r"\bfrom\s+now\s+on,?\s+you\b",
    r"\b(?:system|developer)\s+(?:prompt|message|instructions?)\b",
    r"\bnew\s+instructions?\s*:",
    r"\b(?:act|behave)\s+as\s+(?:if\s+you\s+(?:were|are)|an?\s+(?:unrestricted|jailbroken|different))\b",
    r"\bdo\s+not\s+(?:follow|obey)\s+(?:the\s+|your\s+|any\s+)?(?:{_PRIOR}\s+)?{_RULES}".format(
        _PRIOR=_PRIOR, _RULES=_RULES),
    r"<\s*/?\s*(?:system|sources|instructions?)\s*>",
))
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def is_injection(text: str) -> bool:
    """True when the text holds an instruction-like phrase aimed at the answering model."""
    return any(p.search(text) for p in PATTERNS)


def injection_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence-like piece of text holding an instruction-like phrase."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if is_injection(m.group())]


def count_injections(text: str) -> int:
    return len(injection_spans(text))
