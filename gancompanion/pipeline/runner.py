"""Execute the jupytext chapters through papermill, with parameters, atomically and incrementally.

Each notebook in ``notebooks/*.md`` is read with jupytext and run by papermill. Its outputs are
committed together, only when it ran to the end: the executed notebook
``_build/executed/<scale>/<name>.ipynb`` (``.../<scale>/seed<k>/<name>.ipynb`` for a seed other
than 0) and its claim records ``_build/results/claims/<scale>/seed<k>/<id>.json``. While it runs,
the records go to a staging folder; a failed or interrupted run commits nothing, keeps its partial
notebook as ``<name>.failed.ipynb`` and leaves the last good outputs as they were. A notebook whose
source, parameters, resolved device and library are unchanged since its last good run, and whose
committed records are still the ones that run wrote, is skipped.

Ctrl-C interrupts the running cell (the kernel unwinds, so a training loop saves its checkpoint),
then the run stops with ``Interrupted``; a second Ctrl-C a second later stops at once. A kernel that
has not stopped ``_KernelInterrupt.kill_after_s`` seconds after the first is killed (ipykernel can lose
a cell's reply when SIGINT lands outside the cell's code, and then waits for nothing).
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import files
from ..progress import bar
from .scales import SCALES
from ..validation import choose, positive_int, seed as check_seed

DEVICES = ("auto", "cpu", "cuda")  # the same choices as device.pick_device
CORE_PARAMETERS = ("scale", "device", "seed")


class GancompanionError(Exception):
    """A run or build that cannot go on; ``cli.main`` prints the message and exits with ``exit_code``."""

    exit_code = 2


class Interrupted(GancompanionError):
    """The run was stopped by Ctrl-C; nothing of the interrupted chapter was committed."""

    exit_code = 130


project_root = files.project_root  # kept importable: ``runner.project_root()`` is used by the book pages


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


def unique(notebooks: list[Path]) -> list[Path]:
    """``notebooks`` in order, each once (a chapter named twice runs once)."""
    seen, out = set(), []
    for nb in notebooks:
        if Path(nb).resolve() not in seen:
            seen.add(Path(nb).resolve())
            out.append(nb)
    return out


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
    """A ``-p name value`` value: a Python literal if it parses as one (``nan``, ``inf`` and ``-inf`` as
    floats), else the string itself."""
    if str(text).strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return float(text)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


_CHECK = re.compile(r"validation\.(\w+)\(\s*[\"'](\w+)[\"']\s*,\s*(\w+)\s*\)"
                    r"|override\(\s*[\"'](\w+)[\"']\s*,\s*(\w+)\s*,[^,]+,\s*(?:[\w.]*\.)?(\w+)\s*\)")


def parameter_checks(nb) -> dict:
    """``{parameter: name of its check in gancompanion.validation}``, as the notebook's code calls them
    (``validation.positive_int("steps", steps)``, ``chapter.override("steps", steps, default, positive_int)``):
    the runner applies them before it starts a kernel."""
    from .. import validation

    checks: dict = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for m in _CHECK.finditer(cell.source):
            fn, name, var = (m[1], m[2], m[3]) if m[1] else (m[6], m[4], m[5])
            if name == var and callable(getattr(validation, fn, None)):
                checks.setdefault(name, fn)
    return checks


def check_parameters(params: dict, allowed: dict, notebook: str, checks: dict | None = None) -> dict:
    """Reject unknown names, bad core values and (with ``checks``, see ``parameter_checks``) values the
    notebook would refuse, before anything runs."""
    from .. import validation

    for name in params:
        if name not in allowed:
            raise ValueError(f"unknown parameter {name!r} for notebook {notebook!r}; "
                             f"its parameters are: {', '.join(sorted(allowed))}")
    if "scale" in params:
        choose("scale", params["scale"], SCALES)
    if "device" in params:
        choose("device", params["device"], DEVICES)
    if "seed" in params:
        params["seed"] = check_seed(params["seed"])
    for name, fn in (checks or {}).items():
        if name in params and name not in CORE_PARAMETERS and params[name] is not None:
            try:
                getattr(validation, fn)(name, params[name])
            except (TypeError, ValueError) as exc:
                msg = str(exc) if name in str(exc) else f"{name}: {exc}"
                raise ValueError(f"{msg} (parameter of notebook {notebook!r})") from None
    return params


def split_parameters(params: dict, notebooks: list[Path]) -> dict[Path, dict]:
    """Each notebook's parameters: the core ones always, every other one where the notebook has it.

    A parameter that none of ``notebooks`` has is an error (a typo must not pass silently).
    """
    read = {nb: read_notebook(nb) for nb in notebooks}
    allowed = {nb: parameters_of(read[nb]) for nb in notebooks}
    for name in params:
        if name not in CORE_PARAMETERS and not any(name in a for a in allowed.values()):
            if len(notebooks) == 1:
                [(nb, a)] = allowed.items()
                raise ValueError(f"unknown parameter {name!r} for notebook {nb.stem!r}; "
                                 f"its parameters are: {', '.join(sorted(a))}")
            names = sorted({n for a in allowed.values() for n in a})
            raise ValueError(f"unknown parameter {name!r}: none of the notebooks "
                             f"{', '.join(nb.stem for nb in notebooks)} has it; their parameters are: "
                             f"{', '.join(names)}")
    return {nb: check_parameters({k: v for k, v in params.items() if k in CORE_PARAMETERS or k in a}, a, nb.stem,
                                 parameter_checks(read[nb]))
            for nb, a in allowed.items()}


def resolve_device(device: str) -> str:
    """``auto`` as the device it picks here (``cuda`` or ``cpu``); ``cuda`` without a GPU is an error."""
    from ..device import pick_device

    return str(pick_device(device))


def library_fingerprint() -> str:
    """A hash of the installed library's sources and version (what 'library version' means for skipping)."""
    from .. import __version__

    h = hashlib.sha256(__version__.encode())
    package = Path(__file__).parents[1]
    for f in sorted(package.rglob("*.py")):
        h.update(f.relative_to(package).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def compute_threads() -> str:
    """The torch thread count a chapter computes with (``$GANCOMPANION_THREADS``, default 1): its numbers
    depend on it, so it is part of a run's key and of its records' provenance."""
    return os.environ.get("GANCOMPANION_THREADS", "1").strip() or "1"


def run_key(source: str, params: dict, threads: str | None = None) -> str:
    blob = json.dumps({"source": source, "params": params, "library": library_fingerprint(),
                       "threads": threads or compute_threads()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class Outcome:
    notebook: str
    status: str  # "ran", "skipped", "failed" or "interrupted"
    seconds: float
    output: Path
    error: str = ""
    interrupted: bool = False  # Ctrl-C came while it ran (a run that still finished is committed)


def output_path(root: Path, scale: str, notebook: Path, seed: int = 0) -> Path:
    """The executed notebook of ``notebook`` at ``scale`` and ``seed`` (seed 0 directly under the scale)."""
    folder = root / "_build" / "executed" / scale
    return (folder if seed == 0 else folder / f"seed{seed}") / f"{Path(notebook).stem}.ipynb"


def failed_path(target: Path) -> Path:
    return target.with_name(f"{target.stem}.failed.ipynb")


def results_root(root: Path) -> Path:
    return root / "_build" / "results"


def claims_root(root: Path) -> Path:
    return results_root(root) / "claims"


def _sha(path: Path) -> str:
    """A claim record's digest, without the time it was checked (a re-execution of the same run, as
    nbval does, writes the same record at another time)."""
    text = path.read_bytes()
    try:
        record = json.loads(text)
        record.pop("checked_at", None)
        text = json.dumps(record, sort_keys=True, default=str).encode()
    except (ValueError, AttributeError):
        pass
    return hashlib.sha256(text).hexdigest()[:16]


def stored_metadata(path: Path) -> dict:
    try:
        return json.loads(path.read_text())["metadata"].get("gancompanion", {})
    except (OSError, ValueError, KeyError, AttributeError):
        return {}


def stored_key(path: Path) -> str | None:
    return stored_metadata(path).get("key")


def is_current(target: Path, key: str, root: Path) -> bool:
    """True if ``target`` was written with ``key`` and the claim records it committed are still on disk."""
    meta = stored_metadata(target)
    if meta.get("key") != key or not isinstance(meta.get("records"), dict) or not meta["records"]:
        return False  # a run that committed no record is never current (its records may have been lost)
    base = claims_root(root)
    for rel, digest in meta["records"].items():
        p = base / rel
        if not p.exists() or _sha(p) != digest:
            return False
    return True


@contextmanager
def _signals_deferred():
    """Hold SIGINT back while the outputs of a run are moved in (a few renames): all of them or none."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if caught and old is _note_sigint:  # a pool's worker: its parent stops the run
            _note_sigint(signal.SIGINT, None)
        elif caught and old is not signal.SIG_IGN:
            raise KeyboardInterrupt  # now, itself: a handler left behind by other code may not raise


def _commit_hook(stage: str) -> None:
    """Called between the steps of a commit; tests replace it to fail or kill a commit half-way."""


class CommitFailed(GancompanionError):
    """A commit could not be completed (no space, a read-only folder): it was rolled back."""


OWNER = ".owner.json"  # in a staging folder: the run that owns it (files.owner()), its mtime the heartbeat
LEASE_S = 600.0  # a staging folder whose owner cannot be judged by PID is gone when its heartbeat is this old
HEARTBEAT_S = 30.0


def project_lock(root: Path) -> files.Lock:
    """The lock around what runs write outside their own staging folder: commits and clean-ups."""
    return files.Lock(results_root(root) / ".lock")


def _journal_root(root: Path) -> Path:
    return results_root(root) / ".commit"


def _rollback(journal: Path) -> None:
    """Undo a commit that did not finish: put back every file it replaced or removed, remove what it added."""
    plan = json.loads((journal / "journal.json").read_text())
    backup = journal / "backup"
    for dest in plan["added"]:  # paths that did not exist before the commit
        Path(dest).unlink(missing_ok=True)
    for name, dest in plan["replaced"].items():
        src = backup / name
        if src.exists():
            os.replace(src, dest)
    (journal / "journal.json").unlink()
    shutil.rmtree(journal, ignore_errors=True)


def _recover(root: Path) -> list[str]:
    """Roll back the commits that a killed process left half-done (call with the project lock held)."""
    done = []
    folder = _journal_root(root)
    for journal in sorted(folder.glob("*")) if folder.is_dir() else []:
        if (journal / "journal.json").exists():
            try:
                _rollback(journal)
                done.append(journal.name)
            except (OSError, ValueError, KeyError):
                pass  # left for the next run; the lock keeps others from committing over it
        else:  # its commit point had passed: only the backups are left
            shutil.rmtree(journal, ignore_errors=True)
    return done


def _backup(path: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, dest)  # no data is copied: a full disk can still be rolled back
    except OSError:
        shutil.copy2(path, dest)


def commit(root: Path, notebook: Path, staging: Path, done_tmp: Path, target: Path, records: dict) -> None:
    """Move the staged records and the executed notebook in, and drop this chapter's stale records: all of it
    or nothing.

    Under the project lock, the files the commit replaces or removes are first linked into a journal
    (``_build/results/.commit/<run>/``); its ``journal.json`` is removed only once everything is in place
    (the commit point). A commit that fails (no space, a read-only folder) is rolled back at once and
    raises ``CommitFailed``; one that is killed is rolled back by the next run. Either way the last good
    notebook and records are what is kept.
    """
    base = claims_root(root)
    with project_lock(root), _signals_deferred():
        _recover(root)
        if not (staging / OWNER).exists():
            raise GancompanionError(f"the staging folder of {notebook.stem} ({staging}) was removed while it ran, "
                                    f"so its claim records are lost; nothing was committed. Run it again.")
        old = set(stored_metadata(target).get("records", {}) or {})
        drop = []
        for folder in {(base / rel).parent for rel in records} | {(base / rel).parent for rel in old}:
            for p in folder.glob("*.json"):  # records of this chapter that this run did not write
                rel = str(p.relative_to(base))
                if rel not in records and (rel in old or _record_notebook(p) == notebook.stem):
                    drop.append(rel)
        journal = _journal_root(root) / staging.name
        shutil.rmtree(journal, ignore_errors=True)
        plan = {"added": [], "replaced": {}}
        marker = failure_path(root, notebook, stored_metadata(done_tmp).get("parameters", {}))
        touched = [base / rel for rel in [*records, *drop]] + [target, marker]
        try:
            for i, dest in enumerate(touched):
                if dest.exists():
                    _backup(dest, journal / "backup" / str(i))
                    plan["replaced"][str(i)] = str(dest)
                else:
                    plan["added"].append(str(dest))
            files.atomic_write_text(journal / "journal.json", json.dumps(plan))
            _commit_hook("journal")
            for rel in records:
                files.atomic_copy(staging / rel, base / rel)
                _commit_hook("record")
            for rel in drop:
                (base / rel).unlink(missing_ok=True)
                _commit_hook("drop")
            marker.unlink(missing_ok=True)  # the latest run of this chapter did not fail
            os.replace(done_tmp, target)
            _commit_hook("notebook")
            (journal / "journal.json").unlink()  # the commit point
        except BaseException as exc:
            if (journal / "journal.json").exists():
                _rollback(journal)
            shutil.rmtree(journal, ignore_errors=True)
            if isinstance(exc, OSError):
                raise CommitFailed(f"could not commit {notebook.stem} ({exc.strerror or type(exc).__name__}: "
                                   f"{exc.filename or exc}); nothing of this run was kept and the last good outputs "
                                   f"are as they were. Free the space or make the folder writable, then run it "
                                   f"again.") from None
            raise
        shutil.rmtree(journal, ignore_errors=True)
        failed_path(target).unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


def failure_path(root: Path, notebook: Path, params: dict) -> Path:
    """Where a failed run of ``notebook`` says so, until a later run of it succeeds: the claims ledger shows
    that its records are from an earlier run."""
    return (results_root(root) / "failures" / str(params.get("scale", "smoke")) / f"seed{params.get('seed', 0)}"
            / f"{Path(notebook).stem}.json")


def _note_failure(root: Path, notebook: Path, params: dict, status: str, error: str, kept: Path) -> None:
    try:
        files.atomic_write_text(failure_path(root, notebook, params), json.dumps(
            {"notebook": Path(notebook).stem, "status": status, "error": error[:500], "parameters": params,
             "threads": compute_threads(), "notebook_kept": str(kept),
             "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, default=str))
    except OSError:  # a full or read-only folder: the run's own message says what failed
        pass


def provenance(params: dict, defaults: dict, key: str) -> dict:
    """What made a record: every parameter, those that differ from the chapter's defaults (a knob's
    default is the scale's setting), the thread count, the device the run used and the run's key."""
    return {"parameters": params, "differs": {k: v for k, v in params.items() if k not in CORE_PARAMETERS
                                              and defaults.get(k, object()) != v},
            "threads": compute_threads(), "device": params.get("device"), "key": key}


def _stamp(staging: Path, run: dict) -> None:
    """Add ``run`` (``provenance``) to every record staged by the chapter."""
    for p in staging.rglob("*.json"):
        if p.name == OWNER:
            continue
        try:
            record = json.loads(p.read_text())
        except ValueError:
            continue  # not committed as it is; the ledger names it
        if isinstance(record, dict):
            record["run"] = run
            files.atomic_write_text(p, json.dumps(record, indent=1, default=str))


def _record_notebook(path: Path) -> str | None:
    try:
        return json.loads(path.read_text()).get("notebook")
    except (OSError, ValueError, AttributeError):
        return None


class _KernelInterrupt:
    """While a kernel runs: the first SIGINT interrupts the running cell; one a second later stops at once.

    Several SIGINTs within a second count as one (a terminal's Ctrl-C reaches every process of its
    group, and the parent of a pool of workers forwards it too). A kernel ignores SIGINT between cells
    (and while it starts), so after the first one the kernel is interrupted again every ``repeat_s``
    seconds until the chapter stops: the next cell to start is the one interrupted. A kernel still
    running ``kill_after_s`` seconds after the first is killed (its process group), and papermill
    stops with the kernel dead; papermill's log is muted from the kill on (its "Kernel died" line: the
    run's one line says what happened). In a pool's worker, a SIGINT noted before (``_note_sigint``)
    counts as the first.
    """

    repeat_s = 0.5
    kill_after_s = 10.0

    def __init__(self, km):
        self.km, self.first, self.old, self.killed = km, None, None, False
        self.done = threading.Event()
        self._log = logging.getLogger("papermill")  # nbclient logs through papermill's logger

    def _quiet(self, record) -> bool:
        return not self.killed

    def __enter__(self):
        self._log.addFilter(self._quiet)
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, self._handler)
            if _sigint_noted.is_set():  # Ctrl-C reached this worker before its kernel did
                self._handler(signal.SIGINT, None)
        return self

    def __exit__(self, *exc):
        self.done.set()
        self._log.removeFilter(self._quiet)
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)

    def _handler(self, signum, frame):
        now = time.monotonic()
        if self.first is None:
            self.first = now
            threading.Thread(target=self._interrupt, daemon=True).start()
        elif now - self.first > 1.0:
            raise KeyboardInterrupt

    def _interrupt(self) -> None:
        """SIGINT to the kernel (once it has started) every ``repeat_s`` s; SIGKILL after ``kill_after_s``."""
        deadline = self.first + self.kill_after_s
        while not self.done.is_set():
            pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
            if pid is not None:
                try:
                    if time.monotonic() < deadline:
                        os.kill(pid, signal.SIGINT)
                    else:
                        self.killed = True
                        os.killpg(pid, signal.SIGKILL)  # the kernel leads its own process group (jupyter_client)
                        return
                except (ProcessLookupError, PermissionError):  # the kernel is gone
                    return
            self.done.wait(self.repeat_s)


def _mark_interrupted(path: Path) -> None:
    """In a partial notebook, mark the interrupted cell failed and the cells after it not run."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    started = [i for i, c in enumerate(code) if c.metadata.get("papermill", {}).get("start_time")]
    last = started[-1] if started else -1
    for i, c in enumerate(code):
        pm = c.metadata.setdefault("papermill", {})
        if i == last and pm.get("status") != "failed":
            pm["status"] = "failed"
            c.outputs.append(nbformat.v4.new_output("error", ename="KeyboardInterrupt",
                                                    evalue="interrupted here", traceback=[]))
        elif i > last:
            pm.update(status="pending", start_time=None, end_time=None, duration=None, exception=None)
            c.outputs, c.execution_count = [], None
    nbformat.write(nb, path)


def execute(notebook: Path, params: dict, root: Path, *, force: bool = False, progress: bool = True,
            threads: int | None = None) -> Outcome:
    """Run one chapter with ``params`` (they must include ``scale``); see the module docstring."""
    import nbformat
    import papermill
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    nb = read_notebook(notebook)
    params = check_parameters(dict(params), parameters_of(nb), notebook.stem, parameter_checks(nb))
    if "device" in params:
        params["device"] = resolve_device(params["device"])
    key = run_key(notebook.read_text(), params)
    seed = params.get("seed", 0)
    target = output_path(root, params["scale"], notebook, seed)
    failed = failed_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not force and is_current(target, key, root):
        failed.unlink(missing_ok=True)  # an older failure is not the state of these outputs
        return Outcome(notebook.stem, "skipped", 0.0, target)

    remove_leftovers(root)
    run_id = uuid.uuid4().hex[:12]
    staging = results_root(root) / ".staging" / f"{notebook.stem}.{params['scale']}.seed{seed}.{run_id}"
    staging.mkdir(parents=True)
    files.atomic_write_text(staging / OWNER, json.dumps({**files.owner(), "notebook": str(target)}))
    tmp = target.with_name(f".{target.stem}.{run_id}.running.ipynb")
    env = {"GANCOMPANION_RESULTS": str(results_root(root)), "GANCOMPANION_CLAIMS": str(staging),
           "GANCOMPANION_NOTEBOOK": notebook.stem, "GANCOMPANION_PROGRESS": "0",
           "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    km = AsyncKernelManager(kernel_name="python3", transport="ipc")  # ipc: local sockets only
    km.ip = os.path.join(tempfile.gettempdir(), f"{SOCKETS}{_pid_ns()}-{os.getpid()}-{run_id[:8]}")  # one each
    start = time.perf_counter()
    error, status = "", "ran"
    beat = _Heartbeat(staging / OWNER)
    try:
        with beat, _KernelInterrupt(km) as guard:
            try:
                papermill.execute_notebook(nb, str(tmp), parameters=params, kernel_name="python3",
                                           cwd=str(notebook.parent), progress_bar=progress, log_output=False,
                                           report_mode=False, start_timeout=300, km=km)  # slow on a busy machine
            except KeyboardInterrupt:
                status, error = "interrupted", "KeyboardInterrupt"
            except Exception as exc:  # papermill raises PapermillExecutionError; keep the partial notebook
                status = "interrupted" if guard.first is not None else "failed"
                error = (getattr(exc, "ename", type(exc).__name__) + ": "
                         + str(getattr(exc, "evalue", exc))).strip()[:2000]
    finally:
        if km.has_kernel:
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:  # the kernel is gone already
                pass
        for sock in Path(km.ip).parent.glob(f"{Path(km.ip).name}-*"):  # ipc sockets the kernel may leave
            sock.unlink(missing_ok=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - start
    if status != "ran":
        shutil.rmtree(staging, ignore_errors=True)
        if tmp.exists():
            os.replace(tmp, failed)
            if status == "interrupted":
                try:
                    _mark_interrupted(failed)
                except Exception:  # stopped while papermill was writing it: keep it as it is
                    pass
        _note_failure(root, notebook, params, status, error, failed)
        return Outcome(notebook.stem, status, seconds, failed, error, interrupted=status == "interrupted")

    try:
        if staging.exists():
            _stamp(staging, provenance(params, parameters_of(nb), key))
        records = {str(p.relative_to(staging)): _sha(p) for p in sorted(staging.rglob("*.json")) if p.name != OWNER}
        done = nbformat.read(tmp, as_version=4)
        done.metadata["gancompanion"] = {"key": key, "parameters": params, "source": str(notebook.relative_to(root)),
                                         "seconds": round(seconds, 1), "records": records,
                                         "threads": compute_threads()}
        nbformat.write(done, tmp)
        commit(root, notebook, staging, tmp, target, records)
    except (OSError, GancompanionError) as exc:  # a full or read-only folder: keep the run's notebook aside
        shutil.rmtree(staging, ignore_errors=True)
        if tmp.exists():
            os.replace(tmp, failed)
        _note_failure(root, notebook, params, "failed", str(exc), failed)
        if isinstance(exc, GancompanionError):
            raise
        raise CommitFailed(f"could not commit {notebook.stem} ({exc.strerror or type(exc).__name__}: "
                           f"{exc.filename or exc}); nothing of this run was kept and the last good outputs are as "
                           f"they were (its notebook: {failed}). Free the space or make the folder writable, then "
                           f"run it again.") from None
    return Outcome(notebook.stem, "ran", seconds, target, interrupted=guard.first is not None)


SOCKETS = "gancompanion-"  # a run's kernel sockets in the temporary folder: <prefix><PID namespace>-<pid>-<id>-<port>


def _pid_ns() -> str:
    """This process's PID namespace as digits ("0" where there are none to read)."""
    return "".join(c for c in files.owner()["pid_ns"] if c.isdigit()) or "0"


class _Heartbeat:
    """Touch ``path`` every ``HEARTBEAT_S`` seconds while a run executes: how other containers and hosts
    sharing the folder, which cannot see its process, know that its staging folder is in use."""

    def __init__(self, path: Path):
        self.path, self.done = path, threading.Event()

    def __enter__(self):
        threading.Thread(target=self._beat, daemon=True).start()
        return self

    def _beat(self) -> None:
        while not self.done.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                return

    def __exit__(self, *exc):
        self.done.set()


def remove_leftovers(root: Path) -> list[Path]:
    """Staging folders and partial notebooks of runs that are certainly gone (killed, not interrupted), and
    commits they left half-done (rolled back); returns what was removed.

    A run is gone when its staging folder's owner (``files.owner_gone``) is: its PID no longer runs on this
    host, boot and PID namespace, or, from any other container or host sharing the folder, its heartbeat is
    older than ``LEASE_S``. A run of another container is never judged by a PID it cannot see.
    """
    removed: list[Path] = []
    staging_root = results_root(root) / ".staging"
    with project_lock(root):
        _recover(root)
        for folder in sorted(staging_root.glob("*")) if staging_root.is_dir() else []:
            info, age = files.read_owner(folder / OWNER)
            if not info:  # no owner file: a run of an older version, or one that died creating it
                age = min(age, time.time() - folder.stat().st_mtime)
            if files.owner_gone(info, age, LEASE_S):
                run_id = folder.name.rsplit(".", 1)[-1]
                partial = Path(info["notebook"]) if info.get("notebook") else None
                if partial is not None:
                    for p in partial.parent.glob(f".{partial.stem}.{run_id}.running.ipynb"):
                        p.unlink(missing_ok=True)
                        removed.append(p)
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    executed = root / "_build" / "executed"
    for p in executed.rglob(".*.running.ipynb") if executed.is_dir() else []:
        run_id = p.name.split(".")[-3]
        if not list(staging_root.glob(f"*.{run_id}")) and time.time() - p.stat().st_mtime > 60:
            p.unlink(missing_ok=True)  # its staging folder is gone: nobody will commit it
            removed.append(p)
    remove_dead_sockets()
    return removed


def remove_dead_sockets(pids=None) -> list[Path]:
    """Kernel sockets in the temporary folder left by killed runs of this PID namespace (their PID is gone),
    or, with ``pids``, by these processes (a pool's dead workers). Another namespace's are never judged."""
    ns, removed = _pid_ns(), []
    for sock in Path(tempfile.gettempdir()).glob(f"{SOCKETS}{ns}-*-*-*"):
        pid = sock.name[len(SOCKETS):].split("-")[1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        if (int(pid) in pids) if pids is not None else (ns != "0" and not files._pid_alive(int(pid))):
            try:
                if not sock.is_dir():
                    sock.unlink()
                    removed.append(sock)
            except OSError:
                pass
    return removed


def _interrupted(outcomes: list[Outcome]) -> Interrupted:
    stopped = [o for o in outcomes if o.status == "interrupted"]
    where = ", ".join(f"{o.notebook} (partial run kept as {o.output})" for o in stopped) or "between chapters"
    return Interrupted(f"interrupted in {where}; every chapter's last complete outputs and claim records are "
                       f"kept. Run the same command again to resume (finished chapters are skipped).")


_sigint_noted = threading.Event()  # set in a pool's worker by a SIGINT that came while no kernel ran


def _note_sigint(signum, frame) -> None:
    _sigint_noted.set()


def _sigterm_as_sigint(signum, frame) -> None:
    os.kill(os.getpid(), signal.SIGINT)  # whatever SIGINT does now (``_KernelInterrupt`` or ``_note_sigint``)


def _note_sigint_in_worker() -> None:
    """A pool worker's SIGINT handler outside ``_KernelInterrupt``: note it, so that a chapter starting
    afterwards is interrupted at once (the parent stops the run; a worker never raises on its own).
    SIGTERM to the process group (a cancelled CI job) does the same, instead of killing the worker."""
    signal.signal(signal.SIGINT, _note_sigint)
    signal.signal(signal.SIGTERM, _sigterm_as_sigint)


def expected_seconds(notebook: Path, params: dict, root: Path) -> float:
    """How long ``notebook`` is expected to take at ``params``' scale: its last run's wall seconds (in the
    executed notebook's metadata at this seed or the published one), else ``scales.CHAPTER_SECONDS``
    (measured at ``book``; only their order matters), else 0."""
    import nbformat

    scale, seed = params.get("scale", "book"), int(params.get("seed", 0) or 0)
    for s in dict.fromkeys((seed, 0)):
        try:
            return float(nbformat.read(output_path(root, scale, notebook, s), as_version=4)
                         .metadata["gancompanion"]["seconds"])
        except Exception:  # no earlier run, or one without the record: use the measured table
            continue
    from .scales import CHAPTER_SECONDS

    return float(CHAPTER_SECONDS.get(Path(notebook).stem, 0.0))


def longest_first(notebooks: list[Path], params: dict, root: Path) -> list[Path]:
    """``notebooks`` with the longest expected first (ties in book order): with several jobs, the two longest
    chapters start together and the short ones fill in behind them, so the run ends soonest."""
    cost = {nb: expected_seconds(nb, params, root) for nb in notebooks}
    return sorted(notebooks, key=lambda nb: -cost[nb])


def run_all(notebooks: list[Path], params: dict, root: Path, *, jobs: int = 1, force: bool = False,
            progress: bool = True) -> list[Outcome]:
    """Run several chapters, ``jobs`` at a time, with a progress bar over notebooks.

    Every parameter is checked against every notebook before anything runs; a parameter other
    than scale, device and seed goes to the notebooks that have it. Raises ``Interrupted`` on Ctrl-C.
    """
    jobs = positive_int("jobs", jobs)
    notebooks = unique(notebooks)
    per_nb = split_parameters(params, notebooks)
    if "device" in params:
        resolve_device(params["device"])  # 'cuda' without a GPU stops here, before anything runs
    desc = f"notebooks ({params['scale']})"
    outcomes: list[Outcome] = []
    if jobs == 1 or len(notebooks) == 1:
        for nb in bar(notebooks, desc=desc, enabled=progress, unit="nb", leave=True):
            outcomes.append(execute(nb, per_nb[nb], root, force=force, progress=progress))
            if outcomes[-1].interrupted:
                raise _interrupted(outcomes)
        return outcomes
    jobs = min(jobs, len(notebooks))
    threads = max(1, (os.cpu_count() or 1) // jobs)  # share the cores, no oversubscription
    stop = {"at": None}
    with ProcessPoolExecutor(max_workers=jobs, initializer=_note_sigint_in_worker) as pool:
        futures = [pool.submit(execute, nb, per_nb[nb], root, force=force, progress=False, threads=threads)
                   for nb in longest_first(notebooks, params, root)]

        def on_sigint(signum, frame):
            now = time.monotonic()
            if stop["at"] is not None and now - stop["at"] > 1.0:
                raise KeyboardInterrupt
            if stop["at"] is None:
                stop["at"] = now
                for f in futures:
                    f.cancel()
                for pid in list(getattr(pool, "_processes", {}) or {}):  # the workers interrupt their kernels
                    try:
                        os.kill(pid, signal.SIGINT)
                    except ProcessLookupError:
                        pass

        old = signal.signal(signal.SIGINT, on_sigint)
        try:
            for f in bar(as_completed(futures), total=len(futures), desc=desc, enabled=progress, unit="nb",
                         leave=True):
                try:
                    outcomes.append(f.result())
                except CancelledError:
                    pass
        finally:
            signal.signal(signal.SIGINT, old)
    if stop["at"] is not None or any(o.interrupted for o in outcomes):
        raise _interrupted(outcomes)
    order = {nb.stem: i for i, nb in enumerate(notebooks)}
    return sorted(outcomes, key=lambda o: order[o.notebook])
