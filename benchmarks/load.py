"""Load test of `rag serve` (loopback only, bounded in clients and time).

N concurrent clients ask the seed golden questions for D seconds, half through the
OpenAI-compatible API (`POST /v1/chat/completions`), half through the page's endpoint
(Gradio's HTTP queue API: `POST /gradio_api/call/ask`, then its event stream), while an
uploader adds real prose documents (`/usr/share/doc/*/copyright`) through `POST /v1/documents`
and the page's `/upload_documents`, alternately.

Every answered response is checked against the golden set (answerable: not refused, the
`must_cite` passage among the quotes, an expected answer in the text, every quote exactly
the seed text [start:end], every marker [n] present; unanswerable: refused, no citations).
Overload is expected and measured: the API answers 429 at once (no queue); the page's queue
is bounded and answers Gradio's "Queue is full" (HTTP 503 with that detail: the page shows
*busy, try again*) at once. That 503 is counted as *busy*; any other 5xx is a failure. A
client that got a busy answer waits 0.2-0.6 s (jittered) and asks again, so the server stays
saturated for the whole run.

    python benchmarks/load.py                      # 50 clients, 60 s, a fresh data dir
    python benchmarks/load.py --clients 50 --duration 60 --concurrency 2 --queue-size 16
    python benchmarks/load.py --url http://127.0.0.1:7860/   # a running server (seeds indexed)

Prints one Markdown table (throughput, p50/p95/p99 latency of answers and of busy answers,
counts) and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_PATH = ROOT / "evals/datasets/seed.jsonl"
SEED_FILE = next((ROOT / "seeds").glob("*.txt"))
# the extractive answerer's known miss (tests/integration/test_golden_seed.py KNOWN_MISSES)
KNOWN_MISSES = {"nm-interviewer"}
BUSY_BACKOFF_S = (0.2, 0.6)
REQUEST_TIMEOUT_S = 180.0
QUEUE_FULL = "Queue is full"
KEEPALIVE_S = 2.0  # below uvicorn's timeout_keep_alive (5 s)


@dataclass(frozen=True)
class Golden:
    id: str
    question: str
    answerable: bool
    answers: tuple[str, ...]
    must_cite: str


def load_golden(path: Path = GOLDEN_PATH) -> list[Golden]:
    """The single-turn seed golden questions, known misses left out."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        g = json.loads(line)
        if g.get("history") or g["id"] in KNOWN_MISSES:
            continue
        items.append(Golden(g["id"], g["question"], bool(g["answerable"]),
                            tuple(g.get("answers") or ()), g.get("must_cite") or ""))
    return items


def golden_problem(item: Golden, text: str, refused: bool, citations: list[dict],
                   source_text: str, source_name: str) -> str | None:
    """Why this answer is wrong for the golden item, or None when it is right and cited."""
    if not item.answerable:
        return None if refused and not citations else f"{item.id}: answered an unanswerable question"
    if refused:
        return f"{item.id}: refused"
    if not any(item.must_cite in c.get("quote", "") for c in citations):
        return f"{item.id}: the passage {item.must_cite!r} is not cited"
    if not any(a.lower() in text.lower() for a in item.answers):
        return f"{item.id}: no expected answer in {text[:80]!r}"
    for c in citations:
        if Path(str(c.get("source", ""))).name != source_name:
            return f"{item.id}: cites another document {Path(str(c.get('source'))).name!r}"
        if source_text[c["start"]:c["end"]] != c["quote"]:
            return f"{item.id}: quote [{c['n']}] is not the source text [start:end]"
        if f"[{c['n']}]" not in text:
            return f"{item.id}: marker [{c['n']}] missing from the answer"
    return None


def answer_key(text: str, refused: bool, citations: list[dict]) -> tuple:
    """What must not change under load: text, refusal, each citation's file, quote and span."""
    return (text, refused, tuple((Path(str(c["source"])).name, c["quote"], c["start"], c["end"])
                                 for c in citations))


@dataclass
class Reference:
    """Answers given one at a time before the load, in the index state the load keeps
    (the uploads during the load replace documents already indexed, they add none)."""

    source: tuple[str, str]  # the seed text and file name
    answers: dict[str, tuple] = field(default_factory=dict)  # golden id -> answer_key
    golden_disagreements: list[str] = field(default_factory=list)  # not load failures

    def check(self, item: Golden, text: str, refused: bool, citations: list[dict]) -> str | None:
        """Answerable items: right and cited (golden set); every item: the reference answer."""
        if item.answerable:
            problem = golden_problem(item, text, refused, citations, *self.source)
            if problem:
                return problem
        if answer_key(text, refused, citations) != self.answers[item.id]:
            return f"{item.id}: differs from the answer given without load: {text[:80]!r}"
        return None


