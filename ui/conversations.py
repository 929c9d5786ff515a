"""Conversations that last: kept server-side per user, reopened with their sources.

Why not Gradio's own `ChatInterface(save_history=True)`: it keeps the chat in the browser's
localStorage encrypted with a key drawn at every server start (a restart loses every chat),
titles are always the first question (no rename), and whatever HTML the browser holds is put
back into the page as it is. Here each user's chats live in `<data_dir>/conversations.sqlite`:

- the owner is the page login (`gr.Request.username`), or "" without login (loopback only);
  every read and write is filtered by it, so no user can open, rename or delete another's;
- what is stored is only what the server rendered itself (`ui.render`, document text through
  `render.esc`) for each turn, and the question as typed; nothing the browser sends back is
  stored as page markup;
- a turn is saved when its answer is final, or, when the user stops the generation, as it
  was left on the page (the quoted answer);
- a reload reopens the chat the tab showed (its id is kept in the tab's sessionStorage); a
  new tab starts a new chat, with the earlier ones listed.

The chat function is wrapped (`ConversationsPanel.saving`): it receives the tab's
conversation id (a `gr.State`, so it is not part of the `/chat` API: API calls are never
saved) and, once a turn is saved, bumps a version `gr.State` whose change refreshes the list.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ui.render import esc

log = logging.getLogger(__name__)

DB_NAME = "conversations.sqlite"
TITLE_CHARS = 60
MAX_CONVERSATIONS = 200  # per user; the oldest go first
SESSION_KEY = "rag-chat"
RECALL_JS = f"() => sessionStorage.getItem('{SESSION_KEY}') || ''"
REMEMBER_JS = f"(id) => {{ sessionStorage.setItem('{SESSION_KEY}', id || ''); return []; }}"
# switching chats while an answer streams stops it first (kept as shown, like the stop button)
_STOP = "const s = document.querySelector('#rag-question button.stop-button'); if (s) { s.click(); }"
STOP_THEN_JS = f"(...args) => {{ {_STOP} return args; }}"
READY = "rag-chats-ready"  # set on the list once this tab's chat is shown (tests wait on it)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    turns TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated);
"""


@dataclass(frozen=True)
class Summary:
    id: str
    title: str
    updated: float


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    turns: list[dict]  # {"question": str, "messages": [assistant message dicts], "at": float}

    def messages(self) -> list[dict]:
        """The chat as the Chatbot shows it: each question, then its answer messages."""
        out: list[dict] = []
        for turn in self.turns:
            out.append({"role": "user", "content": turn["question"]})
            out.extend(turn["messages"])
        return out


def new_id() -> str:
    return uuid.uuid4().hex


def title_of(question: str) -> str:
    text = " ".join(str(question).split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


def user_turns(history: list[dict] | None) -> int:
    """How many questions the page's history holds (= turns already stored before this one)."""
    return sum(1 for m in history or [] if m.get("role") == "user")


class ConversationStore:
    """Conversations by owner in one SQLite file (a connection per call: handlers run in threads)."""

    def __init__(self, path: Path, max_conversations: int = MAX_CONVERSATIONS) -> None:
        self.path = path
        self.max_conversations = max_conversations
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ConversationStore:
        return cls(Path(data_dir) / DB_NAME)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            with db:  # one transaction
                yield db

    def list(self, owner: str) -> list[Summary]:
        with self._db() as db:
            rows = db.execute("SELECT id, title, updated FROM conversations WHERE owner = ? "
                              "ORDER BY updated DESC", (owner,)).fetchall()
        return [Summary(*row) for row in rows]

    def get(self, owner: str, conv_id: str | None) -> Conversation | None:
        if not conv_id:
            return None
        with self._db() as db:
            row = db.execute("SELECT id, title, turns FROM conversations WHERE owner = ? AND id = ?",
                             (owner, conv_id)).fetchone()
        if row is None:
            return None
        return Conversation(row[0], row[1], json.loads(row[2]))

    def save_turn(self, owner: str, conv_id: str, keep: int, turn: dict) -> Conversation:
        """The conversation's first `keep` turns, then `turn` (a retry or an edit replaces
        what followed). Created, titled after its first question, when new."""
        now = time.time()
        old = self.get(owner, conv_id)
        turns = (old.turns[:keep] if old else []) + [{**turn, "at": now}]
        title = old.title if old else title_of(turn["question"])
        with self._db() as db:
            if old is None:
                taken = db.execute("SELECT owner FROM conversations WHERE id = ?", (conv_id,)).fetchone()
                if taken is not None:  # someone else's id: never written over
                    raise PermissionError("conversation id belongs to another user")
                db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
                           (conv_id, owner, title, now, now, json.dumps(turns)))
            else:
                db.execute("UPDATE conversations SET turns = ?, updated = ? WHERE owner = ? AND id = ?",
                           (json.dumps(turns), now, owner, conv_id))
            self._trim(db, owner)
        return Conversation(conv_id, title, turns)

    def _trim(self, db: sqlite3.Connection, owner: str) -> None:
        db.execute("DELETE FROM conversations WHERE owner = ? AND id NOT IN (SELECT id FROM "
                   "conversations WHERE owner = ? ORDER BY updated DESC LIMIT ?)",
                   (owner, owner, self.max_conversations))

    def rename(self, owner: str, conv_id: str | None, title: str) -> bool:
        title = title_of(title)
        if not conv_id or not title:
            return False
        with self._db() as db:
            cur = db.execute("UPDATE conversations SET title = ? WHERE owner = ? AND id = ?",
                             (title, owner, conv_id))
        return cur.rowcount == 1

    def delete(self, owner: str, conv_id: str | None) -> bool:
        if not conv_id:
            return False
        with self._db() as db:
            cur = db.execute("DELETE FROM conversations WHERE owner = ? AND id = ?", (owner, conv_id))
        return cur.rowcount == 1


