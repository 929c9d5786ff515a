"""evals.data selection, evals.score aggregation, evals.report tables, the result cache."""

import json

import pytest

from evals import report, score
from evals.data import EvalQuestion, EvalSet, load_evaldata, resolve_dataset, select
from evals.runner import Config, ResultCache, run_cached
from rag.errors import InputError
from rag.ingest import SourceRecord

DOC = "Peskov criticized the remarks. NATO is a nuclear alliance."


def q(id_, answerable=True, answers=("Peskov",), kind="", gold=("d1",), must_cite=""):
    return EvalQuestion(id_, f"question {id_}?", answerable, list(answers) if answerable else [],
                        list(gold) if answerable else [], kind or ("factoid" if answerable else "unanswerable"),
                        must_cite)


def row(id_, answer="", refused=False, cites=(), ranked=("d1",), latency=10.0):
    return {"id": id_, "answer": answer, "refused": refused, "citations": list(cites),
            "context_doc_ids": list(ranked)[:2], "ranked_doc_ids": list(ranked), "latency_ms": latency,
            "error": None}


def cite(quote, exact=True):
    return {"doc_id": "d1", "start": 0, "end": len(quote), "quote": quote, "exact": exact}


def test_score_counts_refusals_and_false_refusals_together():
    qs = [q("a"), q("b"), q("u1", False), q("u2", False)]
    rows = [row("a", "Peskov criticized the remarks. [1]", cites=[cite("Peskov criticized the remarks.")]),
            row("b", refused=True), row("u1", refused=True), row("u2", "NATO is a nuclear alliance. [1]",
                                                                   cites=[cite("NATO", exact=False)])]
    s = score.score(rows, qs)
    assert s["refusals"] == {"refusal_rate": 0.5, "false_refusal_rate": 0.5, "n_unanswerable": 2,
                             "n_answerable": 2}
    assert s["answers"]["containment"] == 0.5 and s["answers"]["containment_answered"] == 1.0
    assert s["citations"]["quote_exact"] == 0.5
    assert s["citations"]["support"] == 1.0
    assert s["citations"]["sentences_cited"] == 1.0
    assert s["correct"] == 0.5
    assert s["retrieval"]["hit@1"] == 1.0 and s["retrieval"]["n"] == 2
    assert s["latency"]["p50_ms"] == 10.0


def test_must_cite_and_by_kind():
    qs = [q("a", must_cite="Peskov criticized"), q("n", False, kind="near-miss")]
    rows = [row("a", "Peskov criticized the remarks. [1]", cites=[cite("Peskov criticized the remarks.")]),
            row("n", refused=True)]
    s = score.score(rows, qs)
    assert s["citations"]["must_cite"] == 1.0
    assert s["by_kind"]["near-miss"] == {"n": 1, "refused": 1.0, "correct": 1.0}


def test_select_balances_the_limit_and_scopes_titles():
    records = [SourceRecord("a1", "x", "A", "s"), SourceRecord("a2", "y", "A", "s"), SourceRecord("b1", "z", "B", "s")]
    qs = [q(f"y{i}", gold=("a1",)) for i in range(5)] + [q(f"n{i}", False) for i in range(5)]
    ds = EvalSet("t", "t", records, qs, "hash")
    out = select(ds, limit=4, scope="titles")
    assert [x.id for x in out.questions] == ["y0", "y1", "n0", "n1"]
    assert [r.doc_id for r in out.records] == ["a1", "a2"]
    assert select(ds, limit=20).selection["questions"] == 10
    only_yes = EvalSet("t", "t", records, qs[:5], "hash")
    assert len(select(only_yes, limit=4).questions) == 4


