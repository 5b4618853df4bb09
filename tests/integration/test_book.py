"""The book: its pages' texts, the claims ledger, and (slow) the build with Sphinx warnings as errors."""

import re
from pathlib import Path

import pytest

from gancompanion.pipeline import book, claims, runner

PARAMS = {"scale": "smoke", "device": "cpu", "seed": 0}  # what `make test` executes first
PAGES = sorted((Path(__file__).parents[2] / "book").glob("*.md"))


def record(cid, scale, seed, status):
    return {"id": cid, "scale": scale, "seed": seed, "status": status, "evidence": f"{status.lower()} at {seed}",
            "device": "cpu", "checked_at": "2026-12-01T00:00:00+00:00"}


def test_the_ledger_shows_every_scale_and_seed_recorded():
    cat = {k: claims.CATALOGUE[k] for k in list(claims.CATALOGUE)[:2]}
    first, second = cat
    text = book.ledger([record(first, "book", 0, "PASS"), record(first, "book", 1, "PASS"),
                        record(first, "book", 2, "FAIL"), record(first, "smoke", 0, "SKIP")], cat, "book")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| ch")}
    o = book.outcome
    assert rows[first] == ["[1](chapters/01_perfect_discriminator.ipynb)", o("SKIP", "1/1 SKIP"),
                           f"**{o('PASS', '2/3 PASS')}, {o('FAIL', '1/3 FAIL (seed 2)')}**", "not run", ""]
    assert rows[second][1:] == ["not run"] * 3 + [""]
    assert "| claim | ch. | smoke | book (built) | paper | key number at book" in text
    assert f"- book, seed 2: **{o('FAIL')}** fail at 2 (cpu, 2026-12-01)" in text
    assert "smoke: 1 SKIP; book: 2 PASS, 1 FAIL" in text


def test_the_ledger_gives_the_key_number_s_median_and_range_over_seeds():
    cid = "ch1.gradient-vanishes"
    recs = [{**record(cid, "book", k, "PASS"), "details": {"fall_from_peak": {"1": 900.0, "10": f, "25": 5e3}}}
            for k, f in enumerate((150.0, 400.0, 210.0))]
    assert book.seed_summary({r["seed"]: r for r in recs}) == "3/3 PASS"
    assert book.key_spread({r["seed"]: r for r in recs}) == "smallest fall of the gradient (x): 210 [150, 400]"
    row = next(line for line in book.ledger(recs, {cid: claims.CATALOGUE[cid]}, "book").splitlines()
               if line.startswith(f"| {cid}"))
    assert f"**{book.outcome('PASS', '3/3 PASS')}**" in row and "210 [150, 400]" in row
    # a SKIP or a record without the number shows no key number, and a claim without one shows none
    assert book.key_spread({0: {**recs[0], "status": "SKIP"}}) == ""
    assert book.key_spread({0: {**recs[0], "details": {}}}) == ""
    assert claims.key_number(record("ch2.js-saturates", "book", 0, "PASS")) == (None, None)


def test_the_ledger_reads_at_a_glance():
    """Rows in chapter order; each of the six outcomes with its own colour class and glyph; statements literal;
    the evidence under its own heading (a page heading, so it is in the page's contents)."""
    text = book.ledger([], claims.CATALOGUE, "book", part="table")
    ids = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ch")]
    assert ids == [c.id for c in sorted(claims.CATALOGUE.values(), key=lambda c: c.chapter)] or \
        [claims.CATALOGUE[i].chapter for i in ids] == sorted(claims.CATALOGUE[i].chapter for i in ids)
    shown = {st: book.outcome(st) for st in ("PASS", "REPRODUCED", "FAIL", "NOT REPRODUCED", "INCONCLUSIVE", "SKIP")}
    assert len({re.search(r'gc-(\w+)">(.)', h).groups() for h in shown.values()}) == 4  # pass, fail, inconclusive, skip
    assert shown["PASS"] != shown["FAIL"] and all(st in h for st, h in shown.items())
    assert "Q\\*N\\_sigma" in book.ledger([], {"ch3.noise-smooths-js": claims.CATALOGUE["ch3.noise-smooths-js"]},
                                          "book", part="evidence")
    assert "## Evidence" not in book.ledger([], claims.CATALOGUE, "book", part="evidence")
    assert "## Evidence, claim by claim" in (Path(__file__).parents[2] / "book" / "claims.md").read_text()
    with pytest.raises(ValueError, match="part"):
        book.ledger([], claims.CATALOGUE, "book", part="rows")


