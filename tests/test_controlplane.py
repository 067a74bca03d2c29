"""The kwok provider's control-plane build (clusters/controlplane/). The check against the Go module
proxy needs Go and the network: it is marked ``go`` (``make unit`` leaves it out)."""

import json
import os
import re
import subprocess
import time

import pytest
from standins import GO_HANGS, standins

from whyk8s.cluster import controlplane


@pytest.mark.go
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


@pytest.mark.kwok
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


def test_a_hung_go_command_is_stopped_with_what_to_do(tmp_path, monkeypatch):
    """A module download that never ends (a silent proxy) must not block `cluster up` forever: go and
    what it started are killed after WHYK8S_GO_TIMEOUT seconds, and the message says what to check."""
    record = standins(tmp_path, monkeypatch, "go", scripts={"go": GO_HANGS.replace(
        "exec sleep", 'echo $$ > "$STANDIN_RECORD.pid"; exec sleep')})
    monkeypatch.setenv("WHYK8S_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("WHYK8S_GO_TIMEOUT", "1")
    started = time.monotonic()
    with pytest.raises(RuntimeError) as err:
        controlplane.build(log=lambda *_: None)
    assert time.monotonic() - started < 30
    text = str(err.value)
    assert "did not finish within" in text and "GOPROXY" in text and "WHYK8S_GO_TIMEOUT" in text
    assert record.calls()[0].startswith("go build")
    pid = int((tmp_path / "standin-record.pid").read_text())
    assert not os.path.exists(f"/proc/{pid}")  # killed and reaped, not left running
    assert not list((tmp_path / "cache" / "bin").glob("*/*"))  # no half binary in the cache


def test_go_timeout_must_be_a_positive_number(monkeypatch):
    monkeypatch.delenv("WHYK8S_GO_TIMEOUT", raising=False)
    assert controlplane.go_timeout() == controlplane.GO_TIMEOUT
    monkeypatch.setenv("WHYK8S_GO_TIMEOUT", "90")
    assert controlplane.go_timeout() == 90
    for bad in ("0", "soon"):
        monkeypatch.setenv("WHYK8S_GO_TIMEOUT", bad)
        with pytest.raises(ValueError, match="WHYK8S_GO_TIMEOUT"):
            controlplane.go_timeout()


def test_a_second_builder_waits_for_the_first_then_finds_it_built(monkeypatch, tmp_path):
    """``make test`` builds Kueue and Karpenter in the background while a test may need one at once:
    the build lock makes the second caller wait for the first and not build again."""
    import threading
    monkeypatch.setenv("WHYK8S_CACHE", str(tmp_path))
    built, builds, said = [], [], []

    def build(name: str) -> None:
        with controlplane.build_lock("thing", log=said.append):
            if not built:  # what kueue.build and karpenter.build check again under the lock
                builds.append(name)
                time.sleep(0.5)
                built.append(True)

    first = threading.Thread(target=build, args=("first",))
    first.start()
    time.sleep(0.1)  # the first holds the lock
    build("second")
    first.join()
    assert builds == ["first"]
    assert said == ["Another process is building thing; waiting for it to finish."]
