"""The Kueue manifests the course writes, checked without a cluster (the behaviour is in test_kueue.py)."""

from pathlib import Path

import pytest
import yaml
from standins import standins

from whyk8s.cluster import kueue
from whyk8s.k8s.specs import manifest
from whyk8s.lessons import queueing


def test_gpu_flavor_selects_the_gpu_pool_and_tolerates_its_taint():
    gpu = queueing.resource_flavor_spec("gpu")
    assert gpu["spec"]["nodeLabels"] == {"whyk8s.io/pool": "gpu"}
    assert gpu["spec"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                           "effect": "NoSchedule"}]
    assert "tolerations" not in queueing.resource_flavor_spec("cpu")["spec"]
    with pytest.raises(ValueError, match="not one of the layout's pools"):
        queueing.resource_flavor_spec("tpu")


def test_cluster_queue_quota_units_and_borrowing_limit():
    cq = queueing.cluster_queue_spec("team-a", {"gpu": {"cpu": "500m", "memory": "64Gi", "nvidia.com/gpu": 2}},
                                     borrowing_limits={"gpu": {"nvidia.com/gpu": 1}})
    group = cq["spec"]["resourceGroups"][0]
    assert group["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    assert group["flavors"][0]["resources"] == [
        {"name": "cpu", "nominalQuota": "500m"},
        {"name": "memory", "nominalQuota": str(64 * 2**30)},
        {"name": "nvidia.com/gpu", "nominalQuota": "2", "borrowingLimit": "1"}]
    assert cq["spec"]["cohortName"] == "whyk8s"
    assert "cohortName" not in queueing.cluster_queue_spec("solo", {"cpu": {"cpu": 1}}, cohort=None)["spec"]
    assert yaml.safe_load(manifest(cq))["kind"] == "ClusterQueue"
    with pytest.raises(ValueError, match="Unknown resource"):
        queueing.cluster_queue_spec("team-a", {"cpu": {"gpu": 1}})
    with pytest.raises(ValueError, match="not one of the course's ResourceFlavors"):
        queueing.cluster_queue_spec("team-a", {"a100": {"cpu": 1}})


def test_queued_job_carries_the_queue_label_suspended_and_held():
    job = queueing.queued_job("train", "team-queue", cpu=2, gpus=1, held=True)
    assert job.metadata.labels[queueing.QUEUE_LABEL] == "team-queue"
    assert queueing.QUEUE_LABEL not in job.spec.template.metadata.labels
    assert job.spec.suspend is True
    assert [g.name for g in job.spec.template.spec.scheduling_gates] == [queueing.HOLD_GATE]
    assert queueing.queued_job("t", "q").spec.template.spec.scheduling_gates is None


@pytest.mark.parametrize("conditions, state", [
    ([], "pending"),
    ([{"type": "QuotaReserved", "status": "False"}], "pending"),
    ([{"type": "QuotaReserved", "status": "True"}], "reserved"),
    ([{"type": "QuotaReserved", "status": "True"}, {"type": "Admitted", "status": "True"}], "admitted"),
    ([{"type": "Admitted", "status": "True"}, {"type": "Finished", "status": "True"}], "finished"),
])
def test_workload_state(conditions, state):
    assert queueing.workload_state({"status": {"conditions": conditions}}) == state


def test_manager_config_leaves_jobs_without_queue_alone_and_runs_alone():
    cfg = kueue.manager_config("whyk8s", {"webhook": 1, "health": 2, "metrics": 3}, Path("/certs"))
    assert cfg["manageJobsWithoutQueueName"] is False
    assert cfg["leaderElection"] == {"leaderElect": False}
    assert cfg["integrations"]["frameworks"] == ["batch/job"]
    assert cfg["webhook"] == {"port": 1, "host": "127.0.0.1", "certDir": "/certs"}


def test_kueue_build_without_the_module_proxy_says_what_to_check(tmp_path, monkeypatch):
    record = standins(tmp_path, monkeypatch, "go")  # a go that cannot reach the proxy
    monkeypatch.setenv("WHYK8S_CACHE", str(tmp_path / "cache"))
    with pytest.raises(RuntimeError) as err:
        kueue.build(log=lambda *_: None)
    text = str(err.value)
    assert "could not be downloaded from the Go module proxy" in text and "no such host" in text
    assert "GOPROXY" in text and "whyk8s kueue build" in text
    assert record.calls()[0].startswith("go mod download")
    assert not kueue.built() and not list((tmp_path / "cache").glob("bin/*/*"))