def test_every_key_number_belongs_to_a_catalogued_claim():
    assert set(claims.KEY_NUMBERS) <= set(claims.CATALOGUE)


def test_the_ledger_table_is_narrow_enough_for_the_page_column():
    """Chapter numbers, not stems; short status words; nothing that cannot wrap is longer than 30 characters
    (a claim id is plain text, so it wraps at its hyphens). Checked by eye at 1280 px in headless Chromium."""
    recs = [record(c, s, k, "PASS") for c in claims.CATALOGUE for s in ("smoke", "book") for k in (0, 1, 2)]
    text = book.ledger(recs, claims.CATALOGUE, "book")
    rows = [line for line in text.splitlines() if line.startswith("| ch")]
    assert len(rows) == len(claims.CATALOGUE)
    for line in rows:
        cells = [re.sub(r"<[^>]+>|\]\([^)]*\)|[*\[]", " ", c) for c in line.split("|")[1:-1]]
        assert "`" not in line and re.fullmatch(r" \d+ ", cells[1].replace("  ", " ")), line
        assert max(len(t) for c in cells for t in re.split(r"[\s-]+", c)) <= 30, line


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_pages_speak_of_the_book_not_of_how_it_was_made(page):
    text = page.read_text()
    assert not re.search(r"\b(issue|task)s? ?#?\d", text, flags=re.I), "an internal reference"
    assert not re.search(r"\blent\b|\bthe task\b", text, flags=re.I)
    assert not re.search("[\u2600-\u27bf\U0001f000-\U0001faff\u2b00-\u2bff]", text), "a symbol needing an emoji font"


@pytest.fixture(scope="module")
def html():
    root = runner.project_root()
    index = book.build(root, PARAMS, progress=False)  # unchanged chapters are not re-run
    return root / "_build" / "html", index


@pytest.mark.slow
def test_book_builds_without_warnings(html):
    _, index = html
    assert index.exists()


@pytest.mark.slow
def test_every_chapter_page_has_its_figures_and_claims(html):
    out, _ = html
    for nb in runner.chapters(runner.project_root()):
        page = (out / "book" / "chapters" / f"{nb.stem}.html").read_text()
        assert "<img" in page, f"{nb.stem} shows no figure"
        assert "&lt;Figure size" not in page and "<Figure size" not in page, "a figure was glued as text"
        assert re.search(r"CLAIM ch\d\.[\w-]+: (PASS|FAIL|SKIP)", page), f"{nb.stem} prints no claim"
        assert "Traceback" not in page


