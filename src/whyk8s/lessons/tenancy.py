"""Teams sharing one cluster: namespaces with ResourceQuotas, PriorityClasses, and preemption.

- :func:`team_namespace` creates a labelled namespace with a ResourceQuota capping the *requests*
  of all its pods together (CPU, memory, ``nvidia.com/gpu``). A pod that would take the namespace
  over its quota is refused at admission with HTTP 403 "exceeded quota"; :func:`whyk8s.errors.explain`
  turns that into one sentence.
- :func:`priority_classes` creates two labelled PriorityClasses, ``whyk8s-low`` (value 1000) and
  ``whyk8s-high`` (value 100000), with the default preemptionPolicy ``PreemptLowerPriority``: when a
  high-priority pod fits nowhere, the scheduler evicts lower-priority pods to make room.
- :func:`job_creation_refused` shows why a Job over quota has no pods: the API server accepts the Job,
  then refuses each pod its controller creates (``FailedCreate`` events on the Job).
- :func:`limit_priority_class` keeps a namespace from using a PriorityClass, with a ResourceQuota
  whose ``scopeSelector`` counts only pods of that class.
- :func:`quota_spec`, :func:`priority_class_spec`, :func:`priority_quota_spec` build the objects
  (show them with :func:`whyk8s.k8s.specs.manifest`).
- :func:`who_killed` finds the scheduler's ``Preempted`` event for a pod ("Preempted by pod <uid> on
  node <node>") and says which pod took its place: the answer to "who killed my process?".

All objects carry ``app.kubernetes.io/part-of=whyk8s``, so :func:`whyk8s.k8s.objects.cleanup` removes
the team namespaces (with everything in them) and the PriorityClasses. Sources: kubernetes.io
"Resource Quotas", "Pod Priority and Preemption", "Namespaces".
"""

from __future__ import annotations

import re

import pandas as pd
from kubernetes import client

from whyk8s import GPU_RESOURCE
from whyk8s.errors import CourseError
from whyk8s.k8s.event_log import event_time, events_about
from whyk8s.k8s.guard import Cluster, connect
from whyk8s.k8s.pods import generated_base
from whyk8s.k8s.rights import Access, InstructorDemonstration, can, require
from whyk8s.k8s.quantities import in_unit, parse_cpu, parse_gpus, parse_memory
from whyk8s.k8s.specs import validate_name
from whyk8s.k8s.waits import wait_for_event, wait_for_quota

__all__ = ["QUOTA_NAME", "PRIORITY_CLASSES", "team_namespace", "quota_spec", "priority_class_spec",
           "priority_classes", "quota_usage", "job_creation_refused", "limit_priority_class", "priority_quota_spec",
           "PRIORITY_QUOTA_NAME", "who_killed",
           "preemptions"]

#: Name of the ResourceQuota :func:`team_namespace` creates in each team namespace.
QUOTA_NAME = "team-quota"
#: The course's PriorityClasses: name → (value, description).
PRIORITY_CLASSES = {
    "whyk8s-low": (1000, "Course: batch work that may be preempted (e.g. hyper-parameter sweeps)."),
    "whyk8s-high": (100000, "Course: urgent work that may preempt lower-priority pods."),
}


def _cluster(cluster: Cluster | None) -> Cluster:
    return cluster if cluster is not None else connect()


def team_namespace(cluster: Cluster | None, name: str, cpu="4", memory="16Gi", gpus=0,
                   timeout: float = 30) -> str:
    """Create (or update) namespace ``name`` for a team, labelled as the course's, with the
    ResourceQuota ``team-quota``: ``requests.cpu`` = ``cpu`` (a CPU quantity: cores, or millicores
    with ``m``), ``requests.memory`` = ``memory`` (a memory quantity, bytes), and
    ``requests.nvidia.com/gpu`` = ``gpus`` (whole GPUs). Returns the namespace name once the quota
    is in force: admission checks a quota only after kube-controller-manager has copied its
    ``spec.hard`` into ``status.hard`` (watched, at most ``timeout`` seconds).

    Raises ValueError for a bad name or quantity (nothing is created then), ApiException if the
    API server refuses, TimeoutError if the quota is not in force in time,
    :class:`~whyk8s.k8s.rights.InstructorDemonstration` without the rights to create namespaces and
    quotas (a workshop participant).
    """
    cluster = _cluster(cluster)
    validate_name(name, kind="namespace")
    require(cluster, "Creating a team's namespace and quota", Access("create", "namespaces"),
            Access("create", "resourcequotas", namespace=name))
    quota = quota_spec(cpu, memory, gpus, labels=dict(cluster.labels))
    hard = quota.spec.hard
    ns = cluster.ensure_namespace(name)
    cluster.core.patch_namespace(ns, {"metadata": {"labels": {"whyk8s.io/team": name}}})
    try:
        cluster.core.create_namespaced_resource_quota(ns, quota)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        cluster.core.patch_namespaced_resource_quota(QUOTA_NAME, ns, {"spec": {"hard": hard}})
    wait_for_quota(cluster, ns, QUOTA_NAME, hard, timeout)
    return ns


