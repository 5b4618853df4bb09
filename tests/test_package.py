"""The package's table of contents and the API page are checked against the modules that exist."""

import importlib
import pkgutil
import re
from pathlib import Path

import gancompanion

API = Path(__file__).resolve().parents[1] / "book" / "api.md"


def modules() -> list[str]:
    """Every module and sub-package of gancompanion (``__main__`` aside)."""
    return sorted(m.name for m in pkgutil.walk_packages(gancompanion.__path__, "gancompanion.")
                  if not m.name.endswith("__main__"))


def test_the_api_page_documents_every_module_under_its_sub_package():
    section, placed = None, {}
    for line in API.read_text().splitlines():
        if line.startswith("## "):
            section = re.search(r"`(gancompanion[\w.]*)`", line).group(1)
        elif line.startswith(".. automodule:: "):
            placed[line.split()[-1]] = section
    assert sorted(placed) == modules()
    for name, heading in placed.items():
        package = name if importlib.import_module(name).__name__ == heading else name.rpartition(".")[0]
        assert heading == package, f"{name} is documented under {heading}"


def test_the_package_docstring_names_every_sub_package_and_module():
    for name in modules():
        short = name.removeprefix("gancompanion.").rpartition(".")[2]
        assert f"``{short}``" in gancompanion.__doc__, f"the package's table of contents leaves out {name}"


def test_each_sub_package_docstring_names_its_modules():
    for name in modules():
        package, _, short = name.rpartition(".")
        if package != "gancompanion":
            assert f"``{short}``" in importlib.import_module(package).__doc__, f"{package} leaves out {short}"
