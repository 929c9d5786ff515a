"""A Chroma server stopped while `rag serve` runs (RAG_CHROMA_MODE=server, a real `chroma run`):
a clear error in the CLI, the page and the API (503 in OpenAI's error shape, no trace), and
recovery once the server is back on the same port, without restarting `rag serve`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import SEEDS
from ui.testing import serve, stop_process

QUESTION = "Who criticized Stoltenberg's remarks about warheads?"
PORTS = range(8941, 8950)  # this suite's Chroma ports
WAIT_S = 120


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _wait(cond, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not seen after {timeout}s")


class ChromaServer:
    def __init__(self, path: Path, port: int) -> None:
        self.path, self.port = path, port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
        self.proc = subprocess.Popen([exe, "run", "--path", str(self.path), "--host", "127.0.0.1",
                                      "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        _wait(lambda: _listening(self.port) or self.proc.poll() is not None, "chroma run listening")
        assert self.proc.poll() is None, "chroma run exited"

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        _wait(lambda: not _listening(self.port), "chroma port closed")


@contextmanager
def chroma_server(path: Path):
    port = next((p for p in PORTS if _port_free(p)), None)
    if port is None:
        pytest.skip("no free port for chroma run")
    server = ChromaServer(path, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _env(port: int) -> dict[str, str]:
    return {"RAG_CHROMA_MODE": "server", "RAG_CHROMA_PORT": str(port)}


def _cli(data: Path, port: int, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    from ui.testing import rag_env

    return subprocess.run([sys.executable, "-m", "rag.cli", "--data-dir", str(data), *args],
                          cwd=cwd, env={**rag_env(), **_env(port)}, capture_output=True, text=True,
                          timeout=300)


def _ask_api(url: str, stream: bool = False) -> httpx.Response:
    body = {"model": "rag-extractive", "stream": stream,
            "messages": [{"role": "user", "content": QUESTION}]}
    return httpx.post(f"{url}v1/chat/completions", json=body, timeout=120)


def test_chroma_server_stopped_while_serving_then_back(tmp_path):
    gradio_client = pytest.importorskip("gradio_client")
    data = tmp_path / "data"
    with chroma_server(tmp_path / "chroma-db") as chroma:
        ingest = _cli(data, chroma.port, "ingest", str(SEEDS), "--no-progress", cwd=tmp_path)
        assert ingest.returncode == 0, ingest.stderr
        output: list[str] = []
        with serve(data, cwd=tmp_path, env=_env(chroma.port), output=output) as url:
            ok = _ask_api(url)
            assert ok.status_code == 200, ok.text
            assert "Peskov" in ok.json()["choices"][0]["message"]["content"]
            page = gradio_client.Client(url, verbose=False)

            chroma.stop()  # --- the Chroma server goes away -------------------------------
            down = _ask_api(url)
            assert down.status_code == 503, down.text
            err = down.json()["error"]
            assert set(err) == {"message", "type", "param", "code"}
            assert err["code"] == "store_unavailable" and err["type"] == "server_error"
            assert "cannot reach the Chroma server" in err["message"] and down.headers["Retry-After"]
            assert "Traceback" not in down.text
            streamed = _ask_api(url, stream=True)
            assert streamed.status_code == 503 and "Chroma server" in streamed.json()["error"]["message"]
            health = httpx.get(f"{url}health", timeout=60)
            assert health.status_code == 503 and "Chroma server" in health.json()["error"]["message"]
            with pytest.raises(Exception, match="cannot reach the Chroma server"):
                page.predict(QUESTION, 0, "extractive", api_name="/ask")
            chat = str(page.predict(QUESTION, "extractive", 5, api_name="/chat"))  # the error message
            assert "Could not answer" in chat and "cannot reach the Chroma server" in chat
            assert "Traceback" not in chat
            upload = httpx.post(f"{url}v1/documents", timeout=120,
                                files=[("files", ("note.txt", b"The Quillon-4 valve opens at 3 bar.\n"))])
            assert upload.status_code == 200
            (rejected,) = upload.json()["rejected"]
            assert "cannot reach the Chroma server" in rejected["reason"]
            cli = _cli(data, chroma.port, "ask", QUESTION, cwd=tmp_path)
            assert cli.returncode == 2 and "Traceback" not in cli.stderr
            assert cli.stderr.startswith("rag: error: cannot reach the Chroma server"), cli.stderr
            assert len(cli.stderr.strip().splitlines()) == 1

            chroma.start()  # --- back on the same port: no restart of rag serve --------------
            back = _ask_api(url)
            assert back.status_code == 200, back.text
            assert "Peskov" in back.json()["choices"][0]["message"]["content"]
            assert "Peskov" in page.predict(QUESTION, 0, "extractive", api_name="/ask")["answer"]
            assert httpx.get(f"{url}health", timeout=60).status_code == 200
            upload = httpx.post(f"{url}v1/documents", timeout=120,
                                files=[("files", ("note.txt", b"The Quillon-4 valve opens at 3 bar.\n"))])
            assert upload.status_code == 200 and upload.json()["accepted"], upload.text
            valve = httpx.post(f"{url}v1/chat/completions", timeout=120, json={
                "model": "rag-extractive",
                "messages": [{"role": "user", "content": "At what pressure does the Quillon-4 valve open?"}]})
            assert "3 bar" in valve.json()["choices"][0]["message"]["content"]
            page.close()  # its heartbeat stream would hold up the server's shutdown
        printed = "".join(output)
        # the outage is logged as one warning line per failed call, never as a trace
        assert "unreachable" in printed and "ConnectError" not in printed, printed[-3000:]
