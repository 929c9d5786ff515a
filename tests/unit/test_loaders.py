"""File loading: supported formats extract text + title; bad files are skipped with a reason."""

from pathlib import Path

import pytest

from rag.errors import InputError
from rag.ingest import read_files
from rag.loaders import UnreadableFile, load_file
from tests.fakes import make_pdf


def test_txt_keeps_exact_text_and_first_line_title(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes("Title line\r\nBody with é and “quotes”.\n".encode())
    loaded = load_file(f)
    assert loaded.text == "Title line\r\nBody with é and “quotes”.\n"
    assert loaded.title == "Title line"


def test_markdown_title_from_heading(tmp_path):
    f = tmp_path / "n.md"
    f.write_text("# Release notes\n\nVersion 2 adds *cited* answers.\n")
    assert load_file(f).title == "Release notes"


def test_html_drops_scripts_and_uses_title(tmp_path):
    f = tmp_path / "p.html"
    f.write_text(
        "<html><head><title>Pump manual</title><script>var x = 'secret';</script></head>"
        "<body><h1>Maintenance</h1><p>Change the seal every 500 hours.</p></body></html>"
    )
    loaded = load_file(f)
    assert loaded.title == "Pump manual"
    assert "Change the seal every 500 hours." in loaded.text
    assert "secret" not in loaded.text and "Pump manual" not in loaded.text


def test_pdf_text_extracted(tmp_path):
    f = tmp_path / "r.pdf"
    f.write_bytes(make_pdf(["Quarterly report", "Revenue grew by 12 percent in March."]))
    loaded = load_file(f)
    assert "Revenue grew by 12 percent in March." in loaded.text
    assert loaded.title == "Quarterly report"


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "not UTF-8"),
        ("blob.txt", b"\x00\x01\x02binary\x00", "binary"),
        ("empty.md", b"   \n\n", "no text"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("image.png", b"\x89PNG\r\n", "unsupported"),
    ],
)
def test_bad_files_raise_unreadable_with_reason(tmp_path, name, data, reason):
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(UnreadableFile, match=reason):
        load_file(f)


def test_unreadable_path_is_reported(tmp_path):
    d = tmp_path / "folder.txt"
    d.mkdir()
    with pytest.raises(UnreadableFile, match="cannot read"):
        load_file(d)


def test_read_files_skips_bad_ones_and_keeps_the_rest(tmp_path, caplog):
    (tmp_path / "good.txt").write_text("Good file.\nIt has text.")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00\x00")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / ".hidden.txt").write_text("hidden")
    records, skipped = read_files([tmp_path])
    assert [Path(r.path).name for r in records] == ["good.txt"]
    assert sorted(Path(p).name for p, _ in skipped) == ["bad.txt", "empty.txt", "notes.docx"]
    for name in ("bad.txt", "empty.txt", "notes.docx"):
        assert name in caplog.text


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_files([tmp_path / "nope"])


def _blocks(loaded):
    return [(b.kind, loaded.text[b.start:b.end]) for b in loaded.blocks]


def test_markdown_reads_link_and_image_text_not_urls_and_keeps_structure(tmp_path):
    f = tmp_path / "r.md"
    f.write_text(
        "# Release notes\n\nVersion 2 adds *cited* answers, see [the guide](https://x.example/guide)\n"
        "and ![a diagram of the pipeline](img/p.png).\n\n## Install\n\n- run `make setup`\n"
        "- then **start** it\n\n1. first\n2. second\n\n| key | value |\n|---|---|\n| port | 7860 |\n\n"
        "```\nmake chat\n```\n"
    )
    loaded = load_file(f)
    assert "https://" not in loaded.text and "img/p.png" not in loaded.text and "*" not in loaded.text
    assert _blocks(loaded) == [
        ("heading", "Release notes"),
        ("paragraph", "Version 2 adds cited answers, see the guide and a diagram of the pipeline."),
        ("heading", "Install"),
        ("list_item", "run make setup"), ("list_item", "then start it"),
        ("list_item", "first"), ("list_item", "second"),
        ("table_row", "key | value"), ("table_row", "port | 7860"),
        ("code", "make chat"),
    ]
    assert loaded.title == "Release notes"
    assert loaded.blocks[3].section == ("Release notes", "Install")


def test_html_blocks_break_inline_elements_do_not(tmp_path):
    f = tmp_path / "p.html"
    f.write_text(
        "<html><head><title>Pump</title></head><body><h2>Seals</h2><p>Change the <b>seal</b> every"
        " <a href='/x'>500 hours</a>.</p><div>Check<br>the valve.</div><ul><li>Item one</li>"
        "<li>Item <i>two</i></li></ul><table><tr><th>Part</th><th>Hours</th></tr>"
        "<tr><td>Seal</td><td>500</td></tr></table><pre>pump --reset\npump --start</pre></body></html>"
    )
    assert _blocks(load_file(f)) == [
        ("heading", "Seals"), ("paragraph", "Change the seal every 500 hours."),
        ("paragraph", "Check"), ("paragraph", "the valve."),
        ("list_item", "Item one"), ("list_item", "Item two"),
        ("table_row", "Part | Hours"), ("table_row", "Seal | 500"),
        ("code", "pump --reset"), ("code", "pump --start"),
    ]


