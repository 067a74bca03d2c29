"""The course cluster's node layout, read from ``clusters/layout.yaml`` by both providers.

One control plane and four workers: two general CPU workers, one GPU worker (label
``whyk8s.io/pool=gpu``, taint ``nvidia.com/gpu=present:NoSchedule``, 4 × ``nvidia.com/gpu``) and one
high-memory worker (label ``whyk8s.io/pool=highmem``). Capacities are in the file (cpu in cores,
memory as quantities).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from whyk8s import POOL_LABEL
from whyk8s.paths import repo_root

__all__ = ["Worker", "Layout", "load_layout", "kind_config", "render_kind_config",
           "kwok_node_manifest"]


@dataclass(frozen=True)
class Worker:
    """One worker node: ``name``, ``pool`` (cpu/gpu/highmem), ``capacity`` (quantities as strings),
    ``extended_resources`` (e.g. ``{"nvidia.com/gpu": "4"}``), ``taints`` (dicts key/value/effect)."""

    name: str
    pool: str
    capacity: dict
    extended_resources: dict = field(default_factory=dict)
    taints: tuple = ()

    @property
    def labels(self) -> dict[str, str]:
        """The node labels that place work on this worker: ``{"whyk8s.io/pool": <pool>}``."""
        return {POOL_LABEL: self.pool}


@dataclass(frozen=True)
class Layout:
    """The course cluster's layout (``clusters/layout.yaml``): ``cluster_name`` (``whyk8s``),
    ``namespace`` (where course objects live), ``control_plane`` (its node's name) and ``workers``
    (:class:`Worker`, in the file's order)."""

    cluster_name: str
    namespace: str
    control_plane: str
    workers: tuple[Worker, ...]

    def pool(self, pool: str) -> list[Worker]:
        """Workers of one pool."""
        return [w for w in self.workers if w.pool == pool]


def load_layout(path: str | Path | None = None) -> Layout:
    """Read the layout (default ``clusters/layout.yaml`` of the checkout)."""
    path = Path(path) if path else repo_root() / "clusters" / "layout.yaml"
    data = yaml.safe_load(Path(path).read_text())
    workers = tuple(
        Worker(name=w["name"], pool=w["pool"], capacity=dict(w["capacity"]),
               extended_resources=dict(w.get("extended_resources") or {}),
               taints=tuple(w.get("taints") or ()))
        for w in data["workers"]
    )
    return Layout(data["cluster_name"], data["namespace"], data["control_plane"]["name"], workers)


def kind_config(layout: Layout | None = None) -> dict:
    """The kind ``Cluster`` config (kind.x-k8s.io/v1alpha4) for the layout: node labels via
    ``labels``, taints via a kubeadm JoinConfiguration patch. kind nodes report the host's real CPU
    and memory; the GPU count is advertised after creation by patching node status."""
    layout = layout or load_layout()
    nodes = [{"role": "control-plane"}]
    for w in layout.workers:
        node = {"role": "worker", "labels": dict(w.labels)}
        if w.taints:
            taints = [{"key": t["key"], "value": t["value"], "effect": t["effect"]} for t in w.taints]
            node["kubeadmConfigPatches"] = [yaml.safe_dump(
                {"kind": "JoinConfiguration", "nodeRegistration": {"taints": taints}}, sort_keys=False)]
        nodes.append(node)
    return {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "name": layout.cluster_name,
            "nodes": nodes}


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings (the kubeadm patch) as ``|`` blocks."""


_BlockDumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def render_kind_config(layout: Layout | None = None) -> str:
    """``kind_config`` as the YAML text committed in ``clusters/kind.yaml``."""
    header = ("# Generated from clusters/layout.yaml by `whyk8s cluster render-kind`; do not edit by hand.\n"
              "# kind create cluster --name whyk8s --config clusters/kind.yaml\n")
    return header + yaml.dump(kind_config(layout), Dumper=_BlockDumper, sort_keys=False)


def kwok_node_manifest(worker: Worker) -> dict:
    """A Node object for kwok to simulate: the worker's labels, taints and capacity (without the
    extended resources, which are advertised afterwards through the status subresource, as on kind).
    The annotation ``kwok.x-k8s.io/node: fake`` tells the kwok controller to manage it."""
    capacity = dict(worker.capacity)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": worker.name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                **worker.labels,
                "kubernetes.io/hostname": worker.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": {"taints": [dict(t) for t in worker.taints]} if worker.taints else {},
        "status": {"capacity": capacity, "allocatable": dict(capacity)},
    }
