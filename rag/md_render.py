"""Markdown → rag.structure's plain-text rendering (markdown-it-py, CommonMark + tables).

Links and images read as their text / alt text (no URLs), emphasis markers are dropped,
headings become "# " lines, list items "- " / "1. " lines, table rows "| a | b |" lines,
code stays fenced; raw HTML blocks go through the HTML renderer (visible text only).
"""

from __future__ import annotations

import re

WS_RE = re.compile(r"[ \t]+")


OPEN_TAG_RE = re.compile(r"^<([A-Za-z][\w-]*)\b[^>]*?(/?)>$", re.S)
CLOSE_TAG_RE = re.compile(r"^</([A-Za-z][\w-]*)\s*>$")
VOID = {"br", "img", "hr", "input", "wbr", "meta", "link", "source", "area", "col", "embed", "param", "track"}


def _hides(tag_html: str) -> bool:
    """Whether an inline HTML opening tag hides what it encloses (rag.html_render's rules)."""
    from bs4 import BeautifulSoup

    from rag.html_render import DROP, is_hidden

    tag = BeautifulSoup(tag_html, "html.parser").find()
    return tag is not None and (tag.name in DROP or is_hidden(tag, set()))


def _inline(token) -> str:
    out: list[str] = []
    hidden: list[str] = []  # open inline HTML elements that hide their content
    for child in token.children or []:
        if child.type == "html_inline":
            raw = child.content.strip()
            opening, closing = OPEN_TAG_RE.match(raw), CLOSE_TAG_RE.match(raw)
            if closing and hidden and hidden[-1] == closing.group(1).lower():
                hidden.pop()
            elif opening and not opening.group(2) and opening.group(1).lower() not in VOID and (
                    hidden or _hides(raw)):
                hidden.append(opening.group(1).lower())
            elif not hidden and raw.lower().startswith("<br"):
                out.append("\n")
            continue
        if hidden:
            continue
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type == "image":
            out.append(_inline(child))
        elif child.type == "softbreak":
            out.append(" ")
        elif child.type == "hardbreak":
            out.append("\n")
    return WS_RE.sub(" ", "".join(out)).strip()


class _Renderer:
    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []  # (kind, rendered line(s))
        self.lists: list[list] = []  # [ordered, next number]
        self.item_first = False
        self.cells: list[str] | None = None

    def add(self, kind: str, text: str) -> None:
        if text.strip():
            self.parts.append((kind, text))

    def paragraph(self, text: str) -> None:
        if self.lists and self.item_first:
            ordered, number = self.lists[-1]
            marker = f"{number}." if ordered else "-"
            indent = "  " * (len(self.lists) - 1)
            self.add("item", f"{indent}{marker} {text}")
            self.item_first = False
        else:
            self.add("para", text)

    def run(self, tokens) -> str:
        heading = 0
        for tok in tokens:
            t = tok.type
            if t == "heading_open":
                heading = int(tok.tag[1])
            elif t == "heading_close":
                heading = 0
            elif t in ("bullet_list_open", "ordered_list_open"):
                start = int(tok.attrs.get("start", 1)) if t == "ordered_list_open" else 0
                self.lists.append([t == "ordered_list_open", start])
            elif t in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
            elif t == "list_item_open":
                self.item_first = True
            elif t == "list_item_close":
                self.item_first = False
                self.lists[-1][1] += 1
            elif t == "tr_open":
                self.cells = []
            elif t == "tr_close":
                self.add("row", "| " + " | ".join(self.cells or []) + " |")
                self.cells = None
            elif t == "inline":
                text = _inline(tok)
                if self.cells is not None:
                    self.cells.append(text.replace("|", "/"))
                elif heading:
                    self.add("para", "#" * heading + " " + text.replace("\n", " "))
                else:
                    self.paragraph(text.replace("\n", "\n\n"))
            elif t in ("fence", "code_block"):
                self.add("code", "```\n" + tok.content.rstrip("\n") + "\n```")
            elif t == "html_block":
                from rag.html_render import render_html

                self.add("para", render_html(tok.content)[1])
        return self._join()

    def _join(self) -> str:
        from rag.structure import join_parts

        return join_parts(self.parts)


def render_markdown(source: str) -> str:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return _Renderer().run(md.parse(source))