@pytest.mark.slow
def test_claims_ledger_lists_every_claim(html):
    # every claim of every chapter has a record at the built scale, written by the run of the kept notebook,
    # and the ledger's row shows that notebook's verdict in the built column (the bold one)
    root = runner.project_root()
    problems = claims.ledger_problems(root, PARAMS["scale"])
    assert not problems, "\n".join(problems)
    page = (html[0] / "book" / "claims.html").read_text()
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, flags=re.S)
    found = claims.executed_claims(claims.executed_notebooks(root, PARAMS["scale"]))
    assert found, "no executed chapter"
    for cid, (_, line) in found.items():
        [row] = [r for r in rows if re.search(rf">{re.escape(cid)}<", r)]
        bold = claims.protocol(cid, PARAMS["scale"])[1] in (None, PARAMS["scale"])  # else another scale is published
        pattern = rf"\d+/\d+ {claims.status_of(line)}\b"
        shown = [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<strong>(.*?)</strong>", row, flags=re.S)] if bold \
            else [re.sub(r"<[^>]+>", "", row)]
        assert any(re.search(pattern, t) for t in shown), (cid, row)


def test_the_ledger_names_each_scale_s_departures_and_the_published_scale(monkeypatch):
    from gancompanion.pipeline import scales

    cid = "ch3.regulariser-stable"
    entry = {s: {**scales.TABLE["ch3.roth"][s], "departures": f"{s} differs", "verdict_scale": "paper"}
             for s in scales.SCALES}
    monkeypatch.setitem(scales.TABLE, "ch3.roth", entry)
    assert claims.protocol(cid, "book") == ("book differs", "paper")
    recs = [record(cid, "book", 0, "FAIL"), record(cid, "paper", 0, "PASS")]
    text = book.ledger(recs, {cid: claims.CATALOGUE[cid]}, "book")
    row = next(line for line in text.splitlines() if line.startswith(f"| {cid}"))
    o = book.outcome
    assert f"| {o('FAIL', '1/1 FAIL')} | **{o('PASS', '1/1 PASS')}**<br><small>published verdict</small> |" in row
    assert "*Protocol, by scale:* smoke: smoke differs; book: book differs; paper: paper differs. The published " \
           "verdict is the one at `paper`" in text
    assert claims.protocol("ch2.js-saturates", "book") == ("", None)


@pytest.mark.slow
def test_every_page_reads_well_in_a_real_browser(html, tmp_path):
    """tests/browser.py: every page at 1280 and 390 px in headless Chromium, screenshots taken; no raw role, no
    table shown as pipes, no missing figure, no horizontal overflow, figure text at least 9 px at 1280 px."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    import browser

    if browser.chromium() is None:
        pytest.skip("no chromium on the PATH (apt-get install chromium)")
    results = browser.run(html[0], tmp_path)
    assert len(results) >= 2 * 12 and all((tmp_path / r["screenshot"]).stat().st_size for r in results)
    problems = [f"{r['page']} at {r['width']} px: {'; '.join(r['problems'])}" for r in results if r["problems"]]
    assert not problems, "\n".join(problems)


def test_the_chapter_map_and_the_execution_status_are_generated_for_every_chapter():
    root = runner.project_root()
    chapters = runner.chapters(root)
    recs = [record("ch1.perfect-discriminator", "book", 0, "PASS"), record("ch1.gradient-vanishes", "book", 0, "FAIL")]
    text = book.chapter_map(root, recs, "book")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "](chapters/" in line]
    assert [re.search(r"\(chapters/(\w+)\.ipynb\)", r)[1] for r in rows] == [c.stem for c in chapters]
    assert "{cite:t}`hui2018cost`" in rows[0] and book.outcome("FAIL", "1 FAIL") in rows[0]
    status = book.execution_status(root, recs)
    assert len([line for line in status.splitlines() if re.match(r"\| \d\. \[", line)]) == len(chapters)


def test_the_ledger_gives_an_effect_s_interval_per_seed_set_and_the_cost_page_its_runs():
    from gancompanion.evaluation.verdicts import Result

    cid = "ch5.semi-supervised-helps"
    recs = []
    for seed, (est, lo, hi) in enumerate(((0.05, 0.02, 0.08), (0.04, -0.01, 0.07))):
        v = Result("REPRODUCED" if lo > 0.01 else "INCONCLUSIVE", est, lo, hi, 8, 0.01, 1, "error drop")
        recs.append({**record(cid, "book", seed, v.outcome), "verdict": v.as_dict(),
                     "cost": {"runs": 16, "steps": 16 * 3000, "seconds": 120.0 + seed}})
    text = book.key_spread({r["seed"]: r for r in recs})
    assert text == "effect: error drop, set 0: +0.05 [0.02, 0.08] n=8; set 1: +0.04 [-0.01, 0.07] n=8"
    table = book.claim_costs(recs, "book")
    assert f"| {cid} | 0 | 16 | 48,000 | 120 |" in table and "| **ch5 in all** | 1 | | | **121** |" in table
    assert "No claim" in book.claim_costs(recs, "smoke")
