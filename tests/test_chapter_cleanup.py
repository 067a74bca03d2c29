"""Each chapter notebook, run top to bottom with nbclient against the course cluster, leaves no
course-labelled object behind (every chapter ends with ``objects.cleanup(cluster)``)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from whyk8s.k8s import objects

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_leaves_no_course_objects(cluster, path):
    assert objects.course_objects(cluster, include_namespaces=True) == []
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name} raised: {errors[0]['ename']}: {errors[0]['evalue']}"
    left = objects.course_objects(cluster, include_namespaces=True)
    assert left == [], f"{path.name} left behind: {', '.join(map(str, left))}"
