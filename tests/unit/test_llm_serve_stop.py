"""`rag llm serve` stops within a bound: llama.cpp's orderly stop can wait on a generation in
flight for ever, and a server that never exits keeps its port and its cores."""

from __future__ import annotations

import threading

import pytest

from rag.llm import cli


class Exited(Exception):
    pass


class FakeServer:
    def __init__(self, hangs: bool):
        self.hangs, self.stopped, self.release = hangs, False, threading.Event()

    def stop(self) -> None:
        if self.hangs:
            self.release.wait(30)
        self.stopped = True


def test_a_server_that_stops_is_waited_for():
    server = FakeServer(hangs=False)
    assert cli._stop_within(server, 5.0) == 0 and server.stopped


def test_a_stop_that_hangs_ends_the_process(monkeypatch, capsys):
    codes = []

    def fake_exit(code):
        codes.append(code)
        raise Exited

    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    server = FakeServer(hangs=True)
    with pytest.raises(Exited):
        cli._stop_within(server, 0.2)
    server.release.set()
    assert codes == [0] and "did not stop within" in capsys.readouterr().err
