"""Turn any error the Kubernetes client raises into one sentence a learner can act on."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

__all__ = ["CourseError", "ClusterUnreachableError", "NotCourseClusterError", "explain"]


class CourseError(Exception):
    """Base of the course's own errors; its message is written for a learner."""


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


def explain(exc: BaseException) -> str:
    """Return one readable sentence for ``exc``, never a traceback or a raw HTTP dump.

    - :class:`ApiException`: built from the Status object's ``message`` and ``causes``; 403 adds that
      the course lacks permission, 404 that the object or namespace does not exist.
    - Connection errors (urllib3, OSError): the cluster is unreachable, with the command that starts it.
    - Course errors and ``ValueError``: their own message.
    """
    if isinstance(exc, ApiException):
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
