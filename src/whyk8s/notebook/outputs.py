"""The committed notebooks' outputs: re-execute them against the course cluster, keep what reads
without a kernel, drop live widget views.

The chapters and labs are committed *with outputs* from a run on the course's kwok cluster: nbval
compares every later run with them, and the site and GitHub show them to a reader who runs nothing.
A widget's output is only a reference to a model that lives in the kernel (``application/vnd.jupyter
.widget-view+json``) plus a ``text/plain`` repr such as ``VBox(children=(HTML(value=…``: without the
kernel, JupyterLab shows "Error displaying widget: model not found" and other viewers show the raw
repr (shared/cases *committed-widget-output*). So :func:`regenerate` executes each notebook in place
(nbclient, a fresh kernel in the notebook's folder, on a clean course cluster), then drops every
widget view and widget repr and tags their cells ``nbval-ignore-output`` (the source stays; the
recorded run beside it shows what the widget showed; an image the widget drew as a plain output,
such as chapter 5's explorer chart, stays), drops the notebook's saved widget state, and keeps
every other output. A notebook in which a cell failed, showed the start-the-cluster panel, or
printed a local path (the checkout's or the home folder, e.g. in a warning on stderr) is not written.

A learner-facing lab (``labs/*.ipynb``, not its solution) is executed the same way (so a failing
lab is still caught) but written *without outputs* (:func:`strip_all_outputs`): a learner who
opens it must not find an earlier run's results, such as a check already reading "✘ there is no Pod
named first-pod". Its code cells are tagged ``nbval-ignore-output``, so nbval runs them and compares
nothing; the solutions keep their outputs and are compared.

Run it as one command (it acts only on the course cluster, through :func:`whyk8s.k8s.guard.connect`)::

    python -m whyk8s.notebook.outputs notebooks/*.ipynb labs/*.ipynb labs/solutions/*.ipynb

:func:`widget_outputs` lists what a committed notebook must not carry (``tests/test_notebooks_clean.py``
checks the committed notebooks independently).
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time
from pathlib import Path
from typing import Callable

import nbformat

__all__ = ["WIDGET_VIEW", "WIDGET_STATE", "IGNORE_OUTPUT_TAG", "widget_outputs", "strip_widget_outputs",
           "execute", "regenerate", "main", "is_learner_lab", "strip_all_outputs", "kernelspec"]

#: Mime type of a widget view (a reference to a model in the kernel).
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Key of the saved widget state in a notebook's metadata (``metadata.widgets``).
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: The cell tag with which nbval does not compare a cell's output.
IGNORE_OUTPUT_TAG = "nbval-ignore-output"
#: A widget's repr as text: ``VBox(children=(…``, ``PlacementBoard(children=…``, ``IntSlider(value=3…``.
WIDGET_REPR = re.compile(r"^\s*[A-Z]\w*\((?:children|value|layout|description|options)=")


def widget_outputs(nb) -> list[tuple[int, str]]:
    """``(cell index, what)`` for each output of ``nb`` (an nbformat notebook or its JSON dict) that
    only a live kernel can show: a widget view, or a widget's repr as plain text."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            data = out.get("data", {})
            plain = data.get("text/plain", out.get("text", ""))
            plain = "".join(plain) if isinstance(plain, list) else plain
            if WIDGET_VIEW in data:
                found.append((i, "a widget view (application/vnd.jupyter.widget-view+json)"))
            elif WIDGET_REPR.match(plain or ""):
                found.append((i, f"a widget's repr as text: {plain.strip()[:60]!r}"))
    return found


def _is_widget_output(out) -> bool:
    data = out.get("data", {})
    plain = data.get("text/plain", out.get("text", ""))
    plain = "".join(plain) if isinstance(plain, list) else plain
    return WIDGET_VIEW in data or bool(WIDGET_REPR.match(plain or ""))


def strip_widget_outputs(nb) -> list[int]:
    """Drop every output that only a live kernel can show (:func:`widget_outputs`) and tag its cell
    :data:`IGNORE_OUTPUT_TAG`; keep the cell's other outputs (e.g. a chart a widget drew as a plain
    image, which the static site then shows); drop the notebook's saved widget state. Changes ``nb``
    in place and returns the indices of the cells changed."""
    cells = sorted({i for i, _ in widget_outputs(nb)})
    for i in cells:
        cell = nb["cells"][i]
        cell["outputs"] = [out for out in cell.get("outputs", []) if not _is_widget_output(out)]
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if IGNORE_OUTPUT_TAG not in tags:
            tags.append(IGNORE_OUTPUT_TAG)
    nb.get("metadata", {}).pop("widgets", None)
    return cells


def _local_path_cells(nb) -> list[tuple[int, str]]:
    """``(cell index, path)`` for outputs that show this machine's checkout or home folder (most often a
    warning on stderr naming a source file): committed outputs must not carry local paths."""
    import whyk8s
    from whyk8s.paths import repo_root
    # the checkout, the folder the package is imported from (another checkout or site-packages), home
    places = {str(repo_root()), str(Path(whyk8s.__file__).resolve().parent.parent), str(Path.home())} - {"/"}
    return [(i, place) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for place in sorted(places) if any(place in str(out) for out in cell.get("outputs", []))]


def _panel_cells(nb) -> list[int]:
    from whyk8s.notebook.display import CLUSTER_PANEL_TITLE
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and any(CLUSTER_PANEL_TITLE in str(out) for out in cell.get("outputs", []))]


