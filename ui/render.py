"""Answers → chat messages: text with clickable [n] markers, sources, "how this was answered".

Document text (answers, passages, titles, file names, notices) reaches the page only through
`esc`: HTML-escaped, and every character Markdown, GFM autolinks or LaTeX could act on turned
into a numeric entity, so no document can plant a link, an image (an outside request) or a
script. Absolute server paths are never shown: `shown_path` makes them relative to the data
dir or the working directory, else only the file name is kept (`page_answer`, `scrub_paths`). Each source is a <details> block holding the chunk around the quote, with the cited
span in <mark>; a click on [n] opens and scrolls to source n (see ui/assets.py).
"""

from __future__ import annotations

import dataclasses
import html
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePath

from rag.types import REFUSAL_TEXT, Answer, Citation, Hit
from ui.copytext import copy_marker
from ui.viewer import view_href

CONTEXT_CHARS = 220
SNIPPET_CHARS = 140
MARKER = re.compile(r"\[(\d{1,3})\]")
SOURCES_DIV = '<div class="rag-sources">'
HOW_TITLE = "How this was answered"


def new_uid() -> str:
    return uuid.uuid4().hex[:8]


# characters Markdown / GFM / KaTeX could turn into markup; ":" and "@" break autolinks
_MD_CHARS = "\\`*_[]()!#+-~|$:@{}="
_TABLE = {ord(c): f"&#{ord(c)};" for c in _MD_CHARS} | {
    ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&#39;"}
_WWW = re.compile(r"(www)\.", re.I)  # GFM autolinks "www.host" without a scheme
# an absolute POSIX path not inside a URL ("http://h/x") or another path
_ABS_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s/'\"<>]+/)+([^\s/'\"<>]*)")


def esc(text: str) -> str:
    """Text for the page: HTML-escaped and inert under Markdown, autolinking and LaTeX."""
    return _WWW.sub(r"\1&#46;", str(text).translate(_TABLE))


_esc = esc


def shown_path(path: str, roots: Sequence[Path]) -> str:
    """What a page user sees of a server path: relative to the first root holding it, else
    its file name. Relative paths (doc ids inside the working directory) are kept."""
    if not path.startswith("/"):
        return path
    pure = PurePath(path)
    for root in roots:
        try:
            return pure.relative_to(root).as_posix()
        except ValueError:
            continue
    return f"…/{pure.name}"


def find_shown_doc(key: str, roots: Sequence[Path], indexed: Callable[[str], bool],
                   doc_ids: Callable[[], Iterable[str]]) -> str | None:
    """The indexed doc id that shown_path shows as `key` (or `key` itself when it is a doc
    id); None if there is none. `indexed(doc_id)`: one lookup per candidate (the doc id as
    shown, or joined to a root); only a name shown as "…/name" (outside every root) is
    looked for among all `doc_ids()`, in their order."""
    if indexed(key):
        return key
    if key.startswith("…/"):
        return next((d for d in doc_ids() if shown_path(d, roots) == key), None)
    if key.startswith("/"):  # never what the page shows
        return None
    joined = sorted({(root / key).as_posix() for root in roots})
    return next((d for d in joined if shown_path(d, roots) == key and indexed(d)), None)


def scrub_paths(text: str, roots: Sequence[Path]) -> str:
    """Every absolute path in a message (an error, a notice) replaced by its shown form."""
    return _ABS_PATH.sub(lambda m: shown_path(m.group(0), roots), text)


def page_answer(answer: Answer, show: Callable[[str], str]) -> Answer:
    """A copy of answer whose sources, chunk ids and notice hold no absolute server path."""
    def chunk_id(cid: str) -> str:
        doc, sep, n = cid.rpartition("#")
        return f"{show(doc)}{sep}{n}" if sep else show(cid)

    def hit(h: Hit) -> Hit:
        c = h.chunk
        return dataclasses.replace(h, chunk=dataclasses.replace(
            c, chunk_id=chunk_id(c.chunk_id), doc_id=show(c.doc_id), source=show(c.source)))

    citations = [dataclasses.replace(c, source=show(c.source), chunk_id=chunk_id(c.chunk_id))
                 for c in answer.citations]
    notice = _ABS_PATH.sub(lambda m: show(m.group(0)), answer.notice) if answer.notice else None
    return dataclasses.replace(answer, citations=citations, hits=[hit(h) for h in answer.hits],
                               notice=notice)