def quota_spec(cpu="4", memory="16Gi", gpus=0, *, name: str = QUOTA_NAME,
               labels: dict | None = None) -> client.V1ResourceQuota:
    """The ResourceQuota :func:`team_namespace` creates, as an object of the official client (show it
    with :func:`whyk8s.k8s.specs.manifest`): ``spec.hard`` caps ``requests.cpu`` (``cpu``, a CPU
    quantity, stored in millicores), ``requests.memory`` (``memory``, stored in bytes) and
    ``requests.nvidia.com/gpu`` (``gpus``, whole GPUs) summed over all pods of the namespace. Raises
    ValueError for a bad quantity. kubectl: ``kubectl create quota team-quota -n research
    --hard=requests.cpu=16,requests.memory=64Gi,requests.nvidia.com/gpu=4``."""
    hard = {"requests.cpu": f"{parse_cpu(cpu)}m", "requests.memory": str(parse_memory(memory)),
            f"requests.{GPU_RESOURCE}": str(parse_gpus(gpus))}
    return client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name=name, labels=dict(labels or {"app.kubernetes.io/part-of": "whyk8s"})),
        spec=client.V1ResourceQuotaSpec(hard=hard))


def priority_class_spec(name: str, labels: dict | None = None) -> client.V1PriorityClass:
    """One of the course's PriorityClasses (:data:`PRIORITY_CLASSES`) as an object of the official
    client; ``value`` sits at the top level, next to ``metadata``. Raises KeyError for another name.
    kubectl: ``kubectl create priorityclass whyk8s-high --value=100000 --description=...``."""
    value, description = PRIORITY_CLASSES[name]
    return client.V1PriorityClass(
        metadata=client.V1ObjectMeta(name=name, labels=dict(labels or {"app.kubernetes.io/part-of": "whyk8s"})),
        value=value, description=description, global_default=False)


def priority_classes(cluster: Cluster | None = None) -> pd.DataFrame:
    """Create the course's PriorityClasses (``whyk8s-low`` = 1000, ``whyk8s-high`` = 100000; already
    existing ones are kept) and return them as a table: ``name``, ``value``, ``preemption_policy``,
    ``description``. A higher value means more important. Raises ApiException if refused.
    A user who may not create PriorityClasses (a workshop participant) gets the ones the instructor
    made, or :class:`~whyk8s.k8s.rights.InstructorDemonstration` while they are missing."""
    cluster = _cluster(cluster)
    may_create = can(cluster, Access("create", "priorityclasses", "scheduling.k8s.io"))
    rows = []
    for name in PRIORITY_CLASSES:
        obj = None
        if may_create:
            try:
                obj = cluster.scheduling.create_priority_class(priority_class_spec(name, labels=dict(cluster.labels)))
            except client.ApiException as exc:
                if exc.status != 409:
                    raise
        if obj is None:
            try:
                obj = cluster.scheduling.read_priority_class(name)
            except client.ApiException as exc:
                if exc.status != 404 or may_create:
                    raise
                raise InstructorDemonstration(
                    f"Creating PriorityClasses: this step is the instructor's demonstration (a "
                    f"PriorityClass is cluster-wide, and your kubeconfig's user may only read them). "
                    f"{name} does not exist yet: ask the instructor to run this cell, then run it "
                    f"again.") from None
        rows.append({"name": name, "value": obj.value, "preemption_policy": obj.preemption_policy,
                     "description": obj.description})
    return pd.DataFrame(rows, columns=["name", "value", "preemption_policy", "description"])


def quota_usage(cluster: Cluster | None, namespace: str) -> pd.DataFrame:
    """What each ResourceQuota of ``namespace`` allows and what is used: one row per resource with
    ``quota``, ``resource``, ``used``, ``hard``, ``unit`` (CPU in millicores, memory in MiB, GPUs as
    a count), ``free`` (hard − used). Raises CourseError if the namespace has no quota."""
    cluster = _cluster(cluster)
    quotas = cluster.core.list_namespaced_resource_quota(namespace).items
    if not quotas:
        raise CourseError(f"Namespace {namespace} has no ResourceQuota; create one with "
                          f"tenancy.team_namespace().")
    rows = []
    for q in sorted(quotas, key=lambda q: q.metadata.name):
        hard = (q.status.hard if q.status and q.status.hard else None) or q.spec.hard or {}
        used = (q.status.used if q.status else None) or {}
        for resource in sorted(hard):
            h, unit = in_unit(resource, hard[resource])
            u, _ = in_unit(resource, used.get(resource, "0"))
            rows.append({"quota": q.metadata.name, "resource": resource, "used": u, "hard": h,
                         "unit": unit, "free": h - u if isinstance(h - u, int) else round(h - u, 1)})
    return pd.DataFrame(rows, columns=["quota", "resource", "used", "hard", "unit", "free"])


