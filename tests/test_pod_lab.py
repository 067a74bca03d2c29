"""Lab 2 checks against the real API server: the right Pod passes, planted wrong Pods are named;
the set-up cell; and a learner's own cell refused by the API server reads as one sentence."""

from __future__ import annotations

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from whyk8s.labs import pod_lab
from labcheck import purge, rejected

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


def pod_body(name=pod_lab.POD_NAME, labels=None, image=pod_lab.IMAGE, cpu="250m", memory="64Mi", container="main"):
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": LABELS if labels is None else labels},
            "spec": {"containers": [{"name": container, "image": image, "resources": {"requests": requests}}]}}


#: Objects the tests plant, some without the course label (which reset() leaves alone).
PLANTED = [("Pod", "whyk8s", pod_lab.POD_NAME), ("Deployment", "whyk8s", pod_lab.POD_NAME)]


@pytest.fixture
def lab(cluster):
    cluster.ensure_namespace()
    purge(cluster, PLANTED)
    pod_lab.reset()
    yield cluster
    pod_lab.reset()
    purge(cluster, PLANTED)


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
    # learner trial 3: a container named after the Pod passed every check
    (pod_body(container="first-pod"), "the container is named 'first-pod'; the task asks for 'main'"),
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


def test_reset_leaves_an_unlabelled_pod_and_names_it(lab):
    lab.core.create_namespaced_pod("whyk8s", pod_body(labels={"app": "first-pod"}))
    lab.core.create_namespaced_pod("whyk8s", pod_body(name="labelled-pod"))
    result = pod_lab.reset()
    assert str(result).startswith("Lab 2 reset: done, but 1 left alone")
    rejected(result, "Pod whyk8s/first-pod has no label app.kubernetes.io/part-of=whyk8s, so the reset left it "
                     "alone; if it is yours to delete, run core.delete_namespaced_pod('first-pod', 'whyk8s') "
                     "(kubectl delete pod first-pod -n whyk8s)")
    assert lab.core.read_namespaced_pod("first-pod", "whyk8s").metadata.deletion_timestamp is None
    assert not lab.core.list_namespaced_pod("whyk8s", field_selector="metadata.name=labelled-pod").items
    lab.core.delete_namespaced_pod("first-pod", "whyk8s")  # the line the reset gave
    result = pod_lab.reset()
    assert result.passed and str(result).startswith("Lab 2 reset: done\n"), str(result)


def test_wrong_fields_say_how_to_create_again(lab):
    lab.core.create_namespaced_pod("whyk8s", pod_body(image="nginx:1.27"))
    rejected(pod_lab.check_pod(), "run the reset() cell, then this step's create cell again")
    pod_lab.reset()
    lab.core.create_namespaced_pod("whyk8s", pod_body(labels={"app": "first-pod"}))  # reset leaves this one
    rejected(pod_lab.check_pod(), "delete the Pod first-pod with core.delete_namespaced_pod('first-pod', "
                                  "'whyk8s') (kubectl delete pod first-pod -n whyk8s), since reset() leaves")
    purge(lab, PLANTED)
    lab.core.create_namespaced_pod("whyk8s", pod_body())
    assert not any("reset() cell" in f.message for f in pod_lab.check_pod().findings)


def test_reset_without_a_cluster_is_not_done(tmp_path, monkeypatch):
    unreachable_kubeconfig(tmp_path, monkeypatch)
    result = pod_lab.reset()
    assert not result.passed and str(result).startswith("Lab 2 reset: not done")
    assert "did not answer" in result.problems[0]


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


def test_missing_pod_after_a_failed_create_cell_says_the_create_failed(lab, shell):
    """Learner trial 4d: the create line was uncommented but its cell failed; the check still said
    "uncomment the core.create_namespaced_pod line". It must say the create cell failed, and why."""
    from IPython.utils.capture import capture_output

    sh = shell
    sh.user_ns.update(core=lab.core, pod=pod_body())
    with capture_output():
        ran = sh.run_cell("created = core.create_namespaced_pod(body=pod)   # namespace forgotten",
                          store_history=True)
    assert not ran.success
    result = pod_lab.check_pod(timeout=0)
    rejected(result, "the cell that creates it failed")
    assert "the argument namespace is missing" in result.problems[0] and "uncomment" not in result.problems[0]
    with capture_output():  # fixed: the create runs; after a reset the check is back to "never tried"
        assert sh.run_cell("created = core.create_namespaced_pod('whyk8s', pod)", store_history=True).success
    pod_lab.reset()
    rejected(pod_lab.check_pod(timeout=0), "uncomment the core.create_namespaced_pod line")


