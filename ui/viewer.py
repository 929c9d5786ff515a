"""The whole document a citation points into, opened at the cited span.

`GET /view?doc=<doc id as the page shows it>&start=<a>&end=<b>` (ui/server.py) returns a
self-contained HTML page: the document's extracted text — the text every offset refers to —
laid out by its block structure (rag.structure: headings, paragraphs, list items, table rows,
code, PDF pages), with text[start:end] in <mark id="rag-hit">; the URL fragment `#rag-hit`
scrolls there without any script. The chat page opens it in a dialog (ui/viewer_assets.py).

Where the text comes from (`DocumentTexts`), first that fits: (1) the extracted text ingest
stored with the chunks (rag/doc_texts.py: the very text that was chunked); (2) for data dirs
indexed before that, the stored source re-read with the loader ingest used
(rag.loaders.load_file); (3) when the file is gone or changed since, the text rebuilt from the
indexed chunks (stretches no chunk covers are left blank). (1) and (2) are accepted only when
every indexed chunk of the document is exactly text[chunk.start:chunk.end], (3) is so by
construction — so the viewer's text and the citations' offsets are always the same text.

Safety: only escaped text goes between our own tags (Markdown was already rendered to plain
text at ingest: links and images are their text, raw HTML its visible text), so no document
can add a link, an image or a script; the response's CSP forbids scripts and every fetch
anyway. Absolute server paths are never shown (render.shown_path).
"""

from __future__ import annotations

import html
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from rag.structure import PAGE_BREAK, Block, detect, page_at, page_starts
from rag.types import Chunk

log = logging.getLogger(__name__)

ROUTE = "/view"
HIT_ID = "rag-hit"
CACHE_DOCS = 8
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; script-src 'none'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


@dataclass(frozen=True)
class DocText:
    doc_id: str
    title: str
    text: str
    complete: bool  # False: rebuilt from indexed chunks (the file is gone or changed)

    @property
    def pages(self) -> int:
        return len(page_starts(self.text)) if PAGE_BREAK in self.text else 0

    def page_of(self, offset: int) -> int | None:
        return page_at(page_starts(self.text), offset) if self.pages else None


MAX_QUOTE_IN_URL = 600


def view_href(doc_id: str, start: int, end: int, cited: str = "") -> str:
    """The viewer URL for a citation, relative to the page ("view?..."), at the hit. The quote
    goes along (percent-encoded) so a document re-indexed since the answer is still marked
    where the quote now is (see `locate`)."""
    q = f"&q={_encode(cited[:MAX_QUOTE_IN_URL])}" if cited else ""
    return f"{ROUTE.lstrip('/')}?doc={_encode(doc_id)}&start={start}&end={end}{q}#{HIT_ID}"


def _encode(value: str) -> str:
    """Percent-encoded, "." too: no "www." or "a.b" left for a Markdown autolinker to see."""
    return quote(value, safe="").replace(".", "%2E")


def locate(text: str, start: int, end: int, cited: str | None) -> tuple[int, int, str]:
    """The span to mark and a note: the given span when it holds the quote (or no quote was
    given), else where the quote is now (the document changed since the answer), else none."""
    if not cited or text[start:end].startswith(cited):
        return start, end, ""
    at = text.find(cited)
    if at >= 0:
        length = max(len(cited), end - start)  # the URL's quote may be cut short
        return at, min(len(text), at + length), "The document changed since this answer: the quote was found at another place."
    return 0, 0, "The document changed since this answer: the cited passage is no longer in it."


# --- where the text comes from ---------------------------------------------------------
def first_mismatch(text: str, chunks: list[Chunk]) -> Chunk | None:
    """The first indexed chunk that is not exactly text[start:end], if any."""
    return next((c for c in chunks if text[c.start:c.end] != c.text), None)


def rebuild(chunks: list[Chunk]) -> str:
    """The document text as far as its chunks cover it (offsets kept; gaps are spaces)."""
    size = max((c.end for c in chunks), default=0)
    chars = [" "] * size
    for c in chunks:
        chars[c.start:c.end] = c.text
    return "".join(chars)


