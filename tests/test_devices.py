"""The device manifests chapter 4a shows: the DRA ones must be valid on the course's v1.36 API server."""

import pytest
from kubernetes import client

from whyk8s.lessons import devices


@pytest.mark.parametrize("name", devices.DRA_EXAMPLES)
def test_dra_example_is_accepted_by_the_v1_36_api_server_and_nothing_is_stored(cluster, name):
    said = devices.dry_run(cluster, name)
    assert said.endswith("accepted by the API server (" + devices.manifest(name)["apiVersion"] + ", dry run).")
    resource = client.ResourceV1Api(cluster.api)
    assert resource.list_device_class().items == []
    assert resource.list_namespaced_resource_claim_template(cluster.namespace).items == []
    assert cluster.core.list_namespaced_pod(cluster.namespace).items == []


def test_an_invalid_claim_is_refused_by_the_server_so_the_dry_run_checks_something(cluster):
    body = devices.manifest("claim-template")
    body["spec"]["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] = "Not_A_Class"
    with pytest.raises(client.ApiException) as err:
        client.ResourceV1Api(cluster.api).create_namespaced_resource_claim_template(
            cluster.namespace, body, dry_run="All")
    assert err.value.status == 422 and "deviceClassName" in err.value.body


def test_every_example_is_yaml_with_a_kind():
    for name in devices.EXAMPLES:
        assert devices.manifest(name)["kind"]
    with pytest.raises(KeyError, match="choose one of"):
        devices.manifest("nope")
