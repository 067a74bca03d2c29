"""The checks that the checkout's ``conftest.py`` puts around every notebook nbval runs can fail, and
say which notebook left what.

``make test`` runs each chapter and lab once, through nbval; after its last cell the course cluster
must hold nothing course-labelled and every layout worker must be Ready, schedulable and advertise
its GPUs (see ``conftest.py``). Here four tiny notebooks run through nbval in a pytest subprocess,
with the checkout's ``conftest.py`` copied beside them, against the real API server:

- ``tidy.ipynb`` creates a pod and cleans up: both checks pass, but the check *before* it fails,
  naming a pod this test left on purpose (what "an earlier test" would leave);
- ``leaves.ipynb`` creates a labelled pod and stops: its check after the last cell fails, naming it;
- ``cordons.ipynb`` cordons a worker: its check fails, naming the worker;
- ``notebooks/00-start-here.ipynb`` (a chapter whose clean-up cell must delete whatever the course
  labelled) does nothing: the pod planted before its first cell is still there, and its check says so.

After each failure the check cleans up, so the cluster is clean when the run ends.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from whyk8s.k8s import objects, specs

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.kernel

CONNECT = "from whyk8s.k8s import objects, specs\nfrom whyk8s.k8s.guard import connect\ncluster = connect()"
NOTEBOOKS = {
    "tidy.ipynb": [CONNECT, '_ = objects.create(cluster, specs.pod("tidy"))', "_ = objects.cleanup(cluster)"],
    "leaves.ipynb": [CONNECT, '_ = objects.create(cluster, specs.pod("forgotten"))'],
    "cordons.ipynb": ["from whyk8s.lessons import failures\nfailures.cordon(None, 'whyk8s-worker2')"],
    "notebooks/00-start-here.ipynb": ["x = 1"],
}


def _write(path: Path, sources: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _results(junit: Path) -> dict[str, tuple[str, str]]:
    """``"<file>::<name>"`` → (``"passed"``/``"failed"``/``"error"``, message) from a JUnit XML report."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        key = f"{case.get('file') or case.get('classname')}::{case.get('name')}"
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        out[key] = ("passed", "") if bad is None else (bad.tag, (bad.get("message") or "") + (bad.text or ""))
    return out


def _outcome(results: dict, notebook: str, name: str) -> tuple[str, str]:
    stem = notebook.removesuffix(".ipynb").replace("/", ".")
    found = [v for k, v in results.items() if k.endswith("::" + name) and (notebook in k or stem in k)]
    assert len(found) == 1, f"no single result for {notebook}::{name} in {sorted(results)}"
    return found[0]


def test_checks_around_each_notebook_fail_naming_what_it_left(cluster, tmp_path):
    for name, sources in NOTEBOOKS.items():
        _write(tmp_path / name, sources)
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    cluster: needs the course cluster\n")
    objects.create(cluster, specs.pod("from-an-earlier-test"))

    junit = tmp_path / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
         f"--junitxml={junit}", "-o", "junit_family=xunit2", *NOTEBOOKS],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert junit.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    results = _results(junit)
    print(proc.stdout[-4000:])

    outcome, message = _outcome(results, "tidy.ipynb", "before the first cell")
    assert outcome == "failure" and "Pod whyk8s/from-an-earlier-test" in message, message
    assert _outcome(results, "tidy.ipynb", "after the last cell")[0] == "passed"

    assert _outcome(results, "leaves.ipynb", "before the first cell")[0] == "passed"
    outcome, message = _outcome(results, "leaves.ipynb", "after the last cell")
    assert outcome == "failure", message
    assert "leaves.ipynb left the course cluster changed" in message and "Pod whyk8s/forgotten" in message

    outcome, message = _outcome(results, "cordons.ipynb", "after the last cell")
    assert outcome == "failure" and "cordons.ipynb" in message
    assert "worker whyk8s-worker2 is cordoned" in message, message

    outcome, message = _outcome(results, "notebooks/00-start-here.ipynb", "after the last cell")
    assert outcome == "failure" and "Pod whyk8s/left-over" in message and "was planted" in message, message

    # every cell ran and passed: only the checks failed
    cells = {k: v for k, v in results.items() if "::Cell " in k}
    assert len(cells) == sum(len(s) for s in NOTEBOOKS.values()), cells
    assert all(v[0] == "passed" for v in cells.values()), cells
    assert proc.returncode == 1

    # each failing check cleaned up after itself
    assert objects.course_objects(cluster, include_namespaces=True) == []
    assert not cluster.core.read_node("whyk8s-worker2").spec.unschedulable
