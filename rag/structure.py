"""Block structure of an extracted text: headings, paragraphs, list items, table rows, code, pages.

Every loader renders its format into one plain-text convention that this module reads back,
so the structure is recomputed from the text alone wherever a text travels (ingest, evals):
- paragraphs are separated by a blank line; a single line break inside a paragraph is a space
  when the text is hard-wrapped (a line that ended early on purpose ends its paragraph);
- "# Heading" lines (ATX, level = number of #) and setext underlines are headings; in a text
  without them, short isolated title-like lines (and a first title line) are taken as headings;
- "- item", "* item", "1. item" and timeline lines ("09:15 UTC: ...") are list items;
- "| a | b |" lines are table rows; ``` fences hold code (one block per line);
- a form feed "\\f" separates PDF pages (page n = number of "\\f" before an offset, plus one).

Block spans are exact: text[block.start:block.end] is the block's text (markers excluded).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass

PAGE_BREAK = "\f"
LINE_RE = re.compile(r"[^\n\f]*(?:\r?\n|\f|$)")
ATX_RE = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
RULE_RE = re.compile(r"^[ \t]*([-=*_~])(?:[ \t]*\1){2,}[ \t]*$")
LIST_RE = re.compile(r"^([ \t]*)(?:[-*+•‣◦▪]|\(?\d{1,3}[.)]|\(?[a-z][.)])[ \t]+(?=\S)")
TIMELINE_RE = re.compile(r"^([ \t]*)(?=(?:\d{4}-\d{2}-\d{2}[ T]?)?\d{1,2}:\d{2}(?::\d{2})?\b[^\n]{0,25}?(?::|\s[-–—])\s)")
TABLE_RE = re.compile(r"^[ \t]*\|(.*\|)[ \t]*$")
TABLE_SEP_RE = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")
FENCE_RE = re.compile(r"^[ \t]{0,3}(```|~~~)")
NUMBERED_HEADING_RE = re.compile(r"^(\d+(?:\.\d+)+)\.?\s+\S")
FINAL_PUNCT = ".!?;,\"”’)]"
WRAPPED_MAX_WIDTH = 100  # a text whose long lines stay under this is hard-wrapped
MAX_HEADING_CHARS = 80
# a line with an address or a copyright sign states something ("Report bugs to: bug-x@gnu.org",
# "Copyright © 1992 Jean-loup Gailly"): content, never a guessed heading
STATEMENT_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|\bhttps?://|\bwww\.|©")
MAX_HEADING_WORDS = 12
KINDS = ("heading", "paragraph", "list_item", "table_row", "code")


@dataclass(frozen=True)
class Block:
    kind: str  # one of KINDS
    start: int
    end: int
    level: int = 0  # headings: 1..6
    section: tuple[str, ...] = ()  # heading path in force here (a heading includes itself)
    page: int | None = None  # 1-based, for texts with page breaks


@dataclass
class _Line:
    start: int  # first char of the line
    end: int  # end of its content (line break excluded)
    brk: str  # "\n", "\f" or ""

    def text(self, doc: str) -> str:
        return doc[self.start : self.end]


def _lines(text: str) -> list[_Line]:
    out = []
    for m in LINE_RE.finditer(text):
        if m.start() == m.end() and m.start() == len(text) and out:
            break
        raw = m.group()
        brk = "\f" if raw.endswith("\f") else ("\n" if raw.endswith("\n") else "")
        content = raw.rstrip("\r\n\f")
        out.append(_Line(m.start(), m.start() + len(content), brk))
    return out


def _strip_span(text: str, lo: int, hi: int) -> tuple[int, int]:
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, hi


def _wrap_width(text: str, lines: list[_Line]) -> int | None:
    """The hard-wrap width (90th percentile line length), or None when lines are not wrapped."""
    lengths = sorted(len(ln.text(text).rstrip()) for ln in lines if ln.text(text).strip())
    if len(lengths) < 2:
        return None
    width = lengths[-1] if len(lengths) < 10 else lengths[int(0.9 * (len(lengths) - 1))]
    return width if width <= WRAPPED_MAX_WIDTH else None


def _ends_early(text: str, line: _Line, nxt: _Line, width: int | None) -> bool:
    """True when `line` ends its paragraph: unwrapped text, or the next word would have fitted."""
    cur = line.text(text).rstrip()
    words = nxt.text(text).split()
    if line.brk == PAGE_BREAK:  # a paragraph continues over a page only mid-sentence
        return cur.endswith(tuple(".!?:")) or not words or not words[0][:1].islower()
    if words and words[0][:1].islower() and not cur.endswith(tuple(".!?:")):
        return False  # a sentence visibly runs on
    if width is None:  # unwrapped: a line is a paragraph
        return True
    if not words:
        return True
    need = len(cur) + 1 + len(words[0])
    return need <= width - max(4, width // 10) or (need <= width and cur.endswith(tuple(".!?:")))


def _indent(s: str) -> int:
    return len(s) - len(s.lstrip(" \t"))


def _is_special(s: str) -> bool:
    return bool(ATX_RE.match(s) or LIST_RE.match(s) or TIMELINE_RE.match(s) or TABLE_RE.match(s)
                or FENCE_RE.match(s) or RULE_RE.match(s))


class _Builder:
    """Groups lines into raw blocks (kind, start, end, level, n_lines)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.blocks: list[list] = []
        self.open: list | None = None  # [kind, start, end, level, n_lines, content_indent]

    def close(self) -> None:
        if self.open is not None:
            kind, lo, hi, level, n, _ = self.open
            lo, hi = _strip_span(self.text, lo, hi)
            if hi > lo:
                self.blocks.append([kind, lo, hi, level, n])
            self.open = None

    def emit(self, kind: str, lo: int, hi: int, level: int = 0) -> None:
        self.close()
        lo, hi = _strip_span(self.text, lo, hi)
        if hi > lo:
            self.blocks.append([kind, lo, hi, level, 1])

    def start(self, kind: str, lo: int, hi: int, content_indent: int = 0) -> None:
        self.close()
        self.open = [kind, lo, hi, 0, 1, content_indent]

    def extend(self, hi: int) -> None:
        assert self.open is not None
        self.open[2] = hi
        self.open[4] += 1


