"""Small facts about a Node, each computed in one place, and the course's node tables.

Pure functions take the official client's ``V1Node``: :func:`is_ready`, :func:`pool`,
:func:`taints_text`, :func:`allocatable`. :func:`node_table` and :func:`runtime_table` list the
cluster's nodes (pandas DataFrames).
"""

from __future__ import annotations

import pandas as pd
from kubernetes import client
from kubernetes.utils.quantity import parse_quantity

from whyk8s import GPU_RESOURCE, POOL_LABEL
from whyk8s.k8s.guard import Cluster, connect

__all__ = ["is_ready", "has_ready_condition", "pool", "taints_text", "allocatable", "node_table",
           "runtime_table", "CONTROL_PLANE_LABEL"]

#: The label kubeadm (kind) and kwokctl put on control-plane nodes.
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


def _taints(node: client.V1Node) -> list:
    return (node.spec.taints if node.spec else None) or []


def has_ready_condition(node: client.V1Node) -> bool:
    """True when the node's ``Ready`` condition is True (its kubelet, or kwok, reports healthy)."""
    return any(c.type == "Ready" and c.status == "True" for c in ((node.status.conditions if node.status else None) or []))


def is_ready(node: client.V1Node) -> bool:
    """True when the node is Ready *and* the node lifecycle controller has lifted its start-up taint
    ``node.kubernetes.io/not-ready`` (until then the scheduler places nothing there)."""
    return has_ready_condition(node) and not any(t.key == "node.kubernetes.io/not-ready" for t in _taints(node))


def pool(node: client.V1Node) -> str:
    """The node's pool: its ``whyk8s.io/pool`` label (``cpu``, ``gpu``, ``highmem``), ``control-plane``
    for a control-plane node, else ``""``."""
    labels = node.metadata.labels or {}
    return labels.get(POOL_LABEL) or ("control-plane" if CONTROL_PLANE_LABEL in labels else "")


def taints_text(node: client.V1Node, system: bool = True) -> str:
    """The node's taints as kubectl writes them, ``key=value:Effect``, comma-separated (``""`` if none).
    ``system=False`` leaves out the ``node.kubernetes.io/…`` taints the control plane sets itself
    (not-ready, unreachable, unschedulable)."""
    return ", ".join(f"{t.key}={t.value or ''}:{t.effect}" for t in _taints(node)
                     if system or not t.key.startswith("node.kubernetes.io/"))


def allocatable(node: client.V1Node) -> tuple[int, int, int]:
    """What the scheduler may hand out on the node: (CPU in millicores, memory in bytes, whole
    ``nvidia.com/gpu``), from ``status.allocatable``."""
    alloc = (node.status.allocatable if node.status else None) or {}
    return (int(parse_quantity(alloc.get("cpu", "0")) * 1000), int(parse_quantity(alloc.get("memory", "0"))),
            int(parse_quantity(alloc.get(GPU_RESOURCE, "0"))))


def node_table(cluster: Cluster | None = None) -> pd.DataFrame:
    """One row per node: ``node``, ``pool``, ``taints``, ``cpu`` (cores), ``memory_gib`` (GiB),
    ``gpus`` (``nvidia.com/gpu`` allocatable), ``ready``, ``schedulable``. Sorted by node name.
    Raises ClusterUnreachableError / NotCourseClusterError from :func:`whyk8s.k8s.guard.connect`.
    kubectl: ``kubectl get nodes -L whyk8s.io/pool``."""
    cluster = cluster or connect()
    rows = []
    for n in cluster.core.list_node().items:
        cpu_m, mem, gpus = allocatable(n)
        rows.append({"node": n.metadata.name, "pool": pool(n), "taints": taints_text(n) or "-",
                     "cpu": cpu_m / 1000, "memory_gib": round(mem / 2**30, 1), "gpus": gpus,
                     "ready": has_ready_condition(n), "schedulable": not n.spec.unschedulable})
    return pd.DataFrame(rows, columns=["node", "pool", "taints", "cpu", "memory_gib", "gpus", "ready",
                                       "schedulable"]).sort_values("node").reset_index(drop=True)


def runtime_table(cluster: Cluster | None = None) -> pd.DataFrame:
    """One row per node: ``node``, ``container_runtime`` (``status.nodeInfo.containerRuntimeVersion``,
    e.g. ``containerd://1.7.x`` on kind), ``kubelet`` (``kubeletVersion``). On kwok the values are
    whatever the simulated node reports: no runtime runs there. kubectl: ``kubectl get nodes -o wide``."""
    cluster = cluster or connect()
    rows = []
    for n in cluster.core.list_node().items:
        info = n.status.node_info
        rows.append({"node": n.metadata.name,
                     "container_runtime": (info.container_runtime_version if info else "") or "(none reported)",
                     "kubelet": (info.kubelet_version if info else "") or "(none reported)"})
    return pd.DataFrame(rows).sort_values("node").reset_index(drop=True)
