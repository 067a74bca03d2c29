"""Lab 2 checks against the real API server: the right Pod passes, planted wrong Pods are named."""

from __future__ import annotations

import pytest
import yaml

from whyk8s.labs import pod_lab
from labcheck import rejected

LABELS = {"app": "first-pod", "app.kubernetes.io/part-of": "whyk8s"}


def unreachable_kubeconfig(tmp_path, monkeypatch):
    """A kubeconfig whose course context points at a port where nothing listens."""
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "kwok-whyk8s",
           "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
           "users": [{"name": "u", "user": {"token": "x"}}],
           "contexts": [{"name": "kwok-whyk8s", "context": {"cluster": "c", "user": "u"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("KUBECONFIG", str(path))


def pod_body(name=pod_lab.POD_NAME, labels=None, image=pod_lab.IMAGE, cpu="250m", memory="64Mi"):
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": LABELS if labels is None else labels},
            "spec": {"containers": [{"name": "main", "image": image, "resources": {"requests": requests}}]}}


@pytest.fixture
def lab(cluster):
    pod_lab.reset()
    yield cluster
    pod_lab.reset()


def test_right_pod_passes_and_cpu_fraction_is_the_same(lab):
    lab.core.create_namespaced_pod("whyk8s", pod_body(cpu="0.25"))
    result = pod_lab.check_pod()
    assert result.passed, result.problems
    assert any("250m CPU" in f.message for f in result.findings)


@pytest.mark.parametrize("body, fragment", [
    (pod_body(cpu="500m"), "the Pod requests 500m CPU (500 millicores); the task asks for 250m"),
    (pod_body(memory="64M"), "M is a million bytes"),
    (pod_body(memory="128Mi"), "the task asks for 64Mi (67,108,864 bytes)"),
    (pod_body(memory=None), "requests no memory"),
    (pod_body(image="nginx:1.27"), "the container's image is 'nginx:1.27'"),
    (pod_body(labels={"app": "first-pod"}), "has no label app.kubernetes.io/part-of=whyk8s"),
    (pod_body(labels={"app": "second", "app.kubernetes.io/part-of": "whyk8s"}), "label app is 'second'"),
])
def test_wrong_fields_are_named(lab, body, fragment):
    lab.core.create_namespaced_pod("whyk8s", body)
    rejected(pod_lab.check_pod(), fragment)


def test_missing_pod(lab):
    rejected(pod_lab.check_pod(timeout=0), "there is no Pod named first-pod in namespace whyk8s yet")


def test_wrong_kind_a_deployment(lab):
    body = {"metadata": {"name": pod_lab.POD_NAME, "labels": LABELS},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "first-pod"}},
                     "template": {"metadata": {"labels": LABELS}, "spec": pod_body()["spec"]}}}
    lab.apps.create_namespaced_deployment("whyk8s", body)
    rejected(pod_lab.check_pod(), "but there is a Deployment named first-pod in namespace whyk8s")


def test_wrong_namespace(lab):
    ns = lab.ensure_namespace("lab2-elsewhere")
    lab.core.create_namespaced_pod(ns, pod_body())
    rejected(pod_lab.check_pod(), "a Pod named first-pod in namespace lab2-elsewhere")


def test_reset_removes_an_unlabelled_pod(lab):
    lab.core.create_namespaced_pod("whyk8s", pod_body(labels={"app": "first-pod"}))
    result = pod_lab.reset()
    assert result.passed and "Pod whyk8s/first-pod" in str(result)
    assert not lab.core.list_namespaced_pod("whyk8s", field_selector="metadata.name=first-pod").items


def test_unreachable_cluster_is_one_finding(tmp_path, monkeypatch):
    unreachable_kubeconfig(tmp_path, monkeypatch)
    result = pod_lab.check_pod()
    assert not result.passed and len(result.findings) == 1
    assert "did not answer" in result.problems[0]


def test_foreign_context_is_refused(foreign_kubeconfig):
    result = pod_lab.check_pod()
    assert not result.passed and "Refusing to act on kubeconfig context 'production'" in result.problems[0]


def test_missing_pod_says_to_uncomment_the_create_line(lab):
    rejected(pod_lab.check_pod(timeout=0), "uncomment the core.create_namespaced_pod line")


def test_read_back_passes_for_the_live_pod_and_names_a_stale_one(lab):
    rejected(pod_lab.check_read_back(...), "not answered yet")
    rejected(pod_lab.check_read_back({"metadata": {}}), "read the Pod with core.read_namespaced_pod")
    lab.core.create_namespaced_pod("whyk8s", pod_body())
    assert pod_lab.check_pod().passed
    stored = lab.core.read_namespaced_pod(pod_lab.POD_NAME, "whyk8s")
    result = pod_lab.check_read_back(stored)
    assert result.passed, result.problems
    assert any("cpu 250m, memory 64Mi" in f.message for f in result.findings)
    assert any(stored.spec.node_name in f.message for f in result.findings)
    pod_lab.reset()  # a new Pod with the same name has a new uid: the old read-back is stale
    lab.core.create_namespaced_pod("whyk8s", pod_body())
    rejected(pod_lab.check_read_back(stored), "comes from an earlier first-pod")


def test_read_back_names_another_pod_and_wrong_requests(lab):
    lab.core.create_namespaced_pod("whyk8s", pod_body(name="second-pod"))
    other = lab.core.read_namespaced_pod("second-pod", "whyk8s")  # wrong object: another Pod
    rejected(pod_lab.check_read_back(other), "stored is the Pod 'second-pod'; the task reads back 'first-pod'")
    lab.core.create_namespaced_pod("whyk8s", pod_body(memory="128Mi"))  # wrong value: not the task's request
    stored = lab.core.read_namespaced_pod(pod_lab.POD_NAME, "whyk8s")
    rejected(pod_lab.check_read_back(stored), "the stored requests are {'cpu': '250m', 'memory': '128Mi'}")
