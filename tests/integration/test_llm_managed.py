"""`rag serve` manages the bundled model server (SmolLM2-135M here): starts it, uses it, reports
it in the page, survives its crash, and never leaves it behind (real processes, real browser)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from rag.llm.keep import is_kept_notice
from tests.conftest import SEEDS
from ui.testing import _pump, _wait_ready, call_raw, free_port, rag_env, run_rag, stop_process, wait_until

pytest.importorskip("xllamacpp", reason="needs the local-llm extra")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MANAGED = {"RAG_LOCAL_LLM": "auto", "RAG_LOCAL_LLM_MODEL": "small", "RAG_LLM_THREADS": "1",
           "RAG_LLM_CONTEXT_WINDOW": "2048", "RAG_LLM_MAX_TOKENS": "48"}
Q = "Who criticized Stoltenberg's remarks about warheads?"


def wait_for(cond, timeout: float, what: str):
    return wait_until(cond, timeout, what, every=0.2)


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def children_of(pid: int) -> list[int]:
    """Model servers started for `pid` (found by their --parent-pid argument)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                args = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--parent-pid" in args and args[args.index(b"--parent-pid") + 1] == str(pid).encode():
                found.append(int(proc.name))
    return [p for p in found if alive(p)]


def state(data: Path) -> dict | None:
    try:
        return json.loads((data / "local-llm.json").read_text())
    except (OSError, ValueError):
        return None


def ask(url: str) -> dict:
    kind, out = call_raw(url, "ask", [Q, 0, "auto"])
    assert kind == "complete", out
    return out[0]


def start(data: Path, cwd: Path, env: dict, *extra: str):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "--data-dir", str(data), "serve", "--port", str(port), *extra],
        cwd=cwd, env={**rag_env(), **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    try:
        _wait_ready(proc, lines, 240)
    except Exception:
        proc.kill()
        raise
    return proc, f"http://127.0.0.1:{port}/"


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    stop_process(proc, timeout=60, sig=sig)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("managed")
    run_rag("--data-dir", str(base / "data"), "ingest", str(SEEDS), "--no-progress", cwd=base)
    return base / "data"


def _status_in_page(url: str, *needles: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(url, timeout=60_000)
            status = page.locator("#rag-llm-status")
            for needle in needles:
                sync_api.expect(status).to_contain_text(needle, timeout=60_000)
        finally:
            browser.close()


def test_managed_model_starts_serves_is_shown_survives_a_crash_and_stops_with_rag_serve(data):
    proc, url = start(data, data.parent, MANAGED)
    try:
        st = wait_for(lambda: state(data), 180, "the model server to be ready")
        child = st["pid"]
        assert children_of(proc.pid) == [child] and st["base_url"].startswith("http://127.0.0.1:")
        _status_in_page(url, "SmolLM2-135M-Instruct", "ready")

        answer = ask(url)  # the managed model answered: its verified text, or the quote kept instead
        assert answer["llm"]["called"] and answer["llm"]["model"] == "SmolLM2-135M-Instruct"
        assert answer["mode"] == "generative" or (answer["llm"]["kept_extractive"] and is_kept_notice(answer["notice"]))

        os.kill(child, signal.SIGKILL)  # a crash: noticed, answers fall back, then restarted
        wait_for(lambda: not alive(child), 30, "the killed model server to go")
        answer = ask(url)
        restarted = state(data)
        if answer["mode"] == "extractive":  # before the restart was ready: a notice says why
            assert answer.get("notice") and not answer["refused"] and answer["citations"]
        else:  # the restart was quicker than the question
            assert restarted and restarted["pid"] != child
        new = wait_for(lambda: (state(data) or {}).get("pid") not in (None, child) and state(data),
                       180, "the model server to be restarted")
        assert alive(new["pid"]) and children_of(proc.pid) == [new["pid"]]
    finally:
        stop(proc)
    assert proc.returncode is not None
    wait_for(lambda: not children_of(proc.pid), 30, "no orphan model server after SIGTERM")
    assert state(data) is None


def test_killing_rag_serve_takes_the_model_server_with_it(data):
    proc, _ = start(data, data.parent, MANAGED)
    try:
        child = wait_for(lambda: state(data), 180, "the model server")["pid"]
    finally:
        stop(proc, signal.SIGKILL)  # no clean-up code runs: the kernel's PDEATHSIG must do it
    wait_for(lambda: not alive(child), 60, "the model server to die with its parent")


def test_opting_out_starts_no_model(data):
    proc, url = start(data, data.parent, MANAGED, "--no-local-llm")
    try:
        # the page is up: a managed model would have been started before it
        stale = state(data)  # the SIGKILLed server above could not remove its file
        assert children_of(proc.pid) == [] and (stale is None or not alive(stale["pid"]))
        answer = ask(url)
        assert answer["mode"] == "extractive" and not answer.get("llm")
        # and the page offers extractive only (no model found running for this data dir either)
        config = httpx.get(f"{url.rstrip('/')}/config", timeout=60).json()
        [mode] = [c["props"] for c in config["components"] if c["props"].get("elem_id") == "rag-mode"]
        assert [c[1] if isinstance(c, list) else c for c in mode["choices"]] == ["extractive"], mode
        assert mode["value"] == "extractive"
    finally:
        stop(proc)
