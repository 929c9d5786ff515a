"""llama.cpp server options on real answer prompts: prompt and generation speed, draft acceptance.

Builds the answer prompts of a few seed questions (the real retrieval, gate and source
selection over seeds/), then for each server configuration starts the bundled model in this
process, warms the prompt cache and sends every prompt, adding up llama.cpp's own timings:
prompt tokens/s, generation tokens/s, drafted and accepted tokens (speculation).

    .venv/bin/python benchmarks/llm_options.py --model-dir data --configs base,batch2,ngram_simple
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = {
    "base": {}, "batch1": {"batch_threads": 1}, "batch2": {"batch_threads": 2}, "threads2": {"threads": 2},
    "ubatch128": {"n_batch": 128, "n_ubatch": 128}, "poll0": {"poll": 0},
    "ngram_simple": {"speculative": "ngram_simple"}, "ngram_map_k": {"speculative": "ngram_map_k"},
    "ngram_mod": {"speculative": "ngram_mod"},
}
QUESTIONS = ("who-peskov", "how-many-nations-2pct", "nk-supply", "china-tech", "say-china", "beijing-defense")


def build_prompts(svc) -> list[list[dict]]:
    from rag.llm.backend import LLMBackend
    from rag.llm.prompt import answer_messages

    rows = {r["id"]: r for r in map(json.loads, (ROOT / "evals/datasets/seed.jsonl").read_text().splitlines())}
    pipe = svc.pipeline
    backend = LLMBackend(svc.settings, svc.embedder, pipe.analyzer, idf=lambda t: 1.0)
    prompts = []
    for qid in QUESTIONS:
        q = rows[qid]["question"]
        qvec = svc.embedder.embed([q])[0]
        hits = pipe.retriever.retrieve(q, query_vec=qvec)
        scored = pipe.extractive.score(q, hits, qvec)
        prompts.append(answer_messages(q, backend._sources(scored, pipe.extractive.select(scored))))
    return prompts


def measure(path: Path, options: dict, prompts: list[list[dict]], settings) -> dict:
    from rag.llm.client import Endpoint, LLMClient
    from rag.llm.local import LocalServer, warm_prompt_cache

    with LocalServer(path, **options) as server:
        warm_prompt_cache(server.base_url)
        client = LLMClient(Endpoint(server.base_url, "no-key", "local", True), settings)
        total = dict(prompt_n=0, prompt_ms=0.0, predicted_n=0, predicted_ms=0.0, draft_n=0, draft_n_accepted=0)
        load, t0 = os.getloadavg()[0], time.perf_counter()
        for messages in prompts:
            client.complete(messages, max_tokens=128)
            for k in total:
                total[k] += client.last_timings.get(k, 0)
    return {"prompt_tok_s": round(total["prompt_n"] / max(total["prompt_ms"], 1e-9) * 1e3, 1),
            "gen_tok_s": round(total["predicted_n"] / max(total["predicted_ms"], 1e-9) * 1e3, 1),
            "drafted": total["draft_n"], "accepted": total["draft_n_accepted"],
            "generated": total["predicted_n"], "wall_s": round(time.perf_counter() - t0, 1),
            "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["default", "small"], default="default")
    ap.add_argument("--model-dir", default=str(ROOT / "data"))
    ap.add_argument("--configs", default="base,batch2,ngram_simple", help=", ".join(CONFIGS))
    args = ap.parse_args(argv)
    from rag.llm.local import model_path
    from rag.service import RagService
    from rag.settings import Settings

    path = model_path(args.model, Path(args.model_dir))
    with tempfile.TemporaryDirectory() as tmp:
        svc = RagService(Settings(data_dir=Path(tmp) / "data", mode="extractive"))
        svc.ingest_paths([ROOT / "seeds"])
        prompts = build_prompts(svc)
        for name in args.configs.split(","):
            print(name, json.dumps(measure(path, CONFIGS[name], prompts, svc.settings)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
