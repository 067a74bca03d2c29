"""Every lab has a solution and links the next step, and every lab's reset() deletes exactly what
the course labelled: the
objects of every lab carrying the course label are gone, those without it survive, and the reset
names (with the lines that delete them) those its own task names.

Whether each lab notebook and solution leaves nothing behind is checked by the one nbval run of
``make test`` (not here: no notebook kernels in this file)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from whyk8s.k8s.objects import course_objects
from whyk8s.labs import fairness_lab, gpu_lab, healing_lab, pod_lab, queue_lab
from labcheck import purge

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "labs" / "solutions").glob("lab*-solution.ipynb"))
LABELS = {"app.kubernetes.io/part-of": "whyk8s"}
SPEC = {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]}

#: What is planted without the course label: (kind, namespace, name).
UNLABELLED = [("Pod", "whyk8s", pod_lab.POD_NAME), ("Job", "whyk8s", gpu_lab.GREEDY_JOB),
              ("Namespace", None, fairness_lab.TEAMS[0]), ("ResourceQuota", fairness_lab.TEAMS[0], fairness_lab.QUOTA),
              ("PriorityClass", None, "whyk8s-low")]
#: Of those, what each lab's task names, so what its reset must name: kind and name in the sentence.
NAMED = {"pod_lab": ["Pod whyk8s/first-pod"], "healing_lab": [], "gpu_lab": ["Job whyk8s/gpu-greedy"],
         "fairness_lab": ["Namespace team-a", "PriorityClass whyk8s-low"],
         "queue_lab": ["Namespace team-a"]}
#: The line that deletes each, as the reset gives it.
LINES = {"Pod whyk8s/first-pod": ("core.delete_namespaced_pod('first-pod', 'whyk8s')",
                                  "kubectl delete pod first-pod -n whyk8s"),
         "Job whyk8s/gpu-greedy": ("batch.delete_namespaced_job('gpu-greedy', 'whyk8s', "
                                   "propagation_policy='Background')",
                                   "kubectl delete job gpu-greedy -n whyk8s"),
         "Namespace team-a": ("core.delete_namespace('team-a')", "kubectl delete namespace team-a"),
         "PriorityClass whyk8s-low": ("scheduling.delete_priority_class('whyk8s-low')",
                                      "kubectl delete priorityclass whyk8s-low")}


def test_every_lab_has_a_solution():
    names = {p.name for p in SOLUTIONS}
    for n in ("lab1-images-are-files", "lab2-first-pod", "lab3-self-healing", "lab4-gpu-job",
              "lab5-share-the-cluster", "lab6-read-the-survey", "lab7-share-a-gpu-pool"):
        assert f"{n}-solution.ipynb" in names


#: Where each lab's "What's next" leads: the next lab (the last lab, the closing chapter).
NEXT = {"lab1-images-are-files": "lab2-first-pod.ipynb", "lab2-first-pod": "lab3-self-healing.ipynb",
        "lab3-self-healing": "lab4-gpu-job.ipynb", "lab4-gpu-job": "lab5-share-the-cluster.ipynb",
        "lab5-share-the-cluster": "lab6-read-the-survey.ipynb", "lab6-read-the-survey": "06-summary.ipynb",
        "lab7-share-a-gpu-pool": "05-why-kubernetes-won.ipynb"}


@pytest.mark.parametrize("path", sorted((ROOT / "labs").glob("lab*.ipynb")) + SOLUTIONS, ids=lambda p: p.stem)
def test_whats_next_links_the_next_step(path):
    """learner-ux #21d: "What's next" is a relative Markdown link (it works in JupyterLab and, through
    the book's links to notebooks/ and labs/, on the site); every relative link of the lab resolves."""
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    links = re.findall(r"\]\(([^)#\s]+\.ipynb)\)", text)
    for link in links:
        assert not link.startswith(("/", "http")), link
        assert (path.parent / link).resolve().is_file(), f"{path.name}: {link} does not exist"
    whats_next = text.split("## What's next", 1)
    assert len(whats_next) == 2, f"{path.name} has no What's next"
    targets = re.findall(r"\]\(([^)]+)\)", whats_next[1])
    assert any(Path(t).name == NEXT[path.stem.removesuffix("-solution")] for t in targets), targets


