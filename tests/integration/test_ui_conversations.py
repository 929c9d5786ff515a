"""Kept conversations, clean copy and the Evaluation tab in a real browser (Debian's chromium).

One real `rag serve` over the seeds, after a real `rag eval --dataset seed` on the same data
dir. Screenshots (desktop 1400x900) land in test-artifacts/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.integration.test_ui_browser import (  # the module-scoped browser fixture is reused
    CHROMIUM, TIMEOUT_MS, answered, ask, browser, shot)  # noqa: F401
from ui.testing import run_rag, serve

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
expect.set_options(timeout=TIMEOUT_MS)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")

Q_CHINA = "What does Stoltenberg say about China?"
Q_TECH = "Which technologies is China providing to Russia?"
DESKTOP = {"width": 1400, "height": 900}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("conv")
    data = base / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=base)
    run_rag("--data-dir", str(data), "eval", "--dataset", "seed", "--no-baseline", "--no-progress",
            cwd=base, timeout=600)
    with serve(data, cwd=base) as url:
        yield url, data


@pytest.fixture
def page(browser, server):
    url, _data = server
    context = browser.new_context(viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.outside = []  # requests that left this machine: must stay empty
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else page.outside.append(r.url))
    open_page(page, url)
    yield page
    context.close()


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    expect(page.locator("#rag-chats.rag-chats-ready")).to_be_visible()  # this tab's chat shown


def reload(page) -> None:
    page.reload()
    expect(page.locator("#rag-chats.rag-chats-ready")).to_be_visible()


def chat_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("#rag-chats label").all_inner_texts()]


def new_chat(page) -> None:
    page.locator("#rag-new-chat").click()
    expect(page.locator("#rag-chatbot .rag-answer, #rag-chatbot .rag-refusal")).to_have_count(0)
    expect(page.locator("#rag-chats input:checked")).to_have_count(0)


def ask_and_wait(page, question: str) -> None:
    """Ask in a new chat; wait for the cited answer and for the chat to be listed."""
    same = page.locator("#rag-chats label", has_text=question[:30])
    before = same.count()
    ask(page, question)
    answered(page, "#rag-chatbot details.rag-source")
    expect(same).to_have_count(before + 1)  # listed once its turn is saved
    expect(page.locator("#rag-chats label:has(input:checked)")).to_contain_text(question[:30])


def test_a_conversation_survives_a_reload_and_chats_can_be_switched(page, server):
    url, _ = server
    new_chat(page)
    ask_and_wait(page, Q_CHINA)
    first_answer = page.locator("#rag-chatbot .rag-answer").last.inner_text()
    assert "China" in first_answer

    reload(page)
    answer = page.locator("#rag-chatbot .rag-answer")
    expect(answer).to_have_count(1)
    assert answer.inner_text() == first_answer  # the same answer, reopened
    expect(page.locator("#rag-chatbot details.rag-source").first).to_be_attached()
    expect(page.locator("#rag-chats input:checked")).to_have_count(1)  # this chat selected
    assert Q_CHINA in page.locator("#rag-chatbot").inner_text()  # the question too

    new_chat(page)
    ask_and_wait(page, Q_TECH)
    assert any(t.startswith(Q_TECH[:30]) for t in chat_titles(page))
    assert chat_titles(page).index(next(t for t in chat_titles(page) if t.startswith(Q_TECH[:30]))) == 0

    page.locator("#rag-chats label", has_text=Q_CHINA[:30]).first.click()  # back to the first
    expect(page.locator("#rag-chatbot .rag-answer")).to_have_text(first_answer)
    assert Q_TECH not in page.locator("#rag-chatbot").inner_text()
    cite = page.locator("#rag-chatbot .rag-answer a.rag-cite").first
    cite.click()  # its sources still open at the cited span
    opened = page.locator("#rag-chatbot details.rag-source[open]")
    expect(opened).to_have_count(1)
    assert opened.locator("mark").inner_text().strip()
    page.get_by_text("How this was answered").first.click()
    expect(page.get_by_text("Timings:").first).to_be_visible()
    shot(page, "ui-conversations.png")

    # a follow-up in the reopened chat lands in it, not in a new one
    n = len(chat_titles(page))
    ask(page, "And what about sanctions?")
    expect(page.locator("#rag-chatbot .rag-answer, #rag-chatbot .rag-refusal")).to_have_count(2)
    expect(page.locator("#rag-question button.stop-button")).to_have_count(0)
    reload(page)
    expect(page.locator("#rag-chatbot .rag-answer, #rag-chatbot .rag-refusal")).to_have_count(2)
    assert len(chat_titles(page)) == n
    assert page.outside == []


def test_rename_and_delete_a_chat(page, server):
    url, _ = server
    new_chat(page)
    question = "Who criticized Stoltenberg's remarks about warheads?"
    ask_and_wait(page, question)
    page.locator("#rag-chat-manage").get_by_text("Rename or delete this chat").click()
    title = page.locator("#rag-chat-title textarea, #rag-chat-title input").first
    expect(title).to_be_editable()
    # The box mounts when the accordion opens and is given the chat's title a moment later;
    # text typed before that is overwritten (seen 1 in 40 on Gradio 6.31): wait, as a user would,
    # until the box shows the current title, then type.
    expect(title).to_have_value(question)
    title.fill("Warheads <b>and</b> Peskov")
    expect(title).to_have_value("Warheads <b>and</b> Peskov")
    page.locator("#rag-chat-rename").click()
    expect(page.locator("#rag-chat-note")).to_contain_text("Renamed to")
    expect(page.locator("#rag-chats label", has_text="Warheads <b>and</b> Peskov")).to_have_count(1)
    expect(page.locator("#rag-chats b")).to_have_count(0)  # a title is text, not markup

    reload(page)  # the new name is kept
    expect(page.locator("#rag-chats label", has_text="Warheads <b>and</b> Peskov")).to_have_count(1)
    expect(page.locator("#rag-chats input:checked")).to_have_count(1)

    page.locator("#rag-chat-manage").get_by_text("Rename or delete this chat").click()
    page.locator("#rag-chat-delete").click()
    expect(page.locator("#rag-chat-confirm")).to_be_visible()  # asked first
    expect(page.locator("#rag-chat-note")).to_contain_text("for good")
    page.locator("#rag-chat-delete-no").click()
    expect(page.locator("#rag-chat-confirm")).to_be_hidden()
    expect(page.locator("#rag-chats label", has_text="Warheads")).to_have_count(1)
    page.locator("#rag-chat-delete").click()
    page.locator("#rag-chat-delete-yes").click()
    expect(page.locator("#rag-chats label", has_text="Warheads")).to_have_count(0)
    expect(page.locator("#rag-chatbot .rag-answer")).to_have_count(0)  # a new, empty chat
    reload(page)
    expect(page.locator("#rag-chats label", has_text="Warheads")).to_have_count(0)
    assert page.outside == []


def test_copy_gives_the_answer_and_its_sources_as_text(page):
    new_chat(page)
    ask_and_wait(page, Q_CHINA)
    row = page.locator("#rag-chatbot .message-row:has(.rag-answer)").last
    buttons = row.locator("xpath=following-sibling::div[contains(@class, 'message-buttons')][1]")
    buttons.get_by_role("button", name="Copy message").click()
    expect(buttons.get_by_role("button", name=re.compile("copied", re.I))).to_have_count(1)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "<" not in copied and "rag-" not in copied and "&#" not in copied, copied
    text, _, sources = copied.partition("\n\nSources:\n")
    assert "China" in text and re.search(r"\[1\]", text), copied
    lines = sources.splitlines()
    assert len(lines) >= 2 and all(re.match(r"\[\d+\] .+: “.+”$", line) for line in lines), copied
    assert "How this was answered" not in copied and "Timings" not in copied
    # the answer's accessible name is its text, not its markup
    labels = page.evaluate("""() => [...document.querySelectorAll('#rag-chatbot [aria-label]')]
        .map(e => e.getAttribute('aria-label')).filter(l => l.includes("'s message: "))""")
    assert labels and all("<" not in label and "&#" not in label and "**" not in label
                          for label in labels), labels
    assert any(label.startswith("bot's message: ") and "China" in label for label in labels)
    assert any(label.startswith("bot's message: How this was answered") for label in labels)


def test_a_refusal_says_it_once_and_copies_as_that_sentence(page):
    new_chat(page)
    ask(page, "What is the boiling point of mercury?")
    answered(page, "#rag-chatbot .rag-refusal")
    refusal = page.locator("#rag-chatbot .rag-refusal").inner_text()
    assert refusal.count("find that") == 1 and "Not found in your documents" not in refusal
    assert refusal.startswith("I can't find that in the documents.")


def test_the_evaluation_tab_shows_the_last_report_with_its_plots(page, server):
    _url, data = server
    report = json.loads((data / "evals" / "seed" / "report.json").read_text())
    hit1 = report["configs"][0]["metrics"]["retrieval"]["hit@1"]
    page.get_by_role("tab", name="Evaluation").click()
    shown = page.locator("#rag-eval-report")
    expect(shown.locator("table.rag-eval-table").first).to_be_visible()
    expect(shown).to_contain_text("Evaluation: seed")
    row = shown.locator("tr", has=page.locator("td", has_text=re.compile(r"^hit@1$")))
    expect(row).to_contain_text(f"{hit1:.3f}")
    expect(shown).to_contain_text("ours/hybrid/k5/extractive")
    images = shown.locator("img")
    expect(images).to_have_count(3)
    page.wait_for_function("""() => [...document.querySelectorAll('#rag-eval-report img')]
        .every(i => i.complete && i.naturalWidth > 100)""")
    assert all(src.startswith("data:image/png;base64,")
               for src in images.evaluate_all("els => els.map(e => e.getAttribute('src'))"))
    assert "/tmp/" not in shown.inner_text()
    shot(page, "ui-evaluation.png")
    images.last.scroll_into_view_if_needed()
    shot(page, "ui-evaluation-plots.png")
    assert page.outside == []


def test_a_new_tab_starts_a_new_chat_and_the_bin_keeps_the_old_one(page, browser, server):
    url, _ = server
    new_chat(page)
    ask_and_wait(page, Q_TECH)
    context = browser.new_context(viewport=DESKTOP)
    try:
        other = context.new_page()
        other.set_default_timeout(TIMEOUT_MS)
        open_page(other, url)
        expect(other.locator("#rag-chatbot .rag-answer")).to_have_count(0)  # a new chat...
        expect(other.locator("#rag-chats input:checked")).to_have_count(0)
        assert any(t.startswith(Q_TECH[:30]) for t in chat_titles(other))  # ...earlier ones listed
    finally:
        context.close()
    listed = len(chat_titles(page))
    page.locator("#rag-chatbot").get_by_role("button", name="Clear").click()
    expect(page.locator("#rag-chatbot .rag-answer")).to_have_count(0)
    expect(page.locator("#rag-chats input:checked")).to_have_count(0)
    assert len(chat_titles(page)) == listed  # cleared from view, not deleted


def test_with_a_login_chats_are_kept_under_that_login(browser, tmp_path):
    from ui.conversations import ConversationStore

    data = tmp_path / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=tmp_path)
    with serve(data, "--auth", "ann:s3cret", cwd=tmp_path) as url:
        context = browser.new_context(viewport=DESKTOP)
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            page.get_by_label(re.compile("username", re.I)).fill("ann")
            page.get_by_label(re.compile("password", re.I)).fill("s3cret")
            page.get_by_role("button", name=re.compile("login", re.I)).click()
            page.wait_for_selector("#rag-question textarea")
            expect(page.locator("#rag-chats.rag-chats-ready")).to_be_visible()
            ask_and_wait(page, Q_CHINA)
        finally:
            context.close()
    store = ConversationStore.in_data_dir(data)
    assert [s.title for s in store.list("ann")] == [Q_CHINA]
    assert store.list("") == []  # not the no-login owner's, nor anyone else's
