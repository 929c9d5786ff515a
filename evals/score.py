"""Aggregate per-question rows into the report's numbers for one configuration."""

from __future__ import annotations

from collections import defaultdict

from evals import goldspan
from evals import metrics as m
from evals.data import EvalQuestion

RETRIEVAL_KEYS = [f"hit@{k}" for k in m.KS] + [f"recall@{k}" for k in m.KS] + ["mrr@10", "ndcg@10"]


def _rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def retrieval(rows: list[dict], qs: list[EvalQuestion]) -> dict:
    """Answerable questions with gold doc ids: ranking scores and context hit."""
    pairs = [(r, q) for r, q in zip(rows, qs) if q.answerable and q.gold_doc_ids]
    per_q = [m.retrieval_scores(r["ranked_doc_ids"], q.gold_doc_ids) for r, q in pairs]
    out = {k: m.mean(s[k] for s in per_q) for k in RETRIEVAL_KEYS}
    out["context_hit"] = _rate([bool(set(r["context_doc_ids"]) & set(q.gold_doc_ids)) for r, q in pairs])
    out["n"] = len(pairs)
    return out


def answers(rows: list[dict], qs: list[EvalQuestion]) -> dict:
    """Answerable questions; a refusal scores 0. `*_answered` only counts answers given."""
    pairs = [(r, q) for r, q in zip(rows, qs) if q.answerable and q.answers]
    texts = [("" if r["refused"] else m.strip_markers(r["answer"]), q.answers) for r, q in pairs]
    answered = [(t, g) for (t, g), (r, _) in zip(texts, pairs) if not r["refused"]]
    return {
        "containment": m.mean(float(m.contains_answer(t, g)) for t, g in texts),
        "token_f1": m.mean(m.token_f1(t, g) for t, g in texts),
        "exact_match": m.mean(m.exact_match(t, g) for t, g in texts),
        "rougeL": m.mean(m.rouge_l(t, g) for t, g in texts),
        "containment_answered": m.mean(float(m.contains_answer(t, g)) for t, g in answered),
        "n": len(pairs),
        "n_answered": len(answered),
    }


def refusals(rows: list[dict], qs: list[EvalQuestion]) -> dict:
    """Refusal rate on unanswerable and false-refusal rate on answerable, always together."""
    no = [r["refused"] for r, q in zip(rows, qs) if not q.answerable]
    yes = [r["refused"] for r, q in zip(rows, qs) if q.answerable]
    return {"refusal_rate": _rate(no), "false_refusal_rate": _rate(yes),
            "n_unanswerable": len(no), "n_answerable": len(yes)}


def citations(rows: list[dict], qs: list[EvalQuestion]) -> dict:
    given = [(r, q) for r, q in zip(rows, qs) if not r["refused"]]
    cites = [c for r, _ in given for c in r["citations"]]
    supported = [any(m.contains_answer(c["quote"], q.answers) for c in r["citations"])
                 for r, q in given if q.answerable and q.answers]
    must = [any(q.must_cite in c["quote"] for c in r["citations"]) for r, q in given if q.must_cite]
    sentence_share = [m.cited_sentence_share(r["answer"], [c["quote"] for c in r["citations"]]) for r, _ in given
                      if r.get("answer_kind") != "retrieved-chunks"]
    return {
        "quote_exact": _rate([bool(c["exact"]) for c in cites]),
        "support": _rate(supported),
        "must_cite": _rate(must),
        "sentences_cited": m.mean(sentence_share),
        "n_citations": len(cites),
        "n_answers": len(given),
    }


def latency(rows: list[dict]) -> dict:
    xs = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
    return {"p50_ms": m.percentile(xs, 50), "p95_ms": m.percentile(xs, 95), "mean_ms": m.mean(xs), "n": len(xs)}


def by_kind(rows: list[dict], qs: list[EvalQuestion]) -> dict:
    groups: dict[str, list[tuple[dict, EvalQuestion]]] = defaultdict(list)
    for r, q in zip(rows, qs):
        groups[q.kind].append((r, q))
    out = {}
    for kind, pairs in sorted(groups.items()):
        ok = [_correct(r, q) for r, q in pairs]
        out[kind] = {"n": len(pairs), "refused": _rate([r["refused"] for r, _ in pairs]), "correct": _rate(ok)}
    return out


def _correct(r: dict, q: EvalQuestion) -> bool:
    """Refused when unanswerable; answered with a gold string when answerable.

    Real-document questions (with gold spans) are correct only when answered with the right
    cited passage (see realdocs).
    """
    if not q.answerable:
        return bool(r["refused"])
    if q.gold_spans:
        return right_cited(r, q)
    return not r["refused"] and m.contains_answer(m.strip_markers(r["answer"]), q.answers)


def cites_gold(r: dict, q: EvalQuestion) -> bool:
    """Answered, and a citation shares at least one character with the gold passage."""
    return not r["refused"] and any(goldspan.overlaps(c, q.gold_spans) for c in r["citations"])


def right_cited(r: dict, q: EvalQuestion) -> bool:
    """Answered with the right cited passage: a citation overlaps the gold passage and the answer
    holds the gold string (every gold string for list answers)."""
    return cites_gold(r, q) and goldspan.has_gold(r["answer"], q.answers, q.answer_match)


def realdocs(rows: list[dict], qs: list[EvalQuestion]) -> dict | None:
    """The real-document sets' headline numbers; None for sets without gold passages."""
    if not any(q.gold_spans for q in qs):
        return None
    yes = [(r, q) for r, q in zip(rows, qs) if q.answerable and q.gold_spans]
    no = [(r, q) for r, q in zip(rows, qs) if not q.answerable]
    near = [r["refused"] for r, q in no if q.kind == "near-miss"]
    out_of_scope = [r["refused"] for r, q in no if q.kind != "near-miss"]
    return {
        "right_cited_passage": _rate([right_cited(r, q) for r, q in yes]),
        "cites_gold_passage": _rate([cites_gold(r, q) for r, q in yes]),
        "answer_has_gold": _rate([not r["refused"] and goldspan.has_gold(r["answer"], q.answers, q.answer_match)
                                  for r, q in yes]),
        "cites_gold_doc": _rate([not r["refused"] and any(c.get("doc_id") in q.gold_doc_ids for c in r["citations"])
                                 for r, q in yes]),
        "false_refusal": _rate([r["refused"] for r, _ in yes]),
        "unanswerable_refused": _rate([r["refused"] for r, _ in no]),
        "near_miss_refused": _rate(near),
        "out_of_scope_refused": _rate(out_of_scope),
        "n_answerable": len(yes), "n_near_miss": len(near), "n_out_of_scope": len(out_of_scope),
    }


def score(rows: list[dict], qs: list[EvalQuestion]) -> dict:
    return {
        "retrieval": retrieval(rows, qs),
        "answers": answers(rows, qs),
        "refusals": refusals(rows, qs),
        "citations": citations(rows, qs),
        "latency": latency(rows),
        "by_kind": by_kind(rows, qs),
        "realdocs": realdocs(rows, qs),
        "correct": _rate([_correct(r, q) for r, q in zip(rows, qs)]),
        "errors": sum(1 for r in rows if r.get("error")),
        "n": len(rows),
    }
