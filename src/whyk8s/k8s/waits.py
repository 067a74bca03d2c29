"""Every wait of the course, each a predicate over one watched collection.

All of them run :class:`whyk8s.k8s.informer.ListWatch` on the caller's thread through
:func:`watch_until`: list, then watch from the list's resourceVersion until the predicate holds
(never a polling loop, never a list per event). A compacted resourceVersion (410) lists again; a
read timeout reopens the watch; while the API server does not answer, the wait retries until its
deadline and then raises :class:`~whyk8s.errors.ClusterUnreachableError`. A wait that simply runs
out of time raises :class:`~whyk8s.errors.WaitTimeoutError` saying what it saw. Times are seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from kubernetes import client

from whyk8s.errors import ClusterUnreachableError, WaitTimeoutError
from whyk8s.k8s import pods as podfacts
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.informer import READ_TIMEOUT, ListWatch
from whyk8s.k8s.nodes import is_ready as node_is_ready

__all__ = ["watch_until", "wait_until_gone", "wait_for_pods", "wait_for_nodes", "wait_for_leases",
           "wait_for_quota", "wait_for_event", "wait_for_rollout", "rollout_status", "RolloutResult",
           "by_name"]


def by_name(obj) -> str:
    """Key of an object in the dicts the waits return: its name (a model's, or a custom resource's
    as a dict)."""
    return obj["metadata"]["name"] if isinstance(obj, dict) else obj.metadata.name


def watch_until(list_fn: Callable, *args, done: Callable[[dict], bool], timeout: float | None = None,
                deadline: float | None = None, on_change: Callable[[str, object], None] | None = None,
                key: Callable = by_name, **kwargs) -> dict:
    """Watch the collection ``list_fn(*args, **kwargs)`` until ``done(objects)`` holds, where
    ``objects`` maps ``key(obj)`` (default: the name) to each object that exists now; give up after
    ``timeout`` seconds or at ``deadline`` (a ``time.monotonic()`` value). Returns ``objects``
    whether ``done`` held or not: the caller decides what running out of time means.

    ``on_change(type, obj)`` runs, on the caller's thread, for every object listed (``"ADDED"``) and
    every change watched (``"ADDED"``, ``"MODIFIED"``, ``"DELETED"``). Raises ApiException for a
    refusal other than 410, and :class:`ClusterUnreachableError` when the API server was still not
    answering at the deadline.
    """
    if deadline is None:
        deadline = time.monotonic() + (60 if timeout is None else timeout)
    left = max(1.0, deadline - time.monotonic())
    lw = ListWatch(list_fn, *args, key=key, read_timeout=min(READ_TIMEOUT, left + 10), window=left,
                   **kwargs)
    errors: list[str] = []
    lw.run(on_change=on_change, on_error=errors.append, done=lambda: lw.resource_version is not None
           and done(lw.items), deadline=deadline)
    if lw.failing:
        raise ClusterUnreachableError(errors[-1] if errors else "The course cluster stopped answering.")
    return lw.items


def wait_until_gone(list_fn: Callable, *args, deadline: float,
                    on_present: Callable[[object], None] | None = None, **kwargs) -> set[str]:
    """Watch the collection ``list_fn(*args, **kwargs)`` (give a ``label_selector`` or
    ``field_selector``) until it is empty or ``deadline`` (``time.monotonic()``) passes; return the
    names still there (empty when all are gone). ``on_present(obj)`` runs for each object listed and
    each that appears meanwhile (e.g. to delete at once a pod that a ReplicaSet re-created while
    its Deployment was being deleted). Errors as :func:`watch_until`."""
    def changed(kind, obj):
        if kind == "ADDED" and on_present is not None:
            on_present(obj)
    return set(watch_until(list_fn, *args, done=lambda objs: not objs, deadline=deadline,
                           on_change=changed, **kwargs))


def wait_for_pods(cluster: Cluster, predicate: Callable[[dict], bool], label_selector: str | None = None,
                  timeout: float = 60, namespace: str | None = None) -> dict:
    """Watch the course pods (or those matching ``label_selector``) until ``predicate(pods)`` holds,
    where ``pods`` maps name → V1Pod of the pods that exist and are not being deleted. Returns that
    dict. Raises :class:`WaitTimeoutError` after ``timeout`` seconds, naming each pod's STATUS."""
    def live(objs: dict) -> dict:
        return {n: p for n, p in objs.items() if not podfacts.is_terminating(p)}

    pods = live(watch_until(cluster.core.list_namespaced_pod, namespace or cluster.namespace,
                            label_selector=label_selector or cluster.selector,
                            done=lambda objs: predicate(live(objs)), timeout=timeout))
    if predicate(pods):
        return pods
    raise WaitTimeoutError(f"Waited {timeout:.0f} s; the pods never reached the expected state "
                           f"({len(pods)} pods: {podfacts.describe(pods) or 'none'}).")


