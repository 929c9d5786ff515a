"""Start-up of `rag serve`: command → port open → chat page → models loaded → first answer.

Prints figures with the load average (the machine is shared: times are noisy); no pass/fail.
    python benchmarks/startup.py [--runs 3] [--repo PATH]   # PATH: another checkout to compare

Each run starts a fresh `rag serve --no-local-llm` on the seed index and polls (every 50 ms):
- listening_s: the first HTTP 200 on / (the "starting…" page, before gradio is imported);
- page_s: the first 200 on / that is the Gradio chat page (its HTML holds `gradio_config`);
- ready_s: /health says "ok" (embedder, Chroma, spaCy and the pipeline loaded);
- first_answer_s: an OpenAI-style completion sent as soon as the page is served has its
  answer (the API waits for the models).
Target (issue 12): the page served within 10 s of the command.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ui.testing import stop_process

ROOT = Path(__file__).resolve().parents[1]
SEED_Q = "What does Stoltenberg say about China?"
PAGE_MARKER = "gradio_config"
TIMEOUT_S = 300.0
POLL_S = 0.05
TARGET_PAGE_S = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(repo: Path, data_dir: Path) -> dict:
    env = dict(os.environ, RAG_DATA_DIR=str(data_dir), RAG_MODE="extractive", HF_HUB_OFFLINE="1",
               RAG_LOCAL_LLM="off", GRADIO_ANALYTICS_ENABLED="False", ANONYMIZED_TELEMETRY="False",
               PYTHONPATH=str(repo))
    env.pop("RAG_LLM_BASE_URL", None)
    return env


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None


def _until(cond, started: float) -> float:
    while time.perf_counter() - started < TIMEOUT_S:
        if cond():
            return time.perf_counter() - started
        time.sleep(POLL_S)
    raise TimeoutError("rag serve did not get there in time")


def one_run(repo: Path, data_dir: Path) -> dict:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port), "--no-local-llm"],
                            cwd=repo, env=_env(repo, data_dir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        listening = _until(lambda: (r := _get(base + "/")) is not None and r.status_code == 200, started)
        page = _until(lambda: (r := _get(base + "/")) is not None and PAGE_MARKER in r.text, started)
        body = {"model": "rag-extractive", "messages": [{"role": "user", "content": SEED_Q}]}
        answer = httpx.post(base + "/v1/chat/completions", json=body, timeout=TIMEOUT_S)
        answer.raise_for_status()
        first_answer = time.perf_counter() - started
        ready = _until(lambda: (r := _get(base + "/health")) is not None and r.status_code == 200
                       and r.json().get("status") == "ok", started)
    finally:
        stop_process(proc)
    return {"listening_s": listening, "page_s": page, "ready_s": min(ready, first_answer),
            "first_answer_s": first_answer}


def measure(runs: int = 3, repo: Path = ROOT) -> dict:
    """Median (and max) of each figure over `runs` fresh `rag serve` processes."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = _env(repo, data_dir)
    subprocess.run([sys.executable, "-m", "rag", "ingest", "seeds/", "--no-progress"], cwd=repo, env=env,
                   check=True, capture_output=True)
    load_before = os.getloadavg()[0]
    rows = [one_run(repo, data_dir) for _ in range(runs)]
    shutil.rmtree(data_dir, ignore_errors=True)
    out: dict = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        out[f"serve_{key}_median"] = statistics.median(values)
        out[f"serve_{key}_max"] = max(values)
    out["serve_runs"] = runs
    out["serve_load_avg_1min"] = round((load_before + os.getloadavg()[0]) / 2, 2)
    return out


def report(figures: dict) -> None:
    for key, value in figures.items():
        line = f"{key:32s} {value:.3f}" if isinstance(value, float) else f"{key:32s} {value}"
        if key == "serve_page_s_median":
            line += f"   (target <= {TARGET_PAGE_S:g}: ratio {value / TARGET_PAGE_S:.2f})"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repo", type=Path, default=ROOT, help="checkout to start (default: this one)")
    args = ap.parse_args()
    figures = measure(args.runs, args.repo.resolve())
    report(figures)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
