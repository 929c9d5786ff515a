"""Upload checks and storage: what a browser sends is never trusted.

Every file is checked on its own (name, type, size, content) and either stored under
`<data_dir>/uploads/<safe name>` or rejected with a one-line reason. No client-side
path is used: only a sanitised base name survives.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest import file_sha256
from rag.loaders import SUPPORTED

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 120
ALLOWED = ", ".join(sorted(SUPPORTED))
_UNSAFE = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_files: int = 10


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str


@dataclass
class Checked:
    accepted: list[tuple[str, Path]] = field(default_factory=list)  # (safe name, client file)
    rejected: list[Rejected] = field(default_factory=list)


def safe_name(raw: str) -> str | None:
    """A plain file name from whatever the client sent; None when nothing usable is left."""
    base = re.split(r"[\\/]", raw or "")[-1]
    base = unicodedata.normalize("NFKC", base).replace("\x00", "")
    base = _UNSAFE.sub("_", base).strip("._ ")
    if not base:
        return None
    stem, dot, suffix = base.rpartition(".")
    if dot and stem:
        stem = stem.strip("._ ")[: MAX_NAME_CHARS - len(suffix) - 1]
        return f"{stem}.{suffix.lower()}" if stem else None
    return base[:MAX_NAME_CHARS]


def uploads_dir(data_dir: Path) -> Path:
    return data_dir / "uploads"


def human_size(n: float) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    return f"{n / 1024:.3g} KB"


def _content_problem(path: Path, suffix: str) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(8192)
    if suffix == ".pdf":
        return None if head.startswith(b"%PDF-") else "not a PDF (no %PDF- header)"
    if b"\x00" in head:
        return "binary content, not text"
    return None


def check_one(name: str | None, path: Path, limits: UploadLimits) -> str | None:
    """The reason this file is rejected, or None when it may be stored."""
    if name is None:
        return "unusable file name"
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        return f"unsupported type {suffix or '(no extension)'}; allowed: {ALLOWED}"
    size = path.stat().st_size
    if size == 0:
        return "empty file"
    if size > limits.max_bytes:
        return f"too large ({human_size(size)}; limit {human_size(limits.max_bytes)})"
    return _content_problem(path, suffix)


def check_files(paths: list[str | Path], limits: UploadLimits) -> Checked:
    """Split uploaded temp files into accepted (safe name, path) and rejected (name, reason)."""
    out = Checked()
    for i, p in enumerate(paths):
        path = Path(p)
        shown = path.name or "(unnamed)"
        name = safe_name(path.name)
        if i >= limits.max_files:
            out.rejected.append(Rejected(shown, f"too many files (at most {limits.max_files} per upload)"))
            continue
        reason = check_one(name, path, limits) if path.is_file() else "not received"
        if reason:
            out.rejected.append(Rejected(shown, reason))
        else:
            out.accepted.append((name, path))
    return out


def store(name: str, src: Path, target_dir: Path) -> Path:
    """Copy src to target_dir/name atomically; the result is always inside target_dir."""
    target_dir.mkdir(parents=True, exist_ok=True)
    root = target_dir.resolve()
    dest = (root / name).resolve()
    if dest.parent != root:
        raise ValueError(f"unsafe upload name {name!r}")
    tmp = root / f".{name}.part"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    log.info("stored upload %s", dest)
    return dest


def remove_orphans(target_dir: Path, indexed: set[str], recovered: set[str],
                   min_age_s: float) -> list[Path]:
    """Delete stored uploads no indexed document comes from: at once those of documents a
    killed write left half-indexed (`recovered`), else (a write killed between storing the
    file and indexing it, or an unfinished `.<name>.part` copy) once older than min_age_s,
    so that a file another process stored and is about to index is left alone.

    indexed, recovered: resolved paths. Returns what was removed."""
    import time

    if not target_dir.is_dir():
        return []
    removed = []
    now = time.time()
    for path in sorted(target_dir.iterdir()):
        if not path.is_file():
            continue
        real = str(path.resolve())
        if real in indexed:
            continue
        if real in recovered or now - path.stat().st_mtime > min_age_s:
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.warning("removed %d upload(s) left unindexed by an interrupted upload: %s",
                    len(removed), ", ".join(p.name for p in removed))
    return removed


# --- Gradio's cache: the copies it serves at /gradio_api/file=... --------------------------
def gradio_cache_dir(data_dir: Path) -> Path:
    """`rag serve`'s own Gradio cache (GRADIO_TEMP_DIR), emptied at start-up."""
    return data_dir / "gradio-cache"


