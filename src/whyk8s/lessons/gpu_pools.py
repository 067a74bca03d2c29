"""A GPU node pool that grows when training waits and shrinks to zero when idle: Karpenter's NodePool.

Karpenter (``sigs.k8s.io/karpenter``, here with its kwok cloud provider) watches for Pods the
scheduler marks unschedulable, simulates where they could go, and when a NodePool could hold them it
creates a NodeClaim for the cheapest instance type that fits; the cloud provider turns the claim into
a Node. When a Node it made has held no Pod for ``consolidateAfter`` (policy ``WhenEmpty``), it
drains and deletes it. Start it first: :func:`whyk8s.cluster.karpenter.start`, or ``whyk8s
karpenter up`` (kwok cluster only).

What a run shows, on the course's kwok cluster (``tests/test_karpenter.py``, ``benchmarks/karpenter.py``):
the pool starts with no node; Jobs asking for one ``nvidia.com/gpu`` each, with the nodeSelector
``whyk8s.io/pool: gpu-burst``, stay Pending (no node has that label); about a second later Karpenter
has created a Node for them from the course's instance types
(:func:`whyk8s.cluster.karpenter.instance_type_table`: one ``gpu-1x`` for one Job, one ``gpu-4x``
for three Jobs created at once), first tainted ``karpenter.sh/unregistered:NoExecute``, then, once
Karpenter registers it, with the pool's taint and labels; kwok makes it Ready and the Pods run there
(on kwok a Job's Pod succeeds as soon as it runs). An empty Node goes about 40 s after its last Pod
with ``consolidateAfter: 10s`` (that, plus Karpenter's 10 s polling and the 15 s it holds a decision
before acting). Figures in ``benchmarks/RESULTS.md``.

While the pool exists, any Pending Pod that tolerates its taint and that its nodes would fit can make
Karpenter add a node (a GPU Pod of another lesson without a ``whyk8s.io/pool`` selector, say): delete
the pool when the lesson is done (:func:`delete_gpu_pool`).

One small function per act:

- :func:`node_class_spec` / :func:`gpu_node_pool_spec`: the KWOKNodeClass and the NodePool as dicts
  (:func:`whyk8s.k8s.specs.manifest` shows them as YAML);
- :func:`create_gpu_pool` / :func:`delete_gpu_pool`: apply them (labelled) and delete them (only
  labelled ones; Karpenter then removes the pool's Nodes);
- :func:`gpu_job`: a course Job for the pool (GPU request, the pool's nodeSelector, the GPU toleration);
- :func:`node_board` and :class:`NodeWatch`: the nodes with their pool, instance type and age now, and
  the nodes joining and leaving during a run, with the GPU-hours and the cost they add up to.

Every object carries ``app.kubernetes.io/part-of=whyk8s``; the NodePool puts it on the Nodes it makes.
Sources: karpenter.sh, "NodePools" (limits, taints, template labels) and "Disruption"
(``consolidationPolicy``, ``consolidateAfter``); Karpenter v1.15.0's ``karpenter.sh/v1`` API.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd
from kubernetes import client, watch
from kubernetes.utils.quantity import parse_quantity

from whyk8s import GPU_RESOURCE, PART_OF_LABEL, POOL_LABEL
from whyk8s.cluster import karpenter
from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s import specs
from whyk8s.k8s.guard import Cluster, connect
from whyk8s.k8s.nodes import is_ready, taints_text
from whyk8s.k8s.specs import Quantity
from whyk8s.k8s.waits import wait_until_gone, watch_until

__all__ = ["POOL", "NODE_CLASS", "INSTANCE_TYPE_LABEL", "node_class_spec", "gpu_node_pool_spec", "create_gpu_pool",
           "delete_gpu_pool", "gpu_job", "node_row", "node_board", "NodeTracker", "NodeWatch", "gpu_hours",
           "peak_gpus", "compare_with_fixed_pool", "cost_table", "ensure_karpenter", "stop_karpenter",
           "wait_for_pool_empty", "wait_for_jobs", "packing"]

#: The NodePool's name, also the value of ``whyk8s.io/pool`` on its Nodes.
POOL = "gpu-burst"
#: The KWOKNodeClass the pool's nodes are made from.
NODE_CLASS = "whyk8s"
#: The well-known label naming a Node's instance type.
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
_LABELS = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
_SELECTOR = f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]}"


def _cluster(cluster: Cluster | None) -> Cluster:
    return cluster if cluster is not None else connect()


def node_class_spec(name: str = NODE_CLASS) -> dict:
    """The kwok provider's NodeClass (it has no settings the course needs: a real provider's NodeClass
    names images, subnets, security groups)::

        apiVersion: karpenter.kwok.sh/v1alpha1
        kind: KWOKNodeClass
        metadata:
          name: whyk8s
          labels: {app.kubernetes.io/part-of: whyk8s}
    """
    return {"apiVersion": f"{karpenter.NODECLASS_GROUP}/{karpenter.NODECLASS_VERSION}", "kind": "KWOKNodeClass",
            "metadata": {"name": name, "labels": dict(_LABELS)}}


def gpu_node_pool_spec(name: str = POOL, max_gpus: int = 8, consolidate_after: str = "10s",
                       node_class: str = NODE_CLASS) -> dict:
    """A NodePool of GPU nodes that starts empty (a NodePool has no minimum: it makes nodes only for
    pending Pods), grows to at most ``max_gpus`` GPUs (``spec.limits``), and removes a node that has
    been empty for ``consolidate_after`` (a duration such as ``"10s"``, ``"5m"``). Its nodes carry the
    pool label and the GPU taint, so only Pods that tolerate it and select the pool land there.
    kubectl: ``kubectl apply -f nodepool.yaml``::

        apiVersion: karpenter.sh/v1
        kind: NodePool
        metadata:
          name: gpu-burst
          labels: {app.kubernetes.io/part-of: whyk8s}
        spec:
          template:
            metadata:
              labels: {whyk8s.io/pool: gpu-burst, app.kubernetes.io/part-of: whyk8s}
            spec:
              nodeClassRef: {group: karpenter.kwok.sh, kind: KWOKNodeClass, name: whyk8s}
              requirements:
              - {key: karpenter.kwok.sh/instance-family, operator: In, values: [gpu]}
              - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
              taints:
              - {key: nvidia.com/gpu, value: present, effect: NoSchedule}
              expireAfter: Never
          limits:
            nvidia.com/gpu: "8"
          disruption:
            consolidationPolicy: WhenEmpty
            consolidateAfter: 10s

    Raises ValueError for a bad name or a ``max_gpus`` below 1."""
    specs.validate_name(name, "NodePool")
    if int(max_gpus) < 1:
        raise ValueError(f"max_gpus={max_gpus!r}: a GPU pool needs room for at least one GPU.")
    return {
        "apiVersion": f"{karpenter.GROUP}/{karpenter.VERSION}", "kind": "NodePool",
        "metadata": {"name": name, "labels": dict(_LABELS)},
        "spec": {
            "template": {
                "metadata": {"labels": {POOL_LABEL: name, **_LABELS}},
                "spec": {
                    "nodeClassRef": {"group": karpenter.NODECLASS_GROUP, "kind": "KWOKNodeClass",
                                     "name": node_class},
                    "requirements": [
                        {"key": "karpenter.kwok.sh/instance-family", "operator": "In", "values": ["gpu"]},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                    ],
                    "taints": [{"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}],
                    "expireAfter": "Never",
                },
            },
            "limits": {GPU_RESOURCE: str(int(max_gpus))},
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": consolidate_after},
        },
    }


def _apply(api: client.CustomObjectsApi, group: str, version: str, plural: str, body: dict) -> dict:
    name = body["metadata"]["name"]
    try:
        old = api.get_cluster_custom_object(group, version, plural, name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        return api.create_cluster_custom_object(group, version, plural, body)
    if (old["metadata"].get("labels") or {}).get(PART_OF_LABEL[0]) != PART_OF_LABEL[1]:
        raise CourseError(f"{body['kind']} {name} exists and was not made by the course; the course leaves it alone.")
    body = {**body, "metadata": {**body["metadata"], "resourceVersion": old["metadata"]["resourceVersion"]}}
    return api.replace_cluster_custom_object(group, version, plural, name, body)


def _require_karpenter(cluster: Cluster) -> None:
    names = {c.metadata.name for c in client.ApiextensionsV1Api(cluster.api).list_custom_resource_definition(
        label_selector=_SELECTOR).items}
    if f"nodepools.{karpenter.GROUP}" not in names or karpenter.pid() is None:
        raise CourseError("Karpenter is not running on the course cluster: start it with `whyk8s karpenter up` "
                          "(or whyk8s.cluster.karpenter.start()); kwok cluster only.")


def create_gpu_pool(cluster: Cluster | None = None, name: str = POOL, max_gpus: int = 8,
                    consolidate_after: str = "10s") -> dict:
    """Create (or update) the KWOKNodeClass :data:`NODE_CLASS` and the NodePool of
    :func:`gpu_node_pool_spec`; return the NodePool as stored. kubectl: ``kubectl apply -f
    nodeclass.yaml -f nodepool.yaml``. No Node is made until a Pod waits for one. Raises
    :class:`~whyk8s.errors.CourseError` when Karpenter is not running or an object of that name was
    not made by the course."""
    cluster = _cluster(cluster)
    _require_karpenter(cluster)
    api = client.CustomObjectsApi(cluster.api)
    _apply(api, karpenter.NODECLASS_GROUP, karpenter.NODECLASS_VERSION, "kwoknodeclasses", node_class_spec())
    return _apply(api, karpenter.GROUP, karpenter.VERSION, "nodepools",
                  gpu_node_pool_spec(name, max_gpus, consolidate_after))


def delete_gpu_pool(cluster: Cluster | None = None, timeout: float = 60) -> list[str]:
    """Delete the course-labelled NodePools and KWOKNodeClasses (never others) and wait until
    Karpenter has removed their NodeClaims and Nodes; return the names of the NodePools deleted.
    kubectl: ``kubectl delete nodepools,kwoknodeclasses -l app.kubernetes.io/part-of=whyk8s``.
    Raises :class:`~whyk8s.errors.WaitTimeoutError` naming what is left after ``timeout`` seconds."""
    cluster = _cluster(cluster)
    api = client.CustomObjectsApi(cluster.api)
    deleted = []
    for pool in api.list_cluster_custom_object(karpenter.GROUP, karpenter.VERSION, "nodepools",
                                               label_selector=_SELECTOR)["items"]:
        try:
            api.delete_cluster_custom_object(karpenter.GROUP, karpenter.VERSION, "nodepools", pool["metadata"]["name"])
            deleted.append(pool["metadata"]["name"])
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + timeout
    while True:
        left = [f"nodepool/{p['metadata']['name']}" for p in api.list_cluster_custom_object(
            karpenter.GROUP, karpenter.VERSION, "nodepools", label_selector=_SELECTOR)["items"]]
        left += [f"nodeclaim/{c['metadata']['name']}" for c in api.list_cluster_custom_object(
            karpenter.GROUP, karpenter.VERSION, "nodeclaims", label_selector=_SELECTOR)["items"]]
        left += [f"node/{n.metadata.name}" for n in karpenter.karpenter_nodes(cluster)]
        if not left:
            break
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"Karpenter did not remove the GPU pool within {timeout:.0f} s: {', '.join(left)}")
        time.sleep(0.3)
    for nc in api.list_cluster_custom_object(karpenter.NODECLASS_GROUP, karpenter.NODECLASS_VERSION,
                                             "kwoknodeclasses", label_selector=_SELECTOR)["items"]:
        try:
            api.delete_cluster_custom_object(karpenter.NODECLASS_GROUP, karpenter.NODECLASS_VERSION,
                                             "kwoknodeclasses", nc["metadata"]["name"])
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    return deleted


def gpu_job(name: str, gpus: Quantity = 1, cpu: Quantity = "1", memory: Quantity = "4Gi", pool: str = POOL,
            **job_args) -> client.V1Job:
    """A course Job (:func:`whyk8s.k8s.specs.job`) asking for ``gpus`` whole ``nvidia.com/gpu``, with the
    nodeSelector ``whyk8s.io/pool: <pool>`` and the GPU toleration, so only a Node of the pool can take
    it; create it with :func:`whyk8s.k8s.objects.create`. Raises ValueError for a bad name or quantity."""
    return specs.job(name, cpu=cpu, memory=memory, gpus=gpus, pool=pool, **job_args)


def _age(created: datetime, now: datetime) -> float:
    return max(0.0, (now - created).total_seconds())


def node_row(node: client.V1Node, now: datetime) -> dict | None:
    """What the node board shows of one V1Node at ``now`` (a timezone-aware datetime): ``node``,
    ``pool`` (label ``whyk8s.io/pool``), ``made_by`` (``"karpenter"`` for a Node of a NodePool, else
    ``"layout"``), ``instance_type``, ``gpus`` (allocatable ``nvidia.com/gpu``), ``ready`` (bool),
    ``age_s`` (seconds since the Node was created, one decimal). None for a control-plane Node."""
    labels = node.metadata.labels or {}
    if "node-role.kubernetes.io/control-plane" in labels:
        return None
    created = node.metadata.creation_timestamp
    return {"node": node.metadata.name, "pool": labels.get(POOL_LABEL, ""),
            "made_by": "karpenter" if karpenter.NODEPOOL_LABEL in labels else "layout",
            "instance_type": labels.get(INSTANCE_TYPE_LABEL, ""),
            "gpus": int(parse_quantity(((node.status and node.status.allocatable) or {}).get(GPU_RESOURCE, "0"))),
            "ready": is_ready(node), "age_s": round(_age(created, now), 1) if created else 0.0}


def node_board(cluster: Cluster | None = None) -> pd.DataFrame:
    """One row per Node (:func:`node_row`) plus ``pods`` (Pods bound to it that have not finished).
    kubectl: ``kubectl get nodes -L whyk8s.io/pool -L karpenter.sh/nodepool -L
    node.kubernetes.io/instance-type``."""
    cluster = _cluster(cluster)
    now = datetime.now(timezone.utc)
    active: dict[str, int] = {}
    for pod in cluster.core.list_pod_for_all_namespaces(field_selector="status.phase!=Succeeded,"
                                                        "status.phase!=Failed").items:
        if pod.spec.node_name:
            active[pod.spec.node_name] = active.get(pod.spec.node_name, 0) + 1
    rows = []
    for n in cluster.core.list_node().items:
        row = node_row(n, now)
        if row is not None:
            rows.append({**row, "pods": active.get(n.metadata.name, 0)})
    return pd.DataFrame(rows, columns=["node", "pool", "made_by", "instance_type", "gpus", "ready", "age_s", "pods"])


class NodeTracker:
    """The Nodes a view shows and the changes it saw, kept up to date one watch event at a time (pure:
    no cluster; the node board :class:`whyk8s.notebook.widgets.NodeBoard` feeds it from a watch).

    ``nodes`` maps name → the V1Node last seen; ``changes`` lists ``{"at" (the datetime the change was
    seen), "node", "pool", "instance_type", "gpus", "made_by", "event" ("joined", "ready", "left")}``,
    oldest first, at most ``keep`` of them. :meth:`resync` takes a full list after a (re)list: Nodes
    that went away while the watch was down are recorded as ``left``, new ones as ``joined``, so an
    outage loses no arrival or departure, only its exact time."""

    def __init__(self, keep: int = 200) -> None:
        self.keep = keep
        self.nodes: dict[str, client.V1Node] = {}
        self.changes: list[dict] = []
        self._ready: set[str] = set()
        self._primed = False

    def _change(self, node: client.V1Node, event: str, at: datetime) -> None:
        row = node_row(node, at) or {}
        self.changes.append({"at": at, "node": node.metadata.name, "pool": row.get("pool", ""),
                             "instance_type": row.get("instance_type", ""), "gpus": row.get("gpus", 0),
                             "made_by": row.get("made_by", ""), "event": event})
        del self.changes[:-self.keep]

    def apply(self, kind: str, node: client.V1Node, at: datetime, record: bool = True) -> bool:
        """Take one watch event (``ADDED``/``MODIFIED``/``DELETED``) seen at ``at``; return True if what
        the board shows changed. Control-plane Nodes are ignored. ``record=False`` updates the Nodes
        without adding a change (the first list: Nodes already there did not join now)."""
        if "node-role.kubernetes.io/control-plane" in (node.metadata.labels or {}):
            return False
        name = node.metadata.name
        if kind == "DELETED":
            old = self.nodes.pop(name, None)
            self._ready.discard(name)
            if old is not None and record:
                self._change(old, "left", at)
            return old is not None
        new = name not in self.nodes
        self.nodes[name] = node
        if new and record:
            self._change(node, "joined", at)
        if name not in self._ready and is_ready(node):
            self._ready.add(name)
            if record and not new:
                self._change(node, "ready", at)
        elif name in self._ready and not is_ready(node):
            self._ready.discard(name)
        return True

    def resync(self, nodes: list, at: datetime) -> None:
        """Start again from a full list of V1Nodes (see the class docstring); the first call records
        no change."""
        record = self._primed
        self._primed = True
        names = {n.metadata.name for n in nodes}
        for name in [n for n in self.nodes if n not in names]:
            self.apply("DELETED", self.nodes[name], at, record)
        for n in nodes:
            self.apply("ADDED", n, at, record)

    def rows(self, now: datetime) -> list[dict]:
        """:func:`node_row` of every Node now, Karpenter's last, each group by name."""
        rows = [r for r in (node_row(n, now) for n in self.nodes.values()) if r is not None]
        return sorted(rows, key=lambda r: (r["made_by"] == "karpenter", r["node"]))


