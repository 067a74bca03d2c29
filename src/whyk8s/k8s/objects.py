"""Create, change and delete the course's objects: always labelled, only in the course's namespaces.

One small function per API act, as in the official client's examples (``create``, ``delete_pod``,
``scale``, ``set_image``, ``rollout``, ``cleanup``). Each takes a :class:`whyk8s.k8s.guard.Cluster`
(from :func:`whyk8s.k8s.guard.connect`), so it can only reach a course cluster, and each checks the
namespace itself (:meth:`~whyk8s.k8s.guard.Cluster.check_namespace`): the course creates only in its
own namespace or in namespaces it created, and changes or deletes only objects carrying its label
``app.kubernetes.io/part-of=whyk8s``. The same acts with kubectl are named in each docstring.

Errors from the API server propagate as :class:`kubernetes.client.ApiException`; refusals of the
course's own rules as :class:`~whyk8s.errors.NamespaceRefused` or :class:`~whyk8s.errors.CourseError`.
Show any of them with :func:`whyk8s.errors.explain`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from kubernetes import client

from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s import specs
from whyk8s import PARTICIPANT_LABEL
from whyk8s.k8s.guard import Cluster, is_course_labelled, is_workshop_context
from whyk8s.k8s.pods import controller_of
from whyk8s.k8s.waits import RolloutResult, wait_for_rollout, wait_until_gone, watch_until

__all__ = ["create", "delete_pod", "scale", "set_image", "rollout", "course_namespaces", "course_objects",
           "cleanup", "wait_for_cleanup", "ObjectRef", "KINDS", "NAMESPACED_KINDS", "CLUSTER_KINDS",
           "api_of", "delete_labelled"]


@dataclass(frozen=True)
class Kind:
    """How the official client reaches one kind: the typed API attribute of :class:`Cluster`
    (``core``, ``apps``, ``batch``, ``scheduling``) and the kind's name in its method names
    (``pod`` → ``list_namespaced_pod``, ``read_namespaced_pod``, ``delete_namespaced_pod``)."""

    kind: str
    api: str
    method: str
    namespaced: bool = True

    def fn(self, cluster: Cluster, verb: str):
        """The bound method for ``verb`` (``list``, ``read``, ``delete``, ``create``, ``patch``)."""
        scope = "namespaced_" if self.namespaced else ""
        return getattr(getattr(cluster, self.api), f"{verb}_{scope}{self.method}")

    def list_all(self, cluster: Cluster):
        """The ``list_<kind>_for_all_namespaces`` method (namespaced kinds only)."""
        return getattr(getattr(cluster, self.api), f"list_{self.method}_for_all_namespaces")


#: Every kind the course or a learner in a lab creates, owners before what they own (the order in
#: which clean-up deletes them).
KINDS = {k.kind: k for k in (
    Kind("HorizontalPodAutoscaler", "autoscaling", "horizontal_pod_autoscaler"),
    Kind("Deployment", "apps", "deployment"),
    Kind("ReplicaSet", "apps", "replica_set"),
    Kind("Job", "batch", "job"),
    Kind("Pod", "core", "pod"),
    Kind("Service", "core", "service"),
    Kind("ResourceQuota", "core", "resource_quota"),
    Kind("LimitRange", "core", "limit_range"),
    Kind("PriorityClass", "scheduling", "priority_class", namespaced=False),
    Kind("Namespace", "core", "namespace", namespaced=False),
)}
NAMESPACED_KINDS = tuple(k for k, v in KINDS.items() if v.namespaced)
CLUSTER_KINDS = ("PriorityClass",)

_TYPES = {client.V1Pod: "Pod", client.V1Deployment: "Deployment", client.V1Job: "Job",
          client.V1ResourceQuota: "ResourceQuota", client.V1LimitRange: "LimitRange",
          client.V1PriorityClass: "PriorityClass", client.V1Service: "Service",
          client.V2HorizontalPodAutoscaler: "HorizontalPodAutoscaler"}


def api_of(kind: str) -> Kind:
    """The :class:`Kind` entry for ``kind`` (e.g. ``"Pod"``). Raises CourseError for a kind the course
    does not handle."""
    try:
        return KINDS[kind]
    except KeyError:
        raise CourseError(f"The course does not handle {kind} objects.") from None


@dataclass(frozen=True)
class ObjectRef:
    """A labelled object found on the cluster: ``kind``, ``namespace`` (None if cluster-scoped), ``name``,
    ``uid`` (not compared: two refs to the same kind, namespace and name are equal)."""

    kind: str
    namespace: str | None
    name: str
    uid: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def create(cluster: Cluster, obj, namespace: str | None = None):
    """Create ``obj`` (V1Pod, V1Deployment, V1Job, V1Service, V2HorizontalPodAutoscaler, V1ResourceQuota,
    V1LimitRange or V1PriorityClass)
    with the course label. Namespaced objects go to ``namespace`` (default: the course namespace),
    which must be the course's or one it created; a missing one is created, labelled.
    kubectl: ``kubectl create -f obj.yaml -n <namespace>``.

    Returns the created object. Raises NamespaceRefused for ``default``, ``kube-*`` or a namespace the
    course did not create (nothing is sent then), ApiException (409 if it exists, 403 if refused),
    CourseError for a kind the course does not create.
    """
    kind = _TYPES.get(type(obj))
    if kind is None:
        raise CourseError(f"The course does not create {type(obj).__name__} objects.")
    meta = obj.metadata
    meta.labels = {**(meta.labels or {}), **cluster.labels}
    entry = KINDS[kind]
    if not entry.namespaced:
        return entry.fn(cluster, "create")(obj)
    ns = cluster.ensure_namespace(namespace or cluster.namespace)
    return entry.fn(cluster, "create")(ns, obj)


def _read_labelled(cluster: Cluster, kind: str, name: str, namespace: str | None):
    """Read a course object, refusing one without the course label (CourseError) or outside the
    course's namespaces (NamespaceRefused). ApiException 404 if it does not exist."""
    entry = api_of(kind)
    if entry.namespaced:
        namespace = cluster.check_namespace(namespace or cluster.namespace)
        obj = entry.fn(cluster, "read")(name, namespace)
    else:
        obj = entry.fn(cluster, "read")(name)
    if not is_course_labelled(obj):
        where = f" in namespace {namespace}" if entry.namespaced else ""
        raise CourseError(f"{kind} {name!r}{where} was not created by the course (it lacks the label "
                          f"{cluster.selector}), so the course leaves it alone. Delete or change it yourself "
                          f"if you mean to (kubectl delete {kind.lower()} {name}"
                          f"{' -n ' + namespace if entry.namespaced else ''}).")
    return obj