@dataclass
class Channel:
    """What one kind of client saw."""

    ok_ms: list[float] = field(default_factory=list)  # answered (checked) requests
    busy_ms: list[float] = field(default_factory=list)  # 429 / queue full
    statuses: Counter = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)  # answered, but not correct and cited
    errors: list[str] = field(default_factory=list)  # 5xx (not busy), timeouts, other failures

    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if isinstance(code, int) and code >= 500)


@dataclass
class LoadReport:
    clients: int
    duration_s: float
    channels: dict[str, Channel]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    elapsed_s: float = 0.0

    def answered(self) -> int:
        return sum(len(c.ok_ms) for name, c in self.channels.items() if name != "upload")

    def failures(self) -> list[str]:
        return [e for c in self.channels.values() for e in c.errors + c.wrong]


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- clients --------------------------------------------------------------------------
async def _busy_pause(rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(*BUSY_BACKOFF_S))


async def api_client(http, url: str, items: list[Golden], stop_at: float, ch: Channel,
                     rng: random.Random, ref: Reference) -> None:
    while time.monotonic() < stop_at:
        item = rng.choice(items)
        body = {"model": "rag-extractive", "messages": [{"role": "user", "content": item.question}]}
        t0 = time.monotonic()
        try:
            r = await http.post(f"{url}v1/chat/completions", json=body, timeout=REQUEST_TIMEOUT_S)
        except Exception as exc:  # a timeout or a dropped connection is a failure
            ch.errors.append(f"api: {exc!r}")
            continue
        ms = (time.monotonic() - t0) * 1000
        ch.statuses[r.status_code] += 1
        if r.status_code == 429:
            ch.busy_ms.append(ms)
            await _busy_pause(rng)
            continue
        if r.status_code != 200:
            ch.errors.append(f"api: HTTP {r.status_code}: {r.text[:200]}")
            continue
        data = r.json()
        ch.ok_ms.append(ms)
        problem = ref.check(item, data["choices"][0]["message"]["content"], data["refused"],
                            data["citations"])
        if problem:
            ch.wrong.append("api: " + problem)


async def gradio_call(http, url: str, api_name: str, data: list) -> tuple[str, object, float, int]:
    """One call through Gradio's HTTP queue API: (event, payload, ms, join status).

    event: "complete" | "error" | "busy" (queue full, answered at once) | "http"."""
    t0 = time.monotonic()
    r = await http.post(f"{url}gradio_api/call/{api_name}", json={"data": data},
                        timeout=REQUEST_TIMEOUT_S)
    if r.status_code != 200:
        kind = "busy" if r.status_code == 503 and QUEUE_FULL in r.text else "http"
        return kind, r.text[:200], (time.monotonic() - t0) * 1000, r.status_code
    event_id = r.json()["event_id"]
    event = None
    async with http.stream("GET", f"{url}gradio_api/call/{api_name}/{event_id}",
                           timeout=REQUEST_TIMEOUT_S) as s:
        async for line in s.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                raw = line.split(":", 1)[1].strip()
                payload = json.loads(raw) if raw and raw != "null" else None
                return event, payload, (time.monotonic() - t0) * 1000, 200
    return "http", "the event stream ended without a result", (time.monotonic() - t0) * 1000, 200


async def page_client(http, url: str, items: list[Golden], stop_at: float, ch: Channel,
                      rng: random.Random, ref: Reference) -> None:
    while time.monotonic() < stop_at:
        item = rng.choice(items)
        try:
            event, payload, ms, status = await gradio_call(http, url, "ask", [item.question, 0, "extractive"])
        except Exception as exc:
            ch.errors.append(f"page: {exc!r}")
            continue
        ch.statuses[status if event != "busy" else "busy"] += 1
        if event == "busy":
            ch.busy_ms.append(ms)
            await _busy_pause(rng)
            continue
        if event != "complete":
            ch.errors.append(f"page: {event} ({status}): {str(payload)[:200]}")
            continue
        (answer,) = payload
        ch.ok_ms.append(ms)
        problem = ref.check(item, answer["answer"], answer["refused"], answer["citations"])
        if problem:
            ch.wrong.append("page: " + problem)


