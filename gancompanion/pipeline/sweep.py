"""Sweeps: chapters over a grid of seeds and parameters, on a local process pool or a Dask cluster.

``gancompanion sweep 04 --seeds 0,1 -p noise_scale 0.1,0.25`` expands to one run per (chapter, seed,
parameter values). Each run is one papermill execution (``runner.execute``) in a scratch project on
whichever machine runs it; the executed notebook and its claim records come back as bytes and are
written here, atomically, as one file ``_build/sweeps/runs/<scale>/<device>/<chapter>/<run>.ipynb``
(the records ride in its metadata, so a notebook and its verdicts never disagree). A failed run is
kept as ``<run>.failed.ipynb`` and does not stop the others, nor does a dead worker (its runs are run
again); re-running the sweep skips the runs whose notebook is current. The grid's verdicts go into one
tidy table, one row per run and claim (``_build/sweeps/<name>.csv``, or ``.parquet``), that
``pandas.read_csv`` loads; a later sweep over other seeds or values adds its rows to it.

The work goes to any ``concurrent.futures.Executor``: a local ``ProcessPoolExecutor`` by default,
or ``distributed.Client(address).get_executor()`` for an existing Dask scheduler, whose workers may
be started by dask-jobqueue on a SLURM or PBS cluster. A run at ``device="cuda"`` asks for the
worker resource ``GPU=1``. Dask is an optional dependency (``pip install gancompanion[cluster]``).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import CancelledError, Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from .. import files
from . import runner
from .claims import STATUSES
from ..progress import bar
from .scales import SCALES
from ..validation import choose, positive, positive_int, seed as check_seed

FORMATS = (".csv", ".parquet")
COLUMNS = ("chapter", "scale", "device", "seed")  # then one column per parameter, then RUN_COLUMNS
RUN_COLUMNS = ("run", "run_status", "claim", "status", "key", "value", "evidence", "line", "ran_device", "worker",
               "library",
               "run_s", "queued_s", "return_s", "error", "notebook")


class SweepError(runner.GancompanionError):
    """A sweep that cannot start: no Dask, an unreachable scheduler, an unreadable table."""


# --- the grid ----------------------------------------------------------------------------------------

def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"``, ``"0-3"`` (inclusive) or a mix, as a list of distinct seeds in order."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"--seeds must be a comma-separated list of integers >= 0 or ranges a-b, got {text!r}")
        lo, _, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if hi else int(lo)
        except ValueError:
            raise ValueError(f"--seeds must be a comma-separated list of integers >= 0 or ranges a-b, "
                             f"got {text!r}") from None
        if last < first:
            raise ValueError(f"--seeds: the range {part!r} is empty (write it low-high)")
        seeds += [check_seed(s) for s in range(first, last + 1) if s not in seeds]
    return seeds


def parse_values(name: str, text: str) -> list:
    """The values of ``-p NAME V1,V2,...``: Python literals where they parse (``0.1,[1, 2],'a,b'``), else strings."""
    try:
        values = list(ast.literal_eval(f"({text},)")) if str(text).strip() else []
    except (ValueError, SyntaxError):
        parts = [p.strip() for p in str(text).split(",")]
        if any(not p for p in parts):
            raise ValueError(f"parameter {name!r}: empty value in the list {text!r}") from None
        values = [runner.parse_value(p) for p in parts]
    if not values:
        raise ValueError(f"parameter {name!r}: the value list is empty; give at least one value, "
                         f"e.g. -p {name} 0.1,0.2")
    unique_values: list = []
    for v in values:
        if v not in unique_values:
            unique_values.append(v)
    return unique_values


@dataclass(frozen=True)
class Run:
    """One cell of the grid: a chapter with its full parameters (``scale``, ``device``, ``seed`` and swept ones)."""

    notebook: Path
    params: dict = field(hash=False)

    @property
    def chapter(self) -> str:
        return self.notebook.stem

    @property
    def name(self) -> str:
        """``seed<k>`` then ``,<name>=<value>`` for every other parameter (a hash where a value is not file-safe)."""
        extra = {k: v for k, v in self.params.items() if k not in runner.CORE_PARAMETERS}
        return f"seed{self.params['seed']}" + "".join(f",{k}={_fmt(v)}" for k, v in sorted(extra.items()))

    def path(self, root: Path) -> Path:
        """Where the executed notebook of this run is kept."""
        return (sweeps_root(root) / "runs" / self.params["scale"] / self.params["device"] / self.chapter
                / f"{self.name}.ipynb")


def _fmt(value) -> str:
    text = value if isinstance(value, str) else repr(value)
    if re.fullmatch(r"[A-Za-z0-9._+-]{1,40}", text):
        return text
    return "h" + hashlib.sha256(repr(value).encode()).hexdigest()[:10]


def sweeps_root(root: Path) -> Path:
    return Path(root) / "_build" / "sweeps"


def grid(notebooks: list[Path], *, scale: str, device: str = "auto", seeds=(0,),
         values: dict | None = None) -> list[Run]:
    """Every (chapter, seed, parameter values) run, checked before anything runs.

    ``values``: ``{name: [v1, v2, ...]}``; a name goes to the chapters that have it and is an error if
    none does; an empty list is an error. Core parameters are not swept here (``seeds`` sweeps seeds).
    """
    choose("scale", scale, SCALES)
    choose("device", device, runner.DEVICES)
    values = dict(values or {})
    for name, vals in values.items():
        if name in runner.CORE_PARAMETERS:
            raise ValueError(f"parameter {name!r} is not swept with -p: use " +
                             ("--seeds" if name == "seed" else f"--{name} (one value per sweep)"))
        if not list(vals):
            raise ValueError(f"parameter {name!r}: the value list is empty; give at least one value")
    seeds = [check_seed(s) for s in seeds]
    if not seeds:
        raise ValueError("--seeds: give at least one seed")
    notebooks = runner.unique(list(notebooks))
    if not notebooks:
        raise ValueError("a sweep needs at least one chapter")
    first = {"scale": scale, "device": device, "seed": seeds[0], **{n: v[0] for n, v in values.items()}}
    runner.split_parameters(first, notebooks)  # an unknown name stops here, naming it
    runs = []
    for nb in notebooks:
        source = runner.read_notebook(nb)
        allowed, checks = runner.parameters_of(source), runner.parameter_checks(source)
        mine = {n: v for n, v in values.items() if n in allowed}
        for seed in seeds:
            for combo in itertools.product(*mine.values()):
                params = {"scale": scale, "device": device, "seed": seed, **dict(zip(mine, combo))}
                runs.append(Run(nb, runner.check_parameters(params, allowed, nb.stem, checks)))
    return runs


# --- one run, on whichever machine executes it ----------------------------------------------------

SCRATCH = "gancompanion-run-"  # a run's scratch project in the temporary folder: <prefix><PID namespace>-<pid>-<random>
_ONE_AT_A_TIME = threading.Lock()  # runner.execute sets environment variables: one run per process at a time


def _cache_dir() -> Path:
    """A per-machine cache shared by the scratch projects (the digits classifier is trained once)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = Path(tempfile.gettempdir()) / f"gancompanion-cache-{uid}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def execute_run(task: dict) -> dict:
    """Run one chapter in a scratch project and return its outputs as bytes (runs on a worker).

    ``task``: ``chapter`` (stem), ``source`` (the jupytext text), ``params``, ``threads``. Never raises for
    a failed run: the result's ``status`` is ``ran``, ``failed`` or ``interrupted``, with ``error``,
    ``notebook`` (bytes or None) and ``records`` (the claim records the run committed).
    """
    started = time.time()
    out = {"status": "failed", "error": "", "notebook": None, "records": [], "started": started,
           "worker": f"{socket.gethostname()}:{os.getpid()}", "library": "",
           "ran_device": ""}
    with _ONE_AT_A_TIME:
        out["started"] = time.time()
        if task.get("started"):  # the local pool's note that this run started, and in which process
            Path(task["started"]).write_text(str(os.getpid()))
        try:
            out["library"] = runner.library_fingerprint()  # compared with the submitting side's by cmd_sweep
            clean_dead_scratch()
            with tempfile.TemporaryDirectory(prefix=f"{SCRATCH}{runner._pid_ns()}-{os.getpid()}-") as tmp:
                root = Path(tmp)
                (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
                nb = root / "notebooks" / f"{task['chapter']}.md"
                nb.parent.mkdir()
                nb.write_text(task["source"])
                (root / "_build").mkdir()
                (root / "_build" / "cache").symlink_to(_cache_dir(), target_is_directory=True)
                trim = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)  # Dask sets it for its workers' memory;
                try:  # the kernel keeps glibc's default, as in a local run (the setting slowed chapter 4 down)
                    outcome = runner.execute(nb, task["params"], root, force=True, progress=False,
                                             threads=task.get("threads"))
                finally:
                    if trim is not None:
                        os.environ["MALLOC_TRIM_THRESHOLD_"] = trim
                out.update(status=outcome.status, error=outcome.error)
                if outcome.output.exists():
                    out["notebook"] = outcome.output.read_bytes()
                    out["ran_device"] = runner.stored_metadata(outcome.output).get("parameters", {}).get("device", "")
                claims_root = runner.claims_root(root)
                if outcome.status == "ran" and claims_root.exists():
                    out["records"] = [json.loads(p.read_text()) for p in sorted(claims_root.rglob("*.json"))]
        except Exception as exc:  # a run that cannot start (e.g. device cuda on a worker without one)
            out.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            out["finished"] = time.time()
    return out


