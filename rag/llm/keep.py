"""When the verified generated answer gives way to the extractive one (issue 13).

The refusal gate has already chosen the sentences that answer the question and composed the
extractive answer from them. After the model's answer is verified, the extractive answer is
shown instead (marked extractive, with a notice saying why) in four cases:

1. the verifier removed every sentence, yet the model neither said the sources do not answer
   nor reached for a name or number the sources lack, and a gate sentence is fact-bearing:
   the model paraphrased beyond support (or only restated the question) and the quote is the
   answer. An invented fact ("Paris", "March 15", "330 CE") is the guardrail's catch: the
   verifier's refusal stands, as does the model's own "the sources do not say";
2. the verified answer cites none of the gate's sentences: it rests on sentences the gate
   judged not to answer the question, so its citations do not point at the answer;
3. the gate's sentences state the asked-for fact (a version, a number, a date, a person ...)
   and the verified answer leaves it out, or rewrites an identifier (a version, path, URL or
   e-mail address must be quoted as the source writes it: "0.6.12" is not "v0.6.12");
4. the verified answer uses a content word that neither the question nor a passage it cites
   holds: it words the fact its own way ("printed as numbers" where the source says "printed
   as decimal integers", "equates to" for "is equivalent to"), and the quote says it exactly.
   Talk about the sources ("as stated in [1]") and a leading "Yes"/"No" do not count.

The rule can only turn a refusal into an answer in case 1; a guardrail refusal (the gate's,
the model's own, an invented fact) is never overridden.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.llm.verify import MARKER_RE, MODEL_REFUSED, NOVEL_PREFIX, NUM_RE
from rag.slots import asked_slot
from rag.text import content_terms

if TYPE_CHECKING:
    from rag.answer import Scored
    from rag.sentences import Sentence
    from rag.slots import Slot
    from rag.types import Answer

ALL_REMOVED = "no sentence of the generated answer is supported by the sources; showing the extractive answer"
NOT_CITED = ("the generated answer does not cite the passage that answers the question; "
             "showing the extractive answer")
FACT_DROPPED = "the generated answer leaves out the {slot} the sources state; showing the extractive answer"
REWORDED = ("the generated answer words the answer differently from the passage it cites; "
            "showing the extractive answer")
# words an answer may add without rewording its source: its talk about the sources, yes / no
ANSWER_TALK = "yes no source sources document documents text passage stated states says said mentioned according"
IDENTIFIER_SLOTS = frozenset({"email", "url", "path", "version"})  # quoted verbatim or not at all
NAME_WORD_RE = re.compile(r"[A-Za-z][\w'’\-]{2,}")
TOKEN_EDGES = ".,;:!?()[]{}\"'“”‘’"
FACT_SLOTS = frozenset({"email", "url", "path", "version", "year", "number", "duration", "date", "person",
                        "organisation", "name", "who", "place"})  # not "occasion": "if", "before" ...


def is_kept_notice(notice: str | None) -> bool:
    """The notice is one of this rule's (the UI, API and tests tell a kept answer by it)."""
    if not notice:
        return False
    head, _, tail = FACT_DROPPED.partition("{slot}")
    return notice in (ALL_REMOVED, NOT_CITED, REWORDED) or (notice.startswith(head) and notice.endswith(tail))


def fact_bearing(s: Scored) -> bool:
    """A gate sentence that states the kind of fact asked for: it fills the asked-for slot (a
    number for "how many", a person for "who"; any sentence when none is asked), it is no
    heading or question, and no bare list introduction ("... subdivided into stages:")."""
    sent = s.sentence
    intro_only = sent.text.rstrip().endswith(":") and not s.after
    return s.typed_ok and not s.is_question and sent.kind != "heading" and not intro_only


def _gate_sentences(chosen: Sequence[Scored]) -> list[Sentence]:
    return [x for s in chosen for x in (*s.before, s.sentence, *s.after)]


