"""Nodes fail: cordon, drain and delete a worker, and watch the Deployment's pods move.

- :func:`cordon` / :func:`uncordon` set ``spec.unschedulable`` on a Node (``kubectl cordon``).
- :func:`drain` cordons, then evicts the course pods on the node through the **Eviction API**
  (``POST .../pods/<name>/eviction``, which honours PodDisruptionBudgets), as ``kubectl drain`` does.
- :func:`fail_node` deletes the Node object: the simulated equivalent of a machine vanishing. The
  pods bound to it are then orphans; kube-controller-manager's pod garbage collector deletes them
  (it runs every 20 s; the first pass that finds them puts the node in a 40 s quarantine, to be
  sure it is really gone, and a later pass deletes them: 40 s to about 80 s in all; v1.36
  ``pkg/controller/podgc``), and each ReplicaSet creates replacements that the scheduler places on
  the remaining nodes. Measured on the course's kwok cluster: 41 to 77 s from deletion to
  replacements scheduled. That quarantine belongs to the node's *name*: one begun for pods bound to
  the name before the node was re-created still runs out on its own clock, and if the node is gone
  again by then its pods are deleted at once. So :func:`fail_node` (and :func:`jobs_on_lost_node`)
  first wait until no such quarantine can be left (:func:`quarantine_left`), and the times they
  report are always the full mechanism's.
  Job pods lost this way are marked Failed with the condition ``DisruptionTarget`` (reason
  ``DeletionByPodGC``) before they are deleted: they count as failed for their Job (which fails when
  ``backoffLimit`` is 0) unless its ``podFailurePolicy`` ignores that condition
  (:func:`training_job_with_failure_policy`, :func:`jobs_on_lost_node`; measured on kwok).
- :func:`restore` re-creates missing workers (kwok only), uncordons the rest and re-advertises the
  GPUs (:func:`whyk8s.cluster.workers.restore_nodes`), then waits until all four workers are Ready.

Only layout workers (``clusters/layout.yaml``) may be cordoned, drained or failed: the control plane
and unknown nodes are refused with one sentence. Every function takes a guarded
:class:`~whyk8s.k8s.guard.Cluster` (or None: connect to the course cluster), so it acts only on a course
cluster. The node-failure demonstration is made for kwok, where the Node object *is* the machine;
on kind a real kubelet runs behind each Node, and :func:`restore` never fakes one. Sources: kubernetes.io "Safely Drain a Node", "API-initiated Eviction",
"Pod garbage collection" (Pods), and kube-controller-manager's podgc controller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import pandas as pd
from kubernetes import client

from whyk8s.cluster.layout import load_layout
from whyk8s.cluster.workers import restore_nodes, stop_node
from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s import pods as podfacts
from whyk8s.k8s.guard import Cluster, connect
from whyk8s.k8s.informer import object_key
from whyk8s.k8s.nodes import CONTROL_PLANE_LABEL
from whyk8s.k8s.rights import Access, InstructorDemonstration, can, require
from whyk8s.k8s.waits import wait_for_nodes, wait_until_gone, watch_until

__all__ = ["NodeRefused", "check_worker", "quarantine_left", "POD_GC_QUARANTINE", "POD_GC_PERIOD", "cordon", "uncordon", "drain", "fail_node", "restore",
           "NodeFailure", "DrainResult", "training_job_with_failure_policy", "JobsOnLostNode",
           "jobs_on_lost_node", "job_outcome"]

class NodeRefused(CourseError):
    """The node may not be cordoned, drained or failed (control plane, unknown, or standalone pods)."""


def _cluster(cluster: Cluster | None) -> Cluster:
    return cluster if cluster is not None else connect()


#: The rights the node demonstrations need (a workshop participant has none of them; the course
#: cluster's own kubeconfig has all): :func:`whyk8s.k8s.rights.require` asks before any change.
PATCH_NODES = Access("patch", "nodes")
DELETE_NODES = Access("delete", "nodes")
CREATE_NODES = Access("create", "nodes")
#: Reading the pods of every namespace (which pods a node holds).
LIST_ALL_PODS = Access("list", "pods")


POD_GC_QUARANTINE = 40.0
"""Seconds kube-controller-manager's pod garbage collector quarantines the name of a node that pods
are bound to but that does not exist (``quarantineTime``, v1.36 ``pkg/controller/podgc/gc_controller.go``)."""
POD_GC_PERIOD = 20.0
"""Seconds between the pod garbage collector's passes (``gcCheckPeriod``, same file)."""
_MARGIN = 3.0  # a pass's own duration and the controller's cache lag, in seconds


