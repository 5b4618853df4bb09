"""Build the Jupyter Book: run the chapters, stage their executed notebooks, call ``jupyter-book``.

The chapters are executed by the runner (papermill, with the scale's parameters); Jupyter Book
itself executes nothing but the four small pages that read results (the introduction's chapter map, the
claims ledger, the reproducing page and the performance page). The build treats every Sphinx warning as an
error. The tables those pages show are generated here: ``ledger``, ``chapter_map``, ``execution_status``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from .. import files
from . import runner


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

    named = run_this_page(root, scale, params.get("seed", 0))
    index = jupyter_book(root, scale)
    for download in named:  # the theme's download button gives the reader's copy too, not the one Sphinx read
        files.atomic_copy(download, index.parent / "_sources" / "book" / "chapters" / f"{download.name.split('.')[0]}.ipynb")
    return index


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _seeds(seeds: list[int]) -> str:
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


# Each outcome a check can print, with its glyph and the CSS class that colours it (_static/gancompanion.css):
# a reader tells them apart by colour, by shape and by word. The glyphs are geometric shapes every font has.
OUTCOMES = {"PASS": ("\u25cf", "pass"), "REPRODUCED": ("\u25cf", "pass"),
            "FAIL": ("\u25b2", "fail"), "NOT REPRODUCED": ("\u25b2", "fail"),
            "INCONCLUSIVE": ("\u25d0", "inconclusive"), "SKIP": ("\u25cb", "skip")}


def outcome(status: str, text: str | None = None) -> str:
    """``text`` (default: the status) behind the status's glyph, in a span that colours it (HTML)."""
    glyph, css = OUTCOMES.get(status, ("\u25a1", "other"))
    return f'<span class="gc-outcome gc-{css}">{glyph} {status if text is None else text}</span>'


def literal(text: str) -> str:
    """``text`` to be shown as it is written, not read as Markdown (``Q*N_sigma`` stays ``Q*N_sigma``)."""
    return re.sub(r"([\\`*_\[\]<>{}#|$])", r"\\\1", str(text))


def _groups(records: dict[int, dict]) -> list[tuple[str, list[int]]]:
    groups: dict[str, list[int]] = {}
    for seed, r in sorted(records.items()):
        groups.setdefault(r["status"], []).append(seed)
    return sorted(groups.items(), key=lambda g: -len(g[1]))


def seed_summary(records: dict[int, dict], html: bool = False) -> str:
    """One scale's verdicts over seeds, e.g. "3/3 PASS" or "2/3 PASS, 1/3 FAIL (seed 1)".

    ``html``: each outcome in its coloured span with its glyph (``outcome``)."""
    n = len(records)
    parts = []
    for i, (st, seeds) in enumerate(_groups(records)):
        text = f"{len(seeds)}/{n} {st}" + (f" ({_seeds(seeds)})" if i else "")
        parts.append(outcome(st, text) if html else text)
    return ", ".join(parts)


def key_spread(records: dict[int, dict]) -> str:
    """The claim's key number over the seeds: "median [min, max]" ("" when the claim has none). A statistical
    claim judged from an interval gives, for each seed set (the chapter's ``seed`` is a block of seeds: 0 the
    published set, 1 the next, disjoint one), its effect, its 95 % interval and n: "effect: HQ, set 0: +0.12
    [0.05, 0.2] n=8; set 1: ..."."""
    from .claims import key_number

    judged = {seed: r["verdict"] for seed, r in sorted(records.items())
              if r.get("status") != "SKIP" and isinstance(r.get("verdict"), dict)
              and r["verdict"].get("estimate") is not None}
    if judged:
        from ..evaluation.verdicts import Result

        name = next(iter(judged.values())).get("name") or "estimate"
        return f"effect: {name}, " + "; ".join(f"set {seed}: {Result(**v).interval()}" for seed, v in judged.items())
    named = [key_number(r) for _, r in sorted(records.items())]
    values = [v for k, v in named if v is not None]
    if not values:
        return ""
    what = next(k for k, v in named if v is not None)
    if len(values) == 1:
        return f"{what}: {values[0]:.3g}"
    return f"{what}: {float(np.median(values)):.3g} [{min(values):.3g}, {max(values):.3g}]"


def chapter_order(catalogue: dict) -> list:
    """The catalogue's claims in the order of the book: by chapter, then as each chapter lists them."""
    items = list(catalogue.values())
    return sorted(items, key=lambda c: (c.chapter, items.index(c)))


