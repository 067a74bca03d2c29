"""Lab checks. Each lab module exposes ``check_*`` functions returning a
:class:`whyk8s.labs.feedback.CheckResult`, and a ``reset()`` where the lab creates objects."""

from whyk8s.labs.feedback import CheckResult, Finding

__all__ = ["CheckResult", "Finding"]
