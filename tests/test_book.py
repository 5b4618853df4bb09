"""The book builds with Sphinx warnings as errors, from the chapters executed at scale smoke."""

import re

import pytest

from gancompanion import book, runner

pytestmark = pytest.mark.slow

PARAMS = {"scale": "smoke", "device": "cpu", "seed": 0}  # what `make test` executes first


@pytest.fixture(scope="module")
def html():
    root = runner.project_root()
    index = book.build(root, PARAMS, progress=False)  # unchanged chapters are not re-run
    return root / "_build" / "html", index


def test_book_builds_without_warnings(html):
    _, index = html
    assert index.exists()


def test_every_chapter_page_has_its_figures_and_claims(html):
    out, _ = html
    for nb in runner.chapters(runner.project_root()):
        page = (out / "book" / "chapters" / f"{nb.stem}.html").read_text()
        assert "<img" in page, f"{nb.stem} shows no figure"
        assert "&lt;Figure size" not in page and "<Figure size" not in page, "a figure was glued as text"
        assert re.search(r"CLAIM ch\d\.[\w-]+: (PASS|FAIL|SKIP)", page), f"{nb.stem} prints no claim"
        assert "Traceback" not in page


def test_claims_ledger_lists_every_claim(html):
    from gancompanion import claims

    page = (html[0] / "book" / "claims.html").read_text()
    for cid in claims.CATALOGUE:
        assert cid in page
    assert re.search(r"(PASS|FAIL|SKIP)", page)