@dataclass
class NodeWatch:
    """Records Nodes joining, becoming Ready and leaving, from a watch on Nodes, while it runs (a
    background thread: ``with NodeWatch(cluster) as w: ...``, or :meth:`start` / :meth:`stop`).

    ``events``: a list of ``{"t_s" (seconds since the watch started), "node", "pool", "instance_type",
    "gpus" (allocatable), "taints" (as kubectl writes them, without the control plane's own),
    "karpenter" (made by a NodePool), "event" ("joined", "ready", "left")}``. :meth:`table` gives
    them as a DataFrame; :meth:`lifetimes` one row per Node of a NodePool seen during the watch;
    :func:`gpu_hours` the GPU-hours they add up to. The watch sees every Node already there as
    ``joined`` at ``t_s`` 0."""

    cluster: Cluster | None = None
    events: list = field(default_factory=list)
    _started: float = 0.0
    _thread: threading.Thread | None = None
    _watch: watch.Watch | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _ready: set = field(default_factory=set)
    _nodes: dict = field(default_factory=dict)

    def start(self) -> NodeWatch:
        self.cluster = _cluster(self.cluster)
        self._started = time.monotonic()
        listed = self.cluster.core.list_node()
        for n in listed.items:
            self._record(n, "ADDED")
        self._thread = threading.Thread(target=self._run, args=(listed.metadata.resource_version,), daemon=True)
        self._thread.start()
        return self

    def _record(self, node: client.V1Node, kind: str) -> None:
        labels = node.metadata.labels or {}
        if "node-role.kubernetes.io/control-plane" in labels:
            return
        name = node.metadata.name
        row = {"t_s": round(time.monotonic() - self._started, 2), "node": name, "pool": labels.get(POOL_LABEL, ""),
               "instance_type": labels.get(INSTANCE_TYPE_LABEL, ""),
               "gpus": int(parse_quantity((node.status.allocatable or {}).get(GPU_RESOURCE, "0")))
               if node.status else 0, "taints": taints_text(node, system=False),
               "karpenter": karpenter.NODEPOOL_LABEL in labels}
        if kind == "DELETED":
            if name in self._nodes:
                self.events.append({**row, "event": "left"})
                del self._nodes[name]
                self._ready.discard(name)
            return
        if name not in self._nodes:
            self._nodes[name] = row
            self.events.append({**row, "event": "joined"})
        if name not in self._ready and is_ready(node):
            self._ready.add(name)
            self.events.append({**row, "event": "ready"})

    def _run(self, resource_version: str) -> None:
        while not self._stop.is_set():
            self._watch = watch.Watch()
            try:
                for ev in self._watch.stream(self.cluster.core.list_node, resource_version=resource_version,
                                             timeout_seconds=30):
                    if self._stop.is_set():
                        break
                    resource_version = ev["object"].metadata.resource_version
                    self._record(ev["object"], ev["type"])
            except Exception:  # a dropped watch: list again, then go on
                if self._stop.is_set():
                    break
                listed = self.cluster.core.list_node()
                names = {n.metadata.name for n in listed.items}
                for name in list(self._nodes):
                    if name not in names:
                        self.events.append({**self._nodes[name], "t_s": round(time.monotonic() - self._started, 2),
                                            "event": "left"})
                        del self._nodes[name]
                for n in listed.items:
                    self._record(n, "ADDED")
                resource_version = listed.metadata.resource_version

    def stop(self) -> NodeWatch:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        if self._thread is not None:
            self._thread.join(timeout=35)
        return self

    def __enter__(self) -> NodeWatch:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def table(self) -> pd.DataFrame:
        """The events, one row each: ``t_s``, ``node``, ``pool``, ``instance_type``, ``gpus``, ``event``."""
        return pd.DataFrame(self.events, columns=["t_s", "node", "pool", "instance_type", "gpus", "event"])

    def lifetimes(self, until: float | None = None) -> pd.DataFrame:
        """One row per Karpenter-made Node seen: ``node``, ``instance_type``, ``gpus``, ``joined_s``,
        ``left_s`` (NaN while it still exists), ``lifetime_s`` (to ``left_s``, or to ``until`` seconds
        since the watch started, default now, whichever is earlier)."""
        end = (time.monotonic() - self._started) if until is None else until
        rows = {}
        for e in self.events:
            if not e.get("karpenter"):
                continue
            r = rows.setdefault(e["node"], {"node": e["node"], "instance_type": e["instance_type"], "gpus": e["gpus"],
                                            "joined_s": e["t_s"], "left_s": float("nan")})
            if e["event"] == "left":
                r["left_s"] = e["t_s"]
            r["gpus"] = max(r["gpus"], e["gpus"])
        out = pd.DataFrame(list(rows.values()), columns=["node", "instance_type", "gpus", "joined_s", "left_s"])
        out["lifetime_s"] = out["left_s"].fillna(end).clip(upper=end) - out["joined_s"]
        return out

    def elapsed(self) -> float:
        """Seconds since the watch started."""
        return time.monotonic() - self._started


