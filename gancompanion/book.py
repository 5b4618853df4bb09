"""Build the Jupyter Book: run the chapters, stage their executed notebooks, call ``jupyter-book``.

The chapters are executed by the runner (papermill, with the scale's parameters); Jupyter Book
itself executes nothing but the three small pages that read results (the claims ledger, the
reproducing page and the performance page). The build treats every Sphinx warning as an error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import files, runner


class BuildError(runner.GancompanionError):
    """The book could not be built (a chapter failed, or ``jupyter-book`` reported an error)."""


def stage(root: Path, scale: str, seed: int = 0) -> list[Path]:
    """Copy the executed notebook of every chapter at ``scale`` and ``seed`` into ``book/chapters/``."""
    dest = root / "book" / "chapters"
    sources = []
    for nb in runner.chapters(root):
        src = runner.output_path(root, scale, nb, seed)
        if not src.exists():
            raise BuildError(f"chapter {nb.stem} has not been executed at scale {scale!r}, seed {seed} ({src} is "
                             f"missing); run `gancompanion run --scale {scale} --seed {seed}` first")
        sources.append((nb, src))
    return [files.atomic_copy(src, dest / f"{nb.stem}.ipynb") for nb, src in sources]


def jupyter_book(root: Path, scale: str, builder: str = "html") -> Path:
    """Run ``jupyter-book build`` on ``root`` with warnings as errors; return the built index page."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(root), "--builder", builder,
           "-W", "-n", "--keep-going", "--all"]  # --all: a cached page never hides a warning
    env = {**{k: v for k, v in os.environ.items() if k != "GANCOMPANION_CLAIMS"}, "GANCOMPANION_BOOK_SCALE": scale,
           "GANCOMPANION_RESULTS": str(root / "_build" / "results")}
    proc = subprocess.run(cmd, cwd=root, env=env)
    if proc.returncode != 0:
        raise BuildError(f"jupyter-book build failed (exit {proc.returncode}); see the messages above and "
                         f"{root / '_build' / 'html' / 'reports'}")
    return root / "_build" / builder / "index.html"


def build(root: Path, params: dict, *, jobs: int = 1, force: bool = False, execute: bool = True,
          progress: bool = True) -> Path:
    """Execute every chapter with ``params`` (unless ``execute`` is False), stage them, build the HTML."""
    scale = params["scale"]
    if execute:
        outcomes = runner.run_all(runner.chapters(root), params, root, jobs=jobs, force=force, progress=progress)
        failed = [o for o in outcomes if o.status == "failed"]
        for o in outcomes:
            print(f"  {o.notebook}: {o.status} ({o.seconds:.0f} s){' - ' + o.error if o.error else ''}")
        if failed:
            raise BuildError(f"{len(failed)} chapter(s) failed; the book was not built. The failed notebooks "
                             f"are kept as {', '.join(str(o.output) for o in failed)}")
    stage(root, scale, params.get("seed", 0))
    from .pagebox import run_this_page  # each page's "Run this page" box, named download, Colab/Binder mirror

    run_this_page(root, scale, params.get("seed", 0))
    return jupyter_book(root, scale)


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _seeds(seeds: list[int]) -> str:
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def seed_summary(records: dict[int, dict]) -> str:
    """One scale's verdicts over seeds, e.g. "3/3 PASS" or "2/3 PASS, 1/3 FAIL (seed 1)"."""
    groups: dict[str, list[int]] = {}
    for seed, r in sorted(records.items()):
        groups.setdefault(r["status"], []).append(seed)
    n = len(records)
    order = sorted(groups, key=lambda st: -len(groups[st]))
    return ", ".join(f"{len(groups[st])}/{n} {st}" + (f" ({_seeds(groups[st])})" if st != order[0] else "")
                     for st in order)


