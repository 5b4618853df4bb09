"""A chapter's prose for a notebook reader: the MyST roles and directives that only Jupyter Book renders,
rewritten as plain Markdown that Jupyter, Colab and Binder show.

The book's pages are built by Jupyter Book, which fills each ``{glue:text}`` role with the number the
chapter computed, draws each ``{glue:figure}`` with its caption, and turns ``{cite:t}`` into "Author (year)".
A downloaded notebook or a Colab copy would show those roles raw. ``for_reader`` rewrites them: glued
values substituted (from the executed notebook itself, or for an unexecuted mirror from the book's run),
a figure's directive turned into its numbered caption (the figure itself is the output of the cell that
drew it), ``{numref}`` into "Figure N", citations into "Author (year)", admonitions into block quotes.
``hide_glued_figures`` does the opposite for the copy the book is built from: there the figure is shown
once, by its ``{glue:figure}`` directive.
"""

from __future__ import annotations

import ast
import copy
import re
import unicodedata
from pathlib import Path

GLUE_PREFIX = "application/papermill.record/"  # what myst-nb's glue puts before the mime type of a hidden value
ROLE = re.compile(r"\{glue(?::(\w*))?\}`([^`]+)`")
DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{glue(?::(\w+))?\}[ \t]*(\S+)[ \t]*\n((?::[\w-]+:[^\n]*\n)*)(.*?)^\1[ \t]*$\n?",
                       re.M | re.S)
ADMONITION = re.compile(r"^(:{3,}|`{3,})\{(admonition|note|tip|warning|important)\}[ \t]*([^\n]*)\n((?::[\w-]+:[^\n]*\n)*)"
                        r"(.*?)^\1[ \t]*$\n?", re.M | re.S)
NUMREF = re.compile(r"\{numref\}`(?:([^`<]*?)\s*<([^`>]+)>|([^`]+))`")
CITE = re.compile(r"\{cite(?::(\w+))?\}`([^`]+)`")
DOC = re.compile(r"\{(?:doc|ref|download)\}`(?:([^`<]*?)\s*<[^`>]+>|([^`]+))`")
ACCENTS = {"'": "\u0301", '"': "\u0308", "`": "\u0300", "^": "\u0302", "~": "\u0303"}


def glued(nb: dict) -> dict[str, dict]:
    """Every value glued in the executed notebook ``nb``: name -> its display bundle (mime type -> data)."""
    out = {}
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            meta = (o.get("metadata") or {}).get("scrapbook")
            if o.get("output_type") == "display_data" and meta and "name" in meta:
                prefix = meta.get("mime_prefix", "")
                out[meta["name"]] = {k[len(prefix):]: v for k, v in o.get("data", {}).items() if k.startswith(prefix)}
    return out


def hide_glued_figures(nb: dict) -> int:
    """Turn every glued output that is displayed (a figure) into a hidden one, in place; return how many.

    Jupyter Book then shows each figure once, where its ``{glue:figure}`` directive puts it with its caption,
    and not a second time as the output of the cell that drew it.
    """
    n = 0
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            meta = (o.get("metadata") or {}).get("scrapbook")
            if o.get("output_type") == "display_data" and meta and "name" in meta and not meta.get("mime_prefix"):
                o["data"] = {GLUE_PREFIX + k: v for k, v in o["data"].items()}
                meta["mime_prefix"] = GLUE_PREFIX
                n += 1
    return n


def show_glued_figures(nb: dict) -> int:
    """The inverse of ``hide_glued_figures`` for figures (glued images): shown again as their cell's output."""
    n = 0
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            meta = (o.get("metadata") or {}).get("scrapbook")
            if meta and meta.get("mime_prefix") == GLUE_PREFIX and GLUE_PREFIX + "image/png" in o.get("data", {}):
                o["data"] = {k[len(GLUE_PREFIX):]: v for k, v in o["data"].items()}
                meta["mime_prefix"] = ""
                n += 1
    return n


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def value_text(bundle: dict | None, kind: str, spec: str = "") -> str | None:
    """The text a ``{glue:<kind>}`` role shows for a glued value (None if it cannot be shown as text)."""
    if not bundle:
        return None
    if kind == "md" and "text/markdown" in bundle:
        return _text(bundle["text/markdown"]).strip()
    plain = bundle.get("text/plain")
    if plain is None:
        return None
    plain = _text(plain)
    if spec:
        try:
            return format(ast.literal_eval(plain), spec)
        except (ValueError, SyntaxError, TypeError):
            return plain
    if len(plain) >= 2 and plain[0] == plain[-1] and plain[0] in "'\"":
        return plain[1:-1]
    return plain


def delatex(text: str) -> str:
    """``Husz{\\'a}r`` -> ``Huszár``: the few LaTeX accents and braces of a BibTeX field, as Unicode."""
    text = re.sub(r"\{?\\([\"'`^~])\{?(\w)\}?\}?", lambda m: m.group(2) + ACCENTS[m.group(1)], text)
    text = re.sub(r"\{?\\o\}?", "ø", text)
    return unicodedata.normalize("NFC", text.replace("{", "").replace("}", ""))