def quarantine_left(created: datetime, now: datetime) -> float:
    """Seconds until no pod-GC quarantine begun before a node was (re-)created at ``created`` can still
    be pending, as seen at ``now`` (both timezone-aware); 0.0 when none can be.

    The collector keys its quarantine by node *name*: a pass that found pods bound to the name while
    no node had it queued the name for ``POD_GC_QUARANTINE`` s; the first pass after that checks
    whether a node of that name exists. The last pass that could queue it ran before ``created``, so
    the entry is gone ``POD_GC_QUARANTINE + POD_GC_PERIOD`` s (plus a small margin) after
    ``created``; a node deleted before then may lose its pods sooner than the full 40 to 80 s.
    Raises TypeError for naive datetimes."""
    if created.tzinfo is None or now.tzinfo is None:
        raise TypeError("quarantine_left needs timezone-aware datetimes")
    end = created.timestamp() + POD_GC_QUARANTINE + POD_GC_PERIOD + _MARGIN
    return round(max(0.0, end - now.timestamp()), 1)


def _wait_out_quarantine(cluster: Cluster, node: str) -> float:
    """Sleep until no quarantine of ``node``'s name begun before the Node was created can be pending
    (:func:`quarantine_left`); return the seconds slept. A wait on a timer inside
    kube-controller-manager that the API does not show, so there is nothing to watch."""
    try:
        created = cluster.core.read_node(node).metadata.creation_timestamp
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        return 0.0
    left = quarantine_left(created, datetime.now(timezone.utc)) if created else 0.0
    if left:
        time.sleep(left)
    return left


def check_worker(cluster: Cluster | None, node: str) -> str:
    """Return ``node`` if it is a worker of the course layout that exists now, else raise
    :class:`NodeRefused` with one sentence (control plane, unknown name, or already gone)."""
    cluster = _cluster(cluster)
    layout = load_layout()
    workers = [w.name for w in layout.workers]
    if not isinstance(node, str) or not node.strip():
        raise NodeRefused(f"Give a node name, one of: {', '.join(workers)}.")
    if node == layout.control_plane or "control-plane" in node:
        raise NodeRefused(f"Refusing to touch {node}: it is the control plane, which runs the API "
                          f"server and scheduler; pick a worker: {', '.join(workers)}.")
    try:
        obj = cluster.core.read_node(node)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        obj = None
    if obj is not None and CONTROL_PLANE_LABEL in (obj.metadata.labels or {}):
        raise NodeRefused(f"Refusing to touch {node}: it is a control-plane node; pick a worker: "
                          f"{', '.join(workers)}.")
    if node not in workers:
        raise NodeRefused(f"Refusing to touch {node!r}: it is not a worker of the course cluster; "
                          f"the workers are {', '.join(workers)}.")
    if obj is None:
        raise NodeRefused(f"Node {node} does not exist right now (failed earlier?); run "
                          f"failures.restore() to bring the workers back.")
    return node


def cordon(cluster: Cluster | None, node: str) -> None:
    """Mark worker ``node`` unschedulable (``spec.unschedulable=true``): running pods stay, new pods
    no longer land there. Raises :class:`NodeRefused` for the control plane or an unknown node,
    :class:`~whyk8s.k8s.rights.InstructorDemonstration` without the right to patch nodes (a workshop
    participant)."""
    cluster = _cluster(cluster)
    check_worker(cluster, node)  # the layout's own refusal (control plane, unknown name) comes first
    require(cluster, "Cordoning a node", PATCH_NODES)
    cluster.core.patch_node(node, {"spec": {"unschedulable": True}})


def uncordon(cluster: Cluster | None, node: str) -> None:
    """Make worker ``node`` schedulable again. Raises :class:`NodeRefused` and
    :class:`~whyk8s.k8s.rights.InstructorDemonstration` as :func:`cordon`."""
    cluster = _cluster(cluster)
    check_worker(cluster, node)  # the layout's own refusal (control plane, unknown name) comes first
    require(cluster, "Uncordoning a node", PATCH_NODES)
    cluster.core.patch_node(node, {"spec": {"unschedulable": False}})


def _course_pods_on(cluster: Cluster, node: str) -> list[client.V1Pod]:
    return [p for p in cluster.core.list_pod_for_all_namespaces(
        label_selector=cluster.selector, field_selector=f"spec.nodeName={node}").items
        if not p.metadata.deletion_timestamp]


@dataclass
class DrainResult:
    """What :func:`drain` did: ``node``, ``evicted`` (``namespace/pod`` names, every namespace),
    ``seconds`` it took, ``namespace`` (the caller's: the summary counts its pods apart from others')."""

    node: str
    evicted: list[str]
    seconds: float
    namespace: str | None = None

    def __str__(self) -> str:
        mine = [e for e in self.evicted if self.namespace is None or e.split("/", 1)[0] == self.namespace]
        others = [e for e in self.evicted if e not in mine]
        text = f"Drained {self.node}: cordoned, {len(mine)} course pod(s) evicted through the Eviction API"
        if others:
            spaces = sorted({e.split("/", 1)[0] for e in others})
            text += (f" in namespace {self.namespace}, and {len(others)} of other namespaces "
                     f"({', '.join(spaces)}), which their controllers re-create on other nodes")
        return text + "."

    __repr__ = __str__