def test_read_back_passes_for_the_live_pod_and_names_a_stale_one(lab):
    rejected(pod_lab.check_read_back(...), "not answered yet")
    rejected(pod_lab.check_read_back({"metadata": {}}), "read the Pod with core.read_namespaced_pod")
    lab.core.create_namespaced_pod("whyk8s", pod_body())
    assert pod_lab.check_pod().passed
    stored = lab.core.read_namespaced_pod(pod_lab.POD_NAME, "whyk8s")
    result = pod_lab.check_read_back(stored)
    assert result.passed, result.problems
    assert any("cpu 250m (250 millicores), memory 64Mi (67,108,864 bytes)" in f.message for f in result.findings)
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


def test_start_refuses_a_foreign_context_and_names_the_course_context(foreign_kubeconfig, capsys):
    assert pod_lab.start("Lab 2") == "kwok-whyk8s"
    assert "Refusing to act on kubeconfig context 'production'" in capsys.readouterr().out


def test_start_without_a_cluster_says_how_to_start_it(tmp_path, monkeypatch, capsys):
    unreachable_kubeconfig(tmp_path, monkeypatch)
    assert pod_lab.start("Lab 2") == "kwok-whyk8s"
    assert "whyk8s cluster up" in capsys.readouterr().out


def test_start_creates_the_course_namespace(cluster, capsys):
    from whyk8s.k8s.waits import wait_until_gone
    import time
    if cluster.core.list_namespace(field_selector="metadata.name=whyk8s").items:
        cluster.core.delete_namespace("whyk8s")
        wait_until_gone(cluster.core.list_namespace, field_selector="metadata.name=whyk8s",
                        deadline=time.monotonic() + 60)
    assert pod_lab.start("Lab 2") == cluster.context
    nodes = len(cluster.core.list_node().items)  # 4 on kwok; kind's control plane is a fifth
    assert f"Lab 2: the course cluster answers ({nodes} nodes Ready); namespace 'whyk8s' is ready." in \
        capsys.readouterr().out
    assert cluster.core.read_namespace("whyk8s").metadata.labels["app.kubernetes.io/part-of"] == "whyk8s"


#: The set-up lines of a cluster lab's first cell (labs/lab2-first-pod.ipynb).
SETUP = """from kubernetes import client, config
from whyk8s.labs import pod_lab

context = pod_lab.start("Lab 2")
config.load_kube_config(context=context)
core = client.CoreV1Api()"""

#: A learner's own cell: a Pod name with capital letters, which the API server refuses (422).
LEARNER_CELL = """core.create_namespaced_pod("whyk8s", {"metadata": {"name": "First-Pod"},
    "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]}})"""


def _output_text(cell) -> str:
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback) + out.ename + out.evalue)
        else:
            parts.extend(str(v) for v in out.get("data", {}).values())
    return "\n".join(parts)


@pytest.mark.kernel
def test_learner_cell_refused_by_the_api_server_reads_as_one_sentence(cluster):
    """shared/cases lab-cell-api-error: after the set-up cell, the raw client's 422 is one sentence
    built from the Status message (field and rule), not headers and JSON."""
    cluster.ensure_namespace()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(LEARNER_CELL)])
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    assert "the course cluster answers" in _output_text(nb.cells[0])
    text = _output_text(nb.cells[1])
    assert 'Pod "First-Pod" is invalid: metadata.name: Invalid value: "First-Pod"' in text, text
    assert "RFC 1123" in text and "lowercase" in text, text
    assert "Traceback" not in text and "HTTP response headers" not in text and '"kind":"Status"' not in text, text


def test_read_back_accepts_another_notation_and_says_the_api_server_canonicalises_it(lab):
    """Review W3: the API server keeps the value, not the notation: ``0.25`` CPU comes back as
    ``250m``; a memory request of plain bytes stays in bytes (decimal notation) but is the same value."""
    lab.core.create_namespaced_pod("whyk8s", pod_body(cpu="0.25", memory="67108864"))
    assert pod_lab.check_pod().passed
    stored = lab.core.read_namespaced_pod(pod_lab.POD_NAME, "whyk8s")
    assert stored.spec.containers[0].resources.requests == {"cpu": "250m", "memory": "67108864"}
    result = pod_lab.check_read_back(stored)
    assert result.passed, result.problems
    said = " ".join(f.message for f in result.findings)
    assert "as you wrote" not in said
    assert "cpu 250m (250 millicores), memory 67108864 (67,108,864 bytes)" in said
    assert "canonical" in said
