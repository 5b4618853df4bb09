"""The launchable mirrors, the "Run this page" box, and the links of the built chapter pages."""

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import nbformat
import pytest

from gancompanion.pipeline import mirrors, pagebox, runner

ROOT = runner.project_root(Path(__file__).parent)
CHAPTERS = runner.chapters(ROOT)
FASTEST = "04"  # the exact chapter: the quickest at smoke


def _code(nb):
    return [(c.source, c.metadata.get("tags", [])) for c in nb.cells if c.cell_type == "code"]


@pytest.fixture(scope="module")
def mirror_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("mirrors")
    return out, mirrors.write(ROOT, out)


def test_mirrors_are_valid_notebooks_with_the_source_cells(mirror_set):
    out, written = mirror_set
    assert [p.name for p in written] == [f"{ch.stem}.ipynb" for ch in CHAPTERS]
    for ch, path in zip(CHAPTERS, written):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        source = runner.read_notebook(ch)
        code = _code(nb)
        assert code[0][1] == ["install"] and "gancompanion" in code[0][0]
        assert code[1:] == _code(source), f"{ch.stem}: the mirror's code cells differ from the source"
        text = [c.source for c in nb.cells if c.cell_type == "markdown"]
        if mirrors.book_run(ROOT, ch) is not None:  # a note says whose numbers the text gives
            assert "book's run" in text.pop(0)
        assert len(text) == len([c for c in source.cells if c.cell_type == "markdown"])
        assert not any(re.search(r"\{(glue|cite|numref)(:\w*)?\}", t) for t in text), f"{ch.stem}: a raw role"
        assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")
        assert nb.metadata.kernelspec.name == "python3"
        runner.parameters_of(nb)  # papermill can still find the parameters cell


def test_a_notebook_reader_sees_numbers_figures_and_citations_not_roles():
    from gancompanion.pipeline import notebook_prose as prose

    md = ("See {numref}`fig-a`, by {cite:t}`hui2018cost` {cite:p}`huszar2017instance`: "
          "{glue:text}`k_n` seeds, {glue:text}`k_x:.2f`, {glue:md}`k_md`.\n\n"
          "```{glue:figure} k_fig\n:name: fig-a\n\nThe caption ({glue:text}`k_n` seeds).\n```\n\n"
          "```{glue:md} k_table\n:format: myst\n```\n")
    fig = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"},
           "metadata": {"scrapbook": {"name": "k_fig", "mime_prefix": ""}}}
    hidden = lambda name, bundle: {"output_type": "display_data", "metadata": {"scrapbook": {
        "name": name, "mime_prefix": prose.GLUE_PREFIX}}, "data": {prose.GLUE_PREFIX + k: v for k, v in bundle.items()}}
    nb = {"cells": [{"cell_type": "markdown", "source": md, "metadata": {}},
                    {"cell_type": "code", "source": "", "metadata": {}, "outputs": [
                        fig, hidden("k_n", {"text/plain": "3"}), hidden("k_x", {"text/plain": "0.12345"}),
                        hidden("k_md", {"text/markdown": "**bold**", "text/plain": "<md>"}),
                        hidden("k_table", {"text/markdown": "| a | b |\n|---|---|\n| 1 | 2 |"})]}]}
    assert prose.raw_roles(nb) == 6 and prose.figures_shown(nb) == 1
    out = prose.for_reader(nb, bib=prose.bibliography(ROOT / "book" / "references.bib"))
    text = out["cells"][0]["source"]
    assert prose.raw_roles(out) == 0 and "{" not in text.replace("{glue", "")
    assert "See Figure 1, by Hui (2018) (Huszár 2017): 3 seeds, 0.12, **bold**." in text
    assert "**Figure 1.** The caption (3 seeds)." in text and "| a | b |\n|---|---|\n| 1 | 2 |" in text
    assert prose.hide_glued_figures(nb) == 1 and prose.figures_shown(nb) == 0  # the book's copy: shown by the directive
    assert prose.show_glued_figures(nb) == 1 and prose.figures_shown(nb) == 1


