"""The course's waits against the real API server: each is a predicate over one watched collection."""

import threading
import time

import pytest

from whyk8s.errors import ClusterUnreachableError, WaitTimeoutError
from whyk8s.k8s import objects, specs
from whyk8s.k8s.waits import wait_for_pods, wait_for_rollout, wait_until_gone, watch_until


def test_wait_until_gone_returns_when_the_last_labelled_pod_is_deleted(cluster):
    for name in ("gone-1", "gone-2"):
        objects.create(cluster, specs.pod(name))
    timer = threading.Timer(1.5, lambda: [objects.delete_pod(cluster, n) for n in ("gone-1", "gone-2")])
    timer.start()
    try:
        left = wait_until_gone(cluster.core.list_namespaced_pod, cluster.namespace,
                               label_selector=cluster.selector, deadline=time.monotonic() + 30)
    finally:
        timer.join()
    assert left == set()
    assert cluster.core.list_namespaced_pod(cluster.namespace, label_selector=cluster.selector).items == []


def test_wait_until_gone_names_what_is_left_at_the_deadline_and_sees_newcomers(cluster):
    objects.create(cluster, specs.pod("stays"))
    seen = []

    def present(pod):
        seen.append(pod.metadata.name)
        if pod.metadata.name == "stays":  # a newcomer arrives while the wait is on
            objects.create(cluster, specs.pod("newcomer"))

    left = wait_until_gone(cluster.core.list_namespaced_pod, cluster.namespace, label_selector=cluster.selector,
                           deadline=time.monotonic() + 4, on_present=present)
    assert left == {"stays", "newcomer"}
    assert seen == ["stays", "newcomer"]


def test_watch_until_with_no_time_left_still_lists_once(cluster):
    objects.create(cluster, specs.pod("there"))
    objs = watch_until(cluster.core.list_namespaced_pod, cluster.namespace, label_selector=cluster.selector,
                       done=lambda objs: False, timeout=0)
    assert set(objs) == {"there"}


def test_a_wait_on_a_cluster_that_does_not_answer_says_so(cluster):
    real = cluster.api.configuration.host
    cluster.api.configuration.host = "https://127.0.0.1:1"
    try:
        started = time.monotonic()
        with pytest.raises(ClusterUnreachableError, match="did not answer"):
            wait_for_pods(cluster, lambda pods: False, timeout=3)
        assert time.monotonic() - started < 10
    finally:
        cluster.api.configuration.host = real


def test_wait_for_pods_times_out_naming_each_pods_status(cluster):
    objects.create(cluster, specs.pod("greedy", gpus=9))
    with pytest.raises(WaitTimeoutError) as err:
        wait_for_pods(cluster, lambda pods: pods.get("greedy") is not None and pods["greedy"].spec.node_name,
                      timeout=3)
    assert "greedy (Pending: 0/" in str(err.value) and "Insufficient nvidia.com/gpu" in str(err.value)


def test_rollout_reports_steps_and_the_same_image_again_does_not_hang(cluster):
    """Learner route: the widget rolled out an image, then the next cell asks for the same image."""
    objects.create(cluster, specs.deployment("web", replicas=3))
    wait_for_pods(cluster, lambda ps: len(ps) == 3 and all(p.status.phase == "Running" for p in ps.values()),
                  f"{cluster.selector},app=web")
    first = objects.rollout(cluster, "web", "registry.k8s.io/pause:3.10.1")
    assert first.changed and first.message == 'deployment "web" successfully rolled out'
    assert first.steps[-1] == (0, 3)
    started = time.monotonic()
    again = objects.rollout(cluster, "web", "registry.k8s.io/pause:3.10.1")
    assert time.monotonic() - started < 10
    assert not again.changed and "already runs registry.k8s.io/pause:3.10.1" in str(again)


def test_rollout_started_elsewhere_is_waited_for(cluster):
    """set_image from one place (the widget), rollout status from another (the next cell)."""
    objects.create(cluster, specs.deployment("web", replicas=2))
    assert objects.set_image(cluster, "web", "registry.k8s.io/pause:3.9")
    dep, message = wait_for_rollout(cluster, "web", timeout=30)
    assert message == 'deployment "web" successfully rolled out'
    assert dep.status.updated_replicas == 2 and dep.status.available_replicas == 2


def _deployment(*, generation=2, observed=2, want=3, updated=3, total=3, available=3, conditions=()):
    from kubernetes import client
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web", generation=generation),
        spec=client.V1DeploymentSpec(replicas=want, selector=client.V1LabelSelector(),
                                     template=client.V1PodTemplateSpec()),
        status=client.V1DeploymentStatus(
            observed_generation=observed, replicas=total, updated_replicas=updated, available_replicas=available,
            conditions=[client.V1DeploymentCondition(type=t, status=s, reason=r) for t, s, r in conditions]))


def test_rollout_status_decides_from_the_counters_and_never_reads_the_available_condition():
    """Review W4 (chapter 3, "Monitoring"): like kubectl's DeploymentStatusViewer, done means the
    latest generation observed and every wanted replica updated and available, with no old one
    left; the Available condition plays no part either way."""
    from whyk8s.k8s.waits import rollout_status

    not_available = [("Available", "False", "MinimumReplicasUnavailable"),
                     ("Progressing", "True", "NewReplicaSetAvailable")]
    assert rollout_status(_deployment(conditions=not_available)) == (True, 'deployment "web" successfully rolled out')
    available = [("Available", "True", "MinimumReplicasAvailable"), ("Progressing", "True", "ReplicaSetUpdated")]
    for counts, waiting_for in [(dict(observed=1), "spec update to be observed"),
                                (dict(updated=2), "2 out of 3 new replicas have been updated"),
                                (dict(total=4), "1 old replicas are pending termination"),
                                (dict(available=2), "2 of 3 updated replicas are available")]:
        done, message = rollout_status(_deployment(conditions=available, **counts))
        assert not done and waiting_for in message, (counts, message)


def test_rollout_status_reads_progressing_only_for_an_exceeded_deadline():
    from whyk8s.k8s.waits import rollout_status

    stuck = [("Progressing", "False", "ProgressDeadlineExceeded")]
    with pytest.raises(WaitTimeoutError, match="exceeded its progress deadline"):
        rollout_status(_deployment(updated=1, conditions=stuck))
