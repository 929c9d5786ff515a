"""`rag eval` end to end on a tiny evaldata-shaped set: report files, baseline column, cache."""

import json

import pytest

from rag import cli

DOCS = [
    {"id": "d1", "title": "Oil", "source": "t", "text": "The 1973 oil crisis began in October 1973 when OAPEC "
     "proclaimed an oil embargo. By the end of the embargo in March 1974, the price of oil had risen."},
    {"id": "d2", "title": "Normans", "source": "t", "text": "The Normans were the people who gave their name "
     "to Normandy, a region in France. Their leader Rollo swore fealty to King Charles III."},
    {"id": "d3", "title": "Rhine", "source": "t", "text": "The Rhine flows from the Swiss Alps to the North Sea. "
     "It is about 1,230 kilometres long."},
]
QUESTIONS = [
    {"id": "q1", "question": "When did the 1973 oil crisis begin?", "answers": ["October 1973"],
     "gold_doc_ids": ["d1"], "answerable": True},
    {"id": "q2", "question": "Who swore fealty to King Charles III?", "answers": ["Rollo"],
     "gold_doc_ids": ["d2"], "answerable": True},
    {"id": "q3", "question": "Who won the 1974 football World Cup final?", "answers": [],
     "gold_doc_ids": [], "answerable": False},
]


@pytest.fixture
def dataset(tmp_path):
    folder = tmp_path / "tiny_set"
    folder.mkdir()
    (folder / "documents.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return folder


def run(tmp_path, dataset, *extra):
    out = tmp_path / "out"
    argv = ["--data-dir", str(tmp_path / "data"), "eval", "--dataset", str(dataset), "--out", str(out),
            "--no-progress", *extra]
    assert cli.main(argv) == 0
    return out, json.loads((out / "report.json").read_text())


def test_eval_writes_reports_with_the_baseline_beside_ours(tmp_path, dataset, capsys):
    out, rep = run(tmp_path, dataset)
    names = [c["name"] for c in rep["configs"]]
    assert names == ["ours/hybrid/k5/extractive", "baseline/llama-index/k2"]
    ours = rep["configs"][0]["metrics"]
    assert ours["retrieval"]["hit@1"] == 1.0
    assert ours["citations"]["quote_exact"] == 1.0
    assert ours["refusals"]["n_unanswerable"] == 1 and ours["refusals"]["n_answerable"] == 2
    assert rep["dataset"]["sha256"] and rep["packages"]["rouge-score"] and rep["settings"]["chunk_size"]
    assert rep["ingest"]["ours"]["collection"].startswith("eval-tiny_set-")
    for name in ("report.md", "hit_at_k.png", "refusals.png", "latency.png"):
        assert (out / name).stat().st_size > 0
    assert "| `ours/hybrid/k5/extractive` | `baseline/llama-index/k2` |" in (out / "report.md").read_text()
    assert "hit@1" in capsys.readouterr().out

    _, again = run(tmp_path, dataset)  # cached: nothing is answered twice
    assert [c["cached_rows"] for c in again["configs"]] == [3, 3]
    assert again["ingest"]["ours"]["added"] == 0 and again["ingest"]["baseline"]["reused"]


def test_compare_reports_generative_as_not_run_without_an_llm(tmp_path, dataset, monkeypatch):
    monkeypatch.delenv("RAG_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("RAG_LLM_API_KEY", raising=False)
    out, rep = run(tmp_path, dataset, "--compare", "--no-baseline", "--no-plots", "--limit", "2", "--judge")
    status = {c["name"]: c["status"] for c in rep["configs"]}
    assert status["ours/hybrid/k5/generative"] == "unavailable"
    assert {"ours/dense/k5/extractive", "ours/bm25/k5/extractive", "ours/hybrid/k3/extractive"} <= set(status)
    assert rep["dataset"]["questions"] == 2 and rep["dataset"]["unanswerable"] == 1
    assert rep["llm_judge"]["status"] == "unavailable"
    md = (out / "report.md").read_text()
    assert "## Not run" in md and "## LLM judge (separate, optional)" in md


def test_unknown_dataset_is_a_one_line_input_error(tmp_path, capsys):
    assert cli.main(["--data-dir", str(tmp_path), "eval", "--dataset", str(tmp_path / "missing")]) == 2
    assert "no evaluation set" in capsys.readouterr().err
