"""Where ML workloads land: GPU training Jobs, high-memory preprocessing pods, and why a pod waits.

Chapter 4a builds two typical ML workloads and lets the real kube-scheduler place them on the course
cluster (layout in ``clusters/layout.yaml``):

- :func:`training_job` — a Job requesting whole GPUs (extended resource ``nvidia.com/gpu``), tolerating
  the GPU node's taint ``nvidia.com/gpu=present:NoSchedule`` and selecting ``whyk8s.io/pool=gpu``;
- :func:`preprocessing_pod` — a Pod whose memory request (default 96 GiB) no CPU worker (16 GiB) or
  GPU worker (64 GiB) can hold, plus the nodeSelector ``whyk8s.io/pool=highmem`` (256 GiB).

:func:`where` tabulates where pods landed; :func:`why_pending` returns the scheduler's own reason
for a pod that stays Pending, and :func:`explain_reasons` splits that reason into one readable line
per cause.

The node memory sizes are those of the layout on both providers: kwok's Nodes are written with them,
and on **kind** each worker's kubelet reads the layout's memory from a ``/proc/meminfo`` the course
mounts (:func:`whyk8s.cluster.kind.write_node_sizes`); kind nodes keep the machine's CPUs.
Scheduling facts: kubernetes.io, "Resource Management
for Pods and Containers", "Taints and Tolerations", "Assigning Pods to Nodes".
"""

from __future__ import annotations

import re

import pandas as pd
from kubernetes import client

from whyk8s import GPU_RESOURCE
from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s import nodes as nodefacts
from whyk8s.k8s import pods as podfacts
from whyk8s.k8s import specs
from whyk8s.k8s.event_log import newest_event
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.quantities import parse_gpus
from whyk8s.k8s.waits import watch_until

__all__ = ["training_job", "training_pod", "preprocessing_pod", "where", "why_pending", "explain_reasons",
           "reasons_table", "pods_of", "count_by_node", "gpu_capacity", "wait_placed", "decided"]


def training_job(name: str, gpus=1, cpu="500m", memory="8Gi", *, priority_class: str | None = None,
                 labels: dict | None = None) -> client.V1Job:
    """A course-labelled training Job on the GPU pool (built with :func:`whyk8s.k8s.specs.job`).

    ``gpus``: whole ``nvidia.com/gpu`` (≥ 1; request = limit, as for every extended resource);
    ``cpu``: CPU quantity (cores or millicores; default ``"500m"``, so that four one-GPU jobs fit the GPU
    node on kind too, whose nodes have the machine's CPUs, often 2); ``memory``: memory quantity
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


def training_pod(name: str, gpus=1, cpu="500m", memory="8Gi", *, priority_class: str | None = None,
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
    ``whyk8s.io/pool=highmem`` names the 256 GiB worker as well (the same sizes on kind, see the module
    text). ``cpu`` is a CPU quantity (``"2"`` = 2000 millicores). Raises ValueError for a bad name
    or quantity (``"96m"`` is refused: millibytes, not mebibytes).
    """
    return specs.pod(name, cpu=cpu, memory=memory, pool="highmem", labels=labels)


def _namespace(cluster: Cluster, namespace: str | None) -> str:
    return namespace or cluster.namespace


def _matches(pod: client.V1Pod, wanted: set[str]) -> bool:
    labels = pod.metadata.labels or {}
    return not wanted or pod.metadata.name in wanted or labels.get("job-name") in wanted \
        or labels.get("app") in wanted


def _wanted(names) -> set[str]:
    return {names} if isinstance(names, str) else set(names or [])


def pods_of(cluster: Cluster, names, namespace: str | None = None) -> list[client.V1Pod]:
    """Course pods matching ``names`` (a name or list of names): a pod's own name, its Job
    (label ``job-name``) or its Deployment (label ``app``). Sorted by pod name."""
    wanted = _wanted(names)
    pods = cluster.core.list_namespaced_pod(_namespace(cluster, namespace), label_selector=cluster.selector).items
    return sorted((p for p in pods if _matches(p, wanted)), key=lambda p: p.metadata.name)


def _pools(cluster: Cluster) -> dict[str, str]:
    return {n.metadata.name: nodefacts.pool(n) for n in cluster.core.list_node().items}


def _rows(pods, pools: dict[str, str]) -> pd.DataFrame:
    rows = []
    for p in sorted(pods, key=lambda p: p.metadata.name):
        if podfacts.is_terminating(p):
            continue
        node = p.spec.node_name or ""
        rows.append({"pod": p.metadata.name, "workload": podfacts.workload_of(p), "node": node,
                     "pool": pools.get(node, ""), "phase": p.status.phase, "status": podfacts.status(p)})
    return pd.DataFrame(rows, columns=["pod", "workload", "node", "pool", "phase", "status"])


def where(cluster: Cluster, names=None, namespace: str | None = None) -> pd.DataFrame:
    """Where pods landed: one row per course pod matching ``names`` (see :func:`pods_of`; None = all).

    Columns: ``pod``, ``workload`` (its Job or Deployment name, else the pod name), ``node`` (``""``
    while Pending), ``pool`` (the node's ``whyk8s.io/pool`` label), ``phase``, ``status`` (what
    kubectl shows, e.g. ``CrashLoopBackOff``). Pods being deleted are left out. Raises ApiException
    if the API server refuses. kubectl: ``kubectl get pods -o wide -l app.kubernetes.io/part-of=whyk8s``.
    """
    return _rows(pods_of(cluster, names, namespace), _pools(cluster))


