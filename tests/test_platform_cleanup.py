"""`objects.cleanup` and `objects.course_objects` know the kinds of the ML-platform chapters: Kueue's
(4c, lab 7), Karpenter's (4d) and DRA's (4a), against the real API server of the kwok cluster with
the real Kueue and Karpenter running. Only course-labelled objects go; a kind whose CRD is not
installed is skipped."""

import time

import pytest
from kubernetes import client

from whyk8s import GPU_RESOURCE
from whyk8s.cluster import karpenter, kueue
from whyk8s.k8s import objects, specs
from whyk8s.lessons import dra, gpu_pools, queueing

pytestmark = [pytest.mark.kwok]

KUEUE = (queueing.GROUP, queueing.VERSION)


def _kinds(cluster, **kw) -> set[str]:
    return {r.kind for r in objects.course_objects(cluster, **kw)}


@pytest.fixture
def kueue_running(course_cluster):
    kueue.start(course_cluster, log=lambda *_: None)
    yield
    kueue.stop(course_cluster, log=lambda *_: None)


@pytest.mark.kueue
def test_cleanup_deletes_the_course_kueue_objects_and_leaves_an_unlabelled_one(cluster, kueue_running):
    api = client.CustomObjectsApi(cluster.api)
    queueing.resource_flavors(cluster, ["gpu"])
    queueing.cluster_queue(cluster, "team-a", {"gpu": {"cpu": 4, "memory": "8Gi", GPU_RESOURCE: 1}}, cohort=None)
    queueing.local_queue(cluster, "team-a", "team-a")
    queueing.workload_priority_classes(cluster)
    objects.create(cluster, queueing.queued_job("held", "team-queue", gpus=1, held=True), namespace="team-a")
    foreign = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "not-the-course"},
               "spec": {"namespaceSelector": {}, "resourceGroups": []}}
    api.create_cluster_custom_object(*KUEUE, "clusterqueues", foreign)
    try:
        deadline = time.monotonic() + 30
        while not api.list_namespaced_custom_object(*KUEUE, "team-a", "workloads")["items"]:
            assert time.monotonic() < deadline, "Kueue made no Workload for the held Job"
            time.sleep(0.2)
        assert {"ResourceFlavor", "ClusterQueue", "LocalQueue", "WorkloadPriorityClass"} <= _kinds(cluster)
        assert "not-the-course" not in {r.name for r in objects.course_objects(cluster)}
        counts = objects.cleanup(cluster, timeout=60)
        assert counts["ClusterQueue"] == 1 and counts["ResourceFlavor"] == 1 and counts["LocalQueue"] == 1
        assert counts["WorkloadPriorityClass"] == len(queueing.PRIORITIES)
        assert objects.course_objects(cluster, include_namespaces=True) == []
        for plural in ("clusterqueues", "resourceflavors", "workloadpriorityclasses"):
            assert api.list_cluster_custom_object(*KUEUE, plural, label_selector=cluster.selector)["items"] == []
        assert api.list_cluster_custom_object(*KUEUE, "workloads")["items"] == []  # went with the Job
        api.get_cluster_custom_object(*KUEUE, "clusterqueues", "not-the-course")  # left alone
    finally:
        api.delete_cluster_custom_object(*KUEUE, "clusterqueues", "not-the-course")


@pytest.mark.karpenter
def test_cleanup_deletes_the_course_node_pool_its_node_claims_and_node_class(cluster):
    karpenter.start(cluster, log=lambda *_: None)
    try:
        gpu_pools.create_gpu_pool(cluster, consolidate_after="5s")
        objects.create(cluster, gpu_pools.gpu_job("wants-a-node"))
        # the Job ran on the pool's new Node (kwok: succeeded at once), so the Node has registered
        ran_on = gpu_pools.wait_for_jobs(cluster, ["wants-a-node"], timeout=90)
        assert ran_on["wants-a-node"].startswith("kwok-gpu-burst-")
        assert {"NodePool", "NodeClaim", "KWOKNodeClass"} <= _kinds(cluster)
        counts = objects.cleanup(cluster, timeout=120)
        assert counts["NodePool"] == 1 and counts["KWOKNodeClass"] == 1
        assert objects.course_objects(cluster, include_namespaces=True) == []
        gpu_pools.wait_for_pool_empty(cluster, timeout=60)  # and Karpenter removed the pool's Node
    finally:
        karpenter.stop(cluster, log=lambda *_: None)


def test_cleanup_deletes_every_course_dra_kind_and_leaves_an_unlabelled_template(cluster):
    resource = client.ResourceV1Api(cluster.api)
    dra.publish(cluster)
    dra.create_claim_template(cluster, "gpu-40gi", "40Gi")
    objects.create(cluster, dra.claiming_pod("serve", "gpu-40gi"))
    dra.wait_for_allocation(cluster, pod="serve")
    foreign = dra.claim_template_spec("not-the-course", "40Gi")
    del foreign["metadata"]["labels"]
    resource.create_namespaced_resource_claim_template(cluster.namespace, foreign)
    try:
        assert _kinds(cluster, kinds=dra.KINDS) == set(dra.KINDS)
        counts = objects.cleanup(cluster)
        assert counts["DeviceClass"] == counts["ResourceSlice"] == counts["ResourceClaimTemplate"] == 1
        assert objects.course_objects(cluster, kinds=dra.KINDS) == []
        assert resource.list_namespaced_resource_claim(cluster.namespace).items == []
        resource.read_namespaced_resource_claim_template("not-the-course", cluster.namespace)  # left alone
    finally:
        resource.delete_namespaced_resource_claim_template("not-the-course", cluster.namespace)


def test_kinds_whose_crd_is_not_installed_are_skipped(cluster):
    kueue.stop(cluster, log=lambda *_: None)
    karpenter.stop(cluster, log=lambda *_: None)
    ext = client.ApiextensionsV1Api(cluster.api)
    groups = {c.spec.group for c in ext.list_custom_resource_definition().items}
    assert not groups & {queueing.GROUP, karpenter.GROUP, karpenter.NODECLASS_GROUP}
    objects.create(cluster, specs.pod("plain"))
    assert _kinds(cluster) == {"Pod"}
    assert objects.cleanup(cluster) == {"Pod": 1}
    assert objects.course_objects(cluster, include_namespaces=True) == []