def gpu_hours(lifetimes: pd.DataFrame) -> dict[str, float]:
    """From :meth:`NodeWatch.lifetimes`: ``{"node_hours", "gpu_hours", "cost"}``, the hours the pool's
    Nodes existed, those hours times each Node's GPUs, and their cost in dollars at the course's
    instance-type prices (:func:`whyk8s.cluster.karpenter.instance_type_table`; made-up round figures)."""
    hours = lifetimes["lifetime_s"] / 3600.0
    table = karpenter.instance_type_table()
    price = lifetimes["instance_type"].map(lambda t: table.get(t, {}).get("price_per_hour", 0.0))
    return {"node_hours": float(hours.sum()), "gpu_hours": float((hours * lifetimes["gpus"]).sum()),
            "cost": float((hours * price).sum())}


def peak_gpus(lifetimes: pd.DataFrame) -> int:
    """The most GPUs the pool's Nodes held at one time, from :meth:`NodeWatch.lifetimes` (a Node counts
    from ``joined_s`` to ``left_s``, or to the end while it still exists). 0 for no Node."""
    steps = []
    for r in lifetimes.itertuples():
        steps.append((r.joined_s, 1, int(r.gpus)))
        if r.left_s == r.left_s:  # not NaN
            steps.append((r.left_s, 0, -int(r.gpus)))
    most = now = 0
    for _t, _order, delta in sorted(steps):  # at a tie, a Node leaving counts before one joining
        now += delta
        most = max(most, now)
    return most