def delete_labelled(cluster: Cluster, kind: str, name: str, namespace: str | None = None,
                    grace_period_seconds: int | None = 0) -> bool:
    """Delete one object of ``kind`` if it carries the course label (background propagation: a
    Deployment's ReplicaSets and pods follow). Returns True if deleted, False if it did not exist.
    The read and the delete are tied by the object's uid (a delete precondition), so an object
    re-created meanwhile under the same name is not touched. Raises CourseError for an object
    without the course label, NamespaceRefused outside the course's namespaces.
    kubectl: ``kubectl delete <kind> <name> -n <namespace>``."""
    entry = api_of(kind)
    try:
        obj = _read_labelled(cluster, kind, name, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    body = client.V1DeleteOptions(propagation_policy="Background", grace_period_seconds=grace_period_seconds,
                                  preconditions=client.V1Preconditions(uid=obj.metadata.uid))
    try:
        if entry.namespaced:
            entry.fn(cluster, "delete")(name, obj.metadata.namespace, body=body)
        else:
            entry.fn(cluster, "delete")(name, body=body)
    except client.ApiException as exc:
        if exc.status in (404, 409):  # gone, or a new object of that name (uid precondition)
            return False
        raise
    return True


def delete_pod(cluster: Cluster, name: str, namespace: str | None = None) -> None:
    """Delete course pod ``name`` at once (grace period 0: no time to shut down). Raises ApiException
    404 if it does not exist, CourseError if it lacks the course label.
    kubectl: ``kubectl delete pod <name> --grace-period=0 --force``."""
    if not delete_labelled(cluster, "Pod", name, namespace):
        raise client.ApiException(status=404, reason=f"Pod {name} not found")


def scale(cluster: Cluster, deployment: str, replicas: int, namespace: str | None = None) -> None:
    """Set a course Deployment's replicas (a whole number ≥ 0) through its ``scale`` subresource.
    Raises ValueError for bad input, CourseError for a Deployment without the course label.
    kubectl: ``kubectl scale deployment <name> --replicas=<n>``."""
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise ValueError(f"Replicas {replicas!r} must be a whole number, 0 or more.")
    dep = _read_labelled(cluster, "Deployment", deployment, namespace)
    cluster.apps.patch_namespaced_deployment_scale(deployment, dep.metadata.namespace,
                                                   {"spec": {"replicas": replicas}})


def set_image(cluster: Cluster, deployment: str, image: str, namespace: str | None = None) -> bool:
    """Set the image of course Deployment ``deployment``'s first container: a rolling update starts if
    it differs. Returns True if the image changed, False if the Deployment already had it.
    Raises ValueError for an empty image or one with spaces, CourseError for a Deployment without
    the course label, ApiException from the API server.
    kubectl: ``kubectl set image deployment/<name> <container>=<image>``."""
    image = (image or "").strip()
    if not image or any(c.isspace() for c in image):
        raise ValueError(f"The image {image!r} is not valid: give one such as {specs.DEFAULT_IMAGE}.")
    dep = _read_labelled(cluster, "Deployment", deployment, namespace)
    container = dep.spec.template.spec.containers[0]
    if container.image == image:
        return False
    cluster.apps.patch_namespaced_deployment(
        deployment, dep.metadata.namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": container.name, "image": image}]}}}})
    return True


def rollout(cluster: Cluster, deployment: str, image: str, timeout: float = 60,
            namespace: str | None = None) -> RolloutResult:
    """Change Deployment ``deployment``'s image (:func:`set_image`) and wait until the rollout is
    complete as ``kubectl rollout status`` decides (:func:`whyk8s.k8s.waits.wait_for_rollout`),
    recording from a watch on its ReplicaSets each distinct ``(old ready, new ready)`` pair of pods.
    If the Deployment already runs ``image``, returns at once with ``changed=False`` (and the
    rollout already in progress, e.g. from a widget, is waited for too). Raises
    :class:`WaitTimeoutError` after ``timeout`` seconds, ValueError for a bad image.
    kubectl: ``kubectl set image …`` then ``kubectl rollout status deployment/<name>``."""
    from whyk8s.k8s.informer import shared_informer

    started = time.monotonic()
    ns = namespace or cluster.namespace
    selector = f"{cluster.selector},app={deployment}"
    steps: list[tuple[int, int]] = []
    lock = threading.Lock()
    informer = shared_informer(cluster.apps.list_namespaced_replica_set, ns, label_selector=selector)
    # First let an earlier change settle: after a scale, `kubectl rollout status` is satisfied while the
    # ReplicaSets' own status still counts the pods that are going (ready 5, then 2, then 3); a step
    # recorded then would predate the rollout. Then the ReplicaSets as they are now, from the API
    # server: a shared informer that was already running may still deliver older events, so each
    # ReplicaSet's state is only ever replaced by a newer one (higher resourceVersion).
    def settled(objs: dict) -> bool:
        return all(rs.status.observed_generation == rs.metadata.generation
                   and (rs.status.replicas or 0) == (rs.spec.replicas or 0)
                   and (rs.status.ready_replicas or 0) == (rs.spec.replicas or 0) for rs in objs.values())

    latest = dict(watch_until(cluster.apps.list_namespaced_replica_set, ns, label_selector=selector,
                              done=settled, timeout=timeout))
    before = {name for name, rs in latest.items()
              if any(c.image != image for c in rs.spec.template.spec.containers)}

    def newer(a, b) -> bool:
        try:
            return int(a.metadata.resource_version) > int(b.metadata.resource_version)
        except (TypeError, ValueError):
            return True

    def record(*_args) -> None:
        with lock:
            for rs in list(informer.items.values()):
                known = latest.get(rs.metadata.name)
                if known is None or newer(rs, known):
                    latest[rs.metadata.name] = rs
            old = sum((rs.status.ready_replicas or 0) for rs in latest.values() if rs.metadata.name in before)
            new = sum((rs.status.ready_replicas or 0) for rs in latest.values() if rs.metadata.name not in before)
            if not steps or steps[-1] != (old, new):
                steps.append((old, new))

    sub = informer.subscribe(on_event=record, on_sync=record)
    try:
        if not informer.running:
            informer.prime()
            informer.start()
        record()
        changed = set_image(cluster, deployment, image, namespace)
        _, message = wait_for_rollout(cluster, deployment, timeout=timeout, namespace=ns)
        record()
    finally:
        sub.close()
    with lock:
        return RolloutResult(deployment, image, changed, list(steps), round(time.monotonic() - started, 2),
                             message)


def course_namespaces(cluster: Cluster) -> list[str]:
    """The course namespace and every namespace carrying the course label, sorted; but not the
    workshop participants' namespaces (``whyk8s.io/participant``: ``whyk8s workshop reset/down`` empty
    them), unless it is the connection's own. A workshop participant's connection has only its own."""
    if is_workshop_context(cluster.context):
        return [cluster.namespace]
    names = {cluster.namespace}
    for ns in cluster.core.list_namespace(label_selector=_OTHER_NAMESPACES).items:
        names.add(ns.metadata.name)
    return sorted(names)


#: Course-labelled namespaces that are not a workshop participant's.
_OTHER_NAMESPACES = f"app.kubernetes.io/part-of=whyk8s,!{PARTICIPANT_LABEL}"


def _cluster_wide(cluster: Cluster) -> bool:
    """False for a workshop participant's connection: clean-up leaves cluster-scoped objects
    (PriorityClasses, namespaces) to the instructor."""
    return not is_workshop_context(cluster.context)


def course_objects(cluster: Cluster, include_namespaces: bool = False) -> list[ObjectRef]:
    """Every object carrying the course label: namespaced kinds in the course namespaces, priority
    classes, and (if ``include_namespaces``) the labelled namespaces other than the course's own.
    Pods already being deleted are still listed until they are gone."""
    sel = f"{cluster.selector},!{PARTICIPANT_LABEL}"  # what `workshop up` made is the instructor's
    found: list[ObjectRef] = []
    for ns in course_namespaces(cluster):
        for kind in NAMESPACED_KINDS:
            for item in KINDS[kind].fn(cluster, "list")(ns, label_selector=sel).items:
                found.append(ObjectRef(kind, ns, item.metadata.name, item.metadata.uid))
    if not _cluster_wide(cluster):
        return found
    for item in cluster.scheduling.list_priority_class(label_selector=sel).items:
        found.append(ObjectRef("PriorityClass", None, item.metadata.name, item.metadata.uid))
    if include_namespaces:
        for ns in cluster.core.list_namespace(label_selector=_OTHER_NAMESPACES).items:
            if ns.metadata.name != cluster.namespace:
                found.append(ObjectRef("Namespace", None, ns.metadata.name, ns.metadata.uid))
    return found


def cleanup(cluster: Cluster, wait: bool = True, timeout: float = 60, delete_namespaces: bool = True,
            keep: set[str] = frozenset()) -> dict[str, int]:
    """Delete exactly the course-labelled objects; return how many of each kind were deleted.

    Deployments and Jobs go with their ReplicaSets and pods (background propagation: the garbage
    collector deletes what they own). A labelled object whose controller the course did not create
    (its ``ownerReferences`` controller is not a course-labelled object, e.g. a learner's unlabelled
    Deployment whose pod template carries the label), or whose controller's uid is in ``keep``, is
    left alone with everything it controls: the controller would only re-create it, and it is not
    the course's to delete. Every namespace carrying the course label other than the course
    namespace is deleted too, with everything in it (if ``delete_namespaces``); the course namespace
    itself stays, and so do workshop participants' namespaces (``whyk8s workshop reset/down``). With a
    workshop participant's connection, only the participant's own namespace is cleaned. With
    ``wait``, returns when no labelled object is left but the ones kept, or raises
    :class:`WaitTimeoutError` after ``timeout`` seconds naming what is left.
    kubectl: ``kubectl delete deploy,rs,job,pod,quota,limits -l app.kubernetes.io/part-of=whyk8s
    --grace-period=0 --force`` in each course namespace, then the labelled priority classes and
    namespaces.
    """
    counts: dict[str, int] = {}
    opts = client.V1DeleteOptions(propagation_policy="Background", grace_period_seconds=0)
    kept = set(keep)
    deletable: set[str] = set()
    sel = f"{cluster.selector},!{PARTICIPANT_LABEL}"  # what `workshop up` made is the instructor's

    def delete(kind: str, obj) -> None:
        entry = KINDS[kind]
        try:
            if entry.namespaced:
                entry.fn(cluster, "delete")(obj.metadata.name, obj.metadata.namespace, body=opts)
            else:
                entry.fn(cluster, "delete")(obj.metadata.name, body=opts)
        except client.ApiException as exc:
            if exc.status not in (404, 409):
                raise
            return
        counts[kind] = counts.get(kind, 0) + 1

    for ns in course_namespaces(cluster):
        for kind in NAMESPACED_KINDS:  # owners before what they own
            for obj in KINDS[kind].fn(cluster, "list")(ns, label_selector=sel).items:
                owner = controller_of(obj)
                if obj.metadata.uid in kept or (owner is not None and owner.uid not in deletable):
                    kept.add(obj.metadata.uid)
                    continue
                deletable.add(obj.metadata.uid)
                if obj.metadata.deletion_timestamp is None:
                    delete(kind, obj)
    if not _cluster_wide(cluster):  # a workshop participant: their own namespace only
        delete_namespaces = False
    else:
        for obj in cluster.scheduling.list_priority_class(label_selector=sel).items:
            delete("PriorityClass", obj)
    if delete_namespaces:
        for obj in cluster.core.list_namespace(label_selector=_OTHER_NAMESPACES).items:
            if obj.metadata.name != cluster.namespace and obj.metadata.deletion_timestamp is None:
                delete("Namespace", obj)
    if wait:
        wait_for_cleanup(cluster, timeout=timeout, include_namespaces=delete_namespaces, kept=kept)
    return counts


def wait_for_cleanup(cluster: Cluster, timeout: float = 60, include_namespaces: bool = True,
                     kept: set[str] = frozenset()) -> None:
    """Wait until no course-labelled object is left but those :func:`cleanup` kept (their uids in
    ``kept``, and whatever they control); raise :class:`WaitTimeoutError` naming what remains.

    Watches each kind in each course namespace in turn until its labelled objects are gone
    (:func:`whyk8s.k8s.waits.watch_until`). Labelled pods that appear meanwhile are deleted at once
    (grace period 0), e.g. one that a ReplicaSet re-creates while its Deployment is being deleted.
    """
    kept = set(kept)

    def is_kept(obj) -> bool:
        owner = controller_of(obj)
        if obj.metadata.uid in kept or (owner is not None and owner.uid in kept):
            kept.add(obj.metadata.uid)
            return True
        return False

    def delete_now(kind: str, pod) -> None:
        if kind != "ADDED" or is_kept(pod):
            return
        if pod.metadata.deletion_timestamp is not None and pod.metadata.deletion_grace_period_seconds == 0:
            return  # already going at once
        try:
            cluster.core.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0)
        except client.ApiException:
            pass  # already gone

    sel = f"{cluster.selector},!{PARTICIPANT_LABEL}"  # what `workshop up` made is the instructor's
    deadline = time.monotonic() + timeout
    while True:
        for ns in course_namespaces(cluster):
            for kind in NAMESPACED_KINDS:
                watch_until(KINDS[kind].fn(cluster, "list"), ns, label_selector=sel, deadline=deadline,
                            done=lambda objs: all(is_kept(o) for o in objs.values()),
                            on_change=delete_now if kind == "Pod" else None)
        if _cluster_wide(cluster):
            wait_until_gone(cluster.scheduling.list_priority_class, label_selector=sel, deadline=deadline)
        if include_namespaces and _cluster_wide(cluster):
            wait_until_gone(cluster.core.list_namespace,
                            label_selector=f"{_OTHER_NAMESPACES},kubernetes.io/metadata.name!={cluster.namespace}",
                            deadline=deadline)
        # a last look: a controller may have re-created something in a kind already waited for
        left = [ref for ref in course_objects(cluster, include_namespaces=include_namespaces)
                if ref.uid not in kept]
        if not left:
            return
        if time.monotonic() > deadline:
            raise WaitTimeoutError("Clean-up did not finish: still there: " + ", ".join(map(str, left[:10])))