def job_creation_refused(cluster: Cluster | None, job: str, namespace: str | None = None,
                         timeout: float = 30) -> str:
    """Why Job ``job`` has no pods: the newest ``FailedCreate`` event the Job controller wrote about it
    (watched, at most ``timeout`` seconds), as one sentence. A quota does not refuse the *Job*: the API
    server accepts it (a Job requests nothing itself), and the quota refuses each pod the Job controller
    then tries to create (HTTP 403), which the controller records as a ``FailedCreate`` event on the
    Job and retries with a growing delay. Nobody else is told. Returns a sentence saying no such event
    was seen if none came in time. kubectl: ``kubectl describe job <name> -n <namespace>`` (Events)
    or ``kubectl get events -n <namespace> --field-selector reason=FailedCreate``. Source: kubernetes.io
    "Resource Quotas"; kube-controller-manager's Job controller."""
    cluster = _cluster(cluster)
    ns = namespace or cluster.namespace
    event = wait_for_event(cluster, ns, "FailedCreate", lambda name: name == job, timeout)
    if event is None:
        return f"No FailedCreate event about Job {job} in namespace {ns} within {timeout:.0f} s."
    message = (event.message or "").strip()
    m = re.search(r'Error creating: (.*)$', message, re.S)
    refusal = m.group(1) if m else message
    return (f"Job {job} was accepted, but its pod was refused {event.count or 1} time(s) so far "
            f"(event FailedCreate, from the Job controller): {refusal}")


#: Name of the quota :func:`limit_priority_class` creates.
PRIORITY_QUOTA_NAME = "no-high-priority"


def limit_priority_class(cluster: Cluster | None, namespace: str, priority_class: str = "whyk8s-high",
                         pods: int = 0, timeout: float = 30) -> client.V1ResourceQuota:
    """Stop namespace ``namespace`` from using PriorityClass ``priority_class`` beyond ``pods`` pods
    (default 0: not at all): a ResourceQuota ``no-high-priority`` whose ``scopeSelector`` makes it count
    only pods with that ``priorityClassName``, with ``hard: {pods: <pods>}``. Without it any namespace
    may name any PriorityClass (a PriorityClass is cluster-wide and not tied to a team). Returns the
    quota once it is in force (watched, at most ``timeout`` seconds). The docs' cluster-wide remedy adds
    ``limitedResources`` to the API server's admission configuration, so that a class may be used *only*
    where such a quota allows it; the course's control plane runs without that configuration.
    Raises ApiException if refused, TimeoutError if the quota is not in force in time,
    :class:`~whyk8s.k8s.rights.InstructorDemonstration` without the right to create quotas there. kubectl:
    ``kubectl apply -f`` its YAML (:func:`priority_quota_spec` with :func:`whyk8s.k8s.specs.manifest`);
    ``kubectl create quota`` has no flag for a scopeSelector.
    Source: kubernetes.io "Resource Quotas", "Limit Priority Class consumption by default"."""
    cluster = _cluster(cluster)
    require(cluster, "Limiting a PriorityClass with a quota", Access("create", "resourcequotas", namespace=namespace))
    quota = priority_quota_spec(priority_class, pods, labels=dict(cluster.labels))
    try:
        cluster.core.create_namespaced_resource_quota(namespace, quota)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        cluster.core.replace_namespaced_resource_quota(PRIORITY_QUOTA_NAME, namespace, quota)
    wait_for_quota(cluster, namespace, PRIORITY_QUOTA_NAME, quota.spec.hard, timeout)
    return cluster.core.read_namespaced_resource_quota(PRIORITY_QUOTA_NAME, namespace)


def priority_quota_spec(priority_class: str = "whyk8s-high", pods: int = 0,
                        labels: dict | None = None) -> client.V1ResourceQuota:
    """The quota :func:`limit_priority_class` creates, as an object of the official client."""
    validate_name(priority_class, kind="PriorityClass")
    if isinstance(pods, bool) or not isinstance(pods, int) or pods < 0:
        raise ValueError(f"pods must be a whole number, 0 or more (got {pods!r}).")
    return client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name=PRIORITY_QUOTA_NAME,
                                     labels=dict(labels or {"app.kubernetes.io/part-of": "whyk8s"})),
        spec=client.V1ResourceQuotaSpec(
            hard={"pods": str(pods)},
            scope_selector=client.V1ScopeSelector(match_expressions=[client.V1ScopedResourceSelectorRequirement(
                scope_name="PriorityClass", operator="In", values=[priority_class])])))


