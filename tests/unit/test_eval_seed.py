"""The seed golden set: shape, coverage of question kinds, and answers checked against the article."""

from evals.data import load_seed

DS = load_seed()
ARTICLE = DS.records[0].text
KINDS = {"factoid", "multi", "paraphrase", "unanswerable", "near-miss", "multi-turn"}


def test_seed_set_size_kinds_and_unique_ids():
    assert len(DS.questions) >= 40
    assert KINDS <= {q.kind for q in DS.questions}
    assert len({q.id for q in DS.questions}) == len(DS.questions)
    assert len(DS.records) == 1 and DS.records[0].doc_id.startswith("seeds/")


def test_answerable_items_quote_the_article():
    for q in DS.questions:
        if not q.answerable:
            assert q.answers == [] and q.must_cite == "" and q.gold_doc_ids == [], q.id
            continue
        assert q.must_cite and q.must_cite in ARTICLE, q.id
        assert q.answers and all(a in ARTICLE for a in q.answers), q.id
        assert q.gold_doc_ids == [DS.records[0].doc_id]


def test_multi_turn_items_carry_an_openai_style_history():
    turns = [q for q in DS.questions if q.kind == "multi-turn"]
    assert len(turns) >= 5
    for q in turns:
        assert q.history and [h["role"] for h in q.history][:2] == ["user", "assistant"], q.id
        assert all(h["content"].strip() for h in q.history)
    assert all(not q.history for q in DS.questions if q.kind != "multi-turn")
