"""Upload checks: every file judged alone, names sanitised, nothing stored outside uploads/."""

from pathlib import Path

import pytest

from tests.fakes import make_pdf
from ui.uploads import UploadLimits, check_files, human_size, safe_name, store

LIMITS = UploadLimits(max_bytes=1000, max_files=3)


@pytest.mark.parametrize("raw, expected", [
    ("notes.md", "notes.md"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\evil.TXT", "evil.txt"),
    ("/abs/path/report.pdf", "report.pdf"),
    ("my report (final).html", "my_report_final.html"),
    (".bashrc", "bashrc"),
    ("...", None),
    ("", None),
    ("../", None),
    ("a\x00b.txt", "ab.txt"),
    (".txt", "txt"),
])
def test_safe_name(raw, expected):
    assert safe_name(raw) == expected


def test_safe_name_caps_length_and_keeps_suffix():
    name = safe_name("x" * 500 + ".md")
    assert name.endswith(".md") and len(name) <= 120


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    d = tmp_path / f"in{len(list(tmp_path.iterdir()))}"
    d.mkdir()
    p = d / name
    p.write_bytes(data)
    return p


def test_each_file_gets_its_own_verdict(tmp_path):
    files = [
        _file(tmp_path, "good.md", b"# Pumps\nThe pump runs at 40 bar."),
        _file(tmp_path, "big.txt", b"x" * 1001),
        _file(tmp_path, "tool.exe", b"MZ..."),
        _file(tmp_path, "empty.txt", b""),
        _file(tmp_path, "passwd", b"root:x:0:0"),
    ]
    checked = check_files(files, UploadLimits(max_bytes=1000, max_files=10))
    assert [n for n, _ in checked.accepted] == ["good.md"]
    reasons = {r.name: r.reason for r in checked.rejected}
    assert reasons["big.txt"] == "too large (0.978 KB; limit 0.977 KB)"
    assert "unsupported type .exe" in reasons["tool.exe"]
    assert reasons["empty.txt"] == "empty file"
    assert "unsupported type (no extension)" in reasons["passwd"]


def test_content_must_match_type(tmp_path):
    files = [
        _file(tmp_path, "fake.pdf", b"hello, not a pdf"),
        _file(tmp_path, "real.pdf", make_pdf(["Hello"])),
        _file(tmp_path, "bin.txt", b"abc\x00def"),
    ]
    checked = check_files(files, UploadLimits(max_bytes=10_000))
    assert [n for n, _ in checked.accepted] == ["real.pdf"]
    reasons = {r.name: r.reason for r in checked.rejected}
    assert "not a PDF" in reasons["fake.pdf"] and "binary" in reasons["bin.txt"]


def test_count_limit_rejects_the_extra_files(tmp_path):
    files = [_file(tmp_path, f"f{i}.txt", b"text") for i in range(5)]
    checked = check_files(files, LIMITS)
    assert len(checked.accepted) == 3
    assert [r.reason for r in checked.rejected] == ["too many files (at most 3 per upload)"] * 2


def test_human_size():
    assert (human_size(1000), human_size(20 * 1024 * 1024), human_size(1536 * 1024)) == (
        "0.977 KB", "20 MB", "1.5 MB")


def test_store_stays_inside_target(tmp_path):
    src = _file(tmp_path, "a.txt", b"hello")
    target = tmp_path / "uploads"
    dest = store("a.txt", src, target)
    assert dest == (target / "a.txt").resolve() and dest.read_bytes() == b"hello"
    with pytest.raises(ValueError):
        store("../escape.txt", src, target)
    assert not (tmp_path / "escape.txt").exists()


def test_orphaned_uploads_go_once_recovered_or_old(tmp_path):
    import os
    import time

    from ui.uploads import remove_orphans

    up = tmp_path / "uploads"
    up.mkdir()
    kept, killed, fresh, old = (up / n for n in ("kept.txt", "killed.txt", "fresh.txt", ".old.txt.part"))
    for f in (kept, killed, fresh, old):
        f.write_text("x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    removed = remove_orphans(up, {str(kept.resolve())}, {str(killed.resolve())}, min_age_s=600)
    assert sorted(p.name for p in removed) == [".old.txt.part", "killed.txt"]
    assert kept.exists() and fresh.exists()  # another process may be about to index fresh.txt
