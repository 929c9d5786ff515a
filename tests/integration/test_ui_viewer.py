"""The document viewer, the phone layout and axe-core, in a real headless chromium.

A real `rag serve` over the seed article, a Markdown manual with sections and a browser-printed
PDF: citation → the whole document at the exact span (also on a PDF page), distinct labels for
two citations of one document, the Settings sidebar closed on a phone, no horizontal scroll,
axe-core (axe-playwright-python's bundled axe.min.js, no CDN) with no serious or critical
violation on each view. Screenshots in test-artifacts/ (desktop 1400x900, phone 390x844).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.integration.test_real_documents import FILLER, PAGE, _print_pdf
from tests.integration.test_ui_browser import (  # the module-scoped browser fixture is reused
    CHROMIUM, TIMEOUT_MS, answered, ask, browser, shot)  # noqa: F401
from ui.testing import run_rag, serve

sync_api = pytest.importorskip("playwright.sync_api")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")
sync_api.expect.set_options(timeout=TIMEOUT_MS)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
MANUAL = """# Zephyr-9 pump manual

## Installation

Mount the Zephyr-9 pump on a level concrete base. Connect the inlet before the outlet.

## Safety

- Never run the Zephyr-9 pump dry.
- The Zephyr-9 pump must be stopped before the seal is replaced.

## Maintenance

The Zephyr-9 pump seal must be replaced every 4000 hours of operation.
"""
SEED = next(SEEDS.glob("*.txt"))


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    base = tmp_path_factory.mktemp("viewer")
    folder = base / "docs"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    (folder / "zephyr.md").write_text(MANUAL)
    html = base / "incident.html"
    html.write_text(PAGE.format(filler=FILLER))
    _print_pdf(html, folder / "incident.pdf", header_footer=True)
    return base


@pytest.fixture(scope="module")
def server(docs):
    data = docs / "data"
    run_rag("--data-dir", str(data), "ingest", str(docs / "docs"), "--no-progress", cwd=docs)
    with serve(data, cwd=docs) as url:
        yield url


def _open(browser, url: str, viewport: dict, **options):
    page = browser.new_page(viewport=viewport, **options)
    page.set_default_timeout(TIMEOUT_MS)
    page.outside = []
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
            else page.outside.append(r.url))
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    return page


@pytest.fixture
def desktop(browser, server):
    page = _open(browser, server, DESKTOP)
    yield page
    page.close()


@pytest.fixture
def phone(browser, server):
    page = _open(browser, server, PHONE)
    yield page
    page.close()


SETTLE_JS = """([quietMs, maxMs]) => new Promise(resolve => {
    let timer;
    const done = quiet => { observer.disconnect(); clearTimeout(cap); resolve(quiet); };
    const observer = new MutationObserver(() => {
        clearTimeout(timer); timer = setTimeout(() => done(true), quietMs); });
    observer.observe(document.body, {subtree: true, childList: true, attributes: true,
                                     characterData: true});
    timer = setTimeout(() => done(true), quietMs);
    const cap = setTimeout(() => done(false), maxMs);
})"""


def settle(page, quiet_ms: int = 750, max_ms: int = 30_000) -> bool:
    """Wait until the page's DOM has not changed for quiet_ms (at most max_ms): under load
    Gradio renders in steps, and axe once caught its examples list half-built."""
    return page.evaluate(SETTLE_JS, [quiet_ms, max_ms])


def axe_clean(page, view: str) -> None:
    """No serious or critical axe-core violation on the page once it has settled."""
    settle(page)
    results = axe_sync.Axe().run(page)
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]])
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{view}: {bad}"


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width


def _span(source) -> tuple[int, int]:
    """The citation's characters a–b as the source block shows them."""
    m = re.search(r"characters (\d+)–(\d+)", source.locator(".rag-meta").last.text_content())
    assert m, source.inner_text()
    return int(m.group(1)), int(m.group(2))


def open_viewer(page, source):
    """Open source (a details.rag-source) in the viewer dialog; the viewer's frame."""
    if source.get_attribute("open") is None:
        source.locator("summary").click()
    source.locator("a.rag-view").click()
    sync_api.expect(page.locator("dialog#rag-viewer")).to_be_visible()
    frame = page.frame_locator("dialog#rag-viewer iframe")
    sync_api.expect(frame.locator("mark#rag-hit")).to_be_visible()
    return frame


def hit_in_view(frame) -> bool:
    """The viewer scrolled the hit into view (waits: the fragment scroll follows the load)."""
    sync_api.expect(frame.locator("mark#rag-hit")).to_be_in_viewport()
    return frame.locator("mark#rag-hit").evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; }")


