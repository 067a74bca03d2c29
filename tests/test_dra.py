"""Dynamic Resource Allocation on the kwok cluster: the course publishes devices, the real v1.36
scheduler allocates them, and the facts chapter 4a states come from these runs.

Unit tests check the pure spec builders; the ``kwok`` tests run against the real API server,
scheduler and resourceclaim controller (kwok simulates only the nodes: no kubelet, no DRA driver).
"""

import time

import pytest
from kubernetes import client

from whyk8s import GPU_RESOURCE, PART_OF_LABEL
from whyk8s.errors import WaitTimeoutError
from whyk8s.k8s import objects
from whyk8s.k8s.quantities import parse_memory
from whyk8s.k8s.waits import wait_until_gone
from whyk8s.lessons import dra, placement

GIB = 2**30
#: What the v1.36 scheduler says about a pod whose claim no published device can satisfy.
CANNOT_ALLOCATE = "0/4 nodes are available: 4 cannot allocate all claims."


# -- pure spec building -------------------------------------------------------------------------------

def test_the_slice_publishes_four_gpus_of_the_gpu_worker_as_one_pool_of_the_course_driver():
    body = dra.resource_slice_spec()
    spec = body["spec"]
    assert body["apiVersion"] == "resource.k8s.io/v1" and body["kind"] == "ResourceSlice"
    assert body["metadata"]["labels"] == {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
    assert spec["driver"] == "gpu.whyk8s.example" != "gpu.nvidia.com"
    assert spec["nodeName"] == dra.gpu_node() == "whyk8s-worker3"
    assert spec["pool"] == {"name": "whyk8s-worker3", "generation": 1, "resourceSliceCount": 1}
    memories = [parse_memory(d["capacity"]["memory"]["value"]) / GIB for d in spec["devices"]]
    assert memories == [80, 80, 40, 40]
    assert {d["attributes"]["model"]["string"] for d in spec["devices"]} == {"A100-SXM4-80GB", "A100-SXM4-40GB"}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_a_pool_generation_must_be_a_whole_number_from_1(bad):
    with pytest.raises(ValueError, match="generation"):
        dra.resource_slice_spec(generation=bad)


def test_device_names_must_be_unique_dns_labels_and_memories_quantities():
    with pytest.raises(ValueError, match="unique"):
        dra.resource_slice_spec(devices=(dra.Device("gpu-0", "m", "1Gi"), dra.Device("gpu-0", "m", "1Gi")))
    with pytest.raises(ValueError, match="DNS label"):
        dra.resource_slice_spec(devices=(dra.Device("gpu.0", "m", "1Gi"),))
    with pytest.raises(ValueError):
        dra.resource_slice_spec(devices=(dra.Device("gpu-0", "m", "lots"),))


def test_the_memory_selector_compares_the_capacity_as_a_quantity():
    assert dra.memory_selector("40Gi") == \
        "device.capacity['gpu.whyk8s.example'].memory.compareTo(quantity('40Gi')) >= 0"
    assert dra.memory_selector(1024) == \
        "device.capacity['gpu.whyk8s.example'].memory.compareTo(quantity('1024')) >= 0"
    with pytest.raises(ValueError):
        dra.memory_selector("40m")  # millibytes: not a memory size


def test_the_claim_template_asks_for_exactly_one_device_of_the_class_with_the_selector_and_labels_its_claims():
    body = dra.claim_template_spec("gpu-40gi", "40Gi")
    labels = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
    assert body["metadata"] == {"name": "gpu-40gi", "labels": labels}
    assert body["spec"]["metadata"] == {"labels": labels}  # copied into each claim made from it
    (request,) = body["spec"]["spec"]["devices"]["requests"]
    assert request["name"] == dra.CLAIM_NAME
    assert request["exactly"] == {"deviceClassName": dra.DEVICE_CLASS, "count": 1,
                                  "selectors": [{"cel": {"expression": dra.memory_selector("40Gi")}}]}
    with pytest.raises(ValueError):
        dra.claim_template_spec("Big_GPU")


def test_the_training_job_claims_a_device_instead_of_counting_gpus():
    job = dra.training_job("train-llm", "gpu-40gi")
    spec = job.spec.template.spec
    assert [(c.name, c.resource_claim_template_name) for c in spec.resource_claims] == [("gpu", "gpu-40gi")]
    assert [c.name for c in spec.containers[0].resources.claims] == ["gpu"]
    assert GPU_RESOURCE not in (spec.containers[0].resources.requests or {})
    assert [(t.key, t.effect) for t in spec.tolerations] == [(GPU_RESOURCE, "NoSchedule")]
    assert spec.node_selector is None  # the claim chooses the node
    with pytest.raises(ValueError):
        dra.training_job("train-llm", "Not_A_Template")


# -- on the kwok cluster --------------------------------------------------------------------------------

@pytest.fixture
def dra_cluster(cluster):
    """The course cluster with the course's devices published; afterwards the pods, then the DRA
    objects, are deleted (only the labelled ones)."""
    dra.clean_up(cluster)
    dra.publish(cluster)
    yield cluster
    objects.cleanup(cluster)
    dra.clean_up(cluster)


def _claim_of(cluster, pod: str):
    api = client.ResourceV1Api(cluster.api)
    (name,) = [s.resource_claim_name for s in cluster.core.read_namespaced_pod(pod, cluster.namespace)
               .status.resource_claim_statuses]
    return api.read_namespaced_resource_claim(name, cluster.namespace)


@pytest.mark.kwok
def test_published_devices_are_served_and_a_republished_pool_gets_a_new_generation(dra_cluster):
    table = dra.published_devices(dra_cluster)
    assert list(table["device"]) == ["gpu-0", "gpu-1", "gpu-2", "gpu-3"]
    assert list(table["memory_gib"]) == [80, 80, 40, 40]
    assert set(table["node"]) == {"whyk8s-worker3"} and set(table["generation"]) == {1}
    assert dra.publish(dra_cluster)["generation"] == 2
    assert set(dra.published_devices(dra_cluster)["generation"]) == {2}


@pytest.mark.kwok
def test_the_api_server_refuses_a_selector_comparing_a_quantity_with_a_number(dra_cluster):
    body = dra.claim_template_spec("wrong-cel")
    body["spec"]["spec"]["devices"]["requests"][0]["exactly"]["selectors"][0]["cel"]["expression"] = \
        "device.capacity['gpu.whyk8s.example'].memory >= 40"
    with pytest.raises(client.ApiException) as err:
        client.ResourceV1Api(dra_cluster.api).create_namespaced_resource_claim_template(
            dra_cluster.namespace, body)
    assert err.value.status == 422 and "no matching overload" in err.value.body


@pytest.mark.kwok
def test_a_job_claiming_40gi_gets_a_device_of_at_least_40gi_on_the_gpu_node_then_its_claim_goes(dra_cluster):
    dra.create_claim_template(dra_cluster, "gpu-40gi", "40Gi")
    got = dra.submit(dra_cluster, dra.training_job("train-llm", "gpu-40gi"))
    assert got["allocated"] and got["driver"] == dra.DRIVER and got["pool"] == "whyk8s-worker3"
    assert got["node"] == dra.gpu_node()
    assert parse_memory(got["memory"]) >= 40 * GIB
    assert got["reserved_for"] == [got["pod"]] and got["pod"].startswith("train-llm-")
    # The allocator takes the first device that fits, in the slice's order: an 80 GiB GPU, although
    # a 40 GiB one would have done (it does not keep the big devices for big claims).
    assert (got["device"], got["memory"]) == ("gpu-0", "80Gi")
    # On kwok the Job's pod succeeds at once; the claim made for it is then deleted.
    ns = dra_cluster.namespace
    assert wait_until_gone(dra._claim_lister(dra_cluster, ns), ns, deadline=time.monotonic() + 10) == set()
    pod = dra_cluster.core.read_namespaced_pod(got["pod"], dra_cluster.namespace)
    assert pod.status.phase == "Succeeded" and pod.spec.node_name == "whyk8s-worker3"


@pytest.mark.kwok
def test_kwok_runs_the_pod_although_no_driver_prepared_its_device(dra_cluster):
    dra.create_claim_template(dra_cluster, "gpu-40gi", "40Gi")
    got = dra.submit(dra_cluster, dra.claiming_pod("serve", "gpu-40gi"))
    pods = placement.wait_placed(dra_cluster, "serve", 1, running=True)
    assert list(pods["node"]) == ["whyk8s-worker3"] and list(pods["status"]) == ["Running"]
    claim = _claim_of(dra_cluster, "serve")
    assert [r.name for r in claim.status.reserved_for] == ["serve"] == got["reserved_for"]
    assert claim.status.devices is None  # a real driver may report its device's status here
    assert dra.claims(dra_cluster) == [got]


@pytest.mark.kwok
def test_a_claim_larger_than_any_device_stays_unallocated_and_its_pod_pending(dra_cluster):
    dra.create_claim_template(dra_cluster, "gpu-100gi", "100Gi")
    with pytest.raises(WaitTimeoutError, match="was not allocated"):
        dra.submit(dra_cluster, dra.claiming_pod("huge", "gpu-100gi"), timeout=3)
    assert placement.why_pending(dra_cluster, "huge").startswith(CANNOT_ALLOCATE)
    claim = _claim_of(dra_cluster, "huge")
    assert claim.status.allocation is None and not claim.status.reserved_for
    events = dra_cluster.core.list_namespaced_event(dra_cluster.namespace,
                                                     field_selector="involvedObject.name=huge").items
    assert any(e.reason == "FailedScheduling" and e.message.startswith(CANNOT_ALLOCATE) for e in events)


@pytest.mark.kwok
def test_two_80gi_gpus_serve_two_pods_the_third_waits_until_one_is_freed(dra_cluster):
    dra.create_claim_template(dra_cluster, "gpu-80gi", "80Gi")
    first = dra.submit(dra_cluster, dra.claiming_pod("serve-a", "gpu-80gi"))
    second = dra.submit(dra_cluster, dra.claiming_pod("serve-b", "gpu-80gi"))
    assert {first["device"], second["device"]} == {"gpu-0", "gpu-1"}
    with pytest.raises(WaitTimeoutError):
        dra.submit(dra_cluster, dra.claiming_pod("serve-c", "gpu-80gi"), timeout=3)
    assert placement.why_pending(dra_cluster, "serve-c").startswith(CANNOT_ALLOCATE)
    # the 40 GiB GPUs are still free: the selector, not a count, kept serve-c out
    assert {c["device"] for c in dra.claims(dra_cluster) if c["allocated"]} == {"gpu-0", "gpu-1"}
    objects.delete_pod(dra_cluster, "serve-a")
    third = dra.wait_for_allocation(dra_cluster, pod="serve-c")
    assert third["device"] == first["device"]


@pytest.mark.kwok
def test_clean_up_deletes_every_labelled_dra_object_and_nothing_else(dra_cluster):
    api = client.ResourceV1Api(dra_cluster.api)
    dra.create_claim_template(dra_cluster, "gpu-40gi", "40Gi")
    dra.submit(dra_cluster, dra.claiming_pod("serve", "gpu-40gi"))
    foreign = {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "someone-else.example"},
               "spec": {"selectors": [{"cel": {"expression": 'device.driver == "someone-else.example"'}}]}}
    api.create_device_class(foreign)
    try:
        objects.delete_pod(dra_cluster, "serve")  # a claim stays while its pod holds it
        wait_until_gone(dra_cluster.core.list_namespaced_pod, dra_cluster.namespace,
                        field_selector="metadata.name=serve", deadline=time.monotonic() + 30)
        counts = dra.clean_up(dra_cluster)
        counts.pop("ResourceClaim", None)  # the garbage collector may delete it first (its pod is gone)
        assert counts == {"ResourceClaimTemplate": 1, "DeviceClass": 1, "ResourceSlice": 1}
        assert api.list_resource_slice().items == []
        assert api.list_namespaced_resource_claim(dra_cluster.namespace).items == []
        assert api.list_namespaced_resource_claim_template(dra_cluster.namespace).items == []
        assert [c.metadata.name for c in api.list_device_class().items] == ["someone-else.example"]
    finally:
        api.delete_device_class("someone-else.example")