def _raw_blocks(text: str) -> list[list]:
    lines = _lines(text)
    width = _wrap_width(text, lines)
    b = _Builder(text)
    in_code = False
    prev: _Line | None = None
    for line in lines:
        s = line.text(text)
        if in_code:
            if FENCE_RE.match(s):
                in_code = False
            elif s.strip():
                b.emit("code", line.start, line.end)
            prev = None
            continue
        if not s.strip():
            b.close()
            prev = None
            continue
        if FENCE_RE.match(s):
            b.close()
            in_code, prev = True, None
            continue
        if RULE_RE.match(s):
            o = b.open
            if o is not None and o[0] == "paragraph" and o[4] == 1 and s.strip()[0] in "=-":
                o[0], o[3] = "heading", 1 if s.strip()[0] == "=" else 2
            b.close()
            prev = None
            continue
        m = ATX_RE.match(s)
        if m:
            b.emit("heading", line.start + m.start(2), line.start + m.end(2), len(m.group(1)))
            prev = None
            continue
        m = TABLE_RE.match(s)
        if m:
            if not TABLE_SEP_RE.match(s):
                b.emit("table_row", line.start + m.start(1), line.start + m.end(1) - 1)
            else:
                b.close()
            prev = None
            continue
        m = LIST_RE.match(s) or TIMELINE_RE.match(s)
        if m:
            b.start("list_item", line.start + m.end(), line.end, content_indent=m.end())
            prev = line
            continue
        o = b.open
        if o is not None and prev is not None:
            if o[0] == "list_item":
                cont = _indent(s) >= min(o[5], 2) or (width is not None and not _ends_early(text, prev, line, width))
            else:
                cont = not _ends_early(text, prev, line, width) and _indent(s) <= _indent(prev.text(text)) + 1
            if cont:
                b.extend(line.end)
                prev = line
                continue
        b.start("paragraph", line.start, line.end)
        prev = line
    b.close()
    return b.blocks


def _heading_level(text: str, raw: list, first: bool) -> int:
    """Level of a one-line paragraph that reads as a heading, else 0."""
    kind, lo, hi, _, n = raw
    s = text[lo:hi]
    if kind != "paragraph" or n != 1 or len(s) > MAX_HEADING_CHARS:
        return 0
    words = s.split()
    if not words or len(words) > MAX_HEADING_WORDS or not (s[0].isupper() or s[0].isdigit()):
        return 0
    if STATEMENT_RE.search(s):
        return 0
    if s.endswith(":"):
        return 3 if len(words) <= 5 else 0
    if s.endswith(tuple(FINAL_PUNCT)):
        return 0
    m = NUMBERED_HEADING_RE.match(s)
    if m:
        return min(6, m.group(1).count(".") + 2)
    if first:
        return 1
    if s.isupper():
        return 2
    capitalised = sum(1 for w in words if w[:1].isupper() or not w[:1].isalpha())
    return 2 if capitalised >= max(1, len(words) - 2) or len(words) <= 4 else 0


