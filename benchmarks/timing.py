"""Side-by-side timing for the parts benchmarks: interleaved rounds, ratios taken within each round."""

from __future__ import annotations

import json
import statistics
from pathlib import Path


def interleaved(fns: dict, rounds: int, reference: str = "plain") -> tuple[dict, dict]:
    """Time every ``fns[k]()`` (each returns its seconds) once per round, in an order rotated each round,
    after one warm-up call each. Returns (seconds by name, ratio to ``reference`` by name), lists per round."""
    for fn in fns.values():  # warm-up
        fn()
    names = list(fns)
    seconds = {k: [] for k in names}
    ratios = {k: [] for k in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        times = {k: fns[k]() for k in order}
        for k in names:
            seconds[k].append(times[k])
            ratios[k].append(times[k] / times[reference])
    return seconds, ratios


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def write(result: dict, out: Path | None) -> None:
    """Write ``result`` as JSON to ``out`` atomically (nothing when ``out`` is None)."""
    if out is not None:
        from gancompanion.files import atomic_write_text

        atomic_write_text(out, json.dumps(result, indent=1))
