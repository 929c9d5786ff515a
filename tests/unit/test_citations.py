"""Citations say where a quote is: page and section in the JSON and in the source label."""

from rag.types import Citation
from ui.render import source_html


def test_page_and_section_in_json_only_when_known():
    plain = Citation(1, "a.txt", "a.txt#0", "Quote.", 0, 6, 0.5, "Title")
    placed = Citation(1, "r.pdf", "r.pdf#2", "Quote.", 10, 16, 0.5, "Report", page=3, section="Fix > Steps")
    assert "page" not in plain.to_dict() and "section" not in plain.to_dict()
    assert placed.to_dict()["page"] == 3 and placed.to_dict()["section"] == "Fix > Steps"
    assert placed.location == "Fix > Steps, p. 3" and plain.location == ""


def test_source_label_shows_title_section_and_page():
    c = Citation(1, "docs/r.pdf", "docs/r.pdf#2", "Quote.", 10, 16, 0.5, "Report", page=3, section="Fix")
    html = source_html(c, [], "u1")
    assert "Report" in html and "Fix, p. 3" in html
