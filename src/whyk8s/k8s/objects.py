"""Create, list and clean up the course's objects, always labelled and in the course namespace.

All functions take a :class:`whyk8s.k8s.guard.Cluster` (from :func:`whyk8s.k8s.guard.connect`), so they can
only act on a course cluster. Errors from the API server propagate as
:class:`kubernetes.client.ApiException`; use :func:`whyk8s.errors.explain` to show them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kubernetes import client

from whyk8s.errors import WaitTimeoutError
from whyk8s.k8s.guard import Cluster

__all__ = ["create", "course_objects", "cleanup", "wait_for_cleanup", "delete_pod", "scale",
           "NAMESPACED_KINDS", "CLUSTER_KINDS"]

#: Namespaced kinds the course creates, in the order cleanup deletes them (owners first).
NAMESPACED_KINDS = ("Deployment", "ReplicaSet", "Job", "Pod", "ResourceQuota")
#: Cluster-scoped kinds the course creates (besides namespaces).
CLUSTER_KINDS = ("PriorityClass",)


@dataclass(frozen=True)
class ObjectRef:
    """A labelled object found on the cluster: ``kind``, ``namespace`` (None if cluster-scoped), ``name``."""

    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def _stamp(cluster: Cluster, obj) -> None:
    meta = obj.metadata
    meta.labels = {**(meta.labels or {}), **cluster.labels}


def create(cluster: Cluster, obj, namespace: str | None = None):
    """Create ``obj`` (V1Pod, V1Deployment, V1Job, V1ResourceQuota or V1PriorityClass) on the cluster.

    The course label is added, namespaced objects go to ``namespace`` (default: the course
    namespace, created if missing). Returns the created object. Raises ApiException (e.g. 409 if it
    exists, 403 if forbidden) and TypeError for an unsupported object.
    """
    _stamp(cluster, obj)
    if isinstance(obj, client.V1PriorityClass):
        return cluster.scheduling.create_priority_class(obj)
    ns = cluster.ensure_namespace(namespace) if namespace else cluster.namespace
    if isinstance(obj, client.V1Pod):
        return cluster.core.create_namespaced_pod(ns, obj)
    if isinstance(obj, client.V1Deployment):
        return cluster.apps.create_namespaced_deployment(ns, obj)
    if isinstance(obj, client.V1Job):
        return cluster.batch.create_namespaced_job(ns, obj)
    if isinstance(obj, client.V1ResourceQuota):
        return cluster.core.create_namespaced_resource_quota(ns, obj)
    raise TypeError(f"The course does not create {type(obj).__name__} objects.")


def delete_pod(cluster: Cluster, name: str, namespace: str | None = None) -> None:
    """Delete one pod at once (grace period 0). Raises ApiException (404 if it does not exist)."""
    cluster.core.delete_namespaced_pod(name, namespace or cluster.namespace, grace_period_seconds=0)


def scale(cluster: Cluster, deployment: str, replicas: int, namespace: str | None = None) -> None:
    """Set a Deployment's replicas (a whole number ≥ 0). Raises ValueError for bad input."""
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise ValueError(f"Replicas {replicas!r} must be a whole number, 0 or more.")
    cluster.apps.patch_namespaced_deployment_scale(
        deployment, namespace or cluster.namespace, {"spec": {"replicas": replicas}})


def _course_namespaces(cluster: Cluster) -> list[str]:
    names = {cluster.namespace}
    for ns in cluster.core.list_namespace(label_selector=cluster.selector).items:
        names.add(ns.metadata.name)
    return sorted(names)


def _listers(cluster: Cluster) -> dict:
    """The official client's list function of each namespaced kind, in NAMESPACED_KINDS order."""
    return {
        "Deployment": cluster.apps.list_namespaced_deployment,
        "ReplicaSet": cluster.apps.list_namespaced_replica_set,
        "Job": cluster.batch.list_namespaced_job,
        "Pod": cluster.core.list_namespaced_pod,
        "ResourceQuota": cluster.core.list_namespaced_resource_quota,
    }