def owner_of(request) -> str:
    """The page login, or "" when the page has none (then it is served on loopback only)."""
    return (getattr(request, "username", None) or "") if request is not None else ""


ChatFn = Callable[..., Iterator[list[dict]]]


class ConversationsPanel:
    """The "Chats" list (new, switch, rename, delete) and the chat function that saves turns."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store

    # --- handlers (plain functions of ids and requests: unit-tested without a browser) -----
    def saving(self, respond: ChatFn) -> ChatFn:
        """respond(message, history, mode, top_k) → the ChatInterface function, which also
        takes the conversation id and yields (messages, version) for additional_outputs."""
        def chat(message: str, history: list[dict], mode: str | None, top_k: float | None,
                 conversation: str | None, request: gr.Request):
            last: list[dict] | None = None
            try:
                with closing(respond(message, history, mode, top_k)) as steps:
                    for last in steps:
                        yield last, gr.skip()
            except GeneratorExit:  # the user stopped it: keep what the page shows
                self._save(request, conversation, history, message, last)
                raise
            yield last, self._save(request, conversation, history, message, last)

        chat.__name__ = getattr(respond, "__name__", "chat")
        return chat

    def _save(self, request, conv_id: str | None, history, question: str, messages) -> str | None:
        """Store the finished turn; a version string (its change refreshes the list)."""
        if not conv_id or not messages or not str(question).strip():
            return None  # API calls carry no conversation id: never saved
        shown = [m for m in messages if (m.get("metadata") or {}).get("status") != "pending"]
        try:
            conv = self.store.save_turn(owner_of(request), conv_id, user_turns(history),
                                        {"question": str(question), "messages": shown})
        except (sqlite3.Error, PermissionError):
            log.exception("could not save conversation %s", conv_id)
            return None
        return f"{conv.id}:{len(conv.turns)}:{time.time():.3f}"

    def choices(self, owner: str) -> list[tuple[str, str]]:
        return [(s.title, s.id) for s in self.store.list(owner)]

    def start(self, remembered: str | None, request: gr.Request | None = None) -> tuple:
        """Page load: the chat this browser tab showed before a reload (its id is kept in the
        tab's sessionStorage), else a new one; earlier chats are listed either way."""
        owner = owner_of(request)
        return self._show(owner, self.store.get(owner, (remembered or "").strip() or None))

    def new_chat(self, request: gr.Request | None = None) -> tuple:
        return self._show(owner_of(request), None)

    def open(self, conv_id: str | None, request: gr.Request | None = None) -> tuple:
        owner = owner_of(request)
        return self._show(owner, self.store.get(owner, conv_id))

    def _show(self, owner: str, conv: Conversation | None) -> tuple:
        """(conversation id, list, title box, chatbot, chatbot state, the tab's remembered id)."""
        conv_id = conv.id if conv else new_id()
        messages = conv.messages() if conv else []
        listed = gr.update(choices=self.choices(owner), value=conv.id if conv else None,
                           elem_classes=[READY])
        title = gr.update(value=conv.title if conv else "", interactive=conv is not None)
        return conv_id, listed, title, messages, messages, conv_id

    def refresh(self, conv_id: str | None, request: gr.Request | None = None) -> tuple:
        """After a saved turn: the list (newest first), this chat selected, its title."""
        owner = owner_of(request)
        conv = self.store.get(owner, conv_id)
        return (gr.update(choices=self.choices(owner), value=conv.id if conv else None),
                gr.update(value=conv.title if conv else "", interactive=conv is not None))

    def rename(self, conv_id: str | None, title: str, request: gr.Request | None = None) -> tuple:
        owner = owner_of(request)
        if not self.store.rename(owner, conv_id, title or ""):
            return gr.skip(), gr.skip(), "Ask a question first: a chat is named once it has an answer."
        new = self.store.get(owner, conv_id)
        return (gr.update(choices=self.choices(owner), value=conv_id),
                gr.update(value=new.title if new else ""), f"Renamed to “{esc(new.title) if new else ''}”.")

    def ask_delete(self, conv_id: str | None, request: gr.Request | None = None) -> tuple:
        conv = self.store.get(owner_of(request), conv_id)
        if conv is None:
            return gr.update(visible=False), "Nothing to delete: this chat has not been saved yet."
        return gr.update(visible=True), f"Delete “{esc(conv.title)}” for good?"

    def delete(self, conv_id: str | None, request: gr.Request | None = None) -> tuple:
        """Delete this chat, then show a new one: (id, list, title, chatbot, state, confirm, note)."""
        owner = owner_of(request)
        title = getattr(self.store.get(owner, conv_id), "title", "")
        done = self.store.delete(owner, conv_id)
        note = f"Deleted “{esc(title)}”." if done else "That chat was already gone."
        return (*self._show(owner, None), gr.update(visible=False), note)

    # --- layout -------------------------------------------------------------------------
    def render(self) -> None:
        """The list and its controls (call inside the sidebar, before the chat is built)."""
        self.current = gr.State(None)  # this tab's conversation id
        self.version = gr.State(None)  # changes when a turn was saved
        # the id again, in the DOM: kept in the tab's sessionStorage so a reload reopens it
        self.remembered = gr.Textbox(visible="hidden", elem_id="rag-chat-id", show_label=False)
        with gr.Group(elem_id="rag-chats-panel"):
            self.new_btn = gr.Button("New chat", variant="primary", size="sm", elem_id="rag-new-chat")
            self.list = gr.Radio(choices=[], value=None, label="Earlier chats", elem_id="rag-chats")
        with gr.Accordion("Rename or delete this chat", open=False, elem_id="rag-chat-manage"):
            self.title = gr.Textbox(label="Chat title", max_lines=1, max_length=200,
                                    elem_id="rag-chat-title", interactive=False)
            with gr.Row():
                self.rename_btn = gr.Button("Rename", size="sm", elem_id="rag-chat-rename")
                self.delete_btn = gr.Button("Delete…", size="sm", variant="stop",
                                            elem_id="rag-chat-delete")
            with gr.Row(visible=False, elem_id="rag-chat-confirm") as self.confirm:
                self.yes_btn = gr.Button("Yes, delete it", size="sm", variant="stop",
                                         elem_id="rag-chat-delete-yes")
                self.no_btn = gr.Button("Keep it", size="sm", elem_id="rag-chat-delete-no")
            self.note = gr.Markdown(elem_id="rag-chat-note")

    def wire(self, demo, chat) -> None:
        """Events, once the ChatInterface `chat` exists (its chatbot and server-side state)."""
        shown = [self.current, self.list, self.title, chat.chatbot, chat.chatbot_state,
                 self.remembered]
        private = {"api_visibility": "private", "queue": False}
        demo.load(self.start, inputs=self.remembered, outputs=shown, js=RECALL_JS, **private)
        self.remembered.change(None, inputs=self.remembered, js=REMEMBER_JS, **private)
        self.new_btn.click(self.new_chat, outputs=shown, js=STOP_THEN_JS, **private)
        chat.chatbot.clear(self.new_chat, outputs=shown, **private)  # the bin icon: a fresh chat
        self.list.input(self.open, inputs=self.list, outputs=shown, js=STOP_THEN_JS, **private)
        self.version.change(self.refresh, inputs=self.current, outputs=[self.list, self.title],
                            **private)
        for trigger in (self.rename_btn.click, self.title.submit):
            trigger(self.rename, inputs=[self.current, self.title],
                    outputs=[self.list, self.title, self.note], **private)
        self.delete_btn.click(self.ask_delete, inputs=self.current,
                              outputs=[self.confirm, self.note], **private)
        self.no_btn.click(lambda: (gr_hide(), ""), outputs=[self.confirm, self.note], **private)
        self.yes_btn.click(self.delete, inputs=self.current,
                           outputs=[*shown, self.confirm, self.note], **private)


def gr_hide():
    return gr.update(visible=False)


CONV_CSS = """
#rag-chats .wrap { flex-direction: column; align-items: stretch; gap: 2px; }
#rag-chats label { width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#rag-chats label span { overflow: hidden; text-overflow: ellipsis; }
"""
