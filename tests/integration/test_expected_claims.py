"""The verdicts of the smoke run are the committed ones: a claim that flips, vanishes or is new fails here.

``make test`` executes every chapter at scale smoke (seed 0, cpu) into ``_build/executed/smoke/``
before pytest runs. These tests read the ``CLAIM`` lines of those kept notebooks and compare them
with ``tests/expected_claims_smoke.json`` (claim id -> status) and with the claim records on disk.
To change an expected verdict on purpose: run the smoke notebooks, then
``python -m gancompanion.pipeline.claims --write-expected`` and review the diff.

The first half builds small notebooks by hand, so that each way of going wrong is shown to fail.
"""

import datetime as dt
import json
from pathlib import Path

import pytest

from gancompanion.pipeline import claims, runner

ROOT = Path(__file__).resolve().parents[2]
SMOKE = {"scale": "smoke", "device": "cpu", "seed": 0}  # what `make test` executes first


def _notebook(path: Path, lines: list[str], start: dt.datetime | None = None, seed: int = 0) -> Path:
    start = start or dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    cells = [{"cell_type": "code", "source": "...", "metadata": {}, "execution_count": i, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": [line + "\n"]}]} for i, line in enumerate(lines)]
    cells.insert(1, {"cell_type": "markdown", "source": "text", "metadata": {}})
    nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
          "metadata": {"papermill": {"start_time": start.isoformat(), "parameters": {**SMOKE, "seed": seed}},
                       "gancompanion": {"parameters": {**SMOKE, "seed": seed}}}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    return path


@pytest.fixture
def chapter(tmp_path, results_dir, capsys, monkeypatch):
    """A fake chapter with two claims, executed: its notebook and its records."""
    monkeypatch.delenv("GANCOMPANION_CLAIMS", raising=False)
    for cid, kind in (("ch9.exact-one", "exact"), ("ch9.stat-one", "stat")):
        claims.register(claims.Claim(cid, "09_fake", "s", "src", "check", kind=kind))
    lines = [claims.report("ch9.exact-one", True, "1e-15 error", scale="smoke", seed=0, device="cpu")["line"],
             claims.report("ch9.stat-one", False, "fell 3x", scale="smoke", seed=0, device="cpu")["line"]]
    capsys.readouterr()
    nb = _notebook(tmp_path / "_build" / "executed" / "smoke" / "09_fake.ipynb", lines)
    yield nb, lines
    for cid in ("ch9.exact-one", "ch9.stat-one"):
        claims.CATALOGUE.pop(cid, None)


EXPECTED = {"ch9.exact-one": "PASS", "ch9.stat-one": "FAIL"}


def test_notebook_claims_reads_the_printed_lines(chapter):
    nb, lines = chapter
    assert claims.notebook_claims(nb) == {"ch9.exact-one": lines[0], "ch9.stat-one": lines[1]}
    assert claims.executed_claims([nb])["ch9.stat-one"] == ("09_fake", lines[1])


def test_a_claim_printed_twice_is_an_error(tmp_path):
    nb = _notebook(tmp_path / "01_x.ipynb", ["CLAIM ch1.a: PASS x", "CLAIM ch1.a: FAIL y"])
    with pytest.raises(ValueError, match="ch1.a"):
        claims.notebook_claims(nb)


def test_the_expected_verdicts_agree(chapter):
    nb, _ = chapter
    assert claims.verdict_problems(EXPECTED, claims.executed_claims([nb]), ["09_fake"]) == []


def test_a_claim_that_flips_fails_with_its_id(chapter, tmp_path):
    _, lines = chapter
    flipped = _notebook(tmp_path / "flip" / "09_fake.ipynb", [lines[0].replace(": PASS", ": FAIL"), lines[1]])
    [problem] = claims.verdict_problems(EXPECTED, claims.executed_claims([flipped]), ["09_fake"])
    assert problem.startswith("ch9.exact-one: FAIL, expected PASS")


def test_a_deleted_claim_cell_fails_with_its_id(chapter, tmp_path):
    _, lines = chapter
    dropped = _notebook(tmp_path / "drop" / "09_fake.ipynb", lines[:1])  # the stat claim's cell is gone
    problems = claims.verdict_problems(EXPECTED, claims.executed_claims([dropped]), ["09_fake"])
    assert problems == ["ch9.stat-one: expected FAIL, but no executed notebook printed it"]
    # not in the expected file either: the catalogue still knows the chapter owes it
    problems = claims.verdict_problems({"ch9.exact-one": "PASS"}, claims.executed_claims([dropped]), ["09_fake"])
    assert problems == ["ch9.stat-one: catalogued for 09_fake, but its notebook printed no CLAIM line for it"]


def test_a_new_claim_without_an_entry_fails_with_its_id(chapter):
    nb, _ = chapter
    [problem] = claims.verdict_problems({"ch9.exact-one": "PASS"}, claims.executed_claims([nb]), [])
    assert problem.startswith("ch9.stat-one: new claim (FAIL in 09_fake)")


def test_records_agree_with_the_notebook(chapter, results_dir):
    nb, _ = chapter
    assert claims.record_problems([nb], "smoke", results_dir) == []


def test_a_stale_record_fails_with_its_id(chapter, results_dir, tmp_path, capsys):
    # the kept notebook says FAIL, the record on disk still holds an older PASS (its cell no longer ran)
    _, lines = chapter
    path = claims.record_path("ch9.stat-one", "smoke", 0, results_dir / "claims")
    record = json.loads(path.read_text())
    old = {**record, "status": "PASS", "line": "CLAIM ch9.stat-one: PASS fell 300x",
           "checked_at": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).isoformat(timespec="seconds")}
    path.write_text(json.dumps(old))
    problems = claims.record_problems([chapter[0]], "smoke", results_dir)
    assert len(problems) == 2 and all(p.startswith("ch9.stat-one: ") for p in problems)
    assert "older than the run" in problems[1]


def test_a_missing_record_fails_with_its_id(chapter, results_dir):
    claims.record_path("ch9.exact-one", "smoke", 0, results_dir / "claims").unlink()
    [problem] = claims.record_problems([chapter[0]], "smoke", results_dir)
    assert problem.startswith("ch9.exact-one: 09_fake printed it but there is no record")


def test_write_expected_writes_the_verdicts_and_refuses_a_failing_exact_claim(chapter, tmp_path):
    nb, lines = chapter
    path = claims.write_expected(tmp_path, "smoke")
    assert path == tmp_path / "tests" / "expected_claims_smoke.json"
    assert claims.load_expected(path) == EXPECTED
    _notebook(nb, [lines[0].replace(": PASS", ": FAIL"), lines[1]])
    with pytest.raises(ValueError, match="ch9.exact-one"):
        claims.write_expected(tmp_path, "smoke")
    path.write_text(json.dumps({"ch9.exact-one": "SKIP"}))
    with pytest.raises(ValueError, match="ch9.exact-one: an exact claim must be PASS"):
        claims.load_expected(path)


# --- the real smoke run ---------------------------------------------------------------------------

def _executed():
    notebooks = claims.executed_notebooks(ROOT, "smoke")
    if not notebooks:
        pytest.skip("no chapter executed at scale smoke yet: `make test` runs `gancompanion run --scale smoke` first")
    return notebooks


def test_the_expected_file_is_valid():
    expected = claims.load_expected(claims.expected_file(ROOT, "smoke"))  # every exact claim is PASS in it
    unknown = sorted(set(expected) - set(claims.CATALOGUE))
    assert not unknown, f"expected verdicts for claims that are not in the catalogue: {unknown}"


def test_every_chapter_was_executed_at_smoke_from_its_current_source():
    notebooks = {nb.stem: nb for nb in _executed()}
    for src in runner.chapters(ROOT):
        assert src.stem in notebooks, f"{src.stem} has no executed notebook in _build/executed/smoke/"
        meta = json.loads(notebooks[src.stem].read_text())["metadata"].get("gancompanion", {})
        params = meta.get("parameters", {})
        assert {k: params.get(k) for k in SMOKE} == SMOKE, f"{src.stem} was executed with {params}, not {SMOKE}"
        assert meta.get("key") == runner.run_key(src.read_text(), params), \
            f"{src.stem}: the executed notebook is older than its source or the library; rerun it"


def test_the_smoke_verdicts_are_the_expected_ones():
    notebooks = _executed()
    expected = claims.load_expected(claims.expected_file(ROOT, "smoke"))
    problems = claims.verdict_problems(expected, claims.executed_claims(notebooks),
                                       [src.stem for src in runner.chapters(ROOT)])
    assert not problems, ("claims whose smoke verdict changed (if on purpose: "
                          "`python -m gancompanion.pipeline.claims --write-expected`):\n" + "\n".join(problems))


def test_each_record_on_disk_matches_its_notebook():
    problems = claims.record_problems(_executed(), "smoke", ROOT / "_build" / "results")
    assert not problems, "\n".join(problems)


def test_dropping_a_claim_cell_of_a_real_notebook_fails(tmp_path):
    nb = _executed()[0]
    data = json.loads(nb.read_text())
    found = claims.notebook_claims(nb)
    if not found:
        pytest.skip(f"{nb.stem} prints no claim")
    victim = next(iter(found))
    data["cells"] = [c for c in data["cells"] if victim not in json.dumps(c.get("outputs", []))]
    mutated = tmp_path / nb.name
    mutated.write_text(json.dumps(data))
    expected = {cid: claims.status_of(line) for cid, line in found.items()}
    before = set(claims.verdict_problems(expected, claims.executed_claims([nb]), [nb.stem]))
    after = set(claims.verdict_problems(expected, claims.executed_claims([mutated]), [nb.stem]))
    assert f"{victim}: expected {expected[victim]}, but no executed notebook printed it" in after - before


def test_the_ledger_cannot_pass_without_every_record_from_the_kept_run(chapter, tmp_path, results_dir):
    nb, lines = chapter  # tmp_path/_build/executed/smoke/09_fake.ipynb, records under results_dir
    assert claims.ledger_problems(tmp_path, "smoke", results_dir) == []
    _notebook(nb, lines[:1])  # the stat claim's cell deleted: its old record must not stand in for it
    [problem] = claims.ledger_problems(tmp_path, "smoke", results_dir)
    assert problem.startswith("ch9.stat-one: catalogued for 09_fake, but its kept notebook printed no CLAIM line")
    _notebook(nb, lines, start=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))  # re-run, cell gone
    problems = claims.ledger_problems(tmp_path, "smoke", results_dir)
    assert len(problems) == 2 and all("older than the run" in p for p in problems)
