"""Node facts (k8s/nodes.py): pure functions on V1Node, and the node table on the course cluster."""

import json

import pytest
from kubernetes import client

from whyk8s.k8s import nodes


def node_from(data: dict) -> client.V1Node:
    data = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, **data}
    return client.ApiClient().deserialize(json.dumps(data), "V1Node", "application/json")


READY = {"type": "Ready", "status": "True"}
NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


@pytest.mark.parametrize("conditions, taints, has_ready, ready", [
    ([READY], [], True, True),
    ([READY], [NOT_READY_TAINT], True, False),  # the lifecycle controller has not lifted its taint yet
    ([{"type": "Ready", "status": "False"}], [], False, False),
    ([{"type": "Ready", "status": "Unknown"}], [], False, False),
    ([], [], False, False),
])
def test_ready_needs_the_condition_and_no_start_up_taint(conditions, taints, has_ready, ready):
    n = node_from({"spec": {"taints": taints}, "status": {"conditions": conditions}})
    assert nodes.has_ready_condition(n) is has_ready
    assert nodes.is_ready(n) is ready


def test_pool_taints_and_allocatable():
    gpu = node_from({"metadata": {"name": "w3", "labels": {"whyk8s.io/pool": "gpu"}},
                     "spec": {"taints": [GPU_TAINT,
                                         {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]},
                     "status": {"allocatable": {"cpu": "7500m", "memory": "64Gi", "nvidia.com/gpu": "4"}}})
    assert nodes.pool(gpu) == "gpu"
    assert nodes.taints_text(gpu) == "nvidia.com/gpu=present:NoSchedule, node.kubernetes.io/unschedulable=:NoSchedule"
    assert nodes.taints_text(gpu, system=False) == "nvidia.com/gpu=present:NoSchedule"
    assert nodes.allocatable(gpu) == (7500, 64 * 2**30, 4)
    cp = node_from({"metadata": {"name": "cp", "labels": {nodes.CONTROL_PLANE_LABEL: ""}}})
    assert nodes.pool(cp) == "control-plane" and nodes.taints_text(cp) == "" and nodes.allocatable(cp) == (0, 0, 0)
    assert nodes.pool(node_from({})) == ""


def test_node_table_lists_the_course_layout(cluster):
    table = nodes.node_table(cluster)
    assert list(table.columns) == ["node", "pool", "taints", "cpu", "memory_gib", "gpus", "ready", "schedulable"]
    rows = table.set_index("node")
    assert rows.loc["whyk8s-worker3", ["pool", "taints", "gpus"]].tolist() == [
        "gpu", "nvidia.com/gpu=present:NoSchedule", 4]
    assert rows.loc["whyk8s-worker4", "pool"] == "highmem" and rows.loc["whyk8s-worker4", "memory_gib"] == 256.0
    assert table["node"].tolist() == sorted(table["node"]) and rows["ready"].all() and rows["schedulable"].all()