def cites_the_gate(verified: Answer, chosen: Sequence[Scored]) -> bool:
    """A citation of the verified answer overlaps a gate sentence (or one it leans on)."""
    spans = [(x.chunk.source, x.start, x.end) for x in _gate_sentences(chosen)]
    return any(c.source == src and c.start < end and start < c.end
               for c in verified.citations for src, start, end in spans)


def asked_fillers(question: str, slot: Slot, chosen: Sequence[Scored]) -> list[str]:
    """The fillers of the asked-for slot in the gate sentences that fill it (entities of the
    slot's kinds and pattern matches the question does not already hold)."""
    q_terms, q_lower = set(content_terms(question)), question.lower()
    out: list[str] = []
    for s in chosen:
        if not fact_bearing(s):
            continue
        sent = s.sentence
        out += [text for text, label in sent.entities
                if label in slot.labels and not set(content_terms(text)) & q_terms]
        if slot.pattern is not None:
            tokens = (_token_at(sent.text, m.start(), m.end()) for m in slot.pattern.finditer(sent.text))
            out += [t for t in tokens if t and t.lower() not in q_lower]
    return list(dict.fromkeys(f for f in out if f))


def _token_at(text: str, start: int, end: int) -> str:
    """The whitespace-delimited token around a match ("40" for the "4" of r"\\d"), without
    the punctuation that ends a sentence or opens a bracket."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end].strip(TOKEN_EDGES)


def _said(filler: str, text: str, exact: bool) -> bool:
    """The answer states the filler: verbatim; else (not an identifier) the same numbers, or
    for a name one of its words ("Peskov" for "Dmitry Peskov")."""
    low = " ".join(text.lower().split())
    if " ".join(filler.lower().split()) in low:
        return True
    if exact:
        return False
    numbers = NUM_RE.findall(filler)
    if numbers:
        said = set(NUM_RE.findall(text))
        return all(n in said for n in numbers)
    words = set(NAME_WORD_RE.findall(low))
    return any(w.lower() in words for w in NAME_WORD_RE.findall(filler))


def drops_the_fact(question: str, verified: Answer, chosen: Sequence[Scored]) -> str | None:
    """The slot's name when the gate's sentences state the asked-for fact and the verified
    answer states none of its fillers; else None."""
    slot = asked_slot(question)
    if slot is None or slot.name not in FACT_SLOTS:
        return None
    fillers = asked_fillers(question, slot, chosen)
    if not fillers:
        return None
    exact = slot.name in IDENTIFIER_SLOTS
    if any(_said(f, verified.text, exact) for f in fillers):
        return None
    return slot.name


def reworded_terms(question: str, verified: Answer) -> list[str]:
    """The verified answer's content terms (stemmed) that neither the question nor a quote it
    cites holds, nor talk about the sources."""
    allowed = set(content_terms(question)) | _answer_talk_terms()
    for c in verified.citations:
        allowed.update(content_terms(c.quote))
    return sorted(set(content_terms(MARKER_RE.sub(" ", verified.text))) - allowed)


@functools.cache
def _answer_talk_terms() -> frozenset[str]:
    return frozenset(content_terms(ANSWER_TALK))


def guardrail_refusal(verified: Answer) -> bool:
    """The model said the sources do not answer, or reached for a fact they lack."""
    return any(s.reason == MODEL_REFUSED or s.reason.startswith(NOVEL_PREFIX) for s in verified.sentences)


def keep_extractive(question: str, verified: Answer, chosen: Sequence[Scored]) -> str | None:
    """The notice to show the extractive answer with instead of `verified`, or None."""
    if not verified.llm.get("called") or not chosen:
        return None
    if verified.refused:
        if guardrail_refusal(verified) or not any(fact_bearing(s) for s in chosen):
            return None
        return ALL_REMOVED
    if not cites_the_gate(verified, chosen):
        return NOT_CITED
    dropped = drops_the_fact(question, verified, chosen)
    if dropped:
        return FACT_DROPPED.format(slot=_slot_words(dropped))
    return REWORDED if reworded_terms(question, verified) else None


def _slot_words(slot: str) -> str:
    return {"email": "e-mail address", "url": "address", "who": "name"}.get(slot, slot)
