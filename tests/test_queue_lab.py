"""Lab 7 checks against the real API server and the real Kueue manager (built from the Go module proxy,
run by the course on the kwok cluster): each planted wrong answer is named by the check's sentence,
the right answer passes, and the reset deletes only what carries the course label."""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from whyk8s.cluster import kueue
from whyk8s.labs import queue_lab
from test_pod_lab import unreachable_kubeconfig
from labcheck import purge, rejected

pytestmark = [pytest.mark.kueue, pytest.mark.kwok]

G, V = queue_lab.GROUP, queue_lab.VERSION
LABELS = {"app.kubernetes.io/part-of": "whyk8s"}
TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


def custom(cluster) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(cluster.api)


def make_flavor(cluster, node_labels=None, tolerations=(TOLERATION,), labels=LABELS, name=queue_lab.FLAVOR):
    custom(cluster).create_cluster_custom_object(G, V, "resourceflavors", {
        "apiVersion": f"{G}/{V}", "kind": "ResourceFlavor", "metadata": {"name": name, "labels": labels},
        "spec": {"nodeLabels": node_labels if node_labels is not None else {"whyk8s.io/pool": "gpu"},
                 "tolerations": list(tolerations)}})


def cq_body(team, nominal=2, borrowing="default", cohort=queue_lab.COHORT, flavor=queue_lab.FLAVOR,
            selector=True, labels=LABELS) -> dict:
    name = queue_lab.CLUSTER_QUEUES[team]
    res = {"name": "nvidia.com/gpu", "nominalQuota": nominal}
    limit = queue_lab.BORROWING_LIMIT.get(name) if borrowing == "default" else borrowing
    if limit is not None:
        res["borrowingLimit"] = limit
    spec = {"resourceGroups": [{"coveredResources": ["nvidia.com/gpu"],
                                "flavors": [{"name": flavor, "resources": [res]}]}]}
    if cohort:
        spec["cohortName"] = cohort
    if selector:
        spec["namespaceSelector"] = {}
    return {"apiVersion": f"{G}/{V}", "kind": "ClusterQueue", "metadata": {"name": name, "labels": labels},
            "spec": spec}


def make_queues(cluster, **per_team):
    """Both ClusterQueues; ``per_team`` maps a team to the keyword arguments of :func:`cq_body`."""
    for team in queue_lab.TEAMS:
        custom(cluster).create_cluster_custom_object(G, V, "clusterqueues", cq_body(team, **per_team.get(team, {})))


def make_local_queues(cluster, targets=None):
    for team in queue_lab.TEAMS:
        if not cluster.core.list_namespace(field_selector=f"metadata.name={team}").items:
            cluster.core.create_namespace({"metadata": {"name": team, "labels": LABELS}})
        custom(cluster).create_namespaced_custom_object(G, V, team, "localqueues", {
            "apiVersion": f"{G}/{V}", "kind": "LocalQueue",
            "metadata": {"name": queue_lab.LOCAL_QUEUE, "labels": LABELS},
            "spec": {"clusterQueue": (targets or queue_lab.CLUSTER_QUEUES)[team]}})


