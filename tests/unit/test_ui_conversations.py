"""Kept conversations: the store (per owner), the saving chat function, the panel's handlers."""

from types import SimpleNamespace

import pytest

from ui.conversations import (ConversationsPanel, ConversationStore, new_id, owner_of, title_of,
                              user_turns)

ANN, BOB = SimpleNamespace(username="ann"), SimpleNamespace(username="bob")


def answer_msgs(text: str) -> list[dict]:
    return [{"role": "assistant", "content": f'<div class="rag-answer">{text}</div>'},
            {"role": "assistant", "content": "**Timings:** 1 ms",
             "metadata": {"title": "How this was answered", "status": "done"}}]


def fake_respond(message, history, mode, top_k):
    """Like ChatApp.respond: a pending note, growing text, then the final messages."""
    yield [{"role": "assistant", "content": "", "metadata": {"title": "Searching…", "status": "pending"}}]
    yield [{"role": "assistant", "content": f'<div class="rag-answer">{message[:3]}</div>'}]
    yield answer_msgs(f"answer to {message}")


@pytest.fixture
def store(tmp_path):
    return ConversationStore(tmp_path / "data" / "conversations.sqlite")


@pytest.fixture
def panel(store):
    return ConversationsPanel(store)


def run_chat(panel, message, history, conv_id, request=ANN):
    steps = list(panel.saving(fake_respond)(message, history, "extractive", 5, conv_id, request))
    return steps


def test_a_turn_is_saved_when_final_and_reopens_with_its_panels(panel, store):
    cid = new_id()
    steps = run_chat(panel, "Who designed the pump?", [], cid)
    assert not any(isinstance(version, str) for _msgs, version in steps[:-1])  # skipped
    msgs, version = steps[-1]
    assert msgs == answer_msgs("answer to Who designed the pump?") and version.startswith(cid)
    conv = store.get("ann", cid)
    assert conv.title == "Who designed the pump?"
    assert conv.messages() == [{"role": "user", "content": "Who designed the pump?"},
                               *answer_msgs("answer to Who designed the pump?")]


def test_follow_ups_append_and_a_retry_replaces_the_last_turn(panel, store):
    cid = new_id()
    run_chat(panel, "first question", [], cid)
    history = store.get("ann", cid).messages()
    run_chat(panel, "second question", history, cid)
    assert [t["question"] for t in store.get("ann", cid).turns] == ["first question", "second question"]
    run_chat(panel, "second, retried", history, cid)  # history without the last turn
    assert [t["question"] for t in store.get("ann", cid).turns] == ["first question", "second, retried"]
    assert store.get("ann", cid).title == "first question"


def test_a_stopped_answer_is_kept_as_the_page_showed_it(panel, store):
    cid = new_id()
    chat = panel.saving(fake_respond)("stop me", [], None, None, cid, ANN)
    next(chat), next(chat)  # pending, then partial text
    chat.close()  # what Gradio does on the stop button
    turn = store.get("ann", cid).turns[0]
    assert turn["messages"] == [{"role": "assistant", "content": '<div class="rag-answer">sto</div>'}]


def test_api_calls_without_a_conversation_are_never_saved(panel, store):
    *_, (msgs, version) = run_chat(panel, "api question", [], None)
    assert version is None and msgs and store.list("ann") == []


def test_owners_never_see_or_touch_each_others_chats(panel, store):
    cid = new_id()
    run_chat(panel, "ann's secret", [], cid, ANN)
    assert [s.id for s in store.list("ann")] == [cid] and store.list("bob") == []
    assert store.get("bob", cid) is None
    assert not store.rename("bob", cid, "mine now") and not store.delete("bob", cid)
    *_, (_msgs, version) = run_chat(panel, "bob writes", [], cid, BOB)  # a stolen id
    assert version is None
    assert store.get("ann", cid).turns[0]["question"] == "ann's secret"
    conv_id, listed, _title, chat, _state, _ = panel.open(cid, BOB)
    assert chat == [] and conv_id != cid and listed["choices"] == []


def test_rename_delete_and_newest_first(panel, store):
    a, b = new_id(), new_id()
    run_chat(panel, "older chat", [], a)
    run_chat(panel, "newer chat", [], b)
    assert [s.id for s in store.list("ann")] == [b, a]
    listed, title, note = panel.rename(a, "  Pumps   and valves ", ANN)
    assert title["value"] == "Pumps and valves" and "Renamed" in note
    assert ("Pumps and valves", a) in listed["choices"]
    assert panel.ask_delete(a, ANN)[0]["visible"] is True
    *shown, confirm, note = panel.delete(a, ANN)
    assert shown[5] == shown[0] != a  # the new chat is the one the tab remembers
    assert confirm["visible"] is False and "Deleted" in note and store.get("ann", a) is None
    assert shown[3] == [] and shown[1]["choices"] == [("newer chat", b)]


def test_rename_and_delete_notes_show_the_title_as_typed_not_as_markdown(panel):
    a = new_id()
    run_chat(panel, "first chat", [], a)
    _, title, note = panel.rename(a, "Warheads **and** <b>Peskov</b>", ANN)
    assert title["value"] == "Warheads **and** <b>Peskov</b>"  # the box holds the plain title
    for text in (note, panel.ask_delete(a, ANN)[1], panel.delete(a, ANN)[-1]):
        assert "**" not in text and "<b>" not in text and "Peskov" in text


def test_start_reopens_the_tabs_chat_else_a_new_one(panel):
    conv_id, listed, title, chat, state, remembered = panel.start("", ANN)
    assert chat == state == [] and listed["value"] is None and len(conv_id) == 32
    assert remembered == conv_id  # kept by the tab, so a reload finds it
    run_chat(panel, "kept", [], conv_id)
    again, listed, title, chat, state, _ = panel.start(conv_id, ANN)
    assert again == conv_id and title["value"] == "kept" and chat[0]["content"] == "kept"
    assert listed["value"] == conv_id
    fresh, listed, _title, chat, _state, _ = panel.start("", ANN)  # a new tab
    assert fresh != conv_id and chat == [] and listed["choices"] == [("kept", conv_id)]
    other, _listed, _title, chat, _state, _ = panel.start(conv_id, BOB)  # not bob's
    assert other != conv_id and chat == []


def test_the_store_keeps_a_bounded_number_per_owner(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite", max_conversations=3)
    ids = [new_id() for _ in range(5)]
    for i, cid in enumerate(ids):
        store.save_turn("ann", cid, 0, {"question": f"q{i}", "messages": []})
    assert [s.id for s in store.list("ann")] == ids[:1:-1]


def test_helpers():
    assert title_of("  a\n b ") == "a b" and len(title_of("x" * 500)) == 60
    assert user_turns([{"role": "user"}, {"role": "assistant"}, {"role": "user"}]) == 2
    assert owner_of(None) == "" and owner_of(SimpleNamespace(username=None)) == ""
    assert owner_of(ANN) == "ann"