def compare_with_fixed_pool(lifetimes: pd.DataFrame, period_s: float) -> dict[str, float]:
    """The elastic pool of a run against a fixed pool of the same peak size kept for the same period.

    ``lifetimes`` is :meth:`NodeWatch.lifetimes` (computed up to the end of the period), ``period_s``
    the period in seconds. Returns ``{"period_h", "peak_gpus", "elastic_gpu_hours", "elastic_cost",
    "fixed_gpu_hours", "fixed_cost", "saved_share"}``: the elastic pool's GPU-hours and cost
    (:func:`gpu_hours`); the fixed pool's, i.e. ``peak_gpus`` GPUs for the whole period, priced as the
    cheapest course instance types that hold them (:func:`whyk8s.cluster.karpenter.instance_type_table`;
    made-up prices); and the share of the fixed pool's GPU-hours the elastic one did not use (0 to 1).
    Raises ValueError for a period that is not positive."""
    if not period_s > 0:
        raise ValueError(f"period_s={period_s!r}: the period must be positive.")
    period_h = period_s / 3600.0
    used = gpu_hours(lifetimes)
    peak = peak_gpus(lifetimes)
    fixed_gpu_hours = peak * period_h
    return {"period_h": period_h, "peak_gpus": peak, "elastic_gpu_hours": used["gpu_hours"],
            "elastic_cost": used["cost"], "fixed_gpu_hours": fixed_gpu_hours,
            "fixed_cost": _cheapest_per_hour(peak) * period_h,
            "saved_share": (1 - used["gpu_hours"] / fixed_gpu_hours) if fixed_gpu_hours else 0.0}


