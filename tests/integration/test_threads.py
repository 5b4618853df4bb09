"""A seed's verdicts do not depend on how its chapter is run: ``gancompanion run`` (one thread per chapter)
and plain papermill on two threads print the same CLAIM lines, because every chapter pins torch's CPU
threads in ``chapter.setup`` (reductions split by thread round differently, and training amplifies it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from gancompanion.chapters import chapter
from gancompanion.pipeline import claims, runner

ROOT = Path(__file__).parents[2]


def test_a_chapter_computes_on_one_thread_unless_asked(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("GANCOMPANION_THREADS", raising=False)
        torch.set_num_threads(2)
        assert chapter.compute_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("GANCOMPANION_THREADS", "2")
        assert chapter.compute_threads() == 2 and torch.get_num_threads() == 2
        for bad in ("0", "two"):
            monkeypatch.setenv("GANCOMPANION_THREADS", bad)
            with pytest.raises(ValueError, match="GANCOMPANION_THREADS must be an integer >= 1"):
                chapter.compute_threads()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("stem", ["01_perfect_discriminator"])
def test_plain_papermill_on_two_threads_prints_the_kept_run_s_claim_lines(stem, tmp_path):
    """The kept smoke notebook came from ``gancompanion run`` (``make test``'s first step, one thread per
    chapter); the same chapter through plain papermill with two OpenMP/MKL threads prints the same lines."""
    kept = runner.output_path(ROOT, "smoke", ROOT / "notebooks" / f"{stem}.md")
    if not kept.exists():
        pytest.skip(f"{kept} has not been executed (make test runs the chapters first)")
    source = tmp_path / f"{stem}.ipynb"
    nbformat.write(runner.read_notebook(ROOT / "notebooks" / f"{stem}.md"), source)
    env = {**os.environ, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "GANCOMPANION_PROGRESS": "0",
           "GANCOMPANION_RESULTS": str(tmp_path / "results")}
    env.pop("GANCOMPANION_THREADS", None)
    env.pop("GANCOMPANION_CLAIMS", None)
    out = tmp_path / f"{stem}.out.ipynb"
    subprocess.run([sys.executable, "-m", "papermill", str(source), str(out), "-p", "scale", "smoke",
                    "-p", "device", "cpu", "-p", "seed", "0", "-k", "python3", "--cwd", str(ROOT / "notebooks")],
                   env=env, check=True, capture_output=True, timeout=600)
    assert claims.notebook_claims(out) == claims.notebook_claims(kept)
    threads = [o for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])
               if "threads=" in "".join(o.get("text", ""))]
    assert threads and "threads=1" in "".join(threads[0]["text"])