def test_install_cell_does_nothing_when_the_package_is_importable(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda *a, **k: calls.append(a))
    for colab in (False, True):
        if colab:
            monkeypatch.setenv("COLAB_RELEASE_TAG", "release-test")
        exec(mirrors.install_cell(ROOT), {})
    assert calls == []


def test_install_cell_installs_from_the_repository_and_keeps_colabs_torch(monkeypatch):
    import importlib.util

    url, branch = mirrors.repository(ROOT)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gancompanion" else real(name, *a))
    monkeypatch.delenv("GANCOMPANION_REF", raising=False)
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda cmd, *a, **k: calls.append(cmd))
    exec(mirrors.install_cell(ROOT), {})
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", f"gancompanion @ git+{url}@{branch}"]]

    calls.clear()
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-test")
    monkeypatch.setenv("GITHUB_SHA", "0123abc")
    exec(mirrors.install_cell(ROOT), {})
    assert calls[0][-2:] == ["--no-deps", f"gancompanion @ git+{url}@0123abc"]
    rest = calls[1][5:]
    assert rest and not any(d.startswith("torch") for d in rest)
    assert {re.split(r"[<>=]", d)[0] for d in rest} >= {"numpy", "papermill"}
    assert "myst-nb" not in {re.split(r"[<>=]", d)[0] for d in rest}, "a notebook reader needs no book toolchain"


def test_glue_writes_what_myst_nb_reads_and_keeps_a_count_a_count(monkeypatch):
    import IPython.display
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from gancompanion.chapters import chapter

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    assert chapter.number(np.int64(3)) == 3 and isinstance(chapter.number(np.int64(3)), int)
    assert chapter.number(3.0) == 3.0 and isinstance(chapter.number(np.float32(0.5)), float)
    with pytest.raises(TypeError, match="verdict"):
        chapter.number(True)
    chapter.glue("n", np.int64(3))
    (bundle,), kw = shown.pop()
    assert bundle == {"application/papermill.record/text/plain": "3"} and kw["raw"]
    assert kw["metadata"]["scrapbook"] == {"name": "n", "mime_prefix": "application/papermill.record/"}
    myst_nb = pytest.importorskip("myst_nb")  # the book's own glue writes the same output
    myst_nb.glue("n", 3, display=False)
    assert shown.pop() == ((bundle,), kw)
    fig = plt.figure()
    chapter.glue("fig", fig)  # a figure is also shown, where its code runs
    (bundle,), kw = shown.pop()
    assert kw["metadata"]["scrapbook"]["mime_prefix"] == "" and "text/plain" in bundle  # png where a kernel draws it
    plt.close(fig)


def test_binder_environment_and_links_point_into_the_mirror_set(mirror_set):
    out, _ = mirror_set
    url, _ = mirrors.repository(ROOT)
    req = (out / "binder" / "requirements.txt").read_text()
    assert re.search(r"^torch==\d", req, re.M) and f"gancompanion @ git+{url}@" in req
    assert (out / "binder" / "runtime.txt").read_text().strip() == f"python-{mirrors.PYTHON}"
    for ch in CHAPTERS:
        link = mirrors.links(ROOT, ch)
        assert (out / link["path"]).exists()
        assert link["colab"].endswith(f"/blob/{mirrors.MIRROR_BRANCH}/{link['path']}")
        assert unquote(link["binder"]).endswith(f"/{mirrors.MIRROR_BRANCH}?labpath={link['path']}")


def _fake_project(tmp_path):
    for name in ("_config.yml", "_toc.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks").mkdir()
    ch = shutil.copy(runner.find_chapter(ROOT, FASTEST), tmp_path / "notebooks")
    return Path(ch)