def cost_table(comparison: dict[str, float], bursts: int = 4, day_h: float = 24) -> pd.DataFrame:
    """The run of :func:`compare_with_fixed_pool` and the same burst stretched over a day, side by side
    on one base: each row gives the period, the elastic pool's and the fixed pool's GPU-hours, and the
    elastic pool's GPU-hours as a percentage of the fixed pool's over that period
    (``elastic_pct_of_fixed``, 0 to 100, two decimals). Row ``"this run"`` is the measured period;
    row ``"a day, <bursts> bursts"`` counts ``bursts`` such bursts (the run's GPU-hours each) against
    the fixed pool's peak size kept for ``day_h`` hours. Raises ValueError for ``bursts`` < 1 or a
    ``day_h`` that is not positive."""
    if bursts < 1 or not day_h > 0:
        raise ValueError(f"bursts={bursts!r}, day_h={day_h!r}: give at least one burst and a positive day.")
    run_elastic, run_fixed = comparison["elastic_gpu_hours"], comparison["fixed_gpu_hours"]
    day_elastic, day_fixed = bursts * run_elastic, comparison["peak_gpus"] * day_h

    def pct(part: float, whole: float) -> float:
        return round(100 * part / whole, 2) if whole else 0.0

    rows = [{"row": "this run", "period": f"{comparison['period_h'] * 3600:.0f} s",
             "elastic_gpu_hours": round(run_elastic, 4), "fixed_gpu_hours": round(run_fixed, 4),
             "elastic_pct_of_fixed": pct(run_elastic, run_fixed)},
            {"row": f"a day, {bursts} bursts", "period": f"{day_h:g} h",
             "elastic_gpu_hours": round(day_elastic, 4), "fixed_gpu_hours": round(day_fixed, 4),
             "elastic_pct_of_fixed": pct(day_elastic, day_fixed)}]
    return pd.DataFrame(rows).set_index("row")


