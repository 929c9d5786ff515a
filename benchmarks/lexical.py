"""Lexical index choice: SQLite FTS5 vs bm25s (saved, memory-mapped) on a synthetic corpus.

    python benchmarks/lexical.py [--sizes 10000,100000] [--questions 200] [--out FILE.json]

Both index the same pre-tokenised terms (rag.text.content_terms). Measured per size: build
time, open/load time, query p50/p95 over first-seen questions (top 20), idf lookups,
adding one 5-chunk document (FTS5: insert; bm25s: re-index, it has no incremental add), and
size on disk. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synth import questions, synth_texts  # noqa: E402
from rag.lexical import IndexDB, LexicalIndex  # noqa: E402
from rag.text import content_terms  # noqa: E402
from rag.types import Chunk  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))]


def make_chunks(n: int, seed: int = 0) -> list[Chunk]:
    return [Chunk(f"synth/{i // 5}.txt#{i % 5}", f"synth/{i // 5}.txt", f"synth/{i // 5}.txt", title, text, 0, len(text))
            for i, (title, text) in enumerate(synth_texts(n, seed))]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def bench_fts5(chunks: list[Chunk], qs: list[str], tmp: Path) -> dict:
    path = tmp / "fts.sqlite"
    t = time.perf_counter()
    db = IndexDB(path)
    with db.transaction() as conn:
        LexicalIndex.add(conn, chunks)
    db.checkpoint()
    build = time.perf_counter() - t
    db.close()
    t = time.perf_counter()
    idx = LexicalIndex(IndexDB(path))
    idx.search("warm up", 20)
    load = time.perf_counter() - t
    lat = []
    for q in qs:
        t = time.perf_counter()
        idx.search(q, 20)
        lat.append((time.perf_counter() - t) * 1e3)
    terms = [t for q in qs[:50] for t in content_terms(q)]
    t = time.perf_counter()
    for term in terms:
        idx.idf(term)
    idf_ms = (time.perf_counter() - t) * 1e3 / max(1, len(terms))
    extra = make_chunks(5, seed=99)
    extra = [Chunk(f"new.txt#{i}", "new.txt", "new.txt", c.title, c.text, 0, len(c.text)) for i, c in enumerate(extra)]
    t = time.perf_counter()
    with idx.db.transaction() as conn:
        LexicalIndex.add(conn, extra)
    add_one = time.perf_counter() - t
    t = time.perf_counter()
    with idx.db.transaction() as conn:
        LexicalIndex.delete_docs(conn, ["new.txt"])
    delete_one = time.perf_counter() - t
    return {"build_s": build, "open_s": load, "query_ms_p50": statistics.median(lat), "query_ms_p95": pct(lat, 0.95),
            "idf_ms_per_term": idf_ms, "add_one_doc_s": add_one, "delete_one_doc_s": delete_one,
            "disk_mb": dir_size(path) / 1e6}


def bench_bm25s(chunks: list[Chunk], qs: list[str], tmp: Path) -> dict:
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    t = time.perf_counter()
    corpus = [content_terms(c.text) for c in chunks]
    tokenise = time.perf_counter() - t
    t = time.perf_counter()
    r = bm25s.BM25()
    r.index(corpus, show_progress=False)
    r.save(str(tmp / "bm25s"))
    build = time.perf_counter() - t
    t = time.perf_counter()
    r = bm25s.BM25.load(str(tmp / "bm25s"), mmap=True)
    load = time.perf_counter() - t
    vocab = r.vocab_dict
    lat = []
    for q in qs:
        t = time.perf_counter()
        ids = [[vocab[w] for w in content_terms(q) if w in vocab]]
        if ids[0]:
            r.retrieve(ids, k=20, show_progress=False, n_threads=1)
        lat.append((time.perf_counter() - t) * 1e3)
    t = time.perf_counter()
    r2 = bm25s.BM25()
    r2.index(corpus + [content_terms(c.text) for c in chunks[:5]], show_progress=False)
    r2.save(str(tmp / "bm25s"))
    add_one = time.perf_counter() - t
    return {"tokenise_s": tokenise, "build_s": build, "open_s": load, "query_ms_p50": statistics.median(lat),
            "query_ms_p95": pct(lat, 0.95), "add_one_doc_s": add_one, "disk_mb": dir_size(tmp / "bm25s") / 1e6}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--questions", type=int, default=200)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    qs = questions(args.questions)
    results = {"load_average": os.getloadavg(), "questions": len(qs), "sizes": {}}
    for size in [int(s) for s in args.sizes.split(",")]:
        chunks = make_chunks(size)
        tmp = Path(tempfile.mkdtemp(prefix="scale-lexical-"))
        try:
            row = {"fts5": bench_fts5(chunks, qs, tmp), "bm25s": bench_bm25s(chunks, qs, tmp)}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results["sizes"][size] = row
        for name, r in row.items():
            print(f"{size:>7} {name:6} " + "  ".join(f"{k}={v:.3g}" for k, v in r.items()), flush=True)
    results["load_average_end"] = os.getloadavg()
    print("load average:", results["load_average"], "->", results["load_average_end"])
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