def blocking_pods(cluster: Cluster | None, node: str) -> list[str]:
    """``namespace/pod`` of the course pods on ``node`` that no controller owns (bare pods, e.g. a
    workshop participant's chapter 3 pod): :func:`drain` refuses them without ``force``, as
    ``kubectl drain`` does, because nothing would re-create them. Lists pods in every namespace."""
    cluster = _cluster(cluster)
    return sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in _course_pods_on(cluster, node)
                  if podfacts.controller_of(p) is None)


def drain(cluster: Cluster | None, node: str, force: bool = False, timeout: float = 60) -> DrainResult:
    """Cordon worker ``node``, evict every course pod on it with the Eviction API, and wait (watching)
    until they are gone. Like ``kubectl drain``, refuses pods that no controller (ReplicaSet, Job)
    owns, since nothing would re-create them, unless ``force``; the check comes first, so a refusal
    changes nothing. Evictions refused with 429 (a PodDisruptionBudget) are retried every 2 s until
    ``timeout`` seconds. Pods without the course label are left alone. Like ``kubectl drain``, it
    evicts the course pods of *every* namespace on the node (in a workshop: participants' pods too;
    their controllers re-create them on other nodes, and the result counts them apart); with
    ``force`` the bare pods are deleted for good, whoever's they are.

    Raises :class:`NodeRefused` (control plane, unknown node, standalone pods without ``force``: the
    sentence names them ``namespace/pod``, says whose they are and which workers have none),
    TimeoutError if pods are still there after ``timeout`` s, ApiException for other refusals.
    """
    cluster = _cluster(cluster)
    check_worker(cluster, node)  # the layout's own refusal (control plane, unknown name) comes first
    require(cluster, "Draining a node", PATCH_NODES, LIST_ALL_PODS)
    start = time.monotonic()
    pods = _course_pods_on(cluster, node)
    bare = sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in pods if podfacts.controller_of(p) is None)
    if bare and not force:
        raise NodeRefused(_drain_refusal(cluster, node, bare))
    cordon(cluster, node)
    deadline = start + timeout
    evicted = []
    for p in pods:
        ns, name = p.metadata.namespace, p.metadata.name
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=ns))
        while True:
            try:
                cluster.core.create_namespaced_pod_eviction(name, ns, body)
                evicted.append(f"{ns}/{name}")
                break
            except client.ApiException as exc:
                if exc.status == 404:
                    break
                if exc.status == 429 and time.monotonic() < deadline:
                    time.sleep(2)
                    continue
                raise
    _wait_gone(cluster, node, {e.split("/", 1)[1] for e in evicted}, deadline)
    return DrainResult(node, evicted, round(time.monotonic() - start, 1), namespace=cluster.namespace)


def _drain_refusal(cluster: Cluster, node: str, bare: list[str]) -> str:
    """The sentence for a drain refused by bare pods: whose they are and the caller's choices."""
    others = sorted({b.split("/", 1)[0] for b in bare} - {cluster.namespace})
    free = []
    for w in load_layout().workers:
        if w.name == node:
            continue
        try:
            if not blocking_pods(cluster, w.name) and cluster.core.read_node(w.name):
                free.append(w.name)
        except client.ApiException:
            continue
    text = (f"Not draining {node}: pod(s) {', '.join(bare)} have no controller, so nothing would re-create "
            f"them (kubectl drain refuses them too).")
    if others:
        text += (f" They belong to namespace(s) {', '.join(others)}: in a workshop, participants' own pods "
                 f"(e.g. chapter 3's bare pod); ask them to delete theirs, or drain another worker")
    else:
        text += " Delete them first, or drain another worker"
    text += (f" ({', '.join(free)} has none)" if len(free) == 1 else
             f" ({', '.join(free)} have none)" if free else " (every other worker has such pods too)")
    text += (". force=True (as `kubectl drain --force`) deletes them for good"
             + (", the participants' pods included." if others else "."))
    return text


def _wait_gone(cluster: Cluster, node: str, names: set[str], deadline: float) -> None:
    """Watch the course pods bound to ``node`` until none of ``names`` is left."""
    left = wait_until_gone(cluster.core.list_pod_for_all_namespaces, label_selector=cluster.selector,
                           field_selector=f"spec.nodeName={node}", deadline=deadline) & names
    if left:
        raise WaitTimeoutError(f"Pods still on {node} after the drain's time limit: {', '.join(sorted(left))}.")