def bibliography(path: Path) -> dict[str, tuple[str, str]]:
    """``key -> (authors as cited, year)`` of a BibTeX file: "Hui", "Arjovsky and Bottou", "Roth et al." ({} if none)."""
    out = {}
    try:
        text = Path(path).read_text()
    except OSError:  # no bibliography: citations show their keys
        return out
    for m in re.finditer(r"@\w+\{([^,\s]+),(.*?)\n\}", text, re.S):
        fields = dict(re.findall(r"(\w+)\s*=\s*\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}", m.group(2)))
        raw = fields.get("author", "")
        if raw.startswith("{") and raw.endswith("}"):
            names = [raw[1:-1]]
        else:
            names = [a.split(",")[0].strip() if "," in a else a.strip().split()[-1] for a in raw.split(" and ") if a]
        names = [delatex(n) for n in names]
        who = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
        out[m.group(1)] = (who, fields.get("year", "n.d."))
    return out


def _cite(m, bib: dict) -> str:
    kind, keys = m.group(1) or "p", [k.strip() for k in m.group(2).split(",")]
    found = [bib.get(k, (k, "")) for k in keys]
    if kind == "t":
        return "; ".join(f"{who} ({year})" for who, year in found)
    return "(" + "; ".join(f"{who} {year}".strip() for who, year in found) + ")"


def rewrite(text: str, values: dict[str, dict], figures: dict[str, int], bib: dict) -> str:
    """One Markdown cell's source with the book-only syntax rewritten (see the module docstring)."""

    def role(m):
        kind, key = m.group(1) or "", m.group(2)
        key, _, spec = key.partition(":")
        shown = value_text(values.get(key), kind, spec if kind in ("text", "") else "")
        return shown if shown is not None else f"`{key}`"

    def directive(m):
        kind, key, options, body = m.group(2) or "", m.group(3), m.group(4), m.group(5).strip()
        if kind == "figure":
            name = (re.search(r"^:name:\s*(\S+)", options, re.M) or [None, key])[1]
            caption = ROLE.sub(role, body)
            return f"**Figure {figures.get(name, '')}.** {caption}\n" if caption else ""
        shown = value_text(values.get(key), "md" if kind == "md" else kind)
        return (shown if shown is not None else f"`{key}`") + "\n"

    def admonition(m):
        title, body = m.group(3).strip(), m.group(5).strip()
        lines = ([f"**{title}.**", ""] if title else []) + body.splitlines()
        return "\n".join(("> " + line).rstrip() for line in lines) + "\n"

    def numref(m):
        label = m.group(2) or m.group(3)
        text = m.group(1)
        n = figures.get(label)
        if text:
            return text.replace("%s", str(n) if n else label).replace("{number}", str(n) if n else label)
        return f"Figure {n}" if n else label

    text = DIRECTIVE.sub(directive, text)
    text = ADMONITION.sub(admonition, text)
    text = ROLE.sub(role, text)
    text = NUMREF.sub(numref, text)
    text = CITE.sub(lambda m: _cite(m, bib), text)
    return DOC.sub(lambda m: (m.group(1) or m.group(2)).strip(), text)


def figure_numbers(nb: dict, first: int = 1) -> dict[str, int]:
    """The figures' names (their ``:name:``, else the glued key) -> ``first``, ``first + 1``, ... in the order
    the text shows them (the book numbers its figures through all chapters: ``first`` continues the count)."""
    names = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for m in DIRECTIVE.finditer(_text(cell["source"])):
                if m.group(2) == "figure":
                    names.append((re.search(r"^:name:\s*(\S+)", m.group(4), re.M) or [None, m.group(3)])[1])
    return {name: first + i for i, name in enumerate(names)}


def for_reader(nb: dict, values: dict[str, dict] | None = None, bib: dict | None = None, first_figure: int = 1) -> dict:
    """A copy of ``nb`` whose Markdown a notebook reader can read: ``values`` (default: what ``nb`` glued itself)
    substituted for the glue roles, figures captioned (numbered from ``first_figure``, as the book numbers them),
    citations and cross-references written out."""
    nb = copy.deepcopy(nb)
    values = glued(nb) if values is None else values
    figures = figure_numbers(nb, first_figure)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            cell["source"] = rewrite(_text(cell["source"]), values, figures, bib or {})
    return nb


def raw_roles(nb: dict) -> int:
    """How many glue roles and directives the notebook's Markdown still shows raw (a reader's check)."""
    return sum(len(re.findall(r"\{glue(?::\w*)?\}", _text(c["source"]))) for c in nb.get("cells", [])
               if c.get("cell_type") == "markdown")


def figures_shown(nb: dict) -> int:
    """How many images the notebook's code cells show (outputs a notebook front end draws)."""
    return sum(1 for c in nb.get("cells", []) if c.get("cell_type") == "code" for o in c.get("outputs", [])
               if o.get("output_type") in ("display_data", "execute_result") and "image/png" in o.get("data", {}))


def first_figures(notebooks: list) -> list[int]:
    """The number of each notebook's first figure when the book numbers figures through all of them in order."""
    out, n = [], 1
    for nb in notebooks:
        out.append(n)
        n += len(figure_numbers(nb))
    return out