class DocumentTexts:
    """Extracted texts by doc id, checked against the index; a few kept in memory.

    catalog: rag.catalog.Catalog (get → DocRow with path, title, hash);
    lexical: rag.lexical.LexicalIndex (chunks_of → the document's indexed chunks);
    stored: doc id → the text stored at ingest, or None (rag.doc_texts.DocTexts.get)."""

    def __init__(self, catalog, lexical, max_docs: int = CACHE_DOCS,
                 loader: Callable[[Path], object] | None = None,
                 stored: Callable[[str], str | None] | None = None) -> None:
        self.catalog, self.lexical, self.max_docs = catalog, lexical, max_docs
        self._loader = loader
        self._stored = stored
        self._cache: OrderedDict[tuple, DocText] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, doc_id: str) -> DocText | None:
        row = self.catalog.get(doc_id)
        if row is None or row.pending:
            return None
        path = Path(row.path) if row.path else None
        stamp = _stamp(path)
        key = (doc_id, row.hash, stamp)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        doc = self._load(doc_id, row.title, path if stamp else None)
        with self._lock:
            self._cache[key] = doc
            while len(self._cache) > self.max_docs:
                self._cache.popitem(last=False)
        return doc

    def _load(self, doc_id: str, title: str, path: Path | None) -> DocText:
        chunks = self.lexical.chunks_of(doc_id)
        stored = self._stored(doc_id) if self._stored is not None else None
        if stored is not None and first_mismatch(stored, chunks) is None:
            return DocText(doc_id, title, stored, complete=True)
        text = self._extract(path) if path is not None else None
        if text is not None and first_mismatch(text, chunks) is None:
            return DocText(doc_id, title, text, complete=True)
        if text is not None:
            log.warning("%s changed since it was indexed: showing its indexed text", doc_id)
        return DocText(doc_id, title, rebuild(chunks), complete=False)

    def _extract(self, path: Path) -> str | None:
        from rag.loaders import UnreadableFile, load_file

        try:
            return (self._loader or load_file)(path).text
        except (UnreadableFile, OSError) as exc:
            log.warning("cannot re-read %s for the viewer: %s", path, exc)
            return None


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st else None


# --- rendering ---------------------------------------------------------------------------
def _esc(text: str) -> str:
    return html.escape(text, quote=True)


class _Marker:
    """Renders text ranges escaped, with the part inside [start, end) in <mark>; the first
    mark gets the hit id. Form feeds (PDF page breaks inside a block) become page labels."""

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.start, self.end = text, start, end
        self.starts = page_starts(text)
        self.hit_done = False

    def range(self, lo: int, hi: int) -> str:
        a, b = max(lo, self.start), min(hi, self.end)
        if a >= b:
            return self._plain(lo, hi)
        hit = "" if self.hit_done else f' id="{HIT_ID}"'
        self.hit_done = True
        return (self._plain(lo, a) + f'<mark{hit}>{self._plain(a, b)}</mark>' + self._plain(b, hi))

    def _plain(self, lo: int, hi: int) -> str:
        parts = self.text[lo:hi].split(PAGE_BREAK)
        out, at = [], lo
        for i, part in enumerate(parts):
            if i:
                out.append(f' <span class="rag-v-pagemark">[page {page_at(self.starts, at)}]</span> ')
            out.append(_esc(part))
            at += len(part) + 1
        return "".join(out)


