"""Sweeps over seeds and parameters, on the local pool and on a Dask LocalCluster started here.

Most tests use a tiny fake chapter in a temporary project (its kernel imports nothing of the library, so
a run takes a second or two); the slow test sweeps the real Chapter 4 at smoke over two seeds.
"""

import json
import os
import socket
import time
from pathlib import Path

import pytest

from gancompanion.pipeline import cli, runner, sweep

REPO = Path(__file__).resolve().parents[2]
FILES = REPO / "gancompanion" / "files.py"

CHAPTER = '''\
---
jupytext:
  text_representation: {{extension: .md, format_name: myst}}
kernelspec: {{display_name: Python 3, language: python, name: python3}}
---
# A test chapter

```{{code-cell}} ipython3
:tags: [parameters]

scale = "smoke"
device = "auto"
seed = 0
noise = 0.5
fail = False
die_once = ""
die_always = ""
```

```{{code-cell}} ipython3
import importlib.util, json, os, pathlib, signal, time

spec = importlib.util.spec_from_file_location("files", {files!r})
files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(files)
if die_once and not os.path.exists(die_once):  # the process that runs this notebook dies, once
    pathlib.Path(die_once).write_text(str(os.getppid()))
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(60)
if die_always:  # the process that runs this notebook dies, every time (its PID noted in the file)
    with open(die_always, "a") as f:
        f.write(f"{{os.getppid()}}\\n")
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(60)
line = f"CLAIM test.a: PASS noise {{noise}} seed {{seed}}"
print(line)
files.atomic_write_text(pathlib.Path(os.environ["GANCOMPANION_CLAIMS"]) / scale / f"seed{{seed}}" / "test.a.json",
                        json.dumps({{"id": "test.a", "status": "PASS", "evidence": f"noise {{noise}}", "line": line,
                                    "scale": scale, "seed": seed, "details": {{"flag": True, "spread": noise * 2,
                                    "seed": seed}}}}))
```

```{{code-cell}} ipython3
if fail:
    raise RuntimeError("asked to fail")
```
'''


def make_project(root: Path, names=("01_test",)) -> Path:
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (root / "notebooks").mkdir()
    for name in names:
        (root / "notebooks" / f"{name}.md").write_text(CHAPTER.format(files=str(FILES)))
    return root


@pytest.fixture
def project(in_tmp, monkeypatch):
    monkeypatch.setattr(runner, "library_fingerprint", lambda: "fixed")  # the skip key, whatever else is edited
    return make_project(in_tmp)


@pytest.fixture(scope="module")
def dask_cluster():
    """A LocalCluster of two single-threaded worker processes; a worker's death fails its task at once."""
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      silence_logs=50) as cluster:  # CRITICAL: the kill is expected
            yield cluster


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_grid_gives_each_chapter_the_parameters_it_has(tmp_path):
    root = make_project(tmp_path, ("01_test",))
    (root / "notebooks" / "02_plain.md").write_text(CHAPTER.format(files=str(FILES)).replace("noise = 0.5\n", ""))
    runs = sweep.grid(runner.chapters(root), scale="smoke", device="cpu", seeds=[0, 1],
                      values={"noise": [0.1, 0.25]})
    assert [(r.chapter, r.name) for r in runs] == [
        ("01_test", "seed0,noise=0.1"), ("01_test", "seed0,noise=0.25"), ("01_test", "seed1,noise=0.1"),
        ("01_test", "seed1,noise=0.25"), ("02_plain", "seed0"), ("02_plain", "seed1")]
    assert runs[0].path(root) == root / "_build/sweeps/runs/smoke/cpu/01_test/seed0,noise=0.1.ipynb"
    assert runs[0].params == {"scale": "smoke", "device": "cpu", "seed": 0, "noise": 0.1}


@pytest.mark.parametrize("text, values", [("0.1,0.25", [0.1, 0.25]), ("adam, sgd", ["adam", "sgd"]),
                                          ("[1, 2],[3]", [[1, 2], [3]]), ("0.1,0.1,2", [0.1, 2]), ("7", [7])])
def test_value_lists_parse_as_literals(text, values):
    assert sweep.parse_values("x", text) == values


def test_seeds_parse_as_lists_and_ranges():
    assert sweep.parse_seeds("0,1") == [0, 1] and sweep.parse_seeds("2-4,0,3") == [2, 3, 4, 0]
    for bad in ("", "a", "1,,2", "-1", "3-1"):
        with pytest.raises(ValueError, match="--seeds"):
            sweep.parse_seeds(bad)