def wait_for_nodes(cluster: Cluster, names: list[str], timeout: float = 120) -> dict:
    """Watch Nodes until every named node is Ready (:func:`whyk8s.k8s.nodes.is_ready`). Returns the nodes by name.
    Raises :class:`WaitTimeoutError` naming the nodes that are not Ready."""
    def not_ready(nodes: dict) -> set[str]:
        return {n for n in names if n not in nodes or not node_is_ready(nodes[n])}

    nodes = watch_until(cluster.core.list_node, done=lambda nodes: not not_ready(nodes), timeout=timeout)
    if not_ready(nodes):
        raise WaitTimeoutError(f"Nodes not Ready after {timeout:.0f} s: {', '.join(sorted(not_ready(nodes)))}.")
    return nodes


def wait_for_leases(cluster: Cluster, leases: set[tuple[str, str]], since: float,
                    timeout: float = 60, log=None) -> None:
    """Watch Leases until each ``(namespace, name)`` in ``leases`` has a holder that acquired or
    renewed it at or after ``since`` (a Unix time in seconds): proof that a live process holds it.
    Used for kwok's node leases and for the leader-election leases of kube-scheduler and
    kube-controller-manager (after a restart, a new instance waits up to 15 s for its predecessor's
    lease to expire, and until then nothing is scheduled). Raises :class:`WaitTimeoutError` naming
    the leases still waiting after ``timeout`` seconds. ``log`` (if given) gets one line when it has
    to wait."""
    def fresh(lease) -> bool:
        renewed = lease.spec.renew_time or lease.spec.acquire_time
        return bool(lease.spec.holder_identity) and renewed is not None and renewed.timestamp() >= since - 1

    deadline = time.monotonic() + timeout
    waiting: set[tuple[str, str]] = set()
    logged = False
    for namespace in sorted({ns for ns, _ in leases}):
        wanted = {n for ns, n in leases if ns == namespace}

        def stale(objs: dict) -> set[str]:
            return {n for n in wanted if n not in objs or not fresh(objs[n])}

        def done(objs: dict) -> bool:
            nonlocal logged
            behind = stale(objs)
            if behind and log and not logged:
                logged = True
                log("waiting for " + ", ".join(sorted(behind)) + " to hold its lease (seconds on a new "
                    "cluster; after a restart, up to the old holder's lease duration)")
            return not behind

        objs = watch_until(cluster.coordination.list_namespaced_lease, namespace, done=done, deadline=deadline)
        waiting |= {(namespace, n) for n in stale(objs)}
    if waiting:
        raise WaitTimeoutError(f"No live holder for these leases after {timeout:.0f} s: "
                               f"{', '.join(f'{ns}/{n}' for ns, n in sorted(waiting))}. "
                               "Try `whyk8s cluster down`, then `whyk8s cluster up`.")


def wait_for_quota(cluster: Cluster, namespace: str, name: str, hard: dict, timeout: float = 30) -> None:
    """Watch ResourceQuota ``name`` until kube-controller-manager's quota controller has copied
    ``hard`` (resource → quantity) into ``status.hard``: admission enforces a quota only from then on
    (a pod created earlier is not checked). Raises :class:`WaitTimeoutError`."""
    from kubernetes.utils.quantity import parse_quantity

    def same(a: dict, b: dict) -> bool:
        return set(a) == set(b) and all(parse_quantity(str(a[k])) == parse_quantity(str(b[k])) for k in a)

    def enforced(objs: dict) -> bool:
        q = objs.get(name)
        return q is not None and q.status is not None and same(q.status.hard or {}, hard)

    if not enforced(watch_until(cluster.core.list_namespaced_resource_quota, namespace, done=enforced,
                                field_selector=f"metadata.name={name}", timeout=timeout)):
        raise WaitTimeoutError(f"The ResourceQuota {name} in namespace {namespace} was not in force after "
                               f"{timeout:.0f} s (kube-controller-manager's quota controller did not fill "
                               f"status.hard).")