# --- the sweep ------------------------------------------------------------------------------------

@dataclass
class RunResult:
    run: Run
    status: str  # "ran", "skipped" or "failed" (an interrupted run counts as failed)
    output: Path
    records: list
    error: str = ""
    worker: str = ""
    library: str = ""  # the worker's runner.library_fingerprint()
    ran_device: str = ""  # the device the run used (what "auto" resolved to on its worker)
    run_s: float = math.nan  # the task on the worker, scratch project included
    queued_s: float = math.nan  # submission -> start on the worker (dispatch and waiting for a free worker)
    return_s: float = math.nan  # end on the worker -> outputs written here (transfer and write)


def _stored(path: Path) -> dict:
    return runner.stored_metadata(path).get("sweep", {}) if path.exists() else {}


def _write_notebook(path: Path, data: bytes | None, meta: dict) -> Path:
    """Write the notebook ``data`` (or, when none came back, a one-cell note) with ``meta`` in its metadata."""
    import nbformat

    if data:
        nb = json.loads(data)
    else:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
            f"This run produced no notebook: {meta.get('error') or 'no output came back'}")])
    nb.setdefault("metadata", {}).setdefault("gancompanion", {})["sweep"] = meta
    return files.atomic_write_text(path, json.dumps(nb, indent=1, ensure_ascii=False, default=str) + "\n")


