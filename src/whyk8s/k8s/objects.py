"""Create, change and delete the course's objects: always labelled, only in the course's namespaces.

One small function per API act, as in the official client's examples (``create``, ``delete_pod``,
``scale``, ``set_image``, ``rollout``, ``cleanup``). Each takes a :class:`whyk8s.k8s.guard.Cluster`
(from :func:`whyk8s.k8s.guard.connect`), so it can only reach a course cluster, and each checks the
namespace itself (:meth:`~whyk8s.k8s.guard.Cluster.check_namespace`): the course creates only in its
own namespace or in namespaces it created, and changes or deletes only objects carrying its label
``app.kubernetes.io/part-of=whyk8s``. The same acts with kubectl are named in each docstring.

Clean-up (:func:`cleanup`, :func:`course_objects`, :func:`wait_for_cleanup`) also knows the kinds the
ML-platform chapters make, reached through the generic ``CustomObjectsApi`` (:data:`CUSTOM_KINDS`):
Kueue's (``kueue.x-k8s.io/v1beta2``), Karpenter's (``karpenter.sh/v1``, ``karpenter.kwok.sh/v1alpha1``)
and DRA's (``resource.k8s.io/v1``). A kind whose CRD is not installed (404 on its list) is skipped.

Errors from the API server propagate as :class:`kubernetes.client.ApiException`; refusals of the
course's own rules as :class:`~whyk8s.errors.NamespaceRefused` or :class:`~whyk8s.errors.CourseError`.
Show any of them with :func:`whyk8s.errors.explain`.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kubernetes import client

from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s import specs
from whyk8s import PART_OF_LABEL, PARTICIPANT_LABEL
from whyk8s.k8s.guard import Cluster, is_course_labelled, is_workshop_context
from whyk8s.k8s.pods import controller_of
from whyk8s.k8s.waits import RolloutResult, wait_for_rollout, wait_until_gone, watch_until

__all__ = ["create", "created", "delete_pod", "scale", "set_image", "rollout", "course_namespaces",
           "course_objects", "cleanup", "wait_for_cleanup", "ObjectRef", "KINDS", "NAMESPACED_KINDS",
           "CLUSTER_KINDS", "CUSTOM_KINDS", "CustomObject", "api_of", "delete_labelled"]


class CustomObject:
    """An object read through ``CustomObjectsApi`` (a dict, kept as ``body``) with its ``metadata`` as a
    :class:`kubernetes.client.V1ObjectMeta`, so clean-up reads it as it reads the typed kinds."""

    def __init__(self, body: dict) -> None:
        self.body = body
        self.metadata = _object_meta(body.get("metadata") or {})

    def __repr__(self) -> str:
        return f"CustomObject({self.body.get('kind')} {object_key_of(self)})"


def _object_meta(meta: dict) -> client.V1ObjectMeta:
    return client.ApiClient().deserialize(json.dumps(meta), "V1ObjectMeta", "application/json")


def object_key_of(obj) -> str:
    meta = obj.metadata
    return f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name


@dataclass(frozen=True)
class Kind:
    """How the official client reaches one kind: the typed API attribute of :class:`Cluster`
    (``core``, ``apps``, ``batch``, ``scheduling``) and the kind's name in its method names
    (``pod`` → ``list_namespaced_pod``, ``read_namespaced_pod``, ``delete_namespaced_pod``); or, for
    a kind with no typed API here (``api="custom"``), its ``group``, ``version`` and plural
    (``method``), reached through ``CustomObjectsApi`` (lists give dicts; ``read`` gives a
    :class:`CustomObject`)."""

    kind: str
    api: str
    method: str
    namespaced: bool = True
    group: str = ""
    version: str = ""

    @property
    def custom(self) -> bool:
        return self.api == "custom"

    def fn(self, cluster: Cluster, verb: str):
        """The bound method for ``verb`` (``list``, ``read``, ``delete``, ``create``, ``patch``; a
        custom kind: ``list``, ``read`` and ``delete``), called as the typed one is:
        ``list(namespace, label_selector=…)``, ``read(name, namespace)``, ``delete(name, namespace, body=…)``
        (no namespace for a cluster-scoped kind)."""
        if self.custom:
            return self._custom_fn(cluster, verb)
        scope = "namespaced_" if self.namespaced else ""
        return getattr(getattr(cluster, self.api), f"{verb}_{scope}{self.method}")

    def list_all(self, cluster: Cluster):
        """The ``list_<kind>_for_all_namespaces`` method (namespaced kinds only)."""
        if self.custom:
            api = client.CustomObjectsApi(cluster.api)
            method = api.list_cluster_custom_object
            return functools.update_wrapper(functools.partial(method, self.group, self.version, self.method), method)
        return getattr(getattr(cluster, self.api), f"list_{self.method}_for_all_namespaces")

    def _custom_fn(self, cluster: Cluster, verb: str):
        api = client.CustomObjectsApi(cluster.api)
        g, v, plural = self.group, self.version, self.method
        if verb == "list":  # a partial that keeps the method's docstring, so a watch can stream it
            method = api.list_namespaced_custom_object if self.namespaced else api.list_cluster_custom_object
            bound = (functools.partial(method, g, v, plural=plural) if self.namespaced
                     else functools.partial(method, g, v, plural))
            return functools.update_wrapper(bound, method)
        if verb == "read":
            if self.namespaced:
                return lambda name, namespace, **kw: CustomObject(
                    api.get_namespaced_custom_object(g, v, namespace, plural, name, **kw))
            return lambda name, **kw: CustomObject(api.get_cluster_custom_object(g, v, plural, name, **kw))
        if verb == "delete":
            if self.namespaced:
                return lambda name, namespace, **kw: api.delete_namespaced_custom_object(g, v, namespace, plural,
                                                                                         name, **kw)
            return lambda name, **kw: api.delete_cluster_custom_object(g, v, plural, name, **kw)
        raise CourseError(f"The course does not {verb} {self.kind} objects.")


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
#: The typed namespaced kinds (each listed with ``.items`` of client models).
NAMESPACED_KINDS = tuple(k for k, v in KINDS.items() if v.namespaced)
CLUSTER_KINDS = ("PriorityClass",)

_KUEUE = ("kueue.x-k8s.io", "v1beta2")
_KARPENTER = ("karpenter.sh", "v1")
_KWOK_NODECLASS = ("karpenter.kwok.sh", "v1alpha1")
_DRA = ("resource.k8s.io", "v1")
#: The kinds of Kueue (chapter 4c, lab 7), Karpenter with its kwok provider (chapter 4d) and DRA
#: (chapter 4a), reached through ``CustomObjectsApi``; owners before what they own, and what uses
#: an object before it (Workloads before the LocalQueue and ClusterQueue that admitted them, a NodePool
#: before its NodeClaims and their KWOKNodeClass, claims before the DeviceClass). Clean-up deletes
#: the labelled ones after the typed kinds above, and skips a kind whose CRD is not installed.
_CUSTOM = (
    Kind("Workload", "custom", "workloads", True, *_KUEUE),
    Kind("LocalQueue", "custom", "localqueues", True, *_KUEUE),
    Kind("ResourceClaim", "custom", "resourceclaims", True, *_DRA),
    Kind("ResourceClaimTemplate", "custom", "resourceclaimtemplates", True, *_DRA),
    Kind("ClusterQueue", "custom", "clusterqueues", False, *_KUEUE),
    Kind("ResourceFlavor", "custom", "resourceflavors", False, *_KUEUE),
    Kind("WorkloadPriorityClass", "custom", "workloadpriorityclasses", False, *_KUEUE),
    Kind("NodePool", "custom", "nodepools", False, *_KARPENTER),
    Kind("NodeClaim", "custom", "nodeclaims", False, *_KARPENTER),
    Kind("KWOKNodeClass", "custom", "kwoknodeclasses", False, *_KWOK_NODECLASS),
    Kind("DeviceClass", "custom", "deviceclasses", False, *_DRA),
    Kind("ResourceSlice", "custom", "resourceslices", False, *_DRA),
)
KINDS.update({k.kind: k for k in _CUSTOM})
#: The names of those kinds, in clean-up's order (each is in :data:`KINDS`, with ``api="custom"``).
CUSTOM_KINDS = tuple(k.kind for k in _CUSTOM)
#: Kinds whose labelled objects clean-up deletes only once those of the listed kinds are gone: Karpenter
#: needs a NodeClaim's KWOKNodeClass to remove its Node (a class deleted first left the Node behind).
_AFTER = {"KWOKNodeClass": ("NodePool", "NodeClaim")}
_CUSTOM_NAMESPACED = tuple(k for k in CUSTOM_KINDS if KINDS[k].namespaced)
_CUSTOM_CLUSTER = tuple(k for k in CUSTOM_KINDS if not KINDS[k].namespaced)

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


def created(obj) -> str:
    """The line ``kubectl create`` prints for ``obj``, an object the API server returned (a client model
    or a custom resource's dict): ``<kind>.<group>/<name> created``, the group left out for the core
    group: ``clusterqueue.kueue.x-k8s.io/team-a created``, ``job.batch/urgent-train created``,
    ``namespace/team-a created``. A cell that ends with it shows that line instead of the whole object.
    Raises ValueError for an object without a kind (build one with the official client's models
    returned by a create call, or a dict with ``apiVersion`` and ``kind``)."""
    if isinstance(obj, CustomObject):
        obj = obj.body
    if isinstance(obj, dict):
        api_version, kind, name = obj.get("apiVersion"), obj.get("kind"), (obj.get("metadata") or {}).get("name")
    else:
        api_version, kind = getattr(obj, "api_version", None), getattr(obj, "kind", None)
        if not kind and type(obj) in specs._API_KINDS:
            api_version, kind = specs._API_KINDS[type(obj)]
        name = obj.metadata.name if getattr(obj, "metadata", None) is not None else None
    if not kind or not name:
        raise ValueError(f"created() needs an object with a kind and a name, got {type(obj).__name__}.")
    group = api_version.rsplit("/", 1)[0] if api_version and "/" in api_version else ""
    return f"{kind.lower()}{'.' + group if group else ''}/{name} created"


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


def _listed(cluster: Cluster, kind: str, namespace: str | None, selector: str) -> list:
    """The objects of ``kind`` matching ``selector`` in ``namespace`` (None for a cluster-scoped kind),
    each with ``metadata`` (client models, or :class:`CustomObject`). A custom kind whose CRD is not
    installed (404) gives none; so does one a workshop participant may not list (403)."""
    entry = KINDS[kind]
    try:
        if entry.namespaced:
            listing = entry.fn(cluster, "list")(namespace, label_selector=selector)
        else:
            listing = entry.fn(cluster, "list")(label_selector=selector)
    except client.ApiException as exc:
        if entry.custom and (exc.status == 404 or exc.status == 403 and is_workshop_context(cluster.context)):
            return []
        raise
    if isinstance(listing, dict):
        return [CustomObject(o) for o in listing.get("items") or []]
    return listing.items


def _controller_uid(obj) -> str | None:
    owner = controller_of(obj)
    return owner.uid if owner is not None else None


def course_objects(cluster: Cluster, include_namespaces: bool = False,
                   kinds: Iterable[str] | None = None) -> list[ObjectRef]:
    """Every object carrying the course label: namespaced kinds in the course namespaces (Kueue's
    Workloads and LocalQueues, DRA's ResourceClaims and ResourceClaimTemplates included), priority
    classes and the cluster-scoped kinds of :data:`CUSTOM_KINDS` (ClusterQueues, ResourceFlavors,
    WorkloadPriorityClasses, NodePools, NodeClaims, KWOKNodeClasses, DeviceClasses, ResourceSlices),
    and (if ``include_namespaces``) the labelled namespaces other than the course's own. ``kinds``
    (names such as ``"ResourceClaim"``) keeps only those kinds. Kinds whose CRD is not installed are
    skipped. Pods already being deleted are still listed until they are gone."""
    wanted = set(kinds) if kinds is not None else None
    unknown = (wanted or set()) - set(KINDS)
    if unknown:
        raise CourseError(f"The course does not handle {', '.join(sorted(unknown))} objects.")

    def chosen(kind: str) -> bool:
        return wanted is None or kind in wanted

    sel = f"{cluster.selector},!{PARTICIPANT_LABEL}"  # what `workshop up` made is the instructor's
    found: list[ObjectRef] = []
    for ns in course_namespaces(cluster):
        for kind in NAMESPACED_KINDS + _CUSTOM_NAMESPACED:
            if chosen(kind):
                for item in _listed(cluster, kind, ns, sel):
                    found.append(ObjectRef(kind, ns, item.metadata.name, item.metadata.uid))
    if not _cluster_wide(cluster):
        return found
    for kind in CLUSTER_KINDS + _CUSTOM_CLUSTER:
        if chosen(kind):
            for item in _listed(cluster, kind, None, sel):
                found.append(ObjectRef(kind, None, item.metadata.name, item.metadata.uid))
    if include_namespaces and chosen("Namespace"):
        for ns in cluster.core.list_namespace(label_selector=_OTHER_NAMESPACES).items:
            if ns.metadata.name != cluster.namespace:
                found.append(ObjectRef("Namespace", None, ns.metadata.name, ns.metadata.uid))
    return found


def _flavors_used_by_others(cluster: Cluster) -> set[str]:
    """The names of ResourceFlavors that a ClusterQueue without the course label names: Kueue keeps a
    flavor (its finalizer) while a ClusterQueue uses it, so clean-up leaves such a flavor alone."""
    names: set[str] = set()
    for cq in _listed(cluster, "ClusterQueue", None, f"{PART_OF_LABEL[0]}!={PART_OF_LABEL[1]}"):  # or no label
        for group in (cq.body.get("spec") or {}).get("resourceGroups") or []:
            names.update(f.get("name") for f in group.get("flavors") or [])
    return names


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
    workshop participant's connection, only the participant's own namespace is cleaned.

    The labelled objects of :data:`CUSTOM_KINDS` go too, after the typed kinds: Kueue's Workloads,
    LocalQueues, ClusterQueues, ResourceFlavors and WorkloadPriorityClasses, Karpenter's NodePools,
    NodeClaims and KWOKNodeClasses, DRA's ResourceClaims, ResourceClaimTemplates, DeviceClasses and
    ResourceSlices; a kind whose CRD is not installed is skipped. One of them whose controller the
    course is deleting (a Workload of a course Job, the claim of a course Pod, a NodeClaim of a course
    NodePool) is left to the garbage collector or Karpenter, and waited for; a KWOKNodeClass is deleted
    once the NodePools and NodeClaims are gone; one the connection
    may not delete (403: a workshop participant and Kueue's objects) is left alone, and so is a labelled
    ResourceFlavor that a ClusterQueue without the course label names (Kueue keeps it while in use).

    With ``wait``, returns when no labelled object is left but the ones kept, or raises
    :class:`WaitTimeoutError` after ``timeout`` seconds naming what is left.
    kubectl: ``kubectl delete deploy,rs,job,pod,quota,limits,workloads,localqueues,resourceclaims,resourceclaimtemplates
    -l app.kubernetes.io/part-of=whyk8s --grace-period=0 --force`` in each course namespace, then the
    labelled priority classes, ``clusterqueues,resourceflavors,workloadpriorityclasses,nodepools,nodeclaims,
    kwoknodeclasses,deviceclasses,resourceslices`` and namespaces.
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
            if entry.custom and exc.status == 403:  # not this connection's to delete
                kept.add(obj.metadata.uid)
                return
            if exc.status not in (404, 409):
                raise
            return
        counts[kind] = counts.get(kind, 0) + 1

    def visit(kind: str, obj) -> None:
        owner = _controller_uid(obj)
        if obj.metadata.uid in kept or (owner is not None and owner not in deletable):
            kept.add(obj.metadata.uid)
            return
        deletable.add(obj.metadata.uid)
        if obj.metadata.deletion_timestamp is not None:
            return
        if KINDS[kind].custom and any(o.uid in deletable for o in obj.metadata.owner_references or []):
            return  # goes with its owner (garbage collector; Karpenter for a NodePool's NodeClaim)
        delete(kind, obj)

    for ns in course_namespaces(cluster):
        for kind in NAMESPACED_KINDS + _CUSTOM_NAMESPACED:  # owners before what they own
            for obj in _listed(cluster, kind, ns, sel):
                visit(kind, obj)
    if not _cluster_wide(cluster):  # a workshop participant: their own namespace only
        delete_namespaces = False
    else:
        used = _flavors_used_by_others(cluster)
        for kind in CLUSTER_KINDS + _CUSTOM_CLUSTER:
            listed = _listed(cluster, kind, None, sel)
            if kind == "ResourceFlavor":
                kept.update(o.metadata.uid for o in listed if o.metadata.name in used)
            if listed and kind in _AFTER:
                for first in _AFTER[kind]:
                    _settle(cluster, first, None, sel, time.monotonic() + timeout, lambda o: o.metadata.uid in kept)
            for obj in listed:
                visit(kind, obj)
    if delete_namespaces:
        for obj in cluster.core.list_namespace(label_selector=_OTHER_NAMESPACES).items:
            if obj.metadata.name != cluster.namespace and obj.metadata.deletion_timestamp is None:
                delete("Namespace", obj)
    if wait:
        wait_for_cleanup(cluster, timeout=timeout, include_namespaces=delete_namespaces, kept=kept)
    return counts


def _settle(cluster: Cluster, kind: str, namespace: str | None, selector: str, deadline: float,
            is_kept: Callable[[object], bool], on_change: Callable | None = None) -> None:
    """Watch the objects of ``kind`` matching ``selector`` until all that are left are kept, or the
    ``deadline`` passes; a custom kind only while some are there (one whose CRD is not installed is
    not watched)."""
    entry = KINDS[kind]
    if entry.custom and all(is_kept(o) for o in _listed(cluster, kind, namespace, selector)):
        return

    def kept(obj) -> bool:
        return is_kept(CustomObject(obj) if isinstance(obj, dict) else obj)

    args = (namespace,) if entry.namespaced else ()
    watch_until(entry.fn(cluster, "list"), *args, label_selector=selector, deadline=deadline,
                done=lambda objs: all(kept(o) for o in objs.values()), on_change=on_change)


def wait_for_cleanup(cluster: Cluster, timeout: float = 60, include_namespaces: bool = True,
                     kept: set[str] = frozenset()) -> None:
    """Wait until no course-labelled object is left but those :func:`cleanup` kept (their uids in
    ``kept``, and whatever they control); raise :class:`WaitTimeoutError` naming what remains.

    Watches each kind in each course namespace in turn until its labelled objects are gone
    (:func:`whyk8s.k8s.waits.watch_until`); a kind of :data:`CUSTOM_KINDS` only while some of its
    labelled objects are there (so one whose CRD is not installed is not watched). Labelled pods that
    appear meanwhile are deleted at once (grace period 0), e.g. one that a ReplicaSet re-creates while
    its Deployment is being deleted.
    """
    kept = set(kept)

    def is_kept(obj) -> bool:
        owner = _controller_uid(obj)
        if obj.metadata.uid in kept or (owner is not None and owner in kept):
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

    def settle(kind: str, namespace: str | None) -> None:
        _settle(cluster, kind, namespace, sel, deadline, is_kept, on_change=delete_now if kind == "Pod" else None)

    while True:
        for ns in course_namespaces(cluster):
            for kind in NAMESPACED_KINDS + _CUSTOM_NAMESPACED:
                settle(kind, ns)
        if _cluster_wide(cluster):
            for kind in CLUSTER_KINDS + _CUSTOM_CLUSTER:
                settle(kind, None)
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
            held = _held_by(cluster, left[:10])
            raise WaitTimeoutError("Clean-up did not finish: still there: " + ", ".join(map(str, left[:10]))
                                   + (f" ({held}; the controller that put a finalizer there must be running to "
                                      f"remove it: for Kueue's or Karpenter's, `whyk8s cluster up` removes what a "
                                      f"stopped one left)" if held else ""))


def _held_by(cluster: Cluster, refs: list[ObjectRef]) -> str:
    """``"NodeClaim x waits for its finalizer karpenter.sh/termination"`` for each custom object in ``refs``
    that is being deleted and held by finalizers; empty when none is."""
    out = []
    for ref in refs:
        entry = KINDS[ref.kind]
        if not entry.custom:
            continue
        try:
            read = entry.fn(cluster, "read")
            obj = read(ref.name, ref.namespace) if entry.namespaced else read(ref.name)
        except client.ApiException:
            continue
        if obj.metadata.deletion_timestamp is not None and obj.metadata.finalizers:
            out.append(f"{ref} waits for its finalizer {', '.join(obj.metadata.finalizers)}")
    return "; ".join(out)
