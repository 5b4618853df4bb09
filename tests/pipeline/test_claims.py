import json

import pytest

from gancompanion.pipeline import claims


def test_report_prints_one_stable_line_and_writes_a_record(results_dir, capsys):
    record = claims.report("ch1.gradient-vanishes", True, "fell 300x", scale="book", seed=3, device="cpu",
                           details={"fall": 300.0})
    assert capsys.readouterr().out == "CLAIM ch1.gradient-vanishes: PASS fell 300x\n"
    stored = json.loads((results_dir / "claims" / "book" / "seed3" / "ch1.gradient-vanishes.json").read_text())
    assert stored["status"] == record["status"] == "PASS"
    assert stored["seed"] == 3 and stored["details"] == {"fall": 300.0}
    assert stored["statement"] == claims.CATALOGUE["ch1.gradient-vanishes"].statement
    assert not list(results_dir.rglob("*.tmp"))


def test_a_failed_check_says_fail(results_dir, capsys):
    claims.report("ch1.gradient-vanishes", False, "fell 3x", scale="smoke", seed=0, device="cpu")
    assert capsys.readouterr().out.startswith("CLAIM ch1.gradient-vanishes: FAIL fell 3x")


def test_claims_below_their_scale_are_skipped_with_the_reason(results_dir, capsys):
    claims.register(claims.Claim("test.needs-book", "99_test", "s", "src", "check", min_scale="book"))
    try:
        record = claims.report("test.needs-book", True, "looked fine", scale="smoke", seed=0, device="cpu")
    finally:
        del claims.CATALOGUE["test.needs-book"]
    line = capsys.readouterr().out
    assert line.startswith("CLAIM test.needs-book: SKIP") and "scale 'book'" in line
    assert record["status"] == "SKIP" and record["evidence"] == "looked fine"


def test_a_claim_checked_at_paper_only_says_why_at_book(results_dir, capsys):
    claims.register(claims.Claim("test.needs-paper", "99_test", "s", "src", "check", min_scale="paper",
                                 why_not_below="it does not fit the time budget"))
    try:
        for scale in ("smoke", "book"):
            claims.report("test.needs-paper", None, "", scale=scale, seed=0, device="cpu")
    finally:
        del claims.CATALOGUE["test.needs-paper"]
    smoke, book = capsys.readouterr().out.splitlines()
    assert smoke.endswith(f"(at 'smoke' {claims.SHORT})")  # at smoke the runs are too short, whatever the claim
    assert book.endswith("(at 'book' it does not fit the time budget)")


def test_load_records_reads_every_scale(results_dir):
    for scale in ("smoke", "book"):
        claims.report("ch1.perfect-discriminator", True, "ok", scale=scale, seed=0, device="cpu")
    assert sorted(r["scale"] for r in claims.load_records()) == ["book", "smoke"]


def test_unknown_claim_and_scale_are_refused(results_dir):
    with pytest.raises(ValueError, match="unknown claim 'ch9.nothing'"):
        claims.report("ch9.nothing", True, "", scale="book", seed=0, device="cpu")
    with pytest.raises(ValueError, match="unknown scale 'huge'.*'smoke', 'book', 'paper'"):
        claims.report("ch1.gradient-vanishes", True, "", scale="huge", seed=0, device="cpu")


def test_every_catalogued_claim_names_a_chapter_and_a_check():
    for c in claims.CATALOGUE.values():
        assert c.id.startswith("ch") and c.chapter[:2].isdigit() and c.check and c.source


@pytest.mark.parametrize("passed, status", [(float("nan"), "FAIL"), (None, "SKIP"), (True, "PASS"), (False, "FAIL")])
def test_nan_fails_and_none_skips(results_dir, capsys, passed, status):
    import numpy as np

    record = claims.report("ch1.gradient-vanishes", passed, "numbers", scale="smoke", seed=0, device="cpu")
    assert record["status"] == status and capsys.readouterr().out == f"CLAIM ch1.gradient-vanishes: {status} numbers\n"
    assert record["line"] == f"CLAIM ch1.gradient-vanishes: {status} numbers"
    if isinstance(passed, bool):
        assert claims.report("ch1.gradient-vanishes", np.bool_(passed), "numbers", scale="smoke", seed=0,
                             device="cpu")["status"] == status


@pytest.mark.parametrize("passed", [1.0, 0, "yes", [True]])
def test_a_verdict_that_is_not_a_bool_is_refused(results_dir, passed):
    with pytest.raises(TypeError, match="ch1.gradient-vanishes.*True, False or None"):
        claims.report("ch1.gradient-vanishes", passed, "", scale="smoke", seed=0, device="cpu")


def test_every_claim_has_its_thresholds_and_figure_in_the_catalogue():
    for c in claims.CATALOGUE.values():
        assert isinstance(c.threshold, dict) and isinstance(c.figure, str)
    record_keys = claims.report.__doc__
    assert "line" in record_keys
    c = claims.Claim("x.y", "99_x", "s", "src", "check")
    assert c.threshold == {} and c.figure == ""  # new fields have defaults: old entries stay valid
