"""The course's errors, the one classifier of what went wrong, and one sentence a learner can act on.

:func:`classify` is the only place that decides what kind of failure an exception is. Everything
that shows an error (the notebook panel, the widgets' status lines, the labs' checks, the CLI, the
watches' retry logic) asks it, so a missing file is never reported as "start the cluster" and a
read timeout on an idle watch is never reported at all.

:func:`explain` turns any exception into one sentence: for a refusal of the API server it is built
from the ``Status`` object's ``message`` and ``causes`` (kubernetes.io, "API Concepts": responses
carry a Status), with the real cause named for the refusals learners meet most often (a quota, a
namespace being deleted, a missing PriorityClass, RBAC).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl

import urllib3.exceptions as u3
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.utils.quantity import parse_quantity

__all__ = ["CourseError", "ClusterUnreachableError", "NotCourseClusterError", "WaitTimeoutError",
           "NamespaceRefused", "classify", "is_connection_error", "is_read_timeout", "is_client_validation", "explain",
           "UNREACHABLE", "FOREIGN", "KUBECONFIG", "API", "COURSE", "INPUT", "FILE", "OTHER"]


class CourseError(Exception):
    """Base of the course's own errors; its message is written for a learner."""


class WaitTimeoutError(CourseError, TimeoutError):
    """A course wait (pods, nodes, leases, a rollout, a clean-up) ran out of time; the message says
    what it waited for and what it saw. A :class:`TimeoutError`, so ``except TimeoutError`` catches it."""


class NotCourseClusterError(CourseError):
    """The kubeconfig context is not a course cluster (or its server is not on this machine) and was
    not opted in with ``WHYK8S_ALLOW_CONTEXT``."""


class ClusterUnreachableError(CourseError):
    """No API server answered (no kubeconfig, no current context, cluster stopped, wrong address)."""


class NamespaceRefused(CourseError):
    """A course function was asked to create or delete in a namespace the course did not create."""


# -- the classifier ------------------------------------------------------------------------------
#: No API server answered (connection refused or reset, DNS, TLS handshake, no kubeconfig context).
UNREACHABLE = "unreachable"
#: The context is not the course's: the guard refused before any request.
FOREIGN = "foreign"
#: The kubeconfig exists but cannot be used (malformed, unknown context, missing certificate file).
KUBECONFIG = "kubeconfig"
#: The API server answered and refused (:class:`ApiException`).
API = "api"
#: Another course error (a wait that ran out of time, a refused node, ...): its message is the sentence.
COURSE = "course"
#: Bad input (``ValueError``): its message is the sentence.
INPUT = "input"
#: A local file could not be read or written (missing, no permission): not a cluster problem.
FILE = "file"
#: Anything else: a bug, shown as its type and message.
OTHER = "other"

_READ_TIMEOUTS = (u3.ReadTimeoutError, socket.timeout)
_CONNECTION_ERRORS = (ConnectionError, u3.MaxRetryError, u3.NewConnectionError, u3.ConnectTimeoutError,
                      u3.ProtocolError, u3.SSLError, ssl.SSLError, socket.gaierror, http.client.HTTPException)


def is_read_timeout(exc: BaseException) -> bool:
    """True when a read from the API server timed out: on a watch this is an idle or dead connection,
    which the watch reopens from its last resourceVersion (shared/cases *watch-idle*)."""
    if isinstance(exc, u3.MaxRetryError):
        return isinstance(exc.reason, _READ_TIMEOUTS)
    return isinstance(exc, _READ_TIMEOUTS) and not isinstance(exc, CourseError)


def classify(exc: BaseException) -> str:
    """What kind of failure ``exc`` is: one of :data:`UNREACHABLE`, :data:`FOREIGN`,
    :data:`KUBECONFIG`, :data:`API`, :data:`COURSE`, :data:`INPUT`, :data:`FILE`, :data:`OTHER`.

    By exception type, never by message text. A read timeout counts as :data:`UNREACHABLE`
    (:func:`is_read_timeout` tells it apart where a watch must simply reconnect)."""
    if isinstance(exc, NotCourseClusterError):
        return FOREIGN
    if isinstance(exc, ClusterUnreachableError):
        return UNREACHABLE
    if isinstance(exc, CourseError):
        return COURSE
    if isinstance(exc, ApiException):
        # the client raises ApiException(status=0) for some transport failures
        return API if exc.status else UNREACHABLE
    if isinstance(exc, ConfigException):
        return KUBECONFIG
    if is_read_timeout(exc) or isinstance(exc, _CONNECTION_ERRORS):
        return UNREACHABLE
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return FILE
    if isinstance(exc, ValueError):
        return INPUT
    return OTHER


