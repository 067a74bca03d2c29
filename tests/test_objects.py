"""Course behaviour against the real API server (kwok simulates the nodes)."""

import threading

import pytest
from kubernetes import client, watch

from whyk8s.k8s import objects, specs
from whyk8s.errors import explain
from whyk8s.k8s.informer import PodWatcher


def wait_for_pod(cluster, predicate, timeout=60):
    """Watch course pods until ``predicate(pod)`` holds for one; return it (None on timeout)."""
    w = watch.Watch()
    for event in w.stream(cluster.core.list_namespaced_pod, cluster.namespace,
                          label_selector=cluster.selector, timeout_seconds=timeout):
        if predicate(event["object"]):
            w.stop()
            return event["object"]
    return None


def test_deploy_and_watch_to_running(cluster):
    seen = []
    running = threading.Event()

    def on_event(kind, pod):
        seen.append((kind, pod.metadata.name, pod.status.phase))
        if pod.metadata.name == "hello" and pod.status.phase == "Running":
            running.set()

    watcher = PodWatcher(cluster, on_event=on_event).start()
    try:
        objects.create(cluster, specs.pod("hello", cpu="250m", memory="64Mi"))
        assert running.wait(30), f"pod never reached Running; saw {seen}"
    finally:
        assert watcher.stop(5)
    phases = [p for k, n, p in seen if n == "hello"]
    assert phases[0] == "Pending" and phases[-1] == "Running"
    assert watcher.pods["hello"].spec.node_name


def test_gpu_pod_lands_on_gpu_node(cluster):
    objects.create(cluster, specs.pod("train", gpus=1))
    pod = wait_for_pod(cluster, lambda p: p.metadata.name == "train" and p.spec.node_name)
    node = cluster.core.read_node(pod.spec.node_name)
    assert node.metadata.labels["whyk8s.io/pool"] == "gpu"
    assert node.status.allocatable["nvidia.com/gpu"] == "4"


def test_too_many_gpus_stays_pending_with_scheduler_reason(cluster):
    objects.create(cluster, specs.pod("greedy", gpus=5))

    def unschedulable(p):
        return p.metadata.name == "greedy" and any(
            c.type == "PodScheduled" and c.reason == "Unschedulable" for c in (p.status.conditions or []))

    pod = wait_for_pod(cluster, unschedulable)
    assert pod is not None and pod.status.phase == "Pending" and not pod.spec.node_name
    cond = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert "Insufficient nvidia.com/gpu" in cond.message


def test_pod_without_toleration_avoids_gpu_node(cluster):
    d = specs.deployment("web", replicas=6, cpu="100m")
    objects.create(cluster, d)
    w = watch.Watch()
    placed = {}
    for event in w.stream(cluster.core.list_namespaced_pod, cluster.namespace,
                          label_selector="app=web", timeout_seconds=60):
        p = event["object"]
        if p.spec.node_name:
            placed[p.metadata.name] = p.spec.node_name
        if len(placed) == 6:
            w.stop()
    assert len(placed) == 6
    assert "whyk8s-worker3" not in placed.values()  # the tainted GPU worker


def test_replicaset_replaces_deleted_pod(cluster):
    objects.create(cluster, specs.deployment("svc", replicas=2))
    first = wait_for_pod(cluster, lambda p: p.metadata.labels.get("app") == "svc" and p.status.phase == "Running")
    owner = first.metadata.owner_references[0]
    assert owner.kind == "ReplicaSet"
    originals = {p.metadata.name for p in cluster.core.list_namespaced_pod(
        cluster.namespace, label_selector="app=svc").items}
    objects.delete_pod(cluster, first.metadata.name)
    replacement = wait_for_pod(cluster, lambda p: p.metadata.labels.get("app") == "svc"
                               and p.metadata.name not in originals)
    assert replacement is not None
    assert replacement.metadata.owner_references[0].uid == owner.uid


def test_scale_rejects_negative_and_scales(cluster):
    objects.create(cluster, specs.deployment("svc", replicas=1))
    with pytest.raises(ValueError, match="whole number"):
        objects.scale(cluster, "svc", -1)
    objects.scale(cluster, "svc", 3)
    assert cluster.apps.read_namespaced_deployment_scale("svc", cluster.namespace).spec.replicas == 3


def test_cleanup_leaves_zero_labelled_objects(cluster):
    objects.create(cluster, specs.deployment("svc", replicas=2))
    objects.create(cluster, specs.job("train", gpus=1))
    objects.create(cluster, specs.pod("solo"))
    cluster.ensure_namespace("team-a")
    objects.create(cluster, specs.pod("other"), namespace="team-a")
    # something the course did not create stays untouched
    cluster.core.create_namespaced_config_map(
        cluster.namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="not-ours"), data={"a": "b"}))
    try:
        counts = objects.cleanup(cluster)
        assert counts["Deployment"] == 1 and counts["Job"] == 1 and counts["Namespace"] == 1
        assert objects.course_objects(cluster, include_namespaces=True) == []
        assert cluster.core.read_namespaced_config_map("not-ours", cluster.namespace).data == {"a": "b"}
    finally:
        cluster.core.delete_namespaced_config_map("not-ours", cluster.namespace)


def test_api_error_is_one_sentence(cluster):
    # shared/cases api-error-text: the API server rejects a name; the learner reads one sentence.
    bad = specs.pod("fine")
    bad.metadata.name = "Not_Valid"
    with pytest.raises(client.ApiException) as err:
        cluster.core.create_namespaced_pod(cluster.namespace, bad)
    sentence = explain(err.value)
    assert "Not_Valid" in sentence and "RFC 1123" in sentence
    assert "HTTP" not in sentence and "{" not in sentence and "\n" not in sentence


def test_forbidden_or_missing_namespace_is_explained(cluster):
    with pytest.raises(client.ApiException) as err:
        cluster.core.create_namespaced_pod("no-such-namespace", specs.pod("x"))
    assert explain(err.value) == 'Namespaces "no-such-namespace" not found.'
