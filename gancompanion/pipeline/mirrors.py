"""Launchable ``.ipynb`` mirrors of the chapters, for Colab's GitHub loader and for Binder.

The chapters are MyST markdown, which Colab cannot open. ``write`` turns each one into an
unexecuted notebook with the same cells, preceded by one install cell that installs gancompanion
(from the repository named in ``_config.yml``) only when it cannot be imported; on Colab it keeps
Colab's own CUDA build of torch and installs the other dependencies. Beside the notebooks goes a
``binder/`` folder with the environment Binder builds for them. The mirror set
(``_build/mirrors/``) is laid out as the branch ``MIRROR_BRANCH`` that the publish workflow pushes,
so the links of ``links`` point at files of that set.

``python -m gancompanion.pipeline.mirrors [folder]`` writes the mirror set without building the book.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import tomllib
from pathlib import Path
from urllib.parse import quote

from .. import files
from . import notebook_prose, runner

MIRROR_BRANCH = "mirrors"  # the branch of their own that the publish workflow pushes the mirrors to
FOLDER = "notebooks"  # where the mirrors lie within that branch
TORCH = "2.13.0"  # the torch that Binder installs (the CPU build, as `make install` does)
PYTHON = "3.11"

INSTALL_CELL = '''\
# Run this page anywhere: install gancompanion only if it cannot be imported here.
# On Colab keep Colab's own CUDA build of torch and install the rest.
import importlib.util, os, subprocess, sys

if importlib.util.find_spec("gancompanion") is None:
    source = "gancompanion @ git+{url}@{ref}"
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
        subprocess.check_call(pip + ["--no-deps", source])
        subprocess.check_call(pip + [{deps}])
    else:
        subprocess.check_call(pip + [source])
    importlib.invalidate_caches()
'''


def repository(root: Path) -> tuple[str, str]:
    """``(url, branch)`` of the repository as ``_config.yml`` names it (``repository.url``, ``.branch``)."""
    import yaml

    cfg = yaml.safe_load((root / "_config.yml").read_text()) or {}
    repo = cfg.get("repository") or {}
    url = str(repo.get("url", "")).rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"repository.url in _config.yml must be a GitHub address "
                         f"(https://github.com/<owner>/<name>), got {url!r}")
    return url.removesuffix(".git"), str(repo.get("branch", "main"))


def ref(root: Path) -> str:
    """The revision the install cell installs: ``$GANCOMPANION_REF``, else the CI's commit, else the branch."""
    return os.environ.get("GANCOMPANION_REF") or os.environ.get("GITHUB_SHA") or repository(root)[1]


def dependencies(root: Path, *, without: tuple[str, ...] = ()) -> list[str]:
    """The package's dependencies from ``pyproject.toml``, less those named in ``without``."""
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    return [d for d in deps if re.split(r"[\s<>=!~\[;(]", d, maxsplit=1)[0].lower() not in without]


def install_cell(root: Path) -> str:
    """The source of the mirrors' first code cell (see the module docstring)."""
    url, _ = repository(root)
    deps = textwrap.fill(", ".join(repr(d) for d in dependencies(root, without=("torch",))), 100,
                         initial_indent=" " * 36, subsequent_indent=" " * 36, break_long_words=False,
                         break_on_hyphens=False).lstrip()
    return INSTALL_CELL.format(url=url, ref=ref(root), deps=deps)


def book_run(root: Path, chapter: Path | str) -> dict | None:
    """The executed notebook of ``chapter`` that the book was built from (``book/chapters/``), or None."""
    path = root / "book" / "chapters" / f"{Path(chapter).stem}.ipynb"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def mirror(root: Path, chapter: Path, first_figure: int = 1):
    """The chapter ``chapter`` as an unexecuted nbformat notebook: the install cell, then its own cells.

    Its text is written for a notebook reader (``notebook_prose.for_reader``): the numbers are those of the
    book's run of the chapter when the book has been built (a note says which run), the figures' captions
    are numbered, the citations written out. Running the cells draws each figure under its code.
    """
    import nbformat

    nb = runner.read_notebook(chapter)
    run = book_run(root, chapter)
    values = notebook_prose.glued(run) if run else {}
    nb = nbformat.from_dict(notebook_prose.for_reader(
        nb, values, notebook_prose.bibliography(root / "book" / "references.bib"), first_figure))
    if run:
        p = ((run.get("metadata") or {}).get("gancompanion") or {}).get("parameters", {})
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            f"*The numbers in the text are those of the book's run of this chapter (scale `{p.get('scale', '?')}`, "
            f"seed {p.get('seed', 0)}, on `{p.get('device', '?')}`). Running the cells computes your own, which the "
            f"cells print and draw.*"))
    nb.metadata.pop("jupytext", None)
    nb.metadata["accelerator"] = "GPU"  # Colab opens it on a GPU runtime when one is free
    nb.metadata["colab"] = {"provenance": [], "toc_visible": True}
    nb.metadata["gancompanion"] = {"source": str(chapter.relative_to(root)), "mirror": True}
    cell = nbformat.v4.new_code_cell(install_cell(root), metadata={"tags": ["install"]})
    nb.cells.insert(0, cell)
    for i, c in enumerate(nb.cells):  # ids stable across builds: the branch changes only when a chapter does
        c["id"] = f"cell-{i}"
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nbformat.validate(nb)
    return nb


