"""Job queueing with Kueue: ResourceFlavors, ClusterQueues in a cohort, LocalQueues, queued Jobs.

Kueue (``sigs.k8s.io/kueue``) decides *when* a Job may start: a Job carrying the label
``kueue.x-k8s.io/queue-name: <LocalQueue>`` is created suspended; Kueue makes a Workload for it, and
*admits* it (un-suspends the Job, adding the flavor's node labels and tolerations to its pods) once
its ClusterQueue has quota left. The kube-scheduler still decides *where* each pod runs.

One small function per API act (start Kueue first: :func:`whyk8s.cluster.kueue.start`, or ``whyk8s
kueue up``):

- :func:`resource_flavors`: one ResourceFlavor per node pool of the course layout (``cpu``, ``gpu``,
  ``highmem``), selecting nodes by ``whyk8s.io/pool``; the gpu flavor adds the GPU node's taint
  toleration to the pods it admits;
- :func:`cluster_queue`: a team's ClusterQueue in a cohort, with nominal quota per flavor (CPU in
  cores, memory as a quantity, ``nvidia.com/gpu`` whole GPUs); a ClusterQueue in a cohort borrows the
  cohort's unused quota unless a ``borrowingLimit`` says how much at most;
- :func:`local_queue`: a LocalQueue in a team namespace (made labelled if missing), pointing at a
  ClusterQueue;
- :func:`queued_job`: a Job sent to a LocalQueue (the queue label, ``suspend: true``), optionally
  *held* (a scheduling gate keeps its pod Pending, so on kwok it keeps its quota) until :func:`release`;
- :func:`workloads` and :func:`queue_board`: the Workloads (pending / admitted / finished) and, per
  ClusterQueue, the counts and the quota used and borrowed;
- :func:`delete_queues`: delete the course's ClusterQueues, LocalQueues and ResourceFlavors;
- priorities and preemption: :func:`workload_priority_classes` (WorkloadPriorityClasses, named on a
  Job by the label :data:`PRIORITY_LABEL`), :func:`with_preemption` and :func:`apply_cluster_queue`
  (a ClusterQueue that may preempt), :func:`delete_priority_classes`;
- for the chapter and the live board: :func:`ensure_kueue` / :func:`kueue_problem` (start Kueue, or
  one sentence saying why it cannot run here), :func:`board_from_objects`, :func:`workload_frame` and
  :func:`waiting_reasons` (the board's data from the watched objects themselves, no API call),
  :func:`admission_delay` (seconds from one Workload's condition to another's).

The ``*_spec`` functions return the manifest as a dict; :func:`whyk8s.k8s.specs.manifest` shows it as
YAML (``kubectl apply -f`` takes it). Every object carries ``app.kubernetes.io/part-of=whyk8s``.
Sources: kueue.sigs.k8s.io, "Concepts" (Resource Flavor, Cluster Queue, Local Queue, Workload, Cohort)
and "Run a Kubernetes Job"; the v1beta2 API of Kueue v0.17.0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd
from kubernetes import client

from whyk8s import GPU_RESOURCE, PART_OF_LABEL, POOL_LABEL
from whyk8s.cluster import kueue
from whyk8s.errors import CourseError
from whyk8s.k8s import specs
from whyk8s.k8s.guard import Cluster, connect
from whyk8s.k8s.quantities import parse_cpu, parse_gpus, parse_memory
from whyk8s.k8s.specs import Quantity, validate_name

__all__ = ["GROUP", "VERSION", "QUEUE_LABEL", "POOLS", "resource_flavor_spec", "resource_flavors",
           "cluster_queue_spec", "cluster_queue", "local_queue_spec", "local_queue", "queued_job", "release",
           "HOLD_GATE",
           "workload_state", "workloads", "queue_board", "delete_queues",
           "PRIORITY_LABEL", "PRIORITIES", "workload_priority_class_spec", "workload_priority_classes",
           "with_preemption", "apply_cluster_queue", "delete_priority_classes", "ensure_kueue", "stop_kueue",
           "kueue_problem",
           "workload_frame", "board_from_objects", "waiting_reasons", "queue_problems", "condition",
           "wait_for_workloads", "wait_for_preemption", "settled_queue_board",
           "resource_rows", "usage_sentence",
           "admission_delay"]

GROUP = "kueue.x-k8s.io"
VERSION = "v1beta2"
#: The label that sends a Job to a LocalQueue (its value: the LocalQueue's name).
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
#: The node pools of the course layout, each becoming a ResourceFlavor of the same name.
POOLS = ("cpu", "gpu", "highmem")
#: The scheduling gate of a held Job's pods (:func:`queued_job`, :func:`release`).
HOLD_GATE = "whyk8s.io/hold"
#: The resources every ClusterQueue of the course covers.
RESOURCES = ("cpu", "memory", GPU_RESOURCE)
_LABELS = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
_SELECTOR = f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]}"


def _cluster(cluster: Cluster | None) -> Cluster:
    return cluster if cluster is not None else connect()


def _custom(cluster: Cluster) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(cluster.api)


def _apply_cluster_scoped(cluster: Cluster, plural: str, body: dict) -> dict:
    """Create ``body`` or, if an object of that name carrying the course label exists, replace it
    (one made by someone else is refused with ApiException 409 by the create)."""
    api = _custom(cluster)
    try:
        return api.create_cluster_custom_object(GROUP, VERSION, plural, body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        old = api.get_cluster_custom_object(GROUP, VERSION, plural, body["metadata"]["name"])
        if (old["metadata"].get("labels") or {}).get(PART_OF_LABEL[0]) != PART_OF_LABEL[1]:
            raise
        body = {**body, "metadata": {**body["metadata"], "resourceVersion": old["metadata"]["resourceVersion"]}}
        return api.replace_cluster_custom_object(GROUP, VERSION, plural, body["metadata"]["name"], body)


# -- ResourceFlavors ----------------------------------------------------------------------------------

def resource_flavor_spec(pool: str) -> dict:
    """The ResourceFlavor for node pool ``pool`` (``"cpu"``, ``"gpu"``, ``"highmem"``): named after the
    pool, ``nodeLabels: {whyk8s.io/pool: <pool>}`` (Kueue adds them as a nodeSelector to the pods it
    admits with this flavor); the gpu flavor also lists the toleration of the GPU node's taint
    ``nvidia.com/gpu=present:NoSchedule``, which Kueue adds to those pods. Raises ValueError for
    another pool."""
    if pool not in POOLS:
        raise ValueError(f"Pool {pool!r} is not one of the layout's pools: {', '.join(POOLS)}.")
    spec: dict = {"nodeLabels": {POOL_LABEL: pool}}
    if pool == "gpu":
        spec["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Equal", "value": "present",
                                "effect": "NoSchedule"}]
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ResourceFlavor",
            "metadata": {"name": pool, "labels": dict(_LABELS)}, "spec": spec}


def resource_flavors(cluster: Cluster | None = None, pools: Sequence[str] = POOLS) -> list[str]:
    """Create (or update) one ResourceFlavor per pool (:func:`resource_flavor_spec`); return their names.
    kubectl: ``kubectl apply -f flavors.yaml``. Raises ValueError for an unknown pool, ApiException
    (404) when Kueue's CRDs are not installed (``whyk8s kueue up``)."""
    cluster = _cluster(cluster)
    bodies = [resource_flavor_spec(p) for p in pools]
    for body in bodies:
        _apply_cluster_scoped(cluster, "resourceflavors", body)
    return [b["metadata"]["name"] for b in bodies]


