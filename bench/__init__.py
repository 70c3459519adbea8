"""Benchmarks for sessman's budgets (SPEC section 8), run with ``python -m bench``."""
