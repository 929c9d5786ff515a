"""ManagedLLM's supervision through a fake child (a shell script standing in for the Python
that would run `rag llm serve`): ready, crash → restart → give up, stop kills, discovery."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from rag.llm import managed
from rag.llm.managed import ManagedLLM, RunningLLM, managed_llm
from ui.testing import wait_until


def wait_for(cond, timeout: float = 30.0):
    return wait_until(cond, timeout, "the model server's status", every=0.05)


def fake_python(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-python.sh"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_ready_child_is_reported_discoverable_and_stopped(make_settings, tmp_path):
    settings = make_settings(local_llm_model="small")
    python = fake_python(tmp_path, "echo http://127.0.0.1:1/v1; exec sleep 60")
    llm = ManagedLLM(settings, python=python).start()
    try:
        st = wait_for(lambda: llm.status().ready and llm.status())
        assert st.base_url == "http://127.0.0.1:1/v1" and st.model == "SmolLM2-135M-Instruct"
        state = json.loads((settings.data_dir / managed.STATE_FILE).read_text())
        assert state["base_url"] == st.base_url and state["pid"] == llm.pid
        pid = llm.pid
    finally:
        llm.stop()
    assert not alive(pid) and llm.status().state == "off"
    assert not (settings.data_dir / managed.STATE_FILE).exists()


def test_a_crashing_child_is_restarted_then_reported(make_settings, tmp_path):
    python = fake_python(tmp_path, "echo http://127.0.0.1:1/v1; exit 3")
    llm = ManagedLLM(make_settings(), python=python, max_restarts=2).start()
    try:
        st = wait_for(lambda: llm.status().state == "failed" and llm.status())
    finally:
        llm.stop()
    assert llm.restarts == 2
    assert "exit code 3" in st.message and "gave up after 2 restart(s)" in st.message
    assert "extractive answer" in st.notice


def test_stop_kills_a_child_that_ignores_sigterm(make_settings, tmp_path):
    python = fake_python(tmp_path, "trap '' TERM; echo http://127.0.0.1:1/v1; while :; do sleep 0.1; done")
    llm = ManagedLLM(make_settings(), python=python).start()
    wait_for(lambda: llm.status().ready)
    pid = llm.pid
    llm.stop(timeout=2)
    assert not alive(pid)


def test_running_llm_is_found_only_while_its_process_lives(make_settings, tmp_path):
    settings = make_settings()
    settings.data_dir.mkdir(parents=True)
    path = settings.data_dir / managed.STATE_FILE
    assert RunningLLM(settings).status().state == "off"  # no file
    path.write_text(json.dumps({"base_url": "http://127.0.0.1:1/v1", "pid": 2 ** 22 + 12345}))
    assert RunningLLM(settings).status().state == "off"  # a dead pid: stale file


def test_managed_llm_starts_nothing_when_opted_out_or_configured(make_settings):
    with managed_llm(make_settings(local_llm="off")) as llm:
        assert llm is None
    with managed_llm(make_settings(llm_base_url="http://127.0.0.1:9/v1")) as llm:
        assert llm is None
    with managed_llm(make_settings(), enabled=False) as llm:
        assert llm is None


def test_unavailable_says_what_to_install(monkeypatch):
    monkeypatch.setattr(managed.importlib.util, "find_spec", lambda name: None)
    assert "local-llm" in managed.unavailable("default")


@pytest.mark.skipif(not os.path.exists("/proc/self"), reason="Linux only")
def test_parent_death_signal_exits_when_the_parent_is_already_gone():
    import subprocess
    import sys

    code = ("import os; from rag.llm.managed import set_parent_death_signal; "
            "set_parent_death_signal(os.getppid() + 99999); print('still here')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "still here" not in out.stdout