def ledger(records: list[dict], catalogue: dict, built: str, scales=None, part: str = "all") -> str:
    """The claims ledger page as Markdown, from the claim records and the catalogue of claims.

    ``part="table"``: the summary and a table (claim, chapter number, one column per scale with the verdicts
    over the seeds recorded, e.g. "3/3 PASS", each outcome by colour, glyph and word, the scale the book was
    built at in bold, and the key number's median and range over the seeds at the built scale), rows in the
    order of the chapters; it fits the page column, and on a phone shows claim, built outcome and key number
    only. ``part="evidence"``: claim by claim, the statement as written, the check, one line per scale and seed.
    ``"all"``: both, under the heading "Evidence, claim by claim". A claim never checked shows as "not run".
    """
    from .scales import SCALES

    if part not in ("all", "table", "evidence"):
        raise ValueError(f"part must be one of 'all', 'table', 'evidence', got {part!r}")
    scales = list(scales or SCALES)
    by: dict[tuple, dict[int, dict]] = {}
    for r in records:
        by.setdefault((r["id"], r["scale"]), {})[int(r["seed"])] = r

    from .claims import differing, made_by, protocol, stale_note

    def published(claim_id: str) -> str:
        return protocol(claim_id, built)[1] or built

    def status(claim_id: str, scale: str) -> str:
        seeds = by.get((claim_id, scale))
        text = seed_summary(seeds, html=True) if seeds else "not run"
        if scale != published(claim_id) or (not seeds and scale == built):
            return text
        return f"**{text}**" + ("<br><small>published verdict</small>" if scale != built else "")

    head = (["claim", "ch."] + [f"{s} (built)" if s == built else s for s in scales]
            + [f"key number at {built}: median [min, max] over seeds, or an effect's 95 % interval per seed set"])
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    details, counts = [], {s: {"PASS": 0, "FAIL": 0, "SKIP": 0} for s in scales}
    for c in chapter_order(catalogue):
        number = c.chapter.split("_")[0].lstrip("0") or "0"
        table.append(f"| {c.id} | [{number}](chapters/{c.chapter}.ipynb) | "  # plain text: wraps at hyphens
                     + " | ".join(status(c.id, s) for s in scales) + " | "
                     + _cell(key_spread(by.get((c.id, published(c.id))) or by.get((c.id, built), {}))) + " |")
        figure = f" *Figure:* {{numref}}`{c.figure}`." if getattr(c, "figure", "") else ""
        details.append(f"**`{c.id}`** ({c.kind}). {literal(c.statement)} *Source:* {c.source}.\n\n"
                       f"*Check:* {c.check}{figure}\n")
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
                details.append(f"- {s}, seed {seed}: **{outcome(r['status'])}** {_cell(r['evidence'])} "
                               f"({where or r['device']}, {str(r.get('checked_at', ''))[:10]}"
                               + (f"; run with `{_cell(differs)}`" if differs else "") + ")"
                               + (f" *{_cell(stale)}*" if stale else ""))
        details.append("")
    summary = "; ".join(f"{s}: " + ", ".join(f"{n} {k}" for k, n in counts[s].items() if n) for s in scales
                        if any(counts[s].values()))
    # on a phone the ledger keeps the claim, the built scale's outcome and the key number (_static/gancompanion.css)
    hidden = [2] + [3 + i for i, s in enumerate(scales) if s != built]
    phone = ("<style>@media (max-width: 700px) {"
             + ", ".join(f".gc-ledger th:nth-child({i}), .gc-ledger td:nth-child({i})" for i in hidden)
             + " { display: none; } }</style>")
    top = (f"This book was built at scale **{built}**. Recorded checks (one per claim and seed): "
           f"{summary or 'none yet'}.\n\n{phone}\n\n<div class=\"gc-ledger\">\n\n" + "\n".join(table) + "\n\n</div>\n")
    evidence = "\n".join(details)
    if part == "table":
        return top
    if part == "evidence":
        return evidence
    return top + "\n## Evidence, claim by claim\n\n" + evidence


def _title_and_source(notebook: Path) -> tuple[str, str]:
    """A chapter's title (its ``# `` heading) and its ``**Source:**`` line, from its MyST source."""
    title, source = notebook.stem, []
    for line in notebook.read_text().splitlines():
        if line.startswith("# ") and title == notebook.stem:
            title = line[2:].strip()
        elif line.startswith("**Source:**") or (source and line.strip()):
            source.append(line.removeprefix("**Source:**").strip())
        elif source:  # the paragraph ended
            break
    return title, " ".join(source).rstrip(".")


