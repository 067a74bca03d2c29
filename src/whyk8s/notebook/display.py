"""Showing things in a notebook: the start-the-cluster panel, one-sentence errors, and ``live``.

- :func:`notebook_cluster` is the first live cell of a chapter: it installs the notebook's error
  handler and returns a connection (or, without a course cluster, an :class:`OfflineCluster` after
  showing the panel once).
- :func:`install_error_handler` makes every later cell of the kernel — chapter or lab, the
  learner's own raw-client code included — show one sentence instead of a traceback when the
  cause is the cluster: the panel when no course cluster answers (:func:`whyk8s.errors.is_connection_error`),
  and :func:`whyk8s.errors.explain` for a refusal of the API server (shared/cases *api-error-text*,
  *lab-cell-api-error*). Jupyter still marks the cell as failed, so *Run All* stops there.
- A ``NameError`` is the learner's own unless the missing name is one that an earlier cell, shown
  one sentence instead of a traceback, would have defined: then it shows the panel if that cell
  failed because no cluster answered, else one sentence saying the name was not set because the
  cell that assigns it failed (its message is above). :func:`failed_cell` tells a lab's check that a
  cell which calls a given function failed, and why.
- :func:`live` wraps a notebook-facing function that needs the cluster in the same way.
"""

from __future__ import annotations

import ast
import functools
import html
import re

from whyk8s.errors import API, KUBECONFIG, classify, explain, is_client_validation, is_connection_error

__all__ = ["cluster_panel_html", "show_cluster_panel", "live", "CLUSTER_PANEL_TITLE", "OfflineCluster",
           "install_error_handler", "notebook_cluster", "show_nodes",
           "show_runtimes", "Message", "failed_cell", "notebook_defaults", "kueue_cluster",
           "karpenter_cluster"]

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


class Message:
    """One sentence shown in place of a traceback (HTML for people, stable text for nbval)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return f"<div class='whyk8s-error' style='color:#D55E00'>⚠ {html.escape(self.text)}</div>"

    def __repr__(self) -> str:
        return f"⚠ {self.text}"


_shown_in: set = set()


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _execution_count():
    shell = _shell()
    return shell.execution_count if shell is not None else None


def show_cluster_panel(reason: str) -> None:
    """Display the panel in the current cell (once per cell execution)."""
    from IPython.display import display
    count = _execution_count()
    if count is not None:
        if count in _shown_in:
            return
        _shown_in.add(count)
    display(_Panel(reason))


def _needs_cluster(exc: BaseException) -> bool:
    """True when ``exc`` means no course cluster can be used from here: none answered, the context is
    not the course's, or the kubeconfig is missing or unusable (e.g. a learner's own
    ``config.load_kube_config()`` with no kubeconfig)."""
    return is_connection_error(exc) or classify(exc) == KUBECONFIG


def _show_error(exc: BaseException) -> bool:
    """Show ``exc`` as the panel or one sentence if its cause is the cluster or the API server.
    Returns False for anything else (the caller shows the usual traceback)."""
    from IPython.display import display

    from whyk8s.k8s.rights import InstructorDemonstration
    if _needs_cluster(exc):
        show_cluster_panel(explain(exc))
        return True
    if classify(exc) == API or is_client_validation(exc) or isinstance(exc, InstructorDemonstration):
        display(Message(explain(exc)))
        if isinstance(exc, InstructorDemonstration):  # a workshop participant watches it live, read-only
            from whyk8s.notebook.widgets.workshop import show_demonstration
            show_demonstration()
        return True
    return False


def live(func):
    """Decorate a notebook-facing function that needs the cluster: on a missing or foreign cluster
    it shows the panel and returns None; an API refusal, a course error or bad input is shown as one
    sentence and returns None; anything else is raised."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        install_error_handler()
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if _show_error(exc):
                _remember_undefined(explain(exc), _needs_cluster(exc))
                return None
            if classify(exc) in ("course", "input"):
                from IPython.display import display
                display(Message(explain(exc)))
                return None
            raise
    return wrapper


