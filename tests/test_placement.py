"""Chapter 4 placement against the real kube-scheduler (kwok simulates the nodes)."""

import re
import time

import pytest

from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s import objects, specs
from whyk8s.k8s.waits import wait_for_pods
from whyk8s.lessons import placement


def wait_scheduled(cluster, predicate, timeout=60):
    """Watch course pods until one matching ``predicate`` has a node; return it."""
    def placed(pods):
        return [p for p in pods.values() if predicate(p) and p.spec.node_name]
    return placed(wait_for_pods(cluster, lambda pods: bool(placed(pods)), timeout=timeout))[0]


def pool_of(cluster, node):
    return cluster.core.read_node(node).metadata.labels["whyk8s.io/pool"]


def test_training_job_lands_on_gpu_node(cluster):
    job = placement.training_job("train", gpus=2)
    tpl = job.spec.template.spec
    assert tpl.containers[0].resources.requests["nvidia.com/gpu"] == "2"
    assert any(t.key == "nvidia.com/gpu" and t.effect == "NoSchedule" for t in tpl.tolerations)
    objects.create(cluster, job)
    pod = wait_scheduled(cluster, lambda p: p.metadata.labels.get("job-name") == "train")
    assert pod is not None and pool_of(cluster, pod.spec.node_name) == "gpu"
    table = placement.where(cluster, "train")
    assert list(table.columns) == ["pod", "workload", "node", "pool", "phase", "status"]
    assert table.loc[0, "pool"] == "gpu" and table.loc[0, "workload"] == "train"
    # kubectl's STATUS: kwok completes Jobs at once; on kind the container may still be starting
    assert table.loc[0, "status"] in ("Running", "Completed", "ContainerCreating")


def test_preprocessing_pod_lands_on_highmem_node(cluster):
    objects.create(cluster, placement.preprocessing_pod("prep"))
    pod = wait_scheduled(cluster, lambda p: p.metadata.name == "prep")
    assert pod.spec.node_name == "whyk8s-worker4"
    assert pool_of(cluster, pod.spec.node_name) == "highmem"


def test_96gi_request_alone_fits_only_the_highmem_node(cluster):
    # Without the nodeSelector, the request by itself rules out the 16 GiB and 64 GiB workers.
    objects.create(cluster, specs.pod("big-mem", memory="96Gi", tolerate_gpu=True))
    pod = wait_scheduled(cluster, lambda p: p.metadata.name == "big-mem")
    assert pod.spec.node_name == "whyk8s-worker4"


def test_pod_that_fits_nowhere_gets_the_schedulers_reason(cluster):
    objects.create(cluster, placement.training_job("greedy", gpus=8))
    message = placement.why_pending(cluster, "greedy", timeout=30)
    assert re.match(rf"0/{len(cluster.core.list_node().items)} nodes are available", message)
    assert "Insufficient nvidia.com/gpu" in message
    lines = placement.explain_reasons(message)
    assert lines[0] == f"0 of {len(cluster.core.list_node().items)} nodes can take the pod."
    assert any(line.startswith("1 node: not enough nvidia.com/gpu left") for line in lines)
    assert any(line.startswith("3 nodes: their labels do not match") for line in lines)
    assert placement.where(cluster, "greedy").loc[0, ["phase", "status"]].tolist() == ["Pending", "Pending"]


def test_wait_placed_counts_decided_pods_and_times_out_naming_them(cluster):
    objects.create(cluster, specs.deployment("web", replicas=2))
    objects.create(cluster, placement.training_job("greedy", gpus=8))
    table = placement.wait_placed(cluster, ["web", "greedy"], 3, timeout=30)
    assert sorted(table["workload"]) == ["greedy", "web", "web"]
    assert table.set_index("workload").loc["greedy", "node"] == ""  # decided: Unschedulable
    with pytest.raises(WaitTimeoutError, match=r"Only 3 of 4 pods were placed after 2 s .*greedy-\w+ \(Pending: 0/\d"):
        placement.wait_placed(cluster, ["web", "greedy"], 4, timeout=2)


def test_why_pending_names_the_node_of_a_scheduled_pod(cluster):
    objects.create(cluster, placement.preprocessing_pod("prep"))
    wait_scheduled(cluster, lambda p: p.metadata.name == "prep")
    assert placement.why_pending(cluster, "prep") == \
        "Pod prep is not pending: it was scheduled to node whyk8s-worker4."


def test_why_pending_unknown_pod_is_one_sentence(cluster):
    started = time.monotonic()
    with pytest.raises(CourseError, match="no pod .* named 'ghost'"):
        placement.why_pending(cluster, "ghost", timeout=2)
    assert time.monotonic() - started < 10


def test_explain_reasons_for_taints_and_cordons():
    msg = ("0/4 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}, "
           "1 node(s) were unschedulable, 2 Insufficient memory. preemption: 0/4 nodes are available: "
           "4 Preemption is not helpful for scheduling.")
    lines = placement.explain_reasons(msg)
    assert lines[1].startswith("1 node: tainted nvidia.com/gpu: present, and the pod has no toleration")
    assert lines[2].startswith("1 node: cordoned")
    assert lines[3].startswith("2 nodes: not enough memory left")
    assert lines[4].startswith("Preemption: 4 nodes: evicting lower-priority pods would not make room")
    table = placement.reasons_table(msg)
    assert table["nodes"].tolist() == [1, 1, 2]
    assert table["reason"].tolist()[2] == "Insufficient memory"
    assert placement.explain_reasons("something else") == ["something else"]


def test_bad_input_is_refused_before_the_api():
    with pytest.raises(ValueError, match="at least 1 GPU"):
        placement.training_job("train", gpus=0)
    with pytest.raises(ValueError, match="Did you mean 96Mi"):
        placement.preprocessing_pod("prep", memory="96m")
    with pytest.raises(ValueError, match="fraction"):
        placement.training_job("train", gpus=0.5)


def test_the_control_plane_adds_no_gpu_toleration_but_adds_the_300_s_node_tolerations(cluster):
    """The course's API server runs the default admission plugins: ExtendedResourceToleration is not
    among them, so a GPU pod without a toleration is kept off the tainted GPU node; DefaultTolerationSeconds
    is, and gives every pod 300 s on a not-ready or unreachable node."""
    pod = specs.pod("gpu-no-toleration", gpus=1)
    pod.spec.tolerations = None
    objects.create(cluster, pod)
    stored = cluster.core.read_namespaced_pod("gpu-no-toleration", cluster.namespace)
    keys = {(t.key, t.effect, t.toleration_seconds) for t in stored.spec.tolerations or []}
    assert keys == {("node.kubernetes.io/not-ready", "NoExecute", 300),
                    ("node.kubernetes.io/unreachable", "NoExecute", 300)}
    message = placement.why_pending(cluster, "gpu-no-toleration")
    assert "untolerated taint" in message and "Insufficient nvidia.com/gpu" in message