def preemptions(cluster: Cluster | None = None, namespace: str | None = None) -> pd.DataFrame:
    """Every ``Preempted`` event in ``namespace`` (default: the course namespace): columns ``victim``
    (pod), ``victim_job``, ``preemptor`` (pod), ``node``, ``message``; oldest first."""
    cluster = _cluster(cluster)
    ns = namespace or cluster.namespace
    rows = []
    for e in events_about(cluster, ns, reason="Preempted"):
        victim = e.involved_object.name
        rows.append({"victim": victim, "victim_job": _job_of(victim), "preemptor": _preemptor(cluster, ns, e),
                     "node": _node_of(e.message), "message": e.message})
    return pd.DataFrame(rows, columns=["victim", "victim_job", "preemptor", "node", "message"])


def _job_of(pod_name: str) -> str:
    """The Job a pod name was generated for (``"sweep-4-x7k2p"`` → ``"sweep-4"``), else ``""``."""
    return generated_base(pod_name) or ""


def _node_of(message: str) -> str:
    m = re.search(r"on node (\S+)", message or "")
    return m.group(1).rstrip(".") if m else ""


def _preemptor_pod(cluster: Cluster, event) -> tuple[str, client.V1Pod | None]:
    """(name, pod or None) of the pod that caused a ``Preempted`` event; it may live in another
    namespace (the message names it by uid only)."""
    related = getattr(event, "related", None)
    m = re.search(r"Preempted by pod ([0-9a-f-]{36})", event.message or "")
    uid = m.group(1) if m else None
    if uid:
        for p in cluster.core.list_pod_for_all_namespaces(label_selector=cluster.selector).items:
            if p.metadata.uid == uid:
                return p.metadata.name, p
    if related is not None and related.name:
        return related.name, None
    if uid:
        return f"(a pod with uid {uid}, since deleted)", None
    return "(unknown)", None


def _preemptor(cluster: Cluster, namespace: str, event) -> str:
    name, pod = _preemptor_pod(cluster, event)
    if pod is not None and pod.metadata.namespace != namespace:
        return f"{pod.metadata.namespace}/{name}"
    return name


def who_killed(cluster: Cluster | None, pod_name: str, namespace: str | None = None,
               timeout: float = 0) -> str:
    """Answer "who killed my process?" for ``pod_name`` (a pod, or a Job whose pod it was).

    Looks for the scheduler's ``Preempted`` event on that pod and returns one sentence naming the
    preempting pod, its PriorityClass and priority, and the node, e.g. "Pod low-2-x7k2p (Job low-2)
    was preempted by pod urgent-q9z8w (PriorityClass whyk8s-high, priority 100000) on node
    whyk8s-worker3: the scheduler evicted it to make room for a more important pod." Otherwise a
    sentence saying no preemption was recorded (events are kept about an hour). The scheduler writes
    the event a moment after it deletes the pod: with ``timeout`` > 0, waits (watching events) up to
    that many seconds for it. Raises ApiException if the API server refuses.
    """
    cluster = _cluster(cluster)
    ns = namespace or cluster.namespace
    if timeout > 0:
        wait_for_event(cluster, ns, "Preempted", lambda name: name == pod_name or _job_of(name) == pod_name,
                       timeout)
    events = [e for e in events_about(cluster, ns, reason="Preempted")
              if e.involved_object.name == pod_name or _job_of(e.involved_object.name) == pod_name]
    try:  # a pod of that name that exists now was created after any event about an earlier namesake
        born = cluster.core.read_namespaced_pod(pod_name, ns).metadata.creation_timestamp
        events = [e for e in events if event_time(e) >= born]
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    if not events:
        return (f"No preemption of {pod_name} is recorded in namespace {ns}: the scheduler did not "
                f"evict it (events are kept for about an hour).")
    e = max(events, key=event_time)
    victim = e.involved_object.name
    preemptor = _preemptor(cluster, ns, e)
    _, p = _preemptor_pod(cluster, e)
    detail = ""
    if p is not None:
        where = f"namespace {p.metadata.namespace}, " if p.metadata.namespace != ns else ""
        detail = f" ({where}PriorityClass {p.spec.priority_class_name}, priority {p.spec.priority})"
    job = _job_of(victim)
    who = f"Pod {victim}" + (f" (Job {job})" if job else "")
    node = _node_of(e.message)
    return (f"{who} was preempted by pod {preemptor}{detail}" + (f" on node {node}" if node else "") +
            ": the scheduler evicted it to make room for a more important pod.")
