"""Tables of the cluster's nodes and where pods landed (pandas DataFrames)."""

from __future__ import annotations

import pandas as pd
from kubernetes.utils.quantity import parse_quantity

from whyk8s import GPU_RESOURCE, POOL_LABEL
from whyk8s.k8s.guard import Cluster, connect

__all__ = ["node_table", "runtime_table", "pods_by_node"]


def _ready(node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def node_table(cluster: Cluster | None = None) -> pd.DataFrame:
    """One row per node: ``node``, ``pool``, ``taints``, ``cpu`` (cores), ``memory_gib`` (GiB),
    ``gpus`` (``nvidia.com/gpu`` allocatable), ``ready``, ``schedulable``. Sorted by node name.
    Raises ClusterUnreachableError / NotCourseClusterError from :func:`whyk8s.k8s.guard.connect`."""
    cluster = cluster or connect(create_namespace=False)
    rows = []
    for n in cluster.core.list_node().items:
        alloc = n.status.allocatable or {}
        labels = n.metadata.labels or {}
        pool = labels.get(POOL_LABEL) or ("control-plane" if "node-role.kubernetes.io/control-plane" in labels else "")
        rows.append({
            "node": n.metadata.name,
            "pool": pool,
            "taints": ", ".join(f"{t.key}={t.value or ''}:{t.effect}" for t in (n.spec.taints or [])) or "-",
            "cpu": float(parse_quantity(alloc.get("cpu", "0"))),
            "memory_gib": round(float(parse_quantity(alloc.get("memory", "0"))) / 2**30, 1),
            "gpus": int(parse_quantity(alloc.get(GPU_RESOURCE, "0"))),
            "ready": _ready(n),
            "schedulable": not n.spec.unschedulable,
        })
    return pd.DataFrame(rows).sort_values("node").reset_index(drop=True)


def runtime_table(cluster: Cluster | None = None) -> pd.DataFrame:
    """One row per node: ``node``, ``container_runtime`` (``status.nodeInfo.containerRuntimeVersion``,
    e.g. ``containerd://1.7.x`` on kind), ``kubelet`` (``kubeletVersion``). On kwok the values are
    whatever the simulated node reports: no runtime runs there."""
    cluster = cluster or connect(create_namespace=False)
    rows = []
    for n in cluster.core.list_node().items:
        info = n.status.node_info
        rows.append({"node": n.metadata.name,
                     "container_runtime": (info.container_runtime_version if info else "") or "(none reported)",
                     "kubelet": (info.kubelet_version if info else "") or "(none reported)"})
    return pd.DataFrame(rows).sort_values("node").reset_index(drop=True)


def pods_by_node(cluster: Cluster | None = None, namespace: str | None = None) -> dict[str, list[str]]:
    """Course pods grouped by the node they were scheduled to (``"(pending)"`` if not yet)."""
    cluster = cluster or connect()
    out: dict[str, list[str]] = {}
    for p in cluster.core.list_namespaced_pod(namespace or cluster.namespace,
                                              label_selector=cluster.selector).items:
        out.setdefault(p.spec.node_name or "(pending)", []).append(p.metadata.name)
    return {k: sorted(v) for k, v in sorted(out.items())}
