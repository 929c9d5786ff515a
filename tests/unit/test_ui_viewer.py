"""The document viewer: text source checked against the index, exact spans, escaping, PDF pages."""

import html
import re
from pathlib import Path

from rag.catalog import SCHEMA as CATALOG, Catalog, DocRow
from rag.lexical import IndexDB, LexicalIndex
from rag.types import Chunk, Citation, Hit
from ui import render, viewer

MD = ("# Pump manual\n\nIntro paragraph about pumps.\n\n## Safety\n\n"
      "- Never run dry.\n- Keep the valve open.\n\n| part | limit |\n| --- | --- |\n| seal | 40 bar |\n\n"
      "The pump runs at 40 bar. Service it yearly.\n")


def _text_between_tags(page: str, tag: str) -> str:
    m = re.search(rf"<{tag}[^>]*>(.*?)</{tag}>", page, re.S)
    assert m, page
    return html.unescape(re.sub(r"<[^>]+>", "", m.group(1)))


def _tags(page: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every real tag of an HTML page with its attributes (text is not parsed as tags)."""
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collect().feed(page)
    return found


def _chunks(doc_id: str, text: str, spans: list[tuple[int, int]]) -> list[Chunk]:
    return [Chunk(f"{doc_id}#{i}", doc_id, doc_id, "T", text[a:b], a, b) for i, (a, b) in enumerate(spans)]


def _index(tmp_path: Path, doc_id: str, path: Path, chunks: list[Chunk]) -> tuple[Catalog, LexicalIndex]:
    db = IndexDB(tmp_path / "index.sqlite", schemas=[CATALOG])
    with db.transaction() as conn:
        LexicalIndex.add(conn, chunks)
        Catalog.put(conn, DocRow(doc_id, "h1", len(chunks), doc_id, "Pump manual", str(path), 1.0))
    return Catalog(db), LexicalIndex(db)


def test_marked_span_is_exactly_the_cited_text_and_first_mark_is_the_hit():
    text = MD
    start = text.index("The pump runs")
    end = text.index("yearly.") + len("yearly.")
    body = viewer.body_html(text, start, end)
    assert body.count(f'id="{viewer.HIT_ID}"') == 1
    assert _text_between_tags(body, "mark") == text[start:end]


def test_a_span_over_several_blocks_is_marked_in_each_and_nothing_is_lost():
    text = "# A\n\nFirst paragraph ends here.\n\nSecond paragraph starts here.\n"
    start, end = text.index("ends"), text.index("starts") + len("starts")
    body = viewer.body_html(text, start, end)
    marks = [html.unescape(m) for m in re.findall(r"<mark[^>]*>(.*?)</mark>", body)]
    assert marks == ["ends here.", "Second paragraph starts"]
    assert body.count(f'id="{viewer.HIT_ID}"') == 1


def test_structure_is_rendered_as_html_blocks():
    body = viewer.body_html(MD, 0, 0)
    assert "<h2>Pump manual</h2>" in body and "<h3>Safety</h3>" in body
    assert "<ul><li>Never run dry.</li><li>Keep the valve open.</li></ul>" in body
    assert "<td>" in body and "40 bar" in body and "<mark" not in body


def test_document_text_is_escaped_and_the_page_has_no_script_or_outside_reference():
    hostile = ("# <script>alert(1)</script>\n\n<img src=http://203.0.113.9/x.png> "
               "[click](javascript:alert(1)) <a href='http://203.0.113.9'>x</a> & done.\n")
    doc = viewer.DocText("d.md", "<b>T</b>", hostile, complete=True)
    page = viewer.page_html(doc, viewer.ViewRequest(len(hostile) - 6, len(hostile) - 1, "uploads/d.md"))
    assert "<script" not in page and "<img" not in page and "<a href='http" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;T&lt;/b&gt;" in page
    tags = _tags(page)
    assert {t for t, _ in tags} <= {"html", "head", "meta", "title", "style", "body", "header", "h1",
                                    "h2", "p", "a", "main", "mark", "ul", "li"}
    assert [a for t, attrs in tags for a in attrs if a[0] in ("src", "href", "style")] == [
        ("href", f"#{viewer.HIT_ID}")]  # our only link; no image, no inline style
    assert "script-src 'none'" in viewer.CSP and "img-src 'none'" in viewer.CSP


def test_pdf_pages_are_labelled_and_the_hit_page_is_named():
    text = "Page one text.\n\nMore on one.\fPage two starts. The cited sentence.\n\fPage three."
    start = text.index("The cited")
    end = start + len("The cited sentence.")
    doc = viewer.DocText("r.pdf", "Report", text, complete=True)
    assert doc.pages == 3 and doc.page_of(start) == 2
    page = viewer.page_html(doc, viewer.ViewRequest(start, end, "docs/r.pdf"))
    for n in (1, 2, 3):
        assert f'id="page-{n}">Page {n}</h2>' in page
    assert "cited passage on page 2 of 3" in page
    assert page.index('id="page-2"') < page.index(f'id="{viewer.HIT_ID}"') < page.index('id="page-3"')
    assert _text_between_tags(page, "mark") == text[start:end]


def test_a_page_break_inside_a_paragraph_is_shown_with_its_page():
    text = "A sentence that runs over the\fpage break and ends here."
    body = viewer.body_html(text, 0, len(text))
    assert "[page 2]" in body and "\f" not in body


def test_reextracted_text_is_used_only_when_every_indexed_chunk_matches(tmp_path):
    src = tmp_path / "manual.txt"
    src.write_text(MD)
    chunks = _chunks("manual.txt", MD, [(0, 60), (50, len(MD))])
    catalog, lexical = _index(tmp_path, "manual.txt", src, chunks)
    loads = []

    def loader(path):
        loads.append(path)
        from rag.loaders import load_file
        return load_file(path)

    texts = viewer.DocumentTexts(catalog, lexical, loader=loader)
    doc = texts.get("manual.txt")
    assert doc.complete and doc.text == MD
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)
    assert texts.get("manual.txt") is doc and len(loads) == 1  # cached while the file is unchanged
    src.write_text("Something else entirely, longer than before so offsets differ.\n" + MD)
    changed = texts.get("manual.txt")
    assert not changed.complete  # the file no longer matches the index: the indexed text
    assert all(changed.text[c.start:c.end] == c.text for c in chunks)
    src.unlink()
    gone = texts.get("manual.txt")
    assert not gone.complete and gone.text == MD  # the chunks cover the whole text here
    assert texts.get("other.txt") is None


def test_text_stored_at_ingest_comes_first_and_is_checked_too(tmp_path):
    from rag.doc_texts import SCHEMA as DOC_TEXTS, DocTexts

    src = tmp_path / "manual.pdf"  # never read: the stored text is used
    chunks = _chunks("manual.pdf", MD, [(0, 60), (50, len(MD))])
    catalog, lexical = _index(tmp_path, "manual.pdf", src, chunks)
    db = catalog.db
    db.conn.executescript(DOC_TEXTS)
    with db.transaction() as conn:
        DocTexts.put(conn, "manual.pdf", MD)
    assert DocTexts(db).get("manual.pdf") == MD

    def loader(path):
        raise AssertionError("the file must not be re-read")

    doc = viewer.DocumentTexts(catalog, lexical, loader=loader, stored=DocTexts(db).get).get("manual.pdf")
    assert doc.complete and doc.text == MD
    with db.transaction() as conn:  # a stored text that disagrees with the chunks is not used
        DocTexts.put(conn, "manual.pdf", "x" * len(MD))
    other = viewer.DocumentTexts(catalog, lexical, stored=DocTexts(db).get).get("manual.pdf")
    assert not other.complete and other.text == MD  # rebuilt from the chunks (no file)
    with db.transaction() as conn:
        DocTexts.delete(conn, ["manual.pdf"])
    assert DocTexts(db).get("manual.pdf") is None


def test_stored_text_round_trips_any_unicode(tmp_path):
    from rag.doc_texts import SCHEMA as DOC_TEXTS, DocTexts

    db = IndexDB(tmp_path / "t.sqlite", schemas=[DOC_TEXTS])
    text = "Zürich — 東京 \f page two \ud800 lone surrogate 🎉"
    with db.transaction() as conn:
        DocTexts.put(conn, "d", text)
    assert DocTexts(db).get("d") == text


def test_rebuilt_text_keeps_offsets_and_blanks_gaps():
    text = "0123456789abcdefghij"
    chunks = _chunks("d", text, [(2, 6), (10, 14)])
    rebuilt = viewer.rebuild(chunks)
    assert rebuilt == "  2345    abcd"
    assert viewer.first_mismatch(rebuilt, chunks) is None
    assert viewer.first_mismatch("x" * 20, chunks) == chunks[0]


def test_parse_span_accepts_spans_of_the_text_only():
    assert viewer.parse_span("3", "9", 10) == (3, 9)
    assert viewer.parse_span(None, None, 10) == (0, 0)
    for bad in (("9", "3"), ("-1", "2"), ("0", "11"), ("a", "2")):
        assert viewer.parse_span(*bad, 10) is None


def test_doc_key_resolves_from_the_shown_path_only_to_indexed_documents():
    ids = ["/elsewhere/c.md", "/srv/data/uploads/a.md", "/srv/work/notes/b.md", "seeds/b.txt"]
    roots = (Path("/srv/data"), Path("/srv/work"))
    asked = []

    def indexed(doc_id: str) -> bool:
        asked.append(doc_id)
        return doc_id in ids

    def find(key: str) -> str | None:
        return render.find_shown_doc(key, roots, indexed, lambda: iter(ids))

    assert find("uploads/a.md") == "/srv/data/uploads/a.md"
    assert find("notes/b.md") == "/srv/work/notes/b.md"  # the second root
    assert find("seeds/b.txt") == "seeds/b.txt"
    assert find("/srv/data/uploads/a.md") == "/srv/data/uploads/a.md"  # an exact doc id
    assert find("…/c.md") == "/elsewhere/c.md"  # outside every root: only its name is shown
    for key in ("/etc/passwd", "../etc/passwd", "uploads//a.md", "…/nope.md", "gone.md"):
        assert find(key) is None, key
    asked.clear()
    find("uploads/a.md")
    assert len(asked) <= 3  # lookups by id, not a scan of every document
    for key in ids:  # whatever the page shows of a document leads back to it
        assert find(render.shown_path(key, roots)) == key


def test_source_links_open_the_viewer_at_the_citation_and_labels_are_distinct():
    a = Citation(1, "docs/m.md", "docs/m.md#0", "x", 10, 20, 0.9, "Manual", section="Safety")
    b = Citation(2, "docs/m.md", "docs/m.md#1", "y", 40, 52, 0.8, "Manual", section="Safety")
    c = Citation(3, "docs/m.md", "docs/m.md#2", "z", 90, 99, 0.7, "Manual", page=3, section="Use")
    labels = render.source_labels([a, b, c])
    assert labels == [("Manual", "Safety, excerpt 1"), ("Manual", "Safety, excerpt 2"), ("Manual", "Use, p. 3")]
    out = render.source_html(a, [], "u", labels[0])
    href = html.unescape(re.search(r'class="rag-view" href="([^"]+)"', out).group(1))
    assert href == "view?doc=docs%2Fm%2Emd&start=10&end=20&q=x#rag-hit"
    hostile = Citation(1, "d", "d#0", "<script>[a](http://x) & \"q\"", 0, 9, 0.5)
    link = render.view_link(hostile)
    assert "<script" not in link and "http:" not in link and "](" not in link
    assert html.unescape(link).count('"') == 8  # 4 attributes: the quote cannot end one


def test_a_quote_that_moved_since_the_answer_is_found_again_or_reported():
    text = "New first line.\nThe pump runs at 40 bar. More."
    at = text.index("The pump")
    assert viewer.locate(text, at, at + 24, "The pump runs at 40 bar.") == (at, at + 24, "")
    moved = viewer.locate(text, 0, 24, "The pump runs at 40 bar.")
    assert moved[:2] == (at, at + 24) and "another place" in moved[2]
    gone = viewer.locate(text, 0, 5, "Not in the text")
    assert gone[:2] == (0, 0) and "no longer" in gone[2]
    assert viewer.locate(text, at, at + 24, None) == (at, at + 24, "")
    cut = viewer.locate(text, 0, 24, "The pump runs")  # a quote cut short in the URL
    assert cut[:2] == (at, at + 24)


def test_passage_preview_is_cut_at_word_boundaries():
    words = " ".join(f"word{i}" for i in range(200))
    quote = "word100 word101"
    start = words.index(quote)
    chunk = Chunk("d#0", "d", "d", "T", words, 0, len(words))
    c = Citation(1, "d", "d#0", quote, start, start + len(quote), 0.5)
    out = html.unescape(render.passage_html(c, [Hit(chunk, 0.1)]))
    pre, post = out.split("<mark>")[0], out.split("</mark>")[1]
    assert pre.startswith("…word") and pre.endswith(" ")
    assert post.endswith("…") and re.fullmatch(r"( word\d+)+…", post), post
    assert all(w.startswith("word") and w[4:].isdigit() for w in (pre[1:] + post[:-1]).split())