@dataclass
class NodeFailure:
    """What :func:`fail_node` observed.

    ``node``: the deleted worker; ``lost``: course pods that were bound to it; ``replacements``: new
    pod name → node for pods their ReplicaSets created instead; ``gone_after`` / ``replaced_after``:
    seconds from the Node's deletion until the last lost pod was deleted / the last replacement was
    scheduled (None if not seen within the time limit); ``complete``: everything expected happened;
    ``timeline``: ``[{"t", "object", "what", "detail"}]`` for :mod:`whyk8s.notebook.recordings`;
    ``waited``: seconds waited *before* the deletion, so that no quarantine of the node's name begun
    before it was last re-created could shorten the run (:func:`quarantine_left`); ``others``: course
    pods of other namespaces that were on the node (not in ``lost``, not followed).
    """

    node: str
    lost: list[str]
    replacements: dict[str, str] = field(default_factory=dict)
    gone_after: float | None = None
    replaced_after: float | None = None
    complete: bool = False
    timeline: list[dict] = field(default_factory=list)
    waited: float = 0.0
    others: int = 0

    def table(self) -> pd.DataFrame:
        """Replacements as a table: columns ``pod`` and ``node``."""
        return pd.DataFrame(sorted(self.replacements.items()), columns=["pod", "node"])

    def __str__(self) -> str:
        first = (f"Waited {self.waited:.0f} s first: {self.node} had been re-created less than "
                 f"{POD_GC_QUARANTINE + POD_GC_PERIOD:.0f} s before, and the pod garbage collector's quarantine of "
                 f"its name from before that could still have been running. " if self.waited else "")
        also = (f" {self.others} course pod(s) of other namespaces were on it too (not counted here; "
                f"their controllers, if any, replace them)." if self.others else "")
        if not self.lost:
            return first + f"Node {self.node} deleted; no course pod of your namespace was running there." + also
        text = first + f"Node {self.node} deleted with {len(self.lost)} course pod(s) of your namespace on it."
        if self.gone_after is not None:
            text += f" The pod garbage collector removed them after {self.gone_after:.0f} s."
        if self.replaced_after is not None:
            nodes = sorted(set(self.replacements.values()))
            text += (f" {len(self.replacements)} replacement(s) were scheduled to {', '.join(nodes)} "
                     f"after {self.replaced_after:.0f} s.")
        if not self.complete:
            text += " Not everything happened within the time limit: look again with placement.where()."
        return text + also

    __repr__ = __str__


def fail_node(cluster: Cluster | None, node: str, wait: bool = True, timeout: float = 180,
              announce: str | None = None) -> NodeFailure:
    """Delete worker ``node``'s Node object (a machine vanishing) and, with ``wait``, watch until the
    course pods bound to it are gone and their ReplicaSets' replacements are scheduled elsewhere
    (at most ``timeout`` seconds; on kwok this took 41 to 77 s in our runs, set by the pod garbage
    collector's 40 s quarantine and its 20 s passes). If the node was re-created less than about 63 s
    ago, it first waits that out (:func:`quarantine_left`; ``waited`` in the result), so that a
    quarantine of the same name begun earlier cannot make the run look faster. Returns a :class:`NodeFailure` with times in seconds; its
    ``timeline`` uses the steps of :data:`whyk8s.lessons.events.STEPS` (Deleted, Created, Scheduled).

    ``lost``, ``replacements`` and the times are about the caller's namespace (``cluster.namespace``);
    ``others`` counts the course pods of other namespaces (in a workshop, participants') that were on
    the node too: the node's deletion removes them as well. ``announce`` is printed once the node and
    the rights are checked, just before the wait (a cell's "expect nothing for a minute" line).

    Raises :class:`NodeRefused` for the control plane, an unknown or already deleted node (before the
    rights check, so a workshop participant sees that reason too). Bring the
    node back with :func:`restore`. kubectl: ``kubectl delete node <name>``.
    """
    cluster = _cluster(cluster)
    check_worker(cluster, node)
    require(cluster, "Failing a node", DELETE_NODES, LIST_ALL_PODS)
    if announce:
        print(announce, flush=True)
    waited = _wait_out_quarantine(cluster, node)
    everyone = _course_pods_on(cluster, node)
    before = [p for p in everyone if p.metadata.namespace == cluster.namespace]
    others = len(everyone) - len(before)
    lost = sorted(p.metadata.name for p in before)
    owners = {podfacts.controller_of(p).uid for p in before
              if podfacts.controller_of(p) is not None and podfacts.controller_of(p).kind == "ReplicaSet"}
    n_replaced = sum(1 for p in before if podfacts.controller_of(p) is not None
                     and podfacts.controller_of(p).uid in owners)
    known = {object_key(p) for p in cluster.core.list_pod_for_all_namespaces(label_selector=cluster.selector).items}
    cluster.core.delete_node(node)
    start = time.monotonic()
    result = NodeFailure(node=node, lost=lost, waited=waited, others=others)
    result.timeline.append({"t": 0.0, "object": f"node/{node}", "what": "Deleted",
                            "detail": f"Node {node} was deleted: the machine is gone."})
    if not wait:
        return result
    left = set(lost)
    new_pods: dict[str, str | None] = {}

    def done(_objs=None) -> bool:
        return not left and sum(1 for n in new_pods.values() if n) >= n_replaced

    def seen(kind: str, p) -> None:
        name, t = p.metadata.name, round(time.monotonic() - start, 1)
        if kind == "DELETED" and name in left:
            left.discard(name)
            result.timeline.append({"t": t, "object": f"pod/{name}", "what": "Deleted",
                                    "detail": f"Pod {name} (was on {node}) removed by the pod garbage collector."})
            if not left:
                result.gone_after = t
        elif kind != "DELETED" and object_key(p) not in known and podfacts.controller_of(p) is not None \
                and podfacts.controller_of(p).uid in owners:
            if name not in new_pods:
                new_pods[name] = None
                result.timeline.append({"t": t, "object": f"pod/{name}", "what": "Created",
                                        "detail": f"Pod {name} was created by its ReplicaSet."})
            if p.spec.node_name and not new_pods[name]:
                new_pods[name] = p.spec.node_name
                result.timeline.append({"t": t, "object": f"pod/{name}", "what": "Scheduled",
                                        "detail": f"Pod {name} was bound to node {p.spec.node_name}."})

    watch_until(cluster.core.list_pod_for_all_namespaces, label_selector=cluster.selector, key=object_key,
                done=done, on_change=seen, deadline=start + timeout)
    result.replacements = {k: v for k, v in new_pods.items() if v}
    if result.replacements and len(result.replacements) >= n_replaced:
        result.replaced_after = max(e["t"] for e in result.timeline if e["what"] == "Scheduled")
    result.complete = done()
    return result


