"""Evaluation: `rag eval` over the seed golden set and evaldata-shaped public sets.

Modules: data (loading sets), metrics (pure scoring functions), runner (our pipeline),
baseline (a plain llama-index pipeline), report (report.json / report.md), plots (PNGs),
sweep (answerer threshold sweep), gate (thresholds.json checks), cli (`rag eval`).
"""