HIDDEN = [
    "<p style='display:none'>HIDDEN</p>",
    "<p style='DISPLAY: none !important'>HIDDEN</p>",
    "<p style='visibility:hidden'>HIDDEN</p>",
    "<p hidden>HIDDEN</p>",
    "<p style='color:#fff'>HIDDEN</p>",
    "<p style='color: rgb(255, 255, 255)'>HIDDEN</p>",
    "<div style='background:#000'><span style='color:#010101'>HIDDEN</span></div>",
    "<p style='font-size:0'>HIDDEN</p>",
    "<p style='font-size:0.5px'>HIDDEN</p>",
    "<p style='opacity:0'>HIDDEN</p>",
    "<p style='position:absolute;left:-9999px'>HIDDEN</p>",
    "<p style='height:0;overflow:hidden'>HIDDEN</p>",
    "<p style='clip:rect(0 0 0 0);position:absolute'>HIDDEN</p>",
    "<p style='color:transparent'>HIDDEN</p>",
    "<style>.sr {display:none} @media screen { #x { visibility: hidden } }</style>"
    "<p class='sr'>HIDDEN</p><p id='x'>HIDDEN</p>",
    "<!-- HIDDEN --><script>HIDDEN</script><template><p>HIDDEN</p></template><noscript>HIDDEN</noscript>",
    "<input type='hidden' value='HIDDEN'><textarea>HIDDEN</textarea>",
    "<font color='#FFFFFF'>HIDDEN</font>",
    "<table bgcolor='black'><tr><td><font color='black'>HIDDEN</font></td></tr></table>",
    "<span style='position:absolute;width:1px;height:1px;overflow:hidden'>HIDDEN</span>",
]


@pytest.mark.parametrize("snippet", HIDDEN)
def test_html_hidden_text_never_reaches_the_extracted_text(tmp_path, snippet):
    f = tmp_path / "h.html"
    f.write_text(f"<html><body><p>Visible text stays.</p>{snippet}</body></html>")
    text = load_file(f).text
    assert "Visible text stays." in text
    assert "HIDDEN" not in text


def test_html_visible_coloured_text_is_kept(tmp_path):
    f = tmp_path / "c.html"
    f.write_text("<body><div style='background:#000'><p style='color:#fff'>White on black.</p></div>"
                 "<p style='color:red'>Red on white.</p>"
                 "<table bgcolor='black'><tr><td><font color='white'>Legacy white on black.</font></td></tr>"
                 "</table></body>")
    text = load_file(f).text
    assert "White on black." in text and "Red on white." in text and "Legacy white on black." in text


def test_pdf_pages_furniture_and_hyphenation():
    from rag.pdf_render import render_pages

    pages = [
        "12/1/26, 9:46 PM                 Report\n  Title of the report\n\n"
        "  This paragraph explains how the system processes infor-\n"
        "  mation about packages and their dependencies when it runs.\n\n"
        "  Second paragraph on page one is long enough to wrap over\n"
        "  two lines of the printed page.\n"
        "file:///tmp/r.html                      1/3",
        "12/1/26, 9:46 PM                 Report\n"
        "  Page two states a fact that is well-known to every well-\n"
        "  known package maintainer, and the last line is not yet at\n"
        "  the end of its sentence, which goes on to the next page\n"
        "file:///tmp/r.html                      2/3",
        "12/1/26, 9:46 PM                 Report\n  and is finished on page three.\n\n  3\n",
    ]
    text = render_pages(pages)
    assert "PM" not in text and "file:" not in text and "1/3" not in text
    assert "processes information about packages" in text and "every well-known package" in text
    assert "next page\fand is finished" in text  # a sentence running over a page stays one paragraph
    assert text.count("\f") == 2


def test_pdf_line_ending_in_a_hyphen_before_a_number_stays_one_word():
    from rag.pdf_render import render_pages

    text = render_pages(["  Members may run pkexec (from the policykit-\n  1 package, whether or not sudo is there).\n"])
    assert "policykit-1 package" in text


def test_markdown_hidden_inline_and_block_html_is_dropped(tmp_path):
    f = tmp_path / "h.md"
    f.write_text("# Notes\n\nVisible <span style=\"display:none\">HIDDEN <b>HIDDEN</b></span>text"
                 " <b>bold</b> stays.\n\n<div hidden>HIDDEN</div>\n\n<!-- HIDDEN -->\n\nEnd.\n")
    text = load_file(f).text
    assert "HIDDEN" not in text
    assert "Visible text bold stays." in text and "End." in text
