"""The layout's worker nodes on a running course cluster: put back what a demonstration took away.

- :func:`advertise_extended_resources` patches each worker's extended resources (the GPU worker's
  ``nvidia.com/gpu: 4``) into its Node's **status subresource**, as the kubernetes.io task
  "Advertise Extended Resources for a Node" does, and reads the node back to check ``allocatable``.
- :func:`restore_nodes` uncordons workers and brings back a worker whose Node was deleted: on
  **kwok** by re-creating the simulated Node (there the Node object *is* the machine); on **kind** by
  restarting the kubelet in the worker's container (``docker exec <node> systemctl restart kubelet``),
  since a v1.36 kubelet registers its Node when it starts and never again while it runs; the layout's
  taints are then put back (kubeadm set them at join; the kubelet does not) and the pod network is
  configured again (the new Node may get another pod range). A simulated Node is never created on a
  cluster whose nodes are real.

Lessons (:mod:`whyk8s.lessons.failures`) call these; they never start or stop a cluster.
"""

from __future__ import annotations

import time

from whyk8s.errors import CourseError
from whyk8s.cluster.layout import kwok_node_manifest, load_layout
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.waits import wait_for_nodes

__all__ = ["advertise_extended_resources", "restore_nodes", "stop_node", "start_node", "is_kwok_cluster",
           "KWOK_NODE_ANNOTATION"]

#: The annotation kwok puts on (and looks for on) the nodes it simulates.
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"


def is_kwok_cluster(cluster: Cluster) -> bool:
    """True when the cluster's nodes are simulated by kwok: its context is ``kwok-…``, or a worker
    carries the ``kwok.x-k8s.io/node`` annotation."""
    if cluster.context.startswith("kwok-"):
        return True
    return any(KWOK_NODE_ANNOTATION in (n.metadata.annotations or {}) for n in cluster.core.list_node().items)


def advertise_extended_resources(cluster: Cluster, layout=None, log=print) -> None:
    """Advertise each worker's extended resources (the GPU node's ``nvidia.com/gpu: 4``) by a JSON
    patch of the Node's **status subresource** (``/status/capacity/nvidia.com~1gpu``), as the
    kubernetes.io task "Advertise Extended Resources for a Node" does; then read each node back and
    check ``allocatable``. Raises RuntimeError if the node does not report it."""
    layout = layout or load_layout()
    for worker in layout.workers:
        if not worker.extended_resources:
            continue
        ops = []
        for name, value in worker.extended_resources.items():
            escaped = name.replace("~", "~0").replace("/", "~1")
            ops.append({"op": "add", "path": f"/status/capacity/{escaped}", "value": str(value)})
            ops.append({"op": "add", "path": f"/status/allocatable/{escaped}", "value": str(value)})
        log(f"advertising {worker.extended_resources} on {worker.name}")
        deadline = time.monotonic() + 60
        while True:
            cluster.core.patch_node_status(worker.name, ops)
            node = cluster.core.read_node(worker.name)
            alloc = node.status.allocatable or {}
            if all(alloc.get(k) == str(v) for k, v in worker.extended_resources.items()):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"Node {worker.name} does not report {worker.extended_resources} "
                                   f"as allocatable (it reports {alloc}).")
            time.sleep(1)  # a kubelet or kwok may rewrite status once right after registering: patch again


def _course_node_container(cluster: Cluster, node: str) -> None:
    """Refuse (CourseError) unless the context is the course's and ``node`` is a container of the
    course's kind cluster (kind's label ``io.x-k8s.kind.cluster``)."""
    from whyk8s.cluster.providers import cluster_name, run
    from whyk8s.k8s.guard import check_provider_context
    check_provider_context(cluster.context)
    label = run(["docker", "inspect", "--format", '{{ index .Config.Labels "io.x-k8s.kind.cluster" }}', node],
                log=lambda *_: None, check=False).stdout.strip()
    if label != cluster_name():
        raise CourseError(f"{node} is not a node container of the course's kind cluster {cluster_name()!r}.")


