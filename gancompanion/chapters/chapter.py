"""What every chapter notebook does around its experiments: set-up, glue, claims, variants over seeds.

``setup`` resolves the parameters cell (scale, device, seed) the same way in every chapter and returns
a ``Chapter``: it seeds everything, applies the house style, remembers each claim's verdict as the
notebook reports it, glues numbers by name, and writes the "what reproduced" summary. ``train_variants``
trains several variants of one seed-batched toy GAN (each a ``parts.Recipe``) and returns their
evaluations as one tidy table.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from ..training import allocator, streams, train
from ..pipeline import claims
from .. import plotting
from ..device import pick_device, seed_everything
from ..training.parts import Recipe
from ..pipeline.scales import SCALES
from ..validation import choose, seed as check_seed


@dataclass
class Chapter:
    """One executed chapter: its parameters, its device, the verdicts of its claims so far."""

    prefix: str  # glue keys start with it, e.g. "ch3"
    scale: str
    seed: int
    dev: torch.device
    verdicts: dict[str, dict] = field(default_factory=dict)  # claim id -> its record
    started: float = field(default_factory=time.perf_counter)
    costs: dict[str, dict] = field(default_factory=dict)  # claim id -> {"runs", "steps", "seconds"} so far

    @property
    def run_info(self) -> dict:
        """The keyword arguments every ``claims.report`` call of this chapter takes."""
        return dict(scale=self.scale, seed=self.seed, device=str(self.dev))

    @property
    def minutes(self) -> float:
        return (time.perf_counter() - self.started) / 60

    @contextmanager
    def cost(self, claim_id: str, runs: int = 0, steps: int = 0):
        """Time the block as compute spent on ``claim_id``: ``runs`` training runs (seeds x variants) of
        ``steps`` steps each. Blocks for the same claim add up; the total goes into its record's ``cost``
        (``report``), so that the book can say where its time goes, claim by claim. A shared experiment
        (a baseline several comparisons reuse) is charged to the claim it is first needed for."""
        from ..validation import positive_int

        for name, value in (("runs", runs), ("steps", steps)):
            if value != 0:  # 0: no training (e.g. a sampler's evaluations)
                positive_int(name, value)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            c = self.costs.setdefault(claim_id, {"runs": 0, "steps": 0, "seconds": 0.0})
            c["runs"] += int(runs)
            c["steps"] += int(runs) * int(steps)
            c["seconds"] += time.perf_counter() - t0

    def report(self, claim_id: str, verdict, evidence: str = "", details: dict | None = None) -> None:
        """Print and record a claim's outcome with this chapter's scale, seed and device (``claims.report``).

        The one way a chapter reports: ``verdict`` is what the claim's tested check function in the chapter's
        module returned, a ``checks.Verdict`` (exact claims: its ``passed``, ``evidence`` and ``values``) or a
        ``verdicts.Result`` (statistical claims: the effect, its interval and the outcome). A bare ``True``,
        ``False`` or ``None`` (SKIP) with its ``evidence`` is accepted too. The record is kept in ``verdicts``
        for ``summary``. Returns nothing, so that a cell ending in this call shows the CLAIM line only.
        """
        from .checks import Verdict

        if isinstance(verdict, Verdict):
            evidence = evidence or verdict.evidence
            details = details if details is not None else verdict.values
            verdict = verdict.passed
        self.verdicts[claim_id] = claims.report(claim_id, verdict, evidence, details=details,
                                                cost=self.costs.get(claim_id), **self.run_info)

    def status(self, claim_id: str) -> str:
        return self.verdicts[claim_id]["status"]

    def glue(self, name: str, value, kind: str = "number") -> None:
        """Glue ``value`` as ``<prefix>_<name>``: numbers as Python ints or floats (a count stays a count),
        ``kind="md"`` as Markdown text."""
        from IPython.display import Markdown

        if kind == "md":
            value = Markdown(value)
        elif kind == "number":
            value = number(value)
        glue(f"{self.prefix}_{name}", value)

    def glue_numbers(self, numbers: dict[str, Any]) -> None:
        """Glue every entry of ``numbers`` as a number (ints stay ints) under ``<prefix>_<key>``."""
        for k, v in numbers.items():
            self.glue(k, v)

    def summary(self):
        """The "what reproduced" list: one line per claim checked, its verdict and evidence (Markdown)."""
        from IPython.display import Markdown

        self.glue("minutes", self.minutes)
        return Markdown("\n".join(f"- `{cid}` **{r['status']}**: {r['evidence']}." for cid, r in self.verdicts.items()))


GLUE_PREFIX = "application/papermill.record/"  # the mime prefix of a value glued but not displayed


def number(value) -> int | float:
    """``value`` as a plain Python number for glue: an integer (``3``, ``np.int64(3)``, ``torch.tensor(3)``)
    stays an int, so that a count reads "3 seeds", never "3.0 seeds"; anything else becomes a float."""
    if isinstance(value, bool):
        raise TypeError(f"glue a verdict as text, not as the number {value!r}")
    if isinstance(value, torch.Tensor):
        value = value.item()
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def glue(name: str, value, display: bool | None = None) -> None:
    """Glue ``value`` under ``name`` for the book, without needing myst-nb where the chapter runs.

    Writes the output that ``myst_nb.glue`` writes (the value's display bundle, with ``metadata.scrapbook``
    naming it), which Jupyter Book's ``{glue:...}`` roles and directives read from the executed notebook.
    A matplotlib figure is also *displayed* (``display`` None means: figures yes, everything else no), so that
    the executed notebook, a download of it and a Colab copy show it where its code ran; the book build turns
    that output back into a hidden one (``pagebox.hide_glued_figures``) and shows the figure in its
    ``{glue:figure}`` directive with its caption.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    if display is None:
        display = type(value).__module__.startswith("matplotlib.figure")
    if isinstance(value, (np.floating, np.integer)):
        value = number(value)
    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = dict(name=name, mime_prefix=prefix)
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def setup(prefix: str, scale: str, device: str, seed) -> Chapter:
    """Check the core parameters (naming the bad one), pick the device, seed everything, apply the style."""
    choose("scale", scale, SCALES)
    seed = check_seed(seed)
    dev = pick_device(device)
    threads = compute_threads()
    allocator.keep_freed_memory()
    seed_everything(seed)
    plotting.use_style()
    chapter = Chapter(prefix, scale, seed, dev)
    print(f"scale={scale}  device={dev}  seed={seed}  threads={threads}  torch={torch.__version__}")
    chapter.glue("run", f"scale `{scale}`, seed {seed}", kind="md")
    chapter.glue("scale", f"scale `{scale}`", kind="md")  # for a caption that names its seeds itself
    return chapter


