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
