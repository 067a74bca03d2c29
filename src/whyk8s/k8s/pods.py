"""Small facts about a Pod, each computed in one place: what kubectl shows, whether it is Ready, who
owns it, what it requests, why it is Pending.

:func:`status` is what ``kubectl get pods`` prints in its STATUS column: not the phase alone but the
reason a container waits or ended (``CrashLoopBackOff``, ``ImagePullBackOff``, ``Completed``,
``Init:0/1``, ``Terminating`` …). It follows ``printPod`` in kubectl's table printer
(k8s.io/kubernetes v1.36.1, ``pkg/printers/internalversion/printers.go``, Apache-2.0), so a course
table and kubectl never disagree (shared/cases *status-not-phase*). All functions take the official
client's ``V1Pod`` and are pure (no API call).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from kubernetes import client
from kubernetes.utils.quantity import parse_quantity

from whyk8s import GPU_RESOURCE

__all__ = ["printed", "Printed", "status", "ready", "restarts", "restarts_text", "is_ready", "is_terminating",
           "controller_of",
           "requests", "pending_reason", "scheduled_condition", "human_duration", "age", "describe",
           "workload_of", "generated_base"]

# Names the controllers generate end in random characters from the API machinery's alphabet
# (k8s.io/apimachinery/pkg/util/rand: no vowels, no 0, 1 or 3): a Job's pod is <job>-<5>, a
# Deployment's ReplicaSet <deployment>-<hash>, its pod <deployment>-<hash>-<5>.
_ALPHABET = "[bcdfghjklmnpqrstvwxz2456789]"
_GENERATED_POD = re.compile(rf"^(?P<base>.+?)(-{_ALPHABET}{{6,10}})?-{_ALPHABET}{{5}}$")
_GENERATED_RS = re.compile(rf"^(?P<base>.+)-{_ALPHABET}{{6,10}}$")


def _conditions(pod: client.V1Pod) -> list:
    return (pod.status.conditions if pod.status else None) or []


def _condition_true(pod: client.V1Pod, kind: str) -> bool:
    return any(c.type == kind and c.status == "True" for c in _conditions(pod))


def _restartable_init(container) -> bool:
    return container is not None and getattr(container, "restart_policy", None) == "Always"


@dataclass(frozen=True)
class Printed:
    """What ``kubectl get pods`` prints for one pod: ``ready`` containers of ``total`` (READY),
    ``status`` (STATUS), ``restarts`` (the count in RESTARTS) and ``last_restart`` (when the last
    counted restart ended, a timezone-aware datetime, or None)."""

    ready: int
    total: int
    status: str
    restarts: int
    last_restart: datetime | None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None or (b is not None and b > a) else a


def _last_terminated(cs) -> datetime | None:
    term = cs.last_state.terminated if cs.last_state else None
    return term.finished_at if term is not None else None


def printed(pod: client.V1Pod) -> Printed:
    """READY, STATUS and RESTARTS of ``pod`` exactly as kubectl's ``printPod`` computes them
    (k8s.io/kubernetes v1.36.1 ``pkg/printers/internalversion/printers.go``): while an init
    container has not finished, STATUS is ``Init:…`` and RESTARTS counts the init containers'
    restarts; once initialised, the containers' (and restartable init containers') restarts."""
    st = pod.status or client.V1PodStatus()
    spec_inits = {c.name: c for c in (pod.spec.init_containers or [])} if pod.spec else {}
    n_inits = len(pod.spec.init_containers or []) if pod.spec else 0
    total = (len(pod.spec.containers or []) if pod.spec else 0) + sum(
        1 for c in spec_inits.values() if _restartable_init(c))
    ready_n = 0
    restarts = restartable_restarts = 0
    last = last_restartable = None

    reason = st.reason or st.phase or ""
    for cond in _conditions(pod):
        if cond.type == "PodScheduled" and cond.reason == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for i, cs in enumerate(st.init_container_statuses or []):
        restarts += cs.restart_count or 0
        last = _later(last, _last_terminated(cs))
        restartable = _restartable_init(spec_inits.get(cs.name))
        if restartable:
            restartable_restarts += cs.restart_count or 0
            last_restartable = _later(last_restartable, _last_terminated(cs))
        state = cs.state or client.V1ContainerState()
        term, wait = state.terminated, state.waiting
        if term is not None and term.exit_code == 0:
            continue
        if restartable and cs.started:
            if cs.ready:
                ready_n += 1
            continue
        if term is not None:
            if term.reason:
                reason = "Init:" + term.reason
            elif term.signal:
                reason = f"Init:Signal:{term.signal}"
            else:
                reason = f"Init:ExitCode:{term.exit_code}"
        elif wait is not None and wait.reason and wait.reason != "PodInitializing":
            reason = "Init:" + wait.reason
        else:
            reason = f"Init:{i}/{n_inits}"
        initializing = True
        break

    if not initializing or _condition_true(pod, "Initialized"):
        restarts, last = restartable_restarts, last_restartable
        has_running, error_reason = False, ""
        for cs in reversed(st.container_statuses or []):
            restarts += cs.restart_count or 0
            last = _later(last, _last_terminated(cs))
            state = cs.state or client.V1ContainerState()
            if state.waiting is not None and state.waiting.reason:
                reason = state.waiting.reason
            elif state.terminated is not None:
                term = state.terminated
                if term.reason:
                    reason = term.reason
                elif term.signal:
                    reason = f"Signal:{term.signal}"
                else:
                    reason = f"ExitCode:{term.exit_code}"
                if term.exit_code != 0:
                    error_reason = reason
            elif cs.ready and state.running is not None:
                has_running = True
                ready_n += 1
        if reason == "Completed":
            if has_running and _condition_true(pod, "Ready"):
                reason = "Running"
            elif error_reason:
                reason = error_reason
            elif has_running:
                reason = "NotReady"

    if pod.metadata.deletion_timestamp is not None and st.reason == "NodeLost":
        reason = "Unknown"
    elif pod.metadata.deletion_timestamp is not None and st.phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return Printed(ready_n, total, reason, restarts, last)


def status(pod: client.V1Pod) -> str:
    """The STATUS ``kubectl get pods`` shows for ``pod``: the phase, unless a reason says more —
    ``SchedulingGated``, an init container's ``Init:…``, a container's waiting reason
    (``ContainerCreating``, ``ImagePullBackOff``, ``CrashLoopBackOff``), a terminated reason
    (``Completed``, ``Error``, ``OOMKilled``) or ``Signal:N`` / ``ExitCode:N``, ``NotReady``,
    ``Unknown`` (deleted while its node was unreachable) or ``Terminating``. See :func:`printed`."""
    return printed(pod).status


def ready(pod: client.V1Pod) -> str:
    """kubectl's READY column: ready containers / containers (restartable init containers count)."""
    p = printed(pod)
    return f"{p.ready}/{p.total}"