def is_connection_error(exc: BaseException) -> bool:
    """True when no course cluster answered or the context is not the course's: the cases where a
    notebook shows the start-the-cluster panel."""
    return classify(exc) in (UNREACHABLE, FOREIGN)


# -- sentences -----------------------------------------------------------------------------------
def _status(exc: ApiException) -> dict:
    try:
        status = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


def _status_sentence(exc: ApiException) -> str:
    """The Status object's ``message`` (and the ``causes``), or the HTTP reason if the body is not JSON."""
    status = _status(exc)
    if not status.get("message"):
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


def _amount(key: str, value: str) -> str:
    """One quota amount in readable units: CPU in millicores, memory in binary units, GPUs counted."""
    from whyk8s.k8s.quantities import format_bytes, format_cpu
    try:
        number = parse_quantity(value)
    except (ValueError, ArithmeticError):
        return value
    if key.endswith("cpu"):
        return format_cpu(int(number * 1000))
    if key.endswith("memory") or key.endswith("storage"):
        return format_bytes(int(number))
    return f"{number:f}".rstrip("0").rstrip(".") if "." in f"{number:f}" else f"{number:f}"


def _what(key: str) -> str:
    """``requests.cpu`` → ``CPU requests``; ``limits.memory`` → ``memory limits``; ``pods`` → ``pods``."""
    kind, _, resource = key.partition(".")
    if kind not in ("requests", "limits"):
        kind, resource = "requests", key  # "cpu" and "memory" alone mean requests
        if key not in ("cpu", "memory", "ephemeral-storage"):
            return {"pods": "pods", "count/jobs.batch": "Jobs",
                    "count/resourceclaims.resource.k8s.io": "ResourceClaims"}.get(key, key)
    name = {"cpu": "CPU", "memory": "memory", "nvidia.com/gpu": "GPU"}.get(resource, resource)
    return f"{name} {kind}"


def _pairs(text: str) -> dict[str, str]:
    return dict(p.strip().partition("=")[::2] for p in text.split(",") if "=" in p)


_QUOTA = re.compile(r'^(\w+)(?:\.[\w.]+)? "([^"]+)" is forbidden: exceeded quota: ([^,]+), requested: (.+?), '
                    r"used: (.+?), limited: (.+)$")
_MUST_SPECIFY = re.compile(r'^(\w+) "([^"]+)" is forbidden: failed quota: ([^:]+): must specify (.+)$')
_TERMINATING = re.compile(r"unable to create new content in namespace (\S+) because it is being terminated")
_NO_PRIORITY_CLASS = re.compile(r"no PriorityClass with name (\S+) was found")
#: A workshop participant's user as the API server names it (``whyk8s.cluster.workshop.user_of``:
#: the ServiceAccount ``learner`` in the participant's namespace ``whyk8s-<participant>``).
_WORKSHOP_USER = re.compile(r"^system:serviceaccount:(whyk8s-[a-z0-9-]+):learner$")
_RBAC = re.compile(r'User "([^"]*)" cannot (\w+) (?:resource "([^"]*)"(?: in API group "([^"]*)")?'
                   r'(?: in the namespace "([^"]*)"| at the cluster scope)?|path "([^"]*)")')


