"""The machinery of lab checks: one preamble, one way to say "not answered yet", multiple choice,
"which slip is this" tables, and how to redo a step whose object exists with wrong fields.

A check is a function decorated with :func:`check` (no cluster) or :func:`cluster_check`: the
decorator creates its :class:`~whyk8s.labs.feedback.CheckResult` and, for a cluster check, a
guarded connection (or records why there is none and stops), and turns any exception into one
finding (:func:`failure_sentence`, built on :func:`whyk8s.errors.classify` and
:func:`whyk8s.errors.explain`). So a check never raises at the learner::

    @cluster_check("Step 3: scale to 5")
    def check_scaled(result, cluster, timeout=20):
        ...                       # the learner calls check_scaled() or check_scaled(timeout=5)
"""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from whyk8s.errors import FILE, OTHER, classify, explain
from whyk8s.k8s.guard import is_course_labelled
from whyk8s.k8s.rights import Access, InstructorDemonstration, require
from whyk8s.labs.common import delete_commands, lab_cluster
from whyk8s.labs.feedback import CheckResult
from whyk8s.k8s.progress import record_check

__all__ = ["NOT_ANSWERED", "unanswered", "not_answered", "failure_sentence", "never_raise", "check",
           "cluster_check", "MultipleChoice", "first_slip", "recreate_hint"]

#: What a check says about a placeholder (``...`` or ``None``) still in the learner's cell.
NOT_ANSWERED = "not answered yet: replace the ... with your answer and run the cell again"


def unanswered(value) -> bool:
    """True for the notebook placeholders ``...`` and ``None``."""
    return value is Ellipsis or value is None


def not_answered(name: str) -> str:
    """The finding for an unanswered ``name``: ``"<name>: not answered yet: replace the ..."``."""
    return f"{name}: {NOT_ANSWERED}"


def failure_sentence(exc: BaseException) -> str:
    """One sentence for an exception inside a check, by its kind (:func:`whyk8s.errors.classify`):
    the cluster, the kubeconfig, an API refusal, a course error or bad input as
    :func:`whyk8s.errors.explain` says it; a local file that is missing or not readable names the
    file (never its directory, never "start the cluster") and the cells to run again; anything else
    says honestly that the check itself failed, with the error's type and message."""
    kind = classify(exc)
    if kind == FILE:
        filename = getattr(exc, "filename", None)
        sentence = explain(exc)
        if filename:
            sentence = sentence.replace(str(filename), Path(str(filename)).name)
        return f"{sentence.rstrip('.')}. Run this lab's cells again in order, from the set-up cell."
    if kind == OTHER:
        text = str(exc)
        text = text if len(text) <= 160 else text[:157] + "..."
        return (f"the check itself failed ({type(exc).__name__}: {text}); run this step's cells again "
                f"in order, and report it if it happens again")
    return explain(exc)


