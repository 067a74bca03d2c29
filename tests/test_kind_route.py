"""The kind route's pure parts: what is added to kind's config for this machine, the pod network's
CNI configuration, Docker's daemon.json merge, the capability check, the runc wrapper's edit of an OCI
spec, and symlinks resolved inside a root file system. (The route itself runs in `make test-kind`.)"""
import importlib.machinery
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from whyk8s.cluster import docker, nodeimage
from whyk8s.cluster.kind import cluster_config, cni_config, host_meminfo, meminfo_of_size, sized_workers

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "clusters" / "kind.yaml").read_text())


def test_nothing_is_added_on_a_machine_that_needs_nothing():
    assert cluster_config(BASE, cgroup_v1=False, restrict_oom_score_adj=False, own_cni=False) == BASE


def test_each_quirk_adds_its_own_patch_and_the_committed_config_is_not_changed():
    before = yaml.safe_dump(BASE)
    config = cluster_config(BASE, cgroup_v1=True, restrict_oom_score_adj=True, own_cni=True)
    kubelet = [yaml.safe_load(p) for p in config["kubeadmConfigPatches"]]
    assert {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "failCgroupV1": False} in kubelet
    assert any("restrict_oom_score_adj = true" in p for p in config["containerdConfigPatches"])
    assert config["networking"]["disableDefaultCNI"] is True
    assert [n["role"] for n in config["nodes"]] == [n["role"] for n in BASE["nodes"]]
    assert yaml.safe_dump(BASE) == before


def test_cni_config_gives_the_node_its_pod_range_through_ptp():
    conf = cni_config("10.244.3.0/24")
    ptp = conf["plugins"][0]
    assert ptp["type"] == "ptp" and ptp["ipam"]["type"] == "host-local"
    assert ptp["ipam"]["ranges"] == [[{"subnet": "10.244.3.0/24"}]]
    assert json.loads(json.dumps(conf)) == conf


def test_daemon_json_keeps_other_settings_and_selects_the_runtime():
    existing = {"log-driver": "journald", "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}}}
    merged = docker.merged_daemon_config(existing)
    assert merged["log-driver"] == "journald"
    assert merged["runtimes"]["nvidia"] == existing["runtimes"]["nvidia"]
    assert merged["runtimes"][docker.RUNTIME] == {"path": str(docker.RUNTIME_PATH)}
    assert merged["default-runtime"] == docker.RUNTIME
    assert "default-runtime" not in existing  # not modified in place


def test_bounding_set_check_reads_bit_24():
    assert docker.bounding_set_has(24, "Name:\tx\nCapBnd:\t000001ffffffffff\n")
    assert not docker.bounding_set_has(24, "CapBnd:\t000001fffeffffff\n")
    assert docker.bounding_set_has(24, "no such line\n")


def _wrapper():
    path = ROOT / "clusters" / "docker" / "runc-without-sys-resource"
    loader = importlib.machinery.SourceFileLoader("runc_wrapper", str(path))
    spec = importlib.util.spec_from_loader("runc_wrapper", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_runc_wrapper_removes_only_cap_sys_resource(tmp_path):
    wrapper = _wrapper()
    caps = ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"process": {"capabilities": {k: list(caps) for k in ("bounding", "effective",
                                                                                        "permitted")}}}))
    wrapper.strip(str(config), ("process", "capabilities"))
    got = json.loads(config.read_text())["process"]["capabilities"]
    assert all(v == ["CAP_CHOWN", "CAP_SYS_ADMIN"] for v in got.values())


def test_the_runc_wrapper_finds_the_bundle_after_global_options():
    wrapper = _wrapper()
    args = ["--root", "/run/runc", "--log", "/x.log", "create", "--bundle", "/b", "id"]
    assert next(a for a in args if not a.startswith("-") and a not in wrapper._flag_values(args)) == "create"
    assert wrapper._option(args, "--bundle", "-b") == "/b"
    assert wrapper._option(["exec", "--process=/p.json", "id"], "--process", "-p") == "/p.json"


