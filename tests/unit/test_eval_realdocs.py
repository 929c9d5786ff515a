"""Real-document eval sets: gold-passage location, loading through the real loaders, scoring."""

import json
from pathlib import Path

import pytest

from evals import goldspan, report, score
from evals.data import DATASETS_DIR, EvalQuestion, load_dataset, load_realdocs
from rag.errors import InputError

WRAPPED = "The Debian base-passwd package keeps the update-\npasswd tool\n  in sync. It ﬁles bugs."


# --- locating gold passages ------------------------------------------------------------
def test_locate_ignores_wrapping_hyphenation_ligatures_and_markup():
    spans = goldspan.locate(WRAPPED, "the update-passwd tool in sync")
    assert len(spans) == 1
    start, end = spans[0]
    assert WRAPPED[start:end] == "the update-\npasswd tool\n  in sync"
    assert goldspan.locate(WRAPPED, "It files bugs") == [(WRAPPED.index("It"), len(WRAPPED) - 1)]
    md = "separated by a **boundary**: a marker"
    assert goldspan.locate(md, "separated by a boundary: a marker") == [(0, len(md))]


def test_locate_returns_every_occurrence_and_nothing_for_absent_text():
    text = "Joey Hess wrote it. Copyright 2001 Joey Hess."
    assert goldspan.locate(text, "Joey Hess") == [(0, 9), (35, 44)]
    assert goldspan.locate(text, "Colin Watson") == []
    assert goldspan.locate(text, "  ...  ") == []


def test_overlap_needs_a_shared_character_in_the_same_document():
    spans = [("d1", 10, 20)]
    assert goldspan.overlaps({"doc_id": "d1", "start": 15, "end": 30}, spans)
    assert not goldspan.overlaps({"doc_id": "d1", "start": 20, "end": 30}, spans)  # adjacent
    assert not goldspan.overlaps({"doc_id": "d2", "start": 10, "end": 20}, spans)
    assert not goldspan.overlaps({"doc_id": "d1", "start": None, "end": None}, spans)


def test_has_gold_any_all_and_line_end_hyphenation():
    assert goldspan.has_gold("Run the update-\npasswd tool. [1]", ["update-passwd"])
    assert goldspan.has_gold("Debian and Fedora [1]", ["Debian", "openSUSE"], "any")
    assert not goldspan.has_gold("Debian and Fedora [1]", ["Debian", "openSUSE"], "all")
    assert goldspan.has_gold("Debian, Fedora and openSUSE [1]", ["Debian", "openSUSE"], "all")
    assert not goldspan.has_gold("anything", [])


