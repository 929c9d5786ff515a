"""CSS and JS of the upload area and the start-up notice (joined into ui/assets.py).

The JS checks each picked or dropped file's size in the browser, before Gradio uploads it:
a file above the server's cap (UiConfig.hard_max_bytes) is taken out of the selection and
named, with our message and our limit, in #rag-upload-toobig; the rest go on as usual (one
between our limit and the cap reaches the server and gets the same message in the report).
So no file of any size meets Gradio's own generic error (its max_file_size is unset; the
server's cap is ui.server.ApiGuard's).
"""

from __future__ import annotations

import html

from ui.uploads import UploadLimits, human_size

UPLOAD_CSS = """
#rag-upload-result { min-height: 3.5em; }
#rag-upload-result ul { margin: 0.2em 0 0.6em; }
#rag-upload-toobig:not(:empty) { border-left: 4px solid #b91c1c; padding: 0.3em 0.8em; margin: 0.3em 0; }
#rag-loading { border-left: 4px solid #2563eb; padding: 0.2em 0.8em; }
#rag-delete-confirm { border: 1px solid #b91c1c; border-radius: 6px; padding: 0.4em; }
"""

# statements run by the page's load function (see with_upload_js)
UPLOAD_JS = r"""
  if (!window.__ragUploadGuard) {
    window.__ragUploadGuard = true;
    const size = (n) => n >= 1048576 ? `${+(n / 1048576).toPrecision(3)} MB`
                                     : `${+(n / 1024).toPrecision(3)} KB`;
    const limits = () => document.getElementById('rag-upload-limits');
    const inUpload = (el) => el && el.closest && el.closest('#rag-upload');
    // too-big files named with our message; the others, as a new FileList (null: none too big)
    const sift = (files) => {
      const lim = limits();
      const box = document.getElementById('rag-upload-toobig');
      if (!lim || !box) { return null; }
      const max = Number(lim.dataset.maxBytes);
      const big = [...files].filter((f) => f.size > max);
      box.textContent = '';
      if (!big.length) { return null; }
      const title = document.createElement('b');
      title.textContent = `Not uploaded, too large (limit ${lim.dataset.limit} each): ${big.length} file(s):`;
      const list = document.createElement('ul');
      for (const f of big) {
        const item = document.createElement('li');
        item.textContent = `${f.name}: too large (${size(f.size)}; limit ${lim.dataset.limit})`;
        list.appendChild(item);
      }
      box.append(title, list);
      const keep = new DataTransfer();
      [...files].filter((f) => f.size <= max).forEach((f) => keep.items.add(f));
      return keep;
    };
    window.addEventListener('change', (ev) => {
      const input = ev.target;
      if (!(input instanceof HTMLInputElement) || input.type !== 'file' || !inUpload(input)
          || ev.__ragSifted) { return; }
      const keep = sift(input.files || []);
      if (keep === null) { return; }
      ev.stopImmediatePropagation();
      input.files = keep.files;
      if (keep.files.length) {
        const again = new Event('change', {bubbles: true});
        again.__ragSifted = true;  // the files that may go: Gradio uploads them
        input.dispatchEvent(again);
      } else { input.value = ''; }
    }, true);
    window.addEventListener('drop', (ev) => {
      if (!inUpload(ev.target) || !ev.dataTransfer || ev.__ragSifted) { return; }
      const keep = sift(ev.dataTransfer.files || []);
      if (keep === null) { return; }
      ev.preventDefault();
      ev.stopImmediatePropagation();
      if (keep.files.length) {
        const again = new DragEvent('drop', {dataTransfer: keep, bubbles: true, cancelable: true});
        again.__ragSifted = true;
        ev.target.dispatchEvent(again);
      }
    }, true);
  }
"""


def with_upload_js(js: str) -> str:
    """The page's load function `() => { ... }` with the upload guard run first."""
    head, brace, rest = js.partition("{")
    return head + brace + UPLOAD_JS + rest


def limits_html(limits: UploadLimits, cap_bytes: int) -> str:
    """What the JS reads the cap and our limit from, and where it names the files too large."""
    shown = html.escape(human_size(limits.max_bytes))
    return (f'<div id="rag-upload-limits" data-max-bytes="{cap_bytes}" data-limit="{shown}">'
            '<div id="rag-upload-toobig" role="alert" aria-live="polite"></div></div>')