def count_by_node(cluster: Cluster, names=None, namespace: str | None = None) -> pd.DataFrame:
    """How many matching pods each node holds: columns ``node``, ``pool``, ``pods``; sorted by node.
    Pending pods count under node ``"(pending)"``."""
    table = where(cluster, names, namespace)
    if table.empty:
        return pd.DataFrame(columns=["node", "pool", "pods"])
    table["node"] = table["node"].replace("", "(pending)")
    out = table.groupby(["node", "pool"]).size().reset_index(name="pods")
    return out.sort_values("node").reset_index(drop=True)


def decided(pod: client.V1Pod, running: bool = False) -> bool:
    """True when the scheduler has decided about ``pod``: bound to a node (with ``running``: and in
    phase Running or Succeeded), or marked Unschedulable with no node nominated for it (a nominated
    pod waits for preemption to free that node, so it is not decided yet)."""
    if podfacts.is_terminating(pod):
        return False
    if pod.spec.node_name:
        return not running or (pod.status and pod.status.phase in ("Running", "Succeeded"))
    cond = podfacts.scheduled_condition(pod)
    return cond is not None and cond.reason == "Unschedulable" and not (pod.status and pod.status.nominated_node_name)


def wait_placed(cluster: Cluster, names, count: int, namespace: str | None = None,
                timeout: float = 60, running: bool = False) -> pd.DataFrame:
    """Watch the course pods until ``count`` live pods matching ``names`` (see :func:`pods_of`) are
    decided (:func:`decided`). Returns :func:`where` for them. Raises :class:`WaitTimeoutError` after
    ``timeout`` seconds, saying how many were decided and each pod's state."""
    ns = _namespace(cluster, namespace)
    wanted = _wanted(names)

    def mine(objs: dict) -> dict:
        return {n: p for n, p in objs.items() if _matches(p, wanted) and not podfacts.is_terminating(p)}

    def enough(objs: dict) -> bool:
        return sum(1 for p in mine(objs).values() if decided(p, running)) >= count

    objs = watch_until(cluster.core.list_namespaced_pod, ns, label_selector=cluster.selector, done=enough,
                       timeout=timeout)
    if not enough(objs):
        got = sum(1 for p in mine(objs).values() if decided(p, running))
        raise WaitTimeoutError(f"Only {got} of {count} pods were placed after {timeout:.0f} s "
                               f"({podfacts.describe(mine(objs)) or 'no such pod'}).")
    return _rows(mine(objs).values(), _pools(cluster))


def _pick(objs: dict, wanted: set[str]) -> client.V1Pod | None:
    """The pod a name means: the pod of that name, else a pending pod of that Job/Deployment, else any."""
    live = [p for p in objs.values() if _matches(p, wanted) and not podfacts.is_terminating(p)]
    exact = [p for p in live if p.metadata.name in wanted]
    pending = [p for p in live if not p.spec.node_name]
    chosen = exact or pending or sorted(live, key=lambda p: p.metadata.name)
    return chosen[0] if chosen else None


def why_pending(cluster: Cluster, pod: str, namespace: str | None = None, timeout: float = 15) -> str:
    """The scheduler's reason why ``pod`` (a pod name, or a Job/Deployment name) is not scheduled.

    Returns the message of the pod's ``PodScheduled=False`` condition (reason ``Unschedulable``),
    e.g. ``"0/5 nodes are available: 1 Insufficient nvidia.com/gpu, 4 node(s) had untolerated
    taint(s)..."``, falling back to the newest ``FailedScheduling`` event. Watches (up to ``timeout``
    seconds) until the pod exists (a Job's or Deployment's pod comes a moment after the object) and
    the scheduler has said something. For a scheduled pod it returns a sentence naming the node.
    Raises CourseError if no such pod exists by then.
    kubectl: ``kubectl describe pod <name>`` (Events) or ``kubectl get pod <name> -o
    jsonpath='{.status.conditions}'``.
    """
    ns = _namespace(cluster, namespace)
    wanted = {pod}

    def verdict(p: client.V1Pod | None) -> str | None:
        if p is None:
            return None
        if p.spec.node_name:
            return f"Pod {p.metadata.name} is not pending: it was scheduled to node {p.spec.node_name}."
        return podfacts.pending_reason(p) or None

    objs = watch_until(cluster.core.list_namespaced_pod, ns, label_selector=cluster.selector,
                       done=lambda objs: verdict(_pick(objs, wanted)) is not None, timeout=timeout)
    chosen = _pick(objs, wanted)
    if chosen is None:
        raise CourseError(f"There is no pod (or Job/Deployment pod) named {pod!r} in namespace {ns}.")
    answer = verdict(chosen)
    if answer is not None:
        return answer
    event = newest_event(cluster, ns, chosen.metadata.name, "FailedScheduling")
    if event is not None and event.message:
        return event.message.strip()
    return f"The scheduler has not reported on pod {chosen.metadata.name} yet: it is waiting for the scheduler."


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

    ``"0/5 nodes are available: 1 Insufficient nvidia.com/gpu, 4 node(s) had untolerated taint(s).
    preemption: ..."`` (v1.36's wording; older schedulers wrote ``untolerated taint {key: value}``)
    gives ``["0 of 5 nodes can take the pod.", "1 node: not enough nvidia.com/gpu left: ...",
    "4 nodes: tainted, and the pod has no toleration for it ..."]``
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
