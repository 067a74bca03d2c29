"""Where ML workloads land: GPU training Jobs, high-memory preprocessing pods, and why a pod waits.

Chapter 4 builds two typical ML workloads and lets the real kube-scheduler place them on the course
cluster (layout in ``clusters/layout.yaml``):

- :func:`training_job` — a Job requesting whole GPUs (extended resource ``nvidia.com/gpu``), tolerating
  the GPU node's taint ``nvidia.com/gpu=present:NoSchedule`` and selecting ``whyk8s.io/pool=gpu``;
- :func:`preprocessing_pod` — a Pod whose memory request (default 96 GiB) no CPU worker (16 GiB) or
  GPU worker (64 GiB) can hold, plus the nodeSelector ``whyk8s.io/pool=highmem`` (256 GiB).

:func:`where` tabulates where pods landed; :func:`why_pending` returns the scheduler's own reason
for a pod that stays Pending, and :func:`explain_reasons` splits that reason into one readable line
per cause.

On **kwok** the node capacities are those of the layout, so the numbers above hold. On **kind** the
nodes report the laptop's real memory (every node the same, e.g. 16 GiB): a 96 GiB request then fits
nowhere and stays Pending. Pass a smaller ``memory`` (e.g. ``"1Gi"``) there; the nodeSelector alone
then sends the pod to the high-memory worker. Scheduling facts: kubernetes.io, "Resource Management
for Pods and Containers", "Taints and Tolerations", "Assigning Pods to Nodes".
"""

from __future__ import annotations

import re
import time

import pandas as pd
from kubernetes import client, watch

from whyk8s import GPU_RESOURCE, POOL_LABEL
from whyk8s.k8s import specs
from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.quantities import parse_gpus

__all__ = ["training_job", "training_pod", "preprocessing_pod", "where", "why_pending", "explain_reasons",
           "reasons_table", "pods_of", "count_by_node", "gpu_capacity", "wait_placed"]


def training_job(name: str, gpus=1, cpu="2", memory="8Gi", *, priority_class: str | None = None,
                 labels: dict | None = None) -> client.V1Job:
    """A course-labelled training Job on the GPU pool (built with :func:`whyk8s.k8s.specs.job`).

    ``gpus``: whole ``nvidia.com/gpu`` (≥ 1; request = limit, as for every extended resource);
    ``cpu``: CPU quantity (cores or millicores, e.g. ``"2"`` = 2000m); ``memory``: memory quantity
    (bytes, e.g. ``"8Gi"``). The pod template tolerates ``nvidia.com/gpu=present:NoSchedule`` and
    selects ``whyk8s.io/pool=gpu``. ``priority_class`` names a PriorityClass (see
    :func:`whyk8s.lessons.tenancy.priority_classes`). Raises ValueError for a bad name or quantity, or
    ``gpus`` < 1 (a training Job on the GPU pool without a GPU would only waste the node).
    """
    n = parse_gpus(gpus)
    if n < 1:
        raise ValueError(f"A training Job asks for at least 1 GPU (got {gpus!r}).")
    return specs.job(name, cpu=cpu, memory=memory, gpus=n, pool="gpu", priority_class=priority_class,
                     labels=labels)


def training_pod(name: str, gpus=1, cpu="2", memory="8Gi", *, priority_class: str | None = None,
                 labels: dict | None = None) -> client.V1Pod:
    """A course-labelled long-running training Pod on the GPU pool (restartPolicy Always).

    Same requests, toleration and nodeSelector as :func:`training_job`. Why it exists: on kwok a
    Job's pod is marked Succeeded a moment after it starts (no container runs, and kwok's
    ``pod-complete`` stage finishes every Job pod at once), so it would free its GPU at once; a bare
    Pod stays Running and keeps holding its GPUs, like a long training run. The preemption demo uses
    these as the low-priority work. Raises ValueError as :func:`training_job`.
    """
    n = parse_gpus(gpus)
    if n < 1:
        raise ValueError(f"A training pod asks for at least 1 GPU (got {gpus!r}).")
    return specs.pod(name, cpu=cpu, memory=memory, gpus=n, pool="gpu", priority_class=priority_class,
                     labels=labels)