def _plant_everything(cluster):
    """One object of each lab, labelled, and the objects of :data:`UNLABELLED`."""
    core, apps, batch, scheduling = cluster.core, cluster.apps, cluster.batch, cluster.scheduling
    cluster.ensure_namespace()
    core.create_namespaced_pod("whyk8s", {"metadata": {"name": pod_lab.POD_NAME}, "spec": SPEC})
    core.create_namespaced_pod("whyk8s", {"metadata": {"name": "labelled-pod", "labels": LABELS}, "spec": SPEC})
    apps.create_namespaced_deployment("whyk8s", {
        "metadata": {"name": healing_lab.DEPLOYMENT, "labels": LABELS},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": healing_lab.DEPLOYMENT}},
                 "template": {"metadata": {"labels": {"app": healing_lab.DEPLOYMENT, **LABELS}}, "spec": SPEC}}})
    batch.create_namespaced_job("whyk8s", {
        "metadata": {"name": gpu_lab.JOB, "labels": LABELS},
        "spec": {"template": {"metadata": {"labels": LABELS}, "spec": {**SPEC, "restartPolicy": "Never"}}}})
    batch.create_namespaced_job("whyk8s", {
        "metadata": {"name": gpu_lab.GREEDY_JOB},
        "spec": {"template": {"spec": {**SPEC, "restartPolicy": "Never"}}}})
    team_a, team_b = fairness_lab.TEAMS
    core.create_namespace({"metadata": {"name": team_a}})
    core.create_namespaced_resource_quota(team_a, {"metadata": {"name": fairness_lab.QUOTA},
                                                   "spec": {"hard": {"pods": "5"}}})
    core.create_namespace({"metadata": {"name": team_b, "labels": LABELS}})
    core.create_namespaced_resource_quota(team_b, {"metadata": {"name": fairness_lab.QUOTA, "labels": LABELS},
                                                   "spec": {"hard": {"pods": "5"}}})
    scheduling.create_priority_class({"metadata": {"name": "whyk8s-low"}, "value": 1000})
    scheduling.create_priority_class({"metadata": {"name": "whyk8s-high", "labels": LABELS}, "value": 100000})


def _exists(cluster, kind, namespace, name) -> bool:
    from whyk8s.labs.common import read
    obj = read(cluster, kind, name, namespace)
    return obj is not None and obj.metadata.deletion_timestamp is None


@pytest.mark.parametrize("lab", [pod_lab, healing_lab, gpu_lab, fairness_lab, queue_lab], ids=lambda m: m.__name__)
def test_reset_deletes_the_labelled_and_names_the_unlabelled(cluster, lab):
    purge(cluster, UNLABELLED)
    _plant_everything(cluster)
    assert course_objects(cluster, include_namespaces=True)
    try:
        result = lab.reset()
        short = lab.__name__.rsplit(".", 1)[-1]
        named = NAMED[short]
        # labelled: gone, whichever lab they belong to
        assert course_objects(cluster, include_namespaces=True) == []
        # unlabelled: all still there, whichever lab's reset ran
        for kind, namespace, name in UNLABELLED:
            assert _exists(cluster, kind, namespace, name), (kind, namespace, name)
        # named, each in one sentence with its two lines, exactly those of this lab's task
        assert len(result.problems) == len(named), result.problems
        for what in named:
            call, kubectl = LINES[what]
            assert any(p.startswith(what) and f"run {call} ({kubectl})" in p for p in result.problems), result.problems
        verdict = f"done, but {len(named)} left alone" if named else "done"
        assert str(result).splitlines()[0] == f"{result.title}: {verdict}"
        assert result.passed == (not named)
    finally:
        purge(cluster, UNLABELLED)
