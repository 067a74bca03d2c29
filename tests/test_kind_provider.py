"""The kind provider on a real kind cluster (marker ``kind``: skipped unless WHYK8S_PROVIDER=kind).

What only a run can tell: the layout's nodes come up Ready with their pools, taint and GPUs; a
worker whose Node was deleted comes back through its own kubelet (not as a faked Node) with its
taint; and after the node containers are stopped and started again (Docker may give them new
addresses) the pod network still carries a Service's traffic.
"""
import pytest

from whyk8s.cluster.kind import KindProvider
from whyk8s.cluster.layout import load_layout
from whyk8s.cluster.workers import KWOK_NODE_ANNOTATION, restore_nodes
from whyk8s.k8s.guard import connect
from whyk8s.k8s.quantities import parse_memory
from whyk8s.lessons import running_containers as rc

pytestmark = pytest.mark.kind


def test_the_layout_is_up_on_real_nodes(cluster):
    nodes = {n.metadata.name: n for n in cluster.core.list_node().items}
    for worker in load_layout().workers:
        node = nodes[worker.name]
        assert node.metadata.labels.get("whyk8s.io/pool") == worker.pool
        assert KWOK_NODE_ANNOTATION not in (node.metadata.annotations or {})
        assert node.status.node_info.container_runtime_version.startswith("containerd://")
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
        # the kubelet reports the layout's memory (the meminfo the course mounts), not the machine's
        assert parse_memory(node.status.capacity["memory"]) == parse_memory(worker.capacity["memory"])
        if worker.pool == "gpu":
            assert node.status.allocatable.get("nvidia.com/gpu") == "4"
            assert any(t.key == "nvidia.com/gpu" and t.effect == "NoSchedule" for t in node.spec.taints or [])


def test_a_deleted_worker_stays_deleted_until_its_kubelet_restarts_then_registers_with_its_taint(cluster):
    from kubernetes import watch
    gpu = next(w for w in load_layout().workers if w.pool == "gpu")
    old_uid = cluster.core.read_node(gpu.name).metadata.uid
    cluster.core.delete_node(gpu.name)
    # Chapter 4a says the v1.36 kubelet does not register a deleted Node again by itself: watch for 30 s
    # (three of its 10 s node-status periods) and see no Node of that name come back.
    rv = cluster.core.list_node().metadata.resource_version
    seen = [e["object"].metadata.name for e in watch.Watch().stream(
        cluster.core.list_node, resource_version=rv, timeout_seconds=30) if e["type"] == "ADDED"]
    assert gpu.name not in seen and gpu.name not in {n.metadata.name for n in cluster.core.list_node().items}
    assert restore_nodes(cluster, log=lambda *_: None) == [gpu.name]
    node = cluster.core.read_node(gpu.name)
    assert node.metadata.uid != old_uid  # a new Node object, registered by the kubelet itself
    assert KWOK_NODE_ANNOTATION not in (node.metadata.annotations or {})
    assert node.metadata.labels.get("whyk8s.io/pool") == "gpu"
    assert any(t.key == "nvidia.com/gpu" for t in node.spec.taints or [])
    assert node.status.allocatable.get("nvidia.com/gpu") == "4"


def test_after_stop_and_up_a_service_still_reaches_pods_on_every_node(cluster):
    provider = KindProvider()
    provider.stop(log=lambda *_: None)
    provider.up(log=lambda *_: None)
    c = connect(context=provider.context)
    rc.create(c, rc.web_server("model-server", replicas=4))
    rc.create(c, rc.web_service("model-server"))
    rows = rc.wait_for_endpoints(c, "model-server", lambda rows: len(rc.ready_pods(rows)) == 4, timeout=90)
    counts = rc.send_requests(c, "model-server", count=40)
    assert set(counts) == rc.ready_pods(rows), counts
    assert len({r["node"] for r in rows}) >= 2  # requests crossed nodes


def test_a_stopped_node_goes_not_ready_and_its_pods_run_elsewhere_after_their_toleration(cluster):
    from whyk8s.k8s import objects, specs
    from whyk8s.lessons import failures

    # bystanders, as an earlier cell of chapter 3b leaves them: a bare course pod on each CPU worker,
    # with the default 300 s toleration and no owner to replace it; the demonstration follows only its
    # own Deployment's pods, so they must not hold it up
    for i, worker in enumerate(w.name for w in load_layout().workers if w.pool == "cpu"):
        pod = specs.pod(f"bystander-{i}", image="busybox:1.36", cpu="10m", memory="16Mi", command=["sleep", "3600"])
        pod.spec.node_name = worker
        objects.create(cluster, pod)
    loss = failures.lose_a_worker(cluster, "web", replicas=4, seconds=10)  # stops, then restores, the node
    print(loss)
    assert not any(name.startswith("bystander") for name in loss.lost), loss
    assert loss.lost and loss.not_ready_after is not None and loss.tainted_after is not None, loss
    # evicted by the taint manager once the 10 s toleration ran out, not before
    assert loss.evicted_after is not None and loss.evicted_after >= loss.tainted_after + 5, loss
    assert loss.complete and loss.node not in loss.replacements.values(), loss
    node = cluster.core.read_node(loss.node)
    assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)


def test_a_node_image_that_no_registry_serves_is_refused_with_the_way_to_build_one():
    """Real Docker: an image not in the store whose registry cannot be reached."""
    from whyk8s.cluster.kind import NodeImageUnavailable, ensure_node_image
    with pytest.raises(NodeImageUnavailable) as e:
        ensure_node_image("whyk8s.invalid/kind-node:none", log=lambda _: None, timeout=120)
    assert "could not be pulled" in str(e.value)
    assert "WHYK8S_KIND_NODE_IMAGE=local" in str(e.value)


def test_the_96gi_preprocessing_pod_runs_on_the_highmem_worker_as_on_kwok(cluster):
    from whyk8s.k8s import objects
    from whyk8s.lessons import placement
    objects.cleanup(cluster)
    try:
        objects.create(cluster, placement.preprocessing_pod("prep-96gi"))
        table = placement.wait_placed(cluster, "prep-96gi", 1, running=True, timeout=120)
        assert list(table["pool"]) == ["highmem"]
    finally:
        objects.cleanup(cluster)


def test_endpoint_slices_follow_real_pods_whose_readiness_probe_fails():
    """Chapter 3's load-balancing cell on kind: real web servers, one readiness probe made to fail."""
    from whyk8s.k8s import objects
    from whyk8s.lessons import load_balancing as lb
    c = connect()
    objects.cleanup(c)
    try:
        summary, rows = lb.endpoints_follow_pods(c, timeout=90)
    finally:
        objects.cleanup(c)
    assert [r["not ready"] for r in summary.to_dict("records")] == [0, 0, 1, 0, 0]
    assert [r["endpoints"] for r in summary.to_dict("records")] == [3, 5, 5, 5, 2]
