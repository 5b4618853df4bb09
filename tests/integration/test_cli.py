"""Every command the README and the "Reproducing" page show works, on a tiny fake project.

The fake project has a Chapter 1 with ``noise_scale`` and a chapter without it, so a ``-p`` parameter
that only some chapters have is exercised the way the README uses it.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from test_runner import ledger, make_project

from gancompanion.pipeline import book, cli

REPO = Path(__file__).parents[2]
CHAPTERS = ("01_perfect_discriminator", "03_other")


def real_chapters() -> dict[str, str]:
    """The real chapters' stems, each with its own knobs (the parameters other than scale, device, seed)."""
    from gancompanion.pipeline import runner

    return {nb.stem: "\n".join(f"{k} = None" for k in runner.parameters_of(runner.read_notebook(nb))
                               if k not in runner.CORE_PARAMETERS)
            for nb in runner.chapters(REPO)}


def shown_commands(path: Path, skip=("Sweeps over seeds and parameters",)) -> list[str]:
    """The shell commands of a page: lines of its ```bash blocks and inline `jupytext ...` spans.

    Sections titled as in ``skip`` are left out (the sweeps' commands need a cluster; test_sweep has them).
    """
    sections = re.split(r"\n(?=## )", path.read_text())
    text = "\n".join(sec for sec in sections if not any(sec.startswith(f"## {t}") for t in skip))
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    commands += [" ".join(span.split()) for span in re.findall(r"`(jupytext [^`]*)`", text)]
    return commands


def make_defaults() -> dict:
    """The Makefile's variables with their defaults (JOBS: 2, the cores of the machine it is made for)."""
    values = dict(re.findall(r"^(\w+) \?= (\S+)$", (REPO / "Makefile").read_text(), flags=re.M))
    return {**values, "JOBS": "2"}


def make_commands(target: str) -> list[str]:
    """The ``gancompanion`` lines of a Makefile target, with the variables' defaults filled in."""
    text = (REPO / "Makefile").read_text()
    body = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, flags=re.M).group(1)
    values = make_defaults()
    lines = []
    for line in body.splitlines():
        if "gancompanion " in line:
            line = re.sub(r"\$\((\w+)\)", lambda m: values.get(m.group(1), ""), line.strip())
            lines.append(line[line.index("gancompanion "):])
    return lines


@pytest.fixture
def built(monkeypatch):
    """The books built (``jupyter_book`` calls); the Sphinx build and the page boxes are left to test_book."""
    built = []

    def fake_jupyter_book(root, scale, builder="html"):  # the Sphinx build itself is test_book's
        built.append((Path(root), scale))
        return Path(root) / "_build" / builder / "index.html"

    monkeypatch.setattr(book, "jupyter_book", fake_jupyter_book)
    from gancompanion.pipeline import pagebox  # the pages' "run this page" boxes need the real repository

    monkeypatch.setattr(pagebox, "run_this_page", lambda root, scale=None, seed=None: [])
    return built


@pytest.fixture
def project(in_tmp, built):
    return make_project(in_tmp, CHAPTERS, {"01_perfect_discriminator": "noise_scale = None"})