def preprocessing_pod(name: str, memory="96Gi", cpu="2", *, labels: dict | None = None) -> client.V1Pod:
    """A course-labelled preprocessing Pod for the high-memory worker.

    ``memory`` (bytes as a quantity, default ``"96Gi"`` = 103079215104 bytes) is more than a CPU worker
    (16 GiB) or the GPU worker (64 GiB) of the kwok layout can hold; the nodeSelector
    ``whyk8s.io/pool=highmem`` names the 256 GiB worker as well. On kind every node reports the host's
    real memory, so use a request that fits the laptop (e.g. ``"1Gi"``): the selector then does the
    placing. ``cpu`` is a CPU quantity (``"2"`` = 2000 millicores). Raises ValueError for a bad name
    or quantity (``"96m"`` is refused: millibytes, not mebibytes).
    """
    return specs.pod(name, cpu=cpu, memory=memory, pool="highmem", labels=labels)


def _namespace(cluster: Cluster, namespace: str | None) -> str:
    return namespace or cluster.namespace


def pods_of(cluster: Cluster, names, namespace: str | None = None) -> list[client.V1Pod]:
    """Course pods matching ``names`` (a name or list of names): a pod's own name, its Job
    (label ``job-name``) or its Deployment (label ``app``). Sorted by pod name."""
    wanted = {names} if isinstance(names, str) else set(names or [])
    pods = cluster.core.list_namespaced_pod(_namespace(cluster, namespace), label_selector=cluster.selector).items
    hits = [p for p in pods if not wanted or p.metadata.name in wanted
            or (p.metadata.labels or {}).get("job-name") in wanted
            or (p.metadata.labels or {}).get("app") in wanted]
    return sorted(hits, key=lambda p: p.metadata.name)


def _pools(cluster: Cluster) -> dict[str, str]:
    return {n.metadata.name: (n.metadata.labels or {}).get(POOL_LABEL, "")
            for n in cluster.core.list_node().items}


def where(cluster: Cluster, names=None, namespace: str | None = None) -> pd.DataFrame:
    """Where pods landed: one row per course pod matching ``names`` (see :func:`pods_of`; None = all).

    Columns: ``pod``, ``workload`` (its Job or Deployment name, else the pod name), ``node`` (``""``
    while Pending), ``pool`` (the node's ``whyk8s.io/pool`` label), ``phase``. Pods being deleted are
    left out. Raises ApiException if the API server refuses.
    """
    pools = _pools(cluster)
    rows = []
    for p in pods_of(cluster, names, namespace):
        if p.metadata.deletion_timestamp:
            continue
        labels = p.metadata.labels or {}
        node = p.spec.node_name or ""
        rows.append({"pod": p.metadata.name,
                     "workload": labels.get("job-name") or labels.get("app") or p.metadata.name,
                     "node": node, "pool": pools.get(node, ""), "phase": p.status.phase})
    return pd.DataFrame(rows, columns=["pod", "workload", "node", "pool", "phase"])


def count_by_node(cluster: Cluster, names=None, namespace: str | None = None) -> pd.DataFrame:
    """How many matching pods each node holds: columns ``node``, ``pool``, ``pods``; sorted by node.
    Pending pods count under node ``"(pending)"``."""
    table = where(cluster, names, namespace)
    if table.empty:
        return pd.DataFrame(columns=["node", "pool", "pods"])
    table["node"] = table["node"].replace("", "(pending)")
    out = table.groupby(["node", "pool"]).size().reset_index(name="pods")
    return out.sort_values("node").reset_index(drop=True)


def wait_placed(cluster: Cluster, names, count: int, namespace: str | None = None,
                timeout: float = 60, running: bool = False) -> pd.DataFrame:
    """Watch (no polling) until ``count`` live pods matching ``names`` (see :func:`pods_of`) are
    decided: scheduled to a node (with ``running``: in phase Running or Succeeded), or marked
    Unschedulable by the scheduler with no node nominated for it (a nominated pod waits for
    preemption to free that node). Returns :func:`where` for them. Raises TimeoutError after
    ``timeout`` seconds, saying how many were decided."""
    ns = _namespace(cluster, namespace)

    def decided() -> int:
        n = 0
        for p in pods_of(cluster, names, ns):
            if p.metadata.deletion_timestamp:
                continue
            cond = _scheduled_condition(p)
            if p.spec.node_name and (not running or p.status.phase in ("Running", "Succeeded")):
                n += 1
            elif (not p.spec.node_name and cond is not None and cond.reason == "Unschedulable"
                  and not (p.status and p.status.nominated_node_name)):
                n += 1  # a nominated pod is not decided: preemption is freeing a node for it
        return n

    listing = cluster.core.list_namespaced_pod(ns, label_selector=cluster.selector)
    rv = listing.metadata.resource_version
    got = decided()
    end = time.monotonic() + timeout
    while got < count and time.monotonic() < end:
        w = watch.Watch()
        for event in w.stream(cluster.core.list_namespaced_pod, ns, label_selector=cluster.selector,
                              resource_version=rv, timeout_seconds=2, _request_timeout=10):
            rv = event["object"].metadata.resource_version
            got = decided()
            if got >= count:
                w.stop()
                break
    if got < count:
        raise WaitTimeoutError(f"Only {got} of {count} pods were placed after {timeout:.0f} s.")
    return where(cluster, names, ns)


