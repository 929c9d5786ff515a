"""Block structure read from text: paragraphs over hard wraps, headings, list items, pages."""

import textwrap

from hypothesis import HealthCheck, given, settings, strategies as st

from rag.structure import decode_blocks, detect, encode_blocks, index_text, page_at, page_starts, section_label

WRAPPED = """\
Security advisory

The flaw was reported by Ann Example of Example Corp on 3 March. It lets a
remote user read files outside the served directory when the option
`follow_links` is enabled.
Affected versions are listed below.

Timeline:
- 09:15 UTC: Alerts fired for elevated error rates on the
  API gateway.
- 09:30 UTC: The on-call engineer rolled back the deploy.

Fix

Upgrade to 2.4.1.
"""


def kinds(text):
    return [(b.kind, " ".join(text[b.start:b.end].split())) for b in detect(text)]


def test_hard_wrapped_paragraphs_lists_and_headings():
    got = kinds(WRAPPED)
    assert got == [
        ("heading", "Security advisory"),
        ("paragraph", "The flaw was reported by Ann Example of Example Corp on 3 March. It lets a remote "
                      "user read files outside the served directory when the option `follow_links` is enabled."),
        ("paragraph", "Affected versions are listed below."),
        ("heading", "Timeline:"),
        ("list_item", "09:15 UTC: Alerts fired for elevated error rates on the API gateway."),
        ("list_item", "09:30 UTC: The on-call engineer rolled back the deploy."),
        ("heading", "Fix"),
        ("paragraph", "Upgrade to 2.4.1."),
    ]


def test_heading_paths_and_exact_spans():
    blocks = detect(WRAPPED)
    for b in blocks:
        assert WRAPPED[b.start:b.end] == WRAPPED[b.start:b.end].strip() != ""
    fix = [b for b in blocks if WRAPPED[b.start:b.end] == "Upgrade to 2.4.1."][0]
    assert fix.section == ("Security advisory", "Fix")
    item = [b for b in blocks if b.kind == "list_item"][0]
    assert item.section == ("Security advisory", "Timeline:")
    assert section_label(fix.section, "Security advisory") == "Fix"


def test_marked_up_headings_switch_off_guessing():
    text = "# Notes\n\nCheck\n\nthe valve.\n\nSetext\n------\n\nBody text here.\n"
    assert kinds(text) == [("heading", "Notes"), ("paragraph", "Check"), ("paragraph", "the valve."),
                           ("heading", "Setext"), ("paragraph", "Body text here.")]


def test_unwrapped_lines_are_paragraphs_and_a_title_line_is_a_heading():
    text = ("China Should Bear the Cost, Says NATO Chief\n"
            + "In an interview with the BBC, the chief asserted that China should face costs. " * 3 + "\n"
            + "Stoltenberg’s comments come amid Russia’s campaign in Ukraine, which goes on. " * 3 + "\n")
    got = kinds(text)
    assert [k for k, _ in got] == ["heading", "paragraph", "paragraph"]


def test_page_breaks_are_boundaries_and_pages_are_counted():
    text = "First page ends here.\n\f\nSecond page starts.\n\fthird page."
    blocks = detect(text)
    assert [(text[b.start:b.end], b.page) for b in blocks] == [
        ("First page ends here.", 1), ("Second page starts.", 2), ("third page.", 3)]
    starts = page_starts(text)
    assert page_at(starts, text.index("Second")) == 2


def test_a_sentence_running_over_a_page_break_stays_one_block():
    text = "The release was delayed because the\fbuild servers were down.\n"
    (block,) = detect(text)
    assert text[block.start:block.end] == text.strip() and block.page == 1


def test_blocks_round_trip_through_chunk_metadata():
    blocks = detect(WRAPPED)
    lo, hi = blocks[1].start + 5, blocks[5].end
    back = decode_blocks(encode_blocks(blocks, lo, hi))
    assert back[0].start == lo and back[-1].end == hi
    assert [(b.kind, b.section) for b in back] == [(b.kind, b.section) for b in blocks[1:6]]


def test_index_text_puts_title_and_section_before_the_text():
    assert index_text("Doc", "A > B", "Body.") == "Doc\nA > B\n\nBody."
    assert index_text("", "", "Body.") == "Body."


WORDS = st.sampled_from("the flaw was reported by Ann of Example Corp on March it lets remote users read files "
                        "outside served directory when option is enabled version 2.4 U.S. e.g. NATO".split())
SENTENCE = st.builds(lambda ws, end: " ".join(ws).capitalize() + end,
                     st.lists(WORDS, min_size=3, max_size=18), st.sampled_from(".!?"))
PARAGRAPHS = st.lists(st.lists(SENTENCE, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PARAGRAPHS, st.integers(min_value=30, max_value=79))
def test_wrapped_and_unwrapped_give_the_same_blocks(paragraphs, width):
    unwrapped = "\n\n".join(paragraphs) + "\n"
    wrapped = "\n\n".join(textwrap.fill(p, width) for p in paragraphs) + "\n"
    norm = lambda t: [(b.kind, " ".join(t[b.start:b.end].split())) for b in detect(t)]  # noqa: E731
    assert norm(wrapped) == norm(unwrapped)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_arbitrary_text_gives_exact_ordered_spans(text):
    last = 0
    for b in detect(text):
        assert last <= b.start < b.end <= len(text)
        assert text[b.start:b.end].strip() == text[b.start:b.end]
        last = b.end


def test_a_run_of_title_like_lines_is_a_list_not_headings():
    # a table printed to PDF loses its pipes: each row reads like a title; headings lead content
    text = ("Overview of the API\n\nAssert (2) Stable\n\nBuffer (2) Stable\n\nDomain (0) Deprecated\n\n"
            "Every module has a stability.\n\nJSON Output\n\nEvery document has a JSON twin.\n")
    kinds = [(b.kind, text[b.start:b.end]) for b in detect(text)]
    assert ("list_item", "Domain (0) Deprecated") in kinds
    assert ("heading", "JSON Output") in kinds and kinds[0] == ("heading", "Overview of the API")


def test_a_short_line_with_an_address_or_a_copyright_is_content_not_a_heading():
    # a man page printed to PDF: "REPORTING BUGS" is the heading, the lines under it are content
    text = ("gzip\n\nREPORTING BUGS\n\nReport bugs to: bug-gzip@gnu.org\n\nCOPYRIGHT NOTICE\n\n"
            "Copyright © 1992, 1993 Jean-loup Gailly\n\nHome Page\n\nSee https://www.gnu.org/software/gzip/\n")
    got = kinds(text)
    assert ("heading", "REPORTING BUGS") in got and ("heading", "Home Page") in got
    assert ("paragraph", "Report bugs to: bug-gzip@gnu.org") in got
    assert ("paragraph", "Copyright © 1992, 1993 Jean-loup Gailly") in got
