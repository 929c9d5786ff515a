"""Refusal and false-refusal rates per half of an evaldata set, split by article title.

    python -m evals.title_halves SET_DIR RESULTS_JSONL

A question's half is sha1(title of its context document) mod 2, so every question of one
article is in the same half and a rule chosen on one half is reported on the other unseen.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from evals.data import read_jsonl


def half_of(title: str) -> int:
    return int(hashlib.sha1(title.encode()).hexdigest(), 16) % 2


def title_of(question: dict, titles: dict[str, str]) -> str:
    doc = question.get("context_doc_id") or (question.get("gold_doc_ids") or [""])[0]
    return titles.get(doc) or (doc.split("::")[1] if doc.count("::") >= 2 else doc)


def rates(set_dir: Path, results: Path) -> dict[int, dict[str, float]]:
    titles = {d["id"]: d.get("title") or "" for d in read_jsonl(set_dir / "documents.jsonl")}
    questions = {q["id"]: q for q in read_jsonl(set_dir / "questions.jsonl")}
    counts = {0: [0, 0, 0, 0], 1: [0, 0, 0, 0]}  # unanswerable refused, unanswerable, answerable refused, answerable
    for row in read_jsonl(results):
        q = questions.get(row.get("id"))
        if q is None:
            continue
        k = 2 if q.get("answerable", True) and q.get("answers") else 0
        c = counts[half_of(title_of(q, titles))]
        c[k] += bool(row["refused"])
        c[k + 1] += 1
    return {h: {"refused": ur / max(un, 1), "false_refusals": ar / max(an, 1), "n_unanswerable": un,
                "n_answerable": an} for h, (ur, un, ar, an) in counts.items()}


def main(argv: list[str]) -> int:
    for h, r in rates(Path(argv[0]), Path(argv[1])).items():
        print(f"half {h}: refused {r['refused']:.1%} of {r['n_unanswerable']}, "
              f"false refusals {r['false_refusals']:.1%} of {r['n_answerable']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
