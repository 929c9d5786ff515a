"""report.json (every number) and report.md (tables, configurations side by side)."""

from __future__ import annotations

import json
from pathlib import Path

# (section, label, path into a column's metrics, format)
ROWS: list[tuple[str, str, str, str]] = [
    ("Real documents (answerable: gold passage + gold string)",
     "answered with the right cited passage", "realdocs.right_cited_passage", "pct"),
    ("", "a citation overlaps the gold passage", "realdocs.cites_gold_passage", "pct"),
    ("", "answer holds the gold string(s)", "realdocs.answer_has_gold", "pct"),
    ("", "a citation is in the gold document", "realdocs.cites_gold_doc", "pct"),
    ("", "false refusals (answerable refused)", "realdocs.false_refusal", "pct"),
    ("", "unanswerable refused", "realdocs.unanswerable_refused", "pct"),
    ("", "near-miss refused", "realdocs.near_miss_refused", "pct"),
    ("", "out-of-scope refused", "realdocs.out_of_scope_refused", "pct"),
    ("Retrieval (answerable, vs gold doc ids)", "hit@1", "retrieval.hit@1", "f3"),
    ("", "hit@3", "retrieval.hit@3", "f3"),
    ("", "hit@5", "retrieval.hit@5", "f3"),
    ("", "hit@10", "retrieval.hit@10", "f3"),
    ("", "MRR@10", "retrieval.mrr@10", "f3"),
    ("", "nDCG@10", "retrieval.ndcg@10", "f3"),
    ("", "recall@5", "retrieval.recall@5", "f3"),
    ("", "recall@10", "retrieval.recall@10", "f3"),
    ("", "gold doc in the answer's top-k context", "retrieval.context_hit", "f3"),
    ("Answers (answerable; a refusal scores 0)", "containment (gold string in answer)", "answers.containment", "f3"),
    ("", "token F1 (SQuAD)", "answers.token_f1", "f3"),
    ("", "exact match (SQuAD)", "answers.exact_match", "f3"),
    ("", "ROUGE-L F", "answers.rougeL", "f3"),
    ("", "containment, answered only", "answers.containment_answered", "f3"),
    ("Refusals", "refusal rate (unanswerable)", "refusals.refusal_rate", "pct"),
    ("", "false-refusal rate (answerable)", "refusals.false_refusal_rate", "pct"),
    ("Citations (answers given)", "quote == source text[start:end]", "citations.quote_exact", "f3"),
    ("", "support (a cited quote holds a gold answer)", "citations.support", "f3"),
    ("", "must_cite passage cited (seed)", "citations.must_cite", "f3"),
    ("", "answer sentences with a citation", "citations.sentences_cited", "f3"),
    ("Latency per question", "p50 ms", "latency.p50_ms", "ms"),
    ("", "p95 ms", "latency.p95_ms", "ms"),
    ("Overall", "correct (gold string given, or refused when unanswerable)", "correct", "f3"),
    ("", "errors", "errors", "int"),
    ("", "answers not in the requested mode (LLM fallback)", "mode_fallbacks", "int"),
]


def get(metrics: dict, path: str):
    cur = metrics
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "ms":
        return f"{value:.0f}"
    if kind == "int":
        return str(int(value))
    return f"{value:.3f}"


def ok_columns(report: dict) -> list[dict]:
    return [c for c in report["configs"] if c["status"] == "ok"]


def metrics_table(columns: list[dict]) -> list[str]:
    lines = ["| | metric | " + " | ".join(f"`{c['name']}`" for c in columns) + " |",
             "|---|---|" + "---:|" * len(columns)]
    for section, label, path, kind in ROWS:
        values = [get(c["metrics"], path) for c in columns]
        if all(v is None for v in values):
            continue
        lines.append(f"| {section} | {label} | " + " | ".join(fmt(v, kind) for v in values) + " |")
    return lines


def kind_table(columns: list[dict]) -> list[str]:
    kinds = sorted({k for c in columns for k in c["metrics"]["by_kind"]})
    if len(kinds) <= 2:
        return []
    lines = ["| kind | n | " + " | ".join(f"`{c['name']}` correct / refused" for c in columns) + " |",
             "|---|---:|" + "---:|" * len(columns)]
    for kind in kinds:
        cells, n = [], 0
        for c in columns:
            row = c["metrics"]["by_kind"].get(kind, {})
            n = row.get("n", n)
            cells.append(f"{fmt(row.get('correct'), 'f3')} / {fmt(row.get('refused'), 'f3')}")
        lines.append(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    return lines


def markdown(report: dict) -> str:
    ds = report["dataset"]
    columns = ok_columns(report)
    out = [f"# Evaluation: {ds['name']}", "",
           f"{ds['questions']} questions ({ds['answerable']} answerable, {ds['unanswerable']} unanswerable) "
           f"over {ds['documents']} documents; data sha256 `{ds['sha256'][:16]}`; "
           f"selection {json.dumps(ds['selection'])}; commit `{(report.get('git_commit') or '?')[:10]}`; "
           f"{report['seconds']} s.", ""]
    out += metrics_table(columns) + [""]
    kinds = kind_table(columns)
    if kinds:
        out += ["## By question kind", ""] + kinds + [""]
    missing = [c for c in report["configs"] if c["status"] != "ok"]
    if missing:
        out += ["## Not run", ""] + [f"- `{c['name']}`: {c.get('reason', c['status'])}" for c in missing] + [""]
    out += judge_lines(report.get("llm_judge"))
    out += notes(report)
    return "\n".join(out) + "\n"


def judge_lines(judge: dict | None) -> list[str]:
    if not judge:
        return []
    if judge["status"] != "ok":
        return ["## LLM judge (separate, optional)", "", f"Not run: {judge['reason']}", ""]
    lines = ["## LLM judge (separate, optional)", "", "| configuration | accepted | judged | failed |",
             "|---|---:|---:|---:|"]
    for name, j in judge["configs"].items():
        lines.append(f"| `{name}` | {fmt(j['accepted'], 'f3')} | {j['judged']} | {j['failed']} |")
    return lines + [""]


def notes(report: dict) -> list[str]:
    return [
        "Notes: retrieval scores rank distinct documents in the order their chunks were retrieved "
        "(20 chunks deep). The baseline without an LLM has no answer step: its \"answer\" is the text of "
        "the chunks its default retriever returns, so it never refuses and its F1/EM reflect whole chunks.",
        "",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in report["packages"].items() if v),
        "",
    ]


def write(report: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return json_path, md_path
