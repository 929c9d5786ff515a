"""`rag bench --quick` runs end to end as a real subprocess (a smoke test: no timed assertion).

Sized down (--sizes 150, --ingest-chunks 60) so it takes a minute or two on a loaded CI box."""

import json
import math
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_rag_bench_quick_writes_figures(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "bench", "--quick", "--sizes", "150",
                           "--ingest-chunks", "60", "--questions", "5",
                           "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert list(result["sizes"]) == ["150"]
    row = result["sizes"]["150"]
    assert row["chunks"] >= 100 and row["cold_ask_rc"] == 0
    for key in ("retrieve_ms_p50", "search_ms_p95", "answer_ms_p95", "status_s", "add_one_doc_s", "cold_ask_s",
                "serve_ready_s", "serve_rss_ready_mb", "serve_rss_after_mb"):
        assert math.isfinite(row[key]) and row[key] > 0, key
    ingest = result["ingest"]
    assert ingest["ours_chunks_per_s"] > 0 and ingest["baseline_chunks_per_s"] > 0
    assert "| chunks |" in proc.stdout and "ours/baseline" in proc.stdout