def make_urgent(cluster, queue_label=True, on_template=False):
    ns, name = queue_lab.URGENT
    queue = {queue_lab.QUEUE_LABEL: queue_lab.LOCAL_QUEUE}
    labels = {**LABELS, **(queue if queue_label else {})}
    cluster.batch.create_namespaced_job(ns, {
        "metadata": {"name": name, "labels": labels},
        "spec": {"suspend": True, "backoffLimit": 0, "template": {
            "metadata": {"labels": {**LABELS, **(queue if on_template else {})}}, "spec": {
            "restartPolicy": "Never", "tolerations": [TOLERATION],
            "containers": [{"name": "train", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 5"],
                            "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}}})


def row(board: str, queue: str) -> list[str]:
    """The cells of ``queue``'s line in :func:`queue_lab.board`'s text."""
    return next(line.split()[1:] for line in board.splitlines() if line.split()[:1] == [queue])


def make_all(cluster, **per_team):
    make_flavor(cluster)
    make_queues(cluster, **per_team)
    make_local_queues(cluster)


#: Planted without the course label in some tests (the reset leaves them alone): removed by name.
PLANTED_KUEUE = [("clusterqueues", name) for name in queue_lab.CLUSTER_QUEUES.values()] + \
    [("resourceflavors", queue_lab.FLAVOR), ("resourceflavors", "gpus")]


def purge_kueue(cluster):
    api = custom(cluster)
    for plural, name in PLANTED_KUEUE:
        try:
            api.delete_cluster_custom_object(G, V, plural, name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + 60
    while any(o["metadata"]["name"] in {n for _, n in PLANTED_KUEUE}
              for p in ("clusterqueues", "resourceflavors") for o in api.list_cluster_custom_object(G, V, p)["items"]):
        assert time.monotonic() < deadline, "planted Kueue objects not gone within 60 s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def kueue_running(course_cluster):
    started = kueue.pid() is None
    kueue.start(course_cluster, log=lambda *_: None)
    yield
    if started:
        kueue.stop(course_cluster, log=lambda *_: None)


@pytest.fixture
def lab(cluster, kueue_running):
    purge(cluster, [("Namespace", None, team) for team in queue_lab.TEAMS])
    assert queue_lab.reset().passed
    purge_kueue(cluster)
    yield cluster
    queue_lab.reset()
    purge(cluster, [("Namespace", None, team) for team in queue_lab.TEAMS])
    purge_kueue(cluster)


def test_right_answer_passes_urgent_job_admitted_and_backlog_drains(lab):
    make_all(lab)
    for check in (queue_lab.check_flavor, queue_lab.check_cluster_queues, queue_lab.check_local_queues):
        result = check()
        assert result.passed, result.problems
    board = queue_lab.submit_backlog()
    # pending, admitted, finished, nominal, used, borrowed: 2 nominal + 1 borrowed admitted, 3 waiting
    assert row(board, "team-b-gpus") == ["gpu-pool", "3", "3", "0", "2", "3", "1"], board
    assert row(board, "team-a-gpus") == ["gpu-pool", "0", "0", "0", "2", "0", "0"], board
    make_urgent(lab)
    result = queue_lab.check_sharing()
    assert result.passed, result.problems
    assert any("team B's backlog drained: all 6 jobs finished" in m for m in (f.message for f in result.findings))
    reset = queue_lab.reset()
    assert reset.passed and "2 ClusterQueues, 1 ResourceFlavor" in str(reset), str(reset)
    assert not [q for p in ("clusterqueues", "resourceflavors")
                for q in custom(lab).list_cluster_custom_object(G, V, p, label_selector=lab.selector)["items"]]


def test_without_borrowing_limit_team_b_takes_the_pool_and_the_urgent_job_waits(lab):
    make_all(lab, **{"team-b": {"borrowing": None}})
    rejected(queue_lab.check_cluster_queues(), "the ClusterQueue team-b-gpus has no borrowingLimit for nvidia.com/gpu: "
                                               "it may borrow every GPU team A leaves unused and take the whole pool")
    board = queue_lab.submit_backlog()
    assert row(board, "team-b-gpus") == ["gpu-pool", "2", "4", "0", "2", "4", "2"], board  # the whole pool
    make_urgent(lab)
    result = queue_lab.check_sharing(timeout=30)
    rejected(result, f"Kueue had not admitted urgent-train {queue_lab.WITHIN} s after it was created; Kueue says: "
                     f"couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in "
                     f"flavor gpu")
    rejected(result, "borrowingLimit")


@pytest.mark.parametrize("node_labels, tolerations, fragment", [
    ({"whyk8s.io/pool": "gpus"}, [TOLERATION], "the ResourceFlavor gpu's spec.nodeLabels (whyk8s.io/pool=gpus) match "
                                               "no node"),
    ({"whyk8s.io/pool": "cpu"}, [TOLERATION], "also match whyk8s-worker, whyk8s-worker2, which advertise no "
                                              "nvidia.com/gpu"),
    ({}, [TOLERATION], "the ResourceFlavor gpu has no spec.nodeLabels"),
    ({"whyk8s.io/pool": "gpu"}, [], "the ResourceFlavor gpu's spec.tolerations do not tolerate the GPU node's taint "
                                    "nvidia.com/gpu=present:NoSchedule"),
])
def test_flavor_that_does_not_match_the_gpu_node(lab, node_labels, tolerations, fragment):
    make_flavor(lab, node_labels=node_labels, tolerations=tolerations)
    result = queue_lab.check_flavor()
    rejected(result, fragment)
    rejected(result, "run the reset() cell, then the create cell of step 1 again")


def test_missing_flavor_names_what_exists(lab):
    make_flavor(lab, name="gpus")
    rejected(queue_lab.check_flavor(), "there is no ResourceFlavor named gpu yet (a cluster-wide object: "
                                       "kueue.x-k8s.io/v1beta2, plural resourceflavors); there is gpus")


@pytest.mark.parametrize("per_team, fragment", [
    ({"team-a": {"cohort": None}}, "the ClusterQueue team-a-gpus is not in a cohort (no spec.cohortName)"),
    ({"team-a": {"cohort": "team-a"}}, "the ClusterQueue team-a-gpus has spec.cohortName 'team-a'; the task asks for "
                                       "'gpu-pool'"),
    ({"team-a": {"nominal": 8}}, "the ClusterQueue team-a-gpus has nominalQuota 8 GPUs, more than the GPU node's 4"),
    ({"team-a": {"nominal": 3}, "team-b": {"nominal": 3}}, "the nominal quotas add up to 6 GPUs, but the GPU node "
                                                           "has 4"),
    ({"team-b": {"borrowing": 2}}, "the ClusterQueue team-b-gpus has borrowingLimit 2; the task asks for 1"),
    ({"team-a": {"borrowing": 1}}, "the ClusterQueue team-a-gpus has borrowingLimit 1"),
    ({"team-a": {"selector": False}}, "the ClusterQueue team-a-gpus has no spec.namespaceSelector, so it admits no "
                                      "namespace"),
    ({"team-a": {"flavor": "gpus"}}, "the ClusterQueue team-a-gpus gives its GPUs under flavor 'gpus', and no "
                                     "ResourceFlavor of that name exists"),
])
def test_wrong_cluster_queues(lab, per_team, fragment):
    make_flavor(lab)
    make_queues(lab, **per_team)
    result = queue_lab.check_cluster_queues()
    rejected(result, fragment)
    rejected(result, "run the reset() cell, then the create cells of steps 1 and 2 again")


def test_missing_cluster_queues_and_unlabelled_one(lab):
    make_flavor(lab)
    custom(lab).create_cluster_custom_object(G, V, "clusterqueues", cq_body("team-a", labels={"team": "ml"}))
    result = queue_lab.check_cluster_queues()
    rejected(result, "the ClusterQueue team-a-gpus has no label app.kubernetes.io/part-of=whyk8s")
    rejected(result, "custom.delete_cluster_custom_object('kueue.x-k8s.io', 'v1beta2', 'clusterqueues', "
                     "'team-a-gpus') (kubectl delete clusterqueue team-a-gpus)")
    rejected(result, "there is no ClusterQueue named team-b-gpus yet")


def test_local_queue_pointing_at_a_missing_or_the_other_teams_cluster_queue(lab):
    make_flavor(lab)
    make_queues(lab)
    make_local_queues(lab, targets={"team-a": "team-a-gpu", "team-b": "team-a-gpus"})
    result = queue_lab.check_local_queues()
    rejected(result, "the LocalQueue team-a/team-queue points at the ClusterQueue 'team-a-gpu' (spec.clusterQueue), "
                     "which does not exist; the task asks for team-a-gpus")
    rejected(result, "the LocalQueue team-b/team-queue points at the ClusterQueue team-a-gpus (spec.clusterQueue); "
                     "team-b's jobs must go to team-b-gpus")


def test_a_team_namespace_without_the_course_label_says_how_to_replace_it(lab):
    """reset() leaves an unlabelled namespace alone, so "run the reset() cell" cannot fix it: the
    hint names the delete line instead (found by a fresh user)."""
    make_flavor(lab)
    make_queues(lab)
    lab.core.create_namespace({"metadata": {"name": "team-a"}})  # no course label
    make_local_queues(lab)
    result = queue_lab.check_local_queues()
    assert not result.passed
    assert any("core.delete_namespace('team-a')" in h and "kubectl delete namespace team-a" in h
               for h in result.hints), result.hints


def test_missing_local_queues_and_no_backlog_without_them(lab):
    rejected(queue_lab.check_local_queues(), "there is no namespace team-a yet")
    assert queue_lab.submit_backlog().startswith("⚠ There is no LocalQueue team-queue in namespace team-b yet")
    assert not lab.core.list_namespace(field_selector="metadata.name=team-b").items  # nothing was created


def test_urgent_job_without_the_queue_label(lab):
    make_all(lab)
    queue_lab.submit_backlog()
    make_urgent(lab, queue_label=False, on_template=True)
    result = queue_lab.check_sharing(timeout=0)
    rejected(result, "the Job urgent-train has no label kueue.x-k8s.io/queue-name: Kueue leaves it alone")
    rejected(result, "(it is on the Pod template, where Kueue does not read it)")


def test_urgent_job_before_the_backlog(lab):
    make_all(lab)
    make_urgent(lab)
    rejected(queue_lab.check_sharing(timeout=0), "team B's backlog was not waiting when urgent-train was created")


def test_reset_leaves_unlabelled_kueue_objects_and_names_them(lab):
    make_flavor(lab, labels={"team": "ml"})                       # no course label
    make_queues(lab, **{"team-a": {"labels": {"team": "ml"}}})     # team-a-gpus unlabelled, team-b-gpus labelled
    result = queue_lab.reset()
    assert str(result).startswith("Lab 7 reset: done, but 2 left alone"), str(result)
    rejected(result, "ClusterQueue team-a-gpus has no label app.kubernetes.io/part-of=whyk8s, so the reset left it "
                     "alone; if it is yours to delete, run custom.delete_cluster_custom_object('kueue.x-k8s.io', "
                     "'v1beta2', 'clusterqueues', 'team-a-gpus') (kubectl delete clusterqueue team-a-gpus)")
    rejected(result, "ResourceFlavor gpu has no label")
    names = {q["metadata"]["name"] for q in custom(lab).list_cluster_custom_object(G, V, "clusterqueues")["items"]}
    assert names == {"team-a-gpus"}, names                          # the labelled one is gone
    assert custom(lab).get_cluster_custom_object(G, V, "resourceflavors", "gpu")


def test_reset_keeps_a_labelled_flavor_that_an_unlabelled_cluster_queue_uses(lab):
    """Kueue keeps a ResourceFlavor while a ClusterQueue names it: deleting it would wait until the
    reset's time limit; the reset leaves it and says why."""
    make_flavor(lab)                                                # labelled
    custom(lab).create_cluster_custom_object(G, V, "clusterqueues", cq_body("team-a", labels={"team": "ml"}))
    started = time.monotonic()
    result = queue_lab.reset(timeout=30)
    assert time.monotonic() - started < 20, "the reset waited for a flavor Kueue keeps"
    assert result.ran, str(result)
    rejected(result, "ResourceFlavor gpu is used by the ClusterQueue team-a-gpus, which has no label "
                     "app.kubernetes.io/part-of=whyk8s, so the reset left the flavor alone")
    rejected(result, "ClusterQueue team-a-gpus has no label")
    assert custom(lab).get_cluster_custom_object(G, V, "resourceflavors", "gpu")["metadata"].get("deletionTimestamp") \
        is None


def test_start_on_a_cluster_where_kueue_cannot_run_says_so(lab, monkeypatch, capsys, tmp_path):
    """Off the kwok cluster (here: the kwok cluster's folder is not where the course looks, as on kind)
    the set-up cell prints one sentence and no traceback."""
    import whyk8s.cluster.kwok as kwok
    monkeypatch.setattr(kwok, "kwok_cluster_dir", lambda *a, **k: tmp_path / "absent")
    queue_lab.start()
    out = capsys.readouterr().out
    assert "Lab 7 needs Kueue, which the course runs only on the kwok cluster" in out
    assert "Traceback" not in out


def test_unreachable_cluster_is_one_finding(tmp_path, monkeypatch):
    unreachable_kubeconfig(tmp_path, monkeypatch)
    for check in (queue_lab.check_flavor, queue_lab.check_cluster_queues, queue_lab.check_local_queues,
                  queue_lab.check_sharing):
        result = check()
        assert not result.passed and "did not answer" in result.problems[0]
