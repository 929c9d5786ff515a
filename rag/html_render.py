"""HTML → rag.structure's plain-text rendering: visible text only, block elements as blocks.

Block elements (p, div, li, h1-h6, tr, pre, blockquote, section, br...) are paragraph/line
boundaries; inline elements never break a sentence; headings become "# " lines, list items
"- " lines, table rows "| a | b |" lines, <pre> stays fenced code.

Never in the text (it is what a reader of the page does not see, and a channel for hidden
instructions): script, style, template, noscript, svg, iframe, object, form controls, nav,
comments; elements with the `hidden` attribute; and elements hidden by an inline style or a
<style> rule with a simple selector: display:none, visibility:hidden/collapse, opacity:0,
font-size ≤ 1px, zero width/height with overflow hidden, clip/clip-path to nothing,
off-screen positioning or text-indent, transform:scale(0), and text whose colour equals (or
nearly equals) its background — inline white-on-white included, the page default being white.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

DROP = {"script", "style", "template", "noscript", "svg", "iframe", "object", "embed", "canvas",
        "select", "option", "button", "input", "textarea", "nav", "head", "title", "meta", "link",
        "audio", "video", "map", "datalist"}
BLOCK = {"address", "article", "aside", "blockquote", "body", "center", "dd", "details", "dialog",
         "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header",
         "hgroup", "hr", "html", "legend", "main", "menu", "ol", "p", "section", "summary",
         "table", "tbody", "thead", "tfoot", "ul", "caption", "li", "tr", "pre",
         "h1", "h2", "h3", "h4", "h5", "h6"}
WS_RE = re.compile(r"\s+")
DECL_RE = re.compile(r"([\w-]+)\s*:\s*([^;]+)")
RULE_RE = re.compile(r"([^{}@;]+)\{([^{}]*)\}")
NUM_RE = re.compile(r"^(-?[\d.]+)\s*(px|pt|em|rem|%|vw|vh)?$")
NAMED = {"white": (255, 255, 255), "black": (0, 0, 0), "snow": (255, 250, 250),
         "ivory": (255, 255, 240), "whitesmoke": (245, 245, 245), "ghostwhite": (248, 248, 255)}
TRANSPARENT = "transparent"


def _decls(style: str) -> dict[str, str]:
    return {k.lower(): v.strip().lower().replace("!important", "").strip()
            for k, v in DECL_RE.findall(style or "")}


def _length(value: str) -> float | None:
    m = NUM_RE.match(value.strip())
    if not m:
        return None
    n, unit = float(m.group(1)), m.group(2) or "px"
    return n * {"pt": 1.33, "em": 16, "rem": 16, "%": 0.16, "vw": 10, "vh": 10}.get(unit, 1)


def _color(value: str):
    """(r, g, b), TRANSPARENT, or None when unknown."""
    v = value.strip().lower()
    if v == TRANSPARENT:
        return TRANSPARENT
    if v in NAMED:
        return NAMED[v]
    m = re.match(r"^#([0-9a-f]{3,8})$", v)
    if m:
        h = m.group(1)
        if len(h) in (3, 4):
            h = "".join(c * 2 for c in h)
        if len(h) == 8 and h[6:] == "00":
            return TRANSPARENT
        return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) if len(h) in (6, 8) else None
    m = re.match(r"^rgba?\(([^)]*)\)$", v)
    if m:
        parts = [p for p in re.split(r"[\s,/]+", m.group(1)) if p]
        try:
            nums = [float(p.rstrip("%")) * (2.55 if p.endswith("%") else 1) for p in parts[:3]]
            if len(parts) > 3 and float(parts[3].rstrip("%")) == 0:
                return TRANSPARENT
        except ValueError:
            return None
        return tuple(int(n) for n in nums) if len(nums) == 3 else None
    return None


def _hiding(d: dict[str, str]) -> bool:
    """Whether these declarations alone make an element invisible."""
    if d.get("display") == "none" or d.get("visibility") in ("hidden", "collapse"):
        return True
    if d.get("opacity", "1").strip() in ("0", "0.0", "0%", ".0") or d.get("content-visibility") == "hidden":
        return True
    size = _length(d.get("font-size", ""))
    if size is not None and size <= 1:
        return True
    if any(re.search(r"scale\(\s*0(\.0*)?\s*[,)]", d.get(k, "")) for k in ("transform", "scale")):
        return True
    if re.sub(r"\s", "", d.get("clip", "")).startswith("rect(0") or \
            re.match(r"(inset\(50%|circle\(0)", d.get("clip-path", "")):
        return True
    overflow_hidden = "hidden" in d.get("overflow", "") or "clip" in d.get("overflow", "")
    for k in ("width", "height", "max-width", "max-height"):
        n = _length(d.get(k, ""))
        if n is not None and n <= 1 and overflow_hidden:
            return True
    for k in ("text-indent", "left", "top", "margin-left", "right"):
        n = _length(d.get(k, ""))
        if n is not None and n <= -500 and (k == "text-indent" or d.get("position") in ("absolute", "fixed")
                                            or k == "margin-left"):
            return True
    return d.get("color") is not None and _color(d["color"]) == TRANSPARENT


def _background(tag) -> tuple | str | None:
    """The nearest inline background colour at or above tag (None: the white default)."""
    node = tag
    while node is not None and getattr(node, "attrs", None) is not None:
        d = _decls(node.get("style", ""))
        if node.get("bgcolor"):  # legacy attribute
            d.setdefault("background-color", str(node["bgcolor"]).lower())
        for key in ("background-color", "background"):
            if key in d:
                if "url(" in d[key] or "gradient" in d[key]:
                    return "unknown"
                for word in re.findall(r"#[0-9a-f]+|rgba?\([^)]*\)|[a-z]+", d[key]):
                    c = _color(word)
                    if c is not None and c != TRANSPARENT:
                        return c
        node = node.parent
    return None


def _same_colour(tag, colour) -> bool:
    bg = _background(tag)
    if bg == "unknown" or colour is None or colour == TRANSPARENT:
        return False
    bg = bg or NAMED["white"]
    return max(abs(a - b) for a, b in zip(colour, bg)) <= 24


def _css_hidden(soup) -> set[int]:
    """ids of elements hidden by <style> rules (simple selectors soupsieve understands)."""
    hidden: set[int] = set()
    for style in soup.find_all("style"):
        css = re.sub(r"/\*.*?\*/", "", style.get_text(), flags=re.S)
        for selector, body in RULE_RE.findall(css):
            d = _decls(body)
            colour = _color(d["color"]) if "color" in d else None
            if not _hiding(d) and colour is None:
                continue
            try:
                matched = soup.select(selector.strip())
            except Exception:  # soupsieve rejects pseudo-elements etc.: not a hiding rule we apply
                continue
            for tag in matched:
                if _hiding(d) or _same_colour(tag, colour):
                    hidden.add(id(tag))
    return hidden


def is_hidden(tag, css_hidden: set[int]) -> bool:
    if tag.has_attr("hidden") or id(tag) in css_hidden:
        return True
    if tag.name == "input" and str(tag.get("type", "")).lower() == "hidden":
        return True
    d = _decls(tag.get("style", ""))
    if _hiding(d):
        return True
    if tag.name == "font" and tag.get("color"):  # legacy <font color=...>
        d.setdefault("color", str(tag["color"]).lower())
    return "color" in d and _same_colour(tag, _color(d["color"]))


class _Walker:
    def __init__(self, css_hidden: set[int]) -> None:
        self.css_hidden = css_hidden
        self.parts: list[tuple[str, str]] = []
        self.buf: list[str] = []
        self.prefix = ""
        self.kind = "para"
        self.depth = 0

    def flush(self) -> None:
        text = WS_RE.sub(" ", "".join(self.buf)).strip()
        self.buf = []
        if text:
            self.parts.append((self.kind, self.prefix + text))
            if self.kind == "item":  # the rest of the item (after a nested list) is a paragraph
                self.kind, self.prefix = "para", ""

    def visible_children(self, tag):
        from bs4 import NavigableString, Tag
        from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

        for child in tag.children:
            if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction)):
                continue
            if isinstance(child, NavigableString):
                yield child
            elif isinstance(child, Tag) and child.name not in DROP and not is_hidden(child, self.css_hidden):
                yield child

    def text_of(self, tag) -> str:
        from bs4 import NavigableString

        out = []
        for child in self.visible_children(tag):
            out.append(str(child) if isinstance(child, NavigableString) else " " + self.text_of(child) + " "
                       if child.name in BLOCK or child.name == "br" else self.text_of(child))
        return WS_RE.sub(" ", "".join(out)).strip()

    def walk(self, tag) -> None:
        from bs4 import NavigableString

        for child in self.visible_children(tag):
            if isinstance(child, NavigableString):
                self.buf.append(str(child))
                continue
            name = child.name
            if name == "br":
                self.flush()
            elif name in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.flush()
                text = self.text_of(child)
                if text:
                    self.parts.append(("para", "#" * int(name[1]) + " " + text))
            elif name == "tr":
                self.flush()
                cells = [self.text_of(c).replace("|", "/") for c in self.visible_children(child)
                         if getattr(c, "name", None) in ("td", "th")]
                if any(cells):
                    self.parts.append(("row", "| " + " | ".join(cells) + " |"))
            elif name == "pre":
                self.flush()
                code = child.get_text().strip("\n")
                if code.strip():
                    self.parts.append(("code", "```\n" + code.replace("```", "'''") + "\n```"))
            elif name == "li":
                self.flush()
                self.kind, self.prefix = "item", "  " * max(0, self.depth - 1) + "- "
                self.walk(child)
                self.flush()
                self.kind, self.prefix = "para", ""
            elif name in ("ul", "ol", "menu", "dir"):
                self.flush()
                self.depth += 1
                self.walk(child)
                self.depth -= 1
            elif name in BLOCK:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)

    def text(self) -> str:
        from rag.structure import join_parts

        self.flush()
        return join_parts(self.parts)


def render_html(source: str) -> tuple[str, str]:
    """(title, visible text rendered in rag.structure's convention)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(source, "html.parser")
    title = WS_RE.sub(" ", soup.title.get_text(" ")).strip() if soup.title else ""
    walker = _Walker(_css_hidden(soup))
    walker.walk(soup.body or soup)
    return title, walker.text()
