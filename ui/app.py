"""The Gradio page: chat (streamed, cited), documents (upload, list, delete, re-index), settings.

Errors become user messages here, at the edge: a RagError is shown as what it says,
anything else as a short "internal error" note (details go to the server log).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from rag.errors import InputError, RagError
from ui import render, uploads
from ui.assets import CSS, JS
from ui.conversations import ConversationsPanel, ConversationStore
from ui.eval_view import EvalView
from ui.config import UiConfig  # noqa: F401  (importable without gradio, for `rag serve`)
from ui.gate import Gate, Limiter
from ui.loading import LOADING_TEXT, STILL_LOADING, ServiceLoader
from ui.llm_status import default_mode, endpoint_status, llm_configured, mode_choices
from ui.streaming import answer_events, replay
from ui.upload_assets import limits_html

log = logging.getLogger(__name__)

EXAMPLES = [
    "What does Stoltenberg say about China?",
    "Which technologies is China providing to Russia?",
    "What did the United States do last month?",
]
DOC_HEADERS = ["Document", "Title", "Chunks", "Flagged", "Indexed as"]  # "Indexed as" last
WRITES = "index-writes"  # one concurrency group for everything that changes the index
LOCAL_STATUS_EVERY_S = 3.0
LOADING_POLL_S = 1.0  # the page asks whether start-up loading is done
WRITE_LOAD_WAIT_S = 600.0  # an upload (delete, re-index) sent while loading waits this long
PROVISIONAL_NOTE = ("Provisional: quoted from your documents while the model writes its "
                    "answer (stop it to keep this one).")
DRAFT_TITLE = "Model draft (unverified)"
# the page asks before a delete (the browser's own confirm dialog); API calls delete at once
CONFIRM_DELETE_JS = (
    "(doc, ok) => [doc, !doc || window.confirm('Delete ' + doc + ' from the index (and its "
    "uploaded copy)? This cannot be undone.')]")


def _error_html(text: str) -> str:
    return f'<div class="rag-error"><b>Could not answer.</b> {render.esc(text)}</div>'


def _msg(content: str, **metadata) -> dict:
    out = {"role": "assistant", "content": content}
    if metadata:
        out["metadata"] = metadata
    return out


class ChatApp:
    """Handlers bound to one RagService, and the Blocks that wire them."""

    def __init__(self, svc, config: UiConfig | None = None, limiter: Limiter | None = None,
                 loader: ServiceLoader | None = None) -> None:
        self.svc = svc
        self.loader = loader or ServiceLoader.done()  # start-up loading of the heavy parts
        self.settings = svc.settings
        self.config = config or UiConfig()
        self.gate = Gate()
        self.limiter = limiter or Limiter(self.config.concurrency)  # shared with the HTTP API
        self.upload_dir = uploads.uploads_dir(self.settings.data_dir)
        self.local = getattr(svc, "local_llm", None)  # the local model server, if any
        # absolute server paths are shown relative to these (never as they are)
        self.roots = (self.settings.data_dir.resolve(), Path.cwd().resolve())
        self.gradio_cache = Path(gr.utils.get_upload_folder())
        self.chats = ConversationsPanel(ConversationStore.in_data_dir(self.settings.data_dir))
        self.evals = EvalView(self.settings.data_dir)

    def shown(self, path: str) -> str:
        return render.shown_path(path, self.roots)

    def _scrub(self, text: str) -> str:
        return render.scrub_paths(text, self.roots)

    # --- chat -----------------------------------------------------------------------
    def respond(self, message: str, history: list[dict], mode: str | None,
                top_k: float | None) -> Iterator[list[dict]]:
        k = int(top_k) if top_k else None
        if not self.loader.ready:  # an answer, not an error: the server has just started
            yield [_msg(f'<div class="rag-notice">{render.esc(STILL_LOADING)}</div>')]
            return
        yield [_msg("", title="Searching your documents…", status="pending")]
        try:
            with self.limiter.hold():
                yield from self._answer_messages(message, history, mode, k)
        except RagError as exc:
            yield [_msg(_error_html(self._scrub(str(exc))))]
        except Exception as exc:  # the edge: a note for the user, the trace for the log
            log.exception("answering %r failed", message)
            yield [_msg(_error_html(f"internal error ({type(exc).__name__}); see the server log."))]

    def _answer_messages(self, message, history, mode, top_k) -> Iterator[list[dict]]:
        with self.gate.read():  # retrieval happens before the first event
            if self.svc.store.count() == 0:
                raise InputError("no documents are indexed yet: upload some in the Documents tab.")
            events = answer_events(self.svc, message, render.history_for_service(history), mode, top_k)
            first = next(events, None)
        uid, text, provisional = render.new_uid(), "", None
        for event in itertools.chain([first] if first else [], events):
            if event.type == "provisional" and event.answer is not None:
                provisional = render.page_answer(event.answer, self.shown)
                yield _provisional_messages(provisional, uid, "")
            elif event.type == "token":
                text += event.text
                yield (_provisional_messages(provisional, uid, text) if provisional is not None
                       else [_msg(render.answer_html(text, uid, provisional=True))])
            elif event.type == "answer" and event.answer is not None:
                answer = render.page_answer(event.answer, self.shown)
                streamed = bool(text) or provisional is not None
                yield from self._final(answer, uid, streamed=streamed, top_k=top_k)

    @staticmethod
    def _final(answer, uid: str, streamed: bool, top_k) -> Iterator[list[dict]]:
        if not streamed and not answer.refused:
            for shown in replay(answer.text):
                yield [_msg(render.answer_html(shown, uid))]
        yield [_msg(render.final_message(answer, uid)), render.how_message(answer, top_k)]

    def ask_api(self, question: str, top_k: int = 0, mode: str = "") -> dict:
        """Answer one question (mode: extractive | generative | auto; "" = configured).

        The answer as JSON, as `rag ask --json` prints it."""
        if not self._loaded():
            raise gr.Error(STILL_LOADING)
        try:
            with self.limiter.hold(), self.gate.read():
                answer = self.svc.ask(question, top_k=int(top_k) or None, mode=mode or None)
            return render.page_answer(answer, self.shown).to_dict()
        except RagError as exc:
            # the user's message; no trace in the server log (it is not a server fault)
            raise gr.Error(self._scrub(str(exc)), print_exception=False) from exc

    # --- documents ------------------------------------------------------------------
    def doc_rows(self) -> list[list]:
        return [[Path(d["source"]).name, d["title"], d["chunks"], d.get("flagged", 0),
                 self.shown(d["doc_id"])] for d in self.svc.list_documents()]

    def find_doc(self, key: str) -> str | None:
        """The indexed doc id behind what the page shows (a shown path) or an exact doc id;
        None if unknown. Catalogue lookups by id, not a listing of every document."""
        catalog = self.svc.catalog
        return render.find_shown_doc(key, self.roots, lambda d: _committed(catalog.get(d)),
                                     lambda: (row.doc_id for row in catalog.rows()))

    def _doc_id(self, key: str) -> str:
        return self.find_doc(key) or key

    def index_summary(self) -> str:
        docs = self.svc.list_documents()
        chunks = sum(d["chunks"] for d in docs)
        return f"**Index:** {len(docs)} document(s), {chunks} chunk(s)"

    def _docs_outputs(self, selected: str | None = None, *, leave_pick: bool = False) -> tuple:
        """Table, picker and summary. The picker shows `selected` (if still indexed) or
        nothing; with leave_pick its value is not sent at all, so the page keeps whatever the
        user picked meanwhile (a choices-only update keeps the browser's value)."""
        with self.gate.read():
            rows = self.doc_rows()
            summary = self.index_summary()
        choices = [(f"{r[0]} ({r[2]} chunks)", r[-1]) for r in rows]
        if leave_pick:
            return gr.update(value=rows), gr.update(choices=choices), summary
        keep = selected if selected in {r[-1] for r in rows} else None
        return gr.update(value=rows), gr.update(choices=choices, value=keep), summary

    def refresh(self) -> tuple:
        """The Documents panel, on page load and once loading is done. It never sets the
        picker's value: on a busy server this reply can come after the user picked a document
        (a tick sent before the pick, answered after it), and must not clear the pick."""
        if not self.loader.ready:  # the table fills in once loading is done (loading_tick)
            return (gr.update(value=[]), gr.update(choices=[], value=None),
                    "**Index:** loading…", self.loading_banner())
        return (*self._docs_outputs(leave_pick=True), self.loading_banner())

    def loading_banner(self):
        return gr.update(value=LOADING_TEXT if not self.loader.ready else "",
                         visible=not self.loader.ready)

    def loading_tick(self) -> tuple:
        """While loading: nothing changes; once done: the documents, and the timer stops (a
        page opened after loading ticks once too, maybe after the user picked a document)."""
        if not self.loader.ready:
            return (gr.skip(), gr.skip(), gr.skip(), self.loading_banner(), gr.skip())
        return (*self.refresh(), gr.Timer(active=False))

    def _loaded(self, progress=None) -> bool:
        """Whether start-up loading is done, waiting up to WRITE_LOAD_WAIT_S for it (an
        upload's progress bar says it waits)."""
        if progress is not None and not self.loader.ready:
            progress(0, desc="Waiting for the models to load")
        return self.loader.wait(WRITE_LOAD_WAIT_S)

    def _cannot_change(self, doc_id: str | None) -> tuple | None:
        """The reply to a delete or re-index that cannot run (no document picked, or still
        loading); None when it can."""
        if not doc_id:
            return ("Pick a document first.", *self._docs_outputs())
        if not self._loaded():
            return (STILL_LOADING, *self._docs_outputs())
        return None

    def upload(self, files: list[str] | None, progress=gr.Progress()) -> tuple:
        try:
            if not self._loaded(progress):
                raise InputError(STILL_LOADING)
            report = self.ingest_uploads(files or [], progress)
        except RagError as exc:
            report = {"accepted": [], "duplicates": [], "rejected": [
                {"name": Path(f).name, "reason": self._scrub(str(exc))} for f in files or []]}
        finally:  # our copy is in data/uploads; Gradio's would stay downloadable
            uploads.forget_cached(files or [], self.gradio_cache)
        return (uploads.report_markdown(report, render.esc), report,
                *self._docs_outputs(leave_pick=True), None)

    def ingest_uploads(self, files: list[str], progress=lambda *a, **k: None) -> dict:
        """Check, store and index uploaded files: {"accepted": [...], "duplicates": [...],
        "rejected": [...]}. Files whose bytes are already indexed under another name (or
        came earlier in the same upload) are duplicates: reported, not indexed twice."""
        progress(0, desc="Checking files")
        checked = uploads.check_files(files, self.config.limits)
        rejected = [{"name": r.name, "reason": r.reason} for r in checked.rejected]
        with self.gate.read():
            todo, dups = uploads.split_duplicates(checked.accepted, self.svc.documents_with_content,
                                                  self._upload_doc_id)
        accepted = []
        bar = uploads.UploadProgress(progress, len(todo))
        for i, (name, src) in enumerate(todo):
            bar.file(i, name)
            outcome = self._ingest_one(name, src, bar.chunks)
            (accepted if "doc_id" in outcome else rejected).append(outcome)
        progress(1.0, desc="Done")
        duplicates = [{"name": d.name, "duplicate_of": self.shown(d.of)} for d in dups]
        return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}

    def _upload_doc_id(self, name: str) -> str:
        from rag.ingest import doc_id_for

        return doc_id_for(self.upload_dir / name)

    def _ingest_one(self, name: str, src: Path, chunk_progress=None) -> dict:
        dest = uploads.store(name, src, self.upload_dir)
        try:
            with self.gate.write():
                report = self.svc.ingest_paths([dest], chunk_progress=chunk_progress)
        except RagError as exc:
            dest.unlink(missing_ok=True)
            return {"name": name, "reason": self._scrub(str(exc))}
        if report.skipped:
            dest.unlink(missing_ok=True)
            return {"name": name, "reason": self._scrub(report.skipped[0][1])}
        doc_id = (report.added + report.updated + report.unchanged or [""])[0]
        status = "added" if report.added else "updated" if report.updated else "unchanged"
        return {"name": name, "doc_id": self.shown(doc_id), "status": status,
                "chunks": self._chunks_of(doc_id)}

    def _chunks_of(self, doc_id: str) -> int:
        row = self.svc.catalog.get(doc_id)
        return row.chunks if _committed(row) else 0

    def delete(self, doc_id: str | None, confirmed: bool = True) -> tuple:
        if doc_id and not confirmed:  # the page's confirmation was answered "Cancel"
            return ("Nothing deleted.", *self._docs_outputs(doc_id))  # still picked
        if (refused := self._cannot_change(doc_id)) is not None:
            return refused
        shown = render.esc(self.shown(self._doc_id(doc_id)))
        found = self.delete_document(doc_id)
        note = f"Deleted **{shown}**." if found else f"{shown} was not indexed."
        return (note, *self._docs_outputs())

    def delete_document(self, doc_id: str) -> bool:
        """Remove one document (and its uploaded copy); False when it was not indexed."""
        with self.gate.write():
            doc_id = self._doc_id(doc_id)
            found = self.svc.delete_document(doc_id)
        self._remove_upload(doc_id)
        return found

    def _remove_upload(self, doc_id: str) -> None:
        """An uploaded copy goes with its document; files elsewhere are never touched."""
        root = self.upload_dir.resolve()
        for candidate in (Path(doc_id), Path.cwd() / doc_id):
            path = candidate.resolve()
            if path.parent == root and path.is_file():
                uploads.purge_copies(path, self.gradio_cache)
                path.unlink()
                log.info("removed upload %s", path)

    def reindex(self, doc_id: str | None) -> tuple:
        if (refused := self._cannot_change(doc_id)) is not None:
            return refused
        try:
            with self.gate.write():
                doc_id = self._doc_id(doc_id)
                report = self.svc.reindex_document(doc_id)
        except RagError as exc:
            return (f"Could not re-index: {render.esc(self._scrub(str(exc)))}",
                    *self._docs_outputs(self.shown(doc_id)))
        note = f"Re-indexed **{render.esc(self.shown(doc_id))}**: {report.chunks_written} chunk(s) written."
        return (note, *self._docs_outputs(self.shown(doc_id)))

    # --- settings -------------------------------------------------------------------
    def llm_status(self) -> str:
        return endpoint_status(self.settings, self.local)

    # --- layout ---------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        with gr.Blocks(title=self.config.title, analytics_enabled=False, fill_height=True,
                       delete_cache=(3600, 3600)) as demo:  # Gradio's copies of uploads
            mode, top_k, summary = self._sidebar()
            banner = gr.Markdown(LOADING_TEXT if not self.loader.ready else "", elem_id="rag-loading",
                                 visible=not self.loader.ready)
            with gr.Tabs():
                with gr.Tab("Chat", id="chat"):
                    self.chats.wire(demo, self._chat(mode, top_k))
                with gr.Tab("Documents", id="documents"):
                    table, select = self._documents(summary)
                with gr.Tab("Evaluation", id="evaluation") as eval_tab:
                    self.evals.render(eval_tab)
            gr.api(self.ask_api, api_name="ask")
            demo.load(self.refresh, outputs=[table, select, summary, banner], api_visibility="private")
            if not self.loader.ready:  # start-up: the page is served before the models load
                timer = gr.Timer(LOADING_POLL_S)
                timer.tick(self.loading_tick, outputs=[table, select, summary, banner, timer],
                           api_visibility="private", show_progress="hidden")
        return demo

    def _sidebar(self):
        with gr.Sidebar(label="Settings", open=True, width=300):
            gr.Markdown(f"## {self.config.title}\nAnswers quote your documents and cite them.")
            self.chats.render()
            summary = gr.Markdown(elem_id="rag-index-summary")
            llm = llm_configured(self.settings, self.local)
            mode = gr.Radio(mode_choices(self.settings, self.local),
                            value=default_mode(self.settings, self.local), label="Answer mode",
                            interactive=llm, elem_id="rag-mode")
            status = gr.Markdown(self.llm_status(), elem_id="rag-llm-status")
            if llm:
                gr.Button("Check endpoint", size="sm").click(
                    self.llm_status, outputs=status, api_visibility="private")
            if self.local is not None:  # loading → ready, or a crash: shown as it happens
                gr.Timer(LOCAL_STATUS_EVERY_S).tick(self.llm_status, outputs=status,
                                                     api_visibility="private")
            top_k = gr.Slider(1, 20, value=self.settings.top_k, step=1,
                              label="Passages to retrieve (top-k)", elem_id="rag-top-k")
        return mode, top_k, summary

    def _chat(self, mode, top_k) -> gr.ChatInterface:
        chatbot = gr.Chatbot(elem_id="rag-chatbot", height="68vh", layout="bubble", show_label=False,
                             placeholder="Ask a question about your documents.",
                             buttons=["copy"], feedback_options=None,
                             latex_delimiters=[])  # no KaTeX over document text
        return gr.ChatInterface(  # turns are saved per user (ui/conversations.py)
            self.chats.saving(self.respond), chatbot=chatbot,
            additional_inputs=[mode, top_k, self.chats.current], additional_outputs=[self.chats.version],
            examples=[[q, None, None, None] for q in EXAMPLES], api_name="chat",
            textbox=gr.Textbox(placeholder="Ask about your documents…", elem_id="rag-question",
                               submit_btn=True, stop_btn=True, show_label=False),
            fill_height=True,
        )

    def _documents(self, summary):
        limits = self.config.limits
        gr.Markdown(f"### Add documents\n{', '.join(sorted(uploads.SUPPORTED))} · up to "
                    f"{limits.max_files} files, {uploads.human_size(limits.max_bytes)} each.")
        files = gr.File(file_count="multiple", label="Files to index", elem_id="rag-upload",
                        height=140)
        gr.HTML(limits_html(limits, self.config.hard_max_bytes), padding=False)
        add = gr.Button("Add to index", variant="primary", elem_id="rag-upload-btn")
        result = gr.Markdown(elem_id="rag-upload-result")
        report = gr.JSON(visible=False)
        gr.Markdown("### Indexed documents")
        table = gr.Dataframe(headers=DOC_HEADERS, interactive=False, wrap=True,
                             column_widths=["22%", "36%", "8%", "9%", "25%"], elem_id="rag-docs")
        with gr.Row():
            select = gr.Dropdown(label="Document", choices=[], scale=3, elem_id="rag-doc-select")
            reindex = gr.Button("Re-index", scale=1)
            delete = gr.Button("Delete", variant="stop", scale=1, elem_id="rag-delete-btn")
        note = gr.Markdown(elem_id="rag-doc-note")
        docs_out = [table, select, summary]
        add.click(self.upload, inputs=files, outputs=[result, report, *docs_out, files],
                  api_name="upload_documents", concurrency_id=WRITES, concurrency_limit=1,
                  show_progress_on=[result])  # one progress bar, not one per output
        confirmed = gr.Checkbox(value=True, visible=False, label="Confirmed")  # set by the dialog
        delete.click(self.delete, inputs=[select, confirmed], outputs=[note, *docs_out],
                     js=CONFIRM_DELETE_JS,
                     api_name="delete_document", concurrency_id=WRITES, concurrency_limit=1,
                     show_progress_on=[note])
        reindex.click(self.reindex, inputs=select, outputs=[note, *docs_out],
                      api_name="reindex_document", concurrency_id=WRITES, concurrency_limit=1)
        table.select(_row_doc_id, outputs=select, api_visibility="private")
        return table, select


