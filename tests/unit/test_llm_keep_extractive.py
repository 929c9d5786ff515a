"""When the verified generated answer gives way to the extractive one, and when it never does (issue 13).

The real LLMBackend (prompt, token stream, Verifier, answer) runs against a fake of the
OpenAI client it calls; the extractive answerer is a fake returning real `Scored` sentences.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.answer import Scored
from rag.llm.backend import LLMBackend
from rag.llm.keep import (ALL_REMOVED, FACT_DROPPED, NOT_CITED, asked_fillers, fact_bearing,
                          keep_extractive)
from rag.llm.verify import MODEL_REFUSED, NOVEL_PREFIX, RegexSegmenter, Verifier
from rag.pipeline import AnswerPipeline
from rag.sentences import Sentence
from rag.slots import asked_slot
from rag.types import REFUSAL_TEXT, Answer, Chunk, Citation, Hit, SentenceSupport
from tests.fakes import FakeEmbedder, FakeRetriever

TEXT = "Pumps run at 40 bar. The plant has three pumps. Release v2.1.0 added pumps."
CHUNK = Chunk("a.txt#0", "a.txt", "a.txt", "Pumps", TEXT, 0, len(TEXT))
HIT = Hit(CHUNK, 1.0)
BASE_URL = "http://127.0.0.1:7999/v1"
PRESSURE = "Pumps run at 40 bar."
PLANT = "The plant has three pumps."


def _scored(text: str, typed_ok: bool = True, kind: str = "paragraph", after=(), entities=()) -> Scored:
    start = TEXT.index(text) if text in TEXT else 0
    sent = Sentence(CHUNK, start, start + len(text), text, tuple(entities), kind)
    return Scored(sent, 0.9, 0.8, 0.8, typed_ok, after=tuple(after))


class GateOf:
    """The ExtractiveAnswerer interface: `chosen` pass the gate, `others` are scored below it
    (they still reach the prompt as further sources)."""

    def __init__(self, chosen: list[Scored], others: list[Scored] = ()) -> None:
        self.chosen, self.others = chosen, list(others)

    def score(self, question, hits, qvec):
        return [*self.chosen, *self.others]

    def select(self, scored):
        return list(self.chosen)

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


def _pipeline(make_settings, model_says: str, chosen: list[Scored], others=()) -> AnswerPipeline:
    settings = make_settings(llm_base_url=BASE_URL)
    embedder = FakeEmbedder(dimension=256)
    backend = LLMBackend(settings, embedder, SimpleNamespace(nlp=None), lambda t: 1.0)
    backend.__dict__["verifier"] = Verifier(embedder, RegexSegmenter())
    client = backend.client  # the real LLMClient for the configured endpoint
    client._client, client._tokenize_url = FakeOpenAI(model_says), False
    return AnswerPipeline(settings, embedder, FakeRetriever([HIT]), GateOf(chosen, others),
                          SimpleNamespace(entities=lambda t: []), generator=backend)


def _final(pipe: AnswerPipeline, question: str) -> Answer:
    events = list(pipe.stream(question, mode="generative"))
    assert [e.type for e in events][:2] == ["retrieval", "provisional"]
    return events[-1].answer


def test_an_unsupported_paraphrase_keeps_the_extractive_answer_marked_as_such(make_settings):
    said = "Pumps operate under considerable pressure [1]."
    pipe = _pipeline(make_settings, said, [_scored(PRESSURE)])
    final = _final(pipe, "How hard do pumps run?")
    assert not final.refused and final.mode == "extractive" and final.notice == ALL_REMOVED
    assert [c.quote for c in final.citations] == [PRESSURE]
    assert final.llm["called"] and final.llm["kept_extractive"] and final.llm["raw"] == said
    assert final.llm["verified_text"] == REFUSAL_TEXT
    (verdict,) = final.sentences
    assert not verdict.supported and verdict.reason == "no source supports it"


def test_an_invented_fact_stays_the_verifiers_refusal(make_settings):
    """The guardrail: a name or number no source holds ("Paris", "70") is outside knowledge;
    the refusal stands even though the gate's sentence would answer."""
    pipe = _pipeline(make_settings, "Pumps in Paris run at 70 bar [1].", [_scored(PRESSURE)])
    final = _final(pipe, "How hard do pumps run?")
    assert final.refused and final.text == REFUSAL_TEXT and final.citations == []
    assert final.mode == "generative" and "kept_extractive" not in final.llm
    (verdict,) = final.sentences
    assert verdict.reason.startswith(NOVEL_PREFIX) and "Paris" in verdict.reason


def test_the_models_own_refusal_stays_a_refusal(make_settings):
    pipe = _pipeline(make_settings, "The sources do not mention how hard pumps run.", [_scored(PRESSURE)])
    final = _final(pipe, "How hard do pumps run?")
    assert final.refused and final.text == REFUSAL_TEXT and final.mode == "generative"
    assert [s.reason for s in final.sentences] == [MODEL_REFUSED]
    assert "kept_extractive" not in final.llm


