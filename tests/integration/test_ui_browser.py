"""The chat page in a real headless browser (Debian's chromium driven by Playwright).

Screenshots land in test-artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS
from ui.testing import run_rag, serve

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT_MS = 90_000  # a first ingest on a loaded 2-core machine takes tens of seconds
# `expect` has its own 5 s default that page.set_default_timeout does not change (CI flake)
sync_api.expect.set_options(timeout=TIMEOUT_MS)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")

# records every distinct text of the newest answer bubble while it streams
WATCH_JS = """
() => {
  window.__ragTexts = [];
  const seen = new Set();
  new MutationObserver(() => {
    const all = document.querySelectorAll('.rag-answer');
    const last = all[all.length - 1];
    if (last && !seen.has(last.textContent)) {
      seen.add(last.textContent);
      window.__ragTexts.push(last.textContent);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    data = base / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=base)
    with serve(data, "--max-upload-mb", "0.05", "--max-files", "5", cwd=base) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.outside = []  # requests that left this machine: must stay empty (offline, no CDN)
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else page.outside.append(r.url))
    page.goto(server)
    page.wait_for_selector("#rag-question textarea")
    yield page
    page.close()


def ask(page, question: str) -> None:
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")


def answered(page, selector: str) -> None:
    """Wait for selector, then for the generation to end (the stop button gives way)."""
    page.wait_for_selector(selector)
    sync_api.expect(page.locator("#rag-question button.stop-button")).to_have_count(0)


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.wait_for_timeout(1000)  # let expand/scroll animations finish painting
    page.screenshot(path=str(path))
    return path


def test_chat_streams_a_cited_answer_and_opens_a_source(page):
    page.evaluate(WATCH_JS)
    ask(page, "What does Stoltenberg say about China?")
    answered(page, "details.rag-source")
    texts = page.evaluate("window.__ragTexts")
    assert len(texts) >= 3, texts  # seen growing, not only at the end
    assert all(b.startswith(a.rstrip()) for a, b in zip(texts, texts[1:]))
    cites = page.locator(".rag-answer a.rag-cite")
    assert cites.count() >= 2
    cites.nth(1).click()
    opened = page.locator("details.rag-source[open]")
    sync_api.expect(opened).to_have_count(1)
    assert opened.locator("summary").inner_text().startswith("[2]")
    assert "China" in opened.locator("mark").inner_text()
    assert "score" in opened.locator("summary").inner_text()
    assert shot(page, "ui-chat.png").stat().st_size > 10_000
    ask(page, "And what about sanctions?")  # a follow-up in the same conversation
    sync_api.expect(page.locator(".rag-answer, .rag-refusal")).to_have_count(2)
    assert page.outside == []


def test_refusal_is_said_once_with_how_it_was_answered(page):
    ask(page, "What is the boiling point of mercury?")
    answered(page, ".rag-refusal")
    refusal = page.locator(".rag-refusal")
    sync_api.expect(refusal).to_contain_text("I can't find that in the documents.")
    assert "Not found in your documents" not in refusal.inner_text()  # said once
    assert page.locator(".rag-error").count() == 0
    page.get_by_text("How this was answered").first.click()
    sync_api.expect(page.get_by_text("Timings:")).to_be_visible()
    shot(page, "ui-refusal.png")


def test_upload_reports_each_file_then_answers_from_it(page):
    page.get_by_role("tab", name="Documents").click()
    files = [
        {"name": "zephyr.md", "mimeType": "text/markdown",
         "buffer": b"# Zephyr-9\nThe Zephyr-9 pump was designed by Ingrid Halvorsen in 1987.\n"},
        {"name": "big.txt", "mimeType": "text/plain", "buffer": b"word " * 12_000},
        {"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"},
        {"name": "empty.txt", "mimeType": "text/plain", "buffer": b""},
        {"name": "../../etc/passwd", "mimeType": "text/plain", "buffer": b"root:x:0:0\n"},
    ]
    page.locator("#rag-upload input[type=file]").set_input_files(files)
    sync_api.expect(page.locator("#rag-upload")).to_contain_text("passwd")  # all 5 uploaded
    page.locator("#rag-upload-btn").click()
    result = page.locator("#rag-upload-result")
    sync_api.expect(result).to_contain_text("Rejected 4 file(s)")
    text = result.inner_text()
    assert "big.txt: too large" in text and "tool.exe: unsupported type .exe" in text
    assert "empty.txt: empty file" in text and "passwd: unsupported type" in text
    sync_api.expect(page.locator("#rag-docs")).to_contain_text("zephyr.md")
    shot(page, "ui-documents.png")
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Who designed the Zephyr-9 pump?")
    sync_api.expect(page.locator(".rag-answer").last).to_contain_text("Ingrid Halvorsen")
    answered(page, "details.rag-source")
    assert "zephyr.md" in page.locator("details.rag-source summary").last.inner_text()
    assert page.outside == []


HOSTILE_DOC = (
    "# Quillon-4 [home](http://203.0.113.9/title)\n"
    "The Quillon-4 valve was designed by Marta Oyelaran in 1991. "
    "![t](http://203.0.113.9/leak.png) [click me](javascript:alert(1)) "
    "<script>window.__pwned = 1</script> <img src=http://203.0.113.9/img.png> "
    "See www.example.org or http://203.0.113.9/page.\n"
).encode()


def test_hostile_document_text_and_names_stay_text_and_nothing_leaves_loopback(page):
    page.get_by_role("tab", name="Documents").click()
    files = [
        {"name": "quillon.md", "mimeType": "text/markdown", "buffer": HOSTILE_DOC},
        {"name": "[x](http:__203.0.113.9_n).exe", "mimeType": "text/plain", "buffer": b"x"},
        {"name": "![i](leak.png).exe", "mimeType": "text/plain", "buffer": b"x"},
    ]
    page.locator("#rag-upload input[type=file]").set_input_files(files)
    page.locator("#rag-upload-btn").click()
    result = page.locator("#rag-upload-result")
    sync_api.expect(result).to_contain_text("Rejected 2 file(s)")
    text = result.inner_text()  # the names are shown as text, not as a link or an image
    assert "[x](http" in text and "[i](leak.png).exe" in text  # Gradio drops ":" and "!"
    sync_api.expect(page.locator("#rag-docs")).to_contain_text("quillon.md")
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Who designed the Quillon-4 valve?")
    sync_api.expect(page.locator(".rag-answer").last).to_contain_text("Marta Oyelaran")
    answered(page, "details.rag-source")
    page.locator("details.rag-source summary").last.click()
    page.get_by_text("How this was answered").last.click()
    sync_api.expect(page.get_by_text("Timings:").last).to_be_visible()
    sync_api.expect(page.locator("details.rag-source[open] mark")).to_contain_text("Oyelaran")
    shot(page, "ui-hostile.png")
    outside_imgs = page.evaluate("""() => [...document.querySelectorAll('img')]
        .map(i => i.getAttribute('src') || '').filter(s => /^(https?:)?\\/\\//.test(s)
        && !s.startsWith('http://127.0.0.1'))""")
    bad_links = page.evaluate("""() => [...document.querySelectorAll('a[href]')]
        .map(a => a.getAttribute('href')).filter(h => /^\\s*javascript:|203\\.0\\.113|example\\.org/i.test(h))""")
    assert outside_imgs == [] and bad_links == []
    assert page.evaluate("window.__pwned === undefined")
    body = page.locator("body").inner_text()
    # the Markdown loader reads the image as its alt text; the javascript: link it leaves as
    # markup must be shown as that text, not as a link
    assert "[click me](javascript:alert(1))" in body and "leak.png" not in body
    assert "/tmp/" not in body and str(ROOT) not in body  # no absolute server path
    page.get_by_role("tab", name="Documents").click()
    sync_api.expect(page.locator("#rag-docs")).to_contain_text("uploads/quillon.md")
    assert "/tmp/" not in page.locator("#rag-docs").inner_text()
    assert page.outside == []
