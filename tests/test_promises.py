"""A chapter that says "a later chapter does X" must name it: a promise without a link has twice been a
promise no chapter kept (DRA, Karpenter, Kueue)."""
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("labs/*.ipynb"), *ROOT.glob("labs/solutions/*.ipynb")])


def unkept_promises(text: str) -> list[str]:
    """Sentences of ``text`` that promise "a later chapter" or "a later lab" without a link to a notebook."""
    sentences = re.split(r"(?<=[.!?])\s+", text)
    return [s for s in sentences if re.search(r"\ba later (chapter|lab|episode)\b", s, re.I)
            and not re.search(r"\]\([^)]*\.ipynb", s)]


def test_a_promise_without_a_link_is_found_and_one_with_a_link_is_not():
    assert unkept_promises("DRA is skipped. Here a later chapter runs it.") == ["Here a later chapter runs it."]
    assert unkept_promises("A later chapter ([4b](04b-sharing-a-cluster.ipynb)) runs it.") == []
    assert unkept_promises("Keep that in mind in later chapters.") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_chapter_promises_what_no_chapter_does(path):
    nb = nbformat.read(path, 4)
    found = [s for cell in nb.cells if cell.cell_type == "markdown" for s in unkept_promises(cell.source)]
    assert not found, f"{path.name}: name the chapter (a link) or drop the promise: {found}"
