"""What a lab's ``check()`` and ``reset()`` return: a list of findings, each right or wrong, in plain words.

A check never returns a bare ``False`` and never raises at the learner: a missing object, an
unreachable cluster or a wrong value each become one finding that names the field and what was
expected ("the Pod requests 500m CPU; the task asks for 250m").
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

__all__ = ["Finding", "CheckResult", "ResetResult"]


@dataclass(frozen=True)
class Finding:
    """One observation: ``ok`` is True when this part of the task is right, False when it is wrong,
    None for a hint (what to do next, not a fault); ``message`` says what."""

    ok: bool | None
    message: str

    @property
    def mark(self) -> str:
        return {True: "✔", False: "✘", None: "→"}[self.ok]


@dataclass
class CheckResult:
    """The outcome of one ``check()``: a title and its findings, in the order they were made.

    ``passed`` is True when there is at least one finding and every finding is ok. The result shows
    itself as a short list in a notebook (text and HTML), so a learner sees every finding at once,
    under the title and a verdict (:meth:`verdict`: "all checks pass" or "not yet").
    """

    title: str
    findings: list[Finding] = field(default_factory=list)

    def ok(self, message: str) -> None:
        """Record something the learner got right."""
        self.findings.append(Finding(True, message))

    def wrong(self, message: str) -> None:
        """Record something wrong: the message names the field or object and what was expected."""
        self.findings.append(Finding(False, message))

    def hint(self, message: str) -> None:
        """Record what to do next (shown with an arrow, not counted as a fault; it never makes a
        result pass on its own)."""
        self.findings.append(Finding(None, message))

    @property
    def passed(self) -> bool:
        return any(f.ok for f in self.findings) and all(f.ok is not False for f in self.findings)

    @property
    def problems(self) -> list[str]:
        """The messages of the findings that are wrong."""
        return [f.message for f in self.findings if f.ok is False]

    @property
    def hints(self) -> list[str]:
        """The messages of the hints."""
        return [f.message for f in self.findings if f.ok is None]

    def verdict(self) -> str:
        """The words after the title: ``"all checks pass"`` or ``"not yet"``."""
        return "all checks pass" if self.passed else "not yet"

    def __bool__(self) -> bool:  # so `assert check()` works in solution notebooks
        return self.passed

    def __str__(self) -> str:
        lines = [f"{self.title}: {self.verdict()}"]
        lines += [f"  {f.mark} {f.message}" for f in self.findings]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#009E73" if self.passed else "#D55E00"
        items = "".join(
            f"<li>{f.mark} {html.escape(f.message)}</li>" for f in self.findings
        )
        return (
            f"<div style='border-left:4px solid {colour};padding:4px 10px'>"
            f"<b>{html.escape(self.title)}</b>: {html.escape(self.verdict())}"
            f"<ul style='margin:4px 0'>{items}</ul></div>"
        )


@dataclass(repr=False)  # keep CheckResult's text as the repr
class ResetResult(CheckResult):
    """The outcome of a lab's ``reset()``: what was removed (ok findings) and what was left alone
    and why (wrong findings, each with the line that would delete it).

    Its verdict is ``"done"`` (not a grade: the learner may not have done anything yet), ``"done,
    but N left alone"`` when the reset left objects of the lab's task that the course may not
    delete, and ``"not done"`` when it could not run (e.g. no cluster). ``passed`` is True when
    nothing was left behind.
    """

    ran: bool = False

    @property
    def passed(self) -> bool:
        return self.ran and all(f.ok for f in self.findings)

    def verdict(self) -> str:
        if not self.ran:
            return "not done"
        left = len(self.problems)
        return "done" if not left else f"done, but {left} left alone"
