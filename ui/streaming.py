"""Where the chat's events come from: `answer_events`, one small switch.

Events follow rag.types.Event: "retrieval" (hits), "token" (provisional text), then one
"answer" (the final Answer, authoritative). The service's own `stream()` is used when it
has one; otherwise `ask()` is wrapped as retrieval + answer. Answers that arrive without
tokens (extractive ones) are replayed a few words at a time by `replay`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rag.types import Answer, Hit

WORDS_PER_PIECE = 3
PIECE_DELAY_S = 0.03


@dataclass
class UiEvent:
    """Same fields as rag.types.Event, for services without `stream()`."""

    type: str  # "retrieval" | "token" | "answer"
    text: str = ""
    hits: list[Hit] = field(default_factory=list)
    answer: Answer | None = None


def answer_events(svc, question: str, history: list[dict], mode: str | None,
                  top_k: int | None) -> Iterator:
    """The chat's event source."""
    if hasattr(svc, "stream"):
        return svc.stream(question, history=history, mode=mode, top_k=top_k)
    return ask_as_events(svc, question, mode, top_k)


def ask_as_events(svc, question: str, mode: str | None, top_k: int | None) -> Iterator[UiEvent]:
    answer = svc.ask(question, top_k=top_k)
    if mode == "generative" and not answer.notice:
        answer.notice = "generative answers are not available here; this answer is extractive"
    yield UiEvent("retrieval", hits=answer.hits)
    yield UiEvent("answer", answer=answer)


def pieces(text: str, per: int = WORDS_PER_PIECE) -> Iterator[str]:
    """Text in pieces of `per` words, whitespace kept, so the pieces join back to `text`."""
    parts = re.findall(r"\S+\s*|\s+", text)
    for i in range(0, len(parts), per):
        yield "".join(parts[i:i + per])


def replay(text: str, delay: float = PIECE_DELAY_S) -> Iterator[str]:
    """Growing prefixes of text, as if it were being typed."""
    shown = ""
    for piece in pieces(text):
        shown += piece
        yield shown
        time.sleep(delay)