def _restart_kubelets(cluster: Cluster, nodes: list[str], log) -> None:
    """Restart the kubelet in each named node container of the course's kind cluster (guarded: the
    context must be the course's, and each container must carry kind's label for the course cluster)."""
    from whyk8s.cluster.providers import run
    for node in nodes:
        _course_node_container(cluster, node)
        run(["docker", "exec", node, "systemctl", "restart", "kubelet"], log=log)


def stop_node(cluster: Cluster, node: str, log=print) -> None:
    """kind only: stop worker ``node``'s container (``docker stop``), as if the machine lost power: its
    kubelet stops posting status, and the Node object stays. Raises CourseError on kwok (there is no
    machine to stop: use ``failures.fail_node``), for the control plane, or for a container that is not
    the course cluster's. Bring it back with :func:`start_node`."""
    from whyk8s.cluster.providers import run
    if is_kwok_cluster(cluster):
        raise CourseError("kwok simulates its nodes: there is no node container to stop. On kind it stops "
                          "the node's container; here delete the Node instead (failures.fail_node).")
    if node not in {w.name for w in load_layout().workers}:
        raise CourseError(f"{node} is not one of the course's workers; only a worker may be stopped.")
    _course_node_container(cluster, node)
    run(["docker", "stop", "--time", "5", node], log=log)


def start_node(cluster: Cluster, node: str, log=print, timeout: float = 120) -> None:
    """kind only: start worker ``node``'s container again, configure the pod network again (Docker may
    give it a new address) and wait until the Node is Ready. Raises CourseError as :func:`stop_node`,
    WaitTimeoutError after ``timeout`` seconds."""
    from whyk8s.cluster.kind import KindProvider, configure_pod_network
    from whyk8s.cluster.providers import run
    _course_node_container(cluster, node)
    run(["docker", "start", node], log=log)
    provider = KindProvider()
    if provider.uses_own_cni():
        configure_pod_network(provider, cluster, log=log)
    wait_for_nodes(cluster, [node], timeout=timeout)


def restore_nodes(cluster: Cluster, log=print) -> list[str]:
    """Bring back layout workers whose Node is missing (e.g. deleted in a node-failure demo): on kwok
    re-create the simulated Node, on kind restart the node's kubelet so that it registers again (then
    put back the layout's taints); uncordon the rest, and re-advertise extended resources. Returns the
    names brought back. Raises CourseError on kind for a missing node that is not a container of the
    course's kind cluster, WaitTimeoutError if a restarted kubelet has not registered within 120 s."""
    layout = load_layout()
    if not is_kwok_cluster(cluster):  # a worker whose container was stopped (failures.lose_node)
        from whyk8s.cluster.kind import KindProvider
        for node in sorted(set(KindProvider().stopped_nodes()) & {w.name for w in layout.workers}):
            start_node(cluster, node, log=log)
    existing = {n.metadata.name: n for n in cluster.core.list_node().items}
    missing = [w for w in layout.workers if w.name not in existing]
    created = []
    if missing and not is_kwok_cluster(cluster):
        _restart_kubelets(cluster, [w.name for w in missing], log)
        wait_for_nodes(cluster, [w.name for w in missing], timeout=120)
        for worker in missing:
            if worker.taints:
                cluster.core.patch_node(worker.name, {"spec": {"taints": [dict(t) for t in worker.taints]}})
        existing = {n.metadata.name: n for n in cluster.core.list_node().items}
        from whyk8s.cluster.kind import KindProvider, configure_pod_network
        provider = KindProvider()
        if provider.uses_own_cni():
            configure_pod_network(provider, cluster, log=log)
        created = [w.name for w in missing]
    for worker in layout.workers:
        if worker.name not in existing:
            cluster.core.create_node(kwok_node_manifest(worker))
            created.append(worker.name)
        elif existing[worker.name].spec.unschedulable:
            cluster.core.patch_node(worker.name, {"spec": {"unschedulable": False}})
    if created:
        wait_for_nodes(cluster, created)
    advertise_extended_resources(cluster, layout, log=log)
    return created