def _cheapest_per_hour(gpus: int) -> float:
    """The lowest price per hour of course instance types that together hold ``gpus`` GPUs."""
    types = [(t["gpus"], t["price_per_hour"]) for t in karpenter.instance_type_table().values() if t["gpus"]]
    best = [0.0] + [float("inf")] * gpus
    for need in range(1, gpus + 1):
        best[need] = min(best[max(0, need - g)] + price for g, price in types)
    return best[gpus]


# -- Karpenter for a chapter ---------------------------------------------------------------------------

def ensure_karpenter(cluster: Cluster | None = None, log=print) -> bool:
    """Start Karpenter (:func:`whyk8s.cluster.karpenter.start`) unless it runs; return True if this call
    started it (so the caller knows to stop it), False if it was running. ``log`` gets one sentence
    before the wait. Raises :class:`~whyk8s.errors.CourseError` off the course's kwok cluster."""
    cluster = _cluster(cluster)
    if karpenter.status(cluster).running:
        return False
    log(f"Starting Karpenter {karpenter.karpenter_version()} with its kwok provider against the course cluster "
        f"(a few seconds; a first run on this machine builds it first, several minutes) ...")
    karpenter.start(cluster, log=lambda *_: None)
    return True


def stop_karpenter(cluster: Cluster | None = None) -> None:
    """Stop Karpenter and remove what it installed and made: :func:`whyk8s.cluster.karpenter.stop`
    (``whyk8s karpenter down``)."""
    karpenter.stop(_cluster(cluster), log=lambda *_: None)