def _br(text: str) -> str:
    return text.replace("\n", "<br>")


def _file_name(source: str) -> str:
    return PurePath(source).name or source


def answer_html(text: str, uid: str, provisional: bool = False) -> str:
    """Escaped text, newlines kept, every [n] a link to source n of this answer.

    provisional: raw model output still streaming (shown subdued until verified)."""
    def link_n(n: str) -> str:
        return (f'<a class="rag-cite" href="#rag-src-{uid}-{n}" '
                f'title="Show source {n}">[{n}]</a>')

    parts = MARKER.split(text.strip())  # text, n, text, n, ..., text
    body = _br("".join(_esc(p) if i % 2 == 0 else link_n(p) for i, p in enumerate(parts)))
    css = "rag-answer rag-provisional" if provisional else "rag-answer"
    return f'<div class="{css}">{body}</div>'


def _word_start(pre: str) -> str:
    """pre without the word cut at its start (the context before a quote)."""
    cut = re.search(r"\s", pre)
    return pre[cut.end():].lstrip() if cut else ""


def _word_end(post: str) -> str:
    """post without the word cut at its end (the context after a quote)."""
    cut = max(post.rfind(" "), post.rfind("\n"), post.rfind("\t"))
    return post[:cut].rstrip() if cut > 0 else ""


def passage_html(c: Citation, hits: list[Hit]) -> str:
    """The chunk text around the quote (cut at word boundaries), the cited span highlighted."""
    chunk = next((h.chunk for h in hits if h.chunk.chunk_id == c.chunk_id), None)
    text = chunk.text if chunk else c.quote
    lo = c.start - chunk.start if chunk else 0
    if text[lo:lo + len(c.quote)] != c.quote:
        lo = text.find(c.quote)
    if lo < 0:
        return f"<mark>{_esc(c.quote)}</mark>"
    hi = lo + len(c.quote)
    pre, post = text[max(0, lo - CONTEXT_CHARS):lo], text[hi:hi + CONTEXT_CHARS]
    if lo > CONTEXT_CHARS:
        pre = "…" + _word_start(pre)
    if hi + CONTEXT_CHARS < len(text):
        post = _word_end(post) + "…"
    return _br(f"{_esc(pre)}<mark>{_esc(c.quote)}</mark>{_esc(post)}")


def source_label(c: Citation, excerpt: int = 0) -> tuple[str, str]:
    """(title, where): section and page, and "excerpt k" when the answer cites that place again."""
    where = [c.location] if c.location else []
    if excerpt:
        where.append(f"excerpt {excerpt}")
    return c.title or _file_name(c.source), ", ".join(where)


def source_labels(citations: Sequence[Citation]) -> list[tuple[str, str]]:
    """One label per citation, distinct when one document (and place) is cited twice."""
    keys = [(c.title or _file_name(c.source), c.location, c.chunk_id.rpartition("#")[0])
            for c in citations]
    seen: dict[tuple, int] = {}
    labels = []
    for c, key in zip(citations, keys):
        seen[key] = seen.get(key, 0) + 1
        labels.append(source_label(c, seen[key] if keys.count(key) > 1 else 0))
    return labels


def view_link(c: Citation) -> str:
    """A link that opens the whole document at the cited span (ui/viewer.py)."""
    doc = c.chunk_id.rpartition("#")[0] or c.source
    href = html.escape(view_href(doc, c.start, c.end, c.quote), quote=True)
    return (f'<a class="rag-view" href="{href}" target="_blank" rel="noopener noreferrer">'
            "Open in document</a>")


def source_html(c: Citation, hits: list[Hit], uid: str,
                label: tuple[str, str] | None = None) -> str:
    title, where = label or source_label(c)
    title = _esc(title)
    if where:
        title += f' <span class="rag-where">— {_esc(where)}</span>'
    return (
        f'<details class="rag-source" id="rag-src-{uid}-{c.n}">'
        f'<summary><b>[{c.n}]</b> {title} '
        f'<span class="rag-meta">{_esc(_file_name(c.source))} · score {c.score:.3f}</span></summary>'
        f'<blockquote class="rag-passage">{passage_html(c, hits)}</blockquote>'
        f'<div class="rag-meta">{view_link(c)} · {_esc(c.source)} · chunk '
        f'{_esc(c.chunk_id.rpartition("#")[2])} · characters {c.start}–{c.end}</div>'
        "</details>"
    )


