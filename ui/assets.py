"""CSS and JS shipped inline with the page: nothing is fetched from a CDN."""

from ui.conversations import CONV_CSS
from ui.copytext import COPY_JS
from ui.eval_view import EVAL_CSS

CSS = """
.rag-answer { line-height: 1.6; }
.rag-provisional { opacity: 0.7; }
a.rag-cite { font-weight: 600; font-size: 0.8em; vertical-align: super; text-decoration: none;
  color: var(--color-accent); padding: 0 1px; cursor: pointer; }
a.rag-cite:hover { text-decoration: underline; }
.rag-sources { margin-top: 0.8em; padding-top: 0.5em; border-top: 1px solid var(--border-color-primary); }
.rag-sources-title { font-size: 0.8em; font-weight: 600; text-transform: uppercase; letter-spacing: 0.05em;
  color: var(--body-text-color-subdued); margin-bottom: 0.3em; }
details.rag-source { margin: 0.25em 0; border-radius: 6px; padding: 0.15em 0.4em; }
details.rag-source[open] { background: var(--background-fill-secondary); }
details.rag-source summary { cursor: pointer; }
blockquote.rag-passage { margin: 0.4em 0; padding: 0.3em 0.7em; border-left: 3px solid var(--color-accent);
  font-size: 0.92em; }
.rag-passage mark { background: #fde68a; color: #1f2937; padding: 0 2px; border-radius: 2px; }
.rag-meta { color: var(--body-text-color-subdued); font-size: 0.85em; font-weight: normal; }
.rag-refusal { border-left: 4px solid #f59e0b; padding: 0.3em 0.8em; }
.rag-error { border-left: 4px solid #ef4444; padding: 0.3em 0.8em; }
.rag-notice { font-size: 0.85em; font-style: italic; color: var(--body-text-color-subdued);
  margin-bottom: 0.4em; }
.rag-flash { outline: 2px solid var(--color-accent); transition: outline 0.3s; }
#rag-upload-result ul { margin: 0.2em 0; }
"""

# a click on [n] opens source n of the same answer and scrolls to it
JS = """
() => {
  if (window.__ragCites) { return; }
  window.__ragCites = true;
  document.addEventListener('click', (ev) => {
    const link = ev.target.closest ? ev.target.closest('a.rag-cite') : null;
    if (!link) { return; }
    ev.preventDefault();
    ev.stopPropagation();
    const id = (link.getAttribute('href') || '').replace(/^.*#/, '');
    const el = id ? document.getElementById(id) : null;
    if (!el) { return; }
    el.open = true;
    el.scrollIntoView({behavior: 'smooth', block: 'nearest'});
    el.classList.add('rag-flash');
    setTimeout(() => el.classList.remove('rag-flash'), 1500);
  }, true);
}
"""

from ui.upload_assets import UPLOAD_CSS, with_upload_js  # noqa: E402  (upload guard, start-up notice)
from ui.viewer_assets import VIEWER_CSS, VIEWER_JS  # noqa: E402  (viewer dialog, phone, contrast)

CSS = CSS + CONV_CSS + EVAL_CSS + VIEWER_CSS + UPLOAD_CSS
JS = with_upload_js(f"() => {{ ({JS.strip()})(); ({COPY_JS.strip()})(); ({VIEWER_JS.strip()})(); }}")
