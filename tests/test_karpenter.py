"""Karpenter with its kwok provider, built from the Go module proxy and run by the course against the real
API server of the kwok cluster (real kube-apiserver, kube-scheduler, job controller; kwok simulates
only the nodes, including the Nodes Karpenter's kwok provider creates).

On kwok a Job's pod succeeds the moment it runs (kwok's ``pod-complete`` stage), so "the jobs finish"
follows at once from "the pods run": the pool then has nothing to hold and consolidates.
"""

import pytest
from kubernetes import client

from whyk8s.cluster import karpenter
from whyk8s.k8s import objects
from whyk8s.lessons import gpu_pools
from localprocess_checks import (crds, kill_and_wait_reaped, process_leftovers, quiet, running_fixture,
                                 stale_pid_file_is_ignored, started_from_nothing, up_removes_leftovers, wait_for)

pytestmark = [pytest.mark.karpenter, pytest.mark.kwok]


def _custom(cluster):
    return client.CustomObjectsApi(cluster.api)


def _nodeclaims(cluster) -> list[str]:
    names = {c.metadata.name for c in client.ApiextensionsV1Api(cluster.api).list_custom_resource_definition().items}
    if f"nodeclaims.{karpenter.GROUP}" not in names:
        return []
    return [c["metadata"]["name"] for c in _custom(cluster).list_cluster_custom_object(
        karpenter.GROUP, karpenter.VERSION, "nodeclaims")["items"]]


def _karpenter_leftovers(cluster) -> list[str]:
    left = crds(cluster, karpenter.CRD_GROUPS)
    left += [f"nodeclaim/{n}" for n in _nodeclaims(cluster)]
    left += [f"node/{n.metadata.name}" for n in cluster.core.list_node().items
             if karpenter.NODEPOOL_LABEL in (n.metadata.labels or {})
             or (n.spec.provider_id or "").startswith("kwok://")]
    return left + process_leftovers(karpenter)


def test_karpenter_starts_from_nothing_and_stop_leaves_nothing(cluster):
    with started_from_nothing(karpenter, cluster, _karpenter_leftovers) as st:
        assert set(st.crds) == {"nodepools.karpenter.sh", "nodeclaims.karpenter.sh", "nodeoverlays.karpenter.sh",
                                "capacitybuffers.autoscaling.x-k8s.io", "kwoknodeclasses.karpenter.kwok.sh"}
        assert st.nodepools == () and st.nodeclaims == () and st.nodes == ()
        env = open(f"/proc/{st.pid}/environ", "rb").read().split(b"\0")
        assert b"DISABLE_LEADER_ELECTION=true" in env


karpenter_running = running_fixture(karpenter, _karpenter_leftovers)


@pytest.fixture
def gpu_pool(cluster, karpenter_running):
    """The GPU NodePool (empty, consolidating after 5 s); deleted afterwards with whatever it made."""
    gpu_pools.create_gpu_pool(cluster, consolidate_after="5s")
    yield cluster
    objects.cleanup(cluster)
    gpu_pools.delete_gpu_pool(cluster)


def test_pending_gpu_jobs_get_new_karpenter_nodes_and_the_pool_consolidates_to_zero(gpu_pool):
    cluster = gpu_pool
    assert gpu_pools.node_board(cluster).query("pool == 'gpu-burst'").empty  # the pool starts empty
    with gpu_pools.NodeWatch(cluster) as w:
        for i in range(3):
            objects.create(cluster, gpu_pools.gpu_job(f"train-{i}", gpus=1))
        # no node of the layout has the pool's label: only a Node Karpenter makes can take the pods
        done = wait_for("the three GPU Jobs complete", lambda: all(
            (cluster.batch.read_namespaced_job(f"train-{i}", cluster.namespace).status.succeeded or 0) == 1
            for i in range(3)), timeout=90)
        assert done
        pods = cluster.core.list_namespaced_pod(cluster.namespace, label_selector="job-name").items
        assert len(pods) == 3 and all(p.status.phase == "Succeeded" for p in pods)
        made = {e["node"] for e in w.events if e.get("karpenter") and e["event"] == "joined"}
        assert made, "Karpenter made no Node"
        for pod in pods:
            assert pod.spec.node_name in made, f"{pod.metadata.name} ran on {pod.spec.node_name}, not a new node"
        ready = {e["node"] for e in w.events if e.get("karpenter") and e["event"] == "ready"}
        assert made == ready, "a Karpenter Node never became Ready (kwok's controller did not take it)"
        joined = [e for e in w.events if e["node"] in made and e["event"] == "joined"]
        assert {e["pool"] for e in joined} == {"gpu-burst"}
        board = gpu_pools.node_board(cluster).query("made_by == 'karpenter'")
        assert set(board["node"]) <= made and not board.empty
        assert (board["pool"] == "gpu-burst").all() and board["ready"].all() and (board["gpus"] >= 1).all()
        assert (board["age_s"] < 120).all()
        # the pool's taint is on each Node once Karpenter has registered it (the kwok provider creates the
        # Node with karpenter.sh/unregistered:NoExecute only); the Nodes stay at least consolidateAfter
        for n in karpenter.karpenter_nodes(cluster):
            assert n.metadata.name in made
            assert [(t.key, t.value, t.effect) for t in n.spec.taints] == [("nvidia.com/gpu", "present", "NoSchedule")]
        assert {e["instance_type"] for e in joined} <= {"gpu-1x", "gpu-4x"}
        assert sum(e["gpus"] for e in joined) >= 3
        # the Jobs are done: the empty Nodes go after consolidateAfter (5 s)
        wait_for("the pool consolidates back to zero Nodes", lambda: not karpenter.karpenter_nodes(cluster)
              and not _nodeclaims(cluster), timeout=150)
    left = {e["node"] for e in w.events if e["event"] == "left"}
    assert made <= left
    life = w.lifetimes()
    assert set(life["node"]) == made and (life["lifetime_s"] > 0).all()
    cost = gpu_pools.gpu_hours(life)
    assert 0 < cost["gpu_hours"] < 1 and cost["cost"] > 0