def _cells(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """The cells of a table row block text[lo:hi] ("a | b" or "| a | b |"), as spans."""
    cuts = [lo - 1] + [i for i in range(lo, hi) if text[i] == "|"] + [hi]
    spans = [(a + 1, b) for a, b in zip(cuts, cuts[1:])]
    return [s for s in spans if text[s[0]:s[1]].strip()] or [(lo, hi)]


def _open_group(kind: str) -> str:
    return {"list_item": "<ul>", "table_row": '<div class="rag-v-table"><table>',
            "code": "<pre><code>"}.get(kind, "")


def _close_group(kind: str) -> str:
    return {"list_item": "</ul>", "table_row": "</table></div>", "code": "</code></pre>"}.get(kind, "")


def _block_html(b: Block, m: _Marker) -> str:
    if b.kind == "heading":
        level = min(max(b.level, 1) + 1, 6)  # h1 is the document title
        return f"<h{level}>{m.range(b.start, b.end)}</h{level}>"
    if b.kind == "list_item":
        return f"<li>{m.range(b.start, b.end)}</li>"
    if b.kind == "table_row":
        return "<tr>" + "".join(f"<td>{m.range(a, z)}</td>" for a, z in _cells(m.text, b.start, b.end)) + "</tr>"
    if b.kind == "code":
        return m.range(b.start, b.end) + "\n"
    return f"<p>{m.range(b.start, b.end)}</p>"


def body_html(text: str, start: int, end: int) -> str:
    """The document's blocks as HTML, text[start:end] marked, a label where each page starts."""
    m = _Marker(text, start, end)
    paged = PAGE_BREAK in text
    out: list[str] = []
    group, page = "", 0
    for b in detect(text):
        if paged and (b.page or 1) != page:
            out.append(_close_group(group))
            group, page = "", b.page or 1
            out.append(f'<h2 class="rag-v-page" id="page-{page}">Page {page}</h2>')
        kind = b.kind if b.kind in ("list_item", "table_row", "code") else ""
        if kind != group:
            out.append(_close_group(group) + _open_group(kind))
            group = kind
        out.append(_block_html(b, m))
    out.append(_close_group(group))
    if not m.hit_done and start < end:  # the span lies outside every block: show it anyway
        out.insert(0, f'<p class="rag-v-note">Cited passage: <mark id="{HIT_ID}">'
                      f"{_esc(text[start:end])}</mark></p>")
    return "".join(out)


@dataclass(frozen=True)
class ViewRequest:
    start: int
    end: int
    shown_source: str  # what the page shows of the document's path
    note: str = ""  # e.g. the quote moved (see `locate`)


def page_html(doc: DocText, req: ViewRequest) -> str:
    """A whole HTML page (no script, no outside reference) for one document at one span."""
    title = doc.title or Path(req.shown_source).name
    where = [req.shown_source]
    page = doc.page_of(req.start) if req.end > req.start else None
    if page:
        where.append(f"cited passage on page {page} of {doc.pages}")
    if req.end > req.start:
        where.append(f"characters {req.start}–{req.end}")
    note = ("" if doc.complete else
            '<p class="rag-v-note">The file changed or is gone since it was indexed: this is the '
            "text as indexed (parts between indexed passages are blank).</p>")
    if req.note:
        note += f'<p class="rag-v-note">{_esc(req.note)}</p>'
    jump = f'<p><a href="#{HIT_ID}">Go to the cited passage</a></p>' if req.end > req.start else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)} — document</title><style>{VIEW_CSS}</style></head><body>"
        f'<header><h1>{_esc(title)}</h1><p class="rag-v-meta">{_esc(" · ".join(where))}</p>'
        f"{jump}{note}</header>"
        f'<main class="rag-v-doc">{body_html(doc.text, req.start, req.end)}</main></body></html>'
    )


def message_html(title: str, text: str) -> str:
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{_esc(title)}</title><style>{VIEW_CSS}</style></head><body><main>"
            f"<h1>{_esc(title)}</h1><p>{_esc(text)}</p></main></body></html>")


def parse_span(start: str | None, end: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) within [0, size], or None when they are not a span of the text; absent
    values mean "no span" (0, 0)."""
    if start in (None, "") and end in (None, ""):
        return 0, 0
    try:
        a, b = int(start or 0), int(end or 0)
    except ValueError:
        return None
    return (a, b) if 0 <= a <= b <= size else None


VIEW_CSS = """
:root { color-scheme: light dark; --fg: #1f2937; --bg: #ffffff; --meta: #4b5563; --rule: #d1d5db;
  --mark: #fde68a; --mark-fg: #111827; --link: #1d4ed8; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e5e7eb; --bg: #111827; --meta: #cbd5e1; --rule: #374151; --mark: #facc15;
    --mark-fg: #111827; --link: #93c5fd; } }
html, body { margin: 0; background: var(--bg); color: var(--fg); }
body { font: 16px/1.6 system-ui, -apple-system, "Segoe UI", sans-serif; padding: 1rem 1.25rem 40vh;
  max-width: 48rem; margin: 0 auto; overflow-wrap: anywhere; }
h1 { font-size: 1.35rem; margin: 0.2rem 0; }
h2, h3, h4, h5, h6 { font-size: 1.08rem; margin: 1.2rem 0 0.4rem; }
a { color: var(--link); }
.rag-v-meta { color: var(--meta); font-size: 0.9rem; margin: 0.2rem 0; }
.rag-v-note { color: var(--meta); font-style: italic; }
.rag-v-page { font-size: 0.85rem; color: var(--meta); border-top: 1px solid var(--rule);
  padding-top: 0.5rem; margin-top: 1.5rem; text-transform: uppercase; letter-spacing: 0.05em; }
.rag-v-pagemark { color: var(--meta); font-size: 0.85em; }
mark { background: var(--mark); color: var(--mark-fg); padding: 0 2px; border-radius: 2px; }
mark#rag-hit { scroll-margin-top: 30vh; outline: 2px solid #b45309; }
pre { white-space: pre-wrap; background: rgba(127,127,127,0.12); padding: 0.6rem; border-radius: 4px; }
.rag-v-table { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.6rem 0; }
td { border: 1px solid var(--rule); padding: 0.2rem 0.5rem; vertical-align: top; }
"""