def _outcome_counts(records: list[dict], html: bool = True) -> str:
    counts: dict[str, int] = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    order = sorted(counts, key=lambda st: list(OUTCOMES).index(st) if st in OUTCOMES else len(OUTCOMES))
    return ", ".join(outcome(st, f"{counts[st]} {st}") if html else f"{counts[st]} {st}" for st in order)


def chapter_map(root: Path, records: list[dict], built: str, catalogue: dict | None = None) -> str:
    """The introduction's map of the chapters (Markdown), from the chapters themselves and the claim records:
    each chapter's title and link, its source (its own ``**Source:**`` line), and its claims with their
    outcomes at the scale the book was built at (seed 0)."""
    from .claims import CATALOGUE

    catalogue = CATALOGUE if catalogue is None else catalogue
    rows = ["| chapter | source | claims checked, and their outcomes at the built scale |", "|---|---|---|"]
    for nb in runner.chapters(root):
        title, source = _title_and_source(nb)
        number = nb.stem.split("_")[0].lstrip("0") or "0"
        ids = {c.id for c in catalogue.values() if c.chapter == nb.stem}
        mine = [r for r in records if r["id"] in ids and r["scale"] == built and int(r["seed"]) == 0]
        checked = f"{len(ids)}: " + (_outcome_counts(mine) if mine else "not run yet") if ids else "none"
        rows.append(f"| {number}. [{title}](chapters/{nb.stem}.ipynb) | {_cell(source)} | {checked} |")
    return "\n".join(rows)


def execution_status(root: Path, records: list[dict] | None = None) -> str:
    """Every chapter's last recorded run at each scale (Markdown, one row per chapter, one column per scale):
    how long it took, its seed and device, when it ran, whether it failed since, and the outcomes of its claims
    in that run; read from the executed notebooks' own metadata, as the runner wrote it."""
    import datetime

    from .claims import CATALOGUE
    from .pagebox import duration, last_runs
    from .scales import SCALES

    records = [] if records is None else records
    rows = ["| chapter | " + " | ".join(f"`{s}`" for s in SCALES) + " |", "|---|" + "---|" * len(SCALES)]
    for nb in runner.chapters(root):
        title, _ = _title_and_source(nb)
        number = nb.stem.split("_")[0].lstrip("0") or "0"
        ids = {c.id for c in CATALOGUE.values() if c.chapter == nb.stem}
        cells = []
        for scale, run in last_runs(root, nb).items():
            if run is None:
                cells.append("not run yet")
                continue
            p = run.get("parameters", {})
            path = Path(run["path"])
            when = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d")
            failed = runner.failed_path(path)
            late = " (a later run failed; this one is kept)" if failed.exists() and \
                failed.stat().st_mtime > path.stat().st_mtime else ""
            mine = [r for r in records if r["id"] in ids and r["scale"] == scale and r["seed"] == p.get("seed", 0)]
            cells.append(f"**{duration(run.get('seconds'))}**, seed {p.get('seed', 0)}, `{p.get('device', '?')}`, "
                         f"{when}{late}" + (f"<br>{_outcome_counts(mine)}" if mine else ""))
        rows.append(f"| {number}. [{title}](chapters/{nb.stem}.ipynb) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def claim_costs(records: list[dict], scale: str) -> str:
    """Where a scale's time goes, claim by claim (Markdown): for every record of ``scale`` whose chapter
    charged compute to it (``Chapter.cost``), its seed set, the training runs (seeds x variants), the steps
    they took in all and the seconds spent, with each chapter's total. Records without a cost (exact
    claims computed in a moment, or claims whose work is charged to another) are left out."""
    rows = ["| claim | seed set | runs | steps | seconds |", "|---|---|---|---|---|"]
    totals: dict[tuple[str, int], float] = {}
    for r in sorted((r for r in records if r["scale"] == scale and r.get("cost")),
                    key=lambda r: (r.get("chapter", ""), int(r["seed"]), r["id"])):
        c = r["cost"]
        rows.append(f"| {r['id']} | {r['seed']} | {int(c.get('runs', 0))} | {int(c.get('steps', 0)):,} | "
                    f"{float(c.get('seconds', 0)):.0f} |")
        key = (r["id"].split(".")[0], int(r["seed"]))
        totals[key] = totals.get(key, 0.0) + float(c.get("seconds", 0))
    if len(rows) == 2:
        return f"No claim at scale `{scale}` has recorded its cost yet."
    rows += [f"| **{ch} in all** | {seed} | | | **{sec:.0f}** |" for (ch, seed), sec in sorted(totals.items())]
    return "\n".join(rows)
