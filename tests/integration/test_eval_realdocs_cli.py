"""`rag eval` end to end on a tiny real-document set: files through the real loaders (a real PDF)."""

import json
import shutil
from pathlib import Path

from rag import cli

PDF = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "realdocs_dev_pdf" / "files" / "procps-faq.pdf"
TXT = ("The Rhine flows from the Swiss Alps to the North Sea. It is\nabout 1,230 kilometres long and "
       "carries\nbarges past Cologne.\n")
QUESTIONS = [
    {"id": "a-txt", "question": "How long is the Rhine?", "answerable": True, "kind": "number", "doc": "rhine",
     "answers": ["1,230 kilometres"], "gold_passage": "It is about 1,230 kilometres long"},
    {"id": "a-pdf", "question": "Who wrote a new ps program starting in 1997?", "answerable": True, "kind": "who",
     "doc": "procps-faq", "answers": ["Albert Cahalan"], "gold_passage": "Albert Cahalan wrote a new ps program"},
    {"id": "n1", "question": "Who designed the first Rhine barge?", "answerable": False, "kind": "near-miss",
     "doc": "rhine"},
]


def test_eval_on_a_realdocs_folder_reports_the_real_document_metrics(tmp_path, capsys):
    folder = tmp_path / "realdocs_tiny"
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "rhine.txt").write_text(TXT)
    shutil.copyfile(PDF, folder / "files" / "procps-faq.pdf")
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    out = tmp_path / "out"
    argv = ["--data-dir", str(tmp_path / "data"), "eval", "--dataset", str(folder), "--out", str(out),
            "--no-progress", "--no-plots"]
    assert cli.main(argv) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["dataset"]["documents"] == 2 and rep["dataset"]["questions"] == 3
    for column in rep["configs"]:
        rd = column["metrics"]["realdocs"]
        assert rd["n_answerable"] == 2 and rd["n_near_miss"] == 1 and rd["n_out_of_scope"] == 0
        assert all(0.0 <= rd[k] <= 1.0 for k in ("right_cited_passage", "cites_gold_passage", "false_refusal"))
        assert column["metrics"]["citations"]["quote_exact"] == 1.0
        rows = [json.loads(line) for line in (out / "results" / f"{column['name'].replace('/', '-')}.jsonl").open()]
        pdf_row = next(r for r in rows[1:] if r["id"] == "a-pdf")
        # the PDF went through the PDF loader and is what the easy question's answer cites first
        assert not pdf_row["refused"] and pdf_row["citations"][0]["doc_id"] == "realdocs_tiny/procps-faq.pdf"
    assert "answered with the right cited passage" in (out / "report.md").read_text()
    assert "near-miss refused" in capsys.readouterr().out