def _scheduled_condition(pod):
    return next((c for c in (pod.status.conditions or []) if c.type == "PodScheduled"), None)


def _resolve_pod(cluster: Cluster, name: str, namespace: str) -> client.V1Pod:
    try:
        return cluster.core.read_namespaced_pod(name, namespace)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    pods = [p for p in pods_of(cluster, name, namespace) if not p.metadata.deletion_timestamp]
    if not pods:
        raise CourseError(f"There is no pod (or Job/Deployment pod) named {name!r} in namespace {namespace}.")
    pending = [p for p in pods if not p.spec.node_name]
    return (pending or pods)[0]


def _wait_for_pod(cluster: Cluster, name: str, namespace: str, timeout: float) -> client.V1Pod:
    """:func:`_resolve_pod`, waiting up to ``timeout`` seconds (watching course pods) for a Job's or
    Deployment's pod, which its controller creates a moment after the object itself."""
    deadline = time.monotonic() + timeout
    rv = cluster.core.list_namespaced_pod(namespace, label_selector=cluster.selector).metadata.resource_version
    while True:
        try:
            return _resolve_pod(cluster, name, namespace)
        except CourseError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
        w = watch.Watch()
        for event in w.stream(cluster.core.list_namespaced_pod, namespace, label_selector=cluster.selector,
                              resource_version=rv, timeout_seconds=max(1, int(left))):
            rv = event["object"].metadata.resource_version
            if event["type"] == "ADDED":
                w.stop()
                break


def why_pending(cluster: Cluster, pod: str, namespace: str | None = None, timeout: float = 15) -> str:
    """The scheduler's reason why ``pod`` (a pod name, or a Job/Deployment name) is not scheduled.

    Returns the message of the pod's ``PodScheduled=False`` condition (reason ``Unschedulable``),
    falling back to the newest ``FailedScheduling`` event; e.g. ``"0/4 nodes are available:
    1 Insufficient nvidia.com/gpu, 3 node(s) had untolerated taint ..."``. If the scheduler has not
    reported yet, waits for it (watching the pod) up to ``timeout`` seconds; a Job's or Deployment's
    pod that its controller has not created yet is waited for as well. For a scheduled pod it
    returns a sentence naming the node. Raises CourseError if no such pod exists by then.
    """
    ns = _namespace(cluster, namespace)
    p = _wait_for_pod(cluster, pod, ns, timeout)
    name = p.metadata.name

    def verdict(obj) -> str | None:
        if obj.spec.node_name:
            return f"Pod {obj.metadata.name} is not pending: it was scheduled to node {obj.spec.node_name}."
        cond = _scheduled_condition(obj)
        if cond is not None and cond.status == "False" and cond.message:
            return cond.message
        return None

    answer = verdict(p)
    if answer is None and timeout > 0:
        w = watch.Watch()
        for event in w.stream(cluster.core.list_namespaced_pod, ns, field_selector=f"metadata.name={name}",
                              timeout_seconds=max(1, int(timeout))):
            answer = verdict(event["object"])
            if answer is not None:
                w.stop()
                break
    if answer is not None:
        return answer
    events = cluster.core.list_namespaced_event(
        ns, field_selector=f"involvedObject.name={name},reason=FailedScheduling").items
    if events:
        newest = max(events, key=lambda e: (e.last_timestamp or e.event_time or e.metadata.creation_timestamp))
        return newest.message
    return f"The scheduler has not reported on pod {name} yet; try again in a few seconds."


