"""Page CSS and JS for the document viewer dialog, the phone layout and contrast (axe-core).

Joined into ui/assets.py. Nothing is fetched from outside: the dialog shows our own /view page.
- A click on "Open in document" (a.rag-view, ui/render.py) opens a modal <dialog> holding the
  viewer in an iframe, scrolled to the cited span; Escape, the Close button or a click beside
  it closes the dialog and gives focus back to the link. Without JS the link opens a new tab.
- Under 768 px the Settings sidebar starts closed and its toggle is a labelled 44 px button.
- Faint grey text (Gradio's "subdued" colour, slider bounds, the footer, the selected tab's
  orange) is darkened to WCAG AA contrast; tables keep their headers on one line and scroll
  sideways inside themselves, never the page.
"""

PHONE_MAX_PX = 768

VIEWER_CSS = """
/* contrast: Gradio's subdued greys and orange accent text are below 4.5:1 on white */
:root:root { --body-text-color-subdued: #4b5563; --block-info-text-color: #4b5563;
  --input-placeholder-color: #6b7280; }
.dark.dark, :root .dark { --body-text-color-subdued: #cbd5e1; --block-info-text-color: #cbd5e1;
  --input-placeholder-color: #9ca3af; }
/* Gradio fades every chat message to opacity 0.8 */
.message-wrap .prose.chatbot.md, .thought-group .message-content { opacity: 1 !important; }
.rag-meta, .rag-notice, .rag-sources-title { color: var(--body-text-color-subdued); }
.min_value, .max_value { color: var(--body-text-color-subdued) !important; }
footer .show-api, footer a, footer button, footer span { color: var(--body-text-color-subdued) !important; }
button[role="tab"].selected { color: var(--body-text-color) !important; }
/* one selector per rule: Gradio's scoping mangles the later selectors of a list */
a.rag-cite { color: #1d4ed8 !important; }
a.rag-view { color: #1d4ed8 !important; }
.dark a.rag-cite { color: #93c5fd !important; }
.dark a.rag-view { color: #93c5fd !important; }
/* short status texts never scroll (axe: scrollable-region-focusable while the page settles) */
#rag-index-summary { overflow: visible !important; }
#rag-llm-status { overflow: visible !important; }
a.rag-view { font-weight: 600; }
:root:root { --button-cancel-background-fill: #b91c1c; --button-cancel-background-fill-hover: #991b1b;
  --button-cancel-text-color: #ffffff; }
/* primary buttons (New chat, Add to index): white on orange-700, 5.2:1, light and dark */
:root:root, :root .dark, .dark.dark { --button-primary-background-fill: #c2410c;
  --button-primary-background-fill-hover: #9a3412; --button-primary-text-color: #ffffff;
  --button-primary-border-color: #c2410c; }

/* the viewer dialog */
dialog#rag-viewer { width: min(60rem, 96vw); height: min(88vh, 60rem); padding: 0; border: 1px solid #9ca3af;
  border-radius: 8px; background: var(--background-fill-primary, #fff); color: var(--body-text-color, #111);
  display: none; flex-direction: column; box-sizing: border-box; }
dialog#rag-viewer[open] { display: flex; }
dialog#rag-viewer::backdrop { background: rgba(0, 0, 0, 0.45); }
.rag-viewer-bar { display: flex; gap: 0.6rem; align-items: center; padding: 0.4rem 0.6rem;
  border-bottom: 1px solid var(--border-color-primary, #d1d5db); }
.rag-viewer-title { flex: 1; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.rag-viewer-bar a { color: #1d4ed8; }
.dark .rag-viewer-bar a { color: #93c5fd; }
.rag-viewer-close { min-width: 44px; min-height: 36px; padding: 0 0.8rem; border-radius: 6px;
  border: 1px solid #6b7280; background: var(--background-fill-secondary, #f3f4f6); color: inherit; cursor: pointer; }
dialog#rag-viewer iframe { flex: 1; width: 100%; border: 0; background: #fff; }

/* tables: headers on one line; wide tables scroll inside themselves */
#rag-docs th, #rag-docs th * { white-space: nowrap; word-break: normal !important; overflow-wrap: normal !important; }
#rag-docs .table-wrap, #rag-docs table { max-width: 100%; }
.rag-answer, .rag-source, .message-row, .bubble-wrap { overflow-wrap: anywhere; }
.message-wrap table, .prose table { display: block; overflow-x: auto; max-width: 100%; }
.message-wrap th, .prose th { white-space: nowrap; }

/* phones: Gradio scopes @media rules to its .contain box, so rules for the page, the footer
   and the dialog (outside it) hang on html.rag-phone, set by VIEWER_JS below 768 px */
html.rag-phone, html.rag-phone body { max-width: 100vw; overflow-x: hidden; }
html.rag-phone .contain { padding-top: 52px; }
html.rag-phone .sidebar .toggle-button { width: auto !important; min-width: 44px; height: 44px !important;
  padding: 0 0.7rem !important; gap: 0.3rem; top: 4px !important; }
html.rag-phone .sidebar:not(.open) .toggle-button::after { content: "Settings"; font-weight: 600;
  color: var(--body-text-color); }
html.rag-phone footer { flex-wrap: wrap; justify-content: center; gap: 0.4rem; }
html.rag-phone footer .show-api { display: inline-flex !important; align-items: center; white-space: nowrap; }
footer .divider:last-child { display: none; }  /* a trailing "·" after "Use via API" */
html.rag-phone dialog#rag-viewer { width: 100vw; max-width: 100vw; height: 100dvh; max-height: 100dvh;
  border-radius: 0; margin: 0; }
@media (max-width: 768px) {
  #rag-docs th, #rag-docs td, #rag-docs .body-cell { min-width: 6.5em !important; }
}
"""

