"""Committed notebooks: no saved widget state, no local paths or credentials in outputs, no huge
outputs, and the chapter/lab structure the course promises."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("labs/**/*.ipynb"))
LOCAL = re.compile(r"(/work/|/root/|/tmp/[A-Za-z0-9_.-]+/|/home/[a-z]|BEGIN [A-Z ]*PRIVATE KEY|client-key-data|kwok-h\d)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_clean(path):
    nb = json.loads(path.read_text())
    assert "widgets" not in nb["metadata"], "strip metadata.widgets (saved widget state)"
    for i, cell in enumerate(nb["cells"]):
        text = json.dumps(cell.get("outputs", []))
        # base64 images may contain anything: look at text outputs only
        text = re.sub(r'"image/png": "[^"]*"', "", text)
        m = LOCAL.search(text)
        assert not m, f"cell {i} output contains {m.group(0)!r}"
        assert len(text) < 300_000, f"cell {i} output is {len(text) // 1000} kB"
        if cell["cell_type"] == "code":
            assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), f"cell {i} has an error output"


CHAPTERS = sorted(ROOT.glob("notebooks/*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_structure(path):
    nb = json.loads(path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for heading in ("Questions", "Objectives", "Prerequisites", "Time to learn", "Key points", "What's next"):
        assert re.search(rf"#+ .*{heading}", text, flags=re.I), f"{path.name} lacks a '{heading}' section"


@pytest.mark.parametrize("path", CHAPTERS + sorted(ROOT.glob("labs/**/*.ipynb")), ids=lambda p: p.name)
def test_charts_have_caption_and_alt_text(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        has_image = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
        if has_image:
            meta = cell.get("metadata", {}).get("mystnb", {})
            assert meta.get("image", {}).get("alt"), f"{path.name} cell {i}: chart without alt text"
            assert meta.get("figure", {}).get("caption"), f"{path.name} cell {i}: chart without caption"