def _store(root: Path, run: Run, key: str, result: dict, submitted: float) -> RunResult:
    """Write a finished task's outputs under the run's name: ``<run>.ipynb`` or ``<run>.failed.ipynb``."""
    target = run.path(root)
    failed = runner.failed_path(target)
    ok = result.get("status") == "ran" and result.get("notebook")
    meta = {"key": key, "run": run.name, "chapter": run.chapter, "params": run.params,
            "status": "ran" if ok else "failed", "error": result.get("error", ""),
            "worker": result.get("worker", ""), "library": result.get("library", ""),
            "ran_device": result.get("ran_device", ""), "records": result.get("records", []) if ok else [],
            "run_s": result.get("finished", math.nan) - result.get("started", math.nan),
            "queued_s": result.get("started", math.nan) - submitted}
    if ok:
        _write_notebook(target, result["notebook"], meta)
        failed.unlink(missing_ok=True)
    else:
        meta["error"] = meta["error"] or f"the run ended with status {result.get('status')!r}"
        _write_notebook(failed, result.get("notebook"), meta)
    return RunResult(run, meta["status"], target if ok else failed, meta["records"], meta["error"], meta["worker"],
                     meta["library"], meta["ran_device"], meta["run_s"], meta["queued_s"],
                     time.time() - result.get("finished", math.nan))


def _lost(root: Path, run: Run, key: str, exc: BaseException, submitted: float) -> RunResult:
    """A run whose task raised instead of returning: its worker died (Dask: KilledWorker) or the pool broke."""
    name = type(exc).__name__
    hint = {"KilledWorker": "the worker running it died (killed, out of memory or lost)",
            "BrokenProcessPool": f"the local pool's process running it died, {MAX_ATTEMPTS} times (killed or out of "
                                 f"memory); the other runs went on"}
    error = f"{name}: {exc}" + (f" ({hint[name]})" if name in hint else "")
    return _store(root, run, key, {"status": "failed", "error": error[:2000]}, submitted)