def test_citation_opens_the_whole_document_at_the_exact_span(desktop, server):
    from rag.loaders import load_file

    page = desktop
    ask(page, "Who criticized Stoltenberg's remarks about warheads?")
    answered(page, "details.rag-source")
    axe_clean(page, "answer with sources")
    source = page.locator("details.rag-source").first
    start, end = _span(source)
    frame = open_viewer(page, source)
    text = load_file(SEED).text
    # the viewer's mark is exactly the cited span of the loader's text, the one the offsets use
    assert frame.locator("mark#rag-hit").evaluate("e => e.textContent") == text[start:end]
    assert "Peskov" in text[start:end]
    assert frame.locator("main").evaluate("e => e.textContent").replace("\n", " ").count(" ") > 300
    sync_api.expect(frame.locator("h1")).to_contain_text("China Should Bear the Cost")
    assert "/tmp/" not in frame.locator("body").inner_text()  # no absolute server path
    assert hit_in_view(frame)
    shot(page, "ui-viewer-desktop.png")
    axe_clean(page, "viewer dialog")
    page.keyboard.press("Escape")
    sync_api.expect(page.locator("dialog#rag-viewer")).to_be_hidden()
    sync_api.expect(source.locator("a.rag-view")).to_be_focused()  # focus goes back
    href = source.locator("a.rag-view").get_attribute("href")
    viewer = page.context.browser.new_page()  # the viewer page on its own (a tab, no JS)
    viewer.goto(server + href)
    sync_api.expect(viewer.locator("mark#rag-hit")).to_have_text(text[start:end].strip())
    axe_clean(viewer, "viewer page")
    viewer.close()
    assert page.outside == []


def test_pdf_citation_opens_at_its_page(desktop, docs):
    from rag.loaders import load_file

    page = desktop
    ask(page, "What caused the outage?")
    answered(page, "details.rag-source")
    source = page.locator("details.rag-source", has_text="p. ").first
    summary = source.locator("summary").inner_text()
    n = int(re.search(r"p\. (\d+)", summary).group(1))
    assert n >= 2, summary  # the cause is past the filler: not on the first page
    assert "Root cause" in summary  # labelled by section and page
    start, end = _span(source)
    frame = open_viewer(page, source)
    text = load_file(docs / "docs" / "incident.pdf").text
    assert frame.locator("mark#rag-hit").evaluate("e => e.textContent") == text[start:end]
    assert "connection pool limit" in text[start:end]
    sync_api.expect(frame.locator(".rag-v-meta")).to_contain_text(f"cited passage on page {n} of")
    heading = frame.locator("mark#rag-hit").evaluate(
        "e => { const hs = [...document.querySelectorAll('h2.rag-v-page')].filter("
        "h => h.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING); "
        "return hs.length ? hs[hs.length - 1].textContent : ''; }")
    assert heading == f"Page {n}"  # the page label right before the hit names its page
    assert hit_in_view(frame)
    shot(page, "ui-viewer-pdf-desktop.png")


def test_two_citations_of_one_document_are_labelled_distinctly(desktop):
    page = desktop
    ask(page, "What does Stoltenberg say about China?")
    answered(page, "details.rag-source")
    summaries = [s.inner_text() for s in page.locator("details.rag-source summary").all()]
    labels = [re.sub(r"\s*\S+ · score [\d.]+$", "", s.split("] ", 1)[1]) for s in summaries]
    assert len(labels) >= 2 and len(set(labels)) == len(labels), labels
    assert all("China Should Bear the Cost" in x for x in labels)  # one document, told apart
    hrefs = [a.get_attribute("href") for a in page.locator("details.rag-source a.rag-view").all()]
    assert len(set(hrefs)) == len(hrefs)


def test_markdown_document_is_rendered_with_its_structure(desktop):
    page = desktop
    ask(page, "How often must the Zephyr-9 pump seal be replaced?")
    answered(page, "details.rag-source")
    source = page.locator("details.rag-source", has_text="Maintenance").first
    frame = open_viewer(page, source)
    sync_api.expect(frame.locator("h3", has_text="Installation")).to_be_visible()
    sync_api.expect(frame.locator("li")).to_have_count(2)
    sync_api.expect(frame.locator("mark#rag-hit")).to_contain_text("4000 hours")
    assert frame.locator("script, img, a[href^='http']").count() == 0
    axe_clean(page, "markdown viewer")