@dataclass
class NodeLoss:
    """What :func:`lose_node` observed, times in seconds since the node's container was stopped:
    ``not_ready_after`` (the Node's Ready condition left True), ``tainted_after`` (the node lifecycle
    controller's ``node.kubernetes.io/unreachable`` NoExecute taint), ``evicted_after`` (the last lost
    pod got a deletion timestamp: its toleration of that taint ran out), ``replaced_after`` (the last
    replacement was Running elsewhere); None where not seen in time. ``lost``: course pods that were on
    the node; ``replacements``: new pod → node; ``timeline`` as :class:`NodeFailure`'s."""

    node: str
    lost: list[str]
    not_ready_after: float | None = None
    tainted_after: float | None = None
    evicted_after: float | None = None
    replaced_after: float | None = None
    replacements: dict[str, str] = field(default_factory=dict)
    timeline: list[dict] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.replaced_after is not None

    def __str__(self) -> str:
        def at(t):
            return "not within the time limit" if t is None else f"after {t:.0f} s"
        return (f"Node {self.node}'s container stopped with {len(self.lost)} course pod(s) on it. NotReady "
                f"{at(self.not_ready_after)}; tainted unreachable {at(self.tainted_after)}; its pods evicted "
                f"{at(self.evicted_after)}; {len(self.replacements)} replacement(s) Running "
                f"{at(self.replaced_after)} on {', '.join(sorted(set(self.replacements.values()))) or '-'}.")

    __repr__ = __str__


UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"


def tolerating_deployment(name: str = "web", replicas: int = 4, seconds: int = 10, pool: str = "cpu"):
    """A course Deployment on the ``pool`` workers whose pods tolerate a node being unreachable for only
    ``seconds`` (Kubernetes adds 300 s unless a pod says otherwise), so that their eviction from a node
    that went dark is seen within a lesson, and spread evenly over the pool's workers. The YAML it adds
    to the pod template::

        tolerations:
        - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 10}
        topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
           nodeTaintsPolicy: Honor, labelSelector: {matchLabels: {app: web}}}
    """
    from whyk8s.k8s import specs
    dep = specs.deployment(name, replicas=replicas, pool=pool)
    dep.spec.template.spec.tolerations = [client.V1Toleration(
        key=UNREACHABLE_TAINT, operator="Exists", effect="NoExecute", toleration_seconds=seconds)]
    # as many pods on each worker of the pool (at most one more on any), counting only nodes whose
    # taints the pods tolerate: so a node that went dark is no place for the replacements
    dep.spec.template.spec.topology_spread_constraints = [client.V1TopologySpreadConstraint(
        max_skew=1, topology_key="kubernetes.io/hostname", when_unsatisfiable="DoNotSchedule",
        node_taints_policy="Honor", label_selector=client.V1LabelSelector(match_labels={"app": name}))]
    return dep


