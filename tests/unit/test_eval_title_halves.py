"""The title split of evals/title_halves.py keeps an article's questions together."""

import json

from evals.title_halves import half_of, rates


def test_questions_of_one_article_share_a_half_and_rates_are_counted(tmp_path):
    docs = [{"id": "s::A::p0", "title": "A"}, {"id": "s::A::p1", "title": "A"}, {"id": "s::B::p0", "title": "B"}]
    qs = [{"id": "1", "answers": ["x"], "answerable": True, "context_doc_id": "s::A::p0"},
          {"id": "2", "answers": [], "answerable": False, "context_doc_id": "s::A::p1"},
          {"id": "3", "answers": [], "answerable": False, "context_doc_id": "s::B::p0"}]
    (tmp_path / "documents.jsonl").write_text("\n".join(map(json.dumps, docs)))
    (tmp_path / "questions.jsonl").write_text("\n".join(map(json.dumps, qs)))
    rows = [{"fingerprint": "f"}, {"id": "1", "refused": True}, {"id": "2", "refused": True}, {"id": "3", "refused": False}]
    (tmp_path / "r.jsonl").write_text("\n".join(map(json.dumps, rows)))
    got = rates(tmp_path, tmp_path / "r.jsonl")
    a = got[half_of("A")]
    assert a["n_answerable"] == 1 and a["false_refusals"] == 1.0
    if half_of("A") == half_of("B"):
        assert a["n_unanswerable"] == 2 and a["refused"] == 0.5
    else:
        assert a["n_unanswerable"] == 1 and a["refused"] == 1.0
        assert got[half_of("B")]["refused"] == 0.0