def clear_cache(cache: Path) -> int:
    """Delete everything in cache (start-up: no document needs a cached copy); files removed."""
    removed = 0
    if cache.is_dir():
        for path in sorted(cache.rglob("*"), reverse=True):
            if path.is_file() or path.is_symlink():
                path.unlink(missing_ok=True)
                removed += 1
            elif path.is_dir():
                path.rmdir()
    if removed:
        log.info("removed %d cached file(s) from %s", removed, cache)
    return removed


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def forget_cached(paths: list[str | Path], cache: Path) -> None:
    """Delete Gradio's temp copies of handled uploads (only files inside its cache)."""
    for p in paths:
        path = Path(p)
        if path.is_file() and _inside(path, cache):
            path.unlink(missing_ok=True)
            if path.parent != cache.resolve() and not any(path.parent.iterdir()):
                path.parent.rmdir()


def purge_copies(original: Path, cache: Path) -> int:
    """Delete every file in cache with original's content (a deleted upload's cached copies)."""
    if not original.is_file() or not cache.is_dir():
        return 0
    size, digest = original.stat().st_size, file_sha256(original)
    copies = [p for p in cache.rglob("*") if p.is_file() and p.stat().st_size == size
              and file_sha256(p) == digest]
    forget_cached(copies, cache)
    return len(copies)


# --- duplicates: the same bytes under another name --------------------------------------
content_hash = file_sha256  # sha256 of a file's bytes, as the catalogue keeps it


@dataclass(frozen=True)
class Duplicate:
    name: str
    of: str  # the document (or the earlier file of this upload) with the same bytes


def split_duplicates(accepted: list[tuple[str, Path]], indexed_with: Callable[[str], list[str]],
                     doc_id_of: Callable[[str], str]) -> tuple[list[tuple[str, Path]], list[Duplicate]]:
    """Files to index, and those whose bytes are already indexed under another name (or
    came earlier in this upload). `indexed_with(hash)`: doc ids holding those bytes;
    `doc_id_of(name)`: the doc id the file would get (a file re-uploaded under its own name
    is not a duplicate: it is re-checked, and stays "unchanged")."""
    keep: list[tuple[str, Path]] = []
    dups: list[Duplicate] = []
    first: dict[str, str] = {}  # hash -> name of its first file in this upload
    for name, path in accepted:
        digest = content_hash(path)
        if digest in first:
            dups.append(Duplicate(name, first[digest]))
            continue
        first[digest] = name
        others = [d for d in indexed_with(digest) if d != doc_id_of(name)]
        if others:
            dups.append(Duplicate(name, others[0]))
        else:
            keep.append((name, path))
    return keep, dups


# --- the per-file report ------------------------------------------------------------------
def _section(title: str, items: list[str]) -> str:
    """A bold title and its list, as separate Markdown blocks (a line right after a list
    item would be read as part of that item)."""
    return f"**{title}**\n\n" + "\n".join(f"- {item}" for item in items)


def report_markdown(report: dict, esc: Callable[[str], str]) -> str:
    """The upload report: indexed, already indexed (same content), rejected, one file a line."""
    sections = []
    if report.get("accepted"):
        sections.append(_section(f"Indexed {len(report['accepted'])} file(s):", [
            f"**{esc(a['name'])}**: {a['status']}, {a['chunks']} chunk(s)" for a in report["accepted"]]))
    if report.get("duplicates"):
        sections.append(_section(
            f"Not indexed again, same content as another file: {len(report['duplicates'])} file(s):",
            [f"**{esc(d['name'])}**: same content as {esc(d['duplicate_of'])}"
             for d in report["duplicates"]]))
    if report.get("rejected"):
        sections.append(_section(f"Rejected {len(report['rejected'])} file(s):", [
            f"**{esc(r['name'])}**: {esc(r['reason'])}" for r in report["rejected"]]))
    return "\n\n".join(sections) or "No files received."


class UploadProgress:
    """Maps (file i of n, chunk done of total) onto one 0..1 bar with a description."""

    def __init__(self, progress: Callable[..., object], files: int) -> None:
        self.progress, self.files = progress, max(files, 1)
        self.index, self.name = 0, ""

    def file(self, index: int, name: str) -> None:
        self.index, self.name = index, name
        self.progress(index / self.files, desc=f"Reading {name} ({index + 1}/{self.files})")

    def chunks(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        self.progress((self.index + share) / self.files,
                      desc=f"Indexing {self.name} ({self.index + 1}/{self.files}): "
                           f"chunks and their sentences, step {done}/{total}")