@pytest.mark.kwok
def test_objects_cleanup_deletes_the_dra_objects_too(dra_cluster):
    """`objects.cleanup`, the end of every chapter, knows the DRA kinds: chapter 4a's count of what is
    left (`dra.left`) covers all four."""
    dra.create_claim_template(dra_cluster, "gpu-40gi", "40Gi")
    dra.submit(dra_cluster, dra.claiming_pod("serve", "gpu-40gi"))
    assert {r.kind for r in dra.left(dra_cluster)} == set(dra.KINDS)
    counts = objects.cleanup(dra_cluster)
    assert (counts["ResourceClaimTemplate"], counts["DeviceClass"], counts["ResourceSlice"]) == (1, 1, 1)
    assert dra.left(dra_cluster) == [] and dra.clean_up(dra_cluster) == {}


@pytest.mark.kwok
def test_the_chapters_tidy_leaves_the_published_devices_while_a_workshop_is_up(dra_cluster):
    """Instructor B: chapter 4a's DRA clean-up, run by the instructor, would remove the DeviceClass and
    ResourceSlices of the whole room while participants use them. With a participant's namespace
    present, :func:`dra.tidy` keeps them and says so; once it is gone, the same call removes them."""
    from whyk8s import PARTICIPANT_LABEL
    cluster = dra_cluster
    dra.publish(cluster)
    ns = client.V1Namespace(metadata=client.V1ObjectMeta(
        name="whyk8s-p99", labels={PART_OF_LABEL[0]: PART_OF_LABEL[1], PARTICIPANT_LABEL: "p99"}))
    cluster.core.create_namespace(ns)
    try:
        assert dra.workshop_is_up(cluster)
        said = dra.tidy(cluster)
        kinds = sorted(str(r).split()[0] for r in dra.left(cluster))
        assert kinds == ["DeviceClass", "ResourceSlice"], kinds
        assert "stay because a workshop is up" in said, said
    finally:
        cluster.core.delete_namespace("whyk8s-p99")
        wait_until_gone(cluster.core.list_namespace, field_selector="metadata.name=whyk8s-p99",
                        deadline=time.monotonic() + 60)
    assert not dra.workshop_is_up(cluster)
    assert dra.tidy(cluster) == "DRA objects of the course left: 0."
