"""Ctrl-C during ``gancompanion run``: one line saying what was kept, and never a mix of two runs.

A fake chapter (see test_runner) writes its claim records and a checkpoint, then waits; the test
interrupts it the way a terminal does (SIGINT to the whole process group) and checks that the
ledger, the executed notebook and the checkpoint are each the old complete version or the new one.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_runner import ledger, make_project

from gancompanion.pipeline import runner

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def sigint_as_in_a_terminal():
    """These tests press Ctrl-C. A shell's background job (``make test &``) starts with SIGINT ignored, and
    its children inherit that; here SIGINT has Python's default handler, and so the default in children."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


@pytest.fixture
def project(in_tmp):
    return make_project(in_tmp, ("01_test", "02_second"))


def snapshot(root):
    executed = root / "_build" / "executed" / "smoke"
    checkpoint = root / "_build" / "checkpoints" / "smoke-0.json"
    return {"ledger": ledger(root),
            "notebooks": {p.name: p.read_text() for p in sorted(executed.glob("[0-9]*.ipynb"))
                          if not p.name.endswith(".failed.ipynb")},
            "checkpoint": json.loads(checkpoint.read_text())}


def interrupt(root, *args, wait_for="waiting"):
    """Start ``gancompanion run`` in its own session, Ctrl-C it once the chapter waits, return (rc, stderr)."""
    marker = root / "_build" / wait_for
    marker.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANCOMPANION_")}
    proc = subprocess.Popen([sys.executable, "-m", "gancompanion", "run", "--quiet", "--device", "cpu", *args],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the chapter never reached its waiting cell"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def our_lines(err: str) -> list[str]:
    """The run's lines on stderr. A kernel's own log may add one ("[IPKernelApp] ERROR | KeyboardInterrupt
    caught in kernel.") when SIGINT reaches it outside a cell; that one is ipykernel's, not ours."""
    return [line for line in err.splitlines() if line.strip() and not line.startswith("[IPKernelApp]")]


def test_an_interrupt_stops_with_one_line_and_keeps_complete_outputs(project):
    good = runner.run_all(runner.chapters(project), {"scale": "smoke", "device": "cpu", "gen": 1}, project,
                          progress=False)
    assert [o.status for o in good] == ["ran", "ran"]
    before = snapshot(project)

    rc, out, err = interrupt(project, "-p", "gen", "2", "-p", "wait", "True")
    lines = our_lines(err)
    assert rc == 130 and len(lines) == 1, err
    assert lines[0].startswith("gancompanion: interrupted in 01_test") and "Traceback" not in err
    assert "01_test.failed.ipynb" in lines[0] and "again to resume" in lines[0]

    after = snapshot(project)
    assert after["ledger"] == before["ledger"]  # generation 2 had written its records: none was committed
    assert after["notebooks"] == before["notebooks"]
    assert after["checkpoint"]["gen"] in (1, 2) and after["checkpoint"]["weights"] == list(range(1000))
    assert not list((project / "_build").rglob(".*.running.ipynb"))

    failed = json.loads((project / "_build" / "executed" / "smoke" / "01_test.failed.ipynb").read_text())
    code = [c for c in failed["cells"] if c["cell_type"] == "code"]
    status = [c["metadata"]["papermill"]["status"] for c in code]
    # parameters, papermill's injected parameters, the chapter's work, the waiting cell, the last cell
    assert status == ["completed", "completed", "completed", "failed", "pending"], status
    assert code[-1]["outputs"] == [] and code[-1]["execution_count"] is None
    assert any(o.get("ename") == "KeyboardInterrupt" for o in code[3]["outputs"])

    # resuming: the same command finishes, and commits generation 2 as a whole
    resumed = runner.run_all(runner.chapters(project), {"scale": "smoke", "device": "cpu", "gen": 2}, project,
                             progress=False)
    assert [o.status for o in resumed] == ["ran", "ran"]
    assert {r["gen"] for r in ledger(project).values()} == {2}
    assert not (project / "_build" / "executed" / "smoke" / "01_test.failed.ipynb").exists()


def test_an_interrupt_with_several_jobs_stops_every_chapter(project):
    """The second chapter may be between cells (where a kernel ignores SIGINT) when Ctrl-C comes: it stops
    at its next cell all the same."""
    runner.run_all(runner.chapters(project), {"scale": "smoke", "device": "cpu", "gen": 1}, project, progress=False)
    before = snapshot(project)
    rc, out, err = interrupt(project, "--jobs", "2", "-p", "gen", "2", "-p", "wait", "True")
    lines = our_lines(err)
    assert rc == 130 and len(lines) == 1 and lines[0].startswith("gancompanion: interrupted"), err
    after = snapshot(project)
    assert after["ledger"] == before["ledger"] and after["notebooks"] == before["notebooks"]


def test_a_kernel_deaf_to_the_interrupt_is_killed(project):
    """A kernel that does not stop after Ctrl-C (here its cell ignores SIGINT) is killed some seconds later:
    the run still stops with one line and commits nothing."""
    runner.run_all(runner.chapters(project), {"scale": "smoke", "device": "cpu", "gen": 1}, project, progress=False)
    before = snapshot(project)
    start = time.monotonic()
    rc, out, err = interrupt(project, "-p", "gen", "2", "-p", "wait", "deaf", "01")
    seconds = time.monotonic() - start
    lines = our_lines(err)
    assert rc == 130 and len(lines) == 1 and lines[0].startswith("gancompanion: interrupted in 01_test"), err
    assert seconds < 60, seconds  # the cell would sleep 120 s
    after = snapshot(project)
    assert after["ledger"] == before["ledger"] and after["notebooks"] == before["notebooks"]
    assert (project / "_build" / "executed" / "smoke" / "01_test.failed.ipynb").exists()


class _FakeKernelManager:
    """What ``_KernelInterrupt`` reads of papermill's kernel manager: ``provisioner.pid``."""

    def __init__(self, pid):
        self.provisioner = type("Provisioner", (), {"pid": pid})()


def kernel_like(code: str) -> subprocess.Popen:
    """A process in its own session, as jupyter_client starts a kernel; it prints "ready" once its handler is set."""
    proc = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n" + code + "\nprint('ready', flush=True)"
                             "\ntime.sleep(60)"], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_kernel_that_ignores_sigint_is_killed_after_kill_after_s():
    proc = kernel_like("signal.signal(signal.SIGINT, signal.SIG_IGN)")
    guard = runner._KernelInterrupt(_FakeKernelManager(proc.pid))
    guard.kill_after_s = 1.0
    with guard:
        guard._handler(signal.SIGINT, None)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    assert guard.killed


