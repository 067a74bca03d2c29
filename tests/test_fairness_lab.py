"""Lab 5 checks against the real API server: quotas, PriorityClasses, a real preemption."""

from __future__ import annotations

import pytest

from whyk8s.labs import fairness_lab
from whyk8s.labs.common import wait_for
from test_pod_lab import unreachable_kubeconfig
from labcheck import purge, rejected

LABELS = {"app.kubernetes.io/part-of": "whyk8s"}
TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}
RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"nvidia.com/gpu": "4"}}


def make_teams(cluster, hard=None, ns_labels=LABELS, where=None):
    for team in fairness_lab.TEAMS:
        cluster.core.create_namespace({"metadata": {"name": team, "labels": ns_labels}})
        spec = dict(fairness_lab.HARD[team], **((hard or {}).get(team, {})))
        cluster.core.create_namespaced_resource_quota(
            where or team, {"metadata": {"name": fairness_lab.QUOTA if not where else f"{fairness_lab.QUOTA}-{team}"
                                         if where != team else fairness_lab.QUOTA, "labels": LABELS},
                            "spec": {"hard": spec}})


def make_priorities(cluster, low=1000, high=100000, labels=LABELS):
    for name, value in (("whyk8s-low", low), ("whyk8s-high", high)):
        cluster.scheduling.create_priority_class({"metadata": {"name": name, "labels": labels}, "value": value})


def pod_spec(priority, restart="Always"):
    return {"restartPolicy": restart, "priorityClassName": priority, "tolerations": [TOLERATION],
            # a Job's container must end for the Job to succeed where containers run (kind)
            "containers": [{"name": "main", "resources": RESOURCES, **(
                {"image": "registry.k8s.io/pause:3.10"} if restart == "Always"
                else {"image": "busybox:1.36", "command": ["sh", "-c", "sleep 5"]})}]}


def make_low(cluster, priority="whyk8s-low"):
    ns, name = fairness_lab.LOW
    cluster.apps.create_namespaced_deployment(ns, {
        "metadata": {"name": name, "labels": LABELS},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {**LABELS, "app": name}}, "spec": pod_spec(priority)}}})
    wait_for(cluster.core.list_namespaced_pod, lambda ps: any(p.status.phase == "Running" for p in ps),
             timeout=20, namespace=ns, label_selector=f"app={name}")


def make_high(cluster, priority="whyk8s-high"):
    ns, name = fairness_lab.HIGH
    cluster.batch.create_namespaced_job(ns, {
        "metadata": {"name": name, "labels": LABELS},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": LABELS},
                                                 "spec": pod_spec(priority, "Never")}}})


#: Objects the tests plant, some without the course label (which reset() leaves alone).
PLANTED = [("Namespace", None, team) for team in fairness_lab.TEAMS] + \
    [("PriorityClass", None, name) for name in fairness_lab.PRIORITIES] + [("Job", "whyk8s", fairness_lab.HIGH[1])]


@pytest.fixture
def lab(cluster):
    cluster.ensure_namespace()
    purge(cluster, PLANTED)
    fairness_lab.reset()
    yield cluster
    fairness_lab.reset()
    purge(cluster, PLANTED)


def test_right_answers_pass_and_preemption_is_found(lab):
    make_teams(lab)
    make_priorities(lab)
    assert fairness_lab.check_teams().passed
    assert fairness_lab.check_priorities().passed
    make_low(lab)
    make_high(lab)
    result = fairness_lab.check_preemption()
    assert result.passed, result.problems


def test_wrong_quota_values(lab):
    make_teams(lab, hard={"team-a": {"requests.memory": "4G"}, "team-b": {"requests.cpu": "1500m"}})
    result = fairness_lab.check_teams()
    rejected(result, "team-a: the quota's requests.memory is 4G (4,000,000,000 bytes); the task asks for 4Gi")
    rejected(result, "team-b: the quota's requests.cpu is 1500m (1,500 millicores); the task asks for 1")


def test_missing_namespace_label_and_missing_quota(lab):
    lab.core.create_namespace({"metadata": {"name": "team-a"}})
    result = fairness_lab.check_teams()
    rejected(result, "the namespace team-a has no label app.kubernetes.io/part-of=whyk8s")
    rejected(result, "delete the Namespace team-a with core.delete_namespace('team-a') (kubectl delete namespace "
                     "team-a), since reset() leaves objects without the course label alone")
    rejected(result, "there is no ResourceQuota named compute in namespace team-a yet")
    rejected(result, "there is no namespace team-b yet")


