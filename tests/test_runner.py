import json
import textwrap

import pytest

from gancompanion import cli, runner

NOTEBOOK = textwrap.dedent('''\
    ---
    jupytext:
      text_representation: {extension: .md, format_name: myst}
    kernelspec: {display_name: Python 3, language: python, name: python3}
    ---
    # A test chapter

    ```{code-cell} ipython3
    :tags: [parameters]

    scale = "smoke"
    device = "auto"
    seed = 0
    fail = False
    ```

    ```{code-cell} ipython3
    if fail:
        raise RuntimeError("asked to fail")
    print(f"ran at {scale} with seed {seed}")
    ```
    ''')


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_test.md").write_text(NOTEBOOK)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_parameters_are_read_from_the_parameters_cell(project):
    nb = runner.read_notebook(project / "notebooks" / "01_test.md")
    assert runner.parameters_of(nb) == {"scale": "smoke", "device": "auto", "seed": 0, "fail": False}


def test_find_chapter_by_number_or_stem(project):
    assert runner.find_chapter(project, "01").name == "01_test.md"
    with pytest.raises(ValueError, match="unknown notebook '07'; choose one of: 01_test"):
        runner.find_chapter(project, "07")


@pytest.mark.parametrize("params, match", [
    ({"scale": "huge"}, "unknown scale 'huge'; choose one of: 'smoke', 'book', 'paper'"),
    ({"scale": "smoke", "device": "tpu"}, "unknown device 'tpu'; choose one of: 'auto', 'cpu', 'cuda'"),
    ({"scale": "smoke", "steps": 3}, "unknown parameter 'steps' for notebook '01_test'; its parameters are: "
                                     "device, fail, scale, seed"),
    ({"scale": "smoke", "seed": -1}, "seed must be an integer >= 0"),
])
def test_bad_parameters_stop_before_anything_runs(project, params, match):
    with pytest.raises(ValueError, match=match):
        runner.run_all(runner.chapters(project), params, project, progress=False)
    assert not (project / "_build").exists()


def test_run_writes_atomically_skips_unchanged_and_keeps_the_last_good_output(project):
    params = {"scale": "smoke", "seed": 1}
    [first] = runner.run_all(runner.chapters(project), params, project, progress=False)
    assert first.status == "ran"
    good = first.output.read_text()
    assert "ran at smoke with seed 1" in good
    assert json.loads(good)["metadata"]["gancompanion"]["parameters"] == params

    [again] = runner.run_all(runner.chapters(project), params, project, progress=False)
    assert again.status == "skipped"

    [failed] = runner.run_all(runner.chapters(project), {**params, "fail": True}, project, progress=False)
    assert failed.status == "failed" and "asked to fail" in failed.error
    assert first.output.read_text() == good  # the last good run survives
    assert failed.output.name == "01_test.failed.ipynb" and failed.output.exists()
    assert not list(first.output.parent.glob(".*running*"))


def test_cli_rejects_bad_input_with_the_allowed_values(project, capsys):
    assert cli.main(["run", "--scale", "smoke", "-p", "steps", "3"]) == 2
    assert "unknown parameter 'steps'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["run", "--scale", "huge"])
    assert "invalid choice: 'huge' (choose from smoke, book, paper)" in capsys.readouterr().err.replace("'smoke'", "smoke").replace("'book'", "book").replace("'paper'", "paper")
    assert cli.main(["run", "--seed", "-2"]) == 2
    assert "seed must be an integer >= 0" in capsys.readouterr().err
    assert cli.main(["run", "-p", "scale", "book"]) == 2
    assert "pass 'scale' as --scale" in capsys.readouterr().err


def test_cli_run_executes_and_reports(project, capsys):
    assert cli.main(["run", "01", "--quiet", "-p", "fail", "False"]) == 0
    assert "01_test: ran" in capsys.readouterr().out
    assert cli.main(["run", "01", "--quiet", "-p", "fail", "True"]) == 1
