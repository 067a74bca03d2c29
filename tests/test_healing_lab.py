"""Lab 3 checks against the real API server: owner chain, replica counts, a replaced Pod."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from kubernetes import client

from whyk8s.labs import healing_lab
from whyk8s.labs.common import wait_for
from test_pod_lab import unreachable_kubeconfig
from labcheck import purge, rejected

NAME = healing_lab.DEPLOYMENT
LABELS = {"app": NAME, "app.kubernetes.io/part-of": "whyk8s"}
CONTAINER = {"name": "server", "image": healing_lab.IMAGE, "command": healing_lab.COMMAND,
             "readinessProbe": healing_lab.PROBE}


def deployment(replicas=3, labels=None, probe=True):
    container = dict(CONTAINER) if probe else {k: v for k, v in CONTAINER.items() if k != "readinessProbe"}
    return {"metadata": {"name": NAME, "labels": LABELS if labels is None else labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": NAME}},
                     "template": {"metadata": {"labels": LABELS}, "spec": {"containers": [container]}}}}


#: Objects the tests plant, some without the course label (which reset() leaves alone).
PLANTED = [("Deployment", "whyk8s", NAME), ("ReplicaSet", "whyk8s", NAME), ("Pod", "whyk8s", NAME)]


@pytest.fixture
def lab(cluster):
    cluster.ensure_namespace()
    purge(cluster, PLANTED)
    healing_lab.reset()
    yield cluster
    healing_lab.reset()
    purge(cluster, PLANTED)


def pod_names(cluster):
    return [p.metadata.name for p in cluster.core.list_namespaced_pod("whyk8s", label_selector=f"app={NAME}").items]


def test_right_answers_pass_through_all_three_steps(lab):
    lab.apps.create_namespaced_deployment("whyk8s", deployment())
    assert healing_lab.check_deployment().passed
    before = pod_names(lab)
    lab.core.delete_namespaced_pod(before[0], "whyk8s")
    result = healing_lab.check_healed(before, before[0])
    assert result.passed, result.problems
    lab.apps.patch_namespaced_deployment_scale(NAME, "whyk8s", {"spec": {"replicas": 5}})
    assert healing_lab.check_scaled().passed


@pytest.mark.parametrize("body, fragment", [
    (deployment(replicas=2), "the Deployment asks for 2 replicas (spec.replicas); the task asks for 3"),
    (deployment(probe=False), "declares a readinessProbe"),
    (deployment(labels={"app": NAME}), "has no label app.kubernetes.io/part-of=whyk8s"),
])
def test_wrong_deployments_are_named(lab, body, fragment):
    lab.apps.create_namespaced_deployment("whyk8s", body)
    rejected(healing_lab.check_deployment(timeout=5), fragment)


def test_wrong_kind_a_bare_pod(lab):
    lab.core.create_namespaced_pod("whyk8s", {"metadata": {"name": NAME, "labels": LABELS},
                                              "spec": {"containers": [CONTAINER]}})
    rejected(healing_lab.check_deployment(), "but there is a Pod named model-server in namespace whyk8s")


def test_wrong_namespace(lab):
    ns = lab.ensure_namespace("lab3-elsewhere")
    lab.apps.create_namespaced_deployment(ns, deployment())
    rejected(healing_lab.check_deployment(), "a Deployment named model-server in namespace lab3-elsewhere")


def test_missing_deployment(lab):
    rejected(healing_lab.check_scaled(), "there is no Deployment named model-server in namespace whyk8s yet")


def test_not_scaled(lab):
    lab.apps.create_namespaced_deployment("whyk8s", deployment())
    rejected(healing_lab.check_scaled(timeout=3), "the Deployment asks for 3 replicas (spec.replicas); the task asks for 5")


def test_scaled_in_the_wrong_namespace(lab):
    ns = lab.ensure_namespace("lab3-elsewhere")
    lab.apps.create_namespaced_deployment(ns, deployment(replicas=5))
    rejected(healing_lab.check_scaled(timeout=3),
             "there is no Deployment model-server in namespace whyk8s, but there is a Deployment named "
             "model-server in namespace lab3-elsewhere")


def test_scaled_wrong_kind_a_replicaset(lab):
    body = deployment(replicas=5)
    lab.apps.create_namespaced_replica_set("whyk8s", body)
    rejected(healing_lab.check_scaled(timeout=3), "but there is a ReplicaSet named model-server in namespace whyk8s")


def test_healed_wrong_answers(lab):
    lab.apps.create_namespaced_deployment("whyk8s", deployment())
    wait_for(lab.core.list_namespaced_pod, lambda ps: len(ps) == 3, timeout=20, namespace="whyk8s",
             label_selector=f"app={NAME}")
    before = pod_names(lab)
    rejected(healing_lab.check_healed(..., ...), "not answered yet")
    rejected(healing_lab.check_healed(before, "not-a-pod"), "is not one of the Pods you listed")
    rejected(healing_lab.check_healed(before, before[0], timeout=1), f"the Pod {before[0]} still exists")
    rejected(healing_lab.check_healed(before[0], before[0]), "before should be a list of Pod names")


def test_healed_decides_from_the_watched_pods(lab, monkeypatch):
    """check_healed waits with one watch on the Pods (plus one LIST of ReplicaSets), not with LISTs
    and GETs on every event (code review finding 1): count the requests it makes while the
    ReplicaSet replaces a Pod and the new Pod turns Ready. (The earlier predicate did two LISTs and
    a GET each time it was asked, and read the chain again at the end: at least 4 Pod LISTs.)"""
    lab.apps.create_namespaced_deployment("whyk8s", deployment())
    assert healing_lab.check_deployment().passed
    before = pod_names(lab)
    calls = []
    real = client.ApiClient.call_api

    def counting(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        calls.append((method, parts.path, "watch=true" in parts.query.lower()))
        return real(self, method, url, *args, **kwargs)

    monkeypatch.setattr(client.ApiClient, "call_api", counting)
    lab.core.delete_namespaced_pod(before[0], "whyk8s")
    result = healing_lab.check_healed(before, before[0])
    monkeypatch.undo()
    assert result.passed, result.problems
    gets = [path for method, path, watch in calls if method == "GET" and not watch]
    assert gets.count("/api/v1/namespaces/whyk8s/pods") <= 2, calls  # the two waits list once each
    assert gets.count("/apis/apps/v1/namespaces/whyk8s/replicasets") == 1, calls
    assert gets.count("/apis/apps/v1/namespaces/whyk8s/deployments/model-server") == 1, calls


def test_reset_leaves_an_unlabelled_deployment_and_names_it(lab):
    """The Deployment lacks the course label but its Pod template has it: the reset leaves the
    Deployment, and its labelled ReplicaSet and Pods (it would only re-create them), and finishes."""
    lab.apps.create_namespaced_deployment("whyk8s", deployment(labels={"app": NAME}))
    wait_for(lab.core.list_namespaced_pod, lambda ps: len(ps) == 3, timeout=20, namespace="whyk8s",
             label_selector=f"app={NAME}")
    pods = sorted(pod_names(lab))
    result = healing_lab.reset(timeout=20)
    assert str(result).startswith("Lab 3 reset: done, but 1 left alone"), str(result)
    assert sorted(pod_names(lab)) == pods
    rejected(result, "Deployment whyk8s/model-server has no label app.kubernetes.io/part-of=whyk8s, so the reset "
                     "left it alone; if it is yours to delete, run apps.delete_namespaced_deployment("
                     "'model-server', 'whyk8s') (kubectl delete deployment model-server -n whyk8s)")
    assert lab.apps.read_namespaced_deployment(NAME, "whyk8s").metadata.deletion_timestamp is None


def test_unreachable_cluster_is_one_finding(tmp_path, monkeypatch):
    unreachable_kubeconfig(tmp_path, monkeypatch)
    for result in (healing_lab.check_deployment(), healing_lab.check_scaled(),
                   healing_lab.check_healed(["a"], "a")):
        assert not result.passed and "did not answer" in result.problems[0]


def test_deleting_the_replica_set_deletes_its_pods_and_the_deployment_makes_it_again(lab):
    """The answer to lab 3's "Think about it": the garbage collector deletes the ReplicaSet's Pods,
    and the Deployment controller creates a ReplicaSet of the same name (the template's hash) with a
    new uid, and 3 new Pods."""
    lab.apps.create_namespaced_deployment("whyk8s", deployment())
    assert healing_lab.check_deployment().passed
    dep = lab.apps.read_namespaced_deployment(NAME, "whyk8s")
    (old,) = healing_lab.owned_replica_sets(lab, dep)
    before = set(pod_names(lab))
    lab.apps.delete_namespaced_replica_set(old.metadata.name, "whyk8s")

    def remade(items):
        rs, pods = healing_lab.owner_chain(lab, dep)
        return (len(rs) == 1 and rs[0].metadata.uid != old.metadata.uid and len(pods) == 3
                and not before & {p.metadata.name for p in pods})
    wait_for(lab.apps.list_namespaced_replica_set, remade, timeout=30, namespace="whyk8s")
    rs, pods = healing_lab.owner_chain(lab, dep)
    assert [r.metadata.name for r in rs] == [old.metadata.name] and rs[0].metadata.uid != old.metadata.uid
    assert len(pods) == 3 and not before & {p.metadata.name for p in pods}


def test_missing_deployment_after_a_failed_create_cell_says_the_create_failed(lab, shell):
    """Learner trial 4d, as a kind of fault: lab 3's check said "uncomment the … line" when the line
    was uncommented and its cell failed (here: the namespace argument left out)."""
    from IPython.utils.capture import capture_output

    sh = shell
    sh.user_ns.update(apps=lab.apps, dep=deployment())
    with capture_output():
        assert not sh.run_cell("apps.create_namespaced_deployment(body=dep)", store_history=True).success
    result = healing_lab.check_deployment(timeout=0)
    rejected(result, "the cell that creates it failed")
    assert "the argument namespace is missing" in result.problems[0] and "uncomment" not in result.problems[0]
