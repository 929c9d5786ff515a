"""The Evaluation tab: reports found newest first, tables escaped, plots inlined, empty state."""

import os
import re

from evals import plots, report
from ui import eval_view

HOSTILE = "<img src=http://203.0.113.9/x.png>[x](http://203.0.113.9)"


def make_report(out, name="seed", config="ours/hybrid/k5/extractive", hit1=0.75):
    metrics = {"retrieval": {"hit@1": hit1, "hit@3": 0.9, "hit@5": 1.0, "hit@10": 1.0},
               "refusals": {"refusal_rate": 0.8, "false_refusal_rate": 0.1},
               "by_kind": {"a": {"n": 2, "correct": 1.0, "refused": 0.0},
                           "b": {"n": 1, "correct": 0.0, "refused": 1.0},
                           "c": {"n": 1, "correct": 1.0, "refused": 0.0}}}
    rep = {"dataset": {"name": name, "source": "/abs/secret/path", "sha256": "ab" * 32,
                       "selection": {}, "questions": 4, "answerable": 3, "unanswerable": 1, "documents": 2},
           "configs": [{"name": config, "status": "ok", "metrics": metrics},
                       {"name": "ours/generative", "status": "not run", "reason": f"no LLM {HOSTILE}"}],
           "packages": {}, "git_commit": "0123456789abcdef", "started": "2026-12-02T00:00:00Z",
           "seconds": 1.5}
    report.write(rep, out)
    return rep


def test_no_report_gives_the_empty_state(tmp_path):
    assert eval_view.find_reports(tmp_path) == []
    picker, shown = eval_view.EvalView(tmp_path).show()
    assert picker["visible"] is False and "No evaluation yet" in shown and "rag eval" in shown


def test_reports_are_listed_newest_first_and_picked_by_name(tmp_path):
    make_report(tmp_path / "evals" / "old", name="oldset")
    make_report(tmp_path / "evals" / "new", name="newset")
    os.utime(tmp_path / "evals" / "old" / "report.json", (1, 1))
    assert [r.name for r in eval_view.find_reports(tmp_path)] == ["new", "old"]
    view = eval_view.EvalView(tmp_path)
    picker, shown = view.show()
    assert picker["value"] == "new" and "Evaluation: newset" in shown
    assert [v for _label, v in picker["choices"]] == ["new", "old"]
    _, shown = view.show("old")
    assert "Evaluation: oldset" in shown
    _, shown = view.show("../../etc")  # only listed folders are read
    assert "Evaluation: newset" in shown


def test_report_tables_hold_the_numbers_and_every_string_is_escaped(tmp_path):
    make_report(tmp_path / "evals" / "seed", config=HOSTILE, hit1=0.75)
    out = eval_view.report_html(eval_view.find_reports(tmp_path)[0])
    assert re.search(r"<td[^>]*>hit&#64;1</td><td[^>]*>0\.750</td>", out)
    assert "80.0%" in out and "By question kind" in out and "Not run" in out
    assert "<img src=http" not in out and "](http" not in out and "http:" not in out
    assert "&lt;img src&#61;http&#58;//203.0.113.9/x.png&gt;&#91;x&#93;" in out  # shown as text
    assert "/abs/secret/path" not in out  # the set's source path is not shown
    assert "<img" not in out  # no plots written: none shown


def test_plots_are_inlined_as_png_data(tmp_path):
    folder = tmp_path / "evals" / "seed"
    rep = make_report(folder)
    plots.hit_curve([c for c in rep["configs"] if c["status"] == "ok"], folder / "hit_at_k.png")
    (folder / "latency.png").write_text("<svg onload=alert(1)>")  # not a PNG: left out
    out = eval_view.report_html(eval_view.find_reports(tmp_path)[0])
    assert out.count("<img ") == 1 and 'src="data:image/png;base64,iVBOR' in out
    assert "onload" not in out


def test_an_unreadable_report_says_so(tmp_path):
    folder = tmp_path / "evals" / "broken"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text("{not json")
    out = eval_view.report_html(eval_view.find_reports(tmp_path)[0])
    assert "Could not read the report" in out and "evals/broken" in out