# -- ClusterQueues ------------------------------------------------------------------------------------

def _quota_entries(quota: Mapping[str, Quantity], borrowing: Mapping[str, Quantity] | None) -> list[dict]:
    unknown = set(quota) - set(RESOURCES) | set(borrowing or {}) - set(RESOURCES)
    if unknown:
        raise ValueError(f"Unknown resource(s) {sorted(unknown)}: quotas are given for {', '.join(RESOURCES)}.")

    def text(name: str, value: Quantity) -> str:
        if name == "cpu":
            milli = parse_cpu(value)
            return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"
        if name == "memory":
            return str(parse_memory(value))
        return str(parse_gpus(value))

    out = []
    for name in RESOURCES:
        entry = {"name": name, "nominalQuota": text(name, quota.get(name, 0))}
        if borrowing and name in borrowing:
            entry["borrowingLimit"] = text(name, borrowing[name])
        out.append(entry)
    return out


def cluster_queue_spec(name: str, quotas: Mapping[str, Mapping[str, Quantity]], cohort: str | None = "whyk8s",
                       borrowing_limits: Mapping[str, Mapping[str, Quantity]] | None = None) -> dict:
    """A ClusterQueue named ``name`` in cohort ``cohort`` (None: no cohort, so no borrowing).

    ``quotas`` maps a flavor (pool) to its nominal quota: ``{"cpu": {"cpu": 4, "memory": "16Gi"},
    "gpu": {"cpu": 8, "memory": "64Gi", "nvidia.com/gpu": 2}}`` (CPU in cores or millicores, memory a
    quantity, GPUs whole; a resource left out is 0). All three resources are covered by one resource
    group; Kueue tries the flavors in the order given. ``borrowing_limits`` (same shape) caps how much
    of each the queue may borrow from the cohort beyond its nominal quota; without it, it may borrow
    everything the cohort's other queues leave unused. It admits Workloads from the course's
    namespaces (label ``app.kubernetes.io/part-of=whyk8s``). Raises ValueError for a bad name,
    flavor, resource or quantity."""
    name = validate_name(name, "ClusterQueue", max_length=63)
    if not quotas:
        raise ValueError("Give the quota of at least one flavor, e.g. {'cpu': {'cpu': 4, 'memory': '16Gi'}}.")
    for flavor in list(quotas) + list(borrowing_limits or {}):
        if flavor not in POOLS:
            raise ValueError(f"Flavor {flavor!r} is not one of the course's ResourceFlavors: {', '.join(POOLS)}.")
    flavors = [{"name": f, "resources": _quota_entries(q, (borrowing_limits or {}).get(f))}
               for f, q in quotas.items()]
    spec: dict = {"namespaceSelector": {"matchLabels": dict(_LABELS)},
                  "resourceGroups": [{"coveredResources": list(RESOURCES), "flavors": flavors}]}
    if cohort:
        spec["cohortName"] = validate_name(cohort, "Cohort", max_length=63)
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ClusterQueue",
            "metadata": {"name": name, "labels": dict(_LABELS)}, "spec": spec}


