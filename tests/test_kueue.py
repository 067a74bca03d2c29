"""Kueue, built from the Go module proxy and run by the course against the real API server of the kwok
cluster (real kube-apiserver, kube-scheduler, job controller; kwok simulates only the nodes).

On kwok a Job's pod succeeds the moment it runs (kwok's ``pod-complete`` stage), so a Job that must
keep its quota is *held*: a scheduling gate keeps its pod Pending until the test releases it.
"""

import base64
import subprocess
import sys
import time

import pytest
from kubernetes import client

from whyk8s import POOL_LABEL
from whyk8s.cluster import kueue
from whyk8s.k8s import objects, specs
from whyk8s.lessons import queueing
from localprocess_checks import (crds, kill_and_wait_reaped, process_leftovers, quiet, running_fixture,
                                 stale_pid_file_is_ignored, started_from_nothing, up_removes_leftovers,
                                 wait_until_gone)

pytestmark = [pytest.mark.kueue, pytest.mark.kwok]


def _kueue_leftovers(cluster) -> list[str]:
    adm = client.AdmissionregistrationV1Api(cluster.api)
    left = crds(cluster, (kueue.GROUP,))
    left += [f"mutating/{w.metadata.name}" for w in adm.list_mutating_webhook_configuration().items
             if "kueue" in w.metadata.name]
    left += [f"validating/{w.metadata.name}" for w in adm.list_validating_webhook_configuration().items
             if "kueue" in w.metadata.name]
    left += [f"secret/{s.metadata.name}" for s in cluster.core.list_secret_for_all_namespaces().items
             if s.metadata.name == kueue.SECRET_NAME]
    return left + process_leftovers(kueue)


def test_kueue_starts_from_nothing_and_stop_leaves_nothing(cluster):
    with started_from_nothing(kueue, cluster, _kueue_leftovers) as st:
        assert len(st.crds) == 11 and "workloads.kueue.x-k8s.io" in st.crds
        assert set(st.webhook_configurations) == set(kueue.WEBHOOK_CONFIGURATIONS.values())
        # Kueue's certificate management found the course's certificate valid and kept it
        secret = cluster.core.read_namespaced_secret(kueue.SECRET_NAME, cluster.namespace)
        ca = (kueue.state_dir() / "certs" / "ca.crt").read_bytes()
        assert base64.b64decode(secret.data["ca.crt"]) == ca
        for hook in client.AdmissionregistrationV1Api(cluster.api).read_mutating_webhook_configuration(
                kueue.WEBHOOK_CONFIGURATIONS["MutatingWebhookConfiguration"]).webhooks:
            assert hook.client_config.url.startswith(f"https://127.0.0.1:{st.ports['webhook']}/")
            assert base64.b64decode(hook.client_config.ca_bundle) == ca


def test_kueue_stopped_from_another_process_leaves_no_zombie_here(cluster):
    """A learner runs `whyk8s kueue down` (or `cluster down`) in a terminal while the kernel that
    started Kueue lives: the kernel reaps it (it once stayed `[kueue] <defunct>` until the kernel
    exited; found by a fresh user)."""
    st = kueue.start(cluster, log=quiet)
    subprocess.run([sys.executable, "-m", "whyk8s.cli", "kueue", "down"], check=True, capture_output=True)
    wait_until_gone(st.pid)


def test_cluster_up_removes_what_a_dead_kueue_left_behind(cluster):
    """A manager that died (reboot, ended session) leaves webhooks with failurePolicy Fail that refuse
    every Job in the course's namespaces; `cluster up` removes them."""
    st = kueue.start(cluster, log=quiet)
    kill_and_wait_reaped(st.pid)
    ns = cluster.ensure_namespace("team-d")
    with pytest.raises(client.ApiException) as refused:
        objects.create(cluster, specs.job("refused", cpu="100m", memory="64Mi"), namespace=ns)
    assert "failed calling webhook" in refused.value.body
    up_removes_leftovers(cluster, _kueue_leftovers, "Kueue's manager was not running")
    assert not objects.create(cluster, specs.job("accepted", cpu="100m", memory="64Mi"), namespace=ns).spec.suspend


kueue_running = running_fixture(kueue)


@pytest.fixture
def queues(cluster, kueue_running):
    """The three flavors; yields the cluster; deletes the course's queues and flavors afterwards (the
    ``cluster`` fixture then deletes the team namespaces and Jobs)."""
    queueing.resource_flavors(cluster)
    yield cluster
    objects.cleanup(cluster)
    queueing.delete_queues(cluster)


def _workload(cluster, namespace: str, job: str, done, timeout: float = 30) -> dict:
    """Poll the Workload of ``job`` until ``done(workload)``; return it."""
    api = client.CustomObjectsApi(cluster.api)
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        for w in api.list_namespaced_custom_object(queueing.GROUP, queueing.VERSION, namespace, "workloads")["items"]:
            owners = [o["name"] for o in w["metadata"].get("ownerReferences") or []]
            if job in owners:
                seen = w
                if done(w):
                    return w
        time.sleep(0.2)
    raise AssertionError(f"Workload of {job} not as expected within {timeout} s; "
                         f"last seen: {seen and seen.get('status')}")


def _condition_time(workload: dict, kind: str) -> str:
    return next(c["lastTransitionTime"] for c in workload["status"]["conditions"] if c["type"] == kind)