def sources_html(answer: Answer, uid: str) -> str:
    if not answer.citations:
        return ""
    items = "".join(source_html(c, answer.hits, uid, label)
                    for c, label in zip(answer.citations, source_labels(answer.citations)))
    return f'{SOURCES_DIV}<div class="rag-sources-title">Sources</div>{items}</div>'


def refusal_html(answer: Answer) -> str:
    """One refusal sentence (the answer's own, as the CLI and API give it), then a hint."""
    return (
        f'<div class="rag-refusal" role="status"><b>{_esc(answer.text or REFUSAL_TEXT)}</b><br>'
        '<span class="rag-meta">Try rephrasing, or upload a document that covers it '
        "(Documents tab).</span></div>"
    )


def notice_html(notice: str | None) -> str:
    return f'<div class="rag-notice">{_esc(notice)}</div>' if notice else ""


def final_message(answer: Answer, uid: str) -> str:
    """The whole assistant message for a finished answer."""
    notes = notice_html(answer.notice)
    if answer.refused:
        return notes + refusal_html(answer) + copy_marker(answer)
    return notes + answer_html(answer.text, uid) + sources_html(answer, uid) + copy_marker(answer)


def _md_cell(text: str) -> str:
    return _esc(" ".join(text.split()))


def _rank(r: int | None) -> str:
    return "–" if r is None else str(r)


def how_markdown(answer: Answer, top_k: int | None) -> str:
    """Retrieved chunks with scores and the timings, as a markdown table."""
    lines = [f"**Mode:** {answer.mode} · **top-k:** {top_k if top_k else 'default'} · "
             f"**{'refused' if answer.refused else f'{len(answer.citations)} citation(s)'}**", ""]
    if answer.hits:
        lines += ["| # | chunk | fused score | dense rank | bm25 rank | text |",
                  "|---|---|---|---|---|---|"]
        for i, h in enumerate(answer.hits, start=1):
            snippet = h.chunk.text[:SNIPPET_CHARS] + ("…" if len(h.chunk.text) > SNIPPET_CHARS else "")
            lines.append(f"| {i} | {_md_cell(_file_name(h.chunk.chunk_id))} | {h.score:.4f} | "
                         f"{_rank(h.dense_rank)} | {_rank(h.bm25_rank)} | {_md_cell(snippet)} |")
    else:
        lines.append("No chunks were retrieved.")
    lines += _generation_lines(answer)
    timings = " · ".join(f"{k} {v:.0f} ms" for k, v in answer.timings_ms.items())
    lines += ["", f"**Timings:** {timings or 'n/a'}"]
    return "\n".join(lines)


def _generation_lines(answer: Answer) -> list[str]:
    """Generative answers: each generated sentence's support, and the model used."""
    lines = []
    for s in getattr(answer, "sentences", None) or []:
        why = f"; {s.reason}" if s.reason else ""
        lines.append(f"- {'supported' if s.supported else '**dropped**'} ({s.score:.2f}{_esc(why)}): "
                     f"{_md_cell(s.text)}")
    if lines:
        lines.insert(0, "\n**Generated sentences:**")
    llm = getattr(answer, "llm", None) or {}
    facts = [f"{k} {v}" for k, v in llm.items() if isinstance(v, (str, int, float))]
    if facts:
        lines.append(f"\n**LLM:** {_md_cell(', '.join(facts))}")
    return lines


def how_message(answer: Answer, top_k: int | None) -> dict:
    total = answer.timings_ms.get("total")
    meta = {"title": HOW_TITLE, "status": "done"}
    if total is not None:
        meta["duration"] = round(total / 1000, 2)
    return {"role": "assistant", "content": how_markdown(answer, top_k), "metadata": meta}


def plain_text(content) -> str:
    """Text of a chat message as the service should see it in history (no sources, no HTML)."""
    if isinstance(content, list):
        content = " ".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
            if not isinstance(part, dict) or part.get("type", "text") == "text"
        )
    if not isinstance(content, str):
        return ""
    content = content.split(SOURCES_DIV, 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", content)).strip()


def history_for_service(history: list[dict] | None) -> list[dict]:
    """Gradio chat history → [{"role", "content"}] of questions and answers only."""
    out = []
    for msg in history or []:
        if (msg.get("metadata") or {}).get("title"):
            continue  # "how this was answered" and other side panels
        text = " ".join(plain_text(msg.get("content")).split())
        if text and msg.get("role") in ("user", "assistant"):
            out.append({"role": msg["role"], "content": text})
    return out
