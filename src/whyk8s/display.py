"""Showing things in a notebook: the "start the cluster" panel and the ``live`` decorator.

Notebook-facing functions that need the course cluster are wrapped with :func:`live`: when no course
cluster answers (or the context is foreign), they display one short panel saying what to run and
return None, so the rest of the chapter still reads well.
"""

from __future__ import annotations

import functools
import html

from whyk8s.errors import ClusterUnreachableError, CourseError, NotCourseClusterError, explain

__all__ = ["cluster_panel_html", "show_cluster_panel", "live", "CLUSTER_PANEL_TITLE"]

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


def show_cluster_panel(reason: str) -> None:
    """Display the panel in the current cell."""
    from IPython.display import display
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