def test_symlinks_are_resolved_inside_the_root_file_system(tmp_path):
    root = tmp_path / "rootfs"
    (root / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
    (root / "usr/lib/x86_64-linux-gnu/libc.so.6").write_text("libc")
    (root / "lib").symlink_to("usr/lib")                       # usrmerge: relative
    (root / "lib64").mkdir()
    (root / "lib64/ld.so").symlink_to("/lib/x86_64-linux-gnu/libc.so.6")  # absolute: inside root
    assert nodeimage._resolve_in(root, "/lib64/ld.so") == root / "usr/lib/x86_64-linux-gnu/libc.so.6"
    dest = tmp_path / "image"
    nodeimage._copy_from_root(root, ["/lib64/ld.so"], dest)
    assert (dest / "lib64/ld.so").read_text() == "libc" and not (dest / "lib64/ld.so").is_symlink()


def test_a_failed_build_step_names_the_step_and_its_exit_code():
    with pytest.raises(nodeimage.NodeImageError) as e:
        nodeimage._run(["sh", "-c", "echo no space left >&2; exit 3"], "debootstrap", log=lambda _: None)
    assert str(e.value).startswith("debootstrap: ")
    assert "failed (3)" in str(e.value) and "no space left" in str(e.value)
    assert "apt-get install" not in str(e.value)


def test_a_missing_build_tool_says_what_to_install():
    with pytest.raises(nodeimage.NodeImageError) as e:
        nodeimage._run(["whyk8s-no-such-tool", "--version"], "pause", log=lambda _: None)
    assert str(e.value).startswith("pause: ") and "apt-get install docker.io debootstrap" in str(e.value)


HOST_MEMINFO = ("MemTotal:       24683652 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n"
                "Buffers:  10 kB\n")


def test_a_workers_meminfo_says_its_layout_memory_and_keeps_the_other_lines():
    text = meminfo_of_size(256 * 2**30, HOST_MEMINFO)
    lines = dict(line.split(":", 1) for line in text.splitlines())
    assert {k: v.split() for k, v in lines.items() if k.startswith("Mem")} == {
        k: [str(256 * 2**20), "kB"] for k in ("MemTotal", "MemFree", "MemAvailable")}
    assert lines["Buffers"] == "  10 kB" and text.endswith("\n")


def test_a_meminfo_is_refused_below_a_mebibyte_or_without_memtotal():
    with pytest.raises(ValueError, match="at least 1 MiB"):
        meminfo_of_size(1000, HOST_MEMINFO)
    with pytest.raises(ValueError, match="MemTotal"):
        meminfo_of_size(2**30, "Buffers: 10 kB\n")


def test_each_worker_gets_its_own_meminfo_mount_and_the_control_plane_none():
    config = sized_workers(BASE, [f"/cache/{i}/meminfo" for i in range(4)])
    assert "extraMounts" not in config["nodes"][0]
    assert [n["extraMounts"] for n in config["nodes"][1:]] == [
        [{"hostPath": f"/cache/{i}/meminfo", "containerPath": "/proc/meminfo", "readOnly": True}] for i in range(4)]
    assert "extraMounts" not in BASE["nodes"][1]  # the committed config is not changed
    with pytest.raises(ValueError, match="4 workers"):
        sized_workers(BASE, ["/one"])


def test_a_machine_without_proc_meminfo_still_gets_each_workers_size(tmp_path):
    text = host_meminfo(str(tmp_path / "no-such-file"))  # macOS: the nodes run in Docker's VM
    sized = dict(line.split(":", 1) for line in meminfo_of_size(16 * 2**30, text).splitlines())
    assert sized["MemTotal"].split() == [str(16 * 2**20), "kB"] and sized["SwapTotal"].split() == ["0", "kB"]