def run_shown(command: str, root: Path, capsys) -> int:
    if command.startswith("make "):
        target = command.split()[1]
        return max((run_shown(c, root, capsys) for c in make_commands(target)), default=0)
    argv = shlex.split(command)
    if Path(argv[0]).name == "gancompanion":
        code = cli.main(argv[1:])
        assert code == 0, f"`{command}` exited {code}: {capsys.readouterr().err}"
        return code
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env = {k: v for k, v in env.items() if not k.startswith("GANCOMPANION_")}
    proc = subprocess.run(command, shell=True, cwd=root, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"`{command}` exited {proc.returncode}: {proc.stderr[-2000:]}"
    return 0


@pytest.mark.parametrize("page", ["README.md", "book/reproducing.md"])
def test_every_command_the_page_shows_works(tmp_path, monkeypatch, built, page, capsys):
    """On fake chapters named like the real ones, with the same knobs."""
    monkeypatch.chdir(tmp_path)
    for var in ("GANCOMPANION_RESULTS", "GANCOMPANION_CLAIMS"):
        monkeypatch.delenv(var, raising=False)
    knobs = real_chapters()
    project = make_project(tmp_path, tuple(knobs), knobs)
    commands = shown_commands(REPO / page)
    assert any("-p noise_scale 0.25" in c for c in commands)  # the example that once failed
    for command in commands:
        run_shown(command, project, capsys)
    assert built or not any(" book" in c for c in commands)
    records = ledger(project)
    assert records and all(r["status"] == "PASS" for r in records.values())


def test_the_readme_s_noise_example_reaches_chapter_1_only(project, capsys):
    assert cli.main(["run", "--scale", "smoke", "--device", "cpu", "--quiet", "-p", "noise_scale", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "01_perfect_discriminator: ran" in out and "03_other: ran" in out
    meta = json.loads((project / "_build" / "executed" / "smoke" / "01_perfect_discriminator.ipynb").read_text())
    assert meta["metadata"]["gancompanion"]["parameters"]["noise_scale"] == 0.25
    assert cli.main(["run", "03", "--quiet", "-p", "noise_scale", "0.25"]) == 2
    assert "unknown parameter 'noise_scale' for notebook '03_other'" in capsys.readouterr().err


def test_book_errors_are_messages_and_exit_codes_not_system_exit(project, built, capsys):
    assert cli.main(["book", "--no-run", "--scale", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "has not been executed at scale 'smoke'" in err and "gancompanion run --scale smoke" in err

    with pytest.raises(book.BuildError, match="2 chapter\\(s\\) failed; the book was not built"):
        book.build(project, {"scale": "smoke", "device": "cpu", "seed": 0, "fail": True}, progress=False)
    assert cli.main(["book", "--scale", "smoke", "--device", "cpu", "--quiet", "-p", "fail", "True"]) == 2
    assert "the book was not built" in capsys.readouterr().err
    assert not built


def test_a_failing_jupyter_book_is_a_build_error(tmp_path, monkeypatch):
    class Done:
        returncode = 3

    monkeypatch.setattr(book.subprocess, "run", lambda *a, **k: Done())
    with pytest.raises(book.BuildError, match="jupyter-book build failed \\(exit 3\\)"):
        book.jupyter_book(tmp_path, "smoke")


def test_run_with_several_seeds_runs_every_chapter_once_per_seed(monkeypatch, capsys):
    from gancompanion.pipeline import runner

    calls = []

    def fake_run_all(notebooks, params, root, **kw):
        calls.append((tuple(nb.stem for nb in notebooks), params["seed"]))
        return []

    monkeypatch.setattr(runner, "run_all", fake_run_all)
    assert cli.main(["run", "01", "03", "--seeds", "0", "2", "1", "2"]) == 0
    stems = (runner.find_chapter(REPO, "01").stem, runner.find_chapter(REPO, "03").stem)
    assert calls == [(stems, 0), (stems, 2), (stems, 1)]  # each seed once, in the order given
    assert cli.main(["run", "--seed", "1", "--seeds", "2"]) == 2  # one or the other
    assert "not allowed with argument" in capsys.readouterr().err


# --- inputs are checked before any work starts ------------------------------------------------------------

@pytest.fixture
def nothing_runs(monkeypatch):
    """Fail the test if a chapter would execute (every check below must stop before)."""
    from gancompanion.pipeline import runner, sweep

    def refuse(*a, **k):
        raise AssertionError("a chapter started although its input was bad")

    monkeypatch.setattr(runner, "execute", refuse)
    monkeypatch.setattr(sweep, "execute_run", refuse)


@pytest.mark.parametrize("value", ["fast", "nan", "inf", "-0.5"])
def test_a_bad_value_of_a_chapter_s_knob_is_named_before_it_runs(value, nothing_runs, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert cli.main(["run", "01", "--quiet", "-p", "noise_scale", value]) == 2
    err = capsys.readouterr().err
    assert "noise_scale must be a number >= 0" in err and "01_perfect_discriminator" in err, err
    assert cli.main(["sweep", "01", "--quiet", "-p", "noise_scale", f"0.1,{value}"]) == 2
    assert "noise_scale must be a number >= 0" in capsys.readouterr().err


def test_a_parameter_given_twice_is_refused(tmp_path, monkeypatch, nothing_runs, capsys):
    monkeypatch.chdir(make_project(tmp_path))
    assert cli.main(["run", "--quiet", "-p", "gen", "1", "-p", "gen", "2"]) == 2
    assert "parameter 'gen' is given twice" in capsys.readouterr().err
    assert not (tmp_path / "_build").exists()


@pytest.mark.parametrize("argv", [["--seed", str(2**64)], ["--seeds", "0", str(2**63)], ["--seeds", "nan"]])
def test_a_seed_torch_cannot_take_is_refused_on_the_command_line(tmp_path, monkeypatch, nothing_runs, capsys, argv):
    monkeypatch.chdir(make_project(tmp_path))
    assert cli.main(["run", "--quiet", *argv]) == 2
    assert re.search(r"seed(s)? must be", capsys.readouterr().err)
    assert not (tmp_path / "_build").exists()


@pytest.mark.parametrize("words, seeds", [(["0", "1", "2"], [0, 1, 2]), (["0,1,2"], [0, 1, 2]), (["0-2"], [0, 1, 2]),
                                          (["3", "0-1,5"], [3, 0, 1, 5]), (["1", "1"], [1])])
def test_run_and_sweep_spell_seeds_the_same_way(tmp_path, monkeypatch, words, seeds):
    from gancompanion.pipeline import runner, sweep

    monkeypatch.chdir(make_project(tmp_path))
    calls = []
    monkeypatch.setattr(runner, "run_all", lambda nbs, params, root, **kw: calls.append(params["seed"]) or [])
    assert cli.main(["run", "--quiet", "--seeds", *words]) == 0
    assert calls == seeds
    grids = []

    def grid(*a, **k):
        grids.append(k["seeds"])
        raise ValueError("stop here")

    monkeypatch.setattr(sweep, "grid", grid)
    assert cli.main(["sweep", "01", "--quiet", "--seeds", *words]) == 2
    assert grids == [seeds]


def test_a_table_path_that_cannot_be_written_stops_the_sweep_before_any_run(tmp_path, monkeypatch, nothing_runs,
                                                                            capsys):
    monkeypatch.chdir(make_project(tmp_path))
    (tmp_path / "a-file").write_text("")
    assert cli.main(["sweep", "01", "--quiet", "--table", str(tmp_path / "a-file" / "t.csv")]) == 2
    assert "--table" in capsys.readouterr().err
    (tmp_path / "folder.csv").mkdir()
    assert cli.main(["sweep", "01", "--quiet", "--table", str(tmp_path / "folder.csv")]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert not (tmp_path / "_build").exists()
