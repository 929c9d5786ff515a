"""CLI edge: errors become one-line messages and exit codes."""

import pytest

from rag import cli
from rag.errors import InputError


def test_internal_error_is_exit_1_one_line(monkeypatch, capsys, tmp_path):
    def boom(args, settings):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli, "cmd_status", boom)
    assert cli.main(["--data-dir", str(tmp_path), "status"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "rag: internal error: RuntimeError: disk on fire"


def test_input_error_is_exit_2(monkeypatch, capsys, tmp_path):
    def bad(args, settings):
        raise InputError("the question is empty")

    monkeypatch.setattr(cli, "cmd_status", bad)
    assert cli.main(["--data-dir", str(tmp_path), "status"]) == 2
    assert capsys.readouterr().err.strip() == "rag: error: the question is empty"


def test_bad_usage_is_exit_2_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["ask"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_clean_question_truncates_with_notice():
    from rag.service import clean_question

    q, notice = clean_question("x" * 5000, 2000)
    assert len(q) == 2000 and "truncated" in notice
    with pytest.raises(InputError):
        clean_question(" \n\t ", 2000)
