"""Follow-up questions made standalone before retrieval, from a bounded chat history.

"What did it get in return?" after "What has North Korea supplied to Russia?" becomes
"What did North Korea get in return?".

- A question is a follow-up when history exists and it refers back (he / it / they / that /
  there ... with no named entity of its own, or "what about ...").
- Pronouns are replaced by the most recent named entity of a fitting kind from the last
  `turns` exchanges (he/she: a person; it: an organisation or place; there: a place). This
  needs no LLM and is instant.
- When that leaves a reference unresolved ("that target", "what about ..."), an LLM (when
  given) rewrites the question from the clipped history; the rewrite is accepted only if every
  content word in it comes from the question or the history and it keeps most of the
  question's own words. Otherwise the previous question is appended as context.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from rag.text import content_terms

log = logging.getLogger(__name__)

PERSON = frozenset({"PERSON"})
THING = frozenset({"ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART"})
PLACE = frozenset({"GPE", "LOC", "FAC"})
REFERENT_LABELS = PERSON | THING | {"NORP"}
# pronoun -> (replacement pattern, entity labels it can refer to); demonstratives are only
# detected (their referent is a phrase, not a name)
PRONOUNS: dict[str, tuple[str, frozenset[str]]] = {
    "he": ("{}", PERSON), "him": ("{}", PERSON), "his": ("{}'s", PERSON),
    "she": ("{}", PERSON), "her": ("{}", PERSON),
    "it": ("{}", THING), "its": ("{}'s", THING),
    "they": ("{}", REFERENT_LABELS), "them": ("{}", REFERENT_LABELS), "their": ("{}'s", REFERENT_LABELS),
    "there": ("in {}", PLACE),
}
DEMONSTRATIVES = ("this", "that", "these", "those")
REF_RE = re.compile(r"\b(" + "|".join([*PRONOUNS, *DEMONSTRATIVES]) + r")\b", re.I)
ABOUT_RE = re.compile(r"^\s*(and\s+)?(what|how)\s+about\b", re.I)
TURN_CHARS = 300

Entities = Callable[[str], list[tuple[str, str]]]
History = Sequence[object]


def normalize_history(history: History | None, turns: int) -> list[tuple[str, str]]:
    """(question, answer) pairs from tuples or OpenAI-style {"role", "content"} dicts; last `turns`."""
    pairs: list[tuple[str, str]] = []
    pending: str | None = None
    for item in history or []:
        if isinstance(item, dict):
            role, content = item.get("role"), str(item.get("content") or "")
            if role == "user":
                if pending is not None:
                    pairs.append((pending, ""))
                pending = content
            elif role == "assistant" and pending is not None:
                pairs.append((pending, content))
                pending = None
        else:
            q, a = (list(item) + ["", ""])[:2]
            pairs.append((str(q or ""), str(a or "")))
    if pending is not None:
        pairs.append((pending, ""))
    return [(q[:TURN_CHARS], a[:TURN_CHARS]) for q, a in pairs if q.strip()][-turns:] if turns > 0 else []


def is_followup(question: str, entities: Entities) -> bool:
    if ABOUT_RE.search(question):
        return True
    if not REF_RE.search(question):
        return False
    return not any(label in REFERENT_LABELS for _, label in entities(question))


def heuristic_rewrite(question: str, history: list[tuple[str, str]],
                      entities: Entities) -> tuple[str, bool]:
    """(rewrite, whether every reference was resolved).

    Each pronoun becomes the most recent named entity of a fitting kind (latest answer first,
    then the latest question, and so on back); otherwise the previous question is appended.
    """
    candidates = [(text, label) for q, a in reversed(history)
                  for turn in (a, q) for text, label in entities(turn) if label in REFERENT_LABELS]
    unresolved = bool(ABOUT_RE.search(question))

    def repl(m: re.Match) -> str:
        nonlocal unresolved
        word = m.group(1).lower()
        if word in PRONOUNS:
            pattern, labels = PRONOUNS[word]
            name = next((text for text, label in candidates if label in labels), None)
            if name:
                return pattern.format(name)
        unresolved = True
        return m.group(0)

    out = REF_RE.sub(repl, question) if not unresolved else question
    if unresolved and history:
        return f"{out} (follow-up to: {history[-1][0]})", False
    return out, True


def rewrite_ok(rewrite: str, question: str, history: list[tuple[str, str]]) -> bool:
    if not rewrite or "\n" in rewrite.strip() or len(rewrite) > 3 * len(question) + 200:
        return False
    allowed = set(content_terms(question))
    for q, a in history:
        allowed |= set(content_terms(q)) | set(content_terms(a))
    own = set(content_terms(question))
    terms = set(content_terms(rewrite))
    return terms <= allowed and len(own & terms) >= 0.5 * len(own) and terms != own


def condense_messages(question: str, history: list[tuple[str, str]]) -> list[dict]:
    convo = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history)
    return [
        {"role": "system", "content": "Rewrite the user's follow-up question as one standalone "
         "question, replacing pronouns with what they refer to in the conversation. Output only "
         "the rewritten question."},
        {"role": "user", "content": f"Conversation:\n{convo}\n\nFollow-up question: {question}\n"
         "Standalone question:"},
    ]


def condense(question: str, history: History | None, entities: Entities, turns: int = 3,
             llm_complete: Callable[[list[dict]], str] | None = None) -> str:
    """The standalone form of `question` (itself when it is not a follow-up)."""
    pairs = normalize_history(history, turns)
    if not pairs or not is_followup(question, entities):
        return question
    out, resolved = heuristic_rewrite(question, pairs, entities)
    if resolved:
        log.info("condensed %r -> %r (pronouns resolved)", question, out)
        return out
    if llm_complete is not None:
        try:
            rewrite = " ".join(llm_complete(condense_messages(question, pairs)).strip().split())
        except Exception as exc:  # noqa: BLE001 - the heuristic below still answers
            log.info("LLM condensing failed (%s); using the heuristic", exc)
        else:
            rewrite = rewrite.removeprefix("Standalone question:").strip().strip('"')
            if rewrite_ok(rewrite, question, pairs):
                log.info("condensed %r -> %r (LLM)", question, rewrite)
                return rewrite
            log.info("rejected LLM rewrite %r of %r", rewrite, question)
    log.info("condensed %r -> %r (previous question appended)", question, out)
    return out
