"""Resetting a cluster lab: delete exactly what the course labelled, and say what was left alone.

A lab's ``reset()`` deletes every object carrying the course label ``app.kubernetes.io/part-of=whyk8s``
in the course namespace and in the namespaces the course created, the labelled PriorityClasses and
the labelled namespaces (each through :func:`whyk8s.k8s.objects.delete_labelled`, which checks the
label and the namespace itself), then waits, watching, until they are gone. It never deletes by
name: an object the lab's task names that exists *without* the course label (or in a namespace the
course did not create) is left alone, and the reset says so in one sentence with the two lines
that delete it by hand (the official client's call and ``kubectl delete …``).

What such an object controls is left alone too, labelled or not: a Deployment made without the
course label but with it on its Pod template owns labelled ReplicaSets and Pods, which it would
only create again (the owners are followed by ``ownerReferences`` uid, as the garbage collector does).
"""

from __future__ import annotations

import time
from typing import Iterable

from kubernetes import client

from whyk8s.errors import NamespaceRefused, WaitTimeoutError
from whyk8s.k8s.guard import Cluster, is_course_labelled
from whyk8s.k8s.objects import KINDS, NAMESPACED_KINDS, ObjectRef, course_namespaces, delete_labelled
from whyk8s.k8s.pods import controller_of
from whyk8s.k8s.waits import watch_until
from whyk8s.labs.checks import never_raise
from whyk8s.labs.common import delete_commands, lab_cluster, read
from whyk8s.labs.feedback import ResetResult

__all__ = ["reset_lab", "left_alone", "delete_course_objects"]


def reset_lab(title: str, named: Iterable[ObjectRef | tuple], timeout: float = 90) -> ResetResult:
    """Reset a lab: name the objects of ``named`` (the lab task's objects, as
    :class:`~whyk8s.k8s.objects.ObjectRef` or ``(kind, namespace, name)``, namespace None for
    cluster-scoped kinds) that the reset may not delete (:func:`left_alone`), then delete every
    course-labelled object except what those control, and wait until they are gone
    (:func:`delete_course_objects`, ``timeout`` seconds).

    Returns a :class:`~whyk8s.labs.feedback.ResetResult` ("Lab N reset: done"; "done, but N left
    alone" with one finding per object left); never raises: no cluster, or a clean-up that does not
    finish in time, is one finding ("not done").
    kubectl: ``kubectl delete deploy,rs,job,pod,quota,limits -l app.kubernetes.io/part-of=whyk8s``
    in each course namespace, then the labelled priority classes and namespaces."""
    refs = [r if isinstance(r, ObjectRef) else ObjectRef(*r) for r in named]

    @never_raise(title, ResetResult)
    def run() -> ResetResult:
        result = ResetResult(title)
        cluster = lab_cluster(result)
        if cluster is None:
            return result
        left, keep = left_alone(cluster, refs)
        counts = delete_course_objects(cluster, keep=keep, timeout=timeout)
        result.ran = True
        removed = ", ".join(f"{n} {_plural(kind, n)}" for kind, n in counts.items())
        if removed:
            result.ok(f"removed what carried the course label: {removed}")
        for message in left:
            result.wrong(message)
        if not result.findings:
            result.ok("nothing to remove: no object carried the course label")
        return result

    return run()


def left_alone(cluster: Cluster, refs: list[ObjectRef]) -> tuple[list[str], set[str]]:
    """Which objects of ``refs`` a reset leaves alone, before it deletes anything: one sentence for
    each (with the lines that delete it by hand), and the uids of those objects, whose dependants
    the reset must not delete either. An object is left alone when it exists, is not being deleted,
    and lacks the course label, or lies in a namespace the course did not create; an object in a
    labelled namespace goes with that namespace. Objects inside a namespace that is itself left
    alone are covered by its sentence."""
    messages: list[str] = []
    keep: set[str] = set()
    skipped_namespaces: set[str] = set()
    for ref in sorted(refs, key=lambda r: r.kind != "Namespace"):  # namespaces first
        if ref.namespace in skipped_namespaces:
            continue
        obj = read(cluster, ref.kind, ref.name, ref.namespace)
        if obj is None or obj.metadata.deletion_timestamp is not None:
            continue
        call, kubectl = delete_commands(ref.kind, ref.name, ref.namespace)
        what = f"{ref.kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name}"
        if ref.kind == "Namespace":
            if not is_course_labelled(obj):
                skipped_namespaces.add(ref.name)
                messages.append(f"Namespace {ref.name} has no label {cluster.selector}, so the reset left it and "
                                f"everything in it alone; if it is yours to delete, run {call} ({kubectl})")
            continue
        namespaced = KINDS[ref.kind].namespaced
        if namespaced and not _course_namespace(cluster, ref.namespace):
            messages.append(f"{what} is in namespace {ref.namespace}, which the course did not create (it has "
                            f"no label {cluster.selector}), so the reset left it alone; if it is yours to "
                            f"delete, run {call} ({kubectl})")
        elif namespaced and ref.namespace != cluster.namespace:
            continue  # in a namespace the course created: the reset deletes the namespace with it
        elif not is_course_labelled(obj):
            keep.add(obj.metadata.uid)
            messages.append(f"{what} has no label {cluster.selector}, so the reset left it alone; if it is "
                            f"yours to delete, run {call} ({kubectl})")
    return messages, keep


