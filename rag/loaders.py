"""Read one file into extracted text + title. Offsets everywhere refer to this text.

For .txt/.md the extracted text is the file's own text (decoded UTF-8, newlines kept).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
MAX_TITLE_CHARS = 200


class UnreadableFile(Exception):
    """A file that cannot become text; the reason is the message."""


@dataclass(frozen=True)
class LoadedFile:
    text: str
    title: str


def _decode(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise UnreadableFile("binary content")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _first_line_title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:MAX_TITLE_CHARS]
    return fallback


def _load_html(raw: bytes) -> LoadedFile:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(raw), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    text = "\n".join(line for line in lines if line)
    return LoadedFile(text, title or _first_line_title(text, ""))


def _load_pdf(path: Path) -> LoadedFile:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        raise UnreadableFile(f"cannot parse PDF ({exc})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    return LoadedFile(text, title.strip() or _first_line_title(text, ""))


def load_file(path: Path) -> LoadedFile:
    """Extract text and a title; raise UnreadableFile with a reason otherwise."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnreadableFile(f"unsupported type {suffix or '(none)'}")
    try:
        raw = path.read_bytes() if suffix != ".pdf" else b""
    except OSError as exc:
        raise UnreadableFile(f"cannot read ({exc.strerror or exc})") from exc
    if suffix == ".pdf":
        loaded = _load_pdf(path)
    elif suffix in {".html", ".htm"}:
        loaded = _load_html(raw)
    else:
        text = _decode(raw)
        loaded = LoadedFile(text, _first_line_title(text, path.stem))
    if not loaded.text.strip():
        raise UnreadableFile("no text")
    return LoadedFile(loaded.text, loaded.title or path.stem)


def iter_files(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand folders; return (supported files, skipped with reason). Missing paths raise."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(str(p))
        candidates = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
        for f in candidates:
            if any(part.startswith(".") for part in f.relative_to(p if p.is_dir() else p.parent).parts):
                continue
            if f.suffix.lower() in SUPPORTED:
                files.append(f)
            else:
                skipped.append((f, f"unsupported type {f.suffix or '(none)'}"))
    return files, skipped
