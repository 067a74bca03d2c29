"""The Karpenter manifests, instance types and environment the course writes, checked without a cluster
(the behaviour is in test_karpenter.py)."""

import re
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kubernetes import client
from standins import standins

from whyk8s.cluster import controlplane, karpenter
from whyk8s.k8s.specs import manifest
from whyk8s.lessons import gpu_pools


def test_gpu_pool_starts_empty_is_tainted_capped_and_consolidates_when_empty():
    pool = gpu_pools.gpu_node_pool_spec(max_gpus=4, consolidate_after="30s")
    spec = pool["spec"]
    assert "replicas" not in spec  # a NodePool with replicas would keep nodes; this one has none until pods wait
    assert spec["limits"] == {"nvidia.com/gpu": "4"}
    assert spec["disruption"] == {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "30s"}
    template = spec["template"]
    assert template["metadata"]["labels"] == {"whyk8s.io/pool": "gpu-burst", "app.kubernetes.io/part-of": "whyk8s"}
    assert template["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert template["spec"]["nodeClassRef"] == {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass",
                                                "name": "whyk8s"}
    assert pool["metadata"]["labels"] == {"app.kubernetes.io/part-of": "whyk8s"}
    assert yaml.safe_load(manifest(pool))["kind"] == "NodePool"
    with pytest.raises(ValueError, match="at least one GPU"):
        gpu_pools.gpu_node_pool_spec(max_gpus=0)
    with pytest.raises(ValueError):
        gpu_pools.gpu_node_pool_spec("GPU Pool")


def test_docstring_yaml_is_the_spec():
    """The NodePool YAML shown in the docstring is what the function returns (defaults)."""
    doc = gpu_pools.gpu_node_pool_spec.__doc__
    block = doc.split("::", 1)[1].split("\n\n    Raises", 1)[0]
    assert yaml.safe_load(re.sub(r"^ {8}", "", block, flags=re.M)) == gpu_pools.gpu_node_pool_spec()
    doc = gpu_pools.node_class_spec.__doc__
    block = doc.split("::", 1)[1]
    assert yaml.safe_load(re.sub(r"^ {8}", "", block, flags=re.M)) == gpu_pools.node_class_spec()


def test_gpu_job_selects_the_pool_and_tolerates_its_taint():
    job = gpu_pools.gpu_job("train", gpus=2)
    pod = job.spec.template.spec
    assert pod.node_selector == {"whyk8s.io/pool": "gpu-burst"}
    assert any(t.key == "nvidia.com/gpu" and t.effect == "NoSchedule" for t in pod.tolerations)
    assert pod.containers[0].resources.limits["nvidia.com/gpu"] == "2"


def test_instance_types_offer_gpus_in_the_pools_family_and_cpu_outside_it():
    types = {t["name"]: t for t in karpenter.instance_types()}
    assert types["gpu-1x"]["resources"]["nvidia.com/gpu"] == "1"
    assert types["gpu-4x"]["resources"]["nvidia.com/gpu"] == "4"
    assert "nvidia.com/gpu" not in types["cpu-4x"]["resources"]
    for t in types.values():  # the provider's format: every offering available, priced, in one zone
        for o in t["offerings"]:
            assert o["Available"] is True and o["Price"] > 0
            keys = {r["key"] for r in o["Requirements"]}
            assert keys == {"karpenter.sh/capacity-type", "topology.kubernetes.io/zone"}
    # the kwok provider's family is the name up to the first "." or "-" (kwok/cloudprovider/helpers.go)
    assert {n.split("-")[0] for n in types if types[n]["resources"].get("nvidia.com/gpu")} == {"gpu"}
    assert karpenter.instance_type_table()["gpu-4x"] == {"cpu": "32", "memory": "256Gi", "gpus": 4,
                                                         "price_per_hour": 6.0}


def test_environment_runs_one_process_on_the_given_ports_and_files():
    env = karpenter.environment({"metrics": 1, "health": 2}, Path("/k"), Path("/t.json"))
    assert env["DISABLE_LEADER_ELECTION"] == "true"
    assert (env["METRICS_PORT"], env["HEALTH_PROBE_PORT"]) == ("1", "2")
    assert env["KUBECONFIG"] == "/k" and env["INSTANCE_TYPES_FILE_PATH"] == "/t.json"


def test_versions_pin_karpenter_and_the_toolchain_its_go_mod_needs():
    v = controlplane.versions()
    assert re.fullmatch(r"v\d+\.\d+\.\d+", v["KARPENTER_VERSION"])
    assert re.fullmatch(r"go\d+\.\d+\.\d+", v["KARPENTER_GO_TOOLCHAIN"])
    gomod = (controlplane.module_dir("karpenter") / "go.mod").read_text()
    assert f"sigs.k8s.io/karpenter {v['KARPENTER_VERSION']}" in gomod
    need = re.search(r"^go (\d+)\.(\d+)\.(\d+)", gomod, re.M).groups()
    have = re.fullmatch(r"go(\d+)\.(\d+)\.(\d+)", v["KARPENTER_GO_TOOLCHAIN"]).groups()
    assert tuple(map(int, have)) >= tuple(map(int, need))


