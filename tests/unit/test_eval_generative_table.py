"""evals.generative_table: issue 13's columns, and the verifier-only counterfactual of kept answers."""

from evals.data import EvalQuestion
from evals.generative_table import as_verifier_refusal, summary


def _q(id_, answerable=True, must_cite=""):
    return EvalQuestion(id_, f"{id_}?", answerable, ["Peskov"] if answerable else [], [], "", must_cite)


def _row(id_, answer="", refused=False, quote="", kept=False, removed=0):
    cites = [{"doc_id": "d", "start": 0, "end": len(quote), "quote": quote, "exact": True}] if quote else []
    return {"id": id_, "answer": answer, "refused": refused, "citations": cites, "latency_ms": 2000.0,
            "llm": {"called": True, "removed": removed, "kept_extractive": kept, "first_token_ms": 500.0}}


def test_kept_extractive_answers_count_as_answers_and_as_refusals_before_the_rule():
    qs = [_q("a", must_cite="Dmitry Peskov"), _q("b"), _q("u", answerable=False)]
    rows = [_row("a", "Dmitry Peskov said so. [1]", quote="Dmitry Peskov said so.", kept=True, removed=1),
            _row("b", "Peskov. [1]", quote="Peskov spoke."),
            _row("u", "Peskov spoke. [1]", quote="Peskov spoke.", kept=True, removed=2)]
    s = summary(rows, qs)
    assert (s["answered_cited"], s["false_refusals"], s["refused_unanswerable"]) == (2, 0, 0)
    assert (s["kept_extractive"], s["kept_extractive_unanswerable"], s["removed_sentences"]) == (2, 1, 3)
    before = summary([as_verifier_refusal(r) for r in rows], qs)
    assert (before["answered_cited"], before["false_refusals"], before["refused_unanswerable"]) == (1, 1, 1)
    assert s["p50_s"] == 2.0 and s["first_token_p50_s"] == 0.5 and s["exact_quotes"] == "3/3"


def test_seed_rule_needs_the_must_cite_passage_inside_a_citation():
    qs = [_q("a", must_cite="Dmitry Peskov")]
    assert summary([_row("a", "Peskov did. [1]", quote="Peskov did.")], qs)["answered_cited"] == 0


def test_kept_answers_are_counted_by_case_and_a_kept_verified_text_is_its_counterfactual():
    from rag.llm.keep import ALL_REMOVED, NOT_CITED, REWORDED

    qs = [_q("a"), _q("b"), _q("c")]
    rows = [{**_row("a", "Peskov spoke. [1]", quote="Peskov spoke.", kept=True), "notice": NOT_CITED},
            {**_row("b", "Peskov spoke. [1]", quote="Peskov spoke.", kept=True), "notice": ALL_REMOVED},
            {**_row("c", "Peskov spoke. [1]", quote="Peskov spoke.", kept=True), "notice": REWORDED}]
    rows[0]["llm"]["verified_text"] = "Someone else spoke. [1]"
    assert summary(rows, qs)["kept_why"] == {"all_removed": 1, "not_cited": 1, "fact_dropped": 0, "reworded": 1}
    before = [as_verifier_refusal(r) for r in rows]
    assert (before[0]["refused"], before[0]["answer"]) == (False, "Someone else spoke. [1]")
    assert before[1]["refused"] is True
