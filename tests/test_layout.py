from whyk8s.cluster import layout
from whyk8s.paths import repo_root
from whyk8s.cluster.layout import kwok_node_manifest, load_layout, render_kind_config


def test_committed_kind_config_is_generated_from_layout():
    committed = (repo_root() / "clusters" / "kind.yaml").read_text()
    assert committed == render_kind_config(), "run: whyk8s cluster render-kind > clusters/kind.yaml"


def test_layout_has_the_four_pools():
    lay = load_layout()
    assert [w.pool for w in lay.workers].count("cpu") == 2
    gpu, = lay.pool("gpu")
    assert gpu.extended_resources == {"nvidia.com/gpu": "4"}
    assert gpu.taints[0] == {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    highmem, = lay.pool("highmem")
    assert highmem.capacity["memory"] == "256Gi"


def test_kind_config_taints_only_the_gpu_worker():
    cfg = layout.kind_config()
    assert cfg["nodes"][0] == {"role": "control-plane"}
    tainted = [n for n in cfg["nodes"] if "kubeadmConfigPatches" in n]
    assert len(tainted) == 1 and tainted[0]["labels"] == {"whyk8s.io/pool": "gpu"}
    assert "nvidia.com/gpu" in tainted[0]["kubeadmConfigPatches"][0]


def test_kwok_node_leaves_gpus_to_the_status_patch():
    gpu, = load_layout().pool("gpu")
    node = kwok_node_manifest(gpu)
    assert "nvidia.com/gpu" not in node["status"]["capacity"]
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert node["spec"]["taints"][0]["effect"] == "NoSchedule"