def _plural(kind: str, n: int) -> str:
    """``"Pod"`` → ``"Pods"``, ``"PriorityClass"`` → ``"PriorityClasses"`` (for ``n`` other than 1)."""
    if n == 1:
        return kind
    return kind + ("es" if kind.endswith("s") else "s")


def _course_namespace(cluster: Cluster, namespace: str) -> bool:
    try:
        cluster.check_namespace(namespace)
    except NamespaceRefused:
        return False
    return True


def delete_course_objects(cluster: Cluster, keep: set[str] = frozenset(), timeout: float = 90) -> dict[str, int]:
    """Delete every course-labelled object (:func:`whyk8s.k8s.objects.delete_labelled`, background
    propagation, grace period 0) except those controlled, directly or through a ReplicaSet, by an
    object whose uid is in ``keep``; then watch until they are gone. Labelled Pods that appear
    meanwhile (a ReplicaSet racing its Deployment's deletion) are deleted at once. Returns how many
    of each kind were deleted. Raises :class:`~whyk8s.errors.WaitTimeoutError` naming what is still
    there after ``timeout`` seconds. Like :func:`whyk8s.k8s.objects.cleanup`, plus ``keep``."""
    kept = set(keep)

    def kept_owner(obj) -> bool:
        owner = controller_of(obj)
        return owner is not None and owner.uid in kept

    counts: dict[str, int] = {}
    namespaces = course_namespaces(cluster)
    sel = cluster.selector

    def delete(kind: str, obj) -> None:
        if delete_labelled(cluster, kind, obj.metadata.name, obj.metadata.namespace):
            counts[kind] = counts.get(kind, 0) + 1

    for ns in namespaces:
        for kind in NAMESPACED_KINDS:  # owners before what they own: a kept owner's dependants are kept
            for obj in KINDS[kind].fn(cluster, "list")(ns, label_selector=sel).items:
                if kept_owner(obj):
                    kept.add(obj.metadata.uid)
                elif obj.metadata.deletion_timestamp is None:
                    delete(kind, obj)
    for obj in cluster.scheduling.list_priority_class(label_selector=sel).items:
        delete("PriorityClass", obj)
    for obj in cluster.core.list_namespace(label_selector=sel).items:
        if obj.metadata.name != cluster.namespace and obj.metadata.deletion_timestamp is None:
            delete("Namespace", obj)

    deadline = time.monotonic() + timeout
    left: list[str] = []

    def gone(objs: dict) -> bool:
        return all(kept_owner(o) for o in objs.values())

    def pod_appeared(event: str, pod) -> None:
        if event == "ADDED" and not kept_owner(pod) and pod.metadata.deletion_grace_period_seconds != 0:
            try:
                cluster.core.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0)
            except client.ApiException:
                pass  # already gone

    for ns in namespaces:
        for kind in NAMESPACED_KINDS:
            objs = watch_until(KINDS[kind].fn(cluster, "list"), ns, label_selector=sel, done=gone, deadline=deadline,
                               on_change=pod_appeared if kind == "Pod" else None)
            left += [f"{kind} {ns}/{o.metadata.name}" for o in objs.values() if not kept_owner(o)]
    for kind, list_fn, selector in (
            ("PriorityClass", cluster.scheduling.list_priority_class, sel),
            ("Namespace", cluster.core.list_namespace, f"{sel},kubernetes.io/metadata.name!={cluster.namespace}")):
        objs = watch_until(list_fn, label_selector=selector, done=lambda objs: not objs, deadline=deadline)
        left += [f"{kind} {name}" for name in objs]
    if left:
        raise WaitTimeoutError(f"The reset did not finish within {timeout:g} s: still there: {', '.join(left[:10])}.")
    return counts
