"""Turn any error the Kubernetes client raises into one sentence a learner can act on."""

from __future__ import annotations

import json
import re

from kubernetes.client.exceptions import ApiException
from kubernetes.utils.quantity import parse_quantity

__all__ = ["CourseError", "ClusterUnreachableError", "NotCourseClusterError", "explain"]


class CourseError(Exception):
    """Base of the course's own errors; its message is written for a learner."""


class WaitTimeoutError(CourseError, TimeoutError):
    """A course wait (pods, nodes, leases, a rollout, a clean-up) ran out of time; the message says
    what it waited for and what it saw. A :class:`TimeoutError`, so ``except TimeoutError`` catches it."""


class NotCourseClusterError(CourseError):
    """The kubeconfig context is not a course cluster and was not opted in."""


class ClusterUnreachableError(CourseError):
    """No API server answered (no kubeconfig, cluster stopped, wrong address)."""


def _status_sentence(exc: ApiException) -> str:
    """The Status object's ``message`` (and the ``causes``), or the HTTP reason if the body is not JSON."""
    try:
        status = json.loads(exc.body or "")
    except (TypeError, ValueError):
        status = None
    if not isinstance(status, dict) or not status.get("message"):
        return f"The API server answered {exc.status} {exc.reason or ''}".strip() + "."
    message = str(status["message"]).strip()
    causes = (status.get("details") or {}).get("causes") or []
    extra = []
    for cause in causes:
        text = cause.get("message") or ""
        field = cause.get("field")
        piece = f"{field}: {text}" if field and field not in message else text
        if piece and piece not in message:
            extra.append(piece)
    sentence = message[0].upper() + message[1:]
    if extra:
        sentence += " (" + "; ".join(extra) + ")"
    if not sentence.endswith("."):
        sentence += "."
    return sentence


def _readable(pairs: str) -> str:
    """``requests.cpu=8,requests.memory=1Gi`` → ``8000m CPU and 1 GiB of memory``."""
    out = []
    for pair in pairs.split(","):
        key, _, value = pair.strip().partition("=")
        try:
            number = parse_quantity(value)
        except (ValueError, ArithmeticError):
            out.append(f"{key}={value}")
            continue
        if key.endswith("cpu"):
            out.append(f"{int(number * 1000)}m CPU")
        elif key.endswith("memory"):
            out.append(f"{_format_bytes(int(number))} of memory")
        elif "nvidia.com/gpu" in key:
            out.append(f"{int(number)} GPU{'s' if number != 1 else ''}")
        else:
            out.append(f"{key}={value}")
    return " and ".join(out)


_QUOTA = re.compile(r'^(\w+) "([^"]+)" is forbidden: exceeded quota: ([^,]+), requested: (.+?), '
                    r"used: (.+?), limited: (.+)$")


def _format_bytes(n: int) -> str:
    from whyk8s.k8s.quantities import format_bytes
    return format_bytes(n)


def _quota_sentence(exc: ApiException, namespace: str | None) -> str | None:
    try:
        status = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return None
    m = _QUOTA.search(str(status.get("message", ""))) if isinstance(status, dict) else None
    if not m:
        return None
    kind, name, quota, requested, used, limited = m.groups()
    where = f" in namespace {namespace}" if namespace else ""
    return (f"Refused by ResourceQuota {quota}{where}: the {kind.rstrip('s')} {name} requests "
            f"{_readable(requested)}, the namespace already uses {_readable(used)} and may use at "
            f"most {_readable(limited)} in total.")


def explain(exc: BaseException, namespace: str | None = None) -> str:
    """Return one readable sentence for ``exc``, never a traceback or a raw HTTP dump.

    - :class:`ApiException`: built from the Status object's ``message`` and ``causes``; 403 adds that
      the course lacks permission; a quota refusal (403 "exceeded quota") names the ResourceQuota
      and what was requested, used and allowed, in readable units (CPU in millicores, memory in
      binary units), e.g. "Refused by ResourceQuota team-quota in namespace team-a: the pod big
      requests 8000m CPU, the namespace already uses 500m CPU and may use at most 4000m CPU in
      total." (``namespace``, optional, is named in that sentence.)
    - Connection errors (urllib3, OSError): the cluster is unreachable, with the command that starts it.
    - Course errors (including :class:`WaitTimeoutError`, which says what a wait waited for) and
      ``ValueError``: their own message.
    """
    if isinstance(exc, ApiException):
        if exc.status == 403:
            quota = _quota_sentence(exc, namespace)
            if quota:
                return quota
        sentence = _status_sentence(exc)
        if exc.status == 403:
            sentence += " The course is not allowed to do this here (forbidden)."
        return sentence
    if isinstance(exc, (CourseError, ValueError)):
        return str(exc)
    name = type(exc).__name__
    if name in {"MaxRetryError", "NewConnectionError", "ProtocolError", "ReadTimeoutError",
                "ConnectTimeoutError"} or isinstance(exc, (ConnectionError, OSError, TimeoutError)):
        return (
            "The course cluster did not answer. Start it with `whyk8s cluster up` "
            "(or `make lab`), then try again."
        )
    return f"{name}: {exc}"
