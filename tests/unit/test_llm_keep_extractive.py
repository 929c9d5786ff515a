"""When the verifier empties a generated answer: the extractive answer or a refusal (issue 13).

The real LLMBackend (prompt, token stream, Verifier, answer) runs against a fake of the
OpenAI client it calls; the extractive answerer is a fake returning real `Scored` sentences.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.answer import Scored
from rag.llm.backend import LLMBackend
from rag.llm.verify import MODEL_REFUSED, RegexSegmenter, Verifier
from rag.pipeline import KEPT_EXTRACTIVE, AnswerPipeline, fact_bearing, keeps_extractive
from rag.sentences import Sentence
from rag.types import REFUSAL_TEXT, Answer, Chunk, Citation, Hit, SentenceSupport
from tests.fakes import FakeEmbedder

TEXT = "Pumps run at 40 bar. The plant has three pumps."
CHUNK = Chunk("a.txt#0", "a.txt", "a.txt", "Pumps", TEXT, 0, len(TEXT))
HIT = Hit(CHUNK, 1.0)
BASE_URL = "http://127.0.0.1:7999/v1"


def _scored(text: str, typed_ok: bool = True, kind: str = "paragraph", after=()) -> Scored:
    start = TEXT.index(text) if text in TEXT else 0
    sent = Sentence(CHUNK, start, start + len(text), text, (), kind)
    return Scored(sent, 0.9, 0.8, 0.8, typed_ok, after=tuple(after))


class FakeRetriever:
    def start_bm25(self, question, top_k=None, mode=None):
        return None

    def retrieve(self, question, top_k=None, query_vec=None, bm25=None):
        return [HIT]


class GateOf:
    """The ExtractiveAnswerer interface, passing the given sentences through the gate."""

    def __init__(self, chosen: list[Scored]) -> None:
        self.chosen = chosen

    def score(self, question, hits, qvec):
        return list(self.chosen)

    def select(self, scored):
        return list(scored)

    def compose(self, question, hits, chosen):
        cites = [Citation(i, "a.txt", "a.txt#0", s.sentence.text, s.sentence.start, s.sentence.end, s.score)
                 for i, s in enumerate(chosen, start=1)]
        return Answer(question, " ".join(f"{c.quote} [{c.n}]" for c in cites), cites, refused=False, hits=hits)


class FakeOpenAI:
    """`chat.completions.create(stream=True)` of the openai client: the given text in pieces."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, **kwargs):
        words = self.text.split(" ")
        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            choice = SimpleNamespace(delta=SimpleNamespace(content=piece), finish_reason="stop" if last else None)
            yield SimpleNamespace(model="local", choices=[choice], model_extra={})


def _pipeline(make_settings, model_says: str, chosen: list[Scored]) -> AnswerPipeline:
    settings = make_settings(llm_base_url=BASE_URL)
    embedder = FakeEmbedder(dimension=256)
    backend = LLMBackend(settings, embedder, SimpleNamespace(nlp=None), lambda t: 1.0)
    backend.__dict__["verifier"] = Verifier(embedder, RegexSegmenter())
    client = backend.client  # the real LLMClient for the configured endpoint
    client._client, client._tokenize_url = FakeOpenAI(model_says), False
    return AnswerPipeline(settings, embedder, FakeRetriever(), GateOf(chosen),
                          SimpleNamespace(entities=lambda t: []), generator=backend)


def _final(pipe: AnswerPipeline, question: str) -> Answer:
    events = list(pipe.stream(question, mode="generative"))
    assert [e.type for e in events][:2] == ["retrieval", "provisional"]
    return events[-1].answer


def test_an_unsupported_attempt_keeps_the_extractive_answer_marked_as_such(make_settings):
    pipe = _pipeline(make_settings, "Pumps in Paris run at 70 bar [1].", [_scored("Pumps run at 40 bar.")])
    final = _final(pipe, "How hard do pumps run?")
    assert not final.refused and final.mode == "extractive" and final.notice == KEPT_EXTRACTIVE
    assert [c.quote for c in final.citations] == ["Pumps run at 40 bar."]
    assert final.llm["called"] and final.llm["kept_extractive"]
    assert final.llm["raw"] == "Pumps in Paris run at 70 bar [1]."
    (verdict,) = final.sentences
    assert not verdict.supported and verdict.reason.startswith("not in the sources")


def test_the_models_own_refusal_stays_a_refusal(make_settings):
    pipe = _pipeline(make_settings, "The sources do not mention how hard pumps run.",
                     [_scored("Pumps run at 40 bar.")])
    final = _final(pipe, "How hard do pumps run?")
    assert final.refused and final.text == REFUSAL_TEXT and final.mode == "generative"
    assert [s.reason for s in final.sentences] == [MODEL_REFUSED]
    assert "kept_extractive" not in final.llm


def test_a_supported_generated_answer_is_kept(make_settings):
    pipe = _pipeline(make_settings, "Pumps run at 40 bar [1].", [_scored("Pumps run at 40 bar.")])
    final = _final(pipe, "How hard do pumps run?")
    assert not final.refused and final.mode == "generative" and final.text == "Pumps run at 40 bar [1]."


@pytest.mark.parametrize("gate", [
    _scored("Pumps run at 40 bar.", typed_ok=False),  # lacks the asked-for kind of fact
    _scored("Pumps", kind="heading"),
    _scored("The plant has these pumps:"),  # a list introduction without its items
])
def test_without_a_fact_bearing_gate_sentence_the_verifiers_refusal_stands(make_settings, gate):
    pipe = _pipeline(make_settings, "Pumps in Paris run at 70 bar [1].", [gate])
    final = _final(pipe, "How hard do pumps run?")
    assert final.refused and final.mode == "generative" and not fact_bearing(gate)


def test_a_list_introduction_with_its_items_is_fact_bearing():
    item = _scored("The plant has three pumps.").sentence
    assert fact_bearing(_scored("The plant has these pumps:", after=[item]))


def test_keeps_extractive_only_for_refusals_after_an_llm_call():
    chosen = [_scored("Pumps run at 40 bar.")]
    unsupported = [SentenceSupport("Pumps run in Paris.", False, 0.2, reason="not in the sources: Paris")]
    answered = Answer("q", "Pumps run at 40 bar [1].", [], refused=False, llm={"called": True})
    gate_refusal = Answer("q", REFUSAL_TEXT, [], refused=True, llm={"called": False})
    emptied = Answer("q", REFUSAL_TEXT, [], refused=True, sentences=unsupported, llm={"called": True})
    mixed = Answer("q", REFUSAL_TEXT, [], refused=True, llm={"called": True},
                   sentences=unsupported + [SentenceSupport("No information.", False, 0.0, reason=MODEL_REFUSED)])
    assert [keeps_extractive(a, chosen) for a in (answered, gate_refusal, emptied, mixed)] == \
        [False, False, True, False]
