import json
import re
import subprocess

import pytest

from whyk8s.cluster import controlplane


def test_committed_replacements_match_the_proxy_gomod():
    """The staging replacements in kubernetes/go.mod are what the kubernetes go.mod implies."""
    version = controlplane.versions()["KUBERNETES_VERSION"]
    mdir = controlplane.module_dir("kubernetes")
    info = json.loads(subprocess.run(["go", "mod", "download", "-json", f"k8s.io/kubernetes@{version}"],
                                     cwd=mdir, capture_output=True, text=True, check=True).stdout)
    expected = controlplane.staging_replacements(open(info["GoMod"]).read(), version)
    committed = (mdir / "go.mod").read_text()
    found = dict(re.findall(r"^(?:replace)?\s*(k8s\.io/\S+) => (k8s\.io/\S+ v\S+)$", committed, flags=re.M))
    assert {k: v.replace(" ", "@") for k, v in found.items()} == expected
    assert f"k8s.io/kubernetes {version}" in committed


def test_staging_replacements_parse():
    gomod = "replace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/kubectl => ./staging/src/k8s.io/kubectl\n)\n"
    assert controlplane.staging_replacements(gomod, "v1.36.1") == {
        "k8s.io/api": "k8s.io/api@v0.36.1", "k8s.io/kubectl": "k8s.io/kubectl@v0.36.1"}
    with pytest.raises(ValueError, match="v1.X.Y"):
        controlplane.staging_replacements(gomod, "1.36")
    with pytest.raises(ValueError, match="no ./staging"):
        controlplane.staging_replacements("module x\n", "v1.36.1")


def test_cache_is_keyed_by_versions(monkeypatch, tmp_path):
    monkeypatch.setenv("WHYK8S_CACHE", str(tmp_path))
    v = controlplane.versions()
    assert controlplane.cache_dir().name == (
        f"k8s-{v['KUBERNETES_VERSION']}_etcd-{v['ETCD_VERSION']}_kwok-{v['KWOK_VERSION']}")
    assert set(controlplane.missing()) == set(controlplane.BINARIES)


def test_built_binaries_report_the_pinned_versions(course_cluster):
    paths = controlplane.binary_paths()
    v = controlplane.versions()
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        out = subprocess.run([paths[name], "--version"], capture_output=True, text=True).stdout
        assert out.strip() == f"Kubernetes {v['KUBERNETES_VERSION']}"
    etcd = subprocess.run([paths["etcd"], "--version"], capture_output=True, text=True).stdout
    assert f"etcd Version: {v['ETCD_VERSION'].lstrip('v')}" in etcd
    from kubernetes import client
    assert client.VersionApi(course_cluster.api).get_code().git_version == v["KUBERNETES_VERSION"]
