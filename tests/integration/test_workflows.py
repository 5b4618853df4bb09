"""CI runs the README's test command on every push and pull request, and publishing waits for it."""

import re
from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def _load(name):
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    return data, data.get("on", data.get(True))  # YAML 1.1 reads the key `on` as True


def test_the_test_workflow_runs_make_test_on_every_push_and_pull_request():
    data, on = _load("test.yml")
    assert "push" in on and "pull_request" in on and "workflow_call" in on
    assert on["push"] is None or not on["push"].get("branches"), "every push, not only some branches"
    readme = (WORKFLOWS.parents[1] / "README.md").read_text()
    assert "make test" in readme
    runs = " ".join(step.get("run", "") for job in data["jobs"].values() for step in job["steps"])
    assert re.search(r"(^|\s)make test(\s|$)", runs)


def test_publishing_needs_the_tests():
    data, _ = _load("book.yml")
    jobs = data["jobs"]
    callers = [name for name, job in jobs.items() if job.get("uses") == "./.github/workflows/test.yml"]
    assert callers, "book.yml does not run test.yml"
    needs = jobs["build"].get("needs")
    assert set(callers) & set([needs] if isinstance(needs, str) else needs or [])
    for name, job in jobs.items():  # everything else comes after the build
        if name not in callers and name != "build":
            assert job.get("needs"), f"job {name} does not wait for the build"
