"""Rendering: clickable markers, escaped text, highlighted spans, refusals, history."""

import html
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.types import REFUSAL_TEXT, Answer, Chunk, Citation, Hit
from ui import render

CHUNK = Chunk("doc.txt#0", "doc.txt", "docs/doc.txt", "Pump manual",
              "Intro line.\nThe pump runs at 40 bar. <b>Never</b> more.", 100, 152)


def _answer(**kw) -> Answer:
    c = Citation(1, "docs/doc.txt", "doc.txt#0", "The pump runs at 40 bar.", 112, 136, 0.81, "Pump manual")
    base = dict(question="How hard?", text="The pump runs at 40 bar. [1]", citations=[c], refused=False,
                timings_ms={"embed": 3.0, "total": 12.5}, hits=[Hit(CHUNK, 0.03, 1, 2)])
    base.update(kw)
    return Answer(**base)


def test_markers_link_to_their_source_and_text_is_escaped():
    out = render.answer_html("a <script>x</script> b [1] c [12]", "u1")
    assert '<a class="rag-cite" href="#rag-src-u1-1"' in out
    assert 'href="#rag-src-u1-12"' in out
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_source_shows_title_file_score_and_highlighted_span():
    out = render.final_message(_answer(), "u1")
    assert 'id="rag-src-u1-1"' in out
    assert "Pump manual" in out and "doc.txt" in out and "score 0.810" in out
    assert "<mark>The pump runs at 40 bar.</mark>" in out
    assert "&lt;b&gt;Never&lt;/b&gt;" in out  # document text is never live HTML
    assert "Intro line.<br>" in out


def test_quote_found_by_search_when_offsets_disagree():
    c = Citation(1, "docs/doc.txt", "doc.txt#0", "Never", 0, 5, 0.5)
    assert "<mark>Never</mark>" in render.passage_html(c, [Hit(CHUNK, 0.1)])
    missing = Citation(1, "x", "other#0", "gone quote", 0, 10, 0.5)
    assert render.passage_html(missing, []) == "<mark>gone quote</mark>"


def test_refusal_says_its_one_sentence_once_not_as_an_error():
    out = render.final_message(_answer(text=REFUSAL_TEXT, citations=[], refused=True), "u")
    shown = html.unescape(re.sub(r"<[^>]+>", " ", out))
    assert "rag-refusal" in out and shown.count("find that") == 1
    assert f"<b>{render.esc(REFUSAL_TEXT)}</b>" in out  # the CLI's and the API's sentence
    assert "Not found" not in out
    assert "rag-error" not in out and "rag-sources" not in out


def test_how_message_lists_chunks_and_timings_collapsed():
    msg = render.how_message(_answer(), 5)
    assert msg["metadata"]["title"] == render.HOW_TITLE and msg["metadata"]["status"] == "done"
    assert "doc.txt#0" in html.unescape(msg["content"]) and "0.0300" in msg["content"]
    assert "total 12 ms" in msg["content"] or "total 13 ms" in msg["content"]


def test_history_keeps_questions_and_answer_text_only():
    final = render.final_message(_answer(), "u1")
    history = [
        {"role": "user", "content": [{"type": "text", "text": "How hard?"}]},
        {"role": "assistant", "content": final},
        {"role": "assistant", "content": "table", "metadata": {"title": render.HOW_TITLE}},
    ]
    assert render.history_for_service(history) == [
        {"role": "user", "content": "How hard?"},
        {"role": "assistant", "content": "The pump runs at 40 bar. [1]"},
    ]


HOSTILE = ("![t](http://203.0.113.9/leak.png) [click](javascript:alert(1)) <script>alert(1)</script> "
           "<img src=http://203.0.113.9/x.png> www.example.com mail@example.com $$\\href{x}{y}$$ | a |")


def _inert(out: str) -> None:
    """No markup a Markdown/HTML renderer could act on survives from HOSTILE."""
    assert "<script" not in out and "<img" not in out and "](" not in out and "[click]" not in out
    assert "http:" not in out and "javascript:" not in out and "www." not in out
    assert "@" not in out and "$$" not in out


def test_markdown_and_html_in_documents_are_inert_everywhere():
    chunk = Chunk("/srv/x/doc.md#0", "/srv/x/doc.md", "/srv/x/doc.md", HOSTILE, HOSTILE, 0, len(HOSTILE))
    c = Citation(1, "/srv/x/doc.md", "/srv/x/doc.md#0", HOSTILE, 0, len(HOSTILE), 0.5, HOSTILE)
    a = Answer("q", HOSTILE + " [1]", [c], False, hits=[Hit(chunk, 0.1)], notice=HOSTILE)
    final = render.final_message(a, "u")
    _inert(final)
    _inert(render.how_markdown(a, 5))
    assert html.unescape(render.esc(HOSTILE)) == HOSTILE  # shown as text, nothing lost
    assert 'href="#rag-src-u-1"' in final  # our own [n] link survives


def test_absolute_paths_are_never_shown():
    roots = (Path("/data"), Path("/home/me/proj"))
    assert render.shown_path("/data/uploads/a.md", roots) == "uploads/a.md"
    assert render.shown_path("/home/me/proj/seeds/b.txt", roots) == "seeds/b.txt"
    assert render.shown_path("/etc/secret/c.txt", roots) == "…/c.txt"
    assert render.shown_path("seeds/b.txt", roots) == "seeds/b.txt"
    msg = render.scrub_paths("cannot read /data/uploads/a.md (see http://127.0.0.1:8080/v1)", roots)
    assert msg == "cannot read uploads/a.md (see http://127.0.0.1:8080/v1)"
    chunk = Chunk("/data/uploads/a.md#2", "/data/uploads/a.md", "/data/uploads/a.md", "T", "x", 0, 1)
    a = Answer("q", "x [1]", [Citation(1, "/data/uploads/a.md", "/data/uploads/a.md#2", "x", 0, 1, 0.5)],
               False, hits=[Hit(chunk, 0.1)])
    shown = render.page_answer(a, lambda p: render.shown_path(p, roots))
    out = render.final_message(shown, "u") + render.how_markdown(shown, 5) + str(shown.to_dict())
    assert "/data" not in html.unescape(out) and "uploads/a.md" in html.unescape(out)
    assert shown.citations[0].chunk_id == "uploads/a.md#2"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_text_renders_inert_and_round_trips(text):
    out = render.esc(text)
    assert html.unescape(out) == text
    assert not re.search(r"[<>\[\]()!`*_$:@|\\]", out)
    answer = render.answer_html(text, "u")
    assert answer.startswith('<div class="rag-answer">') and "<script" not in answer
    # every link in an answer is one of our own [n] markers
    assert all(h.startswith("#rag-src-u-") for h in re.findall(r'href="([^"]*)"', answer))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.lists(st.integers(0, 999), max_size=5))
def test_fuzz_citation_markers_link_exactly_the_markers(text, ns):
    raw = text + " " + " ".join(f"[{n}]" for n in ns)
    out = render.answer_html(raw, "u")
    wanted = render.MARKER.findall(raw.strip())
    assert re.findall(r'href="#rag-src-u-(\d+)"', out) == wanted
