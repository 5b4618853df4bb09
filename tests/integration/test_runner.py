"""The runner on tiny fake chapters in a temporary project (no real chapter is executed here).

The fake chapters write claim records as ``gancompanion.pipeline.claims.report`` does (into
``$GANCOMPANION_CLAIMS/<scale>/seed<k>/<id>.json``) without importing the library, so each kernel
starts in a second or two.
"""

import json
from pathlib import Path

import pytest

from gancompanion import files
from gancompanion.pipeline import claims, cli, runner

LIBRARY_FILES = Path(files.__file__)

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
fail = False
gen = 1
report_ids = ["test.a", "test.b"]
wait = False{extra}
```

```{{code-cell}} ipython3
import importlib.util, json, os, pathlib, time

spec = importlib.util.spec_from_file_location("files", {library!r})  # gancompanion/files.py alone
files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(files)
for claim_id in report_ids:  # what claims.report writes
    files.atomic_write_text(pathlib.Path(os.environ.get("GANCOMPANION_CLAIMS", "claims")) / scale / f"seed{{seed}}"
                            / f"{{claim_id}}.json", json.dumps({{"id": claim_id, "status": "PASS", "gen": gen,
                            "scale": scale, "seed": seed, "device": device, "evidence": f"generation {{gen}}",
                            "notebook": os.environ.get("GANCOMPANION_NOTEBOOK")}}))
results = pathlib.Path(os.environ.get("GANCOMPANION_RESULTS", "results"))
files.atomic_write_text(results.parent / "checkpoints" / f"{{scale}}-{{seed}}.json",  # as train() saves
                        json.dumps({{"gen": gen, "weights": list(range(1000))}}))
print(f"ran at {{scale}} with seed {{seed}} on {{device}}, generation {{gen}}")
```

```{{code-cell}} ipython3
if wait:
    if wait == "deaf":  # a cell that never sees Ctrl-C, as when ipykernel loses it outside a cell
        import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)
    (results.parent / "waiting").write_text("now")
    time.sleep(120)
if fail:
    raise RuntimeError("asked to fail")
