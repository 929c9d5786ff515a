"""Copy text: the answer, then its sources as "[n] Title, section/page: “quote”"; markup-free."""

import html
import re

from rag.types import REFUSAL_TEXT, Answer, Citation
from ui import copytext, render


def _answer(**kw) -> Answer:
    cites = [Citation(1, "docs/pump.txt", "docs/pump.txt#0", "The pump runs\nat 40 bar.", 0, 24, 0.8,
                      "Pump <b>manual</b>", section="Operation > Pressure"),
             Citation(2, "docs/scan.pdf", "docs/scan.pdf#3", "Valves [open] at 3 bar.", 9, 32, 0.5,
                      "", page=4)]
    base = dict(question="q", text="It runs at 40 bar [1] and opens at 3 bar [2].", citations=cites,
                refused=False)
    return Answer(**{**base, **kw})


def test_copy_text_is_the_answer_then_one_line_per_source():
    text = copytext.copy_text(_answer())
    assert text == (
        "It runs at 40 bar [1] and opens at 3 bar [2].\n\nSources:\n"
        "[1] Pump <b>manual</b>, Operation > Pressure: “The pump runs at 40 bar.”\n"
        "[2] scan.pdf, p. 4: “Valves [open] at 3 bar.”")


def test_a_refusal_copies_as_its_sentence_only():
    assert copytext.copy_text(Answer("q", REFUSAL_TEXT, [], refused=True)) == REFUSAL_TEXT


def test_marker_holds_the_text_escaped_in_one_attribute_without_blank_lines():
    marker = copytext.copy_marker(_answer())
    assert marker.startswith('<span class="rag-copy" hidden data-rag-copy="')
    assert "\n" not in marker and "<b>" not in marker and "[1]" not in marker
    value = re.search(r'data-rag-copy="([^"]*)"', marker).group(1)
    assert html.unescape(value) == copytext.copy_text(_answer())  # what the browser reads back


def test_every_final_message_carries_its_copy_text():
    out = render.final_message(_answer(), "u1")
    assert out.count('data-rag-copy="') == 1 and out.endswith("</span>")
    refused = render.final_message(Answer("q", REFUSAL_TEXT, [], refused=True), "u2")
    assert 'data-rag-copy="' in refused
    # the service's history is the answer text only: the marker is not text
    assert render.plain_text(out).endswith("opens at 3 bar  [2] .")


def test_the_page_script_patches_both_copy_paths_and_the_labels():
    js = copytext.COPY_JS
    assert "navigator.clipboard" in js and "writeText" in js and "addEventListener('copy'" in js
    assert "DOMParser" in js and "aria-label" in js
    assert "fetch(" not in js and "://" not in js  # nothing leaves the page