def _executed(root, chapter, scale, seed, seconds, device="cpu"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A title\n\nText."),
                nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output(
                    "stream", name="stdout", text=f"scale={scale}  device={device}  seed={seed}  torch=9.9.9\n")])]
    nb.metadata["gancompanion"] = {"key": "k", "seconds": seconds, "source": f"notebooks/{chapter.name}",
                                   "parameters": {"scale": scale, "device": device, "seed": seed}, "records": {}}
    path = runner.output_path(root, scale, chapter, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_box_says_scale_seed_device_versions_and_the_other_scales(tmp_path):
    chapter = _fake_project(tmp_path)
    _executed(tmp_path, chapter, "book", 2, 312.0)
    page = _executed(tmp_path, chapter, "smoke", 0, 41.0)
    staged = tmp_path / "book" / "chapters" / f"{chapter.stem}.ipynb"
    staged.parent.mkdir(parents=True)
    shutil.copy(page, staged)
    named = pagebox.decorate(tmp_path, chapter, staged)
    assert named.name == f"{chapter.stem}.smoke-seed0-cpu-gancompanion-{pagebox.__version__}.ipynb"
    nb = json.loads(staged.read_text())
    download = json.loads(named.read_text())
    assert [c["cell_type"] for c in download["cells"]] == [c["cell_type"] for c in nb["cells"]]
    assert download["cells"][0]["source"].startswith("# A title\n\n> **Run this page.**")  # no MyST in a notebook
    assert "Executed notebook (outputs included)" in download["cells"][0]["source"]
    first = nb["cells"][0]["source"]
    assert first.startswith("# A title\n\n:::{admonition} Run this page")
    for text in ("scale `smoke` with seed 0 on `cpu`", "in 41 s", "torch 9.9.9", "`book` 5.2 min (seed 2, cpu)",
                 "`paper` not measured yet", f"gancompanion {pagebox.__version__}",
                 f"gancompanion run {FASTEST} --scale paper", "papermill https://raw.githubusercontent.com/",
                 "-p scale paper", "Open in Colab", "Binder",
                 f"{{download}}`Executed notebook <downloads/{named.name}>`"):
        assert text in first, text
    pagebox.decorate(tmp_path, chapter, staged)  # a second call does not box the page twice
    assert json.loads(staged.read_text())["cells"][0]["source"].count("Run this page") == 1


@pytest.mark.slow
def test_a_fresh_venv_with_only_the_wheel_runs_a_mirror_at_smoke(tmp_path):
    import torch

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "gancompanion", src / "gancompanion", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(src)], check=True)
    [wheel] = (tmp_path / "dist").glob("gancompanion-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    freeze = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                            capture_output=True, text=True).stdout
    pins = tmp_path / "constraints.txt"  # the versions tested here, so that pip finds them where it found them
    pins.write_text("\n".join(line for line in freeze.splitlines() if re.fullmatch(r"[\w.-]+==[\w.+!-]+", line)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV"))}
    env.update(HOME=str(tmp_path / "home"), PYTHONNOUSERSITE="1", GANCOMPANION_PROGRESS="0",
               PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel), f"torch=={torch.__version__}",
                    "-c", str(pins)], check=True, env=env)
    work = tmp_path / "work"
    work.mkdir()
    where = subprocess.run([str(py), "-c", "import gancompanion; print(gancompanion.__file__)"], cwd=work, env=env,
                           check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(venv)), where
    mirror = mirrors.write(ROOT, tmp_path / "mirrors", [runner.find_chapter(ROOT, FASTEST)])[0]
    out = work / "out.ipynb"
    subprocess.run([str(venv / "bin" / "papermill"), str(mirror), str(out), "-p", "scale", "smoke", "-p", "device",
                    "cpu", "--cwd", str(work), "-k", "python3", "--no-progress-bar"], check=True, env=env, cwd=work)
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a cell did not run"
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    assert code[0].outputs == []  # the install cell did nothing: the package was importable
    text = "".join(o.get("text", "") for c in code for o in c.outputs)
    assert re.search(r"CLAIM ch4\.[\w-]+: (PASS|FAIL|SKIP)", text)
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), "no figure under its code"
    book_only = subprocess.run([str(py), "-c", "import myst_nb"], env=env, cwd=work, capture_output=True)
    assert book_only.returncode != 0, "myst-nb came with the package: a Colab install pulls Sphinx"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