def cluster_queue(cluster: Cluster | None, name: str, quotas: Mapping[str, Mapping[str, Quantity]],
                  cohort: str | None = "whyk8s",
                  borrowing_limits: Mapping[str, Mapping[str, Quantity]] | None = None) -> str:
    """Create (or update) the ClusterQueue of :func:`cluster_queue_spec`; return its name. kubectl:
    ``kubectl apply -f clusterqueue.yaml``. Raises ValueError for bad input, ApiException when the
    API server (or Kueue's validating webhook) refuses it."""
    cluster = _cluster(cluster)
    body = cluster_queue_spec(name, quotas, cohort, borrowing_limits)
    _apply_cluster_scoped(cluster, "clusterqueues", body)
    return body["metadata"]["name"]


# -- LocalQueues and queued Jobs ----------------------------------------------------------------------

def local_queue_spec(name: str, cluster_queue: str) -> dict:
    """A LocalQueue ``name`` pointing at ClusterQueue ``cluster_queue`` (the namespace is given when it
    is created). Raises ValueError for a bad name."""
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "LocalQueue",
            "metadata": {"name": validate_name(name, "LocalQueue", max_length=63), "labels": dict(_LABELS)},
            "spec": {"clusterQueue": validate_name(cluster_queue, "ClusterQueue", max_length=63)}}


