"""Nothing reaches out: ingest + ask in a process with no network at all."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _no_network_prefix():
    if shutil.which("unshare"):
        probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
        if probe.returncode == 0:
            return ["unshare", "-rn"]
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
        if probe.returncode == 0:
            return ["unshare", "-n"]
    return None


GUARD = """
import socket, sys
def refuse(*a, **k):
    raise OSError("network disabled by test guard")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
sys.argv = ["rag"] + sys.argv[1:]
from rag.cli import main
sys.exit(main())
"""


def test_ingest_and_ask_without_network(tmp_path):
    prefix = _no_network_prefix()
    env = dict(os.environ, RAG_DATA_DIR=str(tmp_path / "data"), RAG_MODE="extractive",
               HF_HUB_OFFLINE="1")
    for var in ("RAG_LLM_BASE_URL", "OPENAI_API_KEY", "RAG_LLM_API_KEY"):
        env.pop(var, None)
    if prefix:  # a network namespace with no interfaces: nothing can connect anywhere
        cmd = [*prefix, sys.executable, "-m", "rag"]
    else:  # fallback: a socket guard inside the process
        cmd = [sys.executable, "-c", GUARD]
    ingest = subprocess.run([*cmd, "ingest", "seeds/"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert ingest.returncode == 0, ingest.stderr
    ask = subprocess.run([*cmd, "ask", "--json", "Who criticized Stoltenberg's remarks about warheads?"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert ask.returncode == 0, ask.stderr
    assert "Peskov" in json.loads(ask.stdout)["answer"]


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare")
def test_the_sandbox_really_has_no_network():
    prefix = _no_network_prefix()
    if prefix is None:
        pytest.skip("unshare not permitted here")
    code = "import socket; socket.create_connection(('127.0.0.1', 9), timeout=2)"
    probe = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True)
    assert probe.returncode != 0 and ("unreachable" in probe.stderr or "refused" in probe.stderr
                                      or "OSError" in probe.stderr)