def lose_node(cluster: Cluster | None, node: str, timeout: float = 240, label_selector: str | None = None,
              log: Callable = print) -> NodeLoss:
    """kind only: stop worker ``node``'s container (the machine loses power; its Node object stays) and
    watch what the control plane does: the Node goes NotReady when its kubelet's heartbeats stop, the
    node lifecycle controller taints it ``node.kubernetes.io/unreachable:NoExecute``, each pod there is
    evicted once its toleration of that taint runs out (300 s unless the pod says otherwise:
    ``tolerationSeconds``), and its ReplicaSet's replacement runs elsewhere. Bring the node back with
    :func:`restore`. Raises CourseError on kwok (no container to stop; use :func:`fail_node`).
    ``label_selector`` (e.g. ``"app=web"``) limits the pods followed to those of one workload (other
    course pods on the node may tolerate the taint for longer, or have no owner to replace them);
    ``log`` gets one line before the wait. kubectl: ``docker stop <node>``, then ``kubectl get nodes
    -w`` and ``kubectl get pods -o wide -w``."""
    cluster = _cluster(cluster)
    check_worker(cluster, node)  # the layout's own refusal (control plane, unknown name) comes first
    require(cluster, "Losing a node", PATCH_NODES, LIST_ALL_PODS)
    before = _course_pods_on(cluster, node)
    if label_selector:
        wanted = {p.metadata.uid for p in cluster.core.list_pod_for_all_namespaces(
            label_selector=f"{cluster.selector},{label_selector}").items}
        before = [p for p in before if p.metadata.uid in wanted]
    result = NodeLoss(node=node, lost=sorted(p.metadata.name for p in before))
    owners = {podfacts.controller_of(p).uid for p in before if podfacts.controller_of(p) is not None}
    replaceable = sum(podfacts.controller_of(p) is not None for p in before)
    known = {p.metadata.uid for p in cluster.core.list_pod_for_all_namespaces(label_selector=cluster.selector).items}
    stop_node(cluster, node, log=lambda *_: None)
    log(f"Stopped the container of node {node} ({len(before)} pod(s) to follow). Waiting: NotReady after "
        f"about 40-50 s, then the unreachable taint, the evictions and the replacements (up to {timeout:.0f} s).")
    start = time.monotonic()
    result.timeline.append({"t": 0.0, "object": f"node/{node}", "what": "Failed",
                            "detail": f"The container of node {node} was stopped (docker stop): the machine is dark."})

    def node_seen(kind: str, n) -> None:
        t = round(time.monotonic() - start, 1)
        ready = next((c.status for c in n.status.conditions or [] if c.type == "Ready"), None)
        if result.not_ready_after is None and ready != "True":
            result.not_ready_after = t
            result.timeline.append({"t": t, "object": f"node/{node}", "what": "NodeNotReady",
                                    "detail": f"Node {node}'s Ready condition is {ready}: its kubelet stopped posting status."})
        if result.tainted_after is None and any(tt.key == UNREACHABLE_TAINT for tt in n.spec.taints or []):
            result.tainted_after = t

    watch_until(cluster.core.list_node, field_selector=f"metadata.name={node}", on_change=node_seen,
                done=lambda _objs: result.not_ready_after is not None and result.tainted_after is not None,
                deadline=start + timeout)
    evicted: set[str] = set()

    def pod_seen(kind: str, p) -> None:
        t = round(time.monotonic() - start, 1)
        name = p.metadata.name
        if name in result.lost and p.metadata.deletion_timestamp and name not in evicted:
            evicted.add(name)
            result.timeline.append({"t": t, "object": f"pod/{name}", "what": "Evicted",
                                    "detail": f"Pod {name} evicted from {node} (its toleration of the taint ran out)."})
            if evicted >= set(result.lost):
                result.evicted_after = t
        elif (kind != "DELETED" and p.metadata.uid not in known and podfacts.controller_of(p) is not None
              and podfacts.controller_of(p).uid in owners and p.status.phase == "Running"
              and name not in result.replacements):
            result.replacements[name] = p.spec.node_name
            result.timeline.append({"t": t, "object": f"pod/{name}", "what": "Running",
                                    "detail": f"Replacement {name} Running on {p.spec.node_name}."})
            if len(result.replacements) >= replaceable:
                result.replaced_after = t

    watch_until(cluster.core.list_pod_for_all_namespaces, label_selector=cluster.selector, key=object_key,
                on_change=pod_seen, done=lambda _objs: result.replaced_after is not None or not result.lost,
                deadline=start + timeout)
    return result


def lose_a_worker(cluster: Cluster | None, name: str = "web", replicas: int = 4, seconds: int = 10,
                  timeout: float = 240) -> NodeLoss:
    """The chapter's demonstration, kind only: create :func:`tolerating_deployment` (``replicas`` pods on
    the CPU workers, tolerating an unreachable node for ``seconds``), wait until they run, stop the
    container of the worker holding most of them (:func:`lose_node`), then start it again
    (:func:`restore`). Returns the :class:`NodeLoss`. Raises CourseError on kwok, WaitTimeoutError when
    the pods do not run within 90 s."""
    from whyk8s.k8s import objects
    from whyk8s.k8s.waits import wait_for_pods
    cluster = _cluster(cluster)
    require(cluster, "Losing a worker", PATCH_NODES, LIST_ALL_PODS)
    objects.create(cluster, tolerating_deployment(name, replicas=replicas, seconds=seconds))
    pods = wait_for_pods(cluster, lambda ps: sum(p.status.phase == "Running" for p in ps.values()) == replicas,
                         label_selector=f"app={name}", timeout=90)
    on = [p.spec.node_name for p in pods.values()]
    loss = lose_node(cluster, max(sorted(set(on)), key=on.count), timeout=timeout, label_selector=f"app={name}")
    restore(cluster)
    return loss


