"""A line in the running cell that says what a long wait waits for and the seconds so far, updated in
place (:class:`Progress`), so that a cell that takes half a minute does not show only ``[*]``.

Kept apart from :mod:`whyk8s.notebook.display` so that the lessons may use it (the layering of
CONTRIBUTING.md: lessons do not import the display's error handling or the widgets).
"""

from __future__ import annotations

import html

__all__ = ["Progress", "PROGRESS_MARK"]


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


#: The first character of a :class:`Progress` line's text. nbval keeps a display as it was first
#: shown (it does not apply updates) while the saved notebook holds the last update, so
#: ``tests/nbval_sanitize.cfg`` masks the text after it (and the HTML line's).
PROGRESS_MARK = "⏱"


class _Line:
    """A one-line display whose text changes in place."""

    def __init__(self, text: str, ok: bool = False):
        self.text, self.ok = text, ok

    def _repr_html_(self) -> str:
        colour = "#009E73" if self.ok else "#555"
        return f"<div class='whyk8s-progress' style='color:{colour}'>{html.escape(repr(self))}</div>"

    def __repr__(self) -> str:
        return f"{PROGRESS_MARK} {self.text}"


class Progress:
    """A line in the running cell that says what a long wait waits for and the seconds so far,
    updated in place (a display with a ``display_id``), so that a cell that takes half a minute does
    not show only ``[*]``. Outside IPython it shows nothing.

    ``update(seconds)`` rewrites it ("⏱ <what>: 12 s so far"); ``done(text)`` replaces it with a
    last sentence that does not change from run to run (the notebook's saved output). Its text/plain
    starts with :data:`PROGRESS_MARK`."""

    def __init__(self, what: str):
        self.what = what
        self._handle = None
        if _shell() is not None:
            from IPython.display import display
            self._handle = display(_Line(f"{what}: 0 s so far"), display_id=True)

    def update(self, seconds: float) -> None:
        if self._handle is not None:
            self._handle.update(_Line(f"{self.what}: {seconds:.0f} s so far"))

    def done(self, text: str, ok: bool = True) -> None:
        if self._handle is not None:
            self._handle.update(_Line(("done: " if ok else "gave up: ") + text, ok=ok))
