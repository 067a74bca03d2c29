"""Pod facts (k8s/pods.py): kubectl's READY, STATUS and RESTARTS, AGE, and the small facts the views
share (shared/cases *status-not-phase*).

The unit tests take their cases from kubectl's own table tests (k8s.io/kubernetes v1.36.1,
``pkg/printers/internalversion/printers_test.go``: TestPrintPod, TestPrintPodWithRestartableInitContainer)
and from the course's cases. The cluster test patches pods' status through the status subresource
(pods bound to a node that does not exist, which kwok leaves alone) and compares with what the real
``kubectl get pods`` prints: the API server's own ``printPod``.
"""

from __future__ import annotations

import glob
import json
import re
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from kubernetes import client

from whyk8s.k8s import objects, specs
from whyk8s.k8s import pods as podfacts

from livewait import wait_until

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)


def ago(**delta) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def pod_from(data: dict) -> client.V1Pod:
    """A V1Pod from its JSON form, as the official client deserialises an API answer."""
    data = json.loads(json.dumps({"apiVersion": "v1", "kind": "Pod", **data}))
    data.setdefault("metadata", {}).setdefault("name", "p")
    for key in ("initContainerStatuses", "containerStatuses"):  # fields the API always sends
        for i, cs in enumerate((data.get("status") or {}).get(key) or []):
            for field, value in (("name", f"c{i}"), ("image", "img"), ("imageID", ""), ("ready", False),
                                 ("restartCount", 0)):
                cs.setdefault(field, value)
    return client.ApiClient().deserialize(json.dumps(data), "V1Pod", "application/json")


def containers(n: int) -> list[dict]:
    return [{"name": f"c{i}", "image": "img"} for i in range(n)]


def running(ready=True, restarts=0, **extra) -> dict:
    return {"name": "c", "ready": ready, "restartCount": restarts, "state": {"running": {}}, **extra}


RESTARTED_10S = {"terminated": {"exitCode": 1, "finishedAt": ago(seconds=10)}}