def compute_threads() -> int:
    """Pin torch's CPU intra-op threads, so that a seed's numbers do not depend on how the chapter is run.

    Reductions and matrix products split their work by thread, and different splits round differently;
    a GAN's training amplifies those last bits into a different run. A chapter therefore computes on one
    CPU thread (its matrices are small: a second thread buys little) unless ``GANCOMPANION_THREADS``
    asks for more, for instance for the ``paper`` scale on a many-core machine. Returns the count set.
    """
    value = os.environ.get("GANCOMPANION_THREADS", "1")
    try:
        threads = int(value)
        if threads < 1:
            raise ValueError
    except ValueError:
        raise ValueError(f"GANCOMPANION_THREADS must be an integer >= 1, got {value!r}") from None
    torch.set_num_threads(threads)
    return threads


def override(name: str, value, default, check: Callable[[str, Any], Any]):
    """A notebook knob: ``None`` means the scale's ``default``; anything else is validated by ``check``."""
    return default if value is None else check(name, value)


@dataclass
class VariantRuns:
    """What ``train_variants`` returns: a tidy table of the evaluations, and everything else by variant."""

    table: pd.DataFrame  # one row per variant, seed and evaluated step; one column per (S,) quantity
    records: dict[str, dict[int, dict]]  # variant -> step -> the full output of ``evaluate`` (e.g. samples)
    seconds: dict[str, float]  # variant -> training time
    diverged: dict[str, dict[int, int]]  # variant -> {seed: first non-finite step}

    def split(self, name: str, parts: dict[str, slice]) -> "VariantRuns":
        """Variant ``name``'s runs as several variants, each a slice of its runs: for one model trained with
        per-run settings (e.g. a learning rate per run, ``train.PerRunLR``). The others are kept as they are;
        the time of ``name`` is shared out by the runs' count, and its divergences (by seed) are copied to each part."""
        rows = self.table[self.table.variant == name]
        run = rows.groupby("step").cumcount().to_numpy()  # the run index of each row (rows go step by step)
        n = int(run.max()) + 1
        tables = [self.table[self.table.variant != name]]
        records, seconds = dict(self.records), dict(self.seconds)
        diverged = dict(self.diverged)
        for new, sl in parts.items():
            keep = np.zeros(n, bool)
            keep[sl] = True
            tables.append(rows[keep[run]].assign(variant=new))
            records[new] = {step: {k: (np.asarray(v)[sl] if np.ndim(v) >= 1 else v) for k, v in values.items()}
                            for step, values in self.records[name].items()}
            seconds[new] = self.seconds[name] * keep.sum() / n
            diverged[new] = dict(self.diverged.get(name, {}))
        for mapping in (records, seconds, diverged):
            mapping.pop(name, None)
        return VariantRuns(pd.concat(tables, ignore_index=True), records, seconds, diverged)


