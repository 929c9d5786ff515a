"""Uploads and start-up against a real `rag serve`: gradio_client, raw HTTP and the real page
(Debian's chromium via Playwright, the launch helpers of test_ui_browser.py).

- progress advances per file and per chunk step (gradio_client job status; in the page, one
  progress bar whose text changes);
- the same bytes under another name are reported and indexed once;
- a file just above our limit and one far above it both get our message (the page's JS for
  the one above the server's cap, our check for the other; raw HTTP gets a 413 with ours);
- delete asks for confirmation;
- start-up: the page is served while the models load (held by RAG_TEST_HOLD_LOADING), says
  "loading models…", answers "still loading", then answers once ready.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import SEED_FILE, SEEDS
from ui.loading import HOLD_ENV
from ui.uploads import human_size
from ui.testing import call_raw, run_rag, serve, upload_raw

gradio_client = pytest.importorskip("gradio_client")
from tests.integration.test_ui_browser import (  # noqa: E402  (fixtures and helpers reused)
    CHROMIUM,
    TIMEOUT_MS,
    answered,
    ask,
    browser,  # noqa: F401
    shot,
    sync_api,
)

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
LIMIT_MB = 0.2
LIMIT = int(LIMIT_MB * 1024 * 1024)
SHOWN_LIMIT = human_size(LIMIT)  # "205 KB"
CAP = 2 * LIMIT + 1024 * 1024  # UiConfig.hard_max_bytes
UPLOAD_TIMEOUT_S = 600  # ~50 chunks with their sentences on a loaded 2-core machine
PAGE_TIMEOUT_MS = UPLOAD_TIMEOUT_S * 1000


def long_text(tag: str, paragraphs: int = 160) -> bytes:
    """~50 chunks and ~160 sentences (several progress steps of rag.ingest.EMBED_STEP), well under LIMIT."""
    body = "\n\n".join(
        f"Log entry {i} of the {tag} trial. Engineer Ingrid Halvorsen inspected pump {tag}-{i} in "
        f"hall {i % 7} and noted a pressure of {10 + i % 30} bar, valve setting {i % 5}, "
        f"and a vibration reading of {i % 11} millimetres per second during shift {i % 3}."
        for i in range(paragraphs))
    return f"# {tag.title()} trial log\n\n{body}\n".encode()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("uploads")
    run_rag("--data-dir", str(base / "data"), "ingest", str(SEEDS), "--no-progress", cwd=base)
    return base / "data"


@pytest.fixture(scope="module")
def server(data):
    with serve(data, "--max-upload-mb", str(LIMIT_MB), "--max-files", "6", cwd=data.parent) as url:
        yield url


@pytest.fixture
def client(server):
    return gradio_client.Client(server, verbose=False, download_files=False)


def _write(tmp_path: Path, name: str, body: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(body)
    return str(path)


def _documents(url: str) -> list[dict]:
    return httpx.get(f"{url}v1/documents", timeout=60).json()["data"]


def test_progress_advances_per_chunk_step(client, tmp_path):
    job = client.submit([gradio_client.handle_file(_write(tmp_path, "alpha-log.txt", long_text("alpha")))],
                        api_name="/upload_documents")
    seen: list[tuple[float, str]] = []
    deadline = time.monotonic() + UPLOAD_TIMEOUT_S
    while not job.done() and time.monotonic() < deadline:
        for unit in job.status().progress_data or []:
            if unit.progress is not None and (unit.progress, unit.desc) not in seen:
                seen.append((unit.progress, unit.desc))
        time.sleep(0.05)
    _md, report, *_ = job.result(timeout=60)
    assert report["accepted"][0]["chunks"] >= 40, report  # with their sentences: > 2 * EMBED_STEP texts
    chunk_steps = [(p, d) for p, d in seen if "chunks" in (d or "")]
    assert len(chunk_steps) >= 2, seen  # moved within the file, not only at its start and end
    values = [p for p, _ in seen]
    assert values == sorted(values) and 0 < chunk_steps[0][0] < chunk_steps[-1][0] <= 1, seen


def test_same_bytes_under_another_name_are_reported_and_indexed_once(server, client, tmp_path):
    body = b"# Quarry report\nThe Okapi-3 quarry was reopened by Selma Virtanen in 2011.\n"
    before = len(_documents(server))
    _md, report, *_ = client.predict(
        [gradio_client.handle_file(_write(tmp_path, "quarry.md", body)),
         gradio_client.handle_file(_write(tmp_path, "quarry-copy.md", body))],
        api_name="/upload_documents")
    assert [a["name"] for a in report["accepted"]] == ["quarry.md"]
    assert report["duplicates"] == [{"name": "quarry-copy.md", "duplicate_of": "quarry.md"}]
    md, again, *_ = client.predict(
        [gradio_client.handle_file(_write(tmp_path, "renamed-quarry.md", body)),
         gradio_client.handle_file(_write(tmp_path, "renamed-seed.txt", SEED_FILE.read_bytes()))],
        api_name="/upload_documents")
    assert again["accepted"] == [], again
    dup_of = {d["name"]: d["duplicate_of"] for d in again["duplicates"]}
    assert dup_of["renamed-quarry.md"].endswith("uploads/quarry.md")
    assert dup_of["renamed-seed.txt"].endswith(SEED_FILE.name)  # indexed by `rag ingest`
    assert "Not indexed again" in md and "/tmp/" not in md
    docs = _documents(server)
    assert len(docs) == before + 1 and sum("quarry" in d["doc_id"] for d in docs) == 1


def test_a_file_far_above_the_cap_gets_our_message_over_raw_http(server):
    resp = httpx.post(f"{server}gradio_api/upload", timeout=120,
                      files=[("files", ("huge.txt", b"x" * (10 * CAP)))])
    assert resp.status_code == 413
    assert resp.text == f"too large: at most 6 files of {SHOWN_LIMIT} each per upload"
    fd = upload_raw(server, "just-above.txt", b"y" * (LIMIT + 1024))  # under the cap: our check
    event, (_md, report, *_) = call_raw(server, "upload_documents", [[fd]])
    assert event == "complete" and report["rejected"] == [{"name": "just-above.txt",
                                   "reason": f"too large (206 KB; limit {SHOWN_LIMIT})"}]


# --- the page --------------------------------------------------------------------------
@pytest.fixture
def page(browser, server):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    page.wait_for_selector("#rag-question textarea")
    page.get_by_role("tab", name="Documents").click()
    yield page
    page.close()


# every distinct progress text, and the most progress bars shown at once
WATCH_PROGRESS_JS = """
() => {
  window.__ragProgress = [];
  window.__ragBars = 0;
  new MutationObserver(() => {
    const bars = [...document.querySelectorAll('.progress-level')].filter((e) => e.offsetParent !== null);
    window.__ragBars = Math.max(window.__ragBars, bars.length);
    for (const bar of bars) {
      const text = bar.textContent.replace(/\\s+/g, ' ').trim();
      if (text && !window.__ragProgress.includes(text)) { window.__ragProgress.push(text); }
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


@needs_chromium
def test_page_upload_progress_once_sizes_duplicates_and_report(page):
    small = b"# Heron notes\nThe Heron-5 crane was serviced by Tomas Okafor in 2019.\n"
    files = [
        {"name": "beta-log.txt", "mimeType": "text/plain", "buffer": long_text("beta")},
        {"name": "heron.md", "mimeType": "text/markdown", "buffer": small},
        {"name": "heron-again.md", "mimeType": "text/markdown", "buffer": small},
        {"name": "just-above.txt", "mimeType": "text/plain", "buffer": b"z" * (LIMIT + 1024)},
        {"name": "far-above.txt", "mimeType": "text/plain", "buffer": b"w" * (CAP + 1024 * 1024)},
    ]
    page.locator("#rag-upload input[type=file]").set_input_files(files)
    toobig = page.locator("#rag-upload-toobig")
    sync_api.expect(toobig).to_contain_text(f"far-above.txt: too large (2.4 MB; limit {SHOWN_LIMIT})")
    sync_api.expect(page.locator("#rag-upload")).to_contain_text("just-above")  # shown as "just-above .txt"
    assert "far-above" not in page.locator("#rag-upload").inner_text()  # never sent
    assert page.locator(".toast-body").count() == 0  # no generic Gradio error
    page.evaluate(WATCH_PROGRESS_JS)
    page.locator("#rag-upload-btn").click()
    result = page.locator("#rag-upload-result")
    sync_api.expect(result).to_contain_text("Rejected 1 file(s)", timeout=PAGE_TIMEOUT_MS)
    text = result.inner_text()
    assert f"just-above.txt: too large (206 KB; limit {SHOWN_LIMIT})" in text
    assert "heron-again.md: same content as heron.md" in text
    assert "beta-log.txt: added" in text and "heron.md: added" in text
    # three sections, each its own list: the titles are not read as part of the list above
    assert result.locator("ul").count() == 3
    assert result.locator("li", has_text="Rejected").count() == 0
    steps = page.evaluate("window.__ragProgress")
    assert page.evaluate("window.__ragBars") == 1, steps  # one bar, not one per output
    assert len([s for s in steps if "chunks" in s]) >= 2, steps
    shot(page, "ui-upload-report.png")
    sync_api.expect(page.locator("#rag-docs")).to_contain_text("heron.md")
    assert "heron-again.md" not in page.locator("#rag-docs").inner_text()


@needs_chromium
def test_delete_asks_for_confirmation(page, client, tmp_path):
    body = b"# Ibis memo\nThe Ibis-2 boiler was tested by Ruth Mbeki in 2020.\n"
    client.predict([gradio_client.handle_file(_write(tmp_path, "ibis.md", body))],
                   api_name="/upload_documents")
    page.reload()
    page.get_by_role("tab", name="Documents").click()
    table = page.locator("#rag-docs")
    sync_api.expect(table).to_contain_text("ibis.md")
    table.get_by_text("ibis.md").first.click()
    sync_api.expect(page.locator("#rag-doc-select input")).to_have_value(re.compile("ibis.md"))
    asked: list[str] = []

    def answer(accept: bool):
        def on_dialog(dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return on_dialog

    page.once("dialog", answer(False))
    page.locator("#rag-delete-btn").click()
    sync_api.expect(page.locator("#rag-doc-note")).to_contain_text("Nothing deleted")
    assert re.search(r"Delete \S*uploads/ibis\.md from the index", asked[0]), asked
    sync_api.expect(table).to_contain_text("ibis.md")  # cancel kept it
    page.once("dialog", answer(True))  # asked again, and this time confirmed
    page.locator("#rag-delete-btn").click()
    sync_api.expect(page.locator("#rag-doc-note")).to_contain_text("Deleted")
    sync_api.expect(table).not_to_contain_text("ibis.md")
    assert len(asked) == 2


# --- start-up ----------------------------------------------------------------------------
@needs_chromium
def test_page_is_served_while_models_load_and_answers_once_ready(browser, data, tmp_path):  # noqa: F811
    hold = tmp_path / "release-loading"
    printed: list[str] = []
    with serve(data, cwd=data.parent, env={HOLD_ENV: str(hold)}, ready="Page served on ",
               output=printed) as url:
        health = httpx.get(f"{url}health", timeout=60).json()
        assert health["status"] == "loading" and health["documents"] is None
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        banner = page.locator("#rag-loading")
        sync_api.expect(banner).to_contain_text("Loading models")
        ask(page, "What does Stoltenberg say about China?")
        sync_api.expect(page.locator("#rag-chatbot .rag-notice").last).to_contain_text("Still loading")
        assert page.locator(".rag-error").count() == 0
        shot(page, "ui-still-loading.png")
        hold.touch()
        sync_api.expect(banner).to_be_hidden(timeout=PAGE_TIMEOUT_MS)
        assert httpx.get(f"{url}health", timeout=60).json()["status"] == "ok"
        ask(page, "What does Stoltenberg say about China?")
        answered(page, "details.rag-source")
        sync_api.expect(page.locator(".rag-answer").last).to_contain_text("China")
        page.close()
    lines = "".join(printed)
    assert lines.index("Listening on ") < lines.index("Page served on ") < lines.index("Web chat on ")
