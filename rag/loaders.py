"""Read one file into extracted text + title. Offsets everywhere refer to this text.

- .txt: the file's own text (decoded UTF-8, newlines kept); its structure is read from the
  text itself (rag.structure: hard wraps, headings, list items).
- .md, .html, .pdf: a cleaned rendering in rag.structure's plain-text convention ("# " headings,
  "- " list items, "| a | b |" table rows, blank lines between paragraphs, "\\f" between PDF
  pages), so that block structure, sections and pages are recomputed exactly from the text.
  Markdown reads the text of links and images, not their URLs, without emphasis markers;
  HTML keeps visible text only (rag.html_render); PDF text has hyphenation joined and repeated page
  headers/footers and page numbers dropped (rag.pdf_render).
"""

from __future__ import annotations

import hashlib

import logging
from dataclasses import dataclass, field
from pathlib import Path

from rag.structure import PAGE_BREAK, detect, page_starts

log = logging.getLogger(__name__)

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
MAX_TITLE_CHARS = 200


class UnreadableFile(Exception):
    """A file that cannot become text; the reason is the message."""


@dataclass(frozen=True)
class LoadedFile:
    text: str
    title: str
    pages: list[tuple[int, int]] = field(default_factory=list)  # PDF: [start, end) per page
    content_hash: str = ""  # sha256 of the file's bytes (load_file; the catalogue's content_hash)

    @property
    def blocks(self):
        return detect(self.text)


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


def _first_heading(text: str) -> str:
    for b in detect(text):
        if b.kind == "heading":
            return " ".join(text[b.start:b.end].split())[:MAX_TITLE_CHARS]
    return ""


def _load_markdown(raw: bytes) -> LoadedFile:
    from rag.md_render import render_markdown

    text = render_markdown(_decode(raw))
    return LoadedFile(text, _first_heading(text) or _first_line_title(text, ""))


def _load_html(raw: bytes) -> LoadedFile:
    from rag.html_render import render_html

    title, text = render_html(_decode(raw))
    return LoadedFile(text, title or _first_heading(text) or _first_line_title(text, ""))


def _load_pdf(raw: bytes) -> LoadedFile:
    from rag.pdf_render import render_pdf

    title, text = render_pdf(raw)
    starts = page_starts(text)
    ends = [s - len(PAGE_BREAK) for s in starts[1:]] + [len(text)]
    return LoadedFile(text, title or _first_line_title(text, ""), list(zip(starts, ends)))


def load_file(path: Path) -> LoadedFile:
    """Extract text and a title; raise UnreadableFile with a reason otherwise."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnreadableFile(f"unsupported type {suffix or '(none)'}")
    try:
        raw = path.read_bytes()  # read once: parsed and hashed from these bytes
    except OSError as exc:
        raise UnreadableFile(f"cannot read ({exc.strerror or exc})") from exc
    if suffix == ".pdf":
        loaded = _load_pdf(raw)
    elif suffix in {".html", ".htm"}:
        loaded = _load_html(raw)
    elif suffix in {".md", ".markdown"}:
        loaded = _load_markdown(raw)
    else:
        text = _decode(raw)
        loaded = LoadedFile(text, _first_line_title(text, path.stem))
    if not loaded.text.replace(PAGE_BREAK, "").strip():
        raise UnreadableFile("no text")
    return LoadedFile(loaded.text, loaded.title or path.stem, loaded.pages,
                      hashlib.sha256(raw).hexdigest())


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