def test_load_evaldata_shape(tmp_path):
    (tmp_path / "documents.jsonl").write_text(json.dumps({"id": "d1", "title": "T", "text": DOC, "source": "s"}) + "\n")
    (tmp_path / "questions.jsonl").write_text(
        json.dumps({"id": "q1", "question": "Who?", "answers": ["Peskov"], "gold_doc_ids": ["d1"],
                    "answerable": True}) + "\n")
    ds = load_evaldata(resolve_dataset(str(tmp_path)))
    assert ds.name == tmp_path.name and ds.records[0].doc_id == "d1" and ds.questions[0].gold_doc_ids == ["d1"]
    assert len(ds.sha256) == 64
    with pytest.raises(InputError):
        resolve_dataset(str(tmp_path / "nope"))


def test_result_cache_resumes_and_invalidates(tmp_path):
    path = tmp_path / "r.jsonl"
    qs = [q("a"), q("b")]
    calls = []

    def answer(item):
        calls.append(item.id)
        return row(item.id)

    run_cached(ResultCache(path, "fp1"), qs[:1], answer)
    run_cached(ResultCache(path, "fp1"), qs, answer)
    assert calls == ["a", "b"]
    with path.open("a") as fh:
        fh.write('{"id": "trunc')  # a killed write is ignored
    rows = run_cached(ResultCache(path, "fp1"), qs, answer)
    assert calls == ["a", "b"] and [r["id"] for r in rows] == ["a", "b"]
    run_cached(ResultCache(path, "fp2"), qs, answer)
    assert calls == ["a", "b", "a", "b"]


def test_report_markdown_has_every_config_side_by_side():
    qs = [q("a"), q("u", False)]
    metrics = score.score([row("a", "Peskov [1]", cites=[cite("Peskov")]), row("u", refused=True)], qs)
    rep = {"dataset": {"name": "t", "questions": 2, "answerable": 1, "unanswerable": 1, "documents": 1,
                       "sha256": "0" * 64, "selection": {}},
           "configs": [{"name": "ours", "status": "ok", "metrics": metrics},
                       {"name": "baseline", "status": "ok", "metrics": metrics},
                       {"name": "gen", "status": "unavailable", "reason": "no LLM"}],
           "packages": {"x": "1"}, "git_commit": "abc", "seconds": 1.0}
    md = report.markdown(rep)
    assert "| `ours` | `baseline` |" in md
    assert "| Refusals | refusal rate (unanswerable) | 100.0% | 100.0% |" in md
    assert "false-refusal rate (answerable) | 0.0% | 0.0% |" in md
    assert "`gen`: no LLM" in md


def test_config_slug():
    assert Config("ours/hybrid/k5/extractive").slug == "ours-hybrid-k5-extractive"


def test_judge_is_unavailable_without_an_endpoint(make_settings):
    from evals import judge

    assert "no LLM endpoint" in judge.unavailable(make_settings())
    assert judge.unavailable(make_settings(llm_base_url="http://127.0.0.1:9/v1")) is None


def test_judge_verdicts_from_a_fake_client(make_settings):
    from types import SimpleNamespace

    from evals import judge

    j = judge.Judge(make_settings(llm_base_url="http://127.0.0.1:9/v1"))
    replies = iter(["Yes.", "no", "maybe"])

    def create(**kwargs):
        assert "Peskov" in kwargs["messages"][0]["content"]
        msg = SimpleNamespace(content=next(replies))
        return SimpleNamespace(choices=[SimpleNamespace(message=msg)])

    j._client = SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=create)))
    item = q("a")
    assert [j.verdict(item, "Peskov [1]") for _ in range(3)] == [True, False, None]


def test_evaldata_dir_defaults_next_to_the_repo_and_follows_the_env(monkeypatch, tmp_path):
    from evals.data import ROOT, evaldata_dir

    monkeypatch.delenv("RAG_EVALDATA_DIR", raising=False)
    assert evaldata_dir() == (ROOT / "../shared/evaldata").resolve()
    monkeypatch.setenv("RAG_EVALDATA_DIR", str(tmp_path))
    assert evaldata_dir() == tmp_path
    monkeypatch.setenv("RAG_EVALDATA_DIR", "some/rel")
    assert evaldata_dir() == (ROOT / "some/rel").resolve()