def page_starts(text: str) -> list[int]:
    """Start offset of each page (page 1 starts at 0); one entry when there are no page breaks."""
    return [0] + [m.end() for m in re.finditer(PAGE_BREAK, text)]


def page_at(starts: list[int], offset: int) -> int:
    return bisect_right(starts, offset)


MIN_LABEL_RUN = 3  # this many title-like lines in a row, nothing between them: a list, not headings


def _runs_of_labels(guessed: list[int]) -> set[int]:
    """Indexes of guessed headings in runs of MIN_LABEL_RUN or more (a table printed to PDF,
    a byline of names): a heading leads some content, these lead only each other. The first
    block (the title) is kept."""
    out: set[int] = set()
    i = 1
    while i < len(guessed):
        j = i
        while j < len(guessed) and guessed[j]:
            j += 1
        if j - i >= MIN_LABEL_RUN:
            out.update(range(i, j))
        i = max(j, i + 1)
    return out


def detect(text: str) -> list[Block]:
    """The blocks of a text, in order, with heading paths and (for paged text) pages."""
    raws = _raw_blocks(text)
    explicit = any(kind == "heading" for kind, *_ in raws)  # marked-up headings: no guessing
    starts = page_starts(text)
    paged = len(starts) > 1
    guessed = [0 if explicit or raw[0] != "paragraph" else _heading_level(text, raw, first=i == 0)
               for i, raw in enumerate(raws)]
    listed = _runs_of_labels(guessed)
    out: list[Block] = []
    path: list[tuple[int, str]] = []
    for i, raw in enumerate(raws):
        kind, lo, hi, level, _ = raw
        if i in listed:
            kind = "list_item"
        elif guessed[i]:
            kind, level = "heading", guessed[i]
        if kind == "heading":
            path = [(lv, t) for lv, t in path if lv < level] + [(level, " ".join(text[lo:hi].split()))]
        out.append(Block(kind, lo, hi, level, tuple(t for _, t in path),
                         page_at(starts, lo) if paged else None))
    return out


def section_label(section: tuple[str, ...] | list[str], title: str = "") -> str:
    """ "A > B" for a heading path, without a leading element that repeats the title."""
    parts = list(section)
    if parts and title and parts[0].strip().lower() == title.strip().lower():
        parts = parts[1:]
    return " > ".join(parts)


def common_section(sections: list[tuple[str, ...]]) -> tuple[str, ...]:
    if not sections:
        return ()
    first = sections[0]
    n = 0
    while n < len(first) and all(len(s) > n and s[n] == first[n] for s in sections):
        n += 1
    return first[:n]


def encode_blocks(blocks: list[Block], lo: int, hi: int) -> str:
    """The blocks overlapping [lo, hi), clipped, as compact JSON for chunk metadata."""
    sections: list[str] = []
    rows = []
    for b in blocks:
        if b.end <= lo or b.start >= hi:
            continue
        label = " > ".join(b.section)
        if label not in sections:
            sections.append(label)
        rows.append([max(b.start, lo), min(b.end, hi), KINDS.index(b.kind), b.page or 0,
                     sections.index(label)])
    return json.dumps({"b": rows, "s": sections}, separators=(",", ":"), ensure_ascii=False)


def decode_blocks(raw: str) -> list[Block]:
    data = json.loads(raw)
    sections = [tuple(s.split(" > ")) if s else () for s in data["s"]]
    return [Block(KINDS[k], s, e, 0, sections[si], p or None) for s, e, k, p, si in data["b"]]


def join_parts(parts: list[tuple[str, str]]) -> str:
    """Rendered (kind, text) blocks in this module's layout: consecutive list items and table
    rows one line apart, every other boundary a blank line."""
    out: list[str] = []
    prev = ""
    for kind, text in parts:
        if out:
            out.append("\n" if kind == prev and kind in ("item", "row") else "\n\n")
        out.append(text)
        prev = kind
    return "".join(out) + "\n" if out else ""


def index_text(title: str, section: str, text: str) -> str:
    """What is embedded and indexed lexically for a chunk: title and section, then the text."""
    head = "\n".join(x for x in (title.strip(), section.strip()) if x)
    return f"{head}\n\n{text}" if head else text