def test_reset_leaves_unlabelled_namespace_and_priority_class_and_names_them(lab):
    lab.core.create_namespace({"metadata": {"name": "team-a"}})                       # no course label
    lab.core.create_namespaced_resource_quota("team-a", {"metadata": {"name": "compute", "labels": LABELS},
                                                         "spec": {"hard": {"pods": "5"}}})
    lab.core.create_namespace({"metadata": {"name": "team-b", "labels": LABELS}})     # labelled
    lab.core.create_namespaced_resource_quota("team-b", {"metadata": {"name": "compute"},   # unlabelled, inside
                                                         "spec": {"hard": {"pods": "5"}}})
    make_priorities(lab, labels={"team": "ml"})                                      # no course label
    result = fairness_lab.reset()
    assert str(result).startswith("Lab 5 reset: done, but 3 left alone"), str(result)
    rejected(result, "Namespace team-a has no label app.kubernetes.io/part-of=whyk8s, so the reset left it and "
                     "everything in it alone; if it is yours to delete, run core.delete_namespace('team-a') "
                     "(kubectl delete namespace team-a)")
    rejected(result, "PriorityClass whyk8s-high has no label app.kubernetes.io/part-of=whyk8s, so the reset left "
                     "it alone; if it is yours to delete, run scheduling.delete_priority_class('whyk8s-high') "
                     "(kubectl delete priorityclass whyk8s-high)")
    assert not any("team-b" in p or "compute" in p for p in result.problems), result.problems
    assert lab.core.read_namespaced_resource_quota("compute", "team-a").metadata.deletion_timestamp is None
    assert {pc.metadata.name for pc in lab.scheduling.list_priority_class().items} >= set(fairness_lab.PRIORITIES)
    assert not lab.core.list_namespace(field_selector="metadata.name=team-b").items  # labelled: gone, with its quota


def test_wrong_kind_limitrange(lab):
    for team in fairness_lab.TEAMS:
        lab.core.create_namespace({"metadata": {"name": team, "labels": LABELS}})
    lab.core.create_namespaced_limit_range("team-a", {"metadata": {"name": "compute", "labels": LABELS},
                                                      "spec": {"limits": [{"type": "Container",
                                                                           "default": {"cpu": "1"}}]}})
    rejected(fairness_lab.check_teams(), "but there is a LimitRange named compute in namespace team-a")


def test_wrong_namespace_quota(lab):
    for team in fairness_lab.TEAMS:
        lab.core.create_namespace({"metadata": {"name": team, "labels": LABELS}})
    lab.core.create_namespaced_resource_quota("whyk8s", {"metadata": {"name": "compute", "labels": LABELS},
                                                         "spec": {"hard": fairness_lab.HARD["team-a"]}})
    rejected(fairness_lab.check_teams(), "a ResourceQuota named compute in namespace whyk8s")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"low": 100000, "high": 1000}, "whyk8s-high (1,000) is not higher than whyk8s-low (100,000)"),
    ({"high": 5000}, "whyk8s-high has value 5,000; the task asks for 100,000"),
    ({"labels": {"team": "ml"}}, "the PriorityClass whyk8s-low has no label app.kubernetes.io/part-of=whyk8s"),
])
def test_wrong_priorities(lab, kwargs, fragment):
    make_priorities(lab, **kwargs)
    result = fairness_lab.check_priorities()
    rejected(result, fragment)
    rejected(result, "then run this step's create cell again" if "labels" in kwargs else
             "run the reset() cell, then the create cells of steps 1 and 2 again")


def test_missing_priorities(lab):
    rejected(fairness_lab.check_priorities(), "there is no PriorityClass named whyk8s-high yet")


def test_no_preemption_when_high_uses_low_priority(lab):
    make_teams(lab)
    make_priorities(lab)
    make_low(lab)
    make_high(lab, priority="whyk8s-low")
    result = fairness_lab.check_preemption(timeout=5)
    rejected(result, "urgent-train's Pod template has priorityClassName 'whyk8s-low'")
    rejected(result, "no Preempted event in namespace team-b")


def test_preemption_missing_objects(lab):
    result = fairness_lab.check_preemption(timeout=0)
    rejected(result, "there is no Deployment batch-low in namespace team-b yet")
    rejected(result, "there is no Job urgent-train in namespace team-a yet")


def test_preemption_high_job_in_the_wrong_namespace(lab):
    make_teams(lab)
    make_priorities(lab)
    make_low(lab)
    ns, name = fairness_lab.HIGH
    lab.batch.create_namespaced_job("whyk8s", {
        "metadata": {"name": name, "labels": LABELS},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": LABELS},
                                                 "spec": pod_spec("whyk8s-high", "Never")}}})
    rejected(fairness_lab.check_preemption(timeout=0),
             "there is no Job urgent-train in namespace team-a, but there is a Job named urgent-train in "
             "namespace whyk8s")


def test_preemption_low_as_a_job_and_unlabelled_high(lab):
    make_teams(lab)
    make_priorities(lab)
    ns, name = fairness_lab.LOW
    lab.batch.create_namespaced_job(ns, {  # wrong kind: a Job, which kwok finishes at once
        "metadata": {"name": name, "labels": LABELS},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": LABELS},
                                                 "spec": pod_spec("whyk8s-low", "Never")}}})
    high_ns, high_name = fairness_lab.HIGH
    lab.batch.create_namespaced_job(high_ns, {  # missing label (a Job without labels copies its template's)
        "metadata": {"name": high_name},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app": high_name}},
                                                 "spec": pod_spec("whyk8s-high", "Never")}}})
    result = fairness_lab.check_preemption(timeout=0)
    rejected(result, "there is no Deployment batch-low in namespace team-b, but there is a Job named batch-low "
                     "in namespace team-b")
    rejected(result, "the Job urgent-train has no label app.kubernetes.io/part-of=whyk8s")


def test_unreachable_cluster_is_one_finding(tmp_path, monkeypatch):
    unreachable_kubeconfig(tmp_path, monkeypatch)
    for check in (fairness_lab.check_teams, fairness_lab.check_priorities, fairness_lab.check_preemption):
        result = check()
        assert not result.passed and "did not answer" in result.problems[0]