@pytest.fixture(scope="module")
def built():
    from gancompanion.pipeline import book

    index = book.build(ROOT, {"scale": "smoke", "device": "cpu", "seed": 0}, progress=False)
    return index.parent


@pytest.mark.slow
def test_every_chapter_page_links_its_download_colab_and_binder(built):
    html, mirror_set = built, mirrors.out_dir(ROOT)
    for ch in CHAPTERS:
        page = html / "book" / "chapters" / f"{ch.stem}.html"
        parser = _Links()
        parser.feed(page.read_text())
        base = page.as_uri()

        def local(href):
            target = Path(unquote(urlparse(urljoin(base, href)).path))
            assert target.exists(), f"{ch.stem}: {href} points at nothing"
            return target

        downloads = [h for h in parser.hrefs if "_downloads/" in h and h.endswith(".ipynb")]
        assert len(downloads) == 1, f"{ch.stem}: {downloads}"
        assert re.search(rf"{ch.stem}\.smoke-seed0-cpu-gancompanion-[\w.]+\.ipynb$", downloads[0])
        assert json.loads(local(downloads[0]).read_text())["metadata"]["gancompanion"]["parameters"]["scale"] == "smoke"
        theme = [h for h in parser.hrefs if h.endswith(f"_sources/book/chapters/{ch.stem}.ipynb")]
        assert theme, f"{ch.stem}: the theme's download button is gone"
        assert json.loads(local(theme[0]).read_text()) == json.loads(local(downloads[0]).read_text()), \
            f"{ch.stem}: the theme's button gives another copy than the box's"
        link = mirrors.links(ROOT, ch)
        assert link["colab"] in parser.hrefs and link["binder"] in parser.hrefs, ch.stem
        assert link["raw"] in page.read_text(), f"{ch.stem}: no papermill command"
        assert (mirror_set / link["path"]).exists()
        assert (mirror_set / "binder" / "requirements.txt").exists()


@pytest.mark.slow
def test_every_copy_of_a_built_chapter_shows_its_figures_and_no_raw_role(built):
    """The download and the Colab/Binder mirror, opened as a reader would: every figure of the page shown
    under the code that drew it (the mirror after "Run all": no figure is glued hidden), no raw role."""
    from gancompanion.pipeline import notebook_prose as prose

    for ch in CHAPTERS:
        staged = json.loads((ROOT / "book" / "chapters" / f"{ch.stem}.ipynb").read_text())
        figures = len(prose.figure_numbers(staged))
        assert figures and prose.figures_shown(staged) == 0, f"{ch.stem}: the book shows each figure once"
        [download] = (ROOT / "book" / "chapters" / pagebox.DOWNLOADS).glob(f"{ch.stem}.*.ipynb")
        nb = json.loads(download.read_text())
        assert prose.raw_roles(nb) == 0, f"{ch.stem}: raw glue roles in the download"
        assert prose.figures_shown(nb) == figures, f"{ch.stem}: {prose.figures_shown(nb)} of {figures} figures"
        assert not any(re.search(r"\{(cite|numref)(:\w*)?\}`", "".join(c["source"])) for c in nb["cells"]
                       if c["cell_type"] == "markdown"), ch.stem
        mirror = nbformat.read(mirrors.mirror_path(mirrors.out_dir(ROOT), ch), as_version=4)
        assert prose.raw_roles(mirror) == 0, f"{ch.stem}: raw glue roles in the mirror"
        glued = [c.source for c in mirror.cells if c.cell_type == "code" and re.search(r"\bglue\w*\(", c.source)]
        assert not any(re.search(r"glue\([^)]*fig[^)]*display=False", s) for s in glued), ch.stem
        assert f"`{staged['metadata']['gancompanion']['parameters']['scale']}`" in mirror.cells[1].source
