"""Shared assertion for the lab-check tests."""


def rejected(result, fragment: str) -> None:
    """``result`` (a CheckResult) did not pass, and one of its problems contains ``fragment``."""
    assert not result.passed
    assert any(fragment in p for p in result.problems), result.problems
