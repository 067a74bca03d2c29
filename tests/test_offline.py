"""Without a course cluster, every chapter and lab still reads: cells that need the cluster say so,
cells that need none run as they do with one, and no cell shows a traceback.

Each notebook of :data:`NOTEBOOKS` runs once, top to bottom, in its own kernel (nbclient) with
``KUBECONFIG`` naming a file that does not exist, so no cluster can be reached. Then, cell by cell:

- no cell has an error output or a traceback on stderr;
- a cell *shows that the cluster is missing* when its output carries the start-the-cluster panel (its
  exact title, :data:`whyk8s.notebook.display.CLUSTER_PANEL_TITLE`), as an output or inside a
  widget's panel (the widget's saved state); in a lab, a check result may instead carry the exact
  sentence :func:`whyk8s.errors.explain` gives for the missing cluster; a live cluster widget (CSS
  class ``whyk8s-widget``) must show its panel;
- every other cell *ran normally*: its outputs are those committed (compared as nbval compares them:
  text, after ``tests/nbval_sanitize.cfg``; widget views left out, as in committed notebooks); for a
  cell tagged ``nbval-ignore-output``, the same kinds of output (a learner-facing lab is committed
  without outputs: its cells are only checked for tracebacks and panels);
- a notebook that needs no cluster (``False`` below) shows the panel in no cell, and one that needs it
  shows it at least once (so this run really had no cluster).

Every notebook on disk is either in :data:`NOTEBOOKS` or in :data:`NOT_RUN_OFFLINE` with a reason.
Chapter 0 is also run once with a *foreign* context (``production``), which it must refuse.
"""

from __future__ import annotations

import configparser
import copy
import html
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from whyk8s.notebook.display import CLUSTER_PANEL_TITLE
from whyk8s.notebook.outputs import is_learner_lab

ROOT = Path(__file__).resolve().parents[1]

#: Every chapter and lab → does it use the course cluster?
NOTEBOOKS = {
    "notebooks/00-start-here.ipynb": True,
    "notebooks/01-mlops-without-orchestration.ipynb": False,
    "notebooks/02-containers-are-not-docker.ipynb": True,
    "notebooks/03-what-an-orchestrator-does.ipynb": True,
    "notebooks/03b-what-running-containers-show.ipynb": True,
    "notebooks/04a-placing-ml-work.ipynb": True,
    "notebooks/04b-sharing-a-cluster.ipynb": True,
    "notebooks/04c-queueing-with-kueue.ipynb": True,
    "notebooks/04d-elastic-gpu-pools.ipynb": True,
    "notebooks/05-why-kubernetes-won.ipynb": False,
    "notebooks/06-summary.ipynb": True,
    "labs/lab1-images-are-files.ipynb": False,
    "labs/lab2-first-pod.ipynb": True,
    "labs/lab3-self-healing.ipynb": True,
    "labs/lab4-gpu-job.ipynb": True,
    "labs/lab5-share-the-cluster.ipynb": True,
    "labs/lab6-read-the-survey.ipynb": False,
    "labs/lab7-share-a-gpu-pool.ipynb": True,
}
#: Notebooks on disk that are not run here, each with the reason.
NOT_RUN_OFFLINE = {
    "labs/solutions/*.ipynb": "solutions assert that each check passed; nbval runs them with the cluster",
}
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
COMPARED = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")


def test_every_notebook_is_listed():
    on_disk = {p.relative_to(ROOT).as_posix() for folder in ("notebooks", "labs")
               for p in (ROOT / folder).glob("**/*.ipynb") if ".ipynb_checkpoints" not in p.parts}
    excluded = {p for p in on_disk if any(Path(p).match(pattern) for pattern in NOT_RUN_OFFLINE)}
    missing = on_disk - set(NOTEBOOKS) - excluded
    assert not missing, f"notebooks neither run offline nor excluded with a reason: {sorted(missing)}"
    assert set(NOTEBOOKS) <= on_disk, f"listed but not on disk: {sorted(set(NOTEBOOKS) - on_disk)}"


