"""The "Run this page" box at the top of every chapter page, and the executed notebook named for its run.

``run_this_page`` is called by the book build after the executed chapters are staged into
``book/chapters/``. It writes the launchable mirrors (``mirrors.write``) and, into each staged
notebook (never into the source), a box under the chapter's title: the scale, seed, device,
hardware, library versions and time of the run shown on the page; the last recorded run at every
other scale (the runner's ``metadata.gancompanion`` of ``_build/executed/<scale>/...``, or "not
measured yet"); a download link to the executed notebook under a name that says the same
(``04_minibatch_divergences.smoke-seed0-cpu-gancompanion-0.1.0.ipynb``); Colab and Binder links to
the chapter's mirror; and the ``gancompanion`` and ``papermill`` commands that re-run it.
"""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path

from .. import __version__, files
from . import mirrors, notebook_prose, runner
from .scales import SCALES

DOWNLOADS = "downloads"  # beside the staged chapters: the executed notebooks under their telling names
RUN_LINE = re.compile(r"scale=(\S+)\s+device=(\S+)\s+seed=(\d+)\s+torch=(\S+)")  # what chapter.setup prints


def _read(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _meta(nb: dict) -> dict:
    return (nb.get("metadata") or {}).get("gancompanion") or {}


def torch_version(nb: dict) -> str | None:
    """The torch version the notebook ran with, as its set-up cell printed it (None if it printed none)."""
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            text = out.get("text", "")
            m = RUN_LINE.search("".join(text) if isinstance(text, list) else text)
            if m:
                return m.group(4)
    return None


def hardware(device: str) -> str:
    """This machine, in words: the GPU's name for ``cuda``, else the CPU's model and core count."""
    if str(device).startswith("cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(0)
        except Exception:  # a broken CUDA set-up must not stop the book
            pass
        return "a CUDA GPU"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def duration(seconds) -> str:
    if seconds is None:
        return "an unrecorded time"
    seconds = float(seconds)
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def last_runs(root: Path, chapter: Path | str) -> dict[str, dict | None]:
    """For each scale, the metadata of the newest executed notebook of ``chapter`` (any seed), or None."""
    stem = Path(chapter).stem
    out = {}
    for scale in SCALES:
        folder = root / "_build" / "executed" / scale
        found = [p for p in [folder / f"{stem}.ipynb", *folder.glob(f"seed*/{stem}.ipynb")] if p.is_file()]
        best = None
        for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True):
            meta = _meta(_read(p))
            if meta.get("seconds") is not None:
                best = {**meta, "path": p}
                break
        out[scale] = best
    return out


def download_name(stem: str, scale: str, seed: int, device: str, version: str = __version__) -> str:
    """The file name of an executed notebook that says what it is: chapter, scale, seed, device, library."""
    return f"{stem}.{scale}-seed{seed}-{device}-gancompanion-{version}.ipynb"


def _current(root: Path, meta: dict) -> bool:
    """True if the run's key is what the chapter's present source and library would give."""
    try:
        return meta.get("key") == runner.run_key((root / meta["source"]).read_text(), meta["parameters"])
    except (OSError, KeyError, TypeError):
        return False


def box(root: Path, chapter: Path, nb: dict, download: str) -> str:
    """The Markdown of the box for ``chapter``, whose staged executed notebook is ``nb``."""
    meta = _meta(nb)
    params = meta.get("parameters", {})
    scale, seed, device = params.get("scale", "?"), params.get("seed", 0), params.get("device", "?")
    where = meta.get("hardware") or f"{hardware(device)}; the machine that built the book"
    torch_v = torch_version(nb)
    versions = f"gancompanion {meta.get('version', __version__)}" + (f", torch {torch_v}" if torch_v else "")
    stale = "" if _current(root, meta) else (" It was executed before the latest change to this chapter or to "
                                             "the library.")
    others = []
    for s, run in last_runs(root, chapter).items():
        if s != scale:
            p = (run or {}).get("parameters", {})
            others.append(f"`{s}` not measured yet" if run is None else
                          f"`{s}` {duration(run['seconds'])} (seed {p.get('seed', 0)}, {p.get('device', '?')})")
    link = mirrors.links(root, chapter)
    number = chapter.stem.split("_")[0]
    other = "paper" if scale != "paper" else "book"
    knobs = {k: v for k, v in runner.parameters_of(runner.read_notebook(chapter)).items()
             if k not in runner.CORE_PARAMETERS}
    knob_line = ("Its other parameters take `-p NAME VALUE` in both commands: "
                 + ", ".join(f"`{k}` (default `{v!r}`)" for k, v in knobs.items())
                 + ("; `None` means the scale's value." if None in knobs.values() else ".")) if knobs else ""
    lines = [
        ":::{admonition} Run this page",
        ":class: tip",
        "",
        f"This page was executed at scale `{scale}` with seed {seed} on `{device}` ({where}) in "
        f"{duration(meta.get('seconds'))}, with {versions}.{stale} The last recorded runs at the other scales: "
        f"{', '.join(others)}.",
        "",
        f"{{download}}`Executed notebook <{DOWNLOADS}/{download}>` (outputs included) · "
        f"[Open in Colab]({link['colab']}) · [Binder]({link['binder']}) "
        "(an unexecuted copy whose first cell installs gancompanion if needed)",
        "",
        f"Re-run it, here at scale `{other}` with seed 1 on a GPU if there is one:",
        "",
        "```bash",
        f"gancompanion run {number} --scale {other} --device auto --seed 1",
        f"papermill {link['raw']} out.ipynb -p scale {other} -p device auto -p seed 1",
        "```",
    ]
    if knob_line:
        lines += ["", knob_line]
    return "\n".join(lines + [":::"]) + "\n"


def insert_box(nb: dict, text: str) -> None:
    """Put ``text`` under the title of the first cell (a ``# `` heading), else in a new first cell."""
    cells = nb.setdefault("cells", [])
    first = cells[0] if cells else None
    if first and first.get("cell_type") == "markdown":
        src = "".join(first["source"]) if isinstance(first["source"], list) else first["source"]
        title, _, rest = src.partition("\n")
        if title.startswith("# "):
            first["source"] = f"{title}\n\n{text}\n{rest.lstrip(chr(10))}"
            return
    cells.insert(0, {"cell_type": "markdown", "id": "run-this-page", "metadata": {}, "source": text})


def decorate(root: Path, chapter: Path, staged: Path, first_figure: int = 1) -> Path:
    """Add the box to the staged notebook of ``chapter`` and write its named copy; return the copy.

    The named copy is for a notebook reader: each figure shown under the code that drew it, the glued numbers
    written into the text (``notebook_prose.for_reader``). The staged notebook, which the book is built from,
    keeps the roles and shows each figure once, in its captioned ``{glue:figure}``."""
    nb = _read(staged)
    if not nb:
        raise runner.GancompanionError(f"{staged} is not a readable notebook")
    params = _meta(nb).get("parameters", {})
    name = download_name(chapter.stem, params.get("scale", "unknown"), params.get("seed", 0),
                         params.get("device", "unknown"), _meta(nb).get("version", __version__))
    if not _meta(nb).get("page_box"):  # staged once, boxed once
        insert_box(nb, box(root, chapter, nb, name))
        nb["metadata"]["gancompanion"]["page_box"] = True
    download = json.loads(json.dumps(nb))
    notebook_prose.show_glued_figures(download)  # each figure under the code that drew it
    download = notebook_prose.for_reader(download, bib=notebook_prose.bibliography(root / "book" / "references.bib"),
                                         first_figure=first_figure)
    notebook_prose.hide_glued_figures(nb)  # the book shows each figure once, in its captioned directive
    files.atomic_write_text(staged, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return files.atomic_write_text(staged.parent / DOWNLOADS / name, json.dumps(download, indent=1, ensure_ascii=False)
                                   + "\n")


def run_this_page(root: Path, scale: str | None = None, seed: int | None = None) -> list[Path]:
    """Write the mirrors and put the box into every staged chapter; return the named executed notebooks.

    ``scale`` and ``seed`` are those of the build (for its message only: each box reads the run's own
    metadata). Named copies of earlier builds are removed.
    """
    mirrors.write(root)
    dest = root / "book" / "chapters"
    named = []
    chapters = runner.chapters(root)
    firsts = notebook_prose.first_figures([runner.read_notebook(ch) for ch in chapters])
    for chapter, first in zip(chapters, firsts):
        staged = dest / f"{chapter.stem}.ipynb"
        if not staged.exists():
            raise runner.GancompanionError(f"chapter {chapter.stem} is not staged at {staged} "
                                           f"(scale {scale!r}, seed {seed})")
        named.append(decorate(root, chapter, staged, first))
    keep = {p.name for p in named}
    for old in (dest / DOWNLOADS).glob("*.ipynb"):
        if old.name not in keep:
            old.unlink()
    return named
