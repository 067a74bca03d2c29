"""Showing things in a notebook: the "start the cluster" panel and the ``live`` decorator.

Notebook-facing functions that need the course cluster are wrapped with :func:`live`: when no course
cluster answers (or the context is foreign), they display one short panel saying what to run and
return None, so the rest of the chapter still reads well.
"""

from __future__ import annotations

import functools
import html

from whyk8s.errors import ClusterUnreachableError, CourseError, NotCourseClusterError, explain

__all__ = ["cluster_panel_html", "show_cluster_panel", "live", "CLUSTER_PANEL_TITLE", "OfflineCluster",
           "install_panel_handler", "notebook_cluster", "mark_offline", "show_nodes", "show_runtimes"]

CLUSTER_PANEL_TITLE = "This cell needs the course cluster"


def cluster_panel_html(reason: str) -> str:
    """The panel's HTML: what happened (``reason``) and the commands that fix it."""
    return (
        "<div class='whyk8s-panel' style='border-left:4px solid #E69F00;padding:6px 12px;"
        "background:#fff8e6'>"
        f"<b>{CLUSTER_PANEL_TITLE}.</b> {html.escape(reason)}<br>"
        "Start it in a terminal with <code>make lab</code> or <code>whyk8s cluster up</code>, "
        "check it with <code>whyk8s cluster doctor</code>, then run this cell again."
        "</div>"
    )


class _Panel:
    """Displayable panel with stable text/plain (for nbval) and HTML (for people)."""

    def __init__(self, reason: str):
        self.reason = reason

    def _repr_html_(self) -> str:
        return cluster_panel_html(self.reason)

    def __repr__(self) -> str:
        return f"{CLUSTER_PANEL_TITLE}. {self.reason} Start it with `make lab` or `whyk8s cluster up`."


_shown_in: set = set()


def _execution_count():
    try:
        from IPython import get_ipython
        shell = get_ipython()
        return shell.execution_count if shell is not None else None
    except ImportError:
        return None


def show_cluster_panel(reason: str) -> None:
    """Display the panel in the current cell (once per cell execution)."""
    from IPython.display import display
    count = _execution_count()
    if count is not None:
        if count in _shown_in:
            return
        _shown_in.add(count)
    display(_Panel(reason))


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, (ClusterUnreachableError, NotCourseClusterError, ConnectionError)) or \
        type(exc).__name__ in {"MaxRetryError", "NewConnectionError", "ConnectTimeoutError"}


def live(func):
    """Decorate a notebook-facing function that needs the cluster: on a missing or foreign cluster
    it shows the panel and returns None; other course errors are shown as one sentence."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if _is_connection_error(exc):
                show_cluster_panel(explain(exc))
                return None
            if isinstance(exc, (CourseError, ValueError)) or type(exc).__name__ == "ApiException":
                from IPython.display import display
                display(_Message(explain(exc)))
                return None
            raise
    return wrapper


class _Message:
    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return f"<div style='color:#D55E00'>⚠ {html.escape(self.text)}</div>"

    def __repr__(self) -> str:
        return f"⚠ {self.text}"


class OfflineCluster:
    """Stands in for the course cluster when none answered at the top of a notebook.

    Any use of it (``cluster.core``, ``cluster.namespace``, ...) raises
    :class:`~whyk8s.errors.ClusterUnreachableError` with the original reason, which the notebook's
    handler (:func:`install_panel_handler`) shows as the short panel instead of a traceback. It is
    falsy, so widgets given it try to connect themselves and offer a Retry button.
    """

    def __init__(self, reason: str):
        self.reason = reason

    def __getattr__(self, name):
        raise ClusterUnreachableError(self.reason)

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "OfflineCluster (no course cluster answered)"


_offline: list[str] = []  # the reason, once a cell of this kernel found no course cluster


def _panel_handler(shell, etype, evalue, tb, tb_offset=None):
    if issubclass(etype, NameError):
        if not _offline:  # an ordinary NameError: the usual traceback
            stb = shell.InteractiveTB.structured_traceback(etype, evalue, tb, tb_offset=tb_offset)
            shell._showtraceback(etype, evalue, stb)
            return None
        show_cluster_panel(f"{_offline[0]} (This cell uses the result of an earlier live cell.)")
        return None
    reason = explain(evalue)
    if not _offline:
        _offline.append(reason)
    show_cluster_panel(reason)
    return None


def install_panel_handler() -> bool:
    """In IPython, show the panel (not a traceback) whenever a cell fails because the course cluster
    is missing, foreign or stopped answering — and, once that happened, when a later cell fails with
    a NameError because an earlier live cell could not define its result. Returns False outside IPython. Jupyter still marks the
    cell as failed, so "Run all" stops there, at the panel that says what to run."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    kinds = [ClusterUnreachableError, NotCourseClusterError, ConnectionRefusedError, NameError]
    try:
        from kubernetes.config.config_exception import ConfigException
        from urllib3.exceptions import MaxRetryError, NewConnectionError
        kinds += [MaxRetryError, NewConnectionError, ConfigException]
    except ImportError:
        pass
    shell.set_custom_exc(tuple(kinds), _panel_handler)
    return True


def mark_offline(reason: str) -> None:
    """Record that this kernel found no course cluster (so that later NameErrors show the panel)."""
    _offline[:] = [reason]


def notebook_cluster(namespace: str | None = None):
    """Connect a chapter or lab to the course cluster: the first live cell of a notebook.

    Installs :func:`install_panel_handler`, then returns a :class:`whyk8s.k8s.guard.Cluster` for the
    course namespace (default ``whyk8s``), or, when no course cluster answers or the context is
    foreign, shows the panel once and returns an :class:`OfflineCluster`.
    """
    from whyk8s import DEFAULT_NAMESPACE
    from whyk8s.k8s.guard import connect
    install_panel_handler()
    try:
        cluster = connect(namespace or DEFAULT_NAMESPACE)
    except (ClusterUnreachableError, NotCourseClusterError) as exc:
        _offline[:] = [explain(exc)]
        show_cluster_panel(explain(exc))
        return OfflineCluster(explain(exc))
    _offline.clear()
    return cluster


@live
def show_nodes():
    """Notebook: display :func:`whyk8s.k8s.nodes.node_table` (or the start-the-cluster panel)."""
    from whyk8s.k8s.nodes import node_table
    return node_table()


@live
def show_runtimes():
    """Notebook: display :func:`whyk8s.k8s.nodes.runtime_table` (or the start-the-cluster panel)."""
    from whyk8s.k8s.nodes import runtime_table
    return runtime_table()