VIEWER_JS = """
() => {
  if (window.__ragViewer) { return; }
  window.__ragViewer = true;
  const PHONE = window.matchMedia('(max-width: %(phone)dpx)');
  const phoneClass = () => document.documentElement.classList.toggle('rag-phone', PHONE.matches);
  PHONE.addEventListener('change', phoneClass);
  phoneClass();
  let opener = null;
  const dlg = document.createElement('dialog');
  dlg.id = 'rag-viewer';
  dlg.setAttribute('aria-labelledby', 'rag-viewer-title');
  dlg.innerHTML = '<div class="rag-viewer-bar"><span class="rag-viewer-title" id="rag-viewer-title">Document</span>'
    + '<a class="rag-viewer-newtab" target="_blank" rel="noopener noreferrer">Open in new tab</a>'
    + '<button type="button" class="rag-viewer-close">Close</button></div>'
    + '<iframe title="Document viewer" class="rag-viewer-frame"></iframe>';
  document.body.appendChild(dlg);
  const frame = dlg.querySelector('iframe');
  const closeDialog = () => { if (dlg.open) { dlg.close(); } };
  dlg.addEventListener('close', () => {
    frame.src = 'about:blank';
    if (opener) { opener.focus(); opener = null; }
  });
  dlg.querySelector('.rag-viewer-close').addEventListener('click', closeDialog);
  dlg.addEventListener('click', (ev) => { if (ev.target === dlg) { closeDialog(); } });
  document.addEventListener('click', (ev) => {
    const link = ev.target.closest ? ev.target.closest('a.rag-view') : null;
    if (!link) { return; }
    ev.preventDefault();
    ev.stopPropagation();
    opener = link;
    const summary = link.closest('details') && link.closest('details').querySelector('summary');
    const named = summary ? summary.cloneNode(true) : null;  // "[n] title — where", no file/score
    if (named) { named.querySelectorAll('.rag-meta').forEach((m) => m.remove()); }
    const label = named ? named.textContent.replace(/\\s+/g, ' ').trim() : 'Document';
    dlg.querySelector('.rag-viewer-title').textContent = label;
    dlg.querySelector('.rag-viewer-newtab').href = link.href;
    frame.src = link.href;
    dlg.showModal();
    dlg.querySelector('.rag-viewer-close').focus();
  }, true);

  // Gradio marks the examples row role=list around buttons (axe: aria-required-children)
  const fixRoles = () => {
    document.querySelectorAll('.examples[role="list"]').forEach((el) => el.removeAttribute('role'));
    // a collapsible message ("How this was answered") is a role=button div around an unnamed
    // arrow button (axe: nested-interactive, button-name): the arrow button, named by the
    // title, becomes the one control; its click still reaches the div's toggle
    document.querySelectorAll('.thought-group .title[role="button"]').forEach((t) => {
      const b = t.querySelector('button');
      if (!b) { return; }
      t.removeAttribute('role');
      t.removeAttribute('tabindex');
      b.setAttribute('aria-label', (t.innerText || 'Details').replace(/\\s+/g, ' ').trim());
      if (!b.__ragKey) {  // Enter: the button's own click toggles; the div's keydown would again
        b.__ragKey = true;
        b.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.stopPropagation(); } });
      }
    });
    document.querySelectorAll('.sidebar .toggle-button').forEach((b) => {
      const open = b.closest('.sidebar').classList.contains('open');
      b.setAttribute('aria-label', open ? 'Close settings' : 'Settings');
      b.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
  };
  new MutationObserver(fixRoles).observe(document.body, {subtree: true, childList: true,
                                                         attributes: true, attributeFilter: ['class', 'role']});
  fixRoles();

  // phones: the Settings sidebar starts closed (Gradio opens it over the whole screen)
  if (PHONE.matches) {
    const started = Date.now();
    const closeSidebar = () => {
      const open = document.querySelector('.sidebar.open .toggle-button');
      if (open) { open.click(); document.documentElement.dataset.ragSidebar = 'closed'; return; }
      if (document.querySelector('.sidebar')) { document.documentElement.dataset.ragSidebar = 'closed'; return; }
      if (Date.now() - started < 20000) { setTimeout(closeSidebar, 100); }
    };
    closeSidebar();
  }
}
""" % {"phone": PHONE_MAX_PX}