def course_objects(cluster: Cluster, include_namespaces: bool = False) -> list[ObjectRef]:
    """Every object carrying the course label: namespaced kinds in the course namespaces, priority
    classes, and (if ``include_namespaces``) the labelled namespaces other than the course's own.
    Pods already being deleted are still listed until they are gone."""
    sel = cluster.selector
    found: list[ObjectRef] = []
    for ns in _course_namespaces(cluster):
        for kind, list_fn in _listers(cluster).items():
            for item in list_fn(ns, label_selector=sel).items:
                found.append(ObjectRef(kind, ns, item.metadata.name))
    for item in cluster.scheduling.list_priority_class(label_selector=sel).items:
        found.append(ObjectRef("PriorityClass", None, item.metadata.name))
    if include_namespaces:
        for ns in cluster.core.list_namespace(label_selector=sel).items:
            if ns.metadata.name != cluster.namespace:
                found.append(ObjectRef("Namespace", None, ns.metadata.name))
    return found


def cleanup(cluster: Cluster, wait: bool = True, timeout: float = 60,
            delete_namespaces: bool = True) -> dict[str, int]:
    """Delete exactly the course-labelled objects; return how many of each kind were deleted.

    Deployments and Jobs go with their ReplicaSets and pods (foreground propagation). Labelled
    namespaces other than the course namespace are deleted too (if ``delete_namespaces``); the course
    namespace itself stays. With ``wait``, returns when no labelled object is left (or raises
    TimeoutError after ``timeout`` seconds, naming what is left).
    """
    counts: dict[str, int] = {}
    opts = client.V1DeleteOptions(propagation_policy="Background", grace_period_seconds=0)
    for ref in course_objects(cluster, include_namespaces=delete_namespaces):
        deleters = {
            "Deployment": lambda r: cluster.apps.delete_namespaced_deployment(r.name, r.namespace, body=opts),
            "ReplicaSet": lambda r: cluster.apps.delete_namespaced_replica_set(r.name, r.namespace, body=opts),
            "Job": lambda r: cluster.batch.delete_namespaced_job(r.name, r.namespace, body=opts),
            "Pod": lambda r: cluster.core.delete_namespaced_pod(r.name, r.namespace, body=opts),
            "ResourceQuota": lambda r: cluster.core.delete_namespaced_resource_quota(r.name, r.namespace),
            "PriorityClass": lambda r: cluster.scheduling.delete_priority_class(r.name),
            "Namespace": lambda r: cluster.core.delete_namespace(r.name),
        }
        try:
            deleters[ref.kind](ref)
        except client.ApiException as exc:
            if exc.status not in (404, 409):
                raise
            continue
        counts[ref.kind] = counts.get(ref.kind, 0) + 1
    if wait:
        wait_for_cleanup(cluster, timeout=timeout, include_namespaces=delete_namespaces)
    return counts


def wait_for_cleanup(cluster: Cluster, timeout: float = 60, include_namespaces: bool = True) -> None:
    """Wait until no course-labelled object is left; raise TimeoutError naming what remains.

    Watches each kind in each course namespace in turn (Deployments, ReplicaSets, Jobs, Pods, quotas,
    then PriorityClasses and namespaces) until its labelled objects are gone, with
    :func:`whyk8s.k8s.informer.wait_until_gone`. Pods still there are deleted at once (grace period 0),
    including one that a ReplicaSet re-creates meanwhile (racing its Deployment's deletion).
    """
    from whyk8s.k8s.informer import wait_until_gone

    def delete_pod(pod) -> None:
        if pod.metadata.deletion_timestamp is not None and pod.metadata.deletion_grace_period_seconds == 0:
            return  # already going at once
        try:
            cluster.core.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace,
                                               grace_period_seconds=0)
        except client.ApiException:
            pass  # already gone

    sel = cluster.selector
    deadline = time.monotonic() + timeout
    while True:
        for ns in _course_namespaces(cluster):
            for kind, list_fn in _listers(cluster).items():
                wait_until_gone(list_fn, ns, label_selector=sel, deadline=deadline,
                                on_present=delete_pod if kind == "Pod" else None)
        wait_until_gone(cluster.scheduling.list_priority_class, label_selector=sel, deadline=deadline)
        if include_namespaces:
            wait_until_gone(cluster.core.list_namespace,
                            label_selector=f"{sel},kubernetes.io/metadata.name!={cluster.namespace}",
                            deadline=deadline)
        # a last look: a controller may have re-created something in a kind already waited for
        left = course_objects(cluster, include_namespaces=include_namespaces)
        if not left:
            return
        if time.monotonic() > deadline:
            raise WaitTimeoutError("Clean-up did not finish: still there: " + ", ".join(map(str, left[:10])))
