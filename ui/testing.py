"""Test helpers: run `rag serve` as a real subprocess; call its REST API without gradio_client."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

READY = "Web chat on "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rag_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}


def run_rag(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=cwd, env=rag_env(),
                          capture_output=True, text=True, timeout=timeout, check=True)


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def stop_process(proc: subprocess.Popen, timeout: float = 30, sig: int | None = None) -> None:
    """Ask a child to stop (SIGTERM, or `sig`), kill it if it has not after `timeout` s; reaped."""
    if proc.poll() is None:
        proc.send_signal(sig) if sig is not None else proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(cond, timeout: float, what: str = "a condition", every: float = 0.1):
    """Poll `cond()` until it returns something truthy (returned); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def serve(data_dir: Path, *extra: str, cwd: Path, timeout: float = 180,
          env: dict[str, str] | None = None, output: list[str] | None = None,
          ready: str = READY) -> Iterator[str]:
    """Start `rag serve` on a free loopback port; yield its URL once it prints `ready`
    (default: fully ready; "Page served on ": the page works, the models may still load).

    `output`: filled with everything the server printed (stdout and stderr), once it stopped."""
    port = free_port()
    cmd = [sys.executable, "-m", "rag.cli", "--data-dir", str(data_dir), "serve",
           "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, cwd=cwd, env={**rag_env(), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    printed: list[str] = []
    try:
        printed = _wait_ready(proc, lines, timeout, ready)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_process(proc, timeout=15)
        if output is not None:
            output.extend(printed + _drain(lines))


def _lines(lines: queue.Queue, timeout: float) -> Iterator[str | None]:
    """The pumped lines as they come, for at most `timeout` s; None once the process exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        yield line
        if line is None:
            return


def _drain(lines: queue.Queue, timeout: float = 10) -> list[str]:
    """Every line until the pump's end marker (the process has exited)."""
    return [line for line in _lines(lines, timeout) if line is not None]


def _wait_ready(proc: subprocess.Popen, lines: queue.Queue, timeout: float,
                ready: str = READY) -> list[str]:
    """The lines printed until the server printed `ready`."""
    seen: list[str] = []
    for line in _lines(lines, timeout):
        if line is None:
            raise RuntimeError(f"rag serve exited ({proc.wait()}):\n{''.join(seen)}")
        seen.append(line)
        if ready in line:
            return seen
    raise TimeoutError(f"rag serve not ready after {timeout}s:\n{''.join(seen)}")


def upload_raw(url: str, name: str, data: bytes) -> dict:
    """POST one file to Gradio's upload route under a client-chosen name; FileData back."""
    import httpx

    resp = httpx.post(f"{url}gradio_api/upload", files=[("files", (name, data))], timeout=30)
    resp.raise_for_status()
    path = resp.json()[0]
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def call_raw(url: str, api_name: str, data: list) -> tuple[str, object]:
    """Gradio's REST call protocol: ("complete", outputs) or ("error", message)."""
    import httpx

    resp = httpx.post(f"{url}gradio_api/call/{api_name}", json={"data": data}, timeout=30)
    resp.raise_for_status()
    event_id = resp.json()["event_id"]
    with httpx.stream("GET", f"{url}gradio_api/call/{api_name}/{event_id}", timeout=120) as r:
        event = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = line.split(":", 1)[1].strip()
                return event, json.loads(payload) if payload and payload != "null" else None
    raise RuntimeError(f"no result for {api_name}")
