"""Rendering: clickable markers, escaped text, highlighted spans, refusals, history."""

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


def test_refusal_is_shown_as_not_found_not_as_error():
    out = render.final_message(_answer(text=REFUSAL_TEXT, citations=[], refused=True), "u")
    assert "rag-refusal" in out and "Not found in your documents" in out
    assert "rag-error" not in out and "rag-sources" not in out


def test_how_message_lists_chunks_and_timings_collapsed():
    msg = render.how_message(_answer(), 5)
    assert msg["metadata"]["title"] == render.HOW_TITLE and msg["metadata"]["status"] == "done"
    assert "doc.txt#0" in msg["content"] and "0.0300" in msg["content"]
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