def local_queue(cluster: Cluster | None, namespace: str, cluster_queue: str, name: str = "team-queue") -> str:
    """Create the LocalQueue ``name`` in ``namespace`` (created, labelled, if missing; refused by
    :meth:`~whyk8s.k8s.guard.Cluster.check_namespace` if it is not the course's), pointing at
    ``cluster_queue``; return its name. An existing course LocalQueue of that name is replaced.
    kubectl: ``kubectl apply -n <namespace> -f localqueue.yaml``."""
    cluster = _cluster(cluster)
    namespace = cluster.ensure_namespace(namespace)
    body = local_queue_spec(name, cluster_queue)
    api = _custom(cluster)
    try:
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, "localqueues", body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        old = api.get_namespaced_custom_object(GROUP, VERSION, namespace, "localqueues", name)
        body["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        api.replace_namespaced_custom_object(GROUP, VERSION, namespace, "localqueues", name, body)
    return name


def queued_job(name: str, queue: str, cpu: Quantity = "1", memory: Quantity = "1Gi", gpus: Quantity = 0,
               *, held: bool = False, **job_args) -> client.V1Job:
    """A course Job (:func:`whyk8s.k8s.specs.job`; ``cpu`` in cores or millicores, ``memory`` a
    quantity, ``gpus`` whole ``nvidia.com/gpu``) sent to LocalQueue ``queue``: the label
    ``kueue.x-k8s.io/queue-name: <queue>`` and ``spec.suspend: true``, so no pod is made before Kueue
    admits it (Kueue's webhook would set ``suspend`` itself; the manifest says it plainly). Create it
    with :func:`whyk8s.k8s.objects.create` in the LocalQueue's namespace. No ``pool`` is needed: the
    admitting flavor adds its node labels (and the gpu flavor its toleration). Other keyword
    arguments go to :func:`~whyk8s.k8s.specs.job`.

    ``held``: its pod carries the scheduling gate :data:`HOLD_GATE`, so the scheduler leaves it
    Pending until :func:`release` removes the gate. On kwok a Job's pod succeeds the moment it
    runs (kwok's ``pod-complete`` stage), so a held Job is how a lesson shows a run that still
    holds its quota. Raises ValueError for a bad name or quantity."""
    validate_name(queue, "LocalQueue", max_length=63)
    labels = {QUEUE_LABEL: queue, **(job_args.pop("labels", None) or {})}
    job = specs.job(name, cpu=cpu, memory=memory, gpus=gpus, labels=labels, **job_args)
    job.spec.suspend = True
    # the pod template carries the job labels too (specs.job): only the Job's own labels matter to Kueue
    job.spec.template.metadata.labels.pop(QUEUE_LABEL, None)
    job.spec.template.metadata.labels.pop(PRIORITY_LABEL, None)
    if held:
        job.spec.template.spec.scheduling_gates = [client.V1PodSchedulingGate(name=HOLD_GATE)]
    return job


def release(cluster: Cluster | None, job: str, namespace: str) -> int:
    """Remove the scheduling gate :data:`HOLD_GATE` from the pods of the course Job ``job`` in
    ``namespace`` (see :func:`queued_job`), so the scheduler places them; return how many pods were
    released. kubectl: ``kubectl patch pod <pod> --type=json -p '[{"op": "remove", "path":
    "/spec/schedulingGates"}]'``. Raises :class:`~whyk8s.errors.NamespaceRefused` outside the
    course's namespaces."""
    cluster = _cluster(cluster)
    namespace = cluster.check_namespace(namespace)
    released = 0
    for pod in cluster.core.list_namespaced_pod(namespace, label_selector=f"job-name={job},{_SELECTOR}").items:
        gates = [g.name for g in pod.spec.scheduling_gates or []]
        if HOLD_GATE not in gates:
            continue
        kept = [{"name": g} for g in gates if g != HOLD_GATE]
        op = {"op": "replace", "path": "/spec/schedulingGates", "value": kept} if kept else \
            {"op": "remove", "path": "/spec/schedulingGates"}
        cluster.core.patch_namespaced_pod(pod.metadata.name, namespace, [op])  # a list: JSON patch
        released += 1
    return released


# -- priorities and preemption ------------------------------------------------------------------------

#: The label that gives a Job a WorkloadPriorityClass (its value: the class's name); Kueue copies the
#: class's value into the Workload's ``spec.priority``.
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
#: The course's WorkloadPriorityClasses: name → value (higher wins).
PRIORITIES = {"whyk8s-low": 100, "whyk8s-high": 1000}
#: The values Kueue v0.17.0 accepts for each field of a ClusterQueue's ``spec.preemption``.
PREEMPTION_POLICIES = {"reclaimWithinCohort": ("Never", "LowerPriority", "Any"),
                       "withinClusterQueue": ("Never", "LowerPriority", "LowerOrNewerEqualPriority")}


def workload_priority_class_spec(name: str, value: int, description: str = "") -> dict:
    """A WorkloadPriorityClass (``kueue.x-k8s.io/v1beta2``, cluster-scoped) named ``name`` with priority
    ``value`` (an int32). Unlike a PriorityClass it orders Workloads in Kueue's queues and decides
    Kueue's preemptions, and leaves the pods' own priority alone. Raises ValueError for a bad name
    or a value outside int32."""
    name = validate_name(name, "WorkloadPriorityClass", max_length=253)
    if not isinstance(value, int) or not -2**31 <= value < 2**31:
        raise ValueError(f"A WorkloadPriorityClass's value is a 32-bit integer, not {value!r}.")
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "WorkloadPriorityClass",
            "metadata": {"name": name, "labels": dict(_LABELS)}, "value": value}
    if description:
        body["description"] = description
    return body


def workload_priority_classes(cluster: Cluster | None = None, classes: Mapping[str, int] = PRIORITIES) -> list[str]:
    """Create (or update) one WorkloadPriorityClass per ``name → value`` of ``classes``; return the
    names. kubectl: ``kubectl apply -f priorities.yaml``. Raises ApiException (404) without Kueue's CRDs."""
    cluster = _cluster(cluster)
    for name, value in classes.items():
        _apply_cluster_scoped(cluster, "workloadpriorityclasses", workload_priority_class_spec(name, value))
    return list(classes)


def with_preemption(spec: dict, reclaim_within_cohort: str = "LowerPriority",
                    within_cluster_queue: str = "LowerPriority") -> dict:
    """A copy of the ClusterQueue manifest ``spec`` (:func:`cluster_queue_spec`) with
    ``spec.preemption``: ``reclaimWithinCohort`` (may a pending Workload that fits its queue's
    *nominal* quota evict Workloads of other queues of the cohort that borrow: ``Never``,
    ``LowerPriority`` (only lower-priority ones), ``Any``) and ``withinClusterQueue`` (may it evict
    lower-priority Workloads of its own queue: ``Never``, ``LowerPriority``,
    ``LowerOrNewerEqualPriority``). Raises ValueError for another value. Source: Kueue v0.17.0,
    ``apis/kueue/v1beta2/clusterqueue_types.go`` (``ClusterQueuePreemption``)."""
    for field, value in (("reclaimWithinCohort", reclaim_within_cohort), ("withinClusterQueue", within_cluster_queue)):
        if value not in PREEMPTION_POLICIES[field]:
            raise ValueError(f"preemption.{field} is one of {', '.join(PREEMPTION_POLICIES[field])}, not {value!r}.")
    return {**spec, "spec": {**spec["spec"], "preemption": {"reclaimWithinCohort": reclaim_within_cohort,
                                                            "withinClusterQueue": within_cluster_queue}}}