def never_raise(title: str, result_type: type[CheckResult] = CheckResult):
    """Decorator for a function returning a ``CheckResult``: any exception becomes one finding
    (:func:`failure_sentence`) of a fresh ``result_type(title)``, except
    :class:`~whyk8s.k8s.rights.InstructorDemonstration`, which the notebook shows as one sentence."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except InstructorDemonstration:
                raise
            except Exception as exc:  # noqa: BLE001 - a check must never raise at the learner
                result = result_type(title)
                result.wrong(failure_sentence(exc))
                return result

        return inner

    return wrap


def _check(title: str, needs_cluster: bool, rights: Sequence[Access] = ()):
    def wrap(fn):
        injected = 2 if needs_cluster else 1

        @functools.wraps(fn)
        def inner(*args, **kwargs):
            result = CheckResult(title)
            cluster = None
            try:
                if needs_cluster:
                    cluster = lab_cluster(result)
                    if cluster is None:
                        return result
                    require(cluster, title, *rights)
                    fn(result, cluster, *args, **kwargs)
                else:
                    fn(result, *args, **kwargs)
            except InstructorDemonstration:
                raise  # the notebook shows it as one sentence (whyk8s.notebook.display)
            except Exception as exc:  # noqa: BLE001 - a check must never raise at the learner
                result.wrong(failure_sentence(exc))
            record_check(result, fn, cluster)  # a workshop participant's: for the instructor; never raises
            return result

        sig = inspect.signature(fn)
        inner.__signature__ = sig.replace(parameters=list(sig.parameters.values())[injected:],
                                          return_annotation=CheckResult)
        return inner

    return wrap


def check(title: str):
    """Decorator for a check that needs no cluster: the function receives a fresh
    ``CheckResult(title)`` as its first argument and records findings in it; the caller gets the
    result. Exceptions become one finding (:func:`failure_sentence`), after those already made. When the
    kubeconfig's context is a workshop participant's, the result is also recorded for the instructor
    (:mod:`whyk8s.k8s.progress`)."""
    return _check(title, needs_cluster=False)


def cluster_check(title: str, rights: Sequence[Access] = ()):
    """Decorator for a check that reads the cluster: the function receives ``(result, cluster)``,
    a fresh ``CheckResult(title)`` and a guarded :class:`~whyk8s.k8s.guard.Cluster`. When there is
    no cluster (unreachable, foreign context) the result holds that one finding and the function is
    not called. Exceptions become one finding, after those already made. With a workshop participant's
    connection the result is also recorded for the instructor (:mod:`whyk8s.k8s.progress`).

    ``rights``: what the lab's task needs beyond the learner's namespace (e.g. creating namespaces).
    When the kubeconfig's user lacks one of them (a workshop participant), the check raises
    :class:`~whyk8s.k8s.rights.InstructorDemonstration` naming ``title``, the one exception a check
    lets through: the notebook shows it as one sentence, and a solution's ``assert result.passed``
    is never reached."""
    return _check(title, needs_cluster=True, rights=rights)


@dataclass(frozen=True)
class MultipleChoice:
    """A multiple-choice question: ``choices`` maps each letter to its statement, ``right`` is the
    right letter, ``why`` maps every letter to the reason it fits (the right one) or does not."""

    choices: Mapping[str, str]
    right: str
    why: Mapping[str, str] = field(default_factory=dict)

    @property
    def letters(self) -> str:
        """``"a, b, c or d"``."""
        names = list(self.choices)
        return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]

    def letter(self, answer) -> str | None:
        """The letter ``answer`` gives (``"b"``, ``"B"``, ``" (b) "``, ``"b)"``), or None."""
        if not isinstance(answer, str):
            return None
        text = answer.strip().strip("().:").strip().lower()
        return text if text in self.choices else None

    def judge(self, result: CheckResult, name: str, answer, other: str | None = None) -> None:
        """Record one finding about ``answer`` (the value of the learner's variable ``name``): not
        answered, not text, not one of the letters (``other`` says what else would do, if anything),
        the right letter with why, or a wrong letter with why it does not fit."""
        if unanswered(answer):
            result.wrong(f"{not_answered(name)} (one letter, {self.letters}, in quotes)")
            return
        if not isinstance(answer, str):
            result.wrong(f"{name} is {answer!r}, not a letter: write one of {self.letters} in quotes, e.g. "
                         f"\"{next(iter(self.choices))}\"")
            return
        letter = self.letter(answer)
        if letter is None:
            result.wrong(other or f"{name} is {answer!r}; choose one of {self.letters}")
        elif letter == self.right:
            result.ok(f"choice {letter} fits: {self.why.get(letter, self.choices[letter])}")
        else:
            result.wrong(f"choice {letter} does not fit: {self.why[letter]}")


#: A slip a learner's number may show: (does this value show it?, the finding that names it).
Slip = tuple[Callable[[float], bool], Callable[[float], str]]


def first_slip(value: float, slips: Sequence[Slip]) -> str | None:
    """The message of the first slip in ``slips`` that ``value`` shows, or None. Order ``slips``
    from the most specific to the most general."""
    for shows, message in slips:
        if shows(value):
            return message(value)
    return None


@contextmanager
def recreate_hint(result: CheckResult, kind: str, obj, cells: str = "this step's create cell") -> Iterator[None]:
    """Around the checks of one object's fields: if any of them is wrong, add one hint that says
    how to create it again, since creating it while it exists fails with ``409 AlreadyExists``:
    run the ``reset()`` cell, then ``cells`` again (the reset deletes the objects of earlier steps
    too); or, for an object without the course label (which ``reset()`` leaves alone), the line that
    deletes just that object, then this step's create cell. The same sentence is not repeated within
    one result."""
    before = len(result.problems)
    yield
    if len(result.problems) == before:
        return
    if is_course_labelled(obj):
        message = (f"to change it, run the reset() cell, then {cells} again (creating an object whose name "
                   f"is taken fails with 409 AlreadyExists)")
    else:
        meta = obj.metadata
        call, kubectl = delete_commands(kind, meta.name, meta.namespace)
        message = (f"to change it, delete the {kind} {meta.name} with {call} ({kubectl}), since reset() "
                   f"leaves objects without the course label alone, then run this step's create cell again")
    if message not in result.hints:
        result.hint(message)
