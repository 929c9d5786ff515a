"""Event source and replay: the service's stream is used; replayed text grows to the answer."""

from hypothesis import given
from hypothesis import strategies as st

from ui.streaming import answer_events, pieces, replay


@given(st.text())
def test_pieces_join_back(text):
    assert "".join(pieces(text)) == text


def test_replay_grows_to_the_full_text():
    text = "One two three four five six seven. [1]"
    shown = list(replay(text, delay=0))
    assert len(shown) > 1 and shown[-1] == text
    assert all(b.startswith(a) for a, b in zip(shown, shown[1:]))


class Streaming:
    def __init__(self):
        self.calls = []

    def stream(self, question, history=None, mode=None, top_k=None):
        self.calls.append((question, history, mode, top_k))
        return iter(["from stream"])


def test_service_stream_gets_history_mode_and_top_k():
    svc = Streaming()
    history = [{"role": "user", "content": "hi"}]
    assert list(answer_events(svc, "q", history, "generative", 4)) == ["from stream"]
    assert svc.calls == [("q", history, "generative", 4)]
