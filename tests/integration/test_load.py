"""Load, bounded (50 clients, 20 s, loopback): a real `rag serve`, half the clients on the
OpenAI-compatible API, half on the page's endpoint (Gradio's HTTP queue API), documents
replaced by uploads (API and page) all along. benchmarks/load.py is the same run, longer,
with the figures (BENCHMARKS.md "Load").

Asserted: no 5xx but the page queue's own "Queue is full" (its busy answer), no timeout or
dropped request, every answer right and cited per the seed golden set and equal to the
answer given without load, uploads done while questions run, and busy answers (API 429,
page queue full) returned without waiting for a slot: a generous bound, the one timing
assertion here.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from benchmarks.load import format_report, pct, run_load
from tests.conftest import SEEDS
from ui.testing import run_rag, serve

CLIENTS = 50
DURATION_S = 20
BUSY_P95_BOUND_MS = 30_000  # generous: at load avg 17 on 2 cores the p95 was 10.4 s (event loop starved)


@pytest.fixture(scope="module")
def load_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("load")
    data = base / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=base)
    with serve(data, "--concurrency", "2", "--queue-size", "16", cwd=base) as url:
        report, ref = asyncio.run(run_load(url, clients=CLIENTS, duration_s=DURATION_S, n_docs=4,
                                             questions=16))
        print(format_report(report))
        after = httpx.get(f"{url}health", timeout=60)
        yield report, ref, after


def test_no_server_error_no_timeout_no_wrong_answer(load_run):
    report, _ref, after = load_run
    for name, channel in report.channels.items():
        assert channel.server_errors() == 0, (name, dict(channel.statuses))
        assert channel.errors == [], (name, channel.errors[:5])
        assert channel.wrong == [], (name, channel.wrong[:5])
    assert after.status_code == 200 and after.json()["status"] == "ok"


def test_both_channels_answered_and_uploads_ran_alongside(load_run):
    report, ref, _after = load_run
    api, page, upload = (report.channels[k] for k in ("api", "page", "upload"))
    assert len(api.ok_ms) >= 1 and len(page.ok_ms) >= 1
    assert len(upload.ok_ms) >= 1  # documents replaced while the questions ran
    assert len(ref.answers) >= 12  # each question asked has a reference answer


def test_overload_is_answered_busy_at_once(load_run):
    report, _ref, _after = load_run
    api, page = report.channels["api"], report.channels["page"]
    assert api.statuses[429] >= 1  # 25 API clients on 2 slots: the API says 429, no queue
    busy = api.busy_ms + page.busy_ms
    assert pct(busy, 95) < BUSY_P95_BOUND_MS, format_report(report)
