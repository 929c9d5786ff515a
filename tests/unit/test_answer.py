"""Extractive answerer: answer-type checks, coverage, citations as exact spans (fakes only)."""

import pytest

from rag.answer import ExtractiveAnswerer, expected_labels, wh_heads
from rag.sentences import Sentence
from rag.types import REFUSAL_TEXT, Chunk, Hit
from tests.fakes import FakeEmbedder

SOURCE = (
    "Kremlin spokesman Dmitry Peskov criticized the remarks about warheads. "
    "NATO may increase its deployable warheads. "
    "The alliance has 32 members."
)
ENTITIES = {
    0: (("Kremlin", "ORG"), ("Dmitry Peskov", "PERSON")),
    1: (("NATO", "ORG"),),
    2: (("32", "CARDINAL"),),
}


class FakeAnalyzer:
    """Splits on '. ' and returns hand-labelled entities."""

    def analyze(self, chunks):
        out = []
        for chunk in chunks:
            pos = 0
            for i, part in enumerate(chunk.text.split(". ")):
                text = part if part.endswith(".") else part + "."
                start = chunk.text.index(text, pos)
                out.append(Sentence(chunk, chunk.start + start, chunk.start + start + len(text), text,
                                    ENTITIES.get(i, ())))
                pos = start + len(text)
        return out


@pytest.fixture
def answerer():
    return ExtractiveAnswerer(FakeEmbedder(), FakeAnalyzer(), idf=lambda term: 1.0)


def _ask(answerer, question):
    chunk = Chunk("doc#0", "doc", "doc.txt", "Doc", SOURCE, 0, len(SOURCE))
    qvec = answerer.embedder.embed([question])[0]
    return answerer.run(question, [Hit(chunk, 1.0)], qvec)


@pytest.mark.parametrize(
    "question, labels",
    [
        ("How many warheads are there?", {"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
        ("Who criticized the remarks?", {"PERSON", "ORG", "NORP", "GPE"}),
        ("When was the pledge made?", {"DATE", "TIME"}),
        ("In what year was it founded?", {"DATE", "TIME"}),
        ("What does NATO want?", None),
    ],
)
def test_expected_labels(question, labels):
    got = expected_labels(question)
    assert (set(got) if got else None) == labels


def test_wh_heads_are_stemmed_category_words():
    assert wh_heads("Which broadcaster interviewed him? What countries?") == {"broadcast", "countri"}


def test_who_question_answered_with_exact_span(answerer):
    answer = _ask(answerer, "Who criticized the remarks about warheads?")
    assert not answer.refused
    first = answer.citations[0]
    assert "Peskov" in first.quote
    assert SOURCE[first.start:first.end] == first.quote
    assert answer.text.startswith(first.quote) and "[1]" in answer.text


def test_how_many_refused_when_no_number_in_evidence(answerer):
    answer = _ask(answerer, "How many deployable warheads does NATO have?")
    assert answer.refused and answer.text == REFUSAL_TEXT and answer.citations == []


def test_entity_already_in_question_does_not_count(answerer):
    # the only number in the evidence is the one the question itself names
    answer = _ask(answerer, "How many of the alliance's 32 members have warheads?")
    assert answer.refused


def test_who_prefers_sentences_naming_someone(answerer):
    answer = _ask(answerer, "Who criticized the remarks about warheads?")
    assert "Peskov" in answer.citations[0].quote


def test_who_type_is_a_preference_not_a_gate(answerer):
    # no sentence names a new person/org, but one answers the topic: cited, not refused
    answer = _ask(answerer, "Who is Dmitry Peskov of the Kremlin and what did he criticize?")
    assert not answer.refused and "Peskov" in answer.citations[0].quote


def test_off_topic_question_refused(answerer):
    assert _ask(answerer, "What is the capital of France?").refused


def test_a_one_line_document_whose_title_is_its_sentence_is_answered(answerer):
    """A .txt's title is its first line; when that line is the only sentence, it is still news
    (the title did not come from elsewhere), so the sentence answers."""
    text = "Kremlin spokesman Dmitry Peskov criticized the remarks about warheads."
    chunk = Chunk("one#0", "one", "one.txt", text, text, 0, len(text))
    question = "Who criticized the remarks about warheads?"
    answer = answerer.run(question, [Hit(chunk, 1.0)], answerer.embedder.embed([question])[0])
    assert not answer.refused and answer.citations[0].quote == text


class PlainAnalyzer(FakeAnalyzer):
    """Splits on '. ', no entities."""

    def analyze(self, chunks):
        return [Sentence(s.chunk, s.start, s.end, s.text, ()) for s in super().analyze(chunks)]


def _ask_text(question, text, source="doc.txt"):
    answerer = ExtractiveAnswerer(FakeEmbedder(), PlainAnalyzer(), idf=lambda term: 1.0)
    chunk = Chunk("doc#0", "doc", source, "Doc", text, 0, len(text))
    return answerer.run(question, [Hit(chunk, 1.0)], answerer.embedder.embed([question])[0])


def test_a_one_digit_answer_is_news_though_no_term():
    """"2" is too short to be a search term, yet it is what the sentence adds to the question."""
    text = "Exit status is normally 0. If a warning occurs, exit status is 2."
    answer = _ask_text("What exit status does gzip return when a warning occurs?", text)
    assert not answer.refused and any(c.quote.endswith("exit status is 2.") for c in answer.citations)
    assert _ask_text("What exit status is returned if a warning occurs?",
                     "If a warning occurs, exit status is returned.").refused


def test_the_file_name_anchors_a_name_for_the_document_itself():
    """"this README": the name is the document's, found in its file name, not in the chunk."""
    text = "Ximon Eighteen helped to polish the language of the first revisions."
    question = "Who helped to polish the language of this README?"
    assert not _ask_text(question, text, source="docs/adduser-readme.txt").refused
    assert _ask_text(question, text, source="docs/adduser-notes.txt").refused


NUMBERS = {"Last month the US restricted 20 firms based in Hong Kong.": (("20", "CARDINAL"), ("Hong Kong", "GPE")),
           "Hong Kong has a population of 7.4 million.": (("Hong Kong", "GPE"), ("7.4 million", "CARDINAL"))}


class NumberAnalyzer(FakeAnalyzer):
    def analyze(self, chunks):
        return [Sentence(s.chunk, s.start, s.end, s.text, NUMBERS.get(s.text, ())) for s in super().analyze(chunks)]


@pytest.mark.parametrize("idf", [lambda t: 1.0, lambda t: {"popul": 0.2}.get(t, 5.0)])
def test_a_number_about_something_else_is_no_answer_whatever_the_idf(idf):
    """'20 firms' does not give a population, however the corpus weighs the question's terms
    (a larger corpus made 'population' common and the firms sentence pass the old gate)."""
    answerer = ExtractiveAnswerer(FakeEmbedder(), NumberAnalyzer(), idf=idf)
    text = "Last month the US restricted 20 firms based in Hong Kong."
    chunk = Chunk("doc#0", "doc", "doc.txt", "Doc", text, 0, len(text))
    q = "What is the population of Hong Kong?"
    assert answerer.run(q, [Hit(chunk, 1.0)], answerer.embedder.embed([q])[0]).refused
    text2 = text + " Hong Kong has a population of 7.4 million."
    chunk2 = Chunk("doc#0", "doc", "doc.txt", "Doc", text2, 0, len(text2))
    answer = answerer.run(q, [Hit(chunk2, 1.0)], answerer.embedder.embed([q])[0])
    assert not answer.refused and "7.4 million" in answer.citations[0].quote
