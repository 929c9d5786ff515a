"""PDF → rag.structure's plain-text rendering (pypdf, layout mode), pages separated by "\\f".

pypdf's layout mode keeps vertical gaps as blank lines and indentation as leading spaces;
from that: paragraphs end at a gap, at an indentation change, or where a line ended early
(the next word would have fitted); lines of a paragraph are joined with a space, line-end
hyphenation is joined ("infor-" + "mation" → "information", unless the hyphenated form is
what the document uses elsewhere); lines repeated at the top or bottom of most pages
(headers/footers, digits ignored) and bare page numbers are dropped; ligatures (ﬁ, ﬂ) are
spelled out. A paragraph that runs on over a page break stays one paragraph.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

from rag.structure import PAGE_BREAK

log = logging.getLogger(__name__)

ZONE = 3  # lines at the top and bottom of a page that can be headers/footers
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
                           "\u00ad": ""})
PAGE_NUMBER_RE = re.compile(r"^(?:page\s+)?[-–—(\[]?\s*\d{1,4}\s*[-–—)\]]?(?:\s*(?:/|of)\s*\d{1,4})?$", re.I)
BROWSER_LINE_RE = re.compile(r"^(?:\d{1,2}/\d{1,2}/\d{2,4},?\s+\d{1,2}:\d{2}(?:\s*[AP]M)?\b|"
                             r"(?:file|https?)://\S+\s+\d{1,4}\s*/\s*\d{1,4}$)", re.I)
SPACES_RE = re.compile(r"\s+")
WORD_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
MARKER_RE = re.compile(r"^(?:[-*+•‣◦▪]|\d{1,3}[.)])\s+\S")
HYPHEN_END_RE = re.compile(r"([A-Za-z]+)-$")


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", SPACES_RE.sub(" ", line).strip().lower())


def _page_lines(text: str) -> list[str]:
    return [ln.rstrip() for ln in text.translate(LIGATURES).replace("\r", "").split("\n")]


def _zone(lines: list[str]) -> list[int]:
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    return idx[:ZONE] + idx[-ZONE:] if len(idx) > 2 * ZONE else idx


def drop_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Remove running headers/footers and page numbers from each page's lines."""
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_key(lines[i]) for i in _zone(lines)})
    repeated = {k for k, n in counts.items() if len(pages) >= 2 and n >= max(2, (len(pages) + 1) // 2)}
    out = []
    for lines in pages:
        zone = set(_zone(lines))
        keep = []
        for i, ln in enumerate(lines):
            s = SPACES_RE.sub(" ", ln).strip()
            if i in zone and (_key(ln) in repeated or PAGE_NUMBER_RE.match(s) or BROWSER_LINE_RE.match(s)):
                continue
            keep.append(ln)
        out.append(keep)
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _paragraphs(lines: list[str], width: int) -> list[list[str]]:
    """Group a page's lines into paragraphs (lists of stripped lines)."""
    paras: list[list[str]] = []
    cur: list[str] = []
    prev = ""
    cur_indent = 0
    for ln in lines:
        s = SPACES_RE.sub(" ", ln).strip()
        if not s:
            if cur:
                paras.append(cur)
            cur, prev = [], ""
            continue
        if cur:
            first = s.split(" ", 1)[0]
            early = len(SPACES_RE.sub(" ", prev).strip()) + 1 + len(first) <= 0.85 * width
            hanging = bool(MARKER_RE.match(cur[0])) and _indent(ln) > cur_indent  # a list item's next line
            if early or MARKER_RE.match(s) or (_indent(ln) != _indent(prev) and not hanging):
                paras.append(cur)
                cur = []
        if not cur:
            cur_indent = _indent(ln)
        cur.append(s)
        prev = ln
    if cur:
        paras.append(cur)
    return paras


def _join_lines(lines: list[str], vocab: set[str]) -> str:
    out = lines[0]
    for ln in lines[1:]:
        m = HYPHEN_END_RE.search(out)
        nxt = WORD_RE.match(ln)
        if m and nxt and ln[:1].islower():
            joined, hyphenated = m.group(1) + nxt.group(), m.group(1) + "-" + nxt.group()
            if hyphenated.lower() in vocab and joined.lower() not in vocab:
                out += ln
            else:
                out = out[:-1] + ln
        elif m and ln[:1].isdigit():  # "policykit-" + "1": a compound with a number, never a split word
            out += ln
        else:
            out += " " + ln
    return out


def _width(pages: list[list[str]]) -> int:
    lengths = sorted(len(SPACES_RE.sub(" ", ln).strip()) for p in pages for ln in p if ln.strip())
    if not lengths:
        return 80
    return lengths[-1] if len(lengths) < 10 else lengths[int(0.9 * (len(lengths) - 1))]


def render_pages(raw_pages: list[str]) -> str:
    pages = drop_furniture([_page_lines(t) for t in raw_pages])
    vocab = {w.lower() for p in pages for ln in p for w in WORD_RE.findall(ln)}
    width = _width(pages)
    out = ""
    for n, lines in enumerate(pages):
        paras = [_join_lines(p, vocab) for p in _paragraphs(lines, width)]
        if n:
            runs_on = out.rstrip() and not out.rstrip().endswith(tuple(".!?:")) and paras and paras[0][:1].islower()
            out = out.rstrip() + (PAGE_BREAK if runs_on else "\n" + PAGE_BREAK + "\n")
        out += "\n\n".join(paras)
    return out + "\n"


def render_pdf(data: bytes) -> tuple[str, str]:
    """(title from the metadata, rendered text) of a PDF's bytes; raises
    rag.loaders.UnreadableFile."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    from rag.loaders import UnreadableFile

    try:
        reader = PdfReader(io.BytesIO(data))
        raw = [_extract(page) for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except (PyPdfError, ValueError, KeyError, OSError, TypeError) as exc:
        raise UnreadableFile(f"cannot parse PDF ({exc})") from exc
    return str(title).strip(), render_pages(raw)


def _extract(page) -> str:
    try:
        return page.extract_text(extraction_mode="layout") or ""
    except Exception:  # layout mode fails on some fonts: plain mode still gives the words
        log.info("pypdf layout extraction failed; using plain extraction", exc_info=True)
        return page.extract_text() or ""
