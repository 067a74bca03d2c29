"""Every lab solution leaves the cluster clean, and every lab's reset() leaves zero labelled objects."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from whyk8s.labs import fairness_lab, gpu_lab, healing_lab, pod_lab
from whyk8s.k8s.objects import course_objects

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "labs" / "solutions").glob("lab*-solution.ipynb"))
LABELS = {"app.kubernetes.io/part-of": "whyk8s"}


def test_every_lab_has_a_solution():
    names = {p.name for p in SOLUTIONS}
    for n in ("lab1-images-are-files", "lab2-first-pod", "lab3-self-healing", "lab4-gpu-job",
              "lab5-share-the-cluster", "lab6-read-the-survey"):
        assert f"{n}-solution.ipynb" in names


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_runs_and_leaves_nothing(cluster, path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    assert course_objects(cluster, include_namespaces=True) == []


def _plant_everything(cluster):
    """One object of each lab, some without the course label, so reset must go by name too."""
    core, apps, batch = cluster.core, cluster.apps, cluster.batch
    spec = {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]}
    core.create_namespaced_pod("whyk8s", {"metadata": {"name": pod_lab.POD_NAME}, "spec": spec})
    apps.create_namespaced_deployment("whyk8s", {
        "metadata": {"name": healing_lab.DEPLOYMENT, "labels": LABELS},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": healing_lab.DEPLOYMENT}},
                 "template": {"metadata": {"labels": {"app": healing_lab.DEPLOYMENT, **LABELS}}, "spec": spec}}})
    batch.create_namespaced_job("whyk8s", {
        "metadata": {"name": gpu_lab.JOB, "labels": LABELS},
        "spec": {"template": {"metadata": {"labels": LABELS}, "spec": {**spec, "restartPolicy": "Never"}}}})
    core.create_namespace({"metadata": {"name": fairness_lab.TEAMS[0]}})   # unlabelled
    core.create_namespaced_resource_quota(fairness_lab.TEAMS[0], {"metadata": {"name": fairness_lab.QUOTA},
                                                                 "spec": {"hard": {"pods": "5"}}})
    cluster.scheduling.create_priority_class({"metadata": {"name": "whyk8s-low"}, "value": 1000})


@pytest.mark.parametrize("lab", [pod_lab, healing_lab, gpu_lab, fairness_lab], ids=lambda m: m.__name__)
def test_reset_leaves_zero(cluster, lab):
    _plant_everything(cluster)
    result = lab.reset()
    assert result.passed, result.problems
    assert course_objects(cluster, include_namespaces=True) == []
    fairness_lab.reset()  # the unlabelled objects of the other labs
    pod_lab.reset()