@functools.lru_cache(maxsize=1)
def _installed_kernelspec() -> tuple[str, str]:
    from jupyter_client.kernelspec import KernelSpecManager
    spec = KernelSpecManager().get_kernel_spec("python3")
    return spec.display_name, spec.language


def kernelspec() -> dict:
    """The ``metadata.kernelspec`` JupyterLab writes for the installed ``python3`` kernel (ipykernel's:
    display name "Python 3 (ipykernel)"). A notebook committed with another (e.g. "Python 3") is
    rewritten by JupyterLab as soon as it opens, which marks it as having unsaved changes."""
    display_name, language = _installed_kernelspec()
    return {"display_name": display_name, "language": language, "name": "python3"}


def is_learner_lab(path: Path | str) -> bool:
    """True for a lab a learner opens and fills in (``labs/<name>.ipynb``), False for its solution
    (``labs/solutions/…``) and for a chapter."""
    path = Path(path).resolve()
    return path.parent.name == "labs" and path.suffix == ".ipynb"


def strip_all_outputs(nb) -> None:
    """Remove every code cell's outputs and execution count, tag each ``nbval-ignore-output``, and drop
    the saved widget state: how a learner-facing lab is committed (:func:`is_learner_lab`)."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        tags = cell.metadata.setdefault("tags", [])
        if IGNORE_OUTPUT_TAG not in tags:
            tags.append(IGNORE_OUTPUT_TAG)
    nb.metadata.pop("widgets", None)


def execute(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` top to bottom in a fresh ``python3`` kernel whose working folder
    is the notebook's (nbclient; no timing metadata — an earlier run's is removed —, no widget
    state). Returns the executed notebook; nothing is written. Raises nbclient's
    ``CellExecutionError`` naming the first cell that failed (a cell whose error the course showed
    as one sentence counts as failed too) and ``CellTimeoutError`` after ``timeout`` seconds for
    one cell."""
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # timings of an earlier run would be read as this run's
        cell.get("metadata", {}).pop("execution", None)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False, store_widget_state=False,
                   resources={"metadata": {"path": str(Path(path).resolve().parent)}}).execute()
    return nb


def _clean(log: Callable[[str], None]) -> None:
    """Start each notebook from the course cluster as ``cluster up`` leaves it."""
    from whyk8s.cluster.workers import restore_nodes
    from whyk8s.k8s.guard import connect
    from whyk8s.k8s.objects import cleanup
    cluster = connect()
    cleanup(cluster)
    restore_nodes(cluster, log=log)


def regenerate(paths: list[Path | str], timeout: int = 600, log: Callable[[str], None] = print) -> list[Path]:
    """Re-execute each notebook in ``paths`` against the course cluster (cleaned and its nodes
    restored before each), strip its widget outputs (:func:`strip_widget_outputs`) and write it in
    place. Returns the paths written. A notebook whose run failed, showed the start-the-cluster panel
    or printed a local path is left as it was and named in the :class:`RuntimeError` raised at the
    end (the others are still written). Raises :class:`whyk8s.errors.ClusterUnreachableError` /
    :class:`~whyk8s.errors.NotCourseClusterError` before running anything when no course cluster answers.
    """
    from whyk8s.k8s.guard import connect
    connect()  # refuse at once, before any kernel starts
    written, failed = [], []
    for path in map(Path, paths):
        started = time.monotonic()
        try:
            _clean(lambda *_: None)
            nb = execute(path, timeout)
        except Exception as exc:  # noqa: BLE001 - one notebook's failure must not stop the others
            first = str(exc).strip().splitlines()
            failed.append(f"{path}: {type(exc).__name__}: {' '.join(first[-3:])[:400]}")
            log(f"✗ {path}: not written ({type(exc).__name__})")
            continue
        panels = _panel_cells(nb)
        if panels:
            failed.append(f"{path}: cells {panels} showed the start-the-cluster panel")
            log(f"✗ {path}: not written (cells {panels} could not reach the cluster)")
            continue
        stripped = strip_widget_outputs(nb)
        local = _local_path_cells(nb)
        if local:
            failed.append(f"{path}: " + "; ".join(f"cell {i} shows the local path {place}" for i, place in local)
                          + " (a warning on stderr? fix its cause)")
            log(f"✗ {path}: not written (local paths in outputs)")
            continue
        nb.metadata["kernelspec"] = kernelspec()  # as JupyterLab writes it: no unsaved-changes dot on opening
        if is_learner_lab(path):
            strip_all_outputs(nb)
        nbformat.write(nb, path)
        written.append(path)
        log(f"✓ {path} in {time.monotonic() - started:.0f} s"
            + (f"; widget output dropped from cells {stripped}" if stripped else ""))
    if failed:
        raise RuntimeError("Not written:\n" + "\n".join(failed))
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m whyk8s.notebook.outputs NOTEBOOK...``: 0 when every notebook was written, 1 when one
    failed, 2 when no course cluster answers."""
    parser = argparse.ArgumentParser(prog="python -m whyk8s.notebook.outputs", description=(
        "Re-execute committed notebooks against the course cluster and write them in place, "
        "without widget views."))
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebooks to re-execute (.ipynb)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may take (default 600)")
    args = parser.parse_args(argv)
    from whyk8s.errors import CourseError, explain
    try:
        regenerate(args.notebooks, timeout=args.timeout)
    except CourseError as exc:
        print(explain(exc), file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
