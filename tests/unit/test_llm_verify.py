"""The generated-answer verifier, on hand-made supported and unsupported sentences (fakes only)."""

import pytest

from rag.llm.prompt import Source
from rag.llm.verify import RegexSegmenter, Verifier, split_cited, with_markers
from rag.types import REFUSAL_TEXT, Chunk
from tests.fakes import FakeEmbedder

DOC = (
    "Kremlin spokesman Dmitry Peskov criticized the remarks about warheads as an escalation. "
    "Last month, the United States imposed restrictions on approximately 20 firms based in China. "
    "North Korea has supplied Russia with artillery shells, receiving missile technology in return."
)
CHUNK = Chunk("doc#0", "doc", "doc.txt", "Doc", DOC, 100, 100 + len(DOC))


def _sources() -> list[Source]:
    out, pos = [], 0
    for n, sent in enumerate(DOC.split(". "), start=1):
        text = sent if sent.endswith(".") else sent + "."
        start = DOC.index(text, pos)
        out.append(Source(n, CHUNK, CHUNK.start + start, CHUNK.start + start + len(text), text, 0.5))
        pos = start + len(text)
    return out


@pytest.fixture
def verifier():
    return Verifier(FakeEmbedder(dimension=256), RegexSegmenter())


def test_sources_are_exact_spans():
    for s in _sources():
        assert DOC[s.start - CHUNK.start: s.end - CHUNK.start] == s.text


def test_supported_sentence_keeps_its_correct_citation(verifier):
    v = verifier.verify("Who criticized the remarks about warheads?",
                        "Dmitry Peskov criticized the remarks as an escalation [1].", _sources())
    assert not v.refused and v.fixed == 0
    assert v.text == "Dmitry Peskov criticized the remarks as an escalation [1]."
    (c,) = v.citations
    assert c.quote == _sources()[0].text and (c.start, c.end) == (_sources()[0].start, _sources()[0].end)
    assert v.sentences[0].supported and v.sentences[0].score >= verifier.min_support


def test_wrong_marker_is_replaced_by_the_supporting_source(verifier):
    v = verifier.verify("What did North Korea get in return?",
                        "North Korea received missile technology in return for artillery shells [2].",
                        _sources())
    assert not v.refused and v.fixed == 1
    assert [c.quote for c in v.citations] == [_sources()[2].text]
    assert v.text.endswith("[1].") and v.sentences[0].cited == (2,)


def test_out_of_range_marker_is_dropped_and_repaired(verifier):
    v = verifier.verify("How many firms were restricted?",
                        "The United States restricted approximately 20 firms based in China [9].", _sources())
    assert v.fixed == 1 and [c.quote for c in v.citations] == [_sources()[1].text]


def test_invented_number_is_unsupported(verifier):
    v = verifier.verify("How many firms were restricted?",
                        "The United States restricted approximately 30 firms based in China [2].", _sources())
    assert v.refused and v.text == REFUSAL_TEXT and v.citations == []
    assert not v.sentences[0].supported and "30" in v.sentences[0].reason


def test_outside_knowledge_is_refused_even_when_cited(verifier):
    v = verifier.verify("What is the capital of France?", "The capital of France is Paris [1].", _sources())
    assert v.refused and v.text == REFUSAL_TEXT
    assert not v.sentences[0].supported


def test_unsupported_sentence_is_removed_supported_one_kept(verifier):
    answer = ("Dmitry Peskov criticized the remarks as an escalation [1]. "
              "He was born in Moscow in 1967 [1].")
    v = verifier.verify("Who criticized the remarks?", answer, _sources())
    assert not v.refused and v.removed == 1
    assert "1967" not in v.text and "Peskov" in v.text
    assert [s.supported for s in v.sentences] == [True, False]


def test_restating_the_question_supports_nothing(verifier):
    v = verifier.verify("Who criticized the remarks about warheads?",
                        "Someone criticized the remarks about warheads [1].", _sources())
    assert v.refused


def test_model_refusal_and_repetition_are_not_answers(verifier):
    v = verifier.verify("Who won?", f"{REFUSAL_TEXT} [1]", _sources())
    assert v.refused
    answer = "Peskov criticized the remarks as an escalation [1]. Peskov criticized the remarks as an escalation [1]."
    v = verifier.verify("Who criticized it?", answer, _sources())
    assert v.text.count("Peskov") == 1 and v.sentences[1].reason == "repeated sentence"