def wait_for_event(cluster: Cluster, namespace: str, reason: str, about: Callable[[str], bool],
                   timeout: float) -> client.CoreV1Event | None:
    """Watch the Events of ``namespace`` with ``reason`` (e.g. ``Preempted``) until one is about an
    object whose name satisfies ``about(name)``; return it, or None after ``timeout`` seconds (events
    are best-effort: a missing one is not an error)."""
    found: list = []

    def done(objs: dict) -> bool:
        found[:] = [e for e in objs.values() if about(e.involved_object.name or "")]
        return bool(found)

    watch_until(cluster.core.list_namespaced_event, namespace, field_selector=f"reason={reason}",
                done=done, timeout=timeout)
    return found[0] if found else None


@dataclass
class RolloutResult:
    """What :func:`wait_for_rollout` saw: ``deployment``, ``image``, ``changed`` (False when the
    Deployment already had that image: nothing rolled out), ``steps`` (distinct ``(old ready, new
    ready)`` pairs of pods seen while it ran), ``seconds``, ``message`` (kubectl rollout status's
    last line)."""

    deployment: str
    image: str
    changed: bool
    steps: list[tuple[int, int]] = field(default_factory=list)
    seconds: float = 0.0
    message: str = ""

    def __str__(self) -> str:
        if not self.changed:
            return (f"Deployment {self.deployment!r} already runs {self.image}: nothing to roll out "
                    f"(give another image to see a rolling update).")
        both = any(o > 0 and n > 0 for o, n in self.steps)
        return (f"{self.message} ({self.seconds:.1f} s; {len(self.steps)} steps"
                f"{', with a moment serving both versions' if both else ''}).")


def rollout_status(dep: client.V1Deployment) -> tuple[bool, str]:
    """``kubectl rollout status`` for one Deployment object: ``(done, message)``. Not done while the
    controller has not observed the latest generation, while fewer than ``spec.replicas`` pods are
    updated, while old pods wait to terminate, or while updated pods are not yet available. Raises
    :class:`WaitTimeoutError` when the Deployment's ``Progressing`` condition says
    ``ProgressDeadlineExceeded`` (kubectl: "exceeded its progress deadline")."""
    name = dep.metadata.name
    st = dep.status or client.V1DeploymentStatus()
    if (dep.metadata.generation or 0) > (st.observed_generation or 0):
        return False, "Waiting for the Deployment spec update to be observed..."
    for cond in st.conditions or []:
        if cond.type == "Progressing" and cond.reason == "ProgressDeadlineExceeded":
            raise WaitTimeoutError(f"Deployment {name!r} exceeded its progress deadline: {cond.message}")
    want = dep.spec.replicas if dep.spec.replicas is not None else 1
    updated, total, available = st.updated_replicas or 0, st.replicas or 0, st.available_replicas or 0
    if updated < want:
        return False, f"Waiting for rollout to finish: {updated} out of {want} new replicas have been updated..."
    if total > updated:
        return False, f"Waiting for rollout to finish: {total - updated} old replicas are pending termination..."
    if available < updated:
        return False, f"Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
    return True, f'deployment "{name}" successfully rolled out'


def wait_for_rollout(cluster: Cluster, deployment: str, timeout: float = 60,
                     namespace: str | None = None) -> tuple[client.V1Deployment, str]:
    """Watch Deployment ``deployment`` until its rollout is complete as ``kubectl rollout status``
    decides (:func:`rollout_status`). Returns ``(deployment object, message)``. Raises
    :class:`WaitTimeoutError` after ``timeout`` seconds with the last status line, or at once when
    the progress deadline was exceeded."""
    last = [""]

    def done(objs: dict) -> bool:
        dep = objs.get(deployment)
        if dep is None:
            last[0] = f"Deployment {deployment!r} does not exist."
            return False
        ok, last[0] = rollout_status(dep)
        return ok

    objs = watch_until(cluster.apps.list_namespaced_deployment, namespace or cluster.namespace,
                       field_selector=f"metadata.name={deployment}", done=done, timeout=timeout)
    if not done(objs):
        raise WaitTimeoutError(f"The rollout of {deployment!r} did not finish within {timeout:.0f} s: {last[0]}")
    return objs[deployment], last[0]