def test_a_supported_generated_answer_citing_the_gate_is_kept(make_settings):
    pipe = _pipeline(make_settings, "Pumps run at 40 bar [1].", [_scored(PRESSURE)])
    final = _final(pipe, "How hard do pumps run?")
    assert not final.refused and final.mode == "generative" and final.text == "Pumps run at 40 bar [1]."
    assert final.notice is None


def test_an_answer_citing_none_of_the_gates_sentences_gives_way(make_settings):
    pipe = _pipeline(make_settings, "The plant has three pumps [2].", [_scored(PRESSURE)],
                     others=[_scored(PLANT)])
    final = _final(pipe, "How hard do pumps run?")
    assert final.mode == "extractive" and final.notice == NOT_CITED and final.llm["kept_extractive"]
    assert [c.quote for c in final.citations] == [PRESSURE]
    assert final.llm["verified_text"] == "The plant has three pumps [1]."  # supported, but not the answer


def test_an_answer_that_leaves_out_the_asked_for_number_gives_way(make_settings):
    gate = _scored(PRESSURE, entities=[("40 bar", "QUANTITY")])
    question = "What is the pressure limit of the pumps?"
    pipe = _pipeline(make_settings, "Pumps run at 40 bar [1].", [gate])
    assert _final(pipe, question).mode == "generative"  # 40 is there
    pipe = _pipeline(make_settings, "Pumps run at bar [1].", [gate])  # supported, but says no number
    final = _final(pipe, question)
    assert final.mode == "extractive" and final.notice == FACT_DROPPED.format(slot="number")
    assert final.text.startswith(PRESSURE) and final.llm["verified_text"] == "Pumps run at bar [1]."


def test_an_identifier_must_be_quoted_as_the_source_writes_it():
    gate = [_scored("Release v2.1.0 added pumps.")]
    q = "In which version were pumps added?"
    assert asked_fillers(q, asked_slot(q), gate) == ["v2.1.0"]
    rewritten = Answer("q", "Pumps were added in version 2.1.0 [1].", [], refused=False, llm={"called": True})
    quoted = Answer("q", "Pumps were added in v2.1.0 [1].", [], refused=False, llm={"called": True})
    for a in (rewritten, quoted):
        a.citations = [Citation(1, "a.txt", "a.txt#0", gate[0].sentence.text, gate[0].sentence.start,
                                gate[0].sentence.end, 0.9)]
    question = "In which version were pumps added?"
    assert keep_extractive(question, rewritten, gate) == FACT_DROPPED.format(slot="version")
    assert keep_extractive(question, quoted, gate) is None


def test_a_name_is_said_by_any_of_its_words():
    gate = [_scored(PLANT, entities=[("Dmitry Peskov", "PERSON")])]
    cite = [Citation(1, "a.txt", "a.txt#0", "Dmitry Peskov said so.", gate[0].sentence.start,
                     gate[0].sentence.end, 0.9)]
    said = Answer("q", "Peskov said so [1].", cite, refused=False, llm={"called": True})
    other = Answer("q", "A spokesman said so [1].", cite, refused=False, llm={"called": True})
    assert keep_extractive("Who said so?", said, gate) is None
    assert keep_extractive("Who said so?", other, gate) == FACT_DROPPED.format(slot="name")


@pytest.mark.parametrize("gate", [
    _scored(PRESSURE, typed_ok=False),  # lacks the asked-for kind of fact
    _scored("Pumps", kind="heading"),
    _scored("The plant has these pumps:"),  # a list introduction without its items
])
def test_without_a_fact_bearing_gate_sentence_the_verifiers_refusal_stands(make_settings, gate):
    pipe = _pipeline(make_settings, "Pumps operate under considerable pressure [1].", [gate])
    final = _final(pipe, "How hard do pumps run?")
    assert final.refused and final.mode == "generative" and not fact_bearing(gate)


def test_a_list_introduction_with_its_items_is_fact_bearing():
    item = _scored(PLANT).sentence
    assert fact_bearing(_scored("The plant has these pumps:", after=[item]))


def test_only_answers_after_an_llm_call_can_give_way_and_guardrail_refusals_never_do():
    chosen = [_scored(PRESSURE)]
    weak = [SentenceSupport("Pumps operate under pressure.", False, 0.2, reason="no source supports it")]
    invented = [SentenceSupport("Pumps run in Paris.", False, 0.2, reason=NOVEL_PREFIX + "Paris")]
    own = [SentenceSupport("No information.", False, 0.0, reason=MODEL_REFUSED)]
    gate_refusal = Answer("q", REFUSAL_TEXT, [], refused=True, llm={"called": False})
    emptied = Answer("q", REFUSAL_TEXT, [], refused=True, sentences=weak, llm={"called": True})
    with_invention = Answer("q", REFUSAL_TEXT, [], refused=True, sentences=weak + invented, llm={"called": True})
    with_own = Answer("q", REFUSAL_TEXT, [], refused=True, sentences=weak + own, llm={"called": True})
    assert [keep_extractive("How hard do pumps run?", a, chosen)
            for a in (gate_refusal, emptied, with_invention, with_own)] == [None, ALL_REMOVED, None, None]
