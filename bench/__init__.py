"""Benchmarks for sessman's budgets (docs/performance.md), run with ``python -m bench``."""
