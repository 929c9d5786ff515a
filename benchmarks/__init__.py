"""Benchmarks: figures and ratios, no pass/fail (`rag bench` is benchmarks.scale)."""
