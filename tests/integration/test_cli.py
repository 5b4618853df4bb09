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