#: (pattern, meaning) for the reasons kube-scheduler writes; ``{0}`` is the pattern's first group.
_MEANINGS = [
    (r"^Insufficient (.+)$",
     "not enough {0} left: the requests of the pods already there plus this pod's request exceed "
     "the node's allocatable {0} (requests count, not actual use)"),
    (r"^node\(s\) had untolerated taint \{(.+)\}$",
     "tainted {0}, and the pod has no toleration for that taint"),
    (r"^node\(s\) didn't match Pod's node affinity/selector$",
     "their labels do not match the pod's nodeSelector / node affinity"),
    (r"^node\(s\) were unschedulable$", "cordoned (marked unschedulable), so no new pod may land there"),
    (r"^node\(s\) had untolerated taint\(s\)$", "tainted, and the pod has no toleration for it"),
    (r"^Too many pods$", "already hold as many pods as they allow"),
    (r"^node\(s\) didn't have free ports for the requested pod ports$", "the pod's host port is taken"),
    (r"^Preemption is not helpful for scheduling$",
     "evicting lower-priority pods would not make room (preemption cannot help)"),
    (r"^No preemption victims found for incoming pod$",
     "no lower-priority pod could be evicted to make room"),
]


def explain_reasons(message: str) -> list[str]:
    """Split a scheduler message into one readable line per reason.

    ``"0/4 nodes are available: 1 Insufficient nvidia.com/gpu, 3 node(s) had untolerated taint
    {nvidia.com/gpu: present}. preemption: ..."`` gives ``["0 of 4 nodes can take the pod.",
    "1 node: not enough nvidia.com/gpu left: ...", "3 nodes: tainted nvidia.com/gpu: present, ..."]``
    (the preemption part, if any, becomes one more line). Text it does not recognise is returned
    as one line, unchanged. Pure function: no cluster needed.
    """
    text = (message or "").strip()
    m = re.match(r"^(\d+)/(\d+) nodes are available:?\s*(.*)$", text, re.S)
    if not m:
        return [text] if text else []
    fit, total, rest = int(m.group(1)), int(m.group(2)), m.group(3)
    main, _, preemption = rest.partition(" preemption: ")
    lines = [f"{fit} of {total} nodes can take the pod."]
    lines += _reason_lines(main)
    if preemption:
        pm = re.match(r"^(\d+)/(\d+) nodes are available:?\s*(.*)$", preemption.strip(), re.S)
        body = pm.group(3) if pm else preemption
        lines += [f"Preemption: {line}" for line in _reason_lines(body)]
    return lines


def _reason_lines(body: str) -> list[str]:
    # The reasons end at the first ". "; newer schedulers append notes such as
    # "no new claims to deallocate," (dynamic resource allocation) after it.
    body = re.split(r"\.\s", body.strip(), maxsplit=1)[0].strip().rstrip(".,")
    out = []
    for part in re.split(r",\s*(?=\d+\s)", body):
        part = part.strip()
        if not part:
            continue
        pm = re.match(r"^(\d+)\s+(.*)$", part)
        count, reason = (int(pm.group(1)), pm.group(2)) if pm else (None, part)
        meaning = reason
        for pattern, template in _MEANINGS:
            rm = re.match(pattern, reason)
            if rm:
                meaning = template.format(*rm.groups()) if rm.groups() else template
                break
        who = f"{count} node{'s' if count != 1 else ''}" if count is not None else "Nodes"
        out.append(f"{who}: {meaning} (scheduler: “{reason}”).")
    return out


def reasons_table(message: str) -> pd.DataFrame:
    """:func:`explain_reasons` as a table: columns ``nodes`` (count, or None), ``reason`` (the
    scheduler's words) and ``meaning``. The summary line ("k of n nodes ...") is left out."""
    text = (message or "").strip()
    m = re.match(r"^(\d+)/(\d+) nodes are available:?\s*(.*)$", text, re.S)
    body = m.group(3).partition(" preemption: ")[0] if m else text
    rows = []
    for line in _reason_lines(body):
        head, _, tail = line.partition(": ")
        meaning, _, raw = tail.rpartition(" (scheduler: “")
        count = int(head.split()[0]) if head[0].isdigit() else None
        rows.append({"nodes": count, "reason": raw.rstrip("”)."), "meaning": meaning})
    return pd.DataFrame(rows, columns=["nodes", "reason", "meaning"])


def gpu_capacity(cluster: Cluster) -> dict[str, int]:
    """``nvidia.com/gpu`` allocatable per node that advertises any (node name → whole GPUs)."""
    out = {}
    for n in cluster.core.list_node().items:
        value = (n.status.allocatable or {}).get(GPU_RESOURCE)
        if value:
            out[n.metadata.name] = int(value)
    return out