def apply_cluster_queue(cluster: Cluster | None, spec: dict) -> str:
    """Create (or update) the ClusterQueue manifest ``spec`` (e.g. from :func:`with_preemption`); return
    its name. kubectl: ``kubectl apply -f clusterqueue.yaml``. Raises ValueError when it does not carry
    the course label, ApiException when the API server (or Kueue's webhook) refuses it."""
    if (spec.get("metadata", {}).get("labels") or {}).get(PART_OF_LABEL[0]) != PART_OF_LABEL[1]:
        raise ValueError("The course only creates ClusterQueues carrying its label; build it with cluster_queue_spec.")
    _apply_cluster_scoped(_cluster(cluster), "clusterqueues", spec)
    return spec["metadata"]["name"]


def delete_priority_classes(cluster: Cluster | None = None) -> int:
    """Delete the course-labelled WorkloadPriorityClasses; return how many. kubectl: ``kubectl delete
    workloadpriorityclasses -l app.kubernetes.io/part-of=whyk8s``. Nothing to do (0) without Kueue's CRDs."""
    api = _custom(_cluster(cluster))
    try:
        items = api.list_cluster_custom_object(GROUP, VERSION, "workloadpriorityclasses",
                                               label_selector=_SELECTOR)["items"]
    except client.ApiException as exc:
        if exc.status == 404:
            return 0
        raise
    deleted = 0
    for obj in items:
        try:
            api.delete_cluster_custom_object(GROUP, VERSION, "workloadpriorityclasses", obj["metadata"]["name"])
            deleted += 1
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    return deleted


# -- Kueue for a chapter ------------------------------------------------------------------------------

def kueue_problem(cluster: Cluster | None = None) -> str | None:
    """None when Kueue runs against the course cluster, else one sentence saying why not and what to
    do: off the kwok cluster (on kind) that this course runs Kueue on kwok only; on kwok that its
    manager is not running. Reads only."""
    try:
        st = kueue.status(cluster)
    except CourseError as exc:
        return str(exc)
    if not st.running:
        return ("Kueue's manager is not running against the course cluster: start it with `whyk8s kueue up` "
                "(or run the chapter's start cell).")
    return None


def ensure_kueue(cluster: Cluster | None = None, log: Callable = print) -> bool:
    """Start Kueue (:func:`whyk8s.cluster.kueue.start`) unless it runs; return True if this call
    started it (so the caller knows to stop it), False if it was running. ``log`` gets a sentence
    before the wait. Raises :class:`~whyk8s.errors.CourseError` off the kwok cluster, as ``start``."""
    cluster = _cluster(cluster)
    if kueue.status(cluster).running:
        return False
    log(f"Starting Kueue {kueue.kueue_version()} against the course cluster (about 5 to 20 s; a first run "
        f"on this machine builds it first, a few minutes) ...")
    kueue.start(cluster, log=lambda *_: None)
    return True


def stop_kueue(cluster: Cluster | None = None) -> None:
    """Stop Kueue's manager and remove what :func:`ensure_kueue` installed (its CRDs, and with them every
    Kueue object; webhooks; certificate Secret): :func:`whyk8s.cluster.kueue.stop`. kubectl has no
    equivalent; the command is ``whyk8s kueue down``."""
    kueue.stop(_cluster(cluster), log=lambda *_: None)


# -- reading the queues -------------------------------------------------------------------------------