# -- what a cell showed ---------------------------------------------------------------------------------
def _sanitizers() -> list[tuple[re.Pattern, str]]:
    """The regex/replace pairs of tests/nbval_sanitize.cfg, in order."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE)
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value if isinstance(value, str) else json.dumps(value))


def compared(outputs: list, sanitizers) -> list[tuple[str, str]]:
    """What nbval compares of ``outputs``: (kind, sanitised text) per stream (consecutive writes to
    one stream joined) and per textual mime type of each result. Widget views and images are left
    out (committed notebooks carry no widget view; nbval skips images)."""
    out: list[tuple[str, str]] = []
    for o in outputs:
        if o.get("output_type") == "stream":
            kind = f"stream:{o.get('name')}"
            if out and out[-1][0] == kind:
                out[-1] = (kind, out[-1][1] + _text(o.get("text", "")))
            else:
                out.append((kind, _text(o.get("text", ""))))
        elif o.get("output_type") in ("display_data", "execute_result"):
            data = o.get("data", {})
            if WIDGET_VIEW in data:
                continue
            out += [(mime, _text(data[mime])) for mime in COMPARED if mime in data]
        else:
            out.append((o.get("output_type", "?"), _text(o.get("evalue", ""))))
    cleaned = []
    for kind, text in out:
        for regex, replace in sanitizers:
            text = regex.sub(replace, text)
        cleaned.append((kind, text))
    return cleaned


def kinds(outputs: list) -> list[str]:
    """The kinds of output, without their text (for cells whose output varies)."""
    return [kind for kind, _ in compared(outputs, [])]


def _widget_texts(model_id: str, state: dict, seen: set | None = None) -> list[str]:
    """Every string value in a widget's saved state and in its children's, recursively."""
    seen = seen if seen is not None else set()
    if model_id in seen or model_id not in state:
        return []
    seen.add(model_id)
    texts = []
    for value in state[model_id].get("state", {}).values():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and v.startswith("IPY_MODEL_"):
                texts += _widget_texts(v.removeprefix("IPY_MODEL_"), state, seen)
            elif isinstance(v, str):
                texts.append(v)
    return texts


def shown_texts(outputs: list, widget_state: dict) -> list[str]:
    """All text a reader sees in ``outputs``, widgets included (HTML unescaped)."""
    texts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            texts.append(_text(o.get("text", "")))
        for mime, value in o.get("data", {}).items():
            if mime == WIDGET_VIEW:
                texts += _widget_texts(value.get("model_id", ""), widget_state)
            elif mime.startswith("text/"):
                texts.append(_text(value))
    return [html.unescape(t) for t in texts]


def cluster_widgets(outputs: list, widget_state: dict) -> int:
    """How many widget views in ``outputs`` are the course's live cluster widgets (CSS class
    ``whyk8s-widget``, set by :class:`whyk8s.notebook.widgets.base.ClusterWidget`)."""
    views = [o["data"][WIDGET_VIEW].get("model_id", "") for o in outputs if WIDGET_VIEW in o.get("data", {})]
    return sum(1 for v in views if "whyk8s-widget" in widget_state.get(v, {}).get("state", {}).get("_dom_classes", []))


def shows_missing_cluster(texts: list[str], sentence: str | None) -> bool:
    """The start-the-cluster panel (exact title), or in a lab, a check result with ``sentence``."""
    return any(CLUSTER_PANEL_TITLE in t or (sentence and sentence in t) for t in texts)


def _offline_sentence() -> str:
    """What :func:`whyk8s.errors.explain` says when the course cannot reach a cluster here."""
    from whyk8s.errors import CourseError, explain
    from whyk8s.k8s.guard import connect
    try:
        connect()
    except CourseError as exc:
        return explain(exc)
    raise AssertionError("connect() reached a cluster although KUBECONFIG names no file")


def _execute(path: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    committed = nbformat.read(path, as_version=4)
    nb = copy.deepcopy(committed)
    NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True, record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return committed, nb


@pytest.fixture
def no_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    return _offline_sentence()


@pytest.mark.kernel
@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_without_a_cluster_cells_say_so_or_run_normally(name, no_cluster):
    path = ROOT / name
    committed, nb = _execute(path)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    sanitizers = _sanitizers()
    sentence = no_cluster if name.startswith("labs/") else None
    problems, panels = [], []
    code = [(i, c, nb.cells[i]) for i, c in enumerate(committed.cells) if c.cell_type == "code"]
    blank = is_learner_lab(path)  # committed without outputs (whyk8s.notebook.outputs.strip_all_outputs)
    for n, (i, before, after) in enumerate(code):
        first_line = before.source.strip().splitlines()[0][:60] if before.source.strip() else ""
        where = f"code cell {n} (cell {i}: {first_line})"
        outputs = after.get("outputs", [])
        for o in outputs:
            if o.get("output_type") == "error":
                problems.append(f"{where}: {o.get('ename')}: {o.get('evalue')}"[:300])
            elif o.get("output_type") == "stream" and "Traceback (most recent call last)" in _text(o.get("text", "")):
                problems.append(f"{where}: a traceback on {o.get('name')}")
        if shows_missing_cluster(shown_texts(outputs, state), sentence):
            panels.append(n)
            continue
        if cluster_widgets(outputs, state):
            problems.append(f"{where}: a live cluster widget shows no start-the-cluster panel")
        if "nbval-ignore-output" in before.metadata.get("tags", []):
            if blank and not before.get("outputs"):
                continue  # a learner-facing lab is committed without outputs: nothing to compare
            if kinds(outputs) != kinds(before.get("outputs", [])):
                problems.append(f"{where}: shows {kinds(outputs)} where the committed run shows "
                                f"{kinds(before.get('outputs', []))}, and no start-the-cluster panel")
        elif compared(outputs, sanitizers) != compared(before.get("outputs", []), sanitizers):
            problems.append(f"{where}: its output differs from the committed one and shows no start-the-cluster "
                            f"panel:\n    now:       {compared(outputs, sanitizers)!r:.400}"
                            f"\n    committed: {compared(before.get('outputs', []), sanitizers)!r:.400}")
    if NOTEBOOKS[name]:
        assert panels, f"{name}: no cell said that the cluster is missing (did this run reach a cluster?)"
    else:
        problems += [f"code cell {n}: shows the start-the-cluster panel, but {name} needs no cluster" for n in panels]
    assert not problems, f"{name} without a cluster:\n" + "\n".join(problems)


@pytest.mark.kernel
def test_start_here_refuses_a_foreign_context_without_a_traceback(foreign_kubeconfig):
    """Chapter 0 with a kubeconfig whose current context is ``production`` (it points, harmlessly, at
    the course's API server): every cell runs, the doctor flags the context, the cells that need the
    cluster show the panel, and nothing raises."""
    _, nb = _execute(ROOT / "notebooks" / "00-start-here.ipynb")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(shown_texts(outputs, {}))
    assert CLUSTER_PANEL_TITLE in text
    assert "production" in text and "Refusing to act" in text
