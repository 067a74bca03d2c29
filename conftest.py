"""pytest hooks for the whole checkout: ``tests/``, and the notebooks nbval runs (``notebooks/``, ``labs/``).

**Every notebook leaves the course cluster as it found it.** ``make test`` runs each chapter and lab
once, through nbval (``pytest --nbval``); that run *is* the run. Around the cells of each notebook
nbval collects, this file adds two checks against the real API server:

- *before the first cell*: the course cluster is clean (nothing carries the course label, every
  worker of ``clusters/layout.yaml`` is Ready, schedulable and advertises its extended resources).
  If it is not, what an earlier test left is named, cleaned up, and this check fails, so that the
  notebook's own check below is about the notebook alone. Before the chapters whose clean-up cell
  promises to delete whatever the course left (:data:`LEFT_OVER_BEFORE`), a labelled pod
  ``left-over`` is planted: the check after the last cell then proves that the cell removed it.
- *after the last cell*: ``objects.course_objects(cluster, include_namespaces=True)`` is empty and
  the workers are back (as above). A failure names the notebook and what it left; the cluster is
  then cleaned and the nodes restored, so the next notebook starts clean.

Both checks carry the ``cluster`` marker (``-m "not cluster"`` leaves them out) and appear in the
report as ``<notebook>::before the first cell`` / ``<notebook>::after the last cell``. They connect
through :func:`whyk8s.k8s.guard.connect`, so they act only on a course cluster.

Also: tests that build the site (fixtures ``built``, ``report``, ``base_url``) get the ``book``
marker, so ``make unit`` leaves them out without a marker on each.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

# Test this checkout's package, even when the environment's editable install points at another
# checkout (several worktrees sharing one .venv): first on sys.path here, and on PYTHONPATH for the
# kernels nbval starts.
sys.path.insert(0, str(ROOT / "src"))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)

#: Notebooks whose clean-up cell deletes everything the course labelled, whoever created it (chapter 0
#: and the summary): a labelled pod is planted before their first cell.
LEFT_OVER_BEFORE = {"notebooks/00-start-here.ipynb", "notebooks/06-summary.ipynb"}
#: The pod planted before them.
LEFT_OVER_POD = "left-over"
#: How long the checks wait for objects already being deleted, or nodes about to be Ready (seconds).
GRACE = 15

#: Fixtures that build the Jupyter Book site (tests/test_book.py, tests/test_site_browser.py).
BOOK_FIXTURES = {"built", "report", "base_url"}


class ClusterNotClean(AssertionError):
    """What a notebook (or an earlier test) left on the course cluster, in sentences."""


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _connect():
    """A guarded connection to the course cluster, or a failure that says how to get one."""
    from whyk8s.errors import ClusterUnreachableError, NotCourseClusterError, explain
    from whyk8s.k8s.guard import connect
    try:
        return connect()
    except (ClusterUnreachableError, NotCourseClusterError) as exc:
        raise ClusterNotClean(f"No course cluster to check against: {explain(exc)} Start it with "
                              f"`whyk8s cluster up`, or leave these checks out with -m 'not cluster'.") from exc


def _wait_gone(cluster, refs, deadline: float) -> None:
    """Watch each listed kind until its labelled objects are gone or ``deadline`` passes (objects
    already being deleted go meanwhile; nothing is deleted here)."""
    from whyk8s.k8s.objects import KINDS
    from whyk8s.k8s.waits import wait_until_gone
    for kind, namespace in sorted({(r.kind, r.namespace or "") for r in refs}):
        entry = KINDS[kind]
        if kind == "Namespace":
            wait_until_gone(cluster.core.list_namespace, deadline=deadline,
                            label_selector=f"{cluster.selector},kubernetes.io/metadata.name!={cluster.namespace}")
        elif entry.namespaced:
            wait_until_gone(entry.fn(cluster, "list"), namespace, label_selector=cluster.selector, deadline=deadline)
        else:
            wait_until_gone(entry.fn(cluster, "list"), label_selector=cluster.selector, deadline=deadline)


def _in_motion(cluster, ref, graces: list | None = None) -> bool:
    """True when ``ref`` is being deleted, is already gone, or has an owner (it goes with its owner,
    which is listed itself if it stays). A pod being deleted adds its grace period (seconds: the time
    its containers have to stop, up to 30 s for a shell that ignores SIGTERM on kind) to ``graces``."""
    from kubernetes.client import ApiException

    from whyk8s.k8s.objects import KINDS
    entry = KINDS[ref.kind]
    try:
        read = entry.fn(cluster, "read")
        obj = read(ref.name, ref.namespace) if entry.namespaced else read(ref.name)
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    if graces is not None and obj.metadata.deletion_grace_period_seconds:
        graces.append(obj.metadata.deletion_grace_period_seconds)
    return obj.metadata.deletion_timestamp is not None or bool(obj.metadata.owner_references)


def left_objects(cluster) -> list[str]:
    """Course-labelled objects still there (``"Pod whyk8s/x"`` …). Objects on their way out (being
    deleted, or owned by something) get up to :data:`GRACE` seconds to go first, or a pod's own grace
    period and 5 s when that is longer."""
    from whyk8s.k8s.objects import course_objects
    left = course_objects(cluster, include_namespaces=True)
    graces: list = []
    if [r for r in left if _in_motion(cluster, r, graces)]:
        _wait_gone(cluster, left, time.monotonic() + max([GRACE, *(g + 5 for g in graces)]))
        left = course_objects(cluster, include_namespaces=True)
    return [f"{r.kind} {r.namespace + '/' if r.namespace else ''}{r.name}" for r in left]


def worker_problems(cluster) -> list[str]:
    """Sentences about layout workers that are missing, not Ready, cordoned, or not advertising their
    extended resources (after up to :data:`GRACE` seconds for a node becoming Ready)."""
    from whyk8s.cluster.layout import load_layout
    from whyk8s.errors import WaitTimeoutError
    from whyk8s.k8s.nodes import is_ready
    from whyk8s.k8s.waits import wait_for_nodes

    workers = load_layout().workers
    try:
        nodes = wait_for_nodes(cluster, [w.name for w in workers], timeout=GRACE)
    except WaitTimeoutError:
        nodes = {n.metadata.name: n for n in cluster.core.list_node().items}
    problems = []
    for w in workers:
        node = nodes.get(w.name)
        if node is None:
            problems.append(f"worker {w.name} is missing (deleted and not restored)")
            continue
        if not is_ready(node):
            problems.append(f"worker {w.name} is not Ready")
        if node.spec.unschedulable:
            problems.append(f"worker {w.name} is cordoned (spec.unschedulable)")
        alloc = (node.status.allocatable if node.status else None) or {}
        for resource, value in w.extended_resources.items():
            if alloc.get(resource) != str(value):
                problems.append(f"worker {w.name} advertises {resource}={alloc.get(resource, 0)} "
                                f"(the layout says {value})")
    return problems


def _restore(cluster) -> None:
    from whyk8s.cluster.workers import restore_nodes
    from whyk8s.k8s.objects import cleanup
    cleanup(cluster)
    restore_nodes(cluster, log=lambda *_: None)


class NotebookClusterCheck(pytest.Item):
    """One of the two checks around a notebook's cells (see the module doc). ``when`` is
    ``"before"`` or ``"after"``."""

    def __init__(self, *, when: str, **kwargs):
        super().__init__(**kwargs)
        self.when = when
        self.notebook = _relative(Path(self.path))
        self.add_marker(pytest.mark.cluster)

    def runtest(self) -> None:
        cluster = _connect()
        left, workers = left_objects(cluster), worker_problems(cluster)
        if self.when == "before":
            if left or workers:
                _restore(cluster)
                raise ClusterNotClean(
                    f"Before {self.notebook} ran, the course cluster was not clean (left by an earlier test "
                    f"or notebook): {'; '.join(left + workers)}. Cleaned up, so that the check after this "
                    f"notebook is about the notebook alone.")
            if self.notebook in LEFT_OVER_BEFORE:
                from whyk8s.k8s import objects, specs
                objects.create(cluster, specs.pod(LEFT_OVER_POD))
            return
        if left or workers:
            _restore(cluster)
            planted = (f" (the pod {LEFT_OVER_POD} was planted before its first cell: its clean-up cell "
                       f"must delete whatever the course labelled)"
                       if self.notebook in LEFT_OVER_BEFORE and any(LEFT_OVER_POD in x for x in left) else "")
            raise ClusterNotClean(
                f"{self.notebook} left the course cluster changed after its last cell{planted}: "
                + "; ".join(([f"course objects still there: {', '.join(left)}"] if left else []) + workers)
                + ". (Cleaned up and restored for the next notebook.)")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ClusterNotClean):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.notebook}: {self.name}"


def _nbval_file(item) -> pytest.Collector | None:
    parent = item.parent
    return parent if type(parent).__name__ == "IPyNbFile" and type(item).__name__ == "IPyNbCell" else None


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """Put the two cluster checks around the cells nbval collects from a notebook (at collection
    time, so that ``-k`` and ``-m`` select them like any test)."""
    report = yield
    if type(collector).__name__ == "IPyNbFile" and report.passed and report.result:
        report.result.insert(0, NotebookClusterCheck.from_parent(collector, name="before the first cell",
                                                                 when="before"))
        report.result.append(NotebookClusterCheck.from_parent(collector, name="after the last cell", when="after"))
    return report


def pytest_collection_modifyitems(session, config, items):
    """Mark the tests that build the site ``book``."""
    for item in items:
        if BOOK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.book)


class _DropChecksWithoutCells:
    """After ``-k`` / ``-m`` have deselected items: a notebook none of whose cells will run gets no
    checks either (e.g. ``pytest --nbval -m cluster`` must not start kernels to check nothing)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        running = {id(_nbval_file(i)) for i in items if _nbval_file(i) is not None}
        drop = [i for i in items if isinstance(i, NotebookClusterCheck) and id(i.parent) not in running]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = [i for i in items if not (isinstance(i, NotebookClusterCheck) and id(i.parent) not in running)]


class _OneRunPerCluster:
    """After selection: a run that will use the course cluster (an item marked ``cluster``, or a
    notebook's cells) takes the cluster for itself (:func:`whyk8s.cluster.providers.hold_for_tests`),
    or stops before any test when another run holds it: two runs on one cluster would clean up each
    other's objects mid-test."""

    def __init__(self):
        self.lock = None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        if config.option.collectonly or not any(
                i.get_closest_marker("cluster") or _nbval_file(i) is not None for i in items):
            return
        from whyk8s.cluster.providers import ClusterInUseError, hold_for_tests
        try:
            self.lock = hold_for_tests(what=" ".join(["pytest", *config.invocation_params.args])[:200])
        except ClusterInUseError as exc:
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_configure(config):
    config.pluginmanager.register(_DropChecksWithoutCells(), "whyk8s-drop-checks-without-cells")
    config.pluginmanager.register(_OneRunPerCluster(), "whyk8s-one-run-per-cluster")
