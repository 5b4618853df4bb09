"""Build the Jupyter Book: run the chapters, stage their executed notebooks, call ``jupyter-book``.

The chapters are executed by the runner (papermill, with the scale's parameters); Jupyter Book
itself executes nothing but the two small pages that read results (the claims ledger and the
performance page). The build treats every Sphinx warning as an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import runner


def stage(root: Path, scale: str) -> list[Path]:
    """Copy ``_build/executed/<scale>/*.ipynb`` of every chapter into ``book/chapters/``."""
    dest = root / "book" / "chapters"
    dest.mkdir(parents=True, exist_ok=True)
    staged = []
    for nb in runner.chapters(root):
        src = runner.output_path(root, scale, nb)
        if not src.exists():
            raise FileNotFoundError(f"chapter {nb.stem} has not been executed at scale {scale!r} ({src} is missing); "
                                    f"run `gancompanion run --scale {scale}` first")
        tmp = dest / f".{nb.stem}.ipynb.tmp"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest / f"{nb.stem}.ipynb")
        staged.append(dest / f"{nb.stem}.ipynb")
    return staged


def jupyter_book(root: Path, scale: str, builder: str = "html") -> Path:
    """Run ``jupyter-book build`` on ``root`` with warnings as errors; return the built index page."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(root), "--builder", builder,
           "-W", "-n", "--keep-going", "--all"]  # --all: a cached page never hides a warning
    env = {**os.environ, "GANCOMPANION_BOOK_SCALE": scale,
           "GANCOMPANION_RESULTS": str(root / "_build" / "results")}
    proc = subprocess.run(cmd, cwd=root, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"jupyter-book build failed (exit {proc.returncode}); see the messages above and "
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
            raise SystemExit(f"{len(failed)} chapter(s) failed; the book was not built. The failed notebooks "
                             f"are kept as {', '.join(str(o.output) for o in failed)}")
    stage(root, scale)
    return jupyter_book(root, scale)