def test_phone_layout_sidebar_closed_no_horizontal_scroll_and_accessible(phone):
    page = phone
    sync_api.expect(page.locator("html[data-rag-sidebar='closed']")).to_have_count(1)
    sync_api.expect(page.locator(".sidebar.open")).to_have_count(0)
    toggle = page.get_by_role("button", name="Settings", exact=True)
    sync_api.expect(toggle).to_be_visible()
    # the sidebar slides shut after load (a CSS transition): measure once the button has settled
    page.wait_for_function(
        """() => { const b = document.querySelector('.sidebar .toggle-button');
                   if (!b) { return false; }
                   const r = b.getBoundingClientRect(), prev = window.__ragToggleRect;
                   window.__ragToggleRect = [r.x, r.y, r.width, r.height].join();
                   return prev === window.__ragToggleRect; }""", polling=250, timeout=TIMEOUT_MS)
    box = toggle.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    sync_api.expect(page.get_by_role("tab", name="Chat")).to_be_visible()
    chat_tab = page.get_by_role("tab", name="Chat").bounding_box()
    assert chat_tab["y"] >= box["y"] + box["height"] - 1  # the button covers no tab
    footer = page.locator("footer .show-api")
    sync_api.expect(footer).to_be_visible()
    assert footer.inner_text().strip() == "Use via API"
    no_horizontal_scroll(page)
    shot(page, "ui-phone-chat.png")
    axe_clean(page, "phone chat")
    toggle.click()
    sync_api.expect(page.locator(".sidebar.open")).to_have_count(1)
    sync_api.expect(page.locator("#rag-top-k")).to_be_in_viewport()
    page.get_by_role("button", name="Close settings").click()
    sync_api.expect(page.locator(".sidebar.open")).to_have_count(0)

    ask(page, "What does Stoltenberg say about China?")
    answered(page, "details.rag-source")
    page.locator("details.rag-source summary").first.click()
    no_horizontal_scroll(page)
    shot(page, "ui-phone-answer.png")
    axe_clean(page, "phone answer")
    frame = open_viewer(page, page.locator("details.rag-source").first)
    assert hit_in_view(frame)
    no_horizontal_scroll(page)
    shot(page, "ui-phone-viewer.png")
    axe_clean(page, "phone viewer")
    page.get_by_role("button", name="Close", exact=True).click()
    alone = page.context.browser.new_page(viewport=PHONE)  # the viewer page itself on a phone
    alone.goto(page.url.split("?")[0] + page.locator("a.rag-view").first.get_attribute("href"))
    sync_api.expect(alone.locator("mark#rag-hit")).to_be_visible()
    no_horizontal_scroll(alone)
    axe_clean(alone, "phone viewer page")
    alone.close()

    page.get_by_role("tab", name="Documents").click()
    sync_api.expect(page.locator("#rag-docs")).to_contain_text("zephyr.md")
    heights = page.locator("#rag-docs th .header").evaluate_all(
        "hs => hs.map(h => h.getBoundingClientRect().height / parseFloat(getComputedStyle(h).lineHeight || 20))")
    assert heights and max(heights) < 1.6, heights  # each header on one line
    no_horizontal_scroll(page)
    shot(page, "ui-phone-documents.png")
    axe_clean(page, "phone documents")
    assert page.outside == []


def test_desktop_chat_and_documents_are_accessible(desktop):
    page = desktop
    sync_api.expect(page.locator(".sidebar.open")).to_have_count(1)  # desktop: open as before
    # a page opened while the models still loaded shows the loading notice until its timer
    # hides it (under load axe once found that notice mid-change): check the settled page
    sync_api.expect(page.locator("#rag-loading")).to_be_hidden(timeout=120_000)
    axe_clean(page, "chat")
    page.get_by_role("tab", name="Documents").click()
    sync_api.expect(page.locator("#rag-docs")).to_contain_text("incident.pdf")
    shot(page, "ui-documents-desktop.png")
    axe_clean(page, "documents")
    no_horizontal_scroll(page)


def test_dark_theme_answer_and_viewer_are_accessible(browser, server):
    page = _open(browser, server + "?__theme=dark", DESKTOP, color_scheme="dark")
    try:
        sync_api.expect(page.locator(".dark")).not_to_have_count(0)
        ask(page, "What does Stoltenberg say about China?")
        answered(page, "details.rag-source")
        page.locator("details.rag-source summary").first.click()
        axe_clean(page, "dark answer")
        open_viewer(page, page.locator("details.rag-source").first)
        shot(page, "ui-viewer-dark-desktop.png")
        axe_clean(page, "dark viewer")
    finally:
        page.close()


def test_viewer_route_keeps_the_login_rule(docs, server):
    """With --auth, /view needs a logged-in page user (Gradio's own login) or the API key."""
    import httpx

    open_page = httpx.get(f"{server}view?doc=docs%2F{SEED.name}", timeout=30)  # no --auth: open
    assert open_page.status_code == 200 and "Stoltenberg" in open_page.text
    with serve(docs / "data", "--auth", "ann:s3cret", cwd=docs, env={"RAG_API_KEY": "k3y"}) as url:
        target = f"{url}view?doc=docs%2F{SEED.name}&start=0&end=5"
        anon = httpx.get(target, timeout=30)
        assert anon.status_code == 401 and "Log in" in anon.text and "Stoltenberg" not in anon.text
        keyed = httpx.get(target, headers={"Authorization": "Bearer k3y"}, timeout=30)
        assert keyed.status_code == 200 and "Stoltenberg" in keyed.text
        assert httpx.get(target, headers={"Authorization": "Bearer nope"}, timeout=30).status_code == 401
        with httpx.Client(timeout=30) as client:
            assert client.post(f"{url}login", data={"username": "ann", "password": "wrong"}).status_code >= 400
            assert client.get(target).status_code == 401
            assert client.post(f"{url}login", data={"username": "ann", "password": "s3cret"}).status_code == 200
            page = client.get(target)
            assert page.status_code == 200 and "Stoltenberg" in page.text
            assert "script-src 'none'" in page.headers["content-security-policy"]