def test_queued_job_is_suspended_by_the_webhook_then_admitted_onto_the_flavors_pool(queues):
    cluster = queues
    queueing.cluster_queue(cluster, "team-a", {"cpu": {"cpu": 4, "memory": "16Gi"},
                                               "gpu": {"cpu": 8, "memory": "64Gi", "nvidia.com/gpu": 2}})
    ns = "team-a"
    queueing.local_queue(cluster, ns, "team-a")
    job = queueing.queued_job("train", "team-queue", cpu=2, memory="4Gi", gpus=1)
    job.spec.suspend = None  # leave it to Kueue's mutating webhook
    created = objects.create(cluster, job, namespace=ns)
    assert created.spec.suspend is True, "Kueue's webhook did not suspend the queued Job"
    assert created.spec.template.spec.node_selector is None
    w = _workload(cluster, ns, "train", lambda w: queueing.workload_state(w) in ("admitted", "finished"))
    assert w["status"]["admission"]["clusterQueue"] == "team-a"
    assert w["status"]["admission"]["podSetAssignments"][0]["flavors"]["nvidia.com/gpu"] == "gpu"
    pods = []
    deadline = time.monotonic() + 30
    while not (pods and pods[0].spec.node_name) and time.monotonic() < deadline:
        pods = cluster.core.list_namespaced_pod(ns, label_selector="job-name=train").items
        time.sleep(0.2)
    node = cluster.core.read_node(pods[0].spec.node_name)
    assert node.metadata.labels[POOL_LABEL] == "gpu"
    # Kueue added the gpu flavor's node label and toleration to the pod
    assert pods[0].spec.node_selector == {POOL_LABEL: "gpu"}
    assert any(t.key == "nvidia.com/gpu" for t in pods[0].spec.tolerations)


def test_job_over_quota_waits_as_a_workload_until_the_first_finishes(queues):
    cluster = queues
    queueing.cluster_queue(cluster, "team-b", {"cpu": {"cpu": 2, "memory": "4Gi"}}, cohort=None)
    ns = "team-b"
    queueing.local_queue(cluster, ns, "team-b")
    objects.create(cluster, queueing.queued_job("first", "team-queue", cpu=2, memory="1Gi", held=True), namespace=ns)
    _workload(cluster, ns, "first", lambda w: queueing.workload_state(w) == "admitted")
    objects.create(cluster, queueing.queued_job("second", "team-queue", cpu=2, memory="1Gi"), namespace=ns)

    def waiting(w):
        return any(c["type"] == "QuotaReserved" and c["status"] == "False" and "insufficient" in c["message"]
                   for c in (w.get("status") or {}).get("conditions") or [])

    _workload(cluster, ns, "second", waiting)
    time.sleep(2)  # it stays so while the first holds the quota
    assert queueing.workload_state(_workload(cluster, ns, "second", lambda w: True)) == "pending"
    assert cluster.batch.read_namespaced_job("second", ns).spec.suspend is True
    assert cluster.core.list_namespaced_pod(ns, label_selector="job-name=second").items == []
    board = queueing.queue_board(cluster).set_index(["cluster_queue", "resource"])
    assert board.loc[("team-b", "cpu"), ["pending", "admitted", "used"]].tolist() == [1, 1, 2.0]

    assert queueing.release(cluster, "first", ns) == 1
    first = _workload(cluster, ns, "first", lambda w: queueing.workload_state(w) == "finished")
    second = _workload(cluster, ns, "second", lambda w: queueing.workload_state(w) in ("admitted", "finished"))
    assert _condition_time(second, "Admitted") >= _condition_time(first, "Finished")
    _workload(cluster, ns, "second", lambda w: queueing.workload_state(w) == "finished")
    board = queueing.queue_board(cluster).set_index(["cluster_queue", "resource"])
    assert board.loc[("team-b", "cpu"), ["pending", "admitted", "finished"]].tolist() == [0, 0, 2]


def test_a_queue_in_a_cohort_borrows_unused_quota(queues):
    cluster = queues
    queueing.cluster_queue(cluster, "team-a", {"cpu": {"cpu": 2, "memory": "4Gi"}})
    queueing.cluster_queue(cluster, "team-b", {"cpu": {"cpu": 2, "memory": "4Gi"}})
    queueing.local_queue(cluster, "team-b", "team-b")
    for name in ("one", "two"):
        objects.create(cluster, queueing.queued_job(name, "team-queue", cpu=2, memory="1Gi", held=True),
                       namespace="team-b")
    for name in ("one", "two"):
        _workload(cluster, "team-b", name, lambda w: queueing.workload_state(w) == "admitted")
    deadline = time.monotonic() + 10
    while True:  # the ClusterQueue's status is written a moment after the admission
        board = queueing.queue_board(cluster).set_index(["cluster_queue", "resource"])
        if board.loc[("team-b", "cpu"), "used"] == 4.0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert board.loc[("team-b", "cpu"), ["nominal", "used", "borrowed"]].tolist() == [2.0, 4.0, 2.0]


def test_job_without_queue_name_is_left_alone(queues):
    cluster = queues
    ns = cluster.ensure_namespace("team-c")
    created = objects.create(cluster, specs.job("plain", cpu="100m", memory="64Mi"), namespace=ns)
    assert not created.spec.suspend
    deadline = time.monotonic() + 30
    while not (cluster.batch.read_namespaced_job("plain", ns).status.succeeded or 0):
        assert time.monotonic() < deadline, "the plain Job did not complete"
        time.sleep(0.2)
    assert queueing.workloads(cluster, ns).empty


def test_a_pid_file_naming_another_process_is_not_kueue(cluster):
    stale_pid_file_is_ignored(kueue, cluster)
