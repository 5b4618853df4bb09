import json

import pytest

from gancompanion import claims


def test_report_prints_one_stable_line_and_writes_a_record(results_dir, capsys):
    record = claims.report("ch1.gradient-vanishes", True, "fell 300x", scale="book", seed=3, device="cpu",
                           details={"fall": 300.0})
    assert capsys.readouterr().out == "CLAIM ch1.gradient-vanishes: PASS fell 300x\n"
    stored = json.loads((results_dir / "claims" / "book" / "ch1.gradient-vanishes.json").read_text())
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
