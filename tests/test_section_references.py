"""Every section a notebook names by its quoted title exists where the sentence says.

A chapter that writes ``section "A machine vanishes" below`` promises a heading of that title further
down the same notebook (``above``: earlier); a quoted section title without a direction must be a
heading of some notebook of the course; ``Chapter 4a, "Who holds the GPU?"`` must be a heading of
chapter 4a. A heading matches a title that is the whole heading or its start ("Who holds the GPU?"
for "Who holds the GPU? The device plugin"). Learner B followed 4a's ``section "Who killed my process?"
below`` and found no such section in 4a (it is chapter 4b's). No cluster needed.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("labs/*.ipynb"), *ROOT.glob("labs/solutions/*.ipynb")])

#: ``section "Title"`` / ``sections "Title"`` (straight or curly quotes), then an optional below/above.
REFERENCE = re.compile(r'\b[Ss]ections?\s+["“]([^"”]+)["”](?:\s*\)?\s*(below|above))?')
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
#: ``Chapter 4a, "Title"`` / ``episode 4b, "Title"``: a title in that chapter's notebook.
CHAPTER_REFERENCE = re.compile(r'\b(?:[Cc]hapter|[Ee]pisode)\s+(\d+[a-z]?),?\s+["“]([^"”]+)["”]')


def _is(heading: str, title: str) -> bool:
    return heading == title or heading.startswith(title + " ")


def chapter_headings(chapter: str) -> set[str] | None:
    """The headings of chapter ``chapter`` (``"4a"`` → notebooks/04a-*.ipynb), None if no such chapter."""
    found = sorted(ROOT.glob(f"notebooks/{chapter.zfill(3 if chapter[-1].isalpha() else 2)}-*.ipynb"))
    return {h for _, h in headings(nbformat.read(found[0], as_version=4))} if found else None


def headings(nb) -> list[tuple[int, str]]:
    """(cell index, heading text) of every markdown heading of ``nb``."""
    return [(i, h) for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
            for h in HEADING.findall(cell.source)]


def broken_references(nb, everywhere: set[str]) -> list[str]:
    """One line per quoted section title in ``nb`` that is not where its sentence says: ``below`` (a
    heading of that title in a later cell), ``above`` (an earlier cell), none (any notebook's heading in
    ``everywhere``)."""
    own = headings(nb)
    bad = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for title, where in REFERENCE.findall(cell.source):
            title = " ".join(title.split())
            if where == "below":
                ok = any(j > i and _is(h, title) for j, h in own)
            elif where == "above":
                ok = any(j < i and _is(h, title) for j, h in own)
            else:
                ok = any(_is(h, title) for h in everywhere)
            if not ok:
                bad.append(f"cell {i}: section {title!r} {where or '(in the course)'} not found")
        for chapter, title in CHAPTER_REFERENCE.findall(cell.source):
            title = " ".join(title.split())
            found = chapter_headings(chapter)
            if found is None or not any(_is(h, title) for h in found):
                bad.append(f"cell {i}: chapter {chapter}'s section {title!r} not found")
    return bad


def test_broken_references_sees_a_section_that_is_not_below():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell('## Done\nSee section "Later" below and section "Done" above.'),
        nbformat.v4.new_markdown_cell('Also section "Elsewhere" below and section "Gone". Chapter 4a, '
                                      '"Who holds the GPU?" is there; chapter 4a, "Who killed my process?" is not.'),
        nbformat.v4.new_markdown_cell("## Later")])
    assert broken_references(nb, {"Later", "Done"}) == [
        "cell 0: section 'Done' above not found",
        "cell 1: section 'Elsewhere' below not found",
        "cell 1: section 'Gone' (in the course) not found",
        "cell 1: chapter 4a's section 'Who killed my process?' not found"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_quoted_sections_exist_where_the_sentence_says(path):
    everywhere = {h for p in NOTEBOOKS for _, h in headings(nbformat.read(p, as_version=4))}
    bad = broken_references(nbformat.read(path, as_version=4), everywhere)
    assert not bad, f"{path.relative_to(ROOT)}:\n" + "\n".join(bad)