@contextmanager
def one_cpu_thread(device="cpu", enabled: bool = True):
    """Compute on one CPU thread inside the block (``enabled`` and on the CPU), then restore torch's count: the
    toy GANs' matrices are small, one thread is about as fast as two, and it does not collapse when other
    processes share the cores."""
    threads = torch.get_num_threads()
    if enabled and torch.device(device).type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_variants(variants: dict[str, tuple[Recipe, list[int]]], build: Callable[[list[int]], tuple], toy,
                   cfg: train.TrainConfig, *, batch_size: int, latent_dim: int, evaluate: Callable,
                   eval_every: int, device="cpu", checkpoint_dir=None, checkpoint_every: int = 1000,
                   single_thread: bool = True, together: bool = False) -> VariantRuns:
    """Train each variant on its seeds (one seed-batched model per variant), evaluating it on the way.

    Args:
        variants: name -> (the parts of that variant, its seeds).
        build: ``seeds -> (g, d)``, fresh seed-batched networks for those seeds (on ``device``).
        toy: the data distribution (``gancompanion.data``).
        evaluate: ``(step, g, streams) -> dict``; its entries shaped (S,) become columns of the table
            (e.g. ``metrics.evaluate``), the others stay in ``records``. Called at step 0 and every
            ``eval_every`` steps.
        checkpoint_dir: a folder for one resumable checkpoint per variant (long runs), or None.
        single_thread: train on one CPU thread (``one_cpu_thread``).
        together: train all variants and seeds as the runs of ONE seed-batched model, with a per-run
            recipe (``batching.merge``; the variants may differ only in numbers). ``seconds`` then gives
            every variant the one shared training time.
    """
    fit = dict(build=build, toy=toy, cfg=cfg, batch_size=batch_size, latent_dim=latent_dim, evaluate=evaluate,
               eval_every=eval_every, device=device, checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every)
    with one_cpu_thread(device, single_thread):
        return _train_together(variants, **fit) if together else _train_each(variants, **fit)


def _fit(name: str, recipe: Recipe, seeds: list[int], checkpoint_name: str, *, build, toy, cfg, batch_size,
         latent_dim, evaluate, eval_every, device, checkpoint_dir, checkpoint_every) -> tuple[train.TrainResult, float]:
    """One seed-batched model of ``recipe`` on ``seeds``, evaluated on the way; its result and seconds."""
    g, d = build(list(seeds))
    st = streams.ToyStreams(toy, seeds, batch_size, latent_dim, device=device)
    hook = train.Hook("eval", eval_every, lambda step, g, d, s: evaluate(step, g, s))
    ckpt = None
    if checkpoint_dir is not None:  # the checkpoint's own signature refuses a changed recipe or seed list
        ckpt = Path(checkpoint_dir) / checkpoint_name
        ckpt.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = train.train(g, d, st, cfg, hooks=[hook], checkpoint=ckpt, checkpoint_every=checkpoint_every,
                         desc=name, **recipe.parts())
    return result, time.perf_counter() - t0


def _rows(name: str, seeds: list[int], records: dict[int, dict]) -> list[dict]:
    """The tidy rows of one variant: one per seed and evaluated step, its (S,) entries as columns."""
    return [{"variant": name, "seed": s, "step": step,
             **{k: float(np.asarray(v)[i]) for k, v in values.items() if np.ndim(v) == 1}}
            for step, values in sorted(records.items()) for i, s in enumerate(seeds)]


def _train_each(variants, **fit) -> VariantRuns:
    """``train_variants``: one seed-batched model per variant."""
    rows, records, seconds, diverged = [], {}, {}, {}
    for name, (recipe, seeds) in variants.items():
        result, seconds[name] = _fit(name, recipe, seeds, f"{name.replace(' ', '_').replace('.', '')}_{seeds[0]}.pt",
                                     **fit)
        records[name] = result.records["eval"]
        diverged[name] = {seeds[i]: s for i, s in result.diverged.items()}
        rows += _rows(name, seeds, records[name])
    return VariantRuns(pd.DataFrame(rows), records, seconds, diverged)


def _train_together(variants, **fit) -> VariantRuns:
    """``train_variants(..., together=True)``: one model whose runs are every variant's seeds, in order."""
    from ..training import batching

    names = list(variants)
    seeds = [int(s) for name in names for s in variants[name][1]]
    bounds = np.cumsum([0] + [len(variants[name][1]) for name in names])  # variant i owns runs bounds[i]:bounds[i+1]
    recipe = batching.merge([(variants[name][0], len(variants[name][1])) for name in names])
    result, wall = _fit("all variants", recipe, seeds, f"together_{len(names)}variants_{seeds[0]}-{len(seeds)}runs.pt",
                        **fit)
    rows, records, diverged = [], {}, {}
    for i, name in enumerate(names):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        records[name] = {step: {k: (v[lo:hi] if np.ndim(v) >= 1 else v) for k, v in values.items()}
                         for step, values in result.records["eval"].items()}
        diverged[name] = {seeds[r]: s for r, s in result.diverged.items() if lo <= r < hi}
        rows += _rows(name, seeds[lo:hi], records[name])
    return VariantRuns(pd.DataFrame(rows), records, {name: wall for name in names}, diverged)


def per_seed(table: pd.DataFrame, variant: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` of one variant's column, values shaped (steps, seeds): a seed band's input."""
    wide = table[table.variant == variant].pivot(index="step", columns="seed", values=column)
    return wide.index.to_numpy(), wide.to_numpy()