def run_sweep(runs: list[Run], root: Path, *, executor: Executor | None = None, jobs: int = 1,
              threads: int | None = None, force: bool = False, progress: bool = True,
              auto_device: str | None = None) -> list[RunResult]:
    """Execute ``runs`` on ``executor`` (default: a local pool of ``jobs`` processes), skipping current ones.

    Every result is written as it comes back; a failed run is kept and reported and the others go on. On
    the local pool, the runs a dead worker took along are run again (one at a time from then on), and a run
    whose process dies ``MAX_ATTEMPTS`` times is reported failed alone. A run at device ``auto`` is current
    only if it ran on the device ``auto`` means where it would run now: here on the local pool, else
    ``auto_device`` (``dask_auto_device``), and never when that is unknown.
    ``threads``: BLAS/OpenMP threads of each run (default: the local cores shared among ``jobs``; unset on
    a given executor, whose workers decide). Ctrl-C cancels the runs not started and raises ``Interrupted``.
    """
    jobs = positive_int("jobs", jobs)
    root = Path(root)
    results: dict[int, RunResult] = {}
    todo = []
    for i, run in enumerate(runs):
        source = run.notebook.read_text()
        key = runner.run_key(source, run.params)
        meta = _stored(run.path(root))
        same_device = run.params["device"] != "auto" or meta.get("ran_device") == (
            auto_device if executor is not None else runner.resolve_device("auto"))
        if not force and meta.get("key") == key and meta.get("status") == "ran" and same_device:
            runner.failed_path(run.path(root)).unlink(missing_ok=True)
            results[i] = RunResult(run, "skipped", run.path(root), meta.get("records", []),
                                   worker=meta.get("worker", ""), library=meta.get("library", ""),
                                   ran_device=meta.get("ran_device", ""), run_s=meta.get("run_s", math.nan))
        else:
            todo.append((i, run, key, source))
    own = executor is None and bool(todo)
    if own:
        for device in {r.params["device"] for _, r, _, _ in todo}:
            runner.resolve_device(device)  # 'cuda' without a GPU stops here, before anything runs
        threads = threads or max(1, (os.cpu_count() or 1) // min(jobs, len(todo)))
    notes = Path(tempfile.mkdtemp(prefix="gancompanion-sweep-")) if own else None
    attempts = {i: 0 for i, _, _, _ in todo}
    failures, cancelled, workers, pending = 0, 0, min(jobs, len(todo)) if todo else 1, list(todo)
    futures: dict = {}
    try:
        with bar(total=len(runs), initial=len(runs) - len(todo), desc=f"sweep ({len(runs)} runs)", enabled=progress,
                 unit="run", leave=True) as pbar:
            while pending:
                if own:
                    executor = ProcessPoolExecutor(max_workers=workers)
                futures = {}
                for i, run, key, source in pending:
                    task = {"chapter": run.chapter, "source": source, "params": dict(run.params), "threads": threads,
                            "started": str(notes / str(i)) if own else None}
                    futures[executor.submit(execute_run, task)] = (i, run, key, source, time.time())
                pending, broken, suspects = [], False, set()
                for f in as_completed(futures):
                    i, run, key, source, submitted = futures[f]
                    try:
                        results[i] = _store(root, run, key, f.result(), submitted)
                    except BrokenProcessPool as exc:  # a worker of the local pool died: retry what it took along
                        broken = True
                        note = notes / str(i)
                        if note.exists():  # a run that had not started is not to blame
                            attempts[i] += 1
                            suspects.add(note.read_text())
                            note.unlink()
                        if attempts[i] < MAX_ATTEMPTS:
                            pending.append((i, run, key, source))
                            continue
                        results[i] = _lost(root, run, key, exc, submitted)
                    except CancelledError:  # not run: the scheduler was lost (Dask cancels every task)
                        cancelled += 1
                        continue
                    except Exception as exc:
                        results[i] = _lost(root, run, key, exc, submitted)
                    failures += results[i].status == "failed"
                    pbar.update(1)
                    pbar.set_postfix(failed=failures, refresh=False)
                if own:
                    executor.shutdown(wait=True, cancel_futures=True)
                if broken:
                    _clean_after_dead_workers(notes, suspects)
                    workers = 1  # from now on one run at a time: a run that kills its worker is found alone
                    pending.sort()
        if cancelled:
            done = sum(r.status != "failed" for r in results.values())
            raise SweepError(f"the runs' scheduler was lost (stopped, killed or unreachable) with {cancelled} of "
                             f"{len(runs)} runs not done; the {done} done are kept. Start the scheduler and its "
                             f"workers again, then run the same command (finished runs are skipped)")
    except KeyboardInterrupt:
        for f in futures:
            f.cancel()
        done = sum(r.status != "failed" for r in results.values())
        raise runner.Interrupted(f"sweep interrupted: {done} of {len(runs)} runs are done and kept; run the same "
                                 f"command again to resume (finished runs are skipped)") from None
    finally:
        if own and executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        if notes is not None:
            _clean_after_dead_workers(notes)
            shutil.rmtree(notes, ignore_errors=True)
        clean_dead_scratch()
    return [results[i] for i in sorted(results)]


MAX_ATTEMPTS = 2  # a run of the local pool whose process dies this many times is reported failed


def _clean_after_dead_workers(notes: Path, pids=()) -> None:
    """Remove what the local pool's dead workers left in the temporary folder: their runs' scratch projects
    and kernel sockets (of ``pids`` and of the processes named in the started notes, once they no longer
    run)."""
    dead = set()
    for note in [*notes.glob("*"), *pids]:
        try:
            pid = int(note.read_text() if isinstance(note, Path) else note)
        except (OSError, ValueError):
            continue
        if not files._pid_alive(pid):
            dead.add(pid)
            if isinstance(note, Path):
                note.unlink(missing_ok=True)
    for pid in dead:
        for scratch in Path(tempfile.gettempdir()).glob(f"{SCRATCH}{runner._pid_ns()}-{pid}-*"):
            shutil.rmtree(scratch, ignore_errors=True)
    if dead:
        runner.remove_dead_sockets(dead)


def clean_dead_scratch() -> None:
    """Remove the scratch projects and kernel sockets that killed runs of this PID namespace left in the
    temporary folder (a killed Dask worker's, a killed sweep's); another namespace's are never judged."""
    ns = runner._pid_ns()
    for scratch in Path(tempfile.gettempdir()).glob(f"{SCRATCH}{ns}-*-*") if ns != "0" else []:
        pid = scratch.name[len(SCRATCH):].split("-")[1]
        if pid.isdigit() and int(pid) != os.getpid() and not files._pid_alive(int(pid)):
            shutil.rmtree(scratch, ignore_errors=True)
    runner.remove_dead_sockets()


# --- the table ------------------------------------------------------------------------------------

def key_number(record: dict) -> tuple[str | None, float | None]:
    """A claim's key number: the one ``claims.KEY_NUMBERS`` names for it, else the first number among its
    record's ``details`` (nested names joined by dots)."""
    from .claims import key_number as catalogued

    named = catalogued(record)
    if named[0] is not None:
        return named

    def walk(prefix, obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
            yield prefix, float(obj)

    return next(walk("", record.get("details") or {}), (None, None))


def table(results: list[RunResult], root: Path | None = None):
    """One row per run and claim (one row with no claim for a failed run), as a pandas DataFrame."""
    import pandas as pd

    names = sorted({k for r in results for k in r.run.params if k not in runner.CORE_PARAMETERS})
    cols = {n: (f"param.{n}" if n in COLUMNS + RUN_COLUMNS else n) for n in names}
    rows = []
    for r in results:
        base = {c: r.run.params[c] if c != "chapter" else r.run.chapter for c in COLUMNS}
        base.update({cols[n]: r.run.params.get(n) for n in names})
        base.update(run=r.run.name, run_status=r.status, worker=r.worker, library=r.library, ran_device=r.ran_device,
                    run_s=r.run_s, queued_s=r.queued_s,
                    return_s=r.return_s, error=r.error,
                    notebook=str(r.output.relative_to(root)) if root is not None else str(r.output))
        for rec in r.records or [{}]:
            key, value = key_number(rec) if rec else (None, None)
            rows.append({**base, "claim": rec.get("id"), "status": rec.get("status"), "key": key, "value": value,
                         "evidence": rec.get("evidence"), "line": rec.get("line")})
    return pd.DataFrame(rows, columns=list(COLUMNS) + [cols[n] for n in names] + list(RUN_COLUMNS))


RUN_KEY = ("chapter", "scale", "device", "run")  # one run of a table


def merge_into(path: Path, new):
    """``new`` with the rows of the table at ``path`` that are of other runs: a sweep over other seeds or
    values adds to the table, one over the same runs replaces their rows. An unreadable old table is moved
    aside (``<name>.unreadable``) and named."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        return new
    try:
        old = load_table(path)
        missing = [c for c in RUN_KEY if c not in old.columns]
        if missing:
            raise ValueError(f"it has no column {', '.join(missing)}")
    except Exception as exc:
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        print(f"warning: the table {path} could not be read ({type(exc).__name__}: {str(exc)[:100]}); it was "
              f"moved to {aside} and a new one started")
        return new
    mine = set(map(tuple, new[list(RUN_KEY)].astype(str).values))
    keep = old[[tuple(r) not in mine for r in old[list(RUN_KEY)].astype(str).values]]
    params = [c for c in [*new.columns, *old.columns] if c not in COLUMNS + RUN_COLUMNS]
    columns = list(COLUMNS) + list(dict.fromkeys(params)) + list(RUN_COLUMNS)
    merged = pd.concat([keep, new], ignore_index=True) if len(keep) else new
    return merged.reindex(columns=columns).sort_values(["chapter", "scale", "device", "seed", "run"], kind="stable",
                                                       ignore_index=True)


def write_table(df, path: Path) -> Path:
    """Write ``df`` atomically as CSV or Parquet (by the file's suffix)."""
    path = Path(path)
    choose("table format", path.suffix, FORMATS)
    if path.suffix == ".parquet":
        try:
            return files.atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))
        except ImportError as exc:
            raise SweepError(f"writing {path.name} needs pyarrow or fastparquet ({exc}); use a .csv table") from None
    return files.atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))