def training_job_with_failure_policy(name: str, *, ignore_disruptions: bool = True, cpu="500m",
                                     memory="1Gi", node_name: str | None = None) -> client.V1Job:
    """A course-labelled training Job (``backoffLimit: 0``: one counted failure fails the Job) on the
    CPU pool. With ``ignore_disruptions`` its ``podFailurePolicy`` says::

        podFailurePolicy:
          rules:
          - action: Ignore
            onPodConditions:
            - type: DisruptionTarget

    so a pod that failed *because it was disrupted* (preempted, evicted, or deleted by the pod garbage
    collector because its node is gone: the control plane adds the condition ``DisruptionTarget`` to
    such a pod) is not counted against ``backoffLimit``: the Job controller creates a replacement
    instead. ``node_name`` binds the pod to that node directly, skipping the scheduler (only the
    course's kwok demonstration of :func:`jobs_on_lost_node` needs that). ``cpu``, ``memory``:
    quantities (cores, bytes). Raises ValueError for a bad name or quantity.
    Source: kubernetes.io, "Jobs", section "Pod failure policy"."""
    from whyk8s.k8s import specs
    job = specs.job(name, cpu=cpu, memory=memory, pool=None if node_name else "cpu")
    if node_name:
        job.spec.template.spec.node_name = node_name
    if ignore_disruptions:
        job.spec.pod_failure_policy = client.V1PodFailurePolicy(rules=[client.V1PodFailurePolicyRule(
            action="Ignore", on_pod_conditions=[client.V1PodFailurePolicyOnPodConditionsPattern(
                type="DisruptionTarget", status="True")])])
    return job


def job_outcome(job: client.V1Job) -> str:
    """A Job's state in kubectl's words: ``"Complete"``, ``"Failed (BackoffLimitExceeded)"`` (the
    reason of its terminal condition), or ``"Running"`` while it has neither."""
    for c in (job.status.conditions if job.status else None) or []:
        if c.status == "True" and c.type in ("Complete", "Failed"):
            return c.type + (f" ({c.reason})" if c.type == "Failed" and c.reason else "")
    return "Running"