def test_a_sigint_noted_by_a_worker_before_its_kernel_started_interrupts_that_kernel():
    proc = kernel_like("signal.signal(signal.SIGINT, lambda *a: sys.exit(3))")
    runner._note_sigint(signal.SIGINT, None)  # what a pool worker's handler does outside a kernel run
    try:
        with runner._KernelInterrupt(_FakeKernelManager(proc.pid)) as guard:
            assert guard.first is not None
            assert proc.wait(timeout=10) == 3  # interrupted, not killed
        assert not guard.killed
    finally:
        runner._sigint_noted.clear()
        proc.kill()


def test_an_interrupt_during_the_commit_waits_for_it(project, monkeypatch):
    """Ctrl-C between the moves of a commit takes effect after the last one: all new, never a mix."""
    nb = runner.chapters(project)[:1]
    runner.run_all(nb, {"scale": "smoke", "device": "cpu", "gen": 1}, project, progress=False)
    calls = []

    def ctrl_c(stage):
        calls.append(stage)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(runner, "_commit_hook", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        runner.run_all(nb, {"scale": "smoke", "device": "cpu", "gen": 2}, project, progress=False)
    assert calls == ["journal", "record", "record", "notebook"]  # the commit went to its end
    got = ledger(project)
    assert {r["gen"] for r in got.values()} == {2}
    executed = json.loads((project / "_build" / "executed" / "smoke" / "01_test.ipynb").read_text())
    assert "generation 2" in json.dumps(executed["cells"])
    monkeypatch.setattr(runner, "_commit_hook", lambda stage: None)
    assert runner.run_all(nb, {"scale": "smoke", "device": "cpu", "gen": 2}, project,
                          progress=False)[0].status == "skipped"


def test_an_interrupt_during_the_commit_stops_whatever_handler_was_there(project, monkeypatch):
    """A SIGINT handler left by other code that does not raise must not swallow the Ctrl-C held back during a
    commit; the handler is put back as it was."""
    nb = runner.chapters(project)[:1]
    runner.run_all(nb, {"scale": "smoke", "device": "cpu", "gen": 1}, project, progress=False)
    seen = []
    monkeypatch.setattr(runner, "_commit_hook", lambda stage: stage == "record" and os.kill(os.getpid(), signal.SIGINT))
    quiet = lambda signum, frame: seen.append(signum)  # noqa: E731
    old = signal.signal(signal.SIGINT, quiet)
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run_all(nb, {"scale": "smoke", "device": "cpu", "gen": 2}, project, progress=False)
        assert signal.getsignal(signal.SIGINT) is quiet and seen == []
    finally:
        signal.signal(signal.SIGINT, old)
    assert {r["gen"] for r in ledger(project).values()} == {2}


def our_sockets(pid: int) -> list:
    import tempfile
    from pathlib import Path

    return sorted(Path(tempfile.gettempdir()).glob(f"{runner.SOCKETS}*-{pid}-*"))


@pytest.mark.parametrize("to_group", [False, True], ids=["kill PID", "kill the process group"])
def test_sigterm_stops_like_ctrl_c_keeps_the_partial_notebook_and_leaves_no_sockets(project, to_group):
    runner.run_all(runner.chapters(project), {"scale": "smoke", "device": "cpu", "gen": 1}, project, progress=False)
    before = snapshot(project)
    marker = project / "_build" / "waiting"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANCOMPANION_")}
    proc = subprocess.Popen([sys.executable, "-m", "gancompanion", "run", "--quiet", "--device", "cpu", "--jobs",
                             "2" if to_group else "1", "-p", "gen", "2", "-p", "wait", "True"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    if to_group:
        os.killpg(proc.pid, signal.SIGTERM)  # a cancelled CI job
    else:
        proc.send_signal(signal.SIGTERM)  # kill PID, timeout
    out, err = proc.communicate(timeout=60)
    lines = our_lines(err)
    assert proc.returncode == 130 and len(lines) == 1 and lines[0].startswith("gancompanion: interrupted"), err
    assert "Traceback" not in err
    assert (project / "_build" / "executed" / "smoke" / "01_test.failed.ipynb").exists()
    after = snapshot(project)
    assert after["ledger"] == before["ledger"] and after["notebooks"] == before["notebooks"]
    assert not list((project / "_build").rglob(".*.running.ipynb"))
    assert not list((project / "_build" / "results" / ".staging").glob("*"))
    assert our_sockets(proc.pid) == []


def test_the_sockets_and_leftovers_of_a_killed_run_are_removed_by_the_next(project):
    marker = project / "_build" / "waiting"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANCOMPANION_")}
    proc = subprocess.Popen([sys.executable, "-m", "gancompanion", "run", "--quiet", "--device", "cpu", "-p", "wait",
                             "True"], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    assert our_sockets(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its kernel: nothing of theirs cleans up
    proc.communicate(timeout=30)
    assert our_sockets(proc.pid) and list((project / "_build" / "results" / ".staging").glob("*"))
    runner.run_all([runner.chapters(project)[1]], {"scale": "smoke", "device": "cpu"}, project, progress=False)
    assert our_sockets(proc.pid) == []
    assert not list((project / "_build" / "results" / ".staging").glob("*"))
    assert not list((project / "_build").rglob(".*.running.ipynb"))