def test_gpu_hours_and_cost_from_node_lifetimes():
    life = pd.DataFrame([{"node": "a", "instance_type": "gpu-4x", "gpus": 4, "lifetime_s": 1800.0},
                         {"node": "b", "instance_type": "gpu-1x", "gpus": 1, "lifetime_s": 3600.0}])
    out = gpu_pools.gpu_hours(life)
    assert out == {"node_hours": 1.5, "gpu_hours": 3.0, "cost": pytest.approx(0.5 * 6.0 + 1.5)}


def test_karpenter_build_without_the_module_proxy_says_what_to_check(tmp_path, monkeypatch):
    record = standins(tmp_path, monkeypatch, "go")  # a go that cannot reach the proxy
    monkeypatch.setenv("WHYK8S_CACHE", str(tmp_path / "cache"))
    with pytest.raises(RuntimeError) as err:
        karpenter.build(log=lambda *_: None)
    text = str(err.value)
    assert "could not be downloaded from the Go module proxy" in text and "whyk8s karpenter build" in text
    assert record.calls()[0].startswith("go mod download")
    assert not karpenter.built() and not list((tmp_path / "cache").glob("bin/*/*"))


def _node(name, pool, ready, karpenter_made=True, gpus="1"):
    labels = {"whyk8s.io/pool": pool, "node.kubernetes.io/instance-type": "gpu-1x"}
    if karpenter_made:
        labels["karpenter.sh/nodepool"] = pool
    return client.V1Node(metadata=client.V1ObjectMeta(name=name, labels=labels),
                         spec=client.V1NodeSpec(taints=[client.V1Taint(key="nvidia.com/gpu", value="present",
                                                                       effect="NoSchedule")]),
                         status=client.V1NodeStatus(allocatable={"nvidia.com/gpu": gpus}, conditions=[
                             client.V1NodeCondition(type="Ready", status="True" if ready else "False")]))


def test_node_watch_records_join_ready_leave_once_each_and_lifetimes_of_karpenter_nodes_only():
    w = gpu_pools.NodeWatch()
    w._started = time.monotonic()
    w._record(_node("static", "gpu", True, karpenter_made=False), "ADDED")
    w._record(_node("k1", "gpu-burst", False), "ADDED")
    w._record(_node("k1", "gpu-burst", False), "MODIFIED")
    w._record(_node("k1", "gpu-burst", True), "MODIFIED")
    w._record(_node("k1", "gpu-burst", True), "MODIFIED")
    w._record(_node("k1", "gpu-burst", True), "DELETED")
    w._record(_node("gone-before", "gpu-burst", True), "DELETED")  # never seen joining: no event
    events = [(e["node"], e["event"]) for e in w.events]
    assert events == [("static", "joined"), ("static", "ready"), ("k1", "joined"), ("k1", "ready"), ("k1", "left")]
    assert w.events[3]["taints"] == "nvidia.com/gpu=present:NoSchedule"
    life = w.lifetimes()
    assert list(life["node"]) == ["k1"] and life.loc[0, "gpus"] == 1 and life.loc[0, "lifetime_s"] >= 0
    assert list(w.table()["event"]) == ["joined", "ready", "joined", "ready", "left"]


def test_stop_drops_only_karpenters_finalizers():
    assert karpenter._kept(["karpenter.sh/termination", "example.com/keep", "karpenter.kwok.sh/x"]) == \
        ["example.com/keep"]
    assert karpenter._kept(["karpenter.sh/termination"]) == []
    assert karpenter._kept(["example.com/keep"]) is None and karpenter._kept(None) is None


def test_cost_table_puts_the_run_and_the_day_on_one_base():
    cmp = {"period_h": 49 / 3600, "peak_gpus": 4, "elastic_gpu_hours": 0.0527, "fixed_gpu_hours": 0.0545}
    table = gpu_pools.cost_table(cmp, bursts=4, day_h=24)
    assert list(table.index) == ["this run", "a day, 4 bursts"]
    run, day = table.loc["this run"], table.loc["a day, 4 bursts"]
    assert (run["period"], day["period"]) == ("49 s", "24 h")
    # both percentages are the elastic pool's GPU-hours over the fixed pool's, for the same period
    assert run["elastic_pct_of_fixed"] == round(100 * 0.0527 / 0.0545, 2) == 96.7
    assert (day["elastic_gpu_hours"], day["fixed_gpu_hours"]) == (round(4 * 0.0527, 4), 96)
    assert day["elastic_pct_of_fixed"] == round(100 * 4 * 0.0527 / 96, 2) == 0.22
    with pytest.raises(ValueError):
        gpu_pools.cost_table(cmp, bursts=0)
