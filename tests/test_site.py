"""What the site changes in the notebooks at build time (whyk8s.site), and the chapters' captions and
links that must read the same in JupyterLab and on the site. Pure: no build, no kernel, no cluster
(tests/test_book.py builds the site)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from whyk8s import site

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(ROOT.glob("notebooks/*.ipynb"))
NOTEBOOKS = CHAPTERS + sorted(ROOT.glob("labs/*.ipynb")) + sorted(ROOT.glob("labs/solutions/*.ipynb"))
CAPTION = re.compile(r"^\*\*Figure (\d+)\.\*\*")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _nb(cells, **meta) -> dict:
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(outputs=(), **meta) -> dict:
    return {"cell_type": "code", "metadata": meta, "source": "", "outputs": list(outputs), "execution_count": 1}


# -- build-time changes ----------------------------------------------------------------------------
def test_one_caption_per_figure_keeps_the_alt_text():
    nb = _nb([_code(mystnb={"figure": {"caption": "x", "name": "f"}, "image": {"alt": "a chart"}}),
              _md("**Figure 1.** x")])
    site.one_caption_per_figure(nb)
    assert nb["cells"][0]["metadata"]["mystnb"] == {"image": {"alt": "a chart"}}
    assert nb["cells"][1]["source"] == "**Figure 1.** x"


@pytest.mark.parametrize("docname, before, after", [
    ("notebooks/00-start-here", "the [Glossary](../book/glossary.md) page", "the [Glossary](../glossary.md) page"),
    ("notebooks/00-start-here", "[notes](../book/instructors.md#timing)", "[notes](../instructors.md#timing)"),
    ("labs/solutions/lab1-x", "[Glossary](../../book/glossary.md)", "[Glossary](../../glossary.md)"),
    ("labs/solutions/lab1-x", "[a](../book/glossary.md)", "[a](../book/glossary.md)"),  # not the repository root
    ("notebooks/00-start-here", "[ch1](01-mlops.ipynb) and <../book/glossary.md>",
     "[ch1](01-mlops.ipynb) and <../glossary.md>"),
])
def test_book_relative_links(docname, before, after):
    nb = _nb([_md(before), {**_code(), "source": before}])
    site.book_relative_links(nb, docname)
    assert nb["cells"][0]["source"] == after
    assert nb["cells"][1]["source"] == before  # code is never rewritten


def test_static_outputs_drop_widget_views_and_keep_their_static_alternative():
    view = {"output_type": "display_data", "metadata": {},
            "data": {site.WIDGET_VIEW: {"model_id": "abc"}, "text/plain": "VBox(children=(...))"}}
    png = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBOR", "text/plain": "<Image>"}}
    text = {"output_type": "stream", "name": "stdout", "text": "hello\n"}
    nb = _nb([_code([view, png, text])])
    site.static_outputs(nb)
    assert nb["cells"][0]["outputs"] == [png, text]


def test_site_notebook_applies_every_change_and_collapses_only_solutions():
    nb = _nb([_md("[G](../../book/glossary.md)"),
              _code(mystnb={"figure": {"caption": "c"}, "image": {"alt": "a"}})])
    out = json.loads(site.site_notebook(json.dumps(nb), "labs/solutions/lab2-first-pod-solution"))
    assert out["cells"][0]["source"] == "[G](../../glossary.md)"
    assert out["cells"][1]["metadata"] == {"mystnb": {"image": {"alt": "a"}}, "tags": [site.SOLUTION_TAG]}
    chapter = json.loads(site.site_notebook(json.dumps(nb), "notebooks/03-what-an-orchestrator-does"))
    assert "tags" not in chapter["cells"][1]["metadata"]


# -- the committed notebooks -----------------------------------------------------------------------
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chart_has_one_numbered_caption_under_it(path):
    """learner-ux #7: one caption, one number. Each chart cell (it has alt text) is followed by its
    "**Figure N.**" paragraph, numbered 1, 2, … in the chapter, and no caption stands without a chart;
    the site shows exactly these (one_caption_per_figure)."""
    cells = json.loads(path.read_text())["cells"]
    numbers = []
    for i, cell in enumerate(cells):
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and cell["metadata"].get("mystnb", {}).get("image", {}).get("alt"):
            nxt = cells[i + 1] if i + 1 < len(cells) else None
            assert nxt and nxt["cell_type"] == "markdown" and CAPTION.match("".join(nxt["source"])), \
                f"{path.name} cell {i}: a chart without a '**Figure N.**' caption right under it"
        if cell["cell_type"] == "markdown" and CAPTION.match(src):
            prev = cells[i - 1]
            assert prev["cell_type"] == "code" and prev["metadata"].get("mystnb", {}).get("image", {}).get("alt"), \
                f"{path.name} cell {i}: a caption that follows no chart"
            numbers.append(int(CAPTION.match(src).group(1)))
    assert numbers == list(range(1, len(numbers) + 1)), (path.name, numbers)


def _local_links(path: Path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for target in LINK.findall("".join(cell["source"])):
            if not re.match(r"^[a-z]+:|^#", target):
                yield target.split("#")[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_local_links_work_in_jupyterlab_and_on_the_site(path):
    """learner-ux #21b: every relative link of a notebook opens from JupyterLab (relative to the
    notebook in the repository) and from the site (relative to the same notebook under book/, after
    book_relative_links)."""
    rel = path.relative_to(ROOT)
    docname = rel.with_suffix("").as_posix()
    nb = site.book_relative_links(json.loads(path.read_text()), docname)
    site_links = [t.split("#")[0] for c in nb["cells"] if c["cell_type"] == "markdown"
                  for t in LINK.findall("".join(c["source"])) if not re.match(r"^[a-z]+:|^#", t)]
    for target in _local_links(path):
        # both resolve links by name, not through symbolic links (book/notebooks -> ../notebooks)
        assert Path(os.path.normpath(path.parent / target)).exists(), f"{rel}: {target} does not exist next to it"
    for target in site_links:
        assert Path(os.path.normpath(ROOT / "book" / rel.parent / target)).exists(), \
            f"{rel}: {target} does not resolve in book/"


def test_start_here_links_the_glossary():
    cells = json.loads((ROOT / "notebooks/00-start-here.ipynb").read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells)
    assert "](../book/glossary.md)" in text