def _quota_sentence(message: str, namespace: str | None) -> str | None:
    where = f" in namespace {namespace}" if namespace else ""
    m = _QUOTA.search(message)
    if m:
        kind, name, quota, requested, used, limited = m.groups()
        asked, now, hard = _pairs(requested), _pairs(used), _pairs(limited)
        parts = [f"{_what(k)}: it asks for {_amount(k, v)}, the namespace already uses "
                 f"{_amount(k, now.get(k, '0'))} of at most {_amount(k, hard.get(k, '0'))}"
                 for k, v in asked.items()]
        return (f"Refused by ResourceQuota {quota}{where}: the {kind.rstrip('s')} {name} would go over it. "
                + "; ".join(parts) + ".")
    m = _MUST_SPECIFY.search(message)
    if m:
        kind, name, quota, missing = m.groups()
        items = [p.strip().partition(" for: ") for p in missing.split(";")]
        parts = [f"{_what(res)} (containers {who})" for res, _, who in items]
        return (f"Refused by ResourceQuota {quota}{where}: it caps " + ", ".join(_what(res) for res, _, _ in items)
                + f", so every container of the {kind.rstrip('s')} {name} must state them; missing: "
                + "; ".join(parts) + ". Add them under resources.requests / resources.limits.")
    return None


def _forbidden_sentence(exc: ApiException, namespace: str | None) -> str:
    message = str(_status(exc).get("message") or "")
    quota = _quota_sentence(message, namespace)
    if quota:
        return quota
    m = _TERMINATING.search(message)
    if m:
        return (f"Namespace {m.group(1)} is being deleted (Terminating): the API server accepts nothing "
                f"new there until it is gone. Wait a moment, or use another namespace.")
    m = _NO_PRIORITY_CLASS.search(message)
    if m:
        return (f"There is no PriorityClass named {m.group(1)}: create it first (e.g. "
                f"tenancy.priority_classes() or `kubectl create priorityclass`), or fix the name in "
                f"priorityClassName.")
    m = _RBAC.search(message)
    if m:
        user, verb, resource, group, ns, path = m.groups()
        what = f"{resource}" + (f" ({group})" if group else "") if resource else f"the path {path}"
        scope = f" in namespace {ns}" if ns else (" across the cluster" if resource else "")
        workshop = _WORKSHOP_USER.match(user or "")
        if workshop and ns and ns != workshop.group(1):
            return (f"Not allowed: namespace {ns} is not yours (RBAC: the user {user} may not {verb} {what} "
                    f"there). Your workshop account's rights end at your own namespace, {workshop.group(1)} "
                    f"(the one on your card): use {workshop.group(1)} instead of {ns}.")
        if workshop:
            return (f"Not allowed: the user {user} may not {verb} {what}{scope} (RBAC). Your kubeconfig is a "
                    f"workshop account, whose rights end at its own namespace: this step is the instructor's "
                    f"demonstration, so watch it on the instructor's screen.")
        return (f"Not allowed: the user {user} may not {verb} {what}{scope} (RBAC). This is a permission "
                f"of your kubeconfig's user; whoever runs the cluster can grant it.")
    return _status_sentence(exc) + " (Refused by an admission check of the API server, not by permissions.)"


_PLURALS = {"pods": "Pod", "deployments": "Deployment", "replicasets": "ReplicaSet", "jobs": "Job",
            "namespaces": "Namespace", "nodes": "Node", "resourcequotas": "ResourceQuota",
            "priorityclasses": "PriorityClass", "services": "Service", "events": "Event",
            "limitranges": "LimitRange", "configmaps": "ConfigMap"}
#: Kinds that live in no namespace (a sentence about them names none).
_CLUSTER_SCOPED = {"Namespace", "Node", "PriorityClass"}