```

```{{code-cell}} ipython3
print("finished")
```
'''


def chapter(extra: str = "") -> str:
    """A fake chapter; ``extra`` adds lines to its parameters cell."""
    return CHAPTER.format(extra=("\n" + extra) if extra else "", library=str(LIBRARY_FILES))


def make_project(root: Path, names=("01_test",), extras=None) -> Path:
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (root / "notebooks").mkdir()
    for name in names:
        (root / "notebooks" / f"{name}.md").write_text(chapter((extras or {}).get(name, "")))
    return root


def ledger(root: Path) -> dict:
    """Every committed claim record, by path relative to the claims folder."""
    base = root / "_build" / "results" / "claims"
    return {str(p.relative_to(base)): json.loads(p.read_text()) for p in sorted(base.rglob("*.json"))}


@pytest.fixture
def project(in_tmp):
    return make_project(in_tmp)


def run(root, **params):
    return runner.run_all(runner.chapters(root), {"scale": "smoke", "device": "cpu", **params}, root, progress=False)


def test_parameters_are_read_from_the_parameters_cell(project):
    nb = runner.read_notebook(project / "notebooks" / "01_test.md")
    assert runner.parameters_of(nb) == {"scale": "smoke", "device": "auto", "seed": 0, "fail": False, "gen": 1,
                                        "report_ids": ["test.a", "test.b"], "wait": False}


def test_find_chapter_by_number_or_stem(project):
    assert runner.find_chapter(project, "01").name == "01_test.md"
    with pytest.raises(ValueError, match="unknown notebook '07'; choose one of: 01_test"):
        runner.find_chapter(project, "07")


@pytest.mark.parametrize("params, match", [
    ({"scale": "huge"}, "unknown scale 'huge'; choose one of: 'smoke', 'book', 'paper'"),
    ({"scale": "smoke", "device": "tpu"}, "unknown device 'tpu'; choose one of: 'auto', 'cpu', 'cuda'"),
    ({"scale": "smoke", "steps": 3}, "unknown parameter 'steps' for notebook '01_test'; its parameters are: "
                                     "device, fail, gen, report_ids, scale, seed, wait"),
    ({"scale": "smoke", "seed": -1}, "seed must be an integer >= 0"),
    ({"scale": "smoke", "seed": "abc"}, "seed must be an integer >= 0, got 'abc'"),
    ({"scale": "smoke", "seed": 1.5}, "seed must be an integer >= 0, got 1.5"),
])
def test_bad_parameters_stop_before_anything_runs(project, params, match):
    with pytest.raises(ValueError, match=match):
        runner.run_all(runner.chapters(project), params, project, progress=False)
    assert not (project / "_build").exists()


@pytest.mark.parametrize("jobs", [0, -3, 1.5])
def test_jobs_must_be_a_positive_integer(project, jobs):
    with pytest.raises(ValueError, match="jobs must be an integer >= 1"):
        runner.run_all(runner.chapters(project), {"scale": "smoke"}, project, jobs=jobs, progress=False)
    assert not (project / "_build").exists()


def test_run_writes_atomically_skips_unchanged_and_keeps_the_last_good_output(project):
    [first] = run(project, seed=1)
    assert first.status == "ran"
    good = first.output.read_text()
    assert "ran at smoke with seed 1" in good
    assert json.loads(good)["metadata"]["gancompanion"]["parameters"] == {"scale": "smoke", "device": "cpu", "seed": 1}

    [again] = run(project, seed=1)
    assert again.status == "skipped"

    [failed] = run(project, seed=1, fail=True)
    assert failed.status == "failed" and "asked to fail" in failed.error
    assert first.output.read_text() == good  # the last good run survives
    assert failed.output.name == "01_test.failed.ipynb" and failed.output.exists()
    assert not list(first.output.parent.glob(".*running*"))


def test_a_failed_run_leaves_the_ledger_of_the_last_good_run(project):
    """Records are committed with the executed notebook; a failure late in a run commits neither."""
    [good] = run(project, gen=1)
    before, notebook = ledger(project), good.output.read_text()
    assert sorted(before) == ["smoke/seed0/test.a.json", "smoke/seed0/test.b.json"]
    assert {r["gen"] for r in before.values()} == {1}

    [failed] = run(project, gen=2, fail=True)  # writes generation-2 records, then fails
    assert failed.status == "failed"
    assert ledger(project) == before and good.output.read_text() == notebook
    assert not (project / "_build" / "results" / ".staging").exists() or not any(
        (project / "_build" / "results" / ".staging").iterdir())

    [skipped] = run(project, gen=1)  # the kept notebook and its records still belong together
    assert skipped.status == "skipped"


def test_a_skip_checks_that_the_records_belong_to_the_kept_notebook(project):
    [good] = run(project)
    record = project / "_build" / "results" / "claims" / "smoke" / "seed0" / "test.a.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "status": "FAIL"}))  # not what the run wrote
    [again] = run(project)
    assert again.status == "ran"
    assert ledger(project)["smoke/seed0/test.a.json"]["status"] == "PASS"
    record.unlink()
    assert run(project)[0].status == "ran" and record.exists()


def test_the_same_record_checked_again_later_still_belongs_to_the_notebook(project):
    """nbval re-executes a kept notebook: its records come back equal but for the time of the check."""
    run(project)
    record = project / "_build" / "results" / "claims" / "smoke" / "seed0" / "test.a.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "checked_at": "2027-01-01T00:00:00+00:00"}))
    assert run(project)[0].status == "skipped"


def test_a_chapter_s_records_that_its_last_run_did_not_write_are_dropped(project):
    run(project, report_ids=["test.a", "test.b"])
    other = project / "_build" / "results" / "claims" / "smoke" / "seed0" / "other.json"
    other.write_text(json.dumps({"id": "other", "notebook": "02_other"}))  # another chapter's record stays
    run(project, report_ids=["test.a"])
    assert sorted(ledger(project)) == ["smoke/seed0/other.json", "smoke/seed0/test.a.json"]


def test_each_seed_has_its_own_notebook_and_records(project):
    [zero] = run(project, seed=0, gen=1)
    [one] = run(project, seed=1, gen=2)
    assert zero.output == project / "_build" / "executed" / "smoke" / "01_test.ipynb"  # where the book looks
    assert one.output == project / "_build" / "executed" / "smoke" / "seed1" / "01_test.ipynb"
    got = ledger(project)
    assert got["smoke/seed0/test.a.json"]["gen"] == 1 and got["smoke/seed1/test.a.json"]["gen"] == 2
    [failed] = run(project, seed=1, gen=3, fail=True)  # a failure at seed 1 touches nothing of seed 0 or 1
    assert failed.status == "failed" and ledger(project) == got
    assert run(project, seed=0, gen=1)[0].status == "skipped"


def test_a_stale_failed_notebook_goes_when_the_kept_one_is_current(project):
    run(project)
    [failed] = run(project, fail=True)
    assert failed.output.exists()
    [skipped] = run(project)
    assert skipped.status == "skipped" and not failed.output.exists()


def test_the_skip_key_uses_the_device_auto_resolved_to(project, monkeypatch):
    [first] = run(project, device="auto")
    resolved = runner.resolve_device("auto")
    assert json.loads(first.output.read_text())["metadata"]["gancompanion"]["parameters"]["device"] == resolved
    assert run(project, device=resolved)[0].status == "skipped"
    monkeypatch.setattr(runner, "resolve_device", lambda d: "cuda" if d == "auto" else d)  # another machine
    assert run(project, device="auto")[0].status == "ran"


def test_a_chapter_named_twice_runs_once(project, capsys):
    nb = runner.chapters(project)[0]
    outcomes = runner.run_all([nb, nb], {"scale": "smoke", "device": "cpu"}, project, jobs=2, progress=False)
    assert [o.status for o in outcomes] == ["ran"]
    assert cli.main(["run", "01", "01_test", "--quiet", "--device", "cpu", "--force"]) == 0
    assert capsys.readouterr().out.count("01_test: ran") == 1


def test_a_parameter_goes_to_the_chapters_that_have_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = make_project(tmp_path, ("01_noisy", "02_plain"), {"01_noisy": "noise_scale = None"})
    outcomes = runner.run_all(runner.chapters(root), {"scale": "smoke", "device": "cpu", "noise_scale": 0.25},
                              root, progress=False)
    assert [o.status for o in outcomes] == ["ran", "ran"]
    meta = {o.notebook: json.loads(o.output.read_text())["metadata"]["gancompanion"]["parameters"] for o in outcomes}
    assert meta["01_noisy"]["noise_scale"] == 0.25 and "noise_scale" not in meta["02_plain"]
    with pytest.raises(ValueError, match="unknown parameter 'noise_scale' for notebook '02_plain'"):
        runner.run_all([root / "notebooks" / "02_plain.md"], {"scale": "smoke", "noise_scale": 0.25}, root)
    with pytest.raises(ValueError, match="unknown parameter 'steps': none of the notebooks 01_noisy, 02_plain has it"):
        runner.run_all(runner.chapters(root), {"scale": "smoke", "steps": 3}, root)


def test_report_writes_where_the_runner_stages(tmp_path, monkeypatch):
    """The fake chapters imitate this: ``claims.report`` honours ``$GANCOMPANION_CLAIMS``."""
    monkeypatch.setenv("GANCOMPANION_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("GANCOMPANION_CLAIMS", str(tmp_path / "staging"))
    claims.report("ch3.dirac-unreg-cycles", True, "moved away", scale="smoke", seed=2, device="cpu")
    assert (tmp_path / "staging" / "smoke" / "seed2" / "ch3.dirac-unreg-cycles.json").exists()
    assert not (tmp_path / "results").exists()
    monkeypatch.delenv("GANCOMPANION_CLAIMS")
    claims.report("ch3.dirac-unreg-cycles", True, "moved away", scale="smoke", seed=2, device="cpu")
    assert [r["seed"] for r in claims.load_records()] == [2]


def test_the_project_root_is_the_library_s(project):
    from gancompanion import files

    assert runner.project_root is files.project_root
    assert runner.project_root(project / "notebooks") == project.resolve()
    assert claims.results_dir() == project.resolve() / "_build" / "results"


def test_cli_rejects_bad_input_with_the_allowed_values(project, capsys):
    assert cli.main(["run", "--scale", "smoke", "-p", "steps", "3"]) == 2
    assert "unknown parameter 'steps'" in capsys.readouterr().err
    assert cli.main(["run", "--scale", "huge"]) == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err
    assert cli.main(["run", "--seed", "-2"]) == 2
    assert "seed must be an integer >= 0" in capsys.readouterr().err
    assert cli.main(["run", "--seed", "1.5"]) == 2
    assert "seed must be an integer >= 0, got '1.5'" in capsys.readouterr().err
    assert cli.main(["run", "-p", "scale", "book"]) == 2
    assert "pass 'scale' as --scale" in capsys.readouterr().err
    for jobs in ("0", "-3", "two"):
        assert cli.main(["run", "--jobs", jobs]) == 2
        assert "--jobs must be an integer >= 1" in capsys.readouterr().err
    assert not (project / "_build").exists()


def test_cli_run_executes_and_reports(project, capsys):
    assert cli.main(["run", "01", "--quiet", "--device", "cpu", "-p", "fail", "False"]) == 0
    assert "01_test: ran" in capsys.readouterr().out
    assert cli.main(["run", "01", "--quiet", "--device", "cpu", "-p", "fail", "True"]) == 1
    assert cli.main(["claims"]) == 0
    assert "[smoke seed 0] CLAIM test.a: PASS generation 1" in capsys.readouterr().out


NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("[0-9]*.md"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_checks_its_parameters_through_the_library(path):
    """The first code cell after ``parameters`` validates each one (naming it) before it is used."""
    import re

    from gancompanion import validation

    nb = runner.read_notebook(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    i = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    check = code[i + 1].source
    assert re.search(r"chapter\.setup\(\"ch\d\", scale, device, seed\)", check) or (
        "validation.seed(seed)" in check and "pick_device(device)" in check)
    for name, default in runner.parameters_of(nb).items():
        if name in runner.CORE_PARAMETERS:
            continue
        found = (re.search(rf"validation\.(\w+)\(\"{name}\", {name}\)", check)
                 or re.search(rf"override\(\"{name}\", {name}, [^,]+, (?:\w+\.)*(\w+)\)", check))
        assert found, f"{path.stem}: parameter {name} is not validated through gancompanion.validation"
        if default is None or isinstance(default, float):  # a number knob: inf and NaN are refused
            for bad in (float("inf"), float("nan")):
                with pytest.raises(ValueError, match=name):
                    getattr(validation, found.group(1))(name, bad)


@pytest.mark.parametrize("bad", ["abc", 1.5, -1, True])
def test_a_chapter_s_setup_names_a_bad_seed(bad):
    from gancompanion.chapters import chapter

    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        chapter.setup("ch0", "smoke", "cpu", bad)


def test_several_jobs_start_the_longest_chapters_first(tmp_path, monkeypatch):
    import nbformat

    names = ("01_a", "02_b", "03_c")
    root = make_project(tmp_path, names)
    notebooks = runner.chapters(root)
    params = {"scale": "book", "seed": 1}
    from gancompanion.pipeline import scales

    monkeypatch.setattr(scales, "CHAPTER_SECONDS", {"01_a": 10, "03_c": 500})  # 02_b: not in the table
    assert [nb.stem for nb in runner.longest_first(notebooks, params, root)] == ["03_c", "01_a", "02_b"]
    for name, seed, seconds in (("02_b", 0, 900.0), ("01_a", 1, 600.0), ("01_a", 0, 5.0)):  # earlier runs win
        target = runner.output_path(root, "book", root / "notebooks" / f"{name}.md", seed)
        target.parent.mkdir(parents=True, exist_ok=True)
        nb = nbformat.v4.new_notebook()
        nb.metadata["gancompanion"] = {"seconds": seconds}
        nbformat.write(nb, target)
    assert [nb.stem for nb in runner.longest_first(notebooks, params, root)] == ["02_b", "01_a", "03_c"]
    assert [nb.stem for nb in runner.longest_first(notebooks, {**params, "seed": 0}, root)] == ["02_b", "03_c", "01_a"]
