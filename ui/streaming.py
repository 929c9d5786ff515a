"""Where the chat's events come from, and how finished text is replayed.

Events are rag.types.Event from `RagService.stream`: one "retrieval" (hits), "token"s
(provisional model output, generative mode only), then one "answer" (the final Answer,
authoritative). Answers that arrive without tokens (extractive ones) are replayed a few
words at a time by `replay`, so every answer appears as it would be typed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

WORDS_PER_PIECE = 3
PIECE_DELAY_S = 0.03


def answer_events(svc, question: str, history: list[dict], mode: str | None,
                  top_k: int | None) -> Iterator:
    """The chat's event source (the one place to change it)."""
    return svc.stream(question, history=history, mode=mode, top_k=top_k)


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