def _api_sentence(exc: ApiException, namespace: str | None) -> str:
    status = _status(exc)
    details = status.get("details") or {}
    kind = _PLURALS.get(str(details.get("kind", "")), str(details.get("kind", "")).rstrip("s").capitalize())
    name = details.get("name")
    where = f" in namespace {namespace}" if namespace and kind not in _CLUSTER_SCOPED else ""
    if exc.status == 403:
        return _forbidden_sentence(exc, namespace)
    if exc.status == 401:
        return ("The API server did not accept the kubeconfig's credentials (401 Unauthorized): the "
                "certificate or token is not valid for this cluster (expired, or written for an earlier "
                "cluster). Run `whyk8s cluster up` to write fresh ones.")
    if exc.status == 404 and kind and name:
        return f"There is no {kind} named {name!r}{where} (deleted, cleaned up, or not created yet)."
    if exc.status == 404:  # no object named: the API server does not serve this kind at all
        return ("The API server does not know this kind of object (404): its CustomResourceDefinition is not "
                "installed. Kueue's kinds (kueue.x-k8s.io) come with Kueue: run the chapter's or lab's start "
                "cell again, or `whyk8s kueue up`; Karpenter's (karpenter.sh): `whyk8s karpenter up`.")
    if exc.status == 409 and status.get("reason") == "AlreadyExists" and kind and name:
        return (f"A {kind} named {name!r} already exists{where}: choose another name, or delete the "
                f"existing one first.")
    if exc.status == 429:
        return "The API server is busy (429 Too Many Requests); try again in a moment."
    return _status_sentence(exc)


def _transport_cause(exc: BaseException) -> BaseException:
    """The transport error behind ``exc``: a ``MaxRetryError``'s reason, or the exception the official
    client replaced by ``ApiException(status=0)`` (it does so for a TLS failure, keeping the
    original only as the exception's context)."""
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        return exc.reason
    if isinstance(exc, ApiException) and not exc.status:
        return exc.__cause__ or exc.__context__ or exc
    return exc


def is_client_validation(exc: BaseException) -> bool:
    """True when ``exc`` is the official client's check of a request body before it is sent
    (kubernetes 35+ validates arguments with pydantic: a ``pydantic_core.ValidationError``, a
    ValueError). Nothing reached the API server."""
    return type(exc).__name__ == "ValidationError" and type(exc).__module__.startswith("pydantic") \
        and callable(getattr(exc, "errors", None))


def _field_path(loc) -> str:
    """``(2, "spec", "containers", 0, "resources", "limits", "nvidia.com/gpu")`` (the first item is the
    argument's position) → ``spec.containers[0].resources.limits["nvidia.com/gpu"]``."""
    parts = list(loc[1:] if loc and isinstance(loc[0], int) else loc)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f'["{part}"]'
    return out or "the object"


#: pydantic's error types for the arguments of a call (not the fields of a body).
_ARGUMENT_ERRORS = {"missing_argument", "missing_positional_only_argument", "missing_keyword_only_argument",
                    "unexpected_keyword_argument", "unexpected_positional_argument", "multiple_argument_values"}