def _condition(obj: dict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def workload_state(workload: dict) -> str:
    """``"finished"`` (condition Finished), ``"admitted"`` (Admitted), ``"reserved"`` (QuotaReserved but
    not yet Admitted, e.g. waiting for an admission check), else ``"pending"``: the state of a Workload
    (a dict as the API returns it)."""
    if _condition(workload, "Finished"):
        return "finished"
    if _condition(workload, "Admitted"):
        return "admitted"
    if _condition(workload, "QuotaReserved"):
        return "reserved"
    return "pending"


def workloads(cluster: Cluster | None = None, namespace: str | None = None) -> pd.DataFrame:
    """One row per Workload (in ``namespace``, or in every namespace): see :func:`workload_frame`.
    kubectl: ``kubectl get workloads -A``."""
    api = _custom(_cluster(cluster))
    items = (api.list_namespaced_custom_object(GROUP, VERSION, namespace, "workloads") if namespace else
             api.list_cluster_custom_object(GROUP, VERSION, "workloads"))["items"]
    return workload_frame(items)


def workload_frame(items: Sequence[dict]) -> pd.DataFrame:
    """One row per Workload of ``items`` (dicts as the API returns them): ``namespace``, ``workload``,
    ``job`` (the owner's name), ``queue`` (LocalQueue), ``cluster_queue`` (from the admission, empty
    while pending), ``state`` (:func:`workload_state`), ``flavors`` (resource → flavor of the
    admission, e.g. ``"cpu=gpu, nvidia.com/gpu=gpu"``), ``created`` (timestamp), sorted by namespace,
    creation and name. Pure: no API call."""
    rows = []
    for w in items:
        admission = (w.get("status") or {}).get("admission") or {}
        flavors = {}
        for ps in admission.get("podSetAssignments") or []:
            flavors.update(ps.get("flavors") or {})
        owner = next((o["name"] for o in w["metadata"].get("ownerReferences") or [] if o.get("controller")), "")
        rows.append({"namespace": w["metadata"]["namespace"], "workload": w["metadata"]["name"], "job": owner,
                     "queue": w["spec"].get("queueName", ""), "cluster_queue": admission.get("clusterQueue", ""),
                     "state": workload_state(w),
                     "flavors": ", ".join(f"{r}={f}" for r, f in sorted(flavors.items())),
                     "created": w["metadata"].get("creationTimestamp")})
    columns = ["namespace", "workload", "job", "queue", "cluster_queue", "state", "flavors", "created"]
    return pd.DataFrame(rows, columns=columns).sort_values(["namespace", "created", "workload"], ignore_index=True)


def _amount(resource: str, text: str) -> float:
    if resource == "cpu":
        return parse_cpu(text) / 1000
    if resource == "memory":
        return parse_memory(text) / 2**30
    return float(parse_gpus(text))


def queue_board(cluster: Cluster | None = None) -> pd.DataFrame:
    """One row per (course) ClusterQueue, flavor and resource: see :func:`board_from_objects`. kubectl:
    ``kubectl get clusterqueues -o wide`` and ``kubectl get workloads -A``."""
    cluster = _cluster(cluster)
    api = _custom(cluster)
    queues = api.list_cluster_custom_object(GROUP, VERSION, "clusterqueues", label_selector=_SELECTOR)["items"]
    local = api.list_cluster_custom_object(GROUP, VERSION, "localqueues")["items"]
    return board_from_objects(queues, local, api.list_cluster_custom_object(GROUP, VERSION, "workloads")["items"])


def board_from_objects(cluster_queues: Sequence[dict], local_queues: Sequence[dict],
                       workload_items: Sequence[dict]) -> pd.DataFrame:
    """The queue board from the objects themselves (dicts as the API returns them; pure, no API call):
    one row per ClusterQueue of ``cluster_queues``, flavor and resource: ``cluster_queue``, ``cohort``,
    ``pending``, ``admitted`` and ``finished`` (Workloads counted from the Workloads themselves;
    pending = those of its LocalQueues not admitted; a Workload holding quota while waiting for an
    admission check counts as admitted), ``flavor``, ``resource``, ``nominal``, ``used`` (quota taken
    by admitted Workloads, from the ClusterQueue's ``status.flavorsUsage``), ``borrowed`` (the part of
    ``used`` above the nominal quota, borrowed from the cohort), ``unit`` (``cores``, ``GiB``,
    ``GPUs``)."""
    local = {(q["metadata"]["namespace"], q["metadata"]["name"]): q["spec"].get("clusterQueue")
             for q in local_queues}
    counts: dict[str, dict[str, int]] = {}
    for _, w in workload_frame(workload_items).iterrows():
        cq = w["cluster_queue"] or local.get((w["namespace"], w["queue"]), "")
        state = "admitted" if w["state"] == "reserved" else w["state"]
        counts.setdefault(cq, {"pending": 0, "admitted": 0, "finished": 0})[state] += 1
    units = {"cpu": "cores", "memory": "GiB", GPU_RESOURCE: "GPUs"}
    rows = []
    for q in sorted(cluster_queues, key=lambda q: q["metadata"]["name"]):
        name = q["metadata"]["name"]
        usage = {(f["name"], r["name"]): r for f in (q.get("status") or {}).get("flavorsUsage") or []
                 for r in f.get("resources") or []}
        c = counts.get(name, {"pending": 0, "admitted": 0, "finished": 0})
        for group in q["spec"].get("resourceGroups") or []:
            for flavor in group.get("flavors") or []:
                for res in flavor.get("resources") or []:
                    used = usage.get((flavor["name"], res["name"]), {})
                    rows.append({"cluster_queue": name, "cohort": q["spec"].get("cohortName", ""), **c,
                                 "flavor": flavor["name"], "resource": res["name"],
                                 "nominal": _amount(res["name"], str(res.get("nominalQuota", "0"))),
                                 "used": _amount(res["name"], str(used.get("total", "0"))),
                                 "borrowed": _amount(res["name"], str(used.get("borrowed", "0"))),
                                 "unit": units.get(res["name"], "")})
    columns = ["cluster_queue", "cohort", "pending", "admitted", "finished", "flavor", "resource", "nominal",
               "used", "borrowed", "unit"]
    return pd.DataFrame(rows, columns=columns)


def resource_rows(board: pd.DataFrame, resource: str = GPU_RESOURCE) -> pd.DataFrame:
    """The rows of a :func:`queue_board` for one resource (default ``nvidia.com/gpu``), with the columns
    ``cluster_queue``, ``pending``, ``admitted``, ``finished``, ``nominal``, ``used``, ``borrowed``, ``unit``."""
    cols = ["cluster_queue", "pending", "admitted", "finished", "nominal", "used", "borrowed", "unit"]
    return board[board["resource"] == resource][cols].reset_index(drop=True)


def usage_sentence(board: pd.DataFrame, cluster_queue: str, resource: str = GPU_RESOURCE) -> str:
    """One sentence from a :func:`queue_board`: how much of ``resource`` ClusterQueue ``cluster_queue``
    uses, how much of that is borrowed, and how many of its Workloads are admitted and pending.
    Raises KeyError for a queue or resource not on the board."""
    rows = board[(board["cluster_queue"] == cluster_queue) & (board["resource"] == resource)]
    if rows.empty:
        raise KeyError(f"No row for ClusterQueue {cluster_queue!r} and resource {resource!r} on the board.")
    r = rows.iloc[0]
    own = min(r["used"], r["nominal"])
    return (f"{cluster_queue}: {r['admitted']} Workload(s) admitted, {r['pending']} pending; {r['used']:g} "
            f"{r['unit']} in use of a nominal quota of {r['nominal']:g}: {own:g} its own, {r['borrowed']:g} "
            f"borrowed from the cohort.")


def condition(obj: dict, kind: str) -> dict | None:
    """The condition of type ``kind`` in ``obj["status"]["conditions"]`` (a dict), or None."""
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def waiting_reasons(workload_items: Sequence[dict]) -> list[dict]:
    """Why each Workload that is not admitted waits, from its own conditions (pure): one dict per
    pending Workload, oldest first: ``namespace``, ``job``, ``queue``, ``reason`` and ``message``:
    the ``Evicted`` condition when Kueue evicted it (e.g. reason ``Preempted``), else the
    ``QuotaReserved=False`` condition (e.g. ``Pending``, "couldn't assign flavors to pod set main:
    insufficient unused quota for nvidia.com/gpu in flavor gpu, 1 more needed"), else empty."""
    out = []
    frame = workload_frame(workload_items)
    by_key = {(w["metadata"]["namespace"], w["metadata"]["name"]): w for w in workload_items}
    for _, row in frame[frame["state"] == "pending"].iterrows():
        w = by_key[(row["namespace"], row["workload"])]
        evicted = condition(w, "Evicted")
        reserved = condition(w, "QuotaReserved")
        why = evicted if evicted and evicted.get("status") == "True" else \
            reserved if reserved and reserved.get("status") == "False" else {}
        out.append({"namespace": row["namespace"], "job": row["job"] or row["workload"], "queue": row["queue"],
                    "reason": why.get("reason", ""), "message": why.get("message", "")})
    return out


def queue_problems(cluster_queues: Sequence[dict]) -> list[str]:
    """One sentence per ClusterQueue of ``cluster_queues`` (dicts) that Kueue marks not active
    (condition ``Active=False``, e.g. reason ``FlavorNotFound`` when a ResourceFlavor it names is
    missing): such a queue admits nothing. Pure."""
    out = []
    for q in sorted(cluster_queues, key=lambda q: q["metadata"]["name"]):
        active = condition(q, "Active")
        if active is not None and active.get("status") == "False":
            out.append(f"ClusterQueue {q['metadata']['name']} admits nothing ({active.get('reason', '')}): "
                       f"{active.get('message', '')}")
    return out


def _job_key(workload: dict) -> str:
    meta = workload["metadata"]
    owner = next((o["name"] for o in meta.get("ownerReferences") or [] if o.get("controller")), meta["name"])
    return f"{meta['namespace']}/{owner}"


def wait_for_workloads(cluster: Cluster | None, states: Mapping[str, str], timeout: float = 60) -> dict[str, dict]:
    """Watch the Workloads until the Workload of each Job ``"namespace/job"`` of ``states`` is in the
    state given (:func:`workload_state`: ``"pending"``, ``"admitted"``, ``"finished"``); a pending
    one must also carry Kueue's reason (it was considered, :func:`waiting_reasons`). Returns every
    Workload then seen, by ``"namespace/job"``. Raises :class:`~whyk8s.errors.WaitTimeoutError` after
    ``timeout`` seconds naming each Job's state. kubectl: ``kubectl get workloads -A -w``."""
    from whyk8s.errors import WaitTimeoutError
    from whyk8s.k8s.waits import watch_until

    def matches(w: dict | None, want: str) -> bool:
        if w is None or workload_state(w) != want:
            return False
        return want != "pending" or bool(waiting_reasons([w]) and waiting_reasons([w])[0]["reason"])

    api = _custom(_cluster(cluster))
    seen = watch_until(api.list_cluster_custom_object, GROUP, VERSION, "workloads", key=_job_key, timeout=timeout,
                       done=lambda items: all(matches(items.get(k), v) for k, v in states.items()))
    if not all(matches(seen.get(k), v) for k, v in states.items()):
        got = ", ".join(f"{k}: {workload_state(seen[k]) if k in seen else 'no Workload'} (wanted {v})"
                        for k, v in states.items())
        raise WaitTimeoutError(f"The Workloads did not reach their states within {timeout:.0f} s: {got}.")
    return dict(seen)


def wait_for_preemption(cluster: Cluster | None, namespace: str, timeout: float = 60) -> dict:
    """Watch the Workloads of ``namespace`` until one of them was preempted by Kueue (condition
    ``Evicted`` with reason ``Preempted``) and waits again in its queue (pending, with Kueue's reason);
    return that Workload. Raises :class:`~whyk8s.errors.WaitTimeoutError` after ``timeout`` seconds.
    kubectl: ``kubectl get workloads -n <namespace> -w``."""
    from whyk8s.errors import WaitTimeoutError
    from whyk8s.k8s.waits import watch_until

    def victims(items: dict) -> list[dict]:
        return [w for w in items.values() if workload_state(w) == "pending"
                and (waiting_reasons([w]) or [{}])[0].get("reason") == "Preempted"]

    api = _custom(_cluster(cluster))
    seen = watch_until(api.list_namespaced_custom_object, GROUP, VERSION, namespace, "workloads", key=_job_key,
                       timeout=timeout, done=lambda items: bool(victims(items)))
    found = victims(seen)
    if not found:
        raise WaitTimeoutError(f"No Workload in {namespace} was preempted within {timeout:.0f} s.")
    return found[0]


def settled_queue_board(cluster: Cluster | None = None, timeout: float = 15) -> pd.DataFrame:
    """:func:`queue_board` once each course ClusterQueue's status agrees with its Workloads (Kueue
    writes a ClusterQueue's counts and usage a moment after it admits or evicts): ``admittedWorkloads``
    and ``pendingWorkloads`` equal to the admitted and pending Workloads counted from the Workloads.
    Raises :class:`~whyk8s.errors.WaitTimeoutError` after ``timeout`` seconds."""
    from whyk8s.errors import WaitTimeoutError
    from whyk8s.k8s.waits import watch_until

    cluster = _cluster(cluster)
    api = _custom(cluster)
    local = api.list_cluster_custom_object(GROUP, VERSION, "localqueues")["items"]
    items = api.list_cluster_custom_object(GROUP, VERSION, "workloads")["items"]

    def agrees(queues: dict) -> bool:
        board = board_from_objects(list(queues.values()), local, items)
        for q in queues.values():
            st = q.get("status") or {}
            rows = board[board["cluster_queue"] == q["metadata"]["name"]]
            admitted, pending = (int(rows["admitted"].iloc[0]), int(rows["pending"].iloc[0])) if len(rows) else (0, 0)
            if (st.get("admittedWorkloads", 0), st.get("pendingWorkloads", 0)) != (admitted, pending):
                return False
        return True

    seen = watch_until(api.list_cluster_custom_object, GROUP, VERSION, "clusterqueues", label_selector=_SELECTOR,
                       timeout=timeout, done=agrees)
    if not agrees(seen):
        raise WaitTimeoutError(f"The ClusterQueues' status did not catch up with their Workloads within "
                               f"{timeout:.0f} s.")
    return board_from_objects(list(seen.values()), local, items)


def admission_delay(earlier: dict, earlier_condition: str, later: dict, later_condition: str = "Admitted") -> float:
    """Seconds from ``earlier``'s condition ``earlier_condition`` (e.g. a Workload's ``Finished``) to
    ``later``'s ``later_condition`` (e.g. the next Workload's ``Admitted``), from the conditions'
    ``lastTransitionTime`` (the API server keeps whole seconds, so the result is ±1 s). Raises
    ValueError when either condition is missing."""
    from datetime import datetime

    def at(obj: dict, kind: str) -> datetime:
        c = condition(obj, kind)
        if not c or c.get("status") != "True":
            raise ValueError(f"{obj['metadata']['name']} has no {kind} condition yet.")
        return datetime.fromisoformat(c["lastTransitionTime"].replace("Z", "+00:00"))

    return (at(later, later_condition) - at(earlier, earlier_condition)).total_seconds()


def delete_queues(cluster: Cluster | None = None, timeout: float = 30) -> dict[str, int]:
    """Delete the course-labelled LocalQueues (in every namespace), ClusterQueues and ResourceFlavors,
    and wait until they are gone (Kueue keeps a ClusterQueue or ResourceFlavor while Workloads use it,
    through its finalizer). Returns how many of each were deleted (``{"clusterqueues": 2, ...}``).
    Raises :class:`~whyk8s.errors.WaitTimeoutError` after ``timeout`` seconds naming what is left.
    kubectl: ``kubectl delete localqueues -A -l app.kubernetes.io/part-of=whyk8s`` then ``kubectl
    delete clusterqueues,resourceflavors -l app.kubernetes.io/part-of=whyk8s``."""
    return kueue.delete_course_objects(_cluster(cluster), timeout=timeout)
