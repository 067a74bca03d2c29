"""The namespace half of the guard (k8s/guard.py: Cluster.check_namespace, ensure_namespace,
is_course_labelled) against the real API server: the course creates, changes and deletes only in
its own namespace or in namespaces it created."""

import uuid

import pytest
from kubernetes import client

from whyk8s import PART_OF_LABEL
from whyk8s.errors import NamespaceRefused
from whyk8s.k8s.guard import SYSTEM_NAMESPACES, is_course_labelled


def _names(cluster):
    return {n.metadata.name for n in cluster.core.list_namespace().items}


@pytest.mark.parametrize("name", [*SYSTEM_NAMESPACES, "kube-flannel"])
def test_the_clusters_own_namespaces_are_refused_without_a_request(cluster, name):
    real = cluster.api.configuration.host
    cluster.api.configuration.host = "https://127.0.0.1:1"  # a request would fail differently
    try:
        with pytest.raises(NamespaceRefused, match="belongs to the cluster itself"):
            cluster.check_namespace(name)
        with pytest.raises(NamespaceRefused):
            cluster.ensure_namespace(name)
    finally:
        cluster.api.configuration.host = real


@pytest.mark.parametrize("name, fragment", [("Team_A", "not a valid Kubernetes name"),
                                            ("team.a", "cannot contain '.'"), ("-team", "start and end")])
def test_an_invalid_namespace_name_is_bad_input(cluster, name, fragment):
    before = _names(cluster)
    with pytest.raises(ValueError, match=fragment):
        cluster.ensure_namespace(name)
    assert _names(cluster) == before


def test_an_existing_namespace_without_the_course_label_is_refused_and_left_alone(cluster):
    name = f"their-{uuid.uuid4().hex[:6]}"
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"team": "x"})))
    try:
        with pytest.raises(NamespaceRefused, match="was not created by the course"):
            cluster.check_namespace(name)
        with pytest.raises(NamespaceRefused):
            cluster.ensure_namespace(name)
        assert cluster.core.read_namespace(name).metadata.labels.get(PART_OF_LABEL[0]) is None
    finally:
        cluster.core.delete_namespace(name)


def test_a_missing_namespace_is_allowed_and_checking_creates_nothing(cluster):
    name = f"whyk8s-{uuid.uuid4().hex[:6]}"
    assert cluster.check_namespace(name) == name
    assert name not in _names(cluster)
    try:
        assert cluster.ensure_namespace(name) == name
        ns = cluster.core.read_namespace(name)
        assert is_course_labelled(ns) and ns.metadata.labels[PART_OF_LABEL[0]] == PART_OF_LABEL[1]
        assert cluster.check_namespace(name) == name  # now it is one the course created
        assert cluster.ensure_namespace(name) == name  # and ensuring again changes nothing
    finally:
        cluster.core.delete_namespace(name)


def test_the_course_namespace_is_always_allowed(cluster):
    assert cluster.check_namespace() == cluster.namespace
    assert cluster.ensure_namespace() == cluster.namespace
    assert is_course_labelled(cluster.core.read_namespace(cluster.namespace))


def test_is_course_labelled_reads_only_the_course_label():
    def obj(labels):
        return client.V1Pod(metadata=client.V1ObjectMeta(name="x", labels=labels))
    assert is_course_labelled(obj({PART_OF_LABEL[0]: PART_OF_LABEL[1]}))
    assert not is_course_labelled(obj({PART_OF_LABEL[0]: "someone-else"}))
    assert not is_course_labelled(obj({"app": "whyk8s"}))
    assert not is_course_labelled(obj(None)) and not is_course_labelled(None)
