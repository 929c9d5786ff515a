"""The CLI contract, through real `rag` processes: JSON schema, stdin mode, exit codes."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SEED_FILE

CITATION_KEYS = {"n", "source", "chunk_id", "quote", "start", "end", "score", "title"}


def run(args, env, stdin=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "rag", *args], input=stdin, capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = dict(os.environ, RAG_DATA_DIR=str(tmp_path_factory.mktemp("cli") / "data"), RAG_MODE="extractive")
    e.pop("RAG_LLM_BASE_URL", None)
    done = run(["ingest", "seeds/", "--json"], e)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == [f"seeds/{SEED_FILE.name}"]
    return e


def test_ask_json_schema_and_exact_quotes(env):
    out = run(["ask", "--json", "What does Stoltenberg say about China?"], env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"question", "answer", "refused", "mode", "citations", "timings_ms"} <= set(data)
    assert data["refused"] is False and data["mode"] == "extractive"
    assert data["citations"]
    text = SEED_FILE.read_text(encoding="utf-8")
    for c in data["citations"]:
        assert set(c) >= CITATION_KEYS
        assert text[c["start"]:c["end"]] == c["quote"]
        assert c["source"] == f"seeds/{SEED_FILE.name}" and c["chunk_id"].startswith(c["source"] + "#")
        assert f"[{c['n']}]" in data["answer"]


def test_ask_text_has_answer_then_numbered_sources(env):
    out = run(["ask", "Who criticized Stoltenberg's remarks about warheads?"], env)
    assert out.returncode == 0
    answer, sources = out.stdout.split("\nSources:\n")
    assert "Peskov" in answer and sources.startswith("[1] seeds/")


def test_refusal_is_exit_0(env):
    out = run(["ask", "--json", "What is the capital of France?"], env)
    assert out.returncode == 0
    data = json.loads(out.stdout)
    assert data["refused"] is True and data["citations"] == []
    assert data["answer"] == "I can't find that in the documents."


def test_stdin_mode_one_json_per_line(env):
    questions = "Where was the recent peace summit held?\n\nWhat is the capital of France?\n"
    out = run(["ask", "--json", "-"], env, stdin=questions)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 3
    assert "Switzerland" in rows[0]["answer"]
    assert rows[1] == {"question": "", "error": "the question is empty"}
    assert rows[2]["refused"] is True


@pytest.mark.parametrize("question", ["", "   \t  "])
def test_empty_question_exit_2_one_line(env, question):
    out = run(["ask", question], env)
    assert out.returncode == 2
    assert out.stderr.strip() == "rag: error: the question is empty"


def test_huge_question_is_truncated_with_a_warning(env):
    out = run(["ask", "--json", "warheads " * 12_500], env, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "truncated from 112499 to 2000 characters" in data["notice"]
    assert len(data["question"]) == 2000


def test_missing_path_exit_2(env):
    out = run(["ingest", "no/such/folder"], env)
    assert out.returncode == 2 and out.stderr.strip() == "rag: error: no such file or folder: no/such/folder"


def test_bad_usage_exit_2(env):
    out = run(["ask", "--top-k", "many", "q"], env)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_ingest_reports_each_skipped_file(env, tmp_path):
    (tmp_path / "ok.md").write_text("# Memo\n\nThe depot opens at 6am.\n")
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("")
    out = run(["ingest", str(tmp_path), "--json"], env)
    assert out.returncode == 0
    report = json.loads(out.stdout)
    assert len(report["added"]) == 1 and report["added"][0].endswith("ok.md")
    assert sorted(s["path"].split("/")[-1] for s in report["skipped"]) == ["empty.txt", "latin.txt"]
    assert "latin.txt" in out.stderr and "empty.txt" in out.stderr


def test_status_json(env):
    out = run(["status", "--json"], env)
    data = json.loads(out.stdout)
    assert data["documents"] >= 1 and data["chunks"] >= 5
    assert data["embedder"] == "all-MiniLM-L6-v2/onnx-int8" and data["dimension"] == 384
    assert data["data_dir"] == env["RAG_DATA_DIR"]


def test_ask_on_empty_index_exit_2(tmp_path):
    e = dict(os.environ, RAG_DATA_DIR=str(tmp_path / "empty"))
    out = run(["ask", "anything?"], e)
    assert out.returncode == 2 and "rag ingest" in out.stderr


def test_chat_repl(env):
    out = run(["chat"], env, stdin="Where was the recent peace summit held?\n\n")
    assert out.returncode == 0
    assert "Switzerland" in out.stdout and "[1]" in out.stdout