def _called(exc) -> tuple[str, list[str]]:
    """The client method the refusal is about (``read_namespaced_pod``, from the error's title
    ``CoreV1Api.read_namespaced_pod``) and its required arguments, in order (none if unknown)."""
    import inspect
    title = str(getattr(exc, "title", "") or "")
    owner, _, method = title.rpartition(".")
    required: list[str] = []
    try:
        import kubernetes.client as k8s_client
        func = getattr(getattr(k8s_client, owner), method)
        required = [p.name for p in inspect.signature(func).parameters.values()
                    if p.name != "self" and p.default is inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (AttributeError, TypeError, ValueError):
        pass
    return method or title, required


def _shown(value) -> str:
    """A value for a sentence: its repr, unless that is an object's address or the call's arguments."""
    text = repr(value)
    if type(value).__name__ == "ArgsKwargs" or " object at 0x" in text:
        return ""
    return f" (got {text})"


def _client_validation_sentence(exc) -> str:
    method, required = _called(exc)
    errors = exc.errors()
    if any(err.get("type") in _ARGUMENT_ERRORS for err in errors):
        problems = []
        for err in errors[:3]:
            name = ".".join(str(p) for p in err.get("loc", ())) or "an argument"
            kind = err.get("type")
            if kind in ("missing_argument", "missing_positional_only_argument", "missing_keyword_only_argument"):
                problems.append(f"the argument {name} is missing")
            elif kind == "unexpected_keyword_argument":
                problems.append(f"it has no argument named {name}")
            elif kind == "unexpected_positional_argument":
                problems.append("it was given more arguments than it takes")
            elif kind == "multiple_argument_values":
                problems.append(f"{name} was given twice (by position and by name)")
            else:
                problems.append(f"{name}: {err.get('msg', 'invalid')}{_shown(err.get('input'))}"[:300])
        signature = f" It takes {method}({', '.join(required)}, …)." if required else ""
        return (f"The Kubernetes client refused the call {method} before sending it: " + "; ".join(problems)
                + f".{signature} Nothing was sent to the API server.")
    problems = []
    for err in errors[:3]:
        where, value = _field_path(err.get("loc", ())), err.get("input")
        if err.get("type") == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
            problems.append(f"{where} must be a string for the Python client: write {str(value)!r} in quotes "
                            f"(\"{value}\", not {value}); a YAML manifest for kubectl may write {value} unquoted, "
                            f"as the API server reads a number there as the quantity")
        elif err.get("type") == "extra_forbidden":
            problems.append(f"there is no field {where} (check its spelling and where it is nested)")
        elif err.get("type") == "missing":
            problems.append(f"{where} is missing")
        else:
            problems.append(f"{where}: {err.get('msg', 'invalid')}{_shown(value)}"[:300])
    more = f" ({len(errors) - 3} more)" if len(errors) > 3 else ""
    outcome = "Nothing was created." if method.startswith("create") or not method else \
        "Nothing was sent to the API server."
    return ("The Kubernetes client refused the object before sending it: " + "; ".join(problems) + more
            + ". " + outcome)


def explain(exc: BaseException, namespace: str | None = None) -> str:
    """Return one readable sentence for ``exc``, never a traceback or a raw HTTP dump.

    - :class:`ApiException` (:data:`API`): built from the Status object's ``message`` and ``causes``.
      A 403 names its real cause: a ResourceQuota (each number tied to what it counts, e.g. "CPU
      requests: it asks for 2000m, the namespace already uses 500m of at most 4000m"; CPU in
      millicores, memory in binary units), a quota that needs every container to state a request or
      limit, a namespace being deleted, a missing PriorityClass, or RBAC ("Not allowed: the user …
      may not …"); any other 403 is an admission check, not a permission. 404 and 409 name the kind
      and the object. ``namespace`` (optional) is named in the sentence.
    - :data:`UNREACHABLE`: a :class:`ClusterUnreachableError` keeps its own message (e.g. "no
      current context: `kubectl config use-context …`"); any other: the cluster did not answer, with
      the command that starts it (a TLS failure says the kubeconfig does not match the cluster).
    - :data:`KUBECONFIG`, :data:`FILE`: what could not be read, never "start the cluster".
    - The official client's refusal of a body before sending it (:func:`is_client_validation`, e.g. a
      number where a quantity must be a string): where, what was expected, and how to write it.
    - Course errors and ``ValueError``: their own message.
    """
    kind = classify(exc)
    if kind == API:
        return _api_sentence(exc, namespace)
    if is_client_validation(exc):
        return _client_validation_sentence(exc)
    if kind in (FOREIGN, COURSE, INPUT) or isinstance(exc, CourseError):
        return str(exc)  # the course's own errors (e.g. "no current context") say what to do
    if kind == UNREACHABLE:
        reason = _transport_cause(exc)
        if isinstance(reason, (u3.SSLError, ssl.SSLError)):
            return ("The course cluster's API server answered, but its TLS certificate does not match the "
                    "kubeconfig (was the cluster re-created?). Run `whyk8s cluster up` to write a fresh "
                    "kubeconfig, then try again.")
        if is_read_timeout(exc):
            return ("The course cluster did not answer in time. Check it with `whyk8s cluster status` "
                    "(or start it with `whyk8s cluster up`), then try again.")
        return ("The course cluster did not answer. Start it with `whyk8s cluster up` "
                "(or `make lab`), then try again.")
    if kind == KUBECONFIG:
        return f"The kubeconfig could not be used: {exc}. Run `whyk8s cluster up` to write the course's context."
    if kind == FILE:
        what = getattr(exc, "filename", None)
        if isinstance(exc, PermissionError):
            return f"Permission denied: {what or exc} cannot be read or written by you."
        if isinstance(exc, FileNotFoundError):
            return f"A file is missing: {what or str(exc).rstrip('.')}."
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