def test_sentence_joining_two_sources_cites_both(verifier):
    answer = ("Peskov criticized the remarks as an escalation, and North Korea supplied "
              "artillery shells receiving missile technology.")
    v = verifier.verify("What happened?", answer, _sources())
    assert not v.refused
    assert {c.quote for c in v.citations} == {_sources()[0].text, _sources()[2].text}


def test_empty_or_no_sources_is_a_refusal(verifier):
    assert verifier.verify("q?", "", _sources()).refused
    assert verifier.verify("q?", "Peskov criticized it [1].", []).refused


@pytest.mark.parametrize("text, expected", [
    ("A is b [1]. C is d [2].", [("A is b.", [1]), ("C is d.", [2])]),
    ("A is b. [1] C is d. [2, 3]", [("A is b.", [1]), ("C is d.", [2, 3])]),
    ("A is b [1][2].", [("A is b.", [1, 2])]),
    ("No markers here. None here either.", [("No markers here.", []), ("None here either.", [])]),
    ("It rained, as stated in source [1].", [("It rained.", [1])]),
    ("It rained, which is supported by source [1].", [("It rained.", [1])]),
    ("It rained, as shown in the sources [1].", [("It rained.", [1])]),
    ("According to the sources [2], it rained.", [("It rained.", [2])]),
])
def test_split_cited_attaches_markers_to_their_sentence(text, expected):
    got = [(s, c) for s, c, _ in split_cited(text, RegexSegmenter())]
    assert got == expected


def test_with_markers_goes_before_final_punctuation():
    assert with_markers("It rained.", [1, 2]) == "It rained [1] [2]."
    assert with_markers("It rained", [3]) == "It rained [3]"


@pytest.mark.parametrize("says", [
    "I can’t find that in the documents.", "The sources don't mention who won [1].",
    "The sources do not specify who won.", "Who won is not specified in the sources [1].",
    "There is no mention of a winner.", "I cannot determine who won from the sources.",
])
def test_the_models_refusals_in_its_usual_wordings_are_recognised(verifier, says):
    from rag.llm.verify import MODEL_REFUSED

    v = verifier.verify("Who won?", says, _sources())
    assert v.refused and [s.reason for s in v.sentences] == [MODEL_REFUSED]


def test_a_default_for_an_unspecified_setting_is_an_answer_not_a_refusal():
    from rag.llm.verify import REFUSAL_RE

    assert not REFUSAL_RE.search("If not specified, the port defaults to 8080.")
    assert REFUSAL_RE.search("The port is not specified in the documents.")


def _verify_over_one(doc: str, question: str, answer: str):
    """`answer` verified against one source holding `doc`."""
    chunk = Chunk("k#0", "k", "k.txt", "K", doc, 0, len(doc))
    return Verifier(FakeEmbedder(dimension=256), RegexSegmenter()).verify(
        question, answer, [Source(1, chunk, 0, len(doc), doc, 0.5)])


def test_a_sources_own_negation_is_an_answer_not_a_refusal():
    v = _verify_over_one("The 2.4 kernel does not provide proper support for grouping threads by process.",
                         "Why can't ps group threads by process on a 2.4 kernel?",
                         "The 2.4 kernel does not provide proper support for grouping threads [1].")
    assert not v.refused and v.sentences[0].supported


def test_not_mentioned_is_a_refusal_even_in_a_sources_words():
    v = _verify_over_one("The maintainer's name is not mentioned in the FHS or in Debian Policy.",
                         "What is the name of the maintainer?",
                         "The name of the maintainer is not mentioned in the FHS or in Debian Policy [1].")
    assert v.refused


def test_a_number_from_another_source_brings_its_citation(verifier):
    """Every number of a kept sentence is in one of its cited sources: a joined fact cites both."""
    v = verifier.verify("What did North Korea get for artillery shells, and from how many firms?",
                        "North Korea received missile technology in return, and about 20 firms were restricted [3].",
                        _sources())
    assert not v.refused
    quotes = [c.quote for c in v.citations]
    assert _sources()[2].text in quotes and _sources()[1].text in quotes  # 20 is only in source 2
    assert v.fixed == 1


def test_a_number_the_question_holds_needs_no_citation_of_its_own(verifier):
    v = verifier.verify("What did North Korea get in return for 20 artillery shells?",
                        "North Korea received missile technology in return for 20 artillery shells [3].",
                        _sources())
    assert not v.refused and [c.quote for c in v.citations] == [_sources()[2].text]  # not source 2's "20 firms"
