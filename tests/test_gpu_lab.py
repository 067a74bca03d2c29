"""Lab 4 checks against the real API server: GPU request, toleration, placement, the greedy Job."""

from __future__ import annotations

import pytest

from whyk8s.labs import gpu_lab
from test_pod_lab import unreachable_kubeconfig
from labcheck import purge, rejected

LABELS = {"app.kubernetes.io/part-of": "whyk8s"}
TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


def job(name=gpu_lab.JOB, gpus=1, tolerate=True, labels=None, cpu_only=False):
    resources = {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {"requests": {"cpu": "100m"}}
    spec = {"restartPolicy": "Never",
            # a process that ends, so that the Job can succeed where containers run (kind)
            "containers": [{"name": "train", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 5"],
                            "resources": resources}]}
    if tolerate:
        spec["tolerations"] = [TOLERATION]
    return {"metadata": {"name": name, "labels": LABELS if labels is None else labels},
            "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": LABELS}, "spec": spec}}}


#: Objects the tests plant, some without the course label (which reset() leaves alone).
PLANTED = [("Job", "whyk8s", gpu_lab.JOB), ("Job", "whyk8s", gpu_lab.GREEDY_JOB), ("Pod", "whyk8s", gpu_lab.JOB)]


@pytest.fixture
def lab(cluster):
    cluster.ensure_namespace()
    purge(cluster, PLANTED)
    gpu_lab.reset()
    yield cluster
    gpu_lab.reset()
    purge(cluster, PLANTED)


def test_right_jobs_pass(lab):
    lab.batch.create_namespaced_job("whyk8s", job())
    result = gpu_lab.check_gpu_job()
    assert result.passed, result.problems
    lab.batch.create_namespaced_job("whyk8s", job(gpu_lab.GREEDY_JOB, gpus=8))
    for answer in ("b", "0/5 nodes are available: 1 Insufficient nvidia.com/gpu"):
        result = gpu_lab.check_greedy_job(answer)
        assert result.passed, result.problems


@pytest.mark.parametrize("body, fragment", [
    (job(tolerate=False), "no toleration for the GPU node's taint"),
    (job(gpus=2), "asks for 2 nvidia.com/gpu; the task asks for 1"),
    (job(gpus=0), "the Pod template asks for no nvidia.com/gpu"),
    (job(labels={"team": "ml"}), "has no label app.kubernetes.io/part-of=whyk8s"),
])
def test_wrong_gpu_jobs_are_named(lab, body, fragment):
    lab.batch.create_namespaced_job("whyk8s", body)
    rejected(gpu_lab.check_gpu_job(timeout=3), fragment)


def test_cpu_job_runs_elsewhere_and_is_named(lab):
    lab.batch.create_namespaced_job("whyk8s", job(gpus=0, tolerate=False))
    rejected(gpu_lab.check_gpu_job(timeout=10), "which is not the node labelled whyk8s.io/pool=gpu")


def test_missing_and_wrong_kind_and_wrong_namespace(lab):
    rejected(gpu_lab.check_gpu_job(timeout=0), "there is no Job named gpu-train in namespace whyk8s yet")
    lab.core.create_namespaced_pod("whyk8s", {"metadata": {"name": gpu_lab.JOB, "labels": LABELS},
                                              "spec": job()["spec"]["template"]["spec"]})
    rejected(gpu_lab.check_gpu_job(timeout=0), "but there is a Pod named gpu-train in namespace whyk8s")
    ns = lab.ensure_namespace("lab4-elsewhere")
    lab.batch.create_namespaced_job(ns, job(gpu_lab.GREEDY_JOB, gpus=8))
    rejected(gpu_lab.check_greedy_job("b", timeout=0), "a Job named gpu-greedy in namespace lab4-elsewhere")


def test_greedy_wrong_answers(lab):
    lab.batch.create_namespaced_job("whyk8s", job(gpu_lab.GREEDY_JOB, gpus=8))
    rejected(gpu_lab.check_greedy_job(...), "not answered yet")
    rejected(gpu_lab.check_greedy_job("c"), "choice c does not fit: the Pod does tolerate the taint")
    rejected(gpu_lab.check_greedy_job("the image is big"), "does not name the scheduler's reason")
    rejected(gpu_lab.check_greedy_job(3), "why_pending is 3, not a letter")


def test_greedy_job_that_fits_is_named(lab):
    lab.batch.create_namespaced_job("whyk8s", job(gpu_lab.GREEDY_JOB, gpus=2))
    result = gpu_lab.check_greedy_job("b", timeout=5)
    rejected(result, "ask for more than 4")
    rejected(result, "run the reset() cell, then this step's create cell again")


def test_reset_leaves_an_unlabelled_job_and_names_it(lab):
    lab.batch.create_namespaced_job("whyk8s", job(labels={"team": "ml"}))
    result = gpu_lab.reset(timeout=30)
    rejected(result, "Job whyk8s/gpu-train has no label app.kubernetes.io/part-of=whyk8s, so the reset left it "
                     "alone; if it is yours to delete, run batch.delete_namespaced_job('gpu-train', 'whyk8s', "
                     "propagation_policy='Background') (kubectl delete job gpu-train -n whyk8s)")
    assert len(result.problems) == 1


def test_unreachable_cluster_is_one_finding(tmp_path, monkeypatch):
    unreachable_kubeconfig(tmp_path, monkeypatch)
    for result in (gpu_lab.check_gpu_job(), gpu_lab.check_greedy_job("b")):
        assert not result.passed and "did not answer" in result.problems[0]