# (case, pod JSON, READY, STATUS, RESTARTS) — kubectl's own expectations.
KUBECTL_CASES = [
    ("test1: restarts summed, ready counted",
     {"spec": {"containers": containers(2)},
      "status": {"phase": "podPhase", "containerStatuses": [
          running(restarts=3), {"name": "c1", "ready": False, "restartCount": 3}]}},
     "1/2", "podPhase", "6"),
    ("test2: a waiting reason overrides the phase",
     {"spec": {"containers": containers(2)},
      "status": {"phase": "podPhase", "containerStatuses": [
          running(restarts=3),
          {"name": "c1", "restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}}]}},
     "1/2", "ContainerWaitingReason", "6"),
    ("test3: the first container's reason wins",
     {"spec": {"containers": containers(2)},
      "status": {"phase": "podPhase", "containerStatuses": [
          {"name": "c0", "restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}},
          {"name": "c1", "restartCount": 3, "state": {"terminated": {"reason": "ContainerTerminatedReason",
                                                                     "exitCode": 0}}}]}},
     "0/2", "ContainerWaitingReason", "6"),
    ("test5: the pod's reason overrides the phase",
     {"spec": {"containers": containers(2)},
      "status": {"phase": "podPhase", "reason": "podReason",
                 "containerStatuses": [running(restarts=3), {"name": "c1", "ready": True, "restartCount": 3}]}},
     "1/2", "podReason", "6"),
    ("test6: completed + running without Ready condition is NotReady",
     {"spec": {"containers": containers(2)},
      "status": {"phase": "Running", "containerStatuses": [
          {"name": "c0", "ready": True, "restartCount": 3,
           "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
          running(restarts=3)]}},
     "1/2", "NotReady", "6"),
    ("test6b: completed + running with Ready condition is Running",
     {"spec": {"containers": containers(2)},
      "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": [
          {"name": "c0", "ready": True, "restartCount": 3,
           "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
          running(restarts=3)]}},
     "1/2", "Running", "6"),
    ("test7: an init container restarting counts its restarts",
     {"spec": {"initContainers": containers(1), "containers": containers(1)},
      "status": {"phase": "podPhase",
                 "initContainerStatuses": [{"name": "c0", "ready": False, "restartCount": 3,
                                            "state": {"running": {}}, "lastState": RESTARTED_10S}],
                 "containerStatuses": [{"name": "c0", "ready": False, "restartCount": 0, "state": {"waiting": {}}}]}},
     "0/1", "Init:0/1", "3 (10s ago)"),
    ("test10: restarts of finished and running init containers",
     {"spec": {"initContainers": containers(2), "containers": containers(1)},
      "status": {"phase": "podPhase",
                 "initContainerStatuses": [
                     {"name": "c0", "restartCount": 2, "state": {"terminated": {"exitCode": 0}},
                      "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(minutes=2)}}},
                     {"name": "c1", "restartCount": 3, "state": {"running": {}}, "lastState": RESTARTED_10S}],
                 "containerStatuses": [{"name": "c0", "state": {"waiting": {}}}]}},
     "0/1", "Init:1/2", "5 (10s ago)"),
    ("test11: once initialised, only the containers' restarts count",
     {"spec": {"initContainers": containers(1), "containers": containers(1)},
      "status": {"phase": "Running",
                 "initContainerStatuses": [
                     {"name": "c0", "restartCount": 2, "state": {"terminated": {"exitCode": 0}},
                      "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(minutes=2)}}}],
                 "containerStatuses": [
                     {"name": "c0", "ready": False, "restartCount": 4, "state": {"running": {}},
                      "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(seconds=20)}}}]}},
     "0/1", "Running", "4 (20s ago)"),
    ("test14: the newest restart of several containers",
     {"spec": {"containers": containers(2)},
      "status": {"phase": "Running", "containerStatuses": [
          running(restarts=6, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(days=5)}}),
          running(restarts=3, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(days=20)}})]}},
     "2/2", "Running", "9 (5d ago)"),
    ("test15: SchedulingGated",
     {"spec": {"containers": containers(2)},
      "status": {"phase": "podPhase", "conditions": [
          {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}},
     "0/2", "SchedulingGated", "0"),
    ("test16: Completed",
     {"spec": {"containers": containers(1)},
      "status": {"phase": "Succeeded", "containerStatuses": [
          {"name": "c0", "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}},
     "0/1", "Completed", "0"),
    ("test18: a succeeded pod being deleted stays Completed",
     {"metadata": {"deletionTimestamp": ago(seconds=10)}, "spec": {"containers": containers(1)},
      "status": {"phase": "Succeeded", "containerStatuses": [
          {"name": "c0", "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}},
     "0/1", "Completed", "0"),
    ("test19: a running pod being deleted is Terminating",
     {"metadata": {"deletionTimestamp": ago(seconds=10)}, "spec": {"containers": containers(1)},
      "status": {"phase": "Running", "containerStatuses": [running(ready=False)]}},
     "0/1", "Terminating", "0"),
    ("test23: the error of one of three containers",
     {"spec": {"containers": containers(3)},
      "status": {"phase": "Failed", "containerStatuses": [
          running(),
          {"name": "c1", "ready": True, "state": {"terminated": {"exitCode": 1, "reason": "podCrash"}}},
          {"name": "c2", "ready": True, "state": {"terminated": {"exitCode": 0}}}]}},
     "1/3", "podCrash", "0"),
    ("restartable init 1: not started yet",
     {"spec": {"initContainers": [{"name": "r1", "image": "i", "restartPolicy": "Always"},
                                  {"name": "r2", "image": "i", "restartPolicy": "Always"}],
               "containers": containers(1)},
      "status": {"phase": "Pending", "conditions": [{"type": "Initialized", "status": "False"}],
                 "initContainerStatuses": [
                     {"name": "r1", "ready": False, "restartCount": 3, "started": False, "state": {"running": {}},
                      "lastState": RESTARTED_10S},
                     {"name": "r2", "ready": False, "started": False, "state": {"waiting": {}}}],
                 "containerStatuses": [{"name": "c0", "state": {"waiting": {}}}]}},
     "0/3", "Init:0/2", "3 (10s ago)"),
    ("restartable init 2: sidecars started, container running",
     {"spec": {"initContainers": [{"name": "r1", "image": "i", "restartPolicy": "Always"},
                                  {"name": "r2", "image": "i", "restartPolicy": "Always"}],
               "containers": containers(1)},
      "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                 "initContainerStatuses": [
                     {"name": "r1", "ready": False, "restartCount": 3, "started": True, "state": {"running": {}},
                      "lastState": RESTARTED_10S},
                     {"name": "r2", "ready": False, "started": True, "state": {"running": {}}}],
                 "containerStatuses": [
                     {"name": "c0", "ready": True, "restartCount": 4, "state": {"running": {}},
                      "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(seconds=20)}}}]}},
     "1/3", "Running", "7 (10s ago)"),
    ("restartable init 4: statuses of containers the spec does not have",
     {"spec": {"initContainers": [{"name": "init1", "image": "i"},
                                  {"name": "sidecar1", "image": "i", "restartPolicy": "Always"}],
               "containers": [{"name": "container1", "image": "i"}]},
      "status": {"phase": "Running",
                 "initContainerStatuses": [{"name": "initinvalid"}, {"name": "init1"}, {"name": "sidecar1"}],
                 "containerStatuses": [{"name": "containerinvalid"}, {"name": "container1"}]}},
     "0/2", "Init:0/2", "0"),
]

# The course's cases (shared/cases status-not-phase and the brief): what kubectl v1.36 prints.
COURSE_CASES = [
    ("Running with a container in CrashLoopBackOff (6 restarts)",
     {"spec": {"containers": containers(1)},
      "status": {"phase": "Running", "containerStatuses": [
          {"name": "c0", "ready": False, "restartCount": 6,
           "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting"}},
           "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(minutes=2)}}}]}},
     "0/1", "CrashLoopBackOff", "6 (2m ago)"),
    ("Pending with ImagePullBackOff",
     {"spec": {"containers": containers(1)},
      "status": {"phase": "Pending", "containerStatuses": [
          {"name": "c0", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}},
     "0/1", "ImagePullBackOff", "0"),
    ("Init:0/1: an init container still running",
     {"spec": {"initContainers": containers(1), "containers": containers(1)},
      "status": {"phase": "Pending", "initContainerStatuses": [{"name": "c0", "state": {"running": {}}}],
                 "containerStatuses": [{"name": "c0", "state": {"waiting": {"reason": "PodInitializing"}}}]}},
     "0/1", "Init:0/1", "0"),
    ("Init:CrashLoopBackOff keeps the init container's restarts",
     {"spec": {"initContainers": containers(1), "containers": containers(1)},
      "status": {"phase": "Pending", "initContainerStatuses": [
          {"name": "c0", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
           "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(seconds=30)}}}],
                 "containerStatuses": [{"name": "c0", "state": {"waiting": {"reason": "PodInitializing"}}}]}},
     "0/1", "Init:CrashLoopBackOff", "3 (30s ago)"),
    ("Terminating",
     {"metadata": {"deletionTimestamp": ago(seconds=5)}, "spec": {"containers": containers(1)},
      "status": {"phase": "Running", "containerStatuses": [running()]}},
     "1/1", "Terminating", "0"),
    ("NodeLost while being deleted is Unknown",
     {"metadata": {"deletionTimestamp": ago(seconds=5)}, "spec": {"containers": containers(1)},
      "status": {"phase": "Running", "reason": "NodeLost", "containerStatuses": [running()]}},
     "1/1", "Unknown", "0"),
    ("OOMKilled",
     {"spec": {"containers": containers(1)},
      "status": {"phase": "Running", "containerStatuses": [
          {"name": "c0", "restartCount": 1, "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
           "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": ago(hours=2)}}}]}},
     "0/1", "OOMKilled", "1 (120m ago)"),
    ("ExitCode:3 without a reason",
     {"spec": {"containers": containers(1)},
      "status": {"phase": "Failed", "containerStatuses": [{"name": "c0", "state": {"terminated": {"exitCode": 3}}}]}},
     "0/1", "ExitCode:3", "0"),
    ("Signal:9 without a reason",
     {"spec": {"containers": containers(1)},
      "status": {"phase": "Failed", "containerStatuses": [
          {"name": "c0", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}},
     "0/1", "Signal:9", "0"),
    ("SchedulingGated",
     {"spec": {"containers": containers(1), "schedulingGates": [{"name": "whyk8s.io/hold"}]},
      "status": {"phase": "Pending", "conditions": [
          {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}},
     "0/1", "SchedulingGated", "0"),
]


@pytest.mark.parametrize("case, data, ready, status, restarts", KUBECTL_CASES + COURSE_CASES,
                         ids=[c[0] for c in KUBECTL_CASES + COURSE_CASES])
def test_status_ready_and_restarts_are_what_kubectl_prints(case, data, ready, status, restarts):
    pod = pod_from(data)
    assert podfacts.status(pod) == status
    assert podfacts.ready(pod) == ready
    assert podfacts.restarts_text(pod, now=NOW) == restarts


def test_a_running_pod_in_crashloop_is_not_shown_as_running():
    """status-not-phase: the phase says Running, kubectl says CrashLoopBackOff, and so must we."""
    pod = pod_from(COURSE_CASES[0][1])
    assert pod.status.phase == "Running"
    assert podfacts.status(pod) == "CrashLoopBackOff"
    assert podfacts.restarts(pod) == 6


@pytest.mark.parametrize("seconds, text", [
    (-0.5, "0s"), (0, "0s"), (59.9, "59s"), (119, "119s"), (120, "2m"), (125, "2m5s"), (600, "10m"),
    (179 * 60, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"), (47 * 3600, "47h"),
    (48 * 3600, "2d"), (50 * 3600, "2d2h"), (8 * 86400, "8d"), (2 * 365 * 86400, "2y"),
    (2 * 365 * 86400 + 86400, "2y1d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration_follows_apimachinery(seconds, text):
    # expectations from k8s.io/apimachinery/pkg/util/duration HumanDuration
    assert podfacts.human_duration(seconds) == text


def test_age_without_a_timestamp_is_unknown():
    assert podfacts.age(None) == "<unknown>"
    assert podfacts.age(NOW - timedelta(seconds=75), now=NOW) == "75s"


def test_pending_reason_is_the_schedulers_message_only_while_unscheduled():
    waiting = pod_from({"spec": {"containers": containers(1)}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/4 nodes are available: 1 Insufficient nvidia.com/gpu."}]}})
    placed = pod_from({"spec": {"containers": containers(1), "nodeName": "n1"}, "status": {
        "phase": "Running", "conditions": [{"type": "PodScheduled", "status": "True"}]}})
    fresh = pod_from({"spec": {"containers": containers(1)}, "status": {"phase": "Pending"}})
    assert podfacts.pending_reason(waiting) == "0/4 nodes are available: 1 Insufficient nvidia.com/gpu."
    assert podfacts.pending_reason(placed) == "" and podfacts.pending_reason(fresh) == ""
    described = podfacts.describe({"greedy": waiting, "web": placed})
    assert described == ("greedy (Pending: 0/4 nodes are available: 1 Insufficient nvidia.com/gpu.), "
                         "web (Running on n1)")


def test_requests_are_millicores_bytes_and_whole_gpus():
    pod = specs.pod("train", cpu="0.5", memory="1Gi", gpus=2)
    assert podfacts.requests(pod) == (500, 2**30, 2)
    assert podfacts.requests(pod_from({"spec": {"containers": containers(2)}})) == (0, 0, 0)


def test_controller_and_workload_of_a_pod():
    owned = pod_from({"metadata": {"name": "web-7c9d6b5f4d-x2b4q", "labels": {"app": "web"},
                                   "ownerReferences": [
                                       {"apiVersion": "v1", "kind": "Other", "name": "x", "uid": "1"},
                                       {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7c9d6b5f4d",
                                        "uid": "2", "controller": True}]},
                      "spec": {"containers": containers(1)}})
    assert podfacts.controller_of(owned).name == "web-7c9d6b5f4d"
    assert podfacts.workload_of(owned) == "web"
    solo = pod_from({"metadata": {"name": "solo"}, "spec": {"containers": containers(1)}})
    assert podfacts.controller_of(solo) is None and podfacts.workload_of(solo) == "solo"
    job_pod = pod_from({"metadata": {"name": "train-x7k2p", "labels": {"job-name": "train"}},
                        "spec": {"containers": containers(1)}})
    assert podfacts.workload_of(job_pod) == "train"


@pytest.mark.parametrize("name, kind, base", [
    ("train-x7k2p", "pod", "train"), ("web-7c9d6b5f4d-x2b4q", "pod", "web"),
    ("web-7c9d6b5f4d", "replicaset", "web"), ("sweep-4-x7k2p", "pod", "sweep-4"),
    ("hello-world", "pod", None), ("trainer-1", "pod", None), ("train-aeiou", "pod", None),
])
def test_generated_names_are_recognised_by_the_api_machinery_alphabet(name, kind, base):
    assert podfacts.generated_base(name, kind) == base


# -- against the real kubectl -------------------------------------------------------------------------
def _kubectl() -> str:
    found = sorted(glob.glob(str(__import__("pathlib").Path.home() / ".cache/whyk8s/bin/*/kubectl")))
    if not found:
        pytest.skip("the course's cached kubectl is not there (run `whyk8s cluster up` once)")
    return found[-1]


def kubectl_rows(cluster, *args) -> dict[str, tuple[str, str, str]]:
    """NAME → (READY, STATUS, RESTARTS) as `kubectl get pods` prints them (the API server's own table)."""
    import os
    cmd = [_kubectl(), "--context", cluster.context, "get", "pods", "-n", cluster.namespace, "--no-headers", *args]
    kubeconfig = os.environ.get("KUBECONFIG")
    if kubeconfig:
        cmd[1:1] = ["--kubeconfig", kubeconfig]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+(\d+/\d+)\s+(\S+)\s+(.+?)\s+(\S+)$", line.strip())
        assert m, f"unexpected kubectl line: {line!r}"
        rows[m.group(1)] = (m.group(2), m.group(3), m.group(4))
    return rows


def _ghost_pod(name: str, init: bool = False) -> client.V1Pod:
    """A course pod bound to node ``ghost``: no node exists by that name, so neither the scheduler nor
    kwok touches it, and its status is what we write."""
    pod = specs.pod(name)
    pod.spec.node_name = "ghost"
    if init:
        pod.spec.init_containers = [client.V1Container(name="setup", image=specs.DEFAULT_IMAGE)]
    return pod


def _container_status(pod, **fields) -> dict:
    c = pod.spec.containers[0]
    return {"name": c.name, "image": c.image, "imageID": "", "ready": False, "restartCount": 0, **fields}


def test_status_matches_kubectl_on_the_cluster_and_on_the_boards(cluster):
    from whyk8s.notebook.widgets import PlacementBoard, PodBoard

    long_ago = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    statuses = {
        "crash": {"phase": "Running", "containerStatuses": [lambda p: _container_status(
            p, restartCount=6, state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
            lastState={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": long_ago,
                                      "finishedAt": long_ago}})]},
        "pull": {"phase": "Pending", "containerStatuses": [lambda p: _container_status(
            p, state={"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}})]},
        "oom": {"phase": "Running", "containerStatuses": [lambda p: _container_status(
            p, restartCount=1, state={"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": long_ago,
                                                     "finishedAt": long_ago}},
            lastState={"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": long_ago,
                                      "finishedAt": long_ago}})]},
        "exit3": {"phase": "Running", "containerStatuses": [lambda p: _container_status(
            p, state={"terminated": {"exitCode": 3, "startedAt": long_ago, "finishedAt": long_ago}})]},
        "done": {"phase": "Succeeded", "containerStatuses": [lambda p: _container_status(
            p, state={"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": long_ago,
                                     "finishedAt": long_ago}})]},
        "init": {"phase": "Pending", "initContainerStatuses": [lambda p: {
            "name": "setup", "image": specs.DEFAULT_IMAGE, "imageID": "", "ready": False, "restartCount": 0,
            "state": {"running": {"startedAt": long_ago}}}],
            "containerStatuses": [lambda p: _container_status(p, state={"waiting": {"reason": "PodInitializing"}})]},
        "initcrash": {"phase": "Pending", "initContainerStatuses": [lambda p: {
            "name": "setup", "image": specs.DEFAULT_IMAGE, "imageID": "", "ready": False, "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": long_ago,
                                         "finishedAt": long_ago}}}],
            "containerStatuses": [lambda p: _container_status(p, state={"waiting": {"reason": "PodInitializing"}})]},
        "lost": {"phase": "Running", "reason": "NodeLost", "containerStatuses": [lambda p: _container_status(
            p, ready=True, state={"running": {"startedAt": long_ago}})]},
        "going": {"phase": "Running", "containerStatuses": [lambda p: _container_status(
            p, ready=True, state={"running": {"startedAt": long_ago}})]},
    }
    expected = {"crash": ("0/1", "CrashLoopBackOff", "6 (120m ago)"), "pull": ("0/1", "ImagePullBackOff", "0"),
                "oom": ("0/1", "OOMKilled", "1 (120m ago)"), "exit3": ("0/1", "ExitCode:3", "0"),
                "done": ("0/1", "Completed", "0"), "init": ("0/1", "Init:0/1", "0"),
                "initcrash": ("0/1", "Init:CrashLoopBackOff", "3 (120m ago)"),
                "lost": ("1/1", "Unknown", "0"), "going": ("1/1", "Terminating", "0"),
                "gated": ("0/1", "SchedulingGated", "0")}
    board, placement = PodBoard(cluster), PlacementBoard(cluster)
    try:
        for name, status in statuses.items():
            pod = _ghost_pod(name, init=name.startswith("init"))
            objects.create(cluster, pod)
            body = {k: ([f(pod) for f in v] if isinstance(v, list) else v) for k, v in status.items()}
            cluster.core.patch_namespaced_pod_status(name, cluster.namespace, {"status": body})
        for name in ("lost", "going"):  # deleted with a grace period: no kubelet ever confirms it
            cluster.core.delete_namespaced_pod(name, cluster.namespace, grace_period_seconds=300)
        gated = specs.pod("gated")
        gated.spec.scheduling_gates = [client.V1PodSchedulingGate(name="whyk8s.io/hold")]
        objects.create(cluster, gated)
        # the scheduler marks the gated pod; wait for that on the boards' own watch (no polling)
        assert wait_until(board, lambda: {n: r.status for n, r in board.pods.items()} ==
                          {n: e[1] for n, e in expected.items()}), board.data()

        printed = kubectl_rows(cluster)
        ours = {}
        for pod in cluster.core.list_namespaced_pod(cluster.namespace, label_selector=cluster.selector).items:
            ours[pod.metadata.name] = (podfacts.ready(pod), podfacts.status(pod), podfacts.restarts_text(pod))
        assert printed == expected
        assert ours == printed

        table = board.data().set_index("name")
        for name, (ready, status, restarts) in expected.items():
            assert table.loc[name, ["ready", "status", "restarts"]].tolist() == [ready, status, restarts]
        drawn = lambda: {n: f">{s}</td>" in board.table.value for n, (_, s, _) in expected.items()}  # noqa: E731
        assert wait_until(board, lambda: all(drawn().values())), drawn()  # drawn a moment after the model
        assert "6 (120m ago)" in board.table.value
        # the placement view's Pending column shows the gated pod with kubectl's STATUS
        assert wait_until(placement, lambda: "gated" in placement.pending_column.value)
        chip = placement.pending_column.value.split("<code>gated</code>")[1].split("</div>")[0]
        assert "SchedulingGated" in chip
    finally:
        board.close()
        placement.close()