def check_writable(path: Path, what: str) -> Path:
    """Refuse, before any run, a table path that cannot be written: a folder in its place, a file or a
    read-only folder on its way (``what`` names the option)."""
    path = Path(path).absolute()
    if path.is_dir():
        raise SweepError(f"{what} {path} is a folder; give a file name ending in .csv or .parquet")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise SweepError(f"{what} {path}: {folder} is a file, not a folder; choose another path")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SweepError(f"{what} {path}: {folder} cannot be written (read-only); choose another path")
    return path


def load_table(path: Path):
    """A sweep table written by ``write_table`` (CSV or Parquet)."""
    import pandas as pd

    path = Path(path)
    choose("table format", path.suffix, FORMATS)
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def tables(root: Path) -> list[Path]:
    """The sweep tables of the project, by name."""
    folder = sweeps_root(root)
    return sorted(p for p in folder.glob("*") if p.suffix in FORMATS) if folder.is_dir() else []


def summary(df):
    """Per chapter, claim and parameter setting: verdict counts over seeds and the key number's range."""
    params = [c for c in df.columns if c not in COLUMNS + RUN_COLUMNS]
    ran = df[df["claim"].notna()].copy()
    for c in params + ["key"]:  # group by the printed value (a list is not hashable, a missing one is "")
        ran[c] = [("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)) for v in ran[c]]
    by = ["chapter", "scale", "device", *params, "claim", "key"]
    g = ran.groupby(by, sort=True)
    out = g.agg(seeds=("seed", "nunique"), PASS=("status", lambda s: int((s == "PASS").sum())),
                FAIL=("status", lambda s: int((s == "FAIL").sum())),
                SKIP=("status", lambda s: int((s == "SKIP").sum())),
                median=("value", "median"), min=("value", "min"), max=("value", "max"))
    return out.reset_index()


def markdown(df, title: str = "") -> str:
    """A sweep table as a Markdown section for the ledger page (summary, then the failed runs)."""
    s = summary(df)
    params = [c for c in df.columns if c not in COLUMNS + RUN_COLUMNS]
    head = ["chapter", *params, "claim", "seeds", "PASS", "FAIL", "SKIP", "key number: median [min, max]"]
    lines = [f"### Sweep `{title}`" if title else "", "",
             f"{df['run'].nunique()} runs at scale `{', '.join(map(str, df['scale'].unique()))}`, seeds "
             f"{', '.join(map(str, sorted(df['seed'].unique())))}.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in s.iterrows():
        num = ("" if r["key"] == "" or math.isnan(r["median"])
               else f"`{r['key']}` {r['median']:.3g} [{r['min']:.3g}, {r['max']:.3g}]")
        cells = [r["chapter"], *[str(r[p]) for p in params], f"`{r['claim']}`", str(r["seeds"]), str(r["PASS"]),
                 str(r["FAIL"]), str(r["SKIP"]), num]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    failed = df[df["run_status"] == "failed"].drop_duplicates("notebook")
    if len(failed):
        lines += ["", "Failed runs (kept as `.failed.ipynb`):", ""]
        lines += [f"- `{r['chapter']}` `{r['run']}`: "
                  + (str(r["error"]).splitlines() or [""])[0][:200].replace("`", "'")
                  for _, r in failed.iterrows()]
    return "\n".join(lines) + "\n"


# --- Dask ------------------------------------------------------------------------------------------

def dask_address(url: str) -> str:
    """``dask://HOST:PORT`` (or ``tcp://`` / ``tls://``) as the address ``distributed.Client`` takes."""
    m = re.fullmatch(r"(dask|tcp|tls)://([^\s:/]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})/?", str(url).strip())
    if m is None or not 0 < int(m[3]) < 65536:
        raise ValueError(f"--cluster must look like dask://HOST:PORT (a Dask scheduler's address), got {url!r}")
    return f"{'tcp' if m[1] == 'dask' else m[1]}://{m[2]}:{m[3]}"


def connect(url: str, timeout: float = 10.0):
    """A ``distributed.Client`` on the scheduler at ``url``; a SweepError naming ``url`` if Dask is missing or the
    scheduler is unreachable."""
    address = dask_address(url)
    timeout = positive("connect timeout", timeout)
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("--cluster needs Dask's distributed package: pip install 'gancompanion[cluster]'") from None
    try:
        return Client(address, timeout=f"{timeout}s")
    except (OSError, TimeoutError) as exc:
        raise SweepError(f"cannot reach a Dask scheduler at {url} ({address}) within {timeout:g} s: "
                         f"{type(exc).__name__}: {exc}") from None


def dask_executor(client, runs: list[Run]):
    """``client.get_executor(...)``; runs at device ``cuda`` ask for the worker resource ``GPU=1``."""
    if any(r.params["device"] == "cuda" for r in runs):
        return client.get_executor(pure=False, resources={"GPU": 1})
    return client.get_executor(pure=False)


def dask_auto_device(client) -> str | None:
    """The device ``auto`` resolves to on the cluster's workers, if they all agree (else None)."""
    from ..device import pick_device

    try:
        found = set(client.run(lambda: str(pick_device("auto"))).values())
    except Exception:
        return None
    return found.pop() if len(found) == 1 else None


class _QuietDask:
    """Mute Dask's client log while a sweep runs: a lost scheduler is reported in one line, not in the
    client's tracebacks of its reconnection attempts."""

    def __enter__(self):
        import logging

        self.logs = [logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.utils")]
        self.levels = [log.level for log in self.logs]
        for log in self.logs:
            log.setLevel(logging.CRITICAL + 1)
        return self

    def __exit__(self, *exc):
        for log, level in zip(self.logs, self.levels):
            log.setLevel(level)


def _check_workers(client, runs: list[Run]) -> None:
    """Warn when no connected worker can take the runs yet (they wait in the scheduler's queue)."""
    workers = client.scheduler_info().get("workers", {})
    if not workers:
        print("note: no worker is connected to the scheduler yet; the runs wait until one is")
    elif any(r.params["device"] == "cuda" for r in runs) and not any(
            w.get("resources", {}).get("GPU", 0) >= 1 for w in workers.values()):
        print("note: no connected worker has the resource GPU=1 (dask worker ... --resources GPU=1); the runs at "
              "device cuda wait until one has")


# --- the command line ------------------------------------------------------------------------------

def _count(option: str):
    """An argparse type: an integer >= 1, or an error naming ``option``."""
    import argparse

    def parse(text: str) -> int:
        try:
            return positive_int(option, int(text))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be an integer >= 1, got {text!r}") from None

    return parse


def add_parser(sub):
    """The ``sweep`` subcommand of ``gancompanion`` (``sub``: the subparsers of ``cli.parser``)."""
    p = sub.add_parser("sweep", help="run chapters over a grid of seeds and parameters (local pool or Dask)")
    p.add_argument("notebooks", nargs="+", help="chapters (name, stem or number)")
    p.add_argument("--seeds", nargs="+", default=["0"], metavar="SEEDS",
                   help="seeds and ranges, e.g. 0 1 2, 0,1,2 or 0-4 (as in run; default 0)")
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "V1,V2,..."),
                   help="a notebook parameter and its values, e.g. -p noise_scale 0.1,0.25 (repeatable)")
    p.add_argument("--scale", choices=SCALES, default="smoke", help="experiment sizes (default smoke)")
    p.add_argument("--device", choices=runner.DEVICES, default="auto",
                   help="cpu, cuda or auto (default auto, resolved where each run executes); "
                        "cuda asks Dask for workers with the resource GPU=1")
    p.add_argument("--jobs", type=_count("--jobs"), default=1, help="runs at once on the local pool (default 1)")
    p.add_argument("--threads", type=_count("--threads"), default=None,
                   help="BLAS/OpenMP threads per run (default: the local cores shared among --jobs; on a cluster, "
                        "the workers' own default)")
    p.add_argument("--cluster", default=None, metavar="dask://HOST:PORT",
                   help="submit the runs to this existing Dask scheduler instead of the local pool")
    p.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to reach the scheduler (default 10)")
    p.add_argument("--name", default=None, help="the table's name under _build/sweeps/ (default: chapters and scale)")
    p.add_argument("--table", default=None, help="the table's path (.csv or .parquet; default _build/sweeps/NAME.csv)")
    p.add_argument("--force", action="store_true", help="re-run the runs that are current")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)
    return p


def cmd_sweep(args) -> int:
    root = runner.project_root()
    notebooks = runner.unique([runner.find_chapter(root, n) for n in args.notebooks])
    values = {}
    for name, text in args.param:
        if name in values:
            raise ValueError(f"parameter {name!r} is given twice; list all its values once: -p {name} V1,V2,...")
        values[name] = parse_values(name, text)
    from .cli import seed_list

    runs = grid(notebooks, scale=args.scale, device=args.device, seeds=seed_list(args.seeds), values=values)
    name = args.name or "+".join(nb.stem.split("_")[0] for nb in notebooks) + f"-{args.scale}"
    path = Path(args.table) if args.table else sweeps_root(root) / f"{name}.csv"
    choose("table format", path.suffix, FORMATS)
    check_writable(path, "--table")
    client = connect(args.cluster, args.connect_timeout) if args.cluster else None
    start = time.perf_counter()
    quiet = _QuietDask() if client is not None else contextlib.nullcontext()
    try:
        executor = dask_executor(client, runs) if client is not None else None
        where = f"the Dask scheduler at {args.cluster}" if client is not None else f"a local pool of {args.jobs}"
        print(f"sweep: {len(runs)} runs ({len(notebooks)} chapter(s) x seeds x parameters) on {where}")
        if client is not None:
            _check_workers(client, runs)
        auto = dask_auto_device(client) if client is not None and args.device == "auto" else None
        with quiet:
            results = run_sweep(runs, root, executor=executor, jobs=args.jobs, threads=args.threads,
                                force=args.force, progress=not args.quiet, auto_device=auto)
    finally:
        if client is not None:
            with _QuietDask():
                client.close(timeout=2)
    with files.Lock(path.with_name(f".{path.name}.lock")):  # two sweeps writing one table: one after the other
        write_table(merge_into(path, table(results, root)), path)
    mine = runner.library_fingerprint()
    other = [r for r in results if r.status == "ran" and r.library and r.library != mine]
    if other:
        print(f"warning: {len(other)} run(s) used a gancompanion other than this one ({mine}), e.g. "
              f"{other[0].run.chapter} {other[0].run.name} on {other[0].worker} ({other[0].library}); install the "
              f"same version everywhere (column 'library' of the table)")
    for r in results:
        if r.status == "failed":
            print(f"{r.run.chapter} {r.run.name}: FAILED -> {r.output}\n  {r.error.splitlines()[0] if r.error else ''}")
    counts = {s: sum(r.status == s for r in results) for s in ("ran", "skipped", "failed")}
    verdicts = [rec.get("status") for r in results for rec in r.records]
    print(f"{counts['ran']} ran, {counts['skipped']} skipped, {counts['failed']} failed in "
          f"{time.perf_counter() - start:.1f} s; claims: " +
          ", ".join(f"{verdicts.count(s)} {s}" for s in STATUSES if s in verdicts) + f"\ntable: {path}")
    return 1 if counts["failed"] else 0
