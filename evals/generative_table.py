"""Issue 13's generative table from `rag eval` result rows, with and without the kept extractive answer.

    python -m evals.generative_table seed=/tmp/x/results/ours-hybrid-k5-generative.jsonl \\
        realdocs_dev=... squad2_dev:100:titles=...

Each argument is DATASET[:LIMIT[:SCOPE]]=ROWS.jsonl (as given to `rag eval`). "Answered + cited":
seed — an expected answer in the text and the must-cite passage inside a citation;
real-document sets — answered with the right cited passage (evals.score.right_cited);
others — answered, and a cited quote holds a gold answer. A generative row whose answer is the
kept extractive one (`llm.kept_extractive`) is also scored as the answer it replaced (the
verifier's refusal, or its verified text): the "verifier only" figures, the rule's counterfactual.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from evals import metrics as m
from evals.data import EvalQuestion, load_dataset, read_jsonl, select
from evals.score import right_cited
from rag.types import REFUSAL_TEXT


def answered_cited(r: dict, q: EvalQuestion) -> bool:
    if r["refused"] or not q.answerable:
        return False
    if q.gold_spans:
        return right_cited(r, q)
    if q.must_cite:
        return (m.contains_answer(m.strip_markers(r["answer"]), q.answers)
                and any(q.must_cite in c["quote"] for c in r["citations"]))
    return any(m.contains_answer(c["quote"], q.answers) for c in r["citations"])


def _kept(r: dict) -> bool:
    return bool((r.get("llm") or {}).get("kept_extractive"))


def kept_why(rows: list[dict]) -> dict[str, int]:
    """Kept extractive answers by the rule's case (rag.llm.keep): all removed / not cited / fact
    dropped / reworded."""
    from rag.llm.keep import ALL_REMOVED, NOT_CITED, REWORDED

    out = {"all_removed": 0, "not_cited": 0, "fact_dropped": 0, "reworded": 0}
    for r in rows:
        if _kept(r):
            notice = r.get("notice") or ""
            out["all_removed" if ALL_REMOVED in notice else "not_cited" if NOT_CITED in notice
                else "reworded" if REWORDED in notice else "fact_dropped"] += 1
    return out


def as_verifier_refusal(r: dict) -> dict:
    """The row as it was before the rule: the verifier's refusal (its verified text, when it
    had one, scored without citations: the row does not keep them)."""
    if not _kept(r):
        return r
    text = (r.get("llm") or {}).get("verified_text")
    if text and text != REFUSAL_TEXT:
        return {**r, "refused": False, "answer": text, "citations": []}
    return {**r, "refused": True, "answer": "", "citations": []}


def summary(rows: list[dict], qs: list[EvalQuestion]) -> dict:
    by_id = {q.id: q for q in qs}
    rows = [r for r in rows if r.get("id") in by_id]
    yes = [r for r in rows if by_id[r["id"]].answerable]
    no = [r for r in rows if not by_id[r["id"]].answerable]
    cites = [c for r in rows if not r["refused"] for c in r["citations"]]
    called = [r for r in rows if (r.get("llm") or {}).get("called")]
    latency = [r["latency_ms"] / 1e3 for r in rows if r.get("latency_ms") is not None]
    first = [r["llm"]["first_token_ms"] / 1e3 for r in called if r["llm"].get("first_token_ms")]
    return {
        "n": len(rows), "answerable": len(yes), "unanswerable": len(no),
        "answered_cited": sum(answered_cited(r, by_id[r["id"]]) for r in yes),
        "refused_unanswerable": sum(bool(r["refused"]) for r in no),
        "false_refusals": sum(bool(r["refused"]) for r in yes),
        "exact_quotes": f"{sum(bool(c['exact']) for c in cites)}/{len(cites)}",
        "removed_sentences": sum(int(r["llm"].get("removed") or 0) for r in called),
        "answers_with_removal": sum(1 for r in called if r["llm"].get("removed")),
        "llm_calls": len(called),
        "kept_extractive": sum(_kept(r) for r in rows),
        "kept_extractive_unanswerable": sum(_kept(r) for r in no),
        "kept_why": kept_why(rows),
        "p50_s": statistics.median(latency) if latency else None, "p95_s": m.percentile(latency, 95),
        "first_token_p50_s": statistics.median(first) if first else None,
    }


def read_rows(path: Path) -> list[dict]:
    """The result rows of a `rag eval` cache file (its first line is the fingerprint header)."""
    return [row for row in read_jsonl(path) if "id" in row]


def questions(spec: str) -> list[EvalQuestion]:
    name, *rest = spec.split(":")
    limit = int(rest[0]) if rest and rest[0] else None
    scope = rest[1] if len(rest) > 1 else "all"
    return select(load_dataset(name), limit, scope).questions


def main(argv: list[str]) -> int:
    for arg in argv:
        spec, path = arg.split("=", 1)
        qs, rows = questions(spec), read_rows(Path(path))
        out = {"set": spec, "rows": path, **summary(rows, qs)}
        if any(_kept(r) for r in rows):
            before = summary([as_verifier_refusal(r) for r in rows], qs)
            out["verifier_only"] = {k: before[k] for k in ("answered_cited", "refused_unanswerable",
                                                           "false_refusals")}
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
