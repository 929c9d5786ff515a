"""Generative mode in the web chat: model tokens stream, then the verified answer replaces them.

A tiny OpenAI-compatible server on loopback answers by quoting the prompt's source [1].
"""

from __future__ import annotations

import pytest

from tests.conftest import SEEDS
from tests.fakes import FakeLLM, serving
from ui.testing import run_rag, serve

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def llm_url():
    with serving(FakeLLM(word_delay=0.01)) as fake:  # quotes the prompt's source [1]
        yield fake.base_url


@pytest.fixture(scope="module")
def client(tmp_path_factory, llm_url):
    base = tmp_path_factory.mktemp("gen")
    data = base / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=base)
    env = {"RAG_LLM_BASE_URL": llm_url, "RAG_LLM_MODEL": "fake", "RAG_LLM_TIMEOUT": "10"}
    with serve(data, cwd=base, env=env) as url:
        yield gradio_client.Client(url, verbose=False, download_files=False)


def test_generative_mode_is_offered(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/chat"]
    mode = next(p for p in api["parameters"] if p["parameter_name"] == "mode")
    assert mode["parameter_default"] == "generative"
    assert set(mode["python_type"]["type"].split("'")[1::2]) == {"extractive", "generative"}


def test_tokens_stream_then_the_verified_answer(client):
    job = client.submit("What does Stoltenberg say about China?", "generative", 5, api_name="/chat")
    answer, how = job.result(timeout=120)
    provisional = [s[0]["content"] for s in job.outputs() if "rag-provisional" in str(s)]
    assert len(provisional) >= 3  # model output shown while it arrives
    assert "rag-provisional" not in answer["content"] and 'class="rag-cite"' in answer["content"]
    assert "<mark>" in answer["content"]
    assert "**Mode:** generative" in how["content"] and "Generated sentences" in how["content"]
    assert "**LLM:**" in how["content"]


# records, in order, whether the newest answer was provisional or final, as the DOM changes
WATCH_JS = """
() => {
  window.__ragPhases = [];
  new MutationObserver(() => {
    const html = document.querySelector('#rag-chatbot').innerHTML;
    const phase = html.includes('rag-provisional-answer') ? 'provisional'
      : (html.includes('rag-source') ? 'final' : null);
    const all = window.__ragPhases;
    if (phase && all[all.length - 1] !== phase) { all.push(phase); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def test_browser_shows_the_quoted_answer_first_then_the_verified_one(tmp_path_factory, llm_url):
    import shutil
    from pathlib import Path

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("chromium is not installed")
    base = tmp_path_factory.mktemp("genb")
    run_rag("--data-dir", str(base / "data"), "ingest", str(SEEDS), "--no-progress", cwd=base)
    env = {"RAG_LLM_BASE_URL": llm_url, "RAG_LLM_MODEL": "fake", "RAG_LLM_TIMEOUT": "10"}
    with serve(base / "data", cwd=base, env=env) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(url, timeout=60_000)
            page.wait_for_selector("#rag-question textarea", timeout=60_000)
            page.evaluate(WATCH_JS)
            box = page.locator("#rag-question textarea")
            box.fill("Who criticized Stoltenberg's remarks about warheads?")
            box.press("Enter")
            answer = page.locator("#rag-chatbot .rag-answer").last
            sync_api.expect(page.locator("#rag-chatbot .rag-source").first).to_be_attached(timeout=60_000)
            sync_api.expect(page.locator("#rag-question button.stop-button")).to_have_count(0, timeout=60_000)
            sync_api.expect(answer).to_contain_text("Peskov", timeout=30_000)
            sync_api.expect(page.locator("#rag-chatbot .rag-provisional-answer")).to_have_count(0, timeout=30_000)
            assert page.evaluate("window.__ragPhases") == ["provisional", "final"]
        finally:
            browser.close()
