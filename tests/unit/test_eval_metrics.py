"""Scoring functions of evals.metrics on hand-computed cases."""

import math

import pytest

from evals import metrics as m


def test_normalize_answer_follows_squad():
    assert m.normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert m.normalize_answer("an apple, a pear") == "apple pear"
    assert m.normalize_answer("“Peskov’s”") == "peskovs"


def test_exact_match_and_token_f1():
    assert m.exact_match("the Normans", ["Normans"]) == 1.0
    assert m.exact_match("Normans of France", ["Normans"]) == 0.0
    # pred: normans of france (3 tokens), gold: normans (1): p=1/3, r=1 -> f1=1/2
    assert m.token_f1("Normans of France", ["Normans", "Vikings"]) == pytest.approx(0.5)
    assert m.token_f1("", ["x"]) == 0.0
    assert m.token_f1("anything", []) == 0.0


def test_containment_is_word_bounded_and_normalised():
    assert m.contains_answer("It was made in 2014 [1].", ["2014"])
    assert m.contains_answer("approximately 20 firms", ["20"])
    assert not m.contains_answer("in 20145", ["2014"])
    assert not m.contains_answer("anything", [])
    assert not m.contains_answer("the", ["the"])  # normalises to empty: never counted


def test_rouge_l_uses_rouge_score():
    assert m.rouge_l("the cat sat on the mat", ["the cat sat on the mat"]) == pytest.approx(1.0)
    assert 0 < m.rouge_l("a cat sat", ["the cat sat on the mat"]) < 1
    assert m.rouge_l("", ["x"]) == 0.0


def test_retrieval_scores_dedupe_and_rank():
    ranked = ["a#0", "b", "b", "gold", "c", "gold2"]
    ranked = [r.split("#")[0] for r in ranked]
    s = m.retrieval_scores(ranked, ["gold", "gold2"])
    # distinct ranking: a, b, gold, c, gold2
    assert s["hit@1"] == 0.0 and s["hit@3"] == 1.0
    assert s["mrr@10"] == pytest.approx(1 / 3)
    assert s["recall@3"] == 0.5 and s["recall@5"] == 1.0
    dcg = 1 / math.log2(4) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3)
    assert s["ndcg@10"] == pytest.approx(dcg / idcg)


def test_retrieval_scores_without_hits():
    s = m.retrieval_scores([], ["g"])
    assert s["hit@10"] == 0.0 and s["mrr@10"] == 0.0 and s["ndcg@10"] == 0.0


@pytest.mark.parametrize("text, share", [
    ("First sentence. [1] Second one. [2]", 1.0),
    ("Quote one [1] quote two [2]", 1.0),
    ("Cited fact [1]. Uncited claim.", 0.5),
    ("No markers at all.", 0.0),
    ("", None),
])
def test_cited_sentence_share(text, share):
    assert m.cited_sentence_share(text) == share


def test_cited_quotes_stay_whole_and_abbreviations_do_not_split():
    quote = "The service was created by WhatsApp Inc. of Mountain View ... Sep 12, 2021 ... US Open."
    assert m.cited_sentence_share(f"{quote} [1]", [quote]) == 1.0
    assert m.answer_sentences("Made by WhatsApp Inc. of Mountain View. [1]") == [
        "Made by WhatsApp Inc. of Mountain View. [1]"]


def test_strip_markers():
    assert m.strip_markers("Peskov criticized it. [1] More [2][3]") == "Peskov criticized it. More"


def test_percentile_matches_linear_interpolation():
    xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert m.percentile(xs, 50) == pytest.approx(5.5)
    assert m.percentile(xs, 95) == pytest.approx(9.55)
    assert m.percentile([], 50) is None
    assert m.mean([None, 1, 3]) == 2


def test_sweep_auroc_and_grid_use_the_real_select():
    from evals.data import EvalQuestion, EvalSet
    from evals.sweep import DEFAULTS, auroc, evaluate_point, grid_points

    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.5], [0.5]) == 0.5
    assert auroc([], [0.1]) is None
    qs = [EvalQuestion("y", "q?", True, ["Peskov"], ["d"]), EvalQuestion("n", "q?", False, [], [])]
    good = {"text": "Peskov said so.", "score": 0.6, "coverage": 0.6, "similarity": 0.6, "typed_ok": True}
    weak = {"text": "Something else.", "score": 0.3, "coverage": 0.3, "similarity": 0.3, "typed_ok": True}
    rows = [{"id": "y", "scored": [good]}, {"id": "n", "scored": [weak]}]
    ds = EvalSet("t", "t", [], qs, "h")
    point = evaluate_point(rows, ds, dict(DEFAULTS))
    assert point["refusal_rate"] == 1.0 and point["false_refusal_rate"] == 0.0 and point["containment"] == 1.0
    assert evaluate_point(rows, ds, {**DEFAULTS, "min_score": 0.7})["false_refusal_rate"] == 1.0
    assert grid_points()[0] == (DEFAULTS, False)