def prose_documents(n: int, min_chars: int = 600) -> list[tuple[str, bytes]]:
    """n real prose texts nobody here wrote (Debian copyright files), as (name, bytes)."""
    out = []
    for src in sorted(Path("/usr/share/doc").glob("*/copyright")):
        text = src.read_text(errors="replace")[:4000]
        if len(text) >= min_chars:
            name = re.sub(r"[^\w.-]+", "_", src.parent.name)
            out.append((f"load-{len(out):03d}-{name}.txt", text.encode()))
        if len(out) >= n:
            break
    return out


async def _upload_api(http, url: str, name: str, data: bytes) -> tuple[str, object, float, int]:
    t0 = time.monotonic()
    r = await http.post(f"{url}v1/documents", files=[("files", (name, data, "text/plain"))],
                        timeout=REQUEST_TIMEOUT_S)
    ms = (time.monotonic() - t0) * 1000
    if r.status_code == 429:
        return "busy", None, ms, 429
    if r.status_code != 200:
        return "http", r.text[:200], ms, r.status_code
    return "complete", r.json(), ms, 200


async def _upload_page(http, url: str, name: str, data: bytes) -> tuple[str, object, float, int]:
    t0 = time.monotonic()
    r = await http.post(f"{url}gradio_api/upload", files=[("files", (name, data, "text/plain"))],
                        timeout=REQUEST_TIMEOUT_S)
    if r.status_code != 200:
        return "http", r.text[:200], (time.monotonic() - t0) * 1000, r.status_code
    file = {"path": r.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}
    event, payload, ms, status = await gradio_call(http, url, "upload_documents", [[file]])
    report = payload[1] if event == "complete" and payload else payload
    return event, report, (time.monotonic() - t0) * 1000, status


def revised(data: bytes, n: int) -> bytes:
    """A new version of an uploaded document (one short line added): an update, not a new one."""
    return data + f"\n\nCopy {n}.\n".encode()


async def uploader(http, url: str, docs: list[tuple[str, bytes]], stop_at: float, ch: Channel,
                   rng: random.Random, uploaded: list[str]) -> None:
    """Replaces the pre-uploaded documents one after another with new versions (API and page
    alternately) until the time is up: real writes, but the index keeps its documents."""
    n = 0
    while time.monotonic() < stop_at:
        name, data = docs[n % len(docs)]
        via = _upload_page if n % 2 == 0 else _upload_api  # the page's queue first
        try:
            event, report, ms, status = await via(http, url, name, revised(data, n))
        except Exception as exc:
            ch.errors.append(f"upload: {exc!r}")
            n += 1
            continue
        ch.statuses[status if event != "busy" else "busy"] += 1
        if event == "busy":
            ch.busy_ms.append(ms)
            await _busy_pause(rng)
            continue  # the same version again
        n += 1
        accepted = report.get("accepted", []) if isinstance(report, dict) else []
        if event != "complete" or not accepted or accepted[0].get("status") != "updated" \
                or accepted[0].get("chunks", 0) < 1:
            ch.errors.append(f"upload {name}: {event} ({status}): {str(report)[:200]}")
            continue
        ch.ok_ms.append(ms)
        uploaded.append(name)


async def prepare(http, url: str, docs: list[tuple[str, bytes]], items: list[Golden]) -> Reference:
    """Upload the documents the load will replace (one request), then ask every golden
    question once: the reference answers."""
    if docs:
        r = await http.post(f"{url}v1/documents", timeout=REQUEST_TIMEOUT_S,
                            files=[("files", (name, data, "text/plain")) for name, data in docs])
        r.raise_for_status()
        if len(r.json()["accepted"]) != len(docs):
            raise RuntimeError(f"pre-upload rejected files: {r.json()['rejected']}")
    ref = Reference((SEED_FILE.read_text(encoding="utf-8"), SEED_FILE.name))
    for item in items:
        body = {"model": "rag-extractive", "messages": [{"role": "user", "content": item.question}]}
        r = await http.post(f"{url}v1/chat/completions", json=body, timeout=REQUEST_TIMEOUT_S)
        r.raise_for_status()
        data = r.json()
        text, cites = data["choices"][0]["message"]["content"], data["citations"]
        ref.answers[item.id] = answer_key(text, data["refused"], cites)
        problem = golden_problem(item, text, data["refused"], cites, *ref.source)
        if problem:
            ref.golden_disagreements.append(problem)
    return ref