def test_the_pool_limit_caps_the_gpus_karpenter_adds(cluster, karpenter_running):
    """With ``limits: nvidia.com/gpu: 1`` Karpenter adds one 1-GPU node for two waiting GPU pods, never
    a second node or a 4-GPU one (without a limit, three such pods created at once got one gpu-4x:
    benchmarks/RESULTS.md)."""
    gpu_pools.create_gpu_pool(cluster, max_gpus=1, consolidate_after="5s")
    try:
        with gpu_pools.NodeWatch(cluster) as w:
            for i in range(2):
                objects.create(cluster, gpu_pools.gpu_job(f"capped-{i}", gpus=1))
            wait_for("both Jobs complete", lambda: all(
                (cluster.batch.read_namespaced_job(f"capped-{i}", cluster.namespace).status.succeeded or 0) == 1
                for i in range(2)), timeout=90)
        joined = [e for e in w.events if e.get("karpenter") and e["event"] == "joined"]
        assert [e["instance_type"] for e in joined] and {e["instance_type"] for e in joined} == {"gpu-1x"}
        alive, most = 0, 0
        for e in w.events:
            if e.get("karpenter") and e["event"] in ("joined", "left"):
                alive += 1 if e["event"] == "joined" else -1
                most = max(most, alive)
        assert most == 1
    finally:
        objects.cleanup(cluster)
        gpu_pools.delete_gpu_pool(cluster)


def test_delete_gpu_pool_leaves_a_nodepool_the_course_did_not_make(cluster, karpenter_running):
    api = _custom(cluster)
    foreign = gpu_pools.gpu_node_pool_spec("foreign")
    del foreign["metadata"]["labels"]
    api.create_cluster_custom_object(karpenter.GROUP, karpenter.VERSION, "nodepools", foreign)
    try:
        gpu_pools.create_gpu_pool(cluster)
        assert gpu_pools.delete_gpu_pool(cluster) == ["gpu-burst"]
        names = [p["metadata"]["name"] for p in api.list_cluster_custom_object(
            karpenter.GROUP, karpenter.VERSION, "nodepools")["items"]]
        assert names == ["foreign"]
        with pytest.raises(Exception, match="not made by the course"):
            gpu_pools.create_gpu_pool(cluster, name="foreign")
    finally:
        api.delete_cluster_custom_object(karpenter.GROUP, karpenter.VERSION, "nodepools", "foreign")


def test_cluster_up_removes_what_a_dead_karpenter_left_behind(cluster):
    """Karpenter killed while its Node exists leaves the Node with Karpenter's finalizer and the CRDs; the
    kwok provider's ``up`` removes them."""
    st = karpenter.start(cluster, log=quiet)
    gpu_pools.create_gpu_pool(cluster, consolidate_after="5m")
    objects.create(cluster, gpu_pools.gpu_job("orphan", gpus=1))
    # registered: Karpenter has put its termination finalizer on the Node
    wait_for("Karpenter makes and registers a Node", lambda: [
        n for n in karpenter.karpenter_nodes(cluster)
        if any(f.startswith("karpenter.sh/") for f in n.metadata.finalizers or [])], timeout=60)
    kill_and_wait_reaped(st.pid)
    # the Job and the NodePool go; the NodeClaim keeps Karpenter's finalizer (no Karpenter to release it)
    objects.cleanup(cluster, wait=False, timeout=5)
    up_removes_leftovers(cluster, _karpenter_leftovers, "Karpenter was not running")


def test_a_pid_file_naming_another_process_is_not_karpenter(cluster):
    stale_pid_file_is_ignored(karpenter, cluster)
