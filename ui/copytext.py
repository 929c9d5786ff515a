"""Copy gives clean text; accessible names are text.

Gradio's copy button writes a message's raw content to the clipboard, and its `aria-label`
is that content too: for our answers, HTML. Each finished answer therefore carries its plain
text (the answer with its [n] markers, then the sources as "[1] Title, section/page: “quote”")
in a hidden marker's attribute (`copy_marker`, escaped by `render.esc`), and the page's script
(`COPY_JS`) puts that text on the clipboard instead of the markup, whether Gradio copies
through `navigator.clipboard.writeText` or through its `execCommand("copy")` fallback, and
rewrites each message's `aria-label` to the text the message shows. The script parses markup
with `DOMParser` (an inert document: no script runs, nothing is fetched).
"""

from __future__ import annotations

from rag.types import Answer, Citation

COPY_ATTR = "data-rag-copy"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def citation_line(c: Citation) -> str:
    """ "[1] Title, Section > Sub, p. 3: “quote”" (file name when there is no title)."""
    title = _one_line(c.title) or c.source.rsplit("/", 1)[-1]
    where = f", {c.location}" if c.location else ""
    return f"[{c.n}] {title}{where}: “{_one_line(c.quote)}”"


def copy_text(answer: Answer) -> str:
    """The answer as plain text; its citation list after it, one line per source."""
    text = answer.text.strip()
    if answer.refused or not answer.citations:
        return text
    return text + "\n\nSources:\n" + "\n".join(citation_line(c) for c in answer.citations)


def copy_marker(answer: Answer) -> str:
    """A hidden, empty element holding copy_text(answer) in an attribute (newlines as &#10;
    so a blank line never ends the message's HTML block under Markdown)."""
    from ui.render import esc

    value = esc(copy_text(answer)).replace("\n", "&#10;")
    return f'<span class="rag-copy" hidden {COPY_ATTR}="{value}"></span>'


COPY_JS = r"""
() => {
  if (window.__ragCopy) { return; }
  window.__ragCopy = true;
  const looksOurs = (t) => typeof t === 'string' && /class="rag-|data-rag-copy=/.test(t);
  const parse = (t) => new DOMParser().parseFromString(t, 'text/html');
  const squeeze = (s) => s.replace(/[ \t\r\f\v]+/g, ' ').replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n').trim();
  const textOf = (el) => {
    el.querySelectorAll('br').forEach((br) => br.replaceWith('\n'));
    el.querySelectorAll('div, p, li, tr, summary, blockquote').forEach((b) => b.append('\n'));
    return squeeze(el.textContent || '');
  };
  // what the clipboard gets for a message's raw content
  window.ragPlainText = (t) => {
    if (!looksOurs(t)) { return t; }
    const doc = parse(t);
    const marked = [...doc.querySelectorAll('[data-rag-copy]')];
    if (marked.length) { return marked.map((m) => m.getAttribute('data-rag-copy')).join('\n\n'); }
    return textOf(doc.body);
  };
  // a message's accessible name: the text it shows (answer, refusal, error), no markup
  window.ragLabelText = (t) => {
    const doc = parse(t);
    doc.querySelectorAll('.rag-copy, .rag-sources, .rag-src, details').forEach((e) => e.remove());
    const main = [...doc.querySelectorAll('.rag-answer, .rag-refusal, .rag-error, .rag-notice')];
    return squeeze(main.length ? main.map(textOf).join(' ') : textOf(doc.body)).replace(/\n+/g, ' ');
  };
  const clip = navigator.clipboard;
  if (clip && clip.writeText) {
    const write = clip.writeText.bind(clip);
    clip.writeText = (t) => write(window.ragPlainText(t));
  }
  // Gradio's fallback without navigator.clipboard (plain http): a textarea + execCommand
  document.addEventListener('copy', (ev) => {
    const t = ev.target;
    if (!t || t.tagName !== 'TEXTAREA' || !looksOurs(t.value) || !ev.clipboardData) { return; }
    ev.clipboardData.setData('text/plain', window.ragPlainText(t.value));
    ev.preventDefault();
  }, true);
  const PREFIX = /^([^<]*?'s message: )([\s\S]*)$/;
  const relabel = (el) => {
    const label = el.getAttribute('aria-label') || '';
    const m = PREFIX.exec(label);
    if (!m) { return; }
    const title = el.querySelector('.thought-group .title');
    // a side panel ("How this was answered"): named by its title, not by its Markdown source
    const text = title ? squeeze(title.textContent || '').replace(/\n+/g, ' ')
      : (looksOurs(m[2]) ? window.ragLabelText(m[2]) : null);
    if (text !== null && text !== m[2]) { el.setAttribute('aria-label', m[1] + text); }
  };
  const sweep = () => document.querySelectorAll('[aria-label*="\'s message: "]').forEach(relabel);
  let queued = false;
  new MutationObserver(() => {
    if (queued) { return; }
    queued = true;
    setTimeout(() => { queued = false; sweep(); }, 0);
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ['aria-label']});
  sweep();
}
"""
