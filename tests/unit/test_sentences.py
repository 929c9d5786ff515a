"""Sentences over whole blocks (real spaCy): hard wraps are spaces, structure is a boundary."""

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rag.sentences import SentenceAnalyzer, collapse
from rag.structure import detect, encode_blocks
from rag.types import Chunk


@pytest.fixture(scope="module")
def analyzer():
    return SentenceAnalyzer()


def chunk_of(text, start=0, with_blocks=True):
    blocks = encode_blocks(detect(text), 0, len(text)) if with_blocks else ""
    full = text  # a chunk spanning the whole text; offsets shifted by `start` for the test
    if start:
        full = " " * start + text
        blocks = encode_blocks(detect(full), start, len(full)) if with_blocks else ""
    return Chunk("d#0", "d", "d.txt", "Advisory", full[start:], start, len(full), blocks=blocks), full


def test_a_wrapped_paragraph_is_whole_sentences(analyzer):
    text = ("The flaw was reported by Ann Example of Example Corp. It lets a remote user\n"
            "read files in /srv/data/private when the option is enabled in the\n"
            "configuration file.\n")
    chunk, full = chunk_of(text)
    sents = analyzer.analyze([chunk])
    assert [" ".join(s.text.split()) for s in sents] == [
        "The flaw was reported by Ann Example of Example Corp.",
        "It lets a remote user read files in /srv/data/private when the option is enabled in the "
        "configuration file.",
    ]
    for s in sents:
        assert full[s.start:s.end] == s.text


def test_list_items_headings_and_timeline_entries_are_boundaries(analyzer):
    text = ("# Incident\n\nTimeline:\n- 09:15 UTC: Alerts fired for the API\n- 09:30 UTC: Rolled back\n"
            "| Service | Status |\n\nImpact was limited\nto one region.\n")
    chunk, _ = chunk_of(text)
    sents = analyzer.analyze([chunk])
    got = [(" ".join(s.text.split()), s.kind) for s in sents]
    assert got == [("Timeline:", "paragraph"),  # a "# " heading is present: no heading guessing
                   ("09:15 UTC: Alerts fired for the API", "list_item"), ("09:30 UTC: Rolled back", "list_item"),
                   ("Service | Status", "table_row"), ("Impact was limited to one region.", "paragraph")]
    assert all(s.section[:1] == ("Incident",) for s in sents)  # headings are context, not answers


def test_offsets_are_absolute_and_blocks_come_from_metadata(analyzer):
    text = "Intro line that is long enough to be a paragraph of its own here.\n\nSecond paragraph.\n"
    chunk, full = chunk_of(text, start=7)
    for s in analyzer.analyze([chunk]):
        assert full[s.start:s.end] == s.text and s.start >= 7


def test_page_of_a_sentence(analyzer):
    text = "Page one says hello.\n\f\nPage two says the pump runs at 40 bar.\n"
    chunk, _ = chunk_of(text)
    sents = analyzer.analyze([chunk])
    assert [(s.text, s.page) for s in sents] == [("Page one says hello.", 1),
                                                  ("Page two says the pump runs at 40 bar.", 2)]


def test_collapse_maps_back_to_the_original():
    text = "a  b\n\tc"
    flat, index = collapse(text)
    assert flat == "a b c" and [text[i] for i in index] == ["a", " ", "b", "\n", "c"]


WORDS = st.sampled_from("the flaw was reported by Ann of Example Corp on March it lets remote users read files "
                        "outside served directory when option is enabled version 2.4 U.S. e.g. NATO".split())
SENTENCE = st.builds(lambda ws, end: " ".join(ws).capitalize() + end,
                     st.lists(WORDS, min_size=3, max_size=16), st.sampled_from(".!?"))
PARAGRAPHS = st.lists(st.lists(SENTENCE, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(PARAGRAPHS, st.integers(min_value=30, max_value=79), st.booleans())
def test_wrapped_and_unwrapped_give_the_same_sentences(analyzer, paragraphs, width, as_list):
    if as_list:
        unwrapped = "\n".join("- " + p for p in paragraphs) + "\n"
        wrapped = "\n".join(textwrap.fill(p, width, initial_indent="- ", subsequent_indent="  ")
                            for p in paragraphs) + "\n"
    else:
        unwrapped = "\n\n".join(paragraphs) + "\n"
        wrapped = "\n\n".join(textwrap.fill(p, width) for p in paragraphs) + "\n"
    got = []
    for text in (unwrapped, wrapped):
        chunk, full = chunk_of(text)
        sents = analyzer.analyze([chunk])
        assert all(full[s.start:s.end] == s.text for s in sents)
        got.append([" ".join(s.text.split()) for s in sents])
    assert got[0] == got[1]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300), st.booleans())
def test_arbitrary_text_never_crashes_and_spans_are_exact(analyzer, text, with_blocks):
    chunk, full = chunk_of(text, with_blocks=with_blocks)
    for s in analyzer.analyze([chunk]):
        assert full[s.start:s.end] == s.text and s.text.strip() == s.text