def key_spread(records: dict[int, dict]) -> str:
    """The claim's key number over the seeds: "median [min, max]" ("" when the claim has none)."""
    from .claims import key_number

    named = [key_number(r) for _, r in sorted(records.items())]
    values = [v for k, v in named if v is not None]
    if not values:
        return ""
    what = next(k for k, v in named if v is not None)
    if len(values) == 1:
        return f"{what}: {values[0]:.3g}"
    return f"{what}: {float(np.median(values)):.3g} [{min(values):.3g}, {max(values):.3g}]"


def ledger(records: list[dict], catalogue: dict, built: str, scales=None) -> str:
    """The claims ledger page as Markdown, from the claim records and the catalogue of claims.

    A table (claim, chapter number, one column per scale with the verdicts over the seeds recorded, e.g.
    "3/3 PASS", the scale the book was built at in bold, and the key number's median and range over the
    seeds at the built scale) fits the page column: its cells are short or wrap. The evidence follows claim
    by claim, one line per scale and seed. A claim never checked shows as "not run".
    """
    from .scales import SCALES

    scales = list(scales or SCALES)
    by: dict[tuple, dict[int, dict]] = {}
    for r in records:
        by.setdefault((r["id"], r["scale"]), {})[int(r["seed"])] = r

    from .claims import differing, made_by, protocol, stale_note

    def published(claim_id: str) -> str:
        return protocol(claim_id, built)[1] or built

    def status(claim_id: str, scale: str) -> str:
        seeds = by.get((claim_id, scale))
        text = seed_summary(seeds) if seeds else "not run"
        if scale != published(claim_id) or (not seeds and scale == built):
            return text
        return f"**{text}**" + ("<br><small>published verdict</small>" if scale != built else "")

    head = (["claim", "ch."] + [f"{s} (built)" if s == built else s for s in scales]
            + [f"key number at {built}: median [min, max] over seeds"])
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    details, counts = [], {s: {"PASS": 0, "FAIL": 0, "SKIP": 0} for s in scales}
    for c in catalogue.values():
        number = c.chapter.split("_")[0].lstrip("0") or "0"
        table.append(f"| {c.id} | [{number}](chapters/{c.chapter}.ipynb) | "  # plain text: wraps at hyphens
                     + " | ".join(status(c.id, s) for s in scales) + " | "
                     + _cell(key_spread(by.get((c.id, published(c.id))) or by.get((c.id, built), {}))) + " |")
        figure = f" *Figure:* {{numref}}`{c.figure}`." if getattr(c, "figure", "") else ""
        details.append(f"**`{c.id}`** ({c.kind}). {c.statement} *Source:* {c.source}.\n\n*Check:* {c.check}{figure}\n")
        departures = [(s, protocol(c.id, s)[0]) for s in scales]
        if any(d for _, d in departures):
            details.append("*Protocol, by scale:* " + "; ".join(f"{s}: {_cell(d)}" for s, d in departures if d)
                           + (f". The published verdict is the one at `{published(c.id)}`, as the chapter explains."
                              if published(c.id) != built else ".") + "\n")
        for s in scales:
            for seed, r in sorted(by.get((c.id, s), {}).items()):
                counts[s][r["status"]] = counts[s].get(r["status"], 0) + 1
                _, where = made_by(r)  # the run that made it: parameters that differ, device, threads
                differs, stale = " ".join(differing(r)), stale_note(r)
                details.append(f"- {s}, seed {seed}: **{r['status']}** {_cell(r['evidence'])} "
                               f"({where or r['device']}, {str(r.get('checked_at', ''))[:10]}"
                               + (f"; run with `{_cell(differs)}`" if differs else "") + ")"
                               + (f" *{_cell(stale)}*" if stale else ""))
        details.append("")
    summary = "; ".join(f"{s}: " + ", ".join(f"{n} {k}" for k, n in counts[s].items() if n) for s in scales
                        if any(counts[s].values()))
    return (f"This book was built at scale **{built}**. Recorded checks (one per claim and seed): "
            f"{summary or 'none yet'}.\n\n" + "\n".join(table) + "\n\n## Evidence, claim by claim\n\n"
            + "\n".join(details))
