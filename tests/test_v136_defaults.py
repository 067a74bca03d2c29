"""Defaults of Kubernetes v1.36 that the chapters quote, read from the course's own v1.36.1 binaries
(``--help`` prints each flag's default and each feature gate's stage) and from the running kwok
cluster, then looked up in the sentence that quotes them. Review 2026-11-30, O1, O3 and M13: these
values had been read by hand; a version bump or an edit that changes either side now fails here.

Marked ``kwok``: the binaries are the kwok provider's build (``whyk8s cluster up --provider kwok``).
"""
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from whyk8s.cluster import controlplane

pytestmark = pytest.mark.kwok

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _help(binary: str) -> str:
    path = controlplane.binary_paths()[binary]
    if not path.is_file():
        pytest.skip(f"{binary} is not built here (whyk8s cluster up --provider kwok builds it)")
    return subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60).stdout


def _cell(notebook: str, cell_id: str) -> str:
    """The source of one cell, found by its id, with line breaks folded to spaces."""
    nb = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    cells = [c for c in nb.cells if c.get("id") == cell_id]
    assert cells, f"{notebook} has no cell {cell_id}"
    return " ".join(cells[0].source.split())


def _feature_gate(help_text: str, gate: str) -> str:
    found = re.search(rf"kube:{gate}=true\|false \(([^)]*)\)", help_text)
    return found.group(1) if found else "not listed (GA and locked, or unknown)"


def _flag_default(help_text: str, flag: str) -> str:
    line = next(line for line in help_text.splitlines() if line.strip().startswith(f"--{flag} "))
    return re.search(r"\(default ([^)]*)\)\s*$", line).group(1)


def test_gang_scheduling_is_alpha_and_off_by_default_as_chapters_6_and_4b_say():
    """O1: v1.35 added the Workload API and gang scheduling as alpha, off by default."""
    scheduler = _help("kube-scheduler")
    for gate in ("GenericWorkload", "GangScheduling"):
        assert _feature_gate(scheduler, gate) == "ALPHA - default=false", gate
    summary = _cell("06-summary.ipynb", "1a07dad9")
    assert "alpha in kube-scheduler since v1.35 and off by default" in summary
    assert "`GenericWorkload` and `GangScheduling`" in summary and "`ALPHA - default=false`" in summary
    sharing = _cell("04b-sharing-a-cluster.ipynb", "03de6633")
    assert "alpha feature since v1.35" in sharing and "both off by default in v1.36.1" in sharing
    assert "schedules one Pod at a time." not in summary  # the outdated sentence of the review


def test_node_monitor_grace_period_is_50_s_as_chapter_4a_says():
    """O3: the node lifecycle controller waits 50 s (v1.32 and later; 40 s before) after the last
    heartbeat before it marks a Node NotReady and taints it unreachable."""
    default = _flag_default(_help("kube-controller-manager"), "node-monitor-grace-period")
    assert default == "50s"
    text = _cell("04a-placing-ml-work.ipynb", "d898b9c1")
    assert "(50 s by default in v1.36" in text
    assert "node.kubernetes.io/unreachable:NoExecute" in text


def test_every_pod_tolerates_not_ready_and_unreachable_for_300_s_by_default():
    """The 5 minutes chapter 4a quotes after the unreachable taint: the API server's defaults."""
    apiserver = _help("kube-apiserver")
    assert _flag_default(apiserver, "default-not-ready-toleration-seconds") == "300"
    assert _flag_default(apiserver, "default-unreachable-toleration-seconds") == "300"
    assert "evicted **5 minutes** later" in _cell("04a-placing-ml-work.ipynb", "d898b9c1")


def _default_admission_plugins(apiserver_help: str) -> list[str]:
    found = re.search(r"in addition to default enabled ones \(([^)]*)\)", apiserver_help)
    return [name.strip() for name in found.group(1).split(",")]


def test_extended_resource_toleration_is_not_a_default_admission_plugin_as_chapter_4a_says():
    """M13: a GPU pod gets no toleration from the API server unless a cluster enables the plugin;
    DefaultTolerationSeconds (the 300 s tolerations above) is enabled by default."""
    plugins = _default_admission_plugins(_help("kube-apiserver"))
    assert "DefaultTolerationSeconds" in plugins and "ResourceQuota" in plugins  # the list was read
    assert "ExtendedResourceToleration" not in plugins
    text = _cell("04a-placing-ml-work.ipynb", "8e78e5b1")
    assert "`ExtendedResourceToleration`" in text
    assert "it is not among the plugins the v1.36 API server enables by default" in text


def test_kwok_runs_the_controller_manager_with_a_200_s_grace_period_as_chapter_4a_says(course_cluster):
    """Chapter 4a: on the course's kwok cluster the grace period is 3 min 20 s (kwokctl's choice,
    not the course's), so a simulated node is not marked NotReady within a lesson."""
    from whyk8s.cluster.kwok import kwok_cluster_dir

    config = (kwok_cluster_dir() / "kwok.yaml").read_text()
    assert "--node-monitor-grace-period=3m20s" in config
    assert "kwok runs kube-controller-manager with a grace period of 3 min 20 s" in _cell(
        "04a-placing-ml-work.ipynb", "d898b9c1")
