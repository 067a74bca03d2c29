"""The layout's worker nodes on a running course cluster: put back what a demonstration took away.

- :func:`advertise_extended_resources` patches each worker's extended resources (the GPU worker's
  ``nvidia.com/gpu: 4``) into its Node's **status subresource**, as the kubernetes.io task
  "Advertise Extended Resources for a Node" does, and reads the node back to check ``allocatable``.
- :func:`restore_nodes` uncordons workers and, on **kwok** only, re-creates the simulated Node of a
  worker that was deleted (on kwok the Node object *is* the machine). On kind a Node registers
  through its own kubelet: a missing one is reported, never faked.

Lessons (:mod:`whyk8s.lessons.failures`) call these; they never start or stop a cluster.
"""

from __future__ import annotations

import time

from whyk8s.errors import CourseError
from whyk8s.cluster.layout import kwok_node_manifest, load_layout
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.waits import wait_for_nodes

__all__ = ["advertise_extended_resources", "restore_nodes", "is_kwok_cluster", "KWOK_NODE_ANNOTATION"]

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


def restore_nodes(cluster: Cluster, log=print) -> list[str]:
    """Re-create layout workers that are missing (e.g. deleted in a node-failure demo) — only on a
    kwok cluster, where a Node object is all a simulated machine is —, uncordon the rest, and
    re-advertise extended resources. Returns the names re-created. On another cluster (kind) a
    missing worker raises CourseError: its kubelet must register it again, nothing is faked."""
    layout = load_layout()
    existing = {n.metadata.name: n for n in cluster.core.list_node().items}
    missing = [w for w in layout.workers if w.name not in existing]
    if missing and not is_kwok_cluster(cluster):
        raise CourseError(f"Worker(s) {', '.join(w.name for w in missing)} have no Node object. On kind a "
                          f"node registers itself through its kubelet: restart it with `docker exec "
                          f"<node> systemctl restart kubelet`. The course never creates a simulated "
                          f"node on a cluster whose nodes are real.")
    created = []
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