def binder_requirements(root: Path) -> str:
    """``binder/requirements.txt`` of the mirror set: the CPU torch, gancompanion at ``ref``, its deps."""
    url, _ = repository(root)
    return ("# The environment Binder builds for the notebooks of this branch "
            "(written by gancompanion.pipeline.mirrors).\n"
            "--extra-index-url https://download.pytorch.org/whl/cpu\n"
            f"torch=={TORCH}\n"
            f"gancompanion @ git+{url}@{ref(root)}\n")


def out_dir(root: Path) -> Path:
    return root / "_build" / "mirrors"


def mirror_path(out: Path, chapter: Path | str) -> Path:
    return out / FOLDER / f"{Path(chapter).stem}.ipynb"


def readme(root: Path, chapters: list[Path]) -> str:
    url, _ = repository(root)
    lines = [f"# Launchable notebooks of {url}", "",
             f"Written by the book build from the MyST chapters of {url} (revision `{ref(root)}`); do not edit "
             "them here. Each notebook's first cell installs gancompanion when it cannot be imported.", ""]
    for ch in chapters:
        link = links(root, ch)
        lines.append(f"- `{FOLDER}/{ch.stem}.ipynb`: [Open in Colab]({link['colab']}) · [Binder]({link['binder']})")
    return "\n".join(lines) + "\n"


def write(root: Path, out: Path | None = None, chapters: list[Path] | None = None) -> list[Path]:
    """Write the mirror set (one notebook per chapter, ``binder/``, a README) into ``out``; return the notebooks.

    Mirrors of chapters that no longer exist are removed, so the set is always the book's chapters.
    """
    import nbformat

    out = out_dir(root) if out is None else Path(out)
    chapters = runner.chapters(root) if chapters is None else chapters
    written = []
    firsts = notebook_prose.first_figures([runner.read_notebook(ch) for ch in chapters])
    for ch, first in zip(chapters, firsts):
        text = nbformat.writes(mirror(root, ch, first)) + "\n"
        written.append(files.atomic_write_text(mirror_path(out, ch), text))
    keep = {p.resolve() for p in written}
    for old in (out / FOLDER).glob("*.ipynb"):
        if old.resolve() not in keep:
            old.unlink()
    files.atomic_write_text(out / "binder" / "requirements.txt", binder_requirements(root))
    files.atomic_write_text(out / "binder" / "runtime.txt", f"python-{PYTHON}\n")
    files.atomic_write_text(out / "README.md", readme(root, chapters))
    return written


def links(root: Path, chapter: Path | str) -> dict[str, str]:
    """The addresses of a chapter's mirror: ``colab``, ``binder``, ``raw`` (for papermill) and ``path``."""
    url, _ = repository(root)
    owner_repo = url.removeprefix("https://github.com/")
    path = f"{FOLDER}/{Path(chapter).stem}.ipynb"
    return {"path": path,
            "colab": f"https://colab.research.google.com/github/{owner_repo}/blob/{MIRROR_BRANCH}/{path}",
            "binder": f"https://mybinder.org/v2/gh/{owner_repo}/{MIRROR_BRANCH}?labpath={quote(path, safe='')}",
            "raw": f"https://raw.githubusercontent.com/{owner_repo}/{MIRROR_BRANCH}/{path}"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = runner.project_root()
    out = Path(argv[0]) if argv else None
    for p in write(root, out):
        print(p)
    print(json.dumps({"branch": MIRROR_BRANCH, "ref": ref(root)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