# --- loading ---------------------------------------------------------------------------
def write_set(root: Path, questions: list[dict], share_from: str = "") -> Path:
    folder = root / ("twin" if share_from else "mini")
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "faq.txt").write_text("Why?\n\n\tBecause the kernel does\n\tnot group threads.\n")
    (folder / "files" / "guide.md").write_text("# Guide\n\nUse **MultipartParser** for cloud storage.\n")
    (folder / "files" / "page.html").write_text("<html><title>Page</title><body><p>Stability: 0 -\nDeprecated."
                                                "</p></body></html>")
    if share_from:
        (folder / "dataset.json").write_text(json.dumps({"questions": f"../{share_from}/questions.jsonl"}))
    else:
        (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    return folder


QUESTIONS = [
    {"id": "a1", "question": "Why no threads?", "answerable": True, "kind": "why", "doc": "faq",
     "answers": ["does not group"], "gold_passage": "the kernel does not group threads"},
    {"id": "a2", "question": "Cloud?", "answerable": True, "kind": "what", "doc": "guide",
     "answers": ["MultipartParser"], "answer_match": "all", "gold_passage": "Use MultipartParser"},
    {"id": "a3", "question": "Level 0?", "answerable": True, "kind": "what", "doc": "page",
     "answers": ["Deprecated"], "gold_passage": "Stability: 0 - Deprecated"},
    {"id": "n1", "question": "Who?", "answerable": False, "kind": "near-miss", "doc": "faq"},
]


def test_load_realdocs_reads_files_and_locates_gold_spans(tmp_path):
    ds = load_realdocs(write_set(tmp_path, QUESTIONS))
    assert sorted(r.doc_id for r in ds.records) == ["mini/faq.txt", "mini/guide.md", "mini/page.html"]
    texts = ds.texts
    by_id = {q.id: q for q in ds.questions}
    assert by_id["a1"].gold_doc_ids == ["mini/faq.txt"] and by_id["a2"].answer_match == "all"
    doc, start, end = by_id["a1"].gold_spans[0]
    assert texts[doc][start:end] == "the kernel does\n\tnot group threads"
    doc, start, end = by_id["a3"].gold_spans[0]
    assert doc == "mini/page.html" and "Deprecated" in texts[doc][start:end]
    assert by_id["n1"].gold_spans == () and by_id["n1"].kind == "near-miss"


def test_twin_set_shares_questions_through_dataset_json(tmp_path):
    write_set(tmp_path, QUESTIONS)
    twin = load_realdocs(write_set(tmp_path, [], share_from="mini"))
    assert [q.id for q in twin.questions] == [q["id"] for q in QUESTIONS]
    assert twin.questions[0].gold_doc_ids == ["twin/faq.txt"]


def test_missing_gold_passage_or_document_is_an_input_error(tmp_path):
    bad = [dict(QUESTIONS[0], gold_passage="not in the text at all")]
    with pytest.raises(InputError, match="gold passage not found.*a1"):
        load_realdocs(write_set(tmp_path / "x", bad))
    with pytest.raises(InputError, match="no document with stem 'nope'"):
        load_realdocs(write_set(tmp_path / "y", [dict(QUESTIONS[0], doc="nope")]))


@pytest.mark.parametrize("name,min_q,min_near", [("realdocs_dev", 60, 20), ("realdocs_dev_pdf", 60, 20),
                                                 ("realdocs_holdout", 40, 15), ("realdocs_holdout_pdf", 40, 15)])
def test_committed_sets_load_with_every_gold_passage_located(name, min_q, min_near):
    ds = load_dataset(name)  # raises if a gold passage is not found in the extracted text
    kinds = {Path(r.doc_id).suffix for r in ds.records}
    assert kinds == ({".pdf"} if name.endswith("_pdf") else {".txt", ".md", ".html", ".pdf"})
    assert len(ds.questions) >= min_q
    assert sum(q.kind == "near-miss" for q in ds.questions) >= min_near
    assert all(q.gold_spans for q in ds.questions if q.answerable)
    assert (DATASETS_DIR / name / "NOTICE.md").is_file()



@pytest.mark.parametrize("name", ["realdocs_dev2", "realdocs_dev2_untuned"])
def test_second_dev_set_halves_load_and_differ_in_documents(name):
    ds = load_dataset(name)  # raises if a gold passage is not found in the extracted text
    assert {Path(r.doc_id).suffix for r in ds.records} == {".txt", ".md", ".pdf"}
    assert len(ds.questions) >= 60 and sum(q.kind == "near-miss" for q in ds.questions) >= 15
    assert all(q.gold_spans for q in ds.questions if q.answerable)
    other = load_dataset("realdocs_dev2_untuned" if name == "realdocs_dev2" else "realdocs_dev2")
    assert not {Path(r.doc_id).stem for r in ds.records} & {Path(r.doc_id).stem for r in other.records}
    assert (DATASETS_DIR / name / "NOTICE.md").is_file()

# --- scoring ---------------------------------------------------------------------------
def rq(id_, answerable=True, kind="what", answers=("37",), match="any"):
    spans = (("d1", 100, 120),) if answerable else ()
    return EvalQuestion(id_, "q?", answerable, list(answers) if answerable else [], ["d1"] if answerable else [],
                        kind, gold_passage="x" if answerable else "", gold_spans=spans, answer_match=match)


def rrow(id_, answer="", refused=False, span=(100, 130), doc="d1"):
    cites = [] if refused else [{"doc_id": doc, "start": span[0], "end": span[1], "quote": answer, "exact": True}]
    return {"id": id_, "answer": answer, "refused": refused, "citations": cites, "context_doc_ids": [doc],
            "ranked_doc_ids": [doc], "latency_ms": 1.0, "error": None}


def test_realdocs_score_separates_passage_answer_and_refusal_kinds():
    qs = [rq("ok"), rq("wrong-span"), rq("no-gold"), rq("refused"),
          rq("n1", False, "near-miss"), rq("n2", False, "near-miss"), rq("o1", False, "out-of-scope")]
    rows = [rrow("ok", "It had uid 37. [1]"), rrow("wrong-span", "uid 37 [1]", span=(0, 50)),
            rrow("no-gold", "It had a uid. [1]"), rrow("refused", refused=True),
            rrow("n1", refused=True), rrow("n2", "It had uid 37. [1]"), rrow("o1", refused=True)]
    s = score.score(rows, qs)
    rd = s["realdocs"]
    assert rd["right_cited_passage"] == 0.25  # only "ok": gold passage cited and gold string given
    assert rd["cites_gold_passage"] == 0.5 and rd["answer_has_gold"] == 0.5
    assert rd["false_refusal"] == 0.25 and rd["cites_gold_doc"] == 0.75
    assert rd["near_miss_refused"] == 0.5 and rd["out_of_scope_refused"] == 1.0
    assert rd["unanswerable_refused"] == pytest.approx(2 / 3)
    assert s["by_kind"]["what"]["correct"] == 0.25  # correct = right cited passage here
    assert rd["n_answerable"] == 4 and rd["n_near_miss"] == 2 and rd["n_out_of_scope"] == 1


def test_list_answers_need_every_gold_string():
    qs = [rq("l", answers=("Debian", "openSUSE"), match="all")]
    assert score.score([rrow("l", "Debian and Fedora [1]")], qs)["realdocs"]["right_cited_passage"] == 0.0
    assert score.score([rrow("l", "Debian and openSUSE [1]")], qs)["realdocs"]["right_cited_passage"] == 1.0


def test_sets_without_gold_passages_have_no_realdocs_section_and_the_report_shows_it():
    plain = EvalQuestion("p", "q?", True, ["x"], ["d1"])
    assert score.score([rrow("p", "x")], [plain])["realdocs"] is None
    metrics = score.score([rrow("ok", "It had uid 37. [1]")], [rq("ok")])
    table = "\n".join(report.metrics_table([{"name": "c", "metrics": metrics}]))
    assert "answered with the right cited passage | 100.0%" in table
    assert "false refusals (answerable refused) | 0.0%" in table
    assert "near-miss refused" not in table  # no near-miss questions: the row is left out
