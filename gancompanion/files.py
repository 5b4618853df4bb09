"""Files written so that a reader never sees half of one, and the project folder they belong to."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The rename is atomic on one file system, so ``path`` is always either the old complete file or the
    new complete one; a failed ``write`` leaves the old file and no temporary behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see ``atomic_write``)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def atomic_copy(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy ``src`` onto ``dest`` atomically (see ``atomic_write``)."""
    return atomic_write(dest, lambda tmp: shutil.copyfile(src, tmp))


def torch_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` atomically (see ``atomic_write``)."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def project_root(start: str | os.PathLike | None = None, *, required: bool = True) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working folder) holding ``_toc.yml`` and
    ``notebooks/``; ``None`` (or a FileNotFoundError when ``required``) if there is none."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists() and (folder / "notebooks").is_dir():
            return folder
    if required:
        raise FileNotFoundError(f"no gancompanion project (a folder with _toc.yml and notebooks/) at or above {here}")
    return None
