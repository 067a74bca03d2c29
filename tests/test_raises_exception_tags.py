"""A lab's exercise notebook tags the same steps ``raises-exception`` as its solution.

tests/test_workshop_notebooks.py runs the chapters and the labs' *solutions* as a workshop participant
and requires every cell that ends in an error there (an instructor's demonstration, a refusal shown as
one sentence) to carry the tag ``raises-exception``, without which JupyterLab's Run All stops at that
cell. The exercise notebooks cannot run to the end (their ``...`` placeholders), so this test carries
the rule over without a cluster: an exercise cell that calls a lab helper (``fairness_lab.check_teams()``,
``queue_lab.reset()``…) which a tagged solution cell calls must be tagged too.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
TAG = "raises-exception"
CALL = re.compile(r"\b(\w+_lab\.\w+)\(")
PAIRS = [(p, ROOT / "labs" / p.name.replace("-solution", ""))
         for p in sorted(ROOT.glob("labs/solutions/*-solution.ipynb"))]


def untagged_like_solution(solution, exercise) -> list[str]:
    """Exercise cells calling a lab helper that a tagged solution cell calls, but lacking the tag."""
    tagged_calls = {c for cell in solution.cells if cell.cell_type == "code" and TAG in cell.metadata.get("tags", [])
                    for c in CALL.findall(cell.source)}
    return [f"cell {i} ({cell.get('id')}): {', '.join(sorted(set(CALL.findall(cell.source)) & tagged_calls))}"
            for i, cell in enumerate(exercise.cells)
            if cell.cell_type == "code" and set(CALL.findall(cell.source)) & tagged_calls
            and TAG not in cell.metadata.get("tags", [])]


def test_untagged_like_solution_names_the_cell():
    solution = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("r = x_lab.check_a()\nassert r")])
    solution.cells[0].metadata["tags"] = [TAG]
    exercise = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x_lab.check_a()"),
                                               nbformat.v4.new_code_cell("x_lab.check_b()")])
    assert untagged_like_solution(solution, exercise) == [f"cell 0 ({exercise.cells[0].id}): x_lab.check_a"]


@pytest.mark.parametrize("solution,exercise", PAIRS, ids=[p.name for p, _ in PAIRS])
def test_exercise_tags_what_its_solution_tags(solution, exercise):
    bad = untagged_like_solution(nbformat.read(solution, as_version=4), nbformat.read(exercise, as_version=4))
    assert not bad, f"{exercise.relative_to(ROOT)} lacks '{TAG}' where {solution.name} has it:\n" + "\n".join(bad)
