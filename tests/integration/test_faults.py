"""Nothing lost, nothing stale, under faults: the runner's staging, commit and ledger when runs share a
project folder from other containers or hosts, when a commit fails or is killed half-way, and when a later
run fails. The faults are injected as an operator meets them: an owner from another host or PID namespace
(``unshare`` where it works), a full disk at every step of a commit, a process killed (``os._exit``) at
every step, a truncated record.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_runner import CHAPTER, LIBRARY_FILES, ledger, make_project

from gancompanion.pipeline import claims, cli, runner
from gancompanion import files

STAGING = ("_build", "results", ".staging")


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("GANCOMPANION_RESULTS", "GANCOMPANION_CLAIMS", "GANCOMPANION_THREADS"):
        monkeypatch.delenv(var, raising=False)
    return make_project(tmp_path)


def run(root, **params):
    return runner.run_all(runner.chapters(root), {"scale": "smoke", "device": "cpu", **params}, root, progress=False)


def leftover(root: Path, owner: dict, age_s: float = 0.0) -> tuple[Path, Path]:
    """A staging folder and partial notebook as a run in progress leaves them, owned by ``owner``."""
    run_id = "0123456789ab"
    staging = root.joinpath(*STAGING) / f"01_test.smoke.seed0.{run_id}"
    target = root / "_build" / "executed" / "smoke" / "01_test.ipynb"
    partial = target.with_name(f".01_test.{run_id}.running.ipynb")
    staging.mkdir(parents=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("{")
    (staging / "smoke" / "seed0").mkdir(parents=True)
    (staging / "smoke" / "seed0" / "test.a.json").write_text("{}")
    files.atomic_write_text(staging / runner.OWNER, json.dumps({**owner, "notebook": str(target)}))
    then = time.time() - age_s
    os.utime(staging / runner.OWNER, (then, then))
    os.utime(staging, (then, then))
    return staging, partial


def dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


# --- 1. runs from other containers and hosts: judged by their heartbeat, never by a PID we cannot see ---

@pytest.mark.parametrize("who", ["other host", "other PID namespace", "other boot"])
def test_a_live_run_elsewhere_keeps_its_staging_folder(project, who):
    me = files.owner()
    owner = {"other host": {**me, "host": "node-17", "pid": dead_pid()},
             "other PID namespace": {**me, "pid_ns": "pid:[4026599999]", "pid": dead_pid()},
             "other boot": {**me, "host": "node-17", "boot_id": "another-boot", "pid": 1}}[who]
    staging, partial = leftover(project, owner)
    assert run(project)[0].status == "ran"
    assert staging.exists() and partial.exists(), "a live run's work was deleted"


@pytest.mark.parametrize("who", ["this namespace, dead PID", "other host, silent", "this host, rebooted"])
def test_a_gone_run_s_leftovers_are_removed(project, who):
    me = files.owner()
    owner, age = {"this namespace, dead PID": ({**me, "pid": dead_pid()}, 0.0),
                  "other host, silent": ({**me, "host": "node-17", "pid": 1}, runner.LEASE_S + 5),
                  "this host, rebooted": ({**me, "boot_id": "an-earlier-boot", "pid": 1}, 0.0)}[who]
    staging, partial = leftover(project, owner, age)
    run(project)
    assert not staging.exists() and not partial.exists()


HOLD = CHAPTER.replace('wait = False{extra}', 'wait = False\nhold = ""{extra}').replace(
    "if fail:\n", "while hold and not os.path.exists(hold):  # held until the test releases it\n"
                  "    time.sleep(0.05)\nif fail:\n")


def test_a_run_in_another_pid_namespace_does_not_wipe_a_live_run(tmp_path, monkeypatch):
    """Two runs on one folder, the second in its own PID namespace (``unshare``, as a container beside the
    host), where the first's PID does not exist: its clean-up keeps the first's staging folder, and both
    commit their records."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "--pid", "--fork", "true"]).returncode:
        pytest.skip("unshare --pid is not available here (needs root or user namespaces)")
    monkeypatch.chdir(tmp_path)
    root = tmp_path
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (root / "notebooks").mkdir()
    text = HOLD.format(extra="", library=str(LIBRARY_FILES))
    for name in ("01_first", "02_second"):
        (root / "notebooks" / f"{name}.md").write_text(text)
    release = tmp_path / "release"

    def script(name, extra=""):
        return (f"from pathlib import Path; from gancompanion.pipeline import runner; root = Path({str(root)!r}); "
                f"[o] = runner.run_all([root / 'notebooks' / '{name}.md'], {{'scale': 'smoke', 'device': 'cpu', "
                f"'report_ids': ['{name}.a']{extra}}}, root, progress=False); print(o.status, o.error)")

    env = {**os.environ, "GANCOMPANION_PROGRESS": "0"}
    first = subprocess.Popen([sys.executable, "-c", script("01_first", f", 'hold': {str(release)!r}")],
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 15
        while not list(root.joinpath(*STAGING).glob("01_first.*")):
            assert time.monotonic() < deadline and first.poll() is None, "the first run did not start"
            time.sleep(0.1)
        [staging] = root.joinpath(*STAGING).glob("01_first.*")
        second = subprocess.run(["unshare", "--pid", "--fork", sys.executable, "-c", script("02_second")],
                                capture_output=True, text=True, env=env, timeout=60)
        assert second.stdout.split()[0] == "ran", second.stderr
        assert staging.exists(), "the second run deleted the first's live staging folder"
    finally:
        release.write_text("go")
        out, _ = first.communicate(timeout=60)
    assert out.split()[0] == "ran", out
    assert sorted(ledger(root)) == ["smoke/seed0/01_first.a.json", "smoke/seed0/02_second.a.json"]
    [again] = runner.run_all([root / "notebooks" / "01_first.md"], {"scale": "smoke", "device": "cpu", "report_ids":
                              ["01_first.a"], "hold": str(release)}, root, progress=False)
    assert again.status == "skipped"  # the first run's commit is whole and current


def test_a_run_whose_staging_folder_vanished_commits_nothing(project, monkeypatch):
    """What an older version's clean-up did to a live run: its staging folder is gone at commit time."""
    run(project, gen=1)
    before, notebook = ledger(project), (project / "_build" / "executed" / "smoke" / "01_test.ipynb").read_text()
    stamp = runner._stamp
    monkeypatch.setattr(runner, "_stamp", lambda staging, info: (stamp(staging, info), shutil.rmtree(staging)))
    with pytest.raises(runner.GancompanionError, match="was removed while it ran.*nothing was committed"):
        run(project, gen=2)
    assert ledger(project) == before
    assert (project / "_build" / "executed" / "smoke" / "01_test.ipynb").read_text() == notebook


def test_an_empty_record_set_is_never_current(project):
    assert run(project, report_ids=[])[0].status == "ran"
    assert run(project, report_ids=[])[0].status == "ran"


def test_a_lock_held_elsewhere_is_waited_for_and_a_gone_holder_s_is_broken(tmp_path, monkeypatch):
    lock = tmp_path / ".lock"
    lock.write_text(json.dumps({**files.owner(), "host": "node-17", "token": "x"}))  # live, on another host
    with pytest.raises(files.LockTimeout, match="held by node-17"):
        with files.Lock(lock, timeout_s=0.3):
            pass
    assert lock.exists()
    then = time.time() - files.Lock.lease_s - 1
    os.utime(lock, (then, then))  # its heartbeat stopped
    with files.Lock(lock, timeout_s=0.3):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()
    lock.write_text(json.dumps({**files.owner(), "pid": dead_pid(), "token": "y"}))  # here, dead
    with files.Lock(lock, timeout_s=0.3):
        pass


# --- 4. the commit is all or nothing ------------------------------------------------------------------

@pytest.fixture
def pending(project, monkeypatch, tmp_path_factory):
    """A project with a committed run (records test.a, test.b at generation 1) and a second run's commit
    held back (test.a and test.c at generation 2: one record replaced, one added, one dropped)."""
    run(project, gen=1)
    keep = tmp_path_factory.mktemp("pending")
    held = {}

    def hold(root, notebook, staging, done_tmp, target, records):
        shutil.copytree(staging, keep / "staging")
        shutil.copy(done_tmp, keep / "done.ipynb")
        held.update(notebook=notebook, staging=staging, done_tmp=done_tmp, target=target, records=records)

    monkeypatch.setattr(runner, "commit", hold)
    run(project, gen=2, report_ids=["test.a", "test.c"])
    monkeypatch.undo()

    def again():
        shutil.rmtree(held["staging"], ignore_errors=True)
        shutil.copytree(keep / "staging", held["staging"])
        shutil.copy(keep / "done.ipynb", held["done_tmp"])
        return lambda: runner.commit(project, held["notebook"], held["staging"], held["done_tmp"], held["target"],
                                     held["records"])

    return project, again


STEPS = ["journal", "record", "record", "drop", "notebook"]


def state(root):
    return ledger(root), (root / "_build" / "executed" / "smoke" / "01_test.ipynb").read_text()


@pytest.mark.parametrize("at", range(len(STEPS)))
def test_a_commit_that_fails_at_any_step_leaves_the_last_good_outputs(pending, monkeypatch, at):
    project, again = pending
    before = state(project)
    calls = []

    def full_disk(stage):
        calls.append(stage)
        if len(calls) == at + 1:
            raise OSError(errno.ENOSPC, "No space left on device", "claims")

    monkeypatch.setattr(runner, "_commit_hook", full_disk)
    with pytest.raises(runner.CommitFailed, match="could not commit 01_test .*No space left.*last good outputs"):
        again()()
    assert calls == STEPS[:at + 1]
    assert state(project) == before, f"a commit failed at step {at} ({STEPS[at]}) left a mixed ledger"
    assert not list((project / "_build" / "results" / ".commit").glob("*"))
    monkeypatch.setattr(runner, "_commit_hook", lambda stage: None)
    again()()  # space again: the same run commits whole
    assert sorted(ledger(project)) == ["smoke/seed0/test.a.json", "smoke/seed0/test.c.json"]
    assert {r["gen"] for r in ledger(project).values()} == {2}


@pytest.mark.parametrize("copy_fails_at", [1, 2])
def test_a_full_disk_while_a_record_is_copied_in_is_rolled_back(pending, monkeypatch, copy_fails_at):
    project, again = pending
    before = state(project)
    copy, calls = files.atomic_copy, []

    def atomic_copy(src, dest):
        calls.append(dest)
        if len(calls) == copy_fails_at:
            raise OSError(errno.ENOSPC, "No space left on device", str(dest))
        return copy(src, dest)

    monkeypatch.setattr(files, "atomic_copy", atomic_copy)
    with pytest.raises(runner.CommitFailed):
        again()()
    assert state(project) == before


@pytest.mark.parametrize("at", range(len(STEPS)))
def test_a_commit_killed_at_any_step_is_rolled_back_by_the_next_run(pending, monkeypatch, at):
    project, again = pending
    before = state(project)
    commit = again()
    pid = os.fork()
    if pid == 0:  # the child commits and is killed at step ``at`` (no clean-up runs: as SIGKILL)
        calls = []

        def die(stage):
            calls.append(stage)
            if len(calls) == at + 1:
                os._exit(137)

        runner._commit_hook = die
        try:
            commit()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 137
    runner.remove_leftovers(project)  # what the next run does first
    assert state(project) == before, f"a commit killed at step {at} ({STEPS[at]}) left a mixed ledger"
    assert not list((project / "_build" / "results" / ".commit").glob("*"))
    assert not (project / "_build" / "results" / ".lock").exists()


# --- 6. a verdict says which run made it, and whether a later run of its chapter failed --------------

def test_a_record_says_which_run_made_it_and_the_ledger_shows_it(project, capsys, monkeypatch):
    assert cli.main(["run", "--quiet", "--device", "cpu", "-p", "gen", "2"]) == 0
    record = ledger(project)["smoke/seed0/test.a.json"]
    assert record["run"]["differs"] == {"gen": 2} and record["run"]["threads"] == "1"
    assert record["run"]["device"] == "cpu" and record["run"]["parameters"]["seed"] == 0
    capsys.readouterr()
    assert cli.main(["claims"]) == 0
    assert "[smoke seed 0 -p gen=2] CLAIM test.a: PASS generation 2  (cpu, 1 thread)" in capsys.readouterr().out

    assert cli.main(["run", "--quiet", "--device", "cpu", "-p", "gen", "3", "-p", "fail", "True"]) == 1
    assert cli.main(["claims"]) == 0
    out = capsys.readouterr().out
    assert "[smoke seed 0 -p gen=2] CLAIM test.a: PASS generation 2" in out
    assert out.count("! stale: the latest run of 01_test") == 2 and "asked to fail" in out

    assert cli.main(["run", "--quiet", "--device", "cpu"]) == 0  # a good run again: nothing is stale
    assert cli.main(["claims"]) == 0
    out = capsys.readouterr().out
    assert "stale" not in out and "[smoke seed 0] CLAIM test.a: PASS generation 1" in out


def test_another_thread_count_is_another_run(project, monkeypatch):
    assert run(project)[0].status == "ran"
    assert run(project)[0].status == "skipped"
    monkeypatch.setenv("GANCOMPANION_THREADS", "2")
    assert run(project)[0].status == "ran"
    assert ledger(project)["smoke/seed0/test.a.json"]["run"]["threads"] == "2"


# --- 8. one line instead of a traceback -------------------------------------------------------------

def test_a_truncated_or_incomplete_record_is_named_and_the_others_still_show(project, capsys):
    run(project)
    base = project / "_build" / "results" / "claims" / "smoke" / "seed0"
    (base / "test.a.json").write_text('{"id": "test.a", "sta')  # truncated
    record = json.loads((base / "test.b.json").read_text())
    (base / "test.c.json").write_text(json.dumps({k: v for k, v in record.items() if k != "scale"}))
    assert cli.main(["claims"]) == 0
    captured = capsys.readouterr()
    assert "CLAIM test.b: PASS" in captured.out
    assert f"{base / 'test.a.json'} is not a claim record: it cannot be read" in captured.err
    assert f"{base / 'test.c.json'} is not a claim record: it lacks scale" in captured.err
    with pytest.warns(RuntimeWarning, match="test.a.json is not a claim record"):
        assert [r["id"] for r in claims.load_records(project / "_build" / "results")] == ["test.b"]


def test_an_output_folder_that_is_a_file_is_one_line(project, capsys):
    (project / "_build" / "executed").mkdir(parents=True)
    (project / "_build" / "executed" / "smoke").write_text("not a folder")
    assert cli.main(["run", "--quiet", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gancompanion: error:") and len(err.strip().splitlines()) == 1, err
    assert "executed/smoke" in err


# --- a full or read-only folder, for real: a tmpfs or a read-only bind mount in a private mount namespace ---

FILL = CHAPTER.replace('wait = False{extra}', 'wait = False\nfill = ""{extra}').replace(
    "if fail:\n", "if fill:  # the disk fills up while the chapter ends: the commit meets a full folder\n"
                  "    try:\n"
                  "        with open(os.path.join(fill, 'ballast'), 'wb') as f:\n"
                  "            while True:\n"
                  "                f.write(b'0' * 65536)\n"
                  "                f.flush()\n"
                  "    except OSError:\n"
                  "        pass\n"
                  "if fail:\n")


def mounts_work() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True).returncode == 0


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_full_or_read_only_results_folder_loses_nothing(tmp_path, monkeypatch, fault):
    """The results folder is a 1 MiB tmpfs that the chapter fills up as it ends, or a read-only bind mount;
    the run stops with one line and the last good records and notebook are kept."""
    if not mounts_work():
        pytest.skip("no private mount namespace here (unshare --mount needs root)")
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (root / "notebooks" / "01_test.md").write_text(FILL.format(extra="", library=str(LIBRARY_FILES)))
    for var in ("GANCOMPANION_RESULTS", "GANCOMPANION_CLAIMS", "GANCOMPANION_THREADS"):
        monkeypatch.delenv(var, raising=False)
    run(root, gen=1)
    results, seen = root / "_build" / "results", tmp_path / "seen"
    before = state(root)
    saved = tmp_path / "saved"
    shutil.copytree(results, saved)
    mount = (f"mount -t tmpfs -o size=1m tmpfs {results} && cp -a {saved}/. {results}/" if fault == "full" else
             f"mount --bind -o ro {results} {results}")
    cmd = (f"{mount} && cd {root} && {sys.executable} -m gancompanion run --quiet --device cpu -p gen 2 "
           f"-p fill {str(results) if fault == 'full' else ''!r}; echo rc=$?; rm -f {results}/ballast; "
           f"cp -a {results}/. {seen}/")
    done = subprocess.run(["unshare", "--mount", "sh", "-c", cmd], capture_output=True, text=True, timeout=60)
    err = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("[IPKernelApp]")]
    assert "rc=2" in done.stdout and len(err) == 1 and "Traceback" not in done.stderr, done.stderr
    assert ("No space left on device" if fault == "full" else "Read-only file system") in err[0], err
    assert {str(p.relative_to(seen)): json.loads(p.read_text()) for p in sorted(seen.rglob("claims/**/*.json"))} \
        == {f"claims/{k}": v for k, v in before[0].items()}, "a record was lost or mixed"
    assert (root / "_build" / "executed" / "smoke" / "01_test.ipynb").read_text() == before[1]
    assert not list(seen.glob(".staging/*")) and not list(seen.glob(".commit/*"))


def test_the_book_s_ledger_says_which_run_made_a_verdict_and_that_it_is_stale(project):
    from gancompanion.pipeline import book

    run(project, gen=2)
    run(project, gen=3, fail=True)
    records = claims.load_records(project / "_build" / "results")
    assert {r["later_failure"]["status"] for r in records} == {"failed"}
    catalogue = {r["id"]: claims.Claim(r["id"], "01_test", "a statement", "a source", "a check") for r in records}
    text = book.ledger(records, catalogue, "smoke")
    line = next(x for x in text.splitlines() if x.startswith("- smoke, seed 0: ") and "PASS" in x and "generation 2" in x)
    assert "(cpu, 1 thread, " in line and "; run with `-p gen=2`)" in line
    assert "*stale: the latest run of 01_test (" in line and "asked to fail" in line
