"""Event source and replay: ask() wrapped as events; replayed text grows to the full answer."""

from hypothesis import given
from hypothesis import strategies as st

from rag.types import REFUSAL_TEXT, Answer
from ui.streaming import answer_events, pieces, replay


@given(st.text())
def test_pieces_join_back(text):
    assert "".join(pieces(text)) == text


def test_replay_grows_to_the_full_text():
    text = "One two three four five six seven. [1]"
    shown = list(replay(text, delay=0))
    assert len(shown) > 1 and shown[-1] == text
    assert all(b.startswith(a) for a, b in zip(shown, shown[1:]))


class AskOnly:
    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def ask(self, question, top_k=None):
        self.calls.append((question, top_k))
        return self.answer


class Streaming(AskOnly):
    def stream(self, question, history=None, mode=None, top_k=None):
        self.calls.append((question, history, mode, top_k))
        return iter(["from stream"])


def test_ask_only_service_gives_retrieval_then_answer():
    ans = Answer("q", "Text. [1]", [], refused=False)
    svc = AskOnly(ans)
    events = list(answer_events(svc, "q", [], "extractive", 3))
    assert svc.calls == [("q", 3)]
    assert [e.type for e in events] == ["retrieval", "answer"] and events[-1].answer is ans
    assert ans.notice is None


def test_generative_without_stream_says_so():
    svc = AskOnly(Answer("q", REFUSAL_TEXT, [], refused=True))
    events = list(answer_events(svc, "q", [], "generative", None))
    assert "extractive" in events[-1].answer.notice


def test_service_stream_is_used_when_present():
    svc = Streaming(None)
    history = [{"role": "user", "content": "hi"}]
    assert list(answer_events(svc, "q", history, "generative", 4)) == ["from stream"]
    assert svc.calls == [("q", history, "generative", 4)]