class OfflineCluster:
    """Stands in for the course cluster when none answered at the top of a notebook.

    Any use of it (``cluster.core``, ``cluster.namespace``, ...) raises
    :class:`~whyk8s.errors.ClusterUnreachableError` with the original reason, which the notebook's
    handler (:func:`install_error_handler`) shows as the short panel instead of a traceback. It is
    falsy, so widgets given it try to connect themselves and offer a Retry button. With
    ``demonstration`` (the cluster answers, but the chapter's steps are the instructor's: a workshop
    participant), it raises :class:`~whyk8s.k8s.rights.InstructorDemonstration` instead, shown as
    that one sentence.
    """

    def __init__(self, reason: str, demonstration: bool = False):
        self.reason = reason
        self.demonstration = demonstration

    def __getattr__(self, name):
        from whyk8s.errors import ClusterUnreachableError
        if self.__dict__.get("demonstration"):
            from whyk8s.k8s.rights import InstructorDemonstration
            raise InstructorDemonstration(self.reason)
        raise ClusterUnreachableError(self.reason)

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "OfflineCluster (no course cluster answered)"


#: Names that a failed cell would have defined: name → (the sentence shown for that cell, True when
#: the cause was that no course cluster could be used).
_undefined: dict[str, tuple[str, bool]] = {}
#: The latest failed cells shown one sentence: (their source, the sentence), oldest first.
_failed_cells: list[tuple[str, str]] = []
#: Names that a cell would have defined had it not been the instructor's demonstration (a workshop
#: participant's kubeconfig lacks the rights): a NameError about one of them is explained, not raised.
_demonstration_names: set[str] = set()


