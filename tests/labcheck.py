"""Shared helpers for the lab-check tests: an assertion, and a test-only clean-up by name."""

from __future__ import annotations

import time

from kubernetes import client

from whyk8s.k8s.objects import KINDS
from whyk8s.k8s.waits import wait_until_gone


def rejected(result, fragment: str) -> None:
    """``result`` (a CheckResult) did not pass, and one of its problems (or of its hints, such as how
    to create an object again) contains ``fragment``."""
    assert not result.passed
    assert any(fragment in p for p in result.problems + result.hints), (result.problems, result.hints)


def purge(cluster, refs, timeout: float = 90) -> None:
    """Delete the objects ``refs`` (``(kind, namespace, name)``, namespace None for cluster-scoped
    kinds) whatever their labels, with what they own, and wait until they are gone.

    Test code only: the course never deletes by name (a lab's reset leaves unlabelled objects alone),
    so tests that plant objects without the course label remove them with this."""
    opts = client.V1DeleteOptions(propagation_policy="Background", grace_period_seconds=0)
    for kind, namespace, name in refs:
        entry = KINDS[kind]
        try:
            if entry.namespaced:
                entry.fn(cluster, "delete")(name, namespace, body=opts)
            else:
                entry.fn(cluster, "delete")(name, body=opts)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + timeout
    for kind, namespace, name in refs:
        entry = KINDS[kind]
        args = (namespace,) if entry.namespaced else ()
        left = wait_until_gone(entry.fn(cluster, "list"), *args, field_selector=f"metadata.name={name}",
                               deadline=deadline)
        assert not left, f"{kind} {name} was not deleted within {timeout} s"