async def run_load(url: str, clients: int = 50, duration_s: float = 60.0, page_share: float = 0.5,
                   n_docs: int = 10, seed: int = 7, questions: int | None = None,
                   ) -> tuple[LoadReport, Reference]:
    """Pre-upload n_docs documents, take the reference answers, then run the load for
    duration_s (n_docs = 0: no uploads). questions: ask only that many golden questions
    (spread over the set), to save the reference pass."""
    import httpx

    url = url if url.endswith("/") else url + "/"
    items = load_golden()
    if questions and questions < len(items):
        items = items[::-(-len(items) // questions)]
    docs = prose_documents(n_docs) if n_docs else []
    channels = {"api": Channel(), "page": Channel(), "upload": Channel()}
    n_page = round(clients * page_share)
    rng = random.Random(seed)
    uploaded: list[str] = []
    # idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them: else a
    # request sent on a connection the server is closing fails with ReadError (a client race)
    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8,
                          keepalive_expiry=KEEPALIVE_S)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S) as http:
        ref = await prepare(http, url, docs, items)
        before = os.getloadavg()
        t0 = time.monotonic()
        stop_at = t0 + duration_s
        tasks = [page_client(http, url, items, stop_at, channels["page"], random.Random(rng.random()), ref)
                 for _ in range(n_page)]
        tasks += [api_client(http, url, items, stop_at, channels["api"], random.Random(rng.random()), ref)
                  for _ in range(clients - n_page)]
        if docs:
            tasks.append(uploader(http, url, docs, stop_at, channels["upload"],
                                  random.Random(rng.random()), uploaded))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - t0
    report = LoadReport(clients, duration_s, channels, before, os.getloadavg(), elapsed_s=elapsed)
    return report, ref


# --- report ---------------------------------------------------------------------------
def _ms(v: float) -> str:
    return "–" if v != v else f"{v:,.0f}"


def format_report(report: LoadReport) -> str:
    lines = [
        f"{report.clients} clients, {report.duration_s:g} s (all requests done after "
        f"{report.elapsed_s:.1f} s); load average before {report.load_before[0]:.2f}, "
        f"after {report.load_after[0]:.2f} (1 min)",
        "",
        "| channel | answered | per s | p50 / p95 / p99 ms | busy | busy p50 / p99 / max ms | 5xx | wrong | errors |",
        "|---|---:|---:|---|---:|---|---:|---:|---:|",
    ]
    for name, c in report.channels.items():
        per_s = len(c.ok_ms) / report.elapsed_s if report.elapsed_s else 0.0
        lines.append(
            f"| {name} | {len(c.ok_ms)} | {per_s:.1f} | {_ms(pct(c.ok_ms, 50))} / {_ms(pct(c.ok_ms, 95))}"
            f" / {_ms(pct(c.ok_ms, 99))} | {len(c.busy_ms)} | {_ms(pct(c.busy_ms, 50))} / "
            f"{_ms(pct(c.busy_ms, 99))} / {_ms(max(c.busy_ms, default=float('nan')))} | "
            f"{c.server_errors()} | {len(c.wrong)} | {len(c.errors)} |")
    total = report.answered()
    lines.append("")
    lines.append(f"answers (api + page): {total}, {total / report.elapsed_s:.1f}/s; "
                 f"statuses: " + "; ".join(f"{n} {dict(c.statuses)}" for n, c in report.channels.items()))
    for problem in report.failures()[:20]:
        lines.append(f"- {problem}")
    return "\n".join(lines)


def _serve_and_run(args) -> tuple[LoadReport, Reference]:
    from ui.testing import run_rag, serve

    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        base = Path(tmp)
        data = base / "data"
        run_rag("--data-dir", str(data), "ingest", str(ROOT / "seeds"), "--no-progress", cwd=base)
        env = {"RAG_LOCAL_LLM": "off"}
        with serve(data, "--concurrency", str(args.concurrency), "--queue-size", str(args.queue_size),
                   cwd=base, env=env) as url:
            return asyncio.run(run_load(url, args.clients, args.duration))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--concurrency", type=int, default=2, help="rag serve --concurrency")
    p.add_argument("--queue-size", type=int, default=16, help="rag serve --queue-size")
    p.add_argument("--url", help="a running rag serve with seeds/ indexed (default: start one)")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.url:
        report, ref = asyncio.run(run_load(args.url, args.clients, args.duration))
    else:
        report, ref = _serve_and_run(args)
    print(format_report(report))
    for problem in ref.golden_disagreements:  # the index state, not the load
        print(f"reference answer disagrees with the golden set (asked alone, before the load): {problem}")
    return 1 if report.failures() else 0


if __name__ == "__main__":
    raise SystemExit(main())