@dataclass
class JobsOnLostNode:
    """What :func:`jobs_on_lost_node` observed. ``node``; ``conditions``: the conditions the pod
    garbage collector gave the first lost pod, ``[{"type", "status", "reason", "message"}]``;
    ``phase``: that pod's phase then; ``after``: seconds from the Jobs' creation until it was marked;
    ``jobs``: Job name → :func:`job_outcome` when the watch ended; ``failed_counted``: Job name →
    ``status.failed``; ``replacements``: Job name → pods it created in all."""

    node: str
    conditions: list[dict] = field(default_factory=list)
    phase: str | None = None
    after: float | None = None
    jobs: dict[str, str] = field(default_factory=dict)
    failed_counted: dict[str, int] = field(default_factory=dict)
    replacements: dict[str, int] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per Job: ``job``, ``podFailurePolicy`` (``"Ignore DisruptionTarget"`` or ``"-"``),
        ``pods created``, ``failures counted``, ``state``."""
        return pd.DataFrame([{"job": j, "podFailurePolicy": "Ignore DisruptionTarget" if j.endswith("tolerant")
                              else "-", "pods created": self.replacements.get(j, 0),
                              "failures counted": self.failed_counted.get(j, 0), "state": state}
                             for j, state in sorted(self.jobs.items())])

    def __str__(self) -> str:
        conds = "; ".join(f"{c['type']}={c['status']} (reason {c['reason']}: {c['message']})"
                          for c in self.conditions if c["type"] == "DisruptionTarget") or "none"
        when = "not within the time limit" if self.after is None else f"after {self.after:.0f} s"
        return (f"The pod garbage collector marked the lost pod {self.phase or '?'} {when}, with the condition "
                f"{conds}.")

    __repr__ = __str__


def jobs_on_lost_node(cluster: Cluster | None, node: str, names=("train-plain", "train-tolerant"),
                      timeout: float = 180, announce: str | None = None) -> JobsOnLostNode:
    """kwok only: two training Jobs lose their pod with node ``node``, one without and one with a
    ``podFailurePolicy`` that ignores ``DisruptionTarget`` (:func:`training_job_with_failure_policy`).

    kwok marks a Job's pod Succeeded the moment it runs, so a Job's pod cannot be caught *running* on a
    node here. The control plane's view of a machine that died under a running pod is a pod bound to a
    Node that no longer exists; this function makes exactly that: it deletes ``node`` (if it still
    exists) and creates both Jobs with ``nodeName: <node>`` (bound without the scheduler). Then it
    watches: the pod garbage collector (40 s quarantine, 20 s passes) marks each pod Failed with the
    condition ``DisruptionTarget`` and deletes it; the plain Job counts that failure and fails
    (``backoffLimit: 0``), the tolerant one ignores it and creates a replacement. Returns when both
    have happened, or after ``timeout`` seconds. Bring the node back with :func:`restore` (the
    tolerant Job's waiting pod then runs there). If ``node`` exists and was re-created less than about
    63 s ago, it first waits that out, as :func:`fail_node` does. ``announce`` is printed after the
    checks, before the wait. Raises CourseError on kind, :class:`NodeRefused` for
    a name that is not a worker."""
    from whyk8s.cluster.workers import is_kwok_cluster
    from whyk8s.k8s import objects
    cluster = _cluster(cluster)
    require(cluster, "Losing a node under two training Jobs", DELETE_NODES, CREATE_NODES)
    if not is_kwok_cluster(cluster):
        raise CourseError("This demonstration is made for kwok, where the Node object is the machine; on kind "
                          "a kubelet would still run pods bound to its deleted Node, so it is not run here: "
                          "read the kwok run on the course's site.")
    if node not in [w.name for w in load_layout().workers]:
        raise NodeRefused(f"Refusing to touch {node!r}: it is not a worker of the course cluster.")
    if announce:  # printed once the rights and the node are checked: before the wait
        print(announce, flush=True)
    _wait_out_quarantine(cluster, node)
    try:
        cluster.core.delete_node(node)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    plain, tolerant = names
    for name, ignore in ((plain, False), (tolerant, True)):
        objects.create(cluster, training_job_with_failure_policy(name, ignore_disruptions=ignore, node_name=node))
    start = time.monotonic()
    result = JobsOnLostNode(node=node)
    seen_pods: dict[str, set[str]] = {plain: set(), tolerant: set()}

    def pod_seen(kind: str, p) -> None:
        job = (p.metadata.labels or {}).get("job-name")
        if job not in seen_pods:
            return
        seen_pods[job].add(p.metadata.name)
        conds = [c for c in (p.status.conditions or []) if c.type == "DisruptionTarget"] if p.status else []
        if conds and result.after is None:
            result.after = round(time.monotonic() - start, 1)
            result.phase = p.status.phase
            result.conditions = [{"type": c.type, "status": c.status, "reason": c.reason, "message": c.message}
                                 for c in p.status.conditions]

    def plain_failed(objs: dict) -> bool:
        return objs.get(plain) is not None and job_outcome(objs[plain]).startswith("Failed")

    deadline = start + timeout
    watch_until(cluster.core.list_namespaced_pod, cluster.namespace, label_selector=cluster.selector,
                on_change=pod_seen, done=lambda _o: result.after is not None and len(seen_pods[tolerant]) >= 2,
                deadline=deadline)
    jobs = watch_until(cluster.batch.list_namespaced_job, cluster.namespace, label_selector=cluster.selector,
                       done=plain_failed, deadline=max(deadline, time.monotonic() + 5))
    for name in names:
        job = jobs.get(name) or cluster.batch.read_namespaced_job(name, cluster.namespace)
        result.jobs[name] = job_outcome(job)
        result.failed_counted[name] = (job.status.failed or 0) if job.status else 0
        result.replacements[name] = len(seen_pods[name])
    return result


def restore(cluster: Cluster | None = None, timeout: int = 120) -> list[str]:
    """Bring the course cluster's workers back: re-create deleted workers (kwok; on kind restart their
    kubelet, and start a stopped node container), uncordon the others,
    re-advertise ``nvidia.com/gpu: 4`` on the GPU worker through the Node status subresource (read
    back and checked), and wait until every worker is Ready. Returns the names re-created.
    Raises TimeoutError if a worker is not Ready after ``timeout`` seconds, RuntimeError if the GPUs
    are not reported.

    Without the rights to change nodes (a workshop participant), changes nothing: returns ``[]`` when
    every worker is there, Ready and schedulable, else raises
    :class:`~whyk8s.k8s.rights.InstructorDemonstration` (the instructor brings them back)."""
    cluster = _cluster(cluster)
    if not (can(cluster, PATCH_NODES) and can(cluster, CREATE_NODES)):
        return _check_restored(cluster)
    created = restore_nodes(cluster, log=lambda *_: None)
    wait_for_nodes(cluster, [w.name for w in load_layout().workers], timeout=timeout)
    return created


def _check_restored(cluster: Cluster) -> list[str]:
    """For a user who may only read nodes: ``[]`` if every layout worker exists, is Ready and
    schedulable; else :class:`~whyk8s.k8s.rights.InstructorDemonstration` naming the ones that are not."""
    from whyk8s.k8s.nodes import is_ready
    nodes = {n.metadata.name: n for n in cluster.core.list_node().items}
    off = [w.name for w in load_layout().workers
           if w.name not in nodes or not is_ready(nodes[w.name]) or nodes[w.name].spec.unschedulable]
    if off:
        raise InstructorDemonstration(
            f"Bringing the workers back: this step is the instructor's. {', '.join(off)} "
            f"{'is' if len(off) == 1 else 'are'} not ready for work yet (a node demonstration may be under "
            f"way); your kubeconfig's user may read nodes but not change them, so wait for the instructor "
            f"and run this cell again.")
    return []
