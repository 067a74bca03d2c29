"""Lab checks. Each lab module (``images_lab``, ``pod_lab``, ``healing_lab``, ``gpu_lab``,
``fairness_lab``, ``survey_lab``) exposes ``check_*`` functions returning a
:class:`whyk8s.labs.feedback.CheckResult`, and a ``reset()`` where the lab creates objects.

What they share: :mod:`whyk8s.labs.checks` (the one check preamble, "not answered yet", multiple
choice), :mod:`whyk8s.labs.reset` (delete what carries the course label, name what is left alone),
:mod:`whyk8s.labs.common` (the set-up cell, a guarded connection, reading objects back)."""

from whyk8s.labs.feedback import CheckResult, Finding, ResetResult

__all__ = ["CheckResult", "Finding", "ResetResult"]