def restarts(pod: client.V1Pod) -> int:
    """The restart count in kubectl's RESTARTS column (see :func:`printed`)."""
    return printed(pod).restarts


def restarts_text(pod: client.V1Pod, now: datetime | None = None) -> str:
    """kubectl's RESTARTS column: ``"0"``, or ``"6 (2m ago)"`` with the time since the last restart."""
    p = printed(pod)
    if p.restarts and p.last_restart is not None:
        return f"{p.restarts} ({age(p.last_restart, now)} ago)"
    return str(p.restarts)


def is_ready(pod: client.V1Pod) -> bool:
    """True when the pod's ``Ready`` condition is True (it may receive traffic from a Service)."""
    return _condition_true(pod, "Ready")


def is_terminating(pod: client.V1Pod) -> bool:
    """True once deletion was requested (``metadata.deletionTimestamp`` is set)."""
    return pod.metadata.deletion_timestamp is not None


def controller_of(obj) -> client.V1OwnerReference | None:
    """The owner reference marked ``controller: true`` (a Pod's ReplicaSet or Job, a ReplicaSet's
    Deployment), or None for an object no controller owns."""
    return next((o for o in (obj.metadata.owner_references or []) if o.controller), None)


def workload_of(pod: client.V1Pod) -> str:
    """The name of the workload a pod belongs to: its Job (label ``job-name``), its Deployment
    (label ``app``, as the course's Deployments set it), else the pod's own name."""
    labels = pod.metadata.labels or {}
    return labels.get("job-name") or labels.get("app") or pod.metadata.name