@pytest.mark.parametrize("argv, match", [
    (["-p", "steps", "1,2"], "unknown parameter 'steps' for notebook '01_test'; its parameters are: "
                             "device, die_always, die_once, fail, noise, scale, seed"),
    (["-p", "noise", ""], "parameter 'noise': the value list is empty"),
    (["-p", "noise", "0.1,,0.2"], "parameter 'noise': empty value in the list '0.1,,0.2'"),
    (["-p", "seed", "1,2"], "parameter 'seed' is not swept with -p: use --seeds"),
    (["--seeds", "0,x"], "--seeds must be a comma-separated list"),
    (["--cluster", "localhost:8786"], "--cluster must look like dask://HOST:PORT"),
    (["--cluster", "dask://host:99999"], "--cluster must look like dask://HOST:PORT"),
    (["--table", "out.xlsx"], "unknown table format '.xlsx'"),
])
def test_bad_input_stops_at_once_naming_it(project, capsys, argv, match):
    start = time.perf_counter()
    assert cli.main(["sweep", "01", "--quiet", *argv]) == 2
    assert match in capsys.readouterr().err
    assert time.perf_counter() - start < 5 and not (project / "_build").exists()


def test_an_unreachable_scheduler_is_named(project, capsys):
    pytest.importorskip("distributed")
    address = f"dask://127.0.0.1:{free_port()}"
    start = time.perf_counter()
    assert cli.main(["sweep", "01", "--quiet", "--cluster", address, "--connect-timeout", "2"]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach a Dask scheduler at {address}" in err, err
    assert time.perf_counter() - start < 15 and not (project / "_build").exists()


def test_a_local_sweep_writes_a_table_keeps_failures_and_skips_what_is_done(project, capsys):
    argv = ["sweep", "01", "--seeds", "0,1", "-p", "fail", "False,True", "--device", "cpu", "--jobs", "2", "--quiet"]
    assert cli.main(argv) == 1  # two of the four runs fail; the others are kept
    out = capsys.readouterr().out
    assert "2 ran, 0 skipped, 2 failed" in out and "asked to fail" in out
    folder = project / "_build" / "sweeps" / "runs" / "smoke" / "cpu" / "01_test"
    assert sorted(p.name for p in folder.iterdir()) == [
        "seed0,fail=False.ipynb", "seed0,fail=True.failed.ipynb",
        "seed1,fail=False.ipynb", "seed1,fail=True.failed.ipynb"]
    meta = json.loads((folder / "seed1,fail=False.ipynb").read_text())["metadata"]["gancompanion"]
    assert meta["sweep"]["records"][0]["line"] == "CLAIM test.a: PASS noise 0.5 seed 1"
    assert meta["parameters"]["seed"] == 1 and meta["parameters"]["fail"] is False  # what runner.execute wrote

    df = sweep.load_table(project / "_build" / "sweeps" / "01-smoke.csv")
    assert list(df.columns[:5]) == ["chapter", "scale", "device", "seed", "fail"]
    ok = df[df.run_status == "ran"]
    assert sorted(ok.seed) == [0, 1] and set(ok.claim) == {"test.a"} and set(ok.status) == {"PASS"}
    assert set(ok.key) == {"spread"} and set(ok.value) == {1.0}  # the first number of the record's details
    assert set(ok.ran_device) == {"cpu"} and set(ok.notebook.str.endswith(",fail=False.ipynb")) == {True}
    bad = df[df.run_status == "failed"]
    assert len(bad) == 2 and bad.claim.isna().all() and bad.error.str.contains("asked to fail").all()

    assert cli.main(argv) == 1  # again: the two good runs are skipped, the failed ones run again
    assert "0 ran, 2 skipped, 2 failed" in capsys.readouterr().out
    summary = sweep.markdown(sweep.load_table(project / "_build" / "sweeps" / "01-smoke.csv"), "01-smoke")
    assert "| 01_test | False | `test.a` | 2 | 2 | 0 | 0 | `spread` 1 [1, 1] |" in summary
    assert "`seed0,fail=True`: RuntimeError: asked to fail" in summary


def test_a_worker_killed_mid_run_fails_that_run_only(project, dask_cluster, tmp_path):
    from distributed import Client

    marker = tmp_path / "died"
    runs = sweep.grid(runner.chapters(project), scale="smoke", device="cpu", seeds=[0, 1],
                      values={"die_once": ["", str(marker)]})
    runs = [r for r in runs if r.params["seed"] == 1 or not r.params["die_once"]]  # one run kills its worker
    with Client(dask_cluster) as client:
        results = sweep.run_sweep(runs, project, executor=sweep.dask_executor(client, runs), progress=False)
    by_seed = {(r.run.params["seed"], bool(r.run.params["die_once"])): r for r in results}
    dead = by_seed[(1, True)]
    assert marker.exists() and dead.status == "failed", dead.error
    assert "KilledWorker" in dead.error and "died" in dead.error
    assert dead.output.name.endswith(".failed.ipynb") and dead.output.exists()
    for (seed, dies), r in by_seed.items():
        if not dies:
            assert r.status == "ran", r.error
            lines = [rec["line"] for rec in r.records]
            assert lines == [f"CLAIM test.a: PASS noise 0.5 seed {seed}"]
            assert lines[0] in r.output.read_text()
    df = sweep.table(results, project)
    assert sorted(df.run_status) == ["failed", "ran", "ran"]
    assert leftovers([int(marker.read_text())]) == []  # the killed worker's scratch project and sockets


def claim_lines(results):
    return {(r.run.chapter, r.run.name, rec["id"]): rec["line"] for r in results for rec in r.records}


@pytest.mark.slow
def test_chapter_4_on_dask_gives_the_local_pool_s_claim_lines(dask_cluster, tmp_path, monkeypatch):
    """Chapter 4 at smoke over two seeds, twice (local pool of 2, LocalCluster of 2 workers); prints both times."""
    from distributed import Client

    monkeypatch.chdir(tmp_path)
    runs = sweep.grid([runner.find_chapter(REPO, "04")], scale="smoke", device="cpu", seeds=[0, 1])
    start = time.perf_counter()
    local = sweep.run_sweep(runs, tmp_path / "local", jobs=2, progress=False)
    t_local = time.perf_counter() - start
    start = time.perf_counter()
    with Client(dask_cluster) as client:
        remote = sweep.run_sweep(runs, tmp_path / "dask", executor=sweep.dask_executor(client, runs), threads=1,
                                 progress=False)
    t_dask = time.perf_counter() - start
    assert [r.status for r in local + remote] == ["ran"] * 4, [r.error for r in local + remote]
    assert claim_lines(local) == claim_lines(remote) and len(claim_lines(local)) >= 2 * 6
    overhead = [r.queued_s + r.return_s for r in remote]
    print(f"\nchapter 4, smoke, seeds 0,1: local pool {t_local:.1f} s, LocalCluster {t_dask:.1f} s; "
          f"per run on Dask: task {[round(r.run_s, 1) for r in remote]} s, submission->start + end->on disk "
          f"{[round(o, 2) for o in overhead]} s")
    assert all(os.path.exists(r.output) for r in local + remote)


def leftovers(pids) -> list:
    import tempfile

    tmp = Path(tempfile.gettempdir())
    return [p for pid in pids
            for p in [*tmp.glob(f"{sweep.SCRATCH}*-{pid}-*"), *tmp.glob(f"{runner.SOCKETS}*-{pid}-*")]]


def test_a_local_sweep_survives_a_dead_worker(project, tmp_path):
    """One run kills its pool worker (SIGKILL, as the OOM killer does) once: every run, the one it took
    along included, ends ran, and nothing of the dead worker is left in the temporary folder."""
    marker = tmp_path / "died"
    runs = sweep.grid(runner.chapters(project), scale="smoke", device="cpu", seeds=[0, 1, 2])
    runs[1] = sweep.Run(runs[1].notebook, {**runs[1].params, "die_once": str(marker)})
    results = sweep.run_sweep(runs, project, jobs=2, progress=False)
    assert marker.exists()  # the worker did die
    assert [r.status for r in results] == ["ran"] * 3, [r.error for r in results]
    assert [rec["line"] for r in results for rec in r.records] == [
        f"CLAIM test.a: PASS noise 0.5 seed {s}" for s in (0, 1, 2)]
    assert leftovers([int(marker.read_text())]) == []


def test_a_run_that_always_kills_its_worker_fails_alone(project, tmp_path):
    dead = tmp_path / "dead"
    runs = sweep.grid(runner.chapters(project), scale="smoke", device="cpu", seeds=[0, 1],
                      values={"die_always": ["", str(dead)]})
    results = sweep.run_sweep(runs, project, jobs=2, progress=False)
    status = {(r.run.params["seed"], bool(r.run.params["die_always"])): r for r in results}
    assert {k: r.status for k, r in status.items()} == {(0, False): "ran", (0, True): "failed",
                                                        (1, False): "ran", (1, True): "failed"}
    assert "BrokenProcessPool" in status[(0, True)].error and "died, 2 times" in status[(0, True)].error
    killed = [int(pid) for pid in dead.read_text().split()]
    assert len(killed) == 4  # each of the two runs killed its worker twice
    assert leftovers(killed) == []


def test_a_second_sweep_over_other_seeds_adds_to_the_table(project, capsys):
    base = ["sweep", "01", "--device", "cpu", "--quiet"]
    assert cli.main([*base, "--seeds", "0"]) == 0
    assert cli.main([*base, "--seeds", "1", "-p", "noise", "0.5,0.25"]) == 0
    assert cli.main([*base, "--seeds", "0", "--force"]) == 0  # the same run again replaces its rows
    path = project / "_build" / "sweeps" / "01-smoke.csv"
    df = sweep.load_table(path)
    assert sorted(zip(df.seed, df.run)) == [(0, "seed0"), (1, "seed1,noise=0.25"), (1, "seed1,noise=0.5")]
    text = sweep.markdown(df, "01-smoke")
    assert "3 runs at scale `smoke`, seeds 0, 1." in text
    path.write_text("not,a\nsweep")
    assert cli.main([*base, "--seeds", "2"]) == 0
    assert "could not be read" in capsys.readouterr().out and path.with_name("01-smoke.csv.unreadable").exists()
    assert list(sweep.load_table(path).seed) == [2]


def test_a_lost_scheduler_is_one_line_and_keeps_what_is_done(project, capsys, tmp_path):
    """The Dask scheduler is killed (SIGKILL) while a sweep runs on it: one line says so and what to do."""
    import signal
    import subprocess
    import sys
    import threading

    pytest.importorskip("distributed")
    port = free_port()
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
                                 stderr=subprocess.DEVNULL, start_new_session=True)
    scratch = tmp_path / "worker-tmp"  # the worker's temporary folder: where its runs' scratch projects appear
    scratch.mkdir()
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}",
                               "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                              stderr=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "TMPDIR": str(scratch)})

    def kill_the_scheduler_once_a_run_started():
        deadline = time.monotonic() + 30
        while not list(scratch.glob(f"{sweep.SCRATCH}*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        os.killpg(scheduler.pid, signal.SIGKILL)

    try:
        killer = threading.Thread(target=kill_the_scheduler_once_a_run_started, daemon=True)
        killer.start()
        rc = cli.main(["sweep", "01", "--seeds", "0-3", "--device", "cpu", "--quiet", "--connect-timeout", "15",
                       "--cluster", f"dask://127.0.0.1:{port}"])
        killer.join(timeout=30)
    finally:
        for p in (scheduler, worker):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    err = capsys.readouterr().err
    assert rc == 2 and "the runs' scheduler was lost" in err and "run the same command" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    folder = project / "_build" / "sweeps" / "runs" / "smoke" / "cpu" / "01_test"
    assert not list(folder.glob("*.failed.ipynb")) if folder.exists() else True  # not run is not failed


def test_a_sweep_at_auto_is_current_only_on_the_device_auto_picks(project, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    runs = sweep.grid(runner.chapters(project), scale="smoke", device="auto", seeds=[0])
    [first] = sweep.run_sweep(runs, project, progress=False)
    assert first.status == "ran" and first.ran_device == runner.resolve_device("auto")
    assert sweep.run_sweep(runs, project, progress=False)[0].status == "skipped"
    with ThreadPoolExecutor(1) as cluster:  # a cluster whose workers' device is unknown, or another one
        assert sweep.run_sweep(runs, project, executor=cluster, progress=False)[0].status == "ran"
        assert sweep.run_sweep(runs, project, executor=cluster, progress=False,
                               auto_device="cuda")[0].status == "ran"
        assert sweep.run_sweep(runs, project, executor=cluster, progress=False,
                               auto_device=first.ran_device)[0].status == "skipped"
