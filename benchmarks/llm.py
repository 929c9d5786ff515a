"""Benchmark the generative path with the bundled local model, against the extractive path.

It indexes seeds/ into a temporary data dir, starts the bundled llama.cpp server in this
process (`--model default`: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, assembled into --model-dir
once), and runs every question of evals/datasets/seed.jsonl (follow-ups with their history)
in generative mode and in extractive mode. It prints one line per question and then:

- time to first token (from the question, retrieval included) and total time, per question
  that reached the LLM: median, p90, max; prompt tokens per LLM call: median, max;
- golden-set correctness per mode: correct and correctly cited (answerable: not refused,
  an expected answer string in the text, the must-cite passage inside a citation's quote;
  unanswerable: refused). Same criteria as tests/integration/test_golden_seed.py.

`--markdown` prints the summary as the "## LLM path" section of BENCHMARKS.md.

Examples (from the repo root):

    .venv/bin/python benchmarks/llm.py                   # 1.5B model, all seed questions
    .venv/bin/python benchmarks/llm.py --threads 1 --limit 10
    .venv/bin/python benchmarks/llm.py --model small     # SmolLM2-135M, quick smoke run
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_golden(path: Path, limit: int | None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def judge(item: dict, answer) -> bool:
    """Correct and correctly cited (answerable), or refused (unanswerable)."""
    if not item["answerable"]:
        return answer.refused
    return (not answer.refused
            and any(a.lower() in answer.text.lower() for a in item["answers"])
            and any(item["must_cite"] in c.quote for c in answer.citations))


def run_generative(svc, item: dict) -> dict:
    t0 = time.perf_counter()
    first = cited = None
    answer = None
    for event in svc.stream(item["question"], history=item.get("history"), mode="generative"):
        if event.type == "provisional":
            cited = time.perf_counter() - t0
        elif event.type == "token" and first is None:
            first = time.perf_counter() - t0
        elif event.type == "answer":
            answer = event.answer
    total = time.perf_counter() - t0
    cited = cited if cited is not None else total  # a gate refusal is final at once
    return {"id": item["id"], "mode": answer.mode, "called": bool(answer.llm.get("called")),
            "ttft_s": first, "total_s": total, "first_cited_s": cited, "prompt_tokens": answer.llm.get("prompt_tokens"),
            "prompt_evaluated": answer.llm.get("prompt_evaluated"), "prompt_cached": answer.llm.get("prompt_cached"),
            "generated_tokens": answer.llm.get("generated_tokens"),
            "refused": answer.refused, "correct": judge(item, answer), "notice": answer.notice,
            "text": answer.text, "raw": answer.llm.get("raw")}


def run_extractive(svc, item: dict) -> dict:
    t0 = time.perf_counter()
    answer = svc.ask(item["question"], history=item.get("history"), mode="extractive")
    return {"id": item["id"], "total_s": time.perf_counter() - t0, "refused": answer.refused,
            "correct": judge(item, answer), "text": answer.text}


def _stats(values: list[float]) -> dict:
    if not values:
        return {}
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return {"median": statistics.median(values), "p90": p90, "max": values[-1], "n": len(values)}


def summarize(gen: list[dict], ext: list[dict], golden: list[dict], meta: dict) -> dict:
    called = [r for r in gen if r["called"] and r["ttft_s"] is not None]
    answerable = {g["id"] for g in golden if g["answerable"]}

    def score(rows):
        return {"correct": sum(r["correct"] for r in rows), "of": len(rows),
                "answerable_correct": sum(r["correct"] for r in rows if r["id"] in answerable),
                "answerable": len(answerable),
                "unanswerable_refused": sum(r["correct"] for r in rows if r["id"] not in answerable),
                "unanswerable": sum(1 for r in rows if r["id"] not in answerable)}

    return {
        **meta,
        "llm_calls": len(called),
        "gate_refusals": sum(1 for r in gen if not r["called"] and r["mode"] == "generative"),
        "fallbacks": sum(1 for r in gen if r["mode"] != "generative"),
        "ttft_s": _stats([r["ttft_s"] for r in called]),
        "first_cited_s": _stats([r["first_cited_s"] for r in called]),
        "total_s": _stats([r["total_s"] for r in called]),
        "prompt_tokens": _stats([r["prompt_tokens"] for r in called if r["prompt_tokens"]]),
        "prompt_evaluated": _stats([r["prompt_evaluated"] for r in called if r["prompt_evaluated"] is not None]),
        "prompt_cached": _stats([r["prompt_cached"] for r in called if r["prompt_cached"] is not None]),
        "generated_tokens": _stats([r["generated_tokens"] for r in called if r["generated_tokens"] is not None]),
        "extractive_total_s": _stats([r["total_s"] for r in ext]),
        "generative": score(gen),
        "extractive": score(ext),
    }


def markdown(s: dict) -> str:
    def row(name, st, unit="s", fmt="{:.1f}"):
        return (f"| {name} | {fmt.format(st['median'])} {unit} | {fmt.format(st['p90'])} {unit} | "
                f"{fmt.format(st['max'])} {unit} |")

    g, e = s["generative"], s["extractive"]
    return "\n".join([
        "## LLM path",
        "",
        f"`python benchmarks/llm.py` ({s['model']}, {s['threads']} thread(s), {s['cores']} cores, "
        f"load average {s['load_before']} before the run; {s['date']}). Every seed question "
        f"({s['questions']}, follow-ups with their history) in generative and in extractive mode. "
        f"{s['llm_calls']} questions reached the LLM; {s['gate_refusals']} were refused by the "
        f"gate without an LLM call; {s['fallbacks']} fell back to extractive (LLM error).",
        "",
        "| per LLM call | median | p90 | max |",
        "| --- | --- | --- | --- |",
        row("first cited answer on screen (the provisional extractive one)", s["first_cited_s"],
            fmt="{:.2f}"),
        row("time to first token (question → first token, retrieval included)", s["ttft_s"]),
        row("total time (question → verified answer)", s["total_s"]),
        row("prompt tokens", s["prompt_tokens"], unit="", fmt="{:.0f}"),
        row("prompt tokens evaluated (not from the prompt cache)", s["prompt_evaluated"], unit="",
            fmt="{:.0f}"),
        row("answer tokens generated", s["generated_tokens"], unit="", fmt="{:.0f}"),
        *([row("extractive answer, total (all questions)", s["extractive_total_s"], fmt="{:.2f}")]
          if s["extractive_total_s"] else []),
        "",
        "| golden seed set: correct and correctly cited | generative | extractive |",
        "| --- | --- | --- |",
        f"| all questions | {g['correct']}/{g['of']} | {e['correct']}/{e['of']} |",
        f"| answerable: right answer + must-cite passage quoted | {g['answerable_correct']}/{g['answerable']} "
        f"| {e['answerable_correct']}/{e['answerable']} |",
        f"| unanswerable: refused | {g['unanswerable_refused']}/{g['unanswerable']} "
        f"| {e['unanswerable_refused']}/{e['unanswerable']} |",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["default", "small"], default="default")
    ap.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: cores less one)")
    ap.add_argument("--batch-threads", type=int, default=0, help="prompt-processing threads (0: one per core)")
    ap.add_argument("--batch", type=int, default=0, help="n_batch (0: llama.cpp's default)")
    ap.add_argument("--ubatch", type=int, default=0, help="n_ubatch (0: llama.cpp's default)")
    ap.add_argument("--poll", type=int, default=-1, help="worker busy-wait 0..100 (-1: default)")
    ap.add_argument("--spec", default="", help="llama.cpp n-gram speculation type (e.g. ngram_simple)")
    ap.add_argument("--max-sources", type=int, help="RAG_LLM_MAX_SOURCES for this run")
    ap.add_argument("--max-tokens", type=int, help="RAG_LLM_MAX_TOKENS for this run")
    ap.add_argument("--no-extractive", action="store_true", help="skip the extractive pass")
    ap.add_argument("--index-dir", help="reuse (or build once) the seed index here instead of a temp dir")
    ap.add_argument("--model-dir", default=str(ROOT / "data"), help="where the model is assembled")
    ap.add_argument("--golden", default=str(ROOT / "evals/datasets/seed.jsonl"))
    ap.add_argument("--limit", type=int)
    ap.add_argument("--markdown", action="store_true", help="print the BENCHMARKS.md section")
    ap.add_argument("--json", help="write per-question rows and the summary here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.ERROR)

    from rag.llm.local import (LocalServer, default_batch_threads, default_threads, model_path,
                                 warm_prompt_cache)
    from rag.service import RagService
    from rag.settings import Settings

    golden = load_golden(Path(args.golden), args.limit)
    load_before = os.getloadavg()[0]
    path = model_path(args.model, Path(args.model_dir))
    server = LocalServer(path, n_ctx=4096, threads=args.threads, batch_threads=args.batch_threads,
                         n_batch=args.batch, n_ubatch=args.ubatch, poll=args.poll, speculative=args.spec)
    overrides = {k: v for k, v in (("llm_max_sources", args.max_sources),
                                   ("llm_max_tokens", args.max_tokens)) if v is not None}
    with tempfile.TemporaryDirectory() as tmp, server:
        data_dir = Path(args.index_dir) if args.index_dir else Path(tmp) / "data"
        settings = Settings(data_dir=data_dir, llm_base_url=server.base_url, mode="generative",
                            **overrides)
        svc = RagService(settings)
        if not args.index_dir or not (data_dir / "seeds.done").exists():
            svc.ingest_paths([ROOT / "seeds"])
            if args.index_dir:
                (data_dir / "seeds.done").write_text("")
        t0 = time.perf_counter()
        warm_prompt_cache(server.base_url)  # what `rag llm serve` does at start (no seed question)
        cold = time.perf_counter() - t0
        gen, ext = [], []
        for item in golden:
            r = run_generative(svc, item)
            gen.append(r)
            ttft = f"{r['ttft_s']:.1f}" if r["ttft_s"] is not None else "-"
            print(f"{item['id']:<26} gen {'ok ' if r['correct'] else 'BAD'} ttft {ttft:>5} s "
                  f"total {r['total_s']:5.1f} s prompt {r['prompt_tokens'] or '-':>4} tok "
                  f"(evaluated {r['prompt_evaluated'] if r['prompt_evaluated'] is not None else '-'}, "
                  f"cached {r['prompt_cached'] if r['prompt_cached'] is not None else '-'}) "
                  f"gen {r['generated_tokens'] or '-'} | {r['text'][:60]!r}",
                  flush=True)
        for item in [] if args.no_extractive else golden:
            ext.append(run_extractive(svc, item))
    meta = {"model": path.name, "threads": args.threads or default_threads(), "cores": os.cpu_count(),
            "batch_threads": args.batch_threads or default_batch_threads(),
            "n_batch": args.batch, "n_ubatch": args.ubatch, "poll": args.poll, "spec": args.spec,
            "max_sources": settings.llm_max_sources, "max_tokens": settings.llm_max_tokens,
            "questions": len(golden), "load_before": round(load_before, 1),
            "load_after": round(os.getloadavg()[0], 1), "warm_up_s": round(cold, 1),
            "date": time.strftime("%Y-%m-%d"), "python": platform.python_version()}
    summary = summarize(gen, ext, golden, meta)
    print(json.dumps(summary, indent=2))
    if args.markdown:
        print(markdown(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "generative": gen, "extractive": ext},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
