"""Adapters that run the benchmark toy through the PyPI peers' own training steps (see adapters.py)."""
