"""Synthetic corpora for scale benchmarks: evaldata passages with variation.

Each synthetic chunk is a ~120-word window of a real passage (SQuAD 2.0 dev, CLAPNQ, RGB
news from ../shared/evaldata), with one word in eight replaced by a word drawn from the
whole corpus and a unique marker term, so 100k chunks have a realistic, growing vocabulary
and no exact duplicates. Deterministic for a seed.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = ("squad2_dev", "clapnq_dev", "rgb_en_fact")


def evaldata_dir() -> Path:
    return Path(os.environ.get("RAG_EVALDATA_DIR", ROOT.parent / "shared" / "evaldata"))


def passages() -> list[dict]:
    out = []
    for name in SETS:
        path = evaldata_dir() / name / "documents.jsonl"
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out


def questions(limit: int = 500) -> list[str]:
    """First-seen questions (answerable and not) from the three sets, interleaved."""
    per_set = [
        [json.loads(line)["question"] for line in (evaldata_dir() / n / "questions.jsonl").read_text().splitlines()
         if line.strip()]
        for n in SETS
    ]
    out = [q for group in zip(*per_set) for q in group]
    return list(dict.fromkeys(out))[:limit]


def synth_texts(n: int, seed: int = 0, words: int = 120) -> Iterator[tuple[str, str]]:
    """(title, text) pairs, n of them."""
    rng = random.Random(seed)
    docs = passages()
    vocab = [w for d in docs for w in d["text"].split()]
    for i in range(n):
        doc = rng.choice(docs)
        toks = doc["text"].split()
        lo = rng.randrange(max(1, len(toks) - words))
        window = toks[lo:lo + words]
        for _ in range(len(window) // 8):
            window[rng.randrange(len(window))] = rng.choice(vocab)
        yield doc.get("title", ""), " ".join(window) + f" marker{i}"
