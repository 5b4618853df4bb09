"""The "Extending the library" page: its recipes run as written, and each touches no more files than it says."""

import re
from pathlib import Path

import pytest
import torch
import yaml

from gancompanion import sampling
from gancompanion.pipeline import claims

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "book" / "extending.md"


def sections() -> dict[str, str]:
    return {s.splitlines()[0]: s for s in re.split(r"\n## ", PAGE.read_text())[1:]}


def test_the_page_is_in_the_table_of_contents():
    assert "book/extending" in (ROOT / "_toc.yml").read_text()


def test_each_recipe_names_no_more_files_than_its_heading_says():
    found = sections()
    assert len(found) == 3
    for heading, text in found.items():
        most = int(re.search(r"in (?:at most )?(\d+)", heading).group(1))
        files = set(re.findall(r"`([\w/<>.-]+\.(?:py|md|yml))`", text))
        assert 0 < len(files) <= most, (heading, files)
        for f in files:  # each named file (or, for a new one, its folder) exists
            assert (ROOT / f).exists() or (ROOT / f).parent.is_dir(), f


def test_the_recipes_run_as_written(in_tmp, results_dir, monkeypatch):
    monkeypatch.setattr(claims, "CATALOGUE", dict(claims.CATALOGUE))  # the example chapter's claim stays here
    monkeypatch.setattr(sampling, "REFINERS", dict(sampling.REFINERS))  # and the example sampler
    threads = torch.get_num_threads()
    namespace: dict = {"__name__": "extending"}
    try:
        for lang, code in re.findall(r"```(python|yaml)\n(.*?)```", PAGE.read_text(), flags=re.S):
            if lang == "python":
                exec(compile(code, str(PAGE), "exec"), namespace)
            else:
                entry = yaml.safe_load(code)
                assert re.fullmatch(r"book/chapters/\d\d_\w+", entry[0]["file"])
    finally:
        torch.set_num_threads(threads)
    assert namespace["ch"].status("ch7.js-saturates") == "PASS"
    assert "MH" in sampling.REFINERS
    assert not namespace["js_saturates"]([0.69]).passed  # the verdict function can fail