def requests(pod: client.V1Pod) -> tuple[int, int, int]:
    """What the pod's containers request together: (CPU in millicores, memory in bytes, whole
    ``nvidia.com/gpu``)."""
    cpu = mem = gpu = 0
    for c in (pod.spec.containers if pod.spec else None) or []:
        req = (c.resources.requests if c.resources else None) or {}
        cpu += int(parse_quantity(req.get("cpu", "0")) * 1000)
        mem += int(parse_quantity(req.get("memory", "0")))
        gpu += int(parse_quantity(req.get(GPU_RESOURCE, "0")))
    return cpu, mem, gpu


def scheduled_condition(pod: client.V1Pod):
    """The pod's ``PodScheduled`` condition (a ``V1PodCondition``), or None."""
    return next((c for c in _conditions(pod) if c.type == "PodScheduled"), None)


def pending_reason(pod: client.V1Pod) -> str:
    """The scheduler's reason why ``pod`` is not placed: the message of its ``PodScheduled=False``
    condition, e.g. ``"0/5 nodes are available: 1 Insufficient nvidia.com/gpu, …"``; ``""`` if it
    has none (placed, or not looked at yet)."""
    cond = scheduled_condition(pod)
    if cond is not None and cond.status == "False":
        return (cond.message or cond.reason or "").strip()
    return ""


def human_duration(seconds: float) -> str:
    """A duration as kubectl prints ages (apimachinery ``duration.HumanDuration``): ``"45s"``,
    ``"3m12s"``, ``"2h5m"``, ``"3d4h"``, ``"2y"``. ``seconds`` may be fractional; negative is ``0s``."""
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        y = h // (24 * 365)
        return f"{y}y{(h // 24) % 365}d" if (h // 24) % 365 else f"{y}y"
    return f"{h // (24 * 365)}y"


def age(timestamp: datetime | None, now: datetime | None = None) -> str:
    """kubectl's AGE of a timestamp (``creationTimestamp``): :func:`human_duration` of now minus it;
    ``"<unknown>"`` without one."""
    if timestamp is None:
        return "<unknown>"
    now = now or datetime.now(timezone.utc)
    return human_duration((now - timestamp).total_seconds())


def describe(pods: dict) -> str:
    """One line for ``pods`` (name → V1Pod): each name with its STATUS, its node and, when the
    scheduler left one, its pending reason. Example: ``"greedy (Pending: 0/4 nodes are available:
    ...), web-1 (Running on whyk8s-worker)"``."""
    parts = []
    for name in sorted(pods):
        pod = pods[name]
        where = f" on {pod.spec.node_name}" if pod.spec and pod.spec.node_name else ""
        reason = pending_reason(pod)
        parts.append(f"{name} ({status(pod)}{where}{': ' + reason if reason else ''})")
    return ", ".join(parts)


def generated_base(name: str, kind: str = "pod") -> str | None:
    """The name a controller generated ``name`` from: ``"train-x7k2p"`` → ``"train"`` (a Job's pod),
    ``"web-7c9d6b5f4d-x2b4q"`` → ``"web"`` (a Deployment's pod), with ``kind="replicaset"``
    ``"web-7c9d6b5f4d"`` → ``"web"``; None for a name a person chose."""
    m = (_GENERATED_RS if kind == "replicaset" else _GENERATED_POD).match(name or "")
    return m.group("base") if m else None