def _provisional_messages(answer, uid: str, draft: str) -> list[dict]:
    """The extractive answer, cited, marked provisional; the model's draft below it (a side
    panel, so a stopped generation leaves the quoted answer as the chat's answer)."""
    body = ('<div class="rag-provisional-answer">'
            + render.notice_html(PROVISIONAL_NOTE) + render.final_message(answer, uid) + "</div>")
    shown = render.answer_html(draft, render.new_uid(), provisional=True) if draft else "…"
    return [_msg(body), _msg(shown, title=DRAFT_TITLE, status="pending")]


def _committed(row) -> bool:
    """A catalogue row (rag.catalog.DocRow) of a document indexed to the end."""
    return row is not None and not row.pending


def _row_doc_id(evt: gr.SelectData) -> str | None:
    row = evt.row_value or []
    return row[-1] if row else None


def build_page(chat: ChatApp) -> gr.Blocks:
    """The Blocks with the queue settings (bounded size, concurrency)."""
    demo = chat.build()
    demo.queue(max_size=chat.config.queue_size, default_concurrency_limit=chat.config.concurrency)
    return demo


def build_app(svc, config: UiConfig | None = None) -> tuple[gr.Blocks, UiConfig]:
    config = config or UiConfig()
    return build_page(ChatApp(svc, config)), config


def launch_kwargs(config: UiConfig, host: str, port: int, auth: tuple[str, str] | None) -> dict:
    return dict(
        server_name=host, server_port=port, auth=auth,
        max_file_size=None,  # no generic Gradio error: the JS and our checks say it (ApiGuard caps)
        ssr_mode=False, footer_links=["api"], css=CSS, js=JS, mcp_server=False, pwa=False,
        enable_monitoring=False, show_error=False, quiet=True,
    )
