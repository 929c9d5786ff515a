"""`rag chat`'s turn: provisional quoted answer, model tokens, verified answer; Ctrl-C keeps the quote."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rag.cli import chat_turn
from rag.types import Answer, Citation, Event

CITE = Citation(1, "a.txt", "a.txt#0", "Pumps run at 40 bar.", 0, 20, 0.9)
QUICK = Answer("q", "Pumps run at 40 bar. [1]", [CITE], False)
FINAL = Answer("q", "They run at 40 bar. [1]", [CITE], False, mode="generative")


def _svc(events):
    def stream(question, history=None):
        yield from events()

    return SimpleNamespace(stream=stream)


def test_chat_turn_prints_provisional_then_tokens_then_verified():
    def events():
        yield Event("retrieval")
        yield Event("provisional", answer=QUICK)
        yield Event("token", text="They run")
        yield Event("answer", answer=FINAL)

    out, history = io.StringIO(), []
    assert chat_turn(_svc(events), "q", history, out=out) is FINAL
    text = out.getvalue()
    assert text.index("(provisional") < text.index("Pumps run") < text.index("They run") \
        < text.index("-- verified --") < text.rindex("They run at 40 bar. [1]")
    assert history == [("q", FINAL.text)]


def test_ctrl_c_while_the_model_writes_keeps_the_quoted_answer():
    def events():
        yield Event("retrieval")
        yield Event("provisional", answer=QUICK)
        yield Event("token", text="They")
        raise KeyboardInterrupt

    out, history = io.StringIO(), []
    assert chat_turn(_svc(events), "q", history, out=out) is QUICK
    assert "keeping the quoted answer" in out.getvalue() and history == [("q", QUICK.text)]
