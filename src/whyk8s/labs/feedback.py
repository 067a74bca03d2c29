"""What a lab's ``check()`` returns: a list of findings, each right or wrong, in plain words.

A check never returns a bare ``False`` and never raises at the learner: a missing object, an
unreachable cluster or a wrong value each become one finding that names the field and what was
expected ("the Pod requests 500m CPU; the task asks for 250m").
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One observation: ``ok`` is True when this part of the task is right; ``message`` says what."""

    ok: bool
    message: str


@dataclass
class CheckResult:
    """The outcome of one ``check()``: a title and its findings, in the order they were made.

    ``passed`` is True when there is at least one finding and every finding is ok. The result shows
    itself as a short list in a notebook (text and HTML), so a learner sees every finding at once.
    """

    title: str
    findings: list[Finding] = field(default_factory=list)

    def ok(self, message: str) -> None:
        """Record something the learner got right."""
        self.findings.append(Finding(True, message))

    def wrong(self, message: str) -> None:
        """Record something wrong: the message names the field or object and what was expected."""
        self.findings.append(Finding(False, message))

    @property
    def passed(self) -> bool:
        return bool(self.findings) and all(f.ok for f in self.findings)

    @property
    def problems(self) -> list[str]:
        """The messages of the findings that are wrong."""
        return [f.message for f in self.findings if not f.ok]

    def __bool__(self) -> bool:  # so `assert check()` works in solution notebooks
        return self.passed

    def __str__(self) -> str:
        head = f"{self.title}: {'all checks pass' if self.passed else 'not yet'}"
        lines = [head] + [f"  {'✔' if f.ok else '✘'} {f.message}" for f in self.findings]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#009E73" if self.passed else "#D55E00"
        verdict = "all checks pass" if self.passed else "not yet"
        items = "".join(
            f"<li>{'✔' if f.ok else '✘'} {html.escape(f.message)}</li>" for f in self.findings
        )
        return (
            f"<div style='border-left:4px solid {colour};padding:4px 10px'>"
            f"<b>{html.escape(self.title)}</b>: {verdict}<ul style='margin:4px 0'>{items}</ul></div>"
        )