def wait_for_pool_empty(cluster: Cluster | None = None, timeout: float = 150) -> float:
    """Wait, on a watch of the course's Karpenter-made Nodes, until there is none; return the seconds
    waited. Raises :class:`~whyk8s.errors.WaitTimeoutError` naming the Nodes left after ``timeout``."""
    cluster = _cluster(cluster)
    started = time.monotonic()
    left = wait_until_gone(cluster.core.list_node, deadline=started + timeout,
                           label_selector=f"{karpenter.NODEPOOL_LABEL},{_SELECTOR}")
    if left:
        raise WaitTimeoutError(f"Karpenter had not removed the pool's Nodes after {timeout:.0f} s: "
                               f"{', '.join(sorted(left))}")
    return time.monotonic() - started


def wait_for_jobs(cluster: Cluster | None = None, names: list[str] = (), timeout: float = 120) -> dict[str, str]:
    """Wait, on a watch of the Jobs in ``cluster.namespace``, until every Job in ``names`` has succeeded;
    return each Job's name → the Node its Pod ran on. kubectl: ``kubectl wait --for=condition=Complete
    job/<name>``. Raises :class:`~whyk8s.errors.WaitTimeoutError` naming the Jobs not done after
    ``timeout`` seconds (a Job that failed is one of them)."""
    cluster = _cluster(cluster)
    wanted = set(names)

    def done(jobs: dict) -> bool:
        return all(n in jobs and (jobs[n].status.succeeded or 0) >= 1 for n in wanted)

    jobs = watch_until(cluster.batch.list_namespaced_job, cluster.namespace, done=done, timeout=timeout,
                       label_selector=_SELECTOR)
    if not done(jobs):
        late = sorted(n for n in wanted if n not in jobs or not (jobs[n].status.succeeded or 0))
        raise WaitTimeoutError(f"These Jobs had not completed after {timeout:.0f} s: {', '.join(late)}")
    ran_on = {}
    for pod in cluster.core.list_namespaced_pod(cluster.namespace, label_selector="job-name").items:
        job = (pod.metadata.labels or {}).get("job-name")
        if job in wanted and pod.status.phase == "Succeeded":
            ran_on[job] = pod.spec.node_name or ""
    return ran_on


def packing(lifetimes: pd.DataFrame, ran_on: dict[str, str]) -> pd.DataFrame:
    """Which Karpenter Node held which Jobs: one row per Node of ``lifetimes`` (:meth:`NodeWatch.lifetimes`)
    with ``instance_type``, ``gpus``, ``price_per_hour`` (the course's made-up list price) and ``jobs``
    (the Jobs of ``ran_on``, :func:`wait_for_jobs`, that ran there, sorted)."""
    table = karpenter.instance_type_table()
    rows = [{"instance_type": r.instance_type, "gpus": int(r.gpus),
             "price_per_hour": table.get(r.instance_type, {}).get("price_per_hour", 0.0),
             "jobs": ", ".join(sorted(j for j, n in ran_on.items() if n == r.node))}
            for r in lifetimes.itertuples()]
    return pd.DataFrame(rows, columns=["instance_type", "gpus", "price_per_hour", "jobs"])
