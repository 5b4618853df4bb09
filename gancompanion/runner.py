"""Execute the jupytext chapters through papermill, with parameters, atomically and incrementally.

Each notebook in ``notebooks/*.md`` is read with jupytext, run by papermill with the parameters
given, and written to ``_build/executed/<scale>/<name>.ipynb`` only when it ran to the end (a failed
run is kept beside it as ``<name>.failed.ipynb`` and never replaces the last good output). A
notebook whose source, parameters and library are unchanged since its last good run is skipped.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path


from .progress import bar
from .scales import SCALES
from .validation import choose

DEVICES = ("auto", "cpu", "cuda")  # the same choices as device.pick_device; kept torch-free here
CORE_PARAMETERS = ("scale", "device", "seed")


def project_root(start: Path | None = None) -> Path:
    """The nearest folder up from ``start`` (default: here) that holds ``_toc.yml`` and ``notebooks/``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists() and (folder / "notebooks").is_dir():
            return folder
    raise FileNotFoundError(f"no gancompanion project (a folder with _toc.yml and notebooks/) at or above {here}")


def chapters(root: Path) -> list[Path]:
    """The chapter sources, in book order (their file names start with the chapter number)."""
    return sorted((root / "notebooks").glob("[0-9]*.md"))


def find_chapter(root: Path, name: str) -> Path:
    """A chapter by file name, stem or number prefix (``01``, ``01_perfect_discriminator``, a path)."""
    all_ = chapters(root)
    for p in all_:
        if name in (p.name, p.stem, str(p), str(p.relative_to(root))) or p.stem.split("_")[0] == name:
            return p
    raise ValueError(f"unknown notebook {name!r}; choose one of: {', '.join(p.stem for p in all_)}")


def read_notebook(path: Path):
    """The jupytext source as an nbformat notebook with a python3 kernelspec (what papermill needs)."""
    import jupytext

    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def parameters_of(nb) -> dict:
    """The names and default values of the notebook's ``parameters`` cell (literal assignments)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            params = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        if isinstance(t, ast.Name):
                            params[t.id] = ast.literal_eval(node.value)
            return params
    raise ValueError("the notebook has no code cell tagged 'parameters'")


def parse_value(text: str):
    """A ``-p name value`` value: a Python literal if it parses as one, else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def check_parameters(params: dict, allowed: dict, notebook: str) -> dict:
    """Reject unknown names and bad core values before anything runs."""
    for name in params:
        if name not in allowed:
            raise ValueError(f"unknown parameter {name!r} for notebook {notebook!r}; "
                             f"its parameters are: {', '.join(sorted(allowed))}")
    if "scale" in params:
        choose("scale", params["scale"], SCALES)
    if "device" in params:
        choose("device", params["device"], DEVICES)
    if "seed" in params and (not isinstance(params["seed"], int) or params["seed"] < 0):
        raise ValueError(f"seed must be an integer >= 0, got {params['seed']!r}")
    return params


def library_fingerprint() -> str:
    """A hash of the installed library's sources and version (what 'library version' means for skipping)."""
    from . import __version__

    h = hashlib.sha256(__version__.encode())
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def run_key(source: str, params: dict) -> str:
    blob = json.dumps({"source": source, "params": params, "library": library_fingerprint()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class Outcome:
    notebook: str
    status: str  # "ran", "skipped" or "failed"
    seconds: float
    output: Path
    error: str = ""


def output_path(root: Path, scale: str, notebook: Path) -> Path:
    return root / "_build" / "executed" / scale / f"{notebook.stem}.ipynb"


def stored_key(path: Path) -> str | None:
    try:
        return json.loads(path.read_text())["metadata"].get("gancompanion", {}).get("key")
    except (OSError, ValueError, KeyError):
        return None


def execute(notebook: Path, params: dict, root: Path, *, force: bool = False, progress: bool = True,
            threads: int | None = None) -> Outcome:
    """Run one chapter with ``params`` (they must include ``scale``); see the module docstring."""
    import nbformat
    import papermill

    nb = read_notebook(notebook)
    params = {**params}
    check_parameters(params, parameters_of(nb), notebook.stem)
    key = run_key(notebook.read_text(), params)
    target = output_path(root, params["scale"], notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not force and target.exists() and stored_key(target) == key:
        return Outcome(notebook.stem, "skipped", 0.0, target)

    tmp = target.with_name(f".{target.stem}.running.ipynb")
    failed = target.with_name(f"{target.stem}.failed.ipynb")
    env = {"GANCOMPANION_RESULTS": str(root / "_build" / "results"), "GANCOMPANION_NOTEBOOK": notebook.stem,
           "GANCOMPANION_PROGRESS": "0", "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(nb, str(tmp), parameters=params, kernel_name="python3", cwd=str(notebook.parent),
                                   progress_bar=progress, log_output=False, report_mode=False)
    except BaseException as exc:  # papermill raises PapermillExecutionError; keep the partial notebook
        if tmp.exists():
            os.replace(tmp, failed)
        summary = getattr(exc, "ename", type(exc).__name__) + ": " + str(getattr(exc, "evalue", exc))
        if isinstance(exc, KeyboardInterrupt):
            raise
        return Outcome(notebook.stem, "failed", time.perf_counter() - start, failed, summary.strip()[:2000])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    done = nbformat.read(tmp, as_version=4)
    done.metadata["gancompanion"] = {"key": key, "parameters": params, "source": str(notebook.relative_to(root)),
                                     "seconds": round(time.perf_counter() - start, 1)}
    nbformat.write(done, tmp)
    os.replace(tmp, target)
    failed.unlink(missing_ok=True)
    return Outcome(notebook.stem, "ran", time.perf_counter() - start, target)


def run_all(notebooks: list[Path], params: dict, root: Path, *, jobs: int = 1, force: bool = False,
            progress: bool = True) -> list[Outcome]:
    """Run several chapters, ``jobs`` at a time, with a progress bar over notebooks."""
    for nb in notebooks:  # validate everything before running anything
        check_parameters(dict(params), parameters_of(read_notebook(nb)), nb.stem)
    if jobs <= 1 or len(notebooks) <= 1:
        outcomes = []
        for nb in bar(notebooks, desc=f"notebooks ({params['scale']})", enabled=progress, unit="nb", leave=True):
            outcomes.append(execute(nb, params, root, force=force, progress=progress))
        return outcomes
    jobs = min(jobs, len(notebooks))
    threads = max(1, (os.cpu_count() or 1) // jobs)  # share the cores, no oversubscription
    outcomes = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(execute, nb, params, root, force=force, progress=False, threads=threads)
                   for nb in notebooks]
        for f in bar(as_completed(futures), total=len(futures), desc=f"notebooks ({params['scale']})",
                     enabled=progress, unit="nb", leave=True):
            outcomes.append(f.result())
    order = {nb.stem: i for i, nb in enumerate(notebooks)}
    return sorted(outcomes, key=lambda o: order[o.notebook])
