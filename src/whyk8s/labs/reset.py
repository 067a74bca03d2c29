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

from typing import Iterable, Sequence


from whyk8s.errors import NamespaceRefused
from whyk8s.k8s.guard import Cluster, is_course_labelled
from whyk8s.k8s.objects import KINDS, ObjectRef, cleanup
from whyk8s.k8s.rights import Access, require
from whyk8s.labs.checks import never_raise
from whyk8s.labs.common import delete_commands, lab_cluster, read
from whyk8s.labs.feedback import ResetResult

__all__ = ["reset_lab", "left_alone", "delete_course_objects"]


def reset_lab(title: str, named: Iterable[ObjectRef | tuple], timeout: float = 90,
              rights: Sequence[Access] = ()) -> ResetResult:
    """Reset a lab: name the objects of ``named`` (the lab task's objects, as
    :class:`~whyk8s.k8s.objects.ObjectRef` or ``(kind, namespace, name)``, namespace None for
    cluster-scoped kinds) that the reset may not delete (:func:`left_alone`), then delete every
    course-labelled object except what those control, and wait until they are gone
    (:func:`delete_course_objects`, ``timeout`` seconds).

    Returns a :class:`~whyk8s.labs.feedback.ResetResult` ("Lab N reset: done"; "done, but N left
    alone" with one finding per object left); never raises: no cluster, or a clean-up that does not
    finish in time, is one finding ("not done"). ``rights``: what the lab's task needs beyond the
    learner's namespace; a user who lacks one (a workshop participant) gets
    :class:`~whyk8s.k8s.rights.InstructorDemonstration` naming ``title`` instead (shown as one sentence).
    kubectl: ``kubectl delete deploy,rs,job,pod,quota,limits -l app.kubernetes.io/part-of=whyk8s``
    in each course namespace, then the labelled priority classes and namespaces."""
    refs = [r if isinstance(r, ObjectRef) else ObjectRef(*r) for r in named]

    @never_raise(title, ResetResult)
    def run() -> ResetResult:
        result = ResetResult(title)
        cluster = lab_cluster(result)
        if cluster is None:
            return result
        require(cluster, title, *rights)
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
    """Delete every course-labelled object except those controlled, directly or through a
    ReplicaSet, by an object whose uid is in ``keep`` (or by any controller the course did not
    create), and wait until they are gone: :func:`whyk8s.k8s.objects.cleanup`. Returns how many of
    each kind were deleted. Raises :class:`~whyk8s.errors.WaitTimeoutError` naming what is still
    there after ``timeout`` seconds."""
    return cleanup(cluster, timeout=timeout, keep=set(keep))