def _assigned_names(source: str) -> set[str]:
    """Top-level names a cell's code assigns (``x = …``, ``for x in``, ``import x``, ``def x``, …)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _current_source() -> str | None:
    shell = _shell()
    if shell is None:
        return None
    try:
        return shell.history_manager.input_hist_raw[-1]
    except (AttributeError, IndexError):
        return None


def _remember_undefined(reason: str, cluster: bool) -> None:
    """The current cell failed and was shown ``reason`` (``cluster``: because no course cluster could
    be used): the names it would have defined (and has not) are remembered, so that a later NameError
    about one of them says why, and the cell is remembered for :func:`failed_cell`."""
    source = _current_source()
    if source is None:
        return
    _failed_cells.append((source, reason))
    del _failed_cells[:-20]
    shell = _shell()
    for name in _assigned_names(source):
        if name not in shell.user_ns:
            _undefined[name] = (reason, cluster)


def failed_cell(call: str) -> str | None:
    """The sentence shown for the latest cell of this kernel that calls ``call`` (a function or
    method name, e.g. ``"create_namespaced_pod"``) and failed with one sentence instead of a
    traceback, if that cell has not since run without failing; else None. A lab's check uses it to
    tell "the create failed" from "the create was never run"."""
    pattern = re.compile(rf"(?m)^[^#\n]*\b{re.escape(call)}\s*\(")
    for source, sentence in reversed(_failed_cells):
        if pattern.search(source):
            return sentence
    return None


_API_CALL = re.compile(r"\.((?:create|delete|patch|replace|read|list)_\w+)\s*\(")


def _forget_failure(source: str) -> None:
    """A cell ran without failing: an earlier failure of the same code, or of a cell making one of the
    same API calls (``….create_namespaced_pod(``, …: the learner fixed it), no longer counts."""
    calls = set(_API_CALL.findall(source))
    _failed_cells[:] = [(s, r) for s, r in _failed_cells
                        if s != source and not (calls & set(_API_CALL.findall(s)))]


def _post_run_cell(result) -> None:
    if getattr(result, "success", False):
        source = getattr(getattr(result, "info", None), "raw_cell", None)
        if source:
            _forget_failure(source)


def _remember_demonstration() -> None:
    """The current cell was the instructor's demonstration: remember the names it would have defined."""
    shell = _shell()
    if shell is None:
        return
    try:
        source = shell.history_manager.input_hist_raw[-1]
    except (AttributeError, IndexError):
        return
    _demonstration_names.update(n for n in _assigned_names(source) if n not in shell.user_ns)


def _error_handler(shell, etype, evalue, tb, tb_offset=None):
    from whyk8s.errors import WaitTimeoutError
    from whyk8s.k8s.rights import InstructorDemonstration
    if issubclass(etype, NameError) and getattr(evalue, "name", None) in _demonstration_names:
        from IPython.display import display
        name = evalue.name
        display(Message(f"This cell uses {name!r}, which the instructor's demonstration above defines: in a "
                        f"workshop that step is run on the instructor's screen, so this cell is too."))
        _remember_demonstration()
        return None
    if issubclass(etype, InstructorDemonstration):
        _show_error(evalue)
        _remember_demonstration()
        return None
    if issubclass(etype, WaitTimeoutError):  # its message says what it waited for and what it saw
        from IPython.display import display
        display(Message(explain(evalue)))
        _remember_undefined(explain(evalue), cluster=False)
        return None
    if "'ellipsis'" in str(evalue) or "Ellipsis" in str(evalue):  # a lab's `...` placeholder left in a value
        from IPython.display import display
        display(Message("This cell still holds a `...` placeholder where a value belongs: replace each `...` "
                        "with your answer, then run the cell again."))
        return None
    if issubclass(etype, NameError):
        name = getattr(evalue, "name", None)
        if name in _undefined:
            reason, cluster = _undefined[name]
            if cluster:
                show_cluster_panel(f"{reason} This cell uses {name!r}, which that earlier cell "
                                   f"would have defined: run it again once the cluster answers.")
            else:
                from IPython.display import display
                display(Message(f"{name!r} was not set: the cell that assigns it failed; see its message "
                                f"above (\"{_short(reason)}\"). Fix that cell and run it again, then this one."))
            _remember_undefined(reason, cluster)  # what this cell would have defined is missing for the same reason
            return None
    elif _show_error(evalue):
        _remember_undefined(explain(evalue), _needs_cluster(evalue))
        return None
    stb = shell.InteractiveTB.structured_traceback(etype, evalue, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, evalue, stb)
    return None


def _short(sentence: str, limit: int = 160) -> str:
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + " …"


def notebook_defaults() -> None:
    """What every course notebook's kernel shows differently from the libraries' defaults: pandas
    tables keep each cell's whole text (``display.max_colwidth`` None; its default, 50 characters,
    cut an HPA condition's message to "the HPA was unable to compute the replica coun..."); the
    browser wraps long cells."""
    try:
        import pandas as pd
    except ImportError:
        return
    pd.set_option("display.max_colwidth", None)


def install_error_handler() -> bool:
    """In IPython, show one sentence (not a traceback) whenever a cell fails because no course
    cluster answers (the panel), because the API server refused (:func:`whyk8s.errors.explain`),
    because a course wait ran out of time (:class:`~whyk8s.errors.WaitTimeoutError`, whose message
    names what it saw: e.g. a pod Pending while every GPU is taken in a workshop), because the step
    is the instructor's demonstration, because a lab's ``...`` placeholder was left in a value, or with a
    NameError for a name that such a failed cell would have defined. Every other error keeps
    its usual traceback. Also applies :func:`notebook_defaults`. Returns False outside IPython.
    Jupyter still marks the cell as failed."""
    shell = _shell()
    if shell is None:
        return False
    notebook_defaults()
    shell.set_custom_exc((Exception,), _error_handler)
    if _post_run_cell not in shell.events.callbacks.get("post_run_cell", []):
        shell.events.register("post_run_cell", _post_run_cell)
    return True



def notebook_cluster(namespace: str | None = None):
    """Connect a chapter or lab to the course cluster: the first live cell of a notebook.

    Installs :func:`install_error_handler`, then returns a :class:`whyk8s.k8s.guard.Cluster` for the
    course namespace (default ``whyk8s``, or a workshop participant's own:
    :func:`whyk8s.k8s.guard.default_namespace`; created if missing), or, when no course cluster
    answers or the context is foreign, shows the panel once and returns an :class:`OfflineCluster`.
    """
    from whyk8s.k8s.guard import connect
    install_error_handler()
    try:
        cluster = connect(namespace, create_namespace=True)
    except Exception as exc:  # noqa: BLE001 - classified below
        if not is_connection_error(exc) and classify(exc) != "kubeconfig":
            raise
        show_cluster_panel(explain(exc))
        return OfflineCluster(explain(exc))
    for name in [n for n, (_reason, by_cluster) in _undefined.items() if by_cluster]:
        del _undefined[name]  # the cluster answers now; names a cell failed to set for another reason stay
    return cluster


def _controller_cluster(cluster, log, needs, runs: str, ensure, route_note: str = ""):
    """What :func:`kueue_cluster` and :func:`karpenter_cluster` share: ``(cluster, started)`` once
    ``ensure(cluster, log=log)`` has the controller running, or an :class:`OfflineCluster` carrying one
    sentence, shown in place, when the user lacks ``needs`` (a workshop participant: the instructor's
    demonstration) or the controller cannot run here (the kind route: ``ensure`` raises CourseError)."""
    if not cluster:
        return cluster, False
    from IPython.display import display

    from whyk8s.errors import CourseError
    from whyk8s.k8s.rights import can
    if not can(cluster, needs):
        reason = (f"This chapter runs {runs}: with your kubeconfig (a workshop account, whose rights end at "
                  f"your namespace) its live cells are the instructor's demonstration, so watch them on the "
                  f"instructor's screen.")
        display(Message(reason))
        return OfflineCluster(reason, demonstration=True), False
    try:
        return cluster, ensure(cluster, log=log)
    except CourseError as exc:
        name = runs.split()[0]
        reason = (f"This chapter runs {name} on the kwok route only{route_note}. {exc} Then restart the kernel "
                  f"and run the chapter from the top.")
        display(Message(reason))
        return OfflineCluster(reason), False


def kueue_cluster(cluster, log=print):
    """Connect a chapter to Kueue: return ``(cluster, started)``. On the course's kwok cluster, start
    Kueue unless it runs (``log`` gets one sentence before the wait; ``started`` is True when this call
    started it, so the chapter's clean-up knows to stop it again). Without a cluster (an
    :class:`OfflineCluster`) return it unchanged. Off the kwok route (on kind), show in place one
    sentence saying that the chapter runs on the kwok route and how to switch, and return an
    :class:`OfflineCluster` carrying that sentence, so every later cell that uses the cluster shows
    the panel with it instead of a traceback. A user who may not create ClusterQueues (a workshop
    participant) gets one sentence saying the chapter's live cells are the instructor's
    demonstration, and an :class:`OfflineCluster` whose every use says so again."""
    from whyk8s.k8s.rights import Access
    from whyk8s.lessons import queueing
    return _controller_cluster(cluster, log, Access("create", "clusterqueues", "kueue.x-k8s.io"),
                               "Kueue and creates its cluster-wide queues (ResourceFlavors, ClusterQueues)",
                               queueing.ensure_kueue)


def karpenter_cluster(cluster, log=print):
    """Connect a chapter to Karpenter: return ``(cluster, started)``, as :func:`kueue_cluster` does for
    Kueue (start it on the kwok cluster; on kind, or for a workshop participant who may not create
    NodePools, one sentence in place and an :class:`OfflineCluster` carrying it)."""
    from whyk8s.k8s.rights import Access
    from whyk8s.lessons import gpu_pools
    return _controller_cluster(cluster, log, Access("create", "nodepools", "karpenter.sh"),
                               "Karpenter and creates a cluster-wide NodePool", gpu_pools.ensure_karpenter,
                               route_note="; here it explains what would happen")


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
