"""The kind provider's commands, run against stand-in `kind`/`docker` executables that record their
arguments (our machines have no Docker). The stand-in `kind create` writes a kind-whyk8s context
that reaches the real (kwok-backed) API server, so the provider's GPU patch runs for real."""

import os
import stat
from pathlib import Path

import yaml

from whyk8s.paths import repo_root
from whyk8s.cluster.providers import KindProvider, get_provider

KIND_STANDIN = """#!/usr/bin/env bash
echo "kind $*" >> "$STANDIN_RECORD"
case "$1 $2" in
  "get clusters") [ -f "$STANDIN_STATE" ] && echo whyk8s; exit 0 ;;
  "get nodes") [ -f "$STANDIN_STATE" ] && printf 'whyk8s-control-plane\nwhyk8s-worker\n'; exit 0 ;;
  "create cluster") cp "$STANDIN_KUBECONFIG" "$KUBECONFIG"; touch "$STANDIN_STATE"; exit 0 ;;
  "delete cluster") rm -f "$STANDIN_STATE"; exit 0 ;;
esac
exit 0
"""
DOCKER_STANDIN = """#!/usr/bin/env bash
echo "docker $*" >> "$STANDIN_RECORD"
case "$1" in
  stop) touch "$STANDIN_STATE.stopped" ;;
  start) rm -f "$STANDIN_STATE.stopped" ;;
  ps) [ -f "$STANDIN_STATE.stopped" ] && printf 'whyk8s-control-plane\nwhyk8s-worker\n' ;;
esac
exit 0
"""


def _install(bin_dir: Path, name: str, text: str) -> None:
    path = bin_dir / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_kind_provider_runs_kind_with_the_course_config(tmp_path, monkeypatch, make_kubeconfig):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _install(bin_dir, "kind", KIND_STANDIN)
    _install(bin_dir, "docker", DOCKER_STANDIN)
    record = tmp_path / "record"
    standin_cfg = tmp_path / "kind-kubeconfig"
    standin_cfg.write_text(yaml.safe_dump(make_kubeconfig("kind-whyk8s")))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_RECORD", str(record))
    monkeypatch.setenv("STANDIN_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("STANDIN_KUBECONFIG", str(standin_cfg))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))

    provider = get_provider("auto")  # docker info answers and kind is on PATH -> kind
    assert isinstance(provider, KindProvider)
    cluster = provider.up(log=lambda *_: None)
    assert cluster.context == "kind-whyk8s"
    calls = record.read_text().splitlines()
    config = repo_root() / "clusters" / "kind.yaml"
    assert "docker info" in calls
    assert f"kind create cluster --name whyk8s --config {config} --wait 120s" in calls
    # the GPU node advertises 4 GPUs through the status subresource, read back
    gpu = cluster.core.read_node("whyk8s-worker3")
    assert gpu.status.allocatable["nvidia.com/gpu"] == "4"

    provider.up(log=lambda *_: None)  # second up: the cluster exists, no second create
    assert sum(c.startswith("kind create") for c in record.read_text().splitlines()) == 1
    assert not any(c.startswith("docker start") for c in record.read_text().splitlines())

    # stop keeps the cluster (its node containers are stopped); up starts them again
    provider.stop(log=lambda *_: None)
    assert record.read_text().splitlines()[-1] == "docker stop whyk8s-control-plane whyk8s-worker"
    provider.up(log=lambda *_: None)
    calls = record.read_text().splitlines()
    assert "docker start whyk8s-control-plane whyk8s-worker" in calls
    assert sum(c.startswith("kind create") for c in calls) == 1
    provider.down(log=lambda *_: None)
    assert record.read_text().splitlines()[-1] == "kind delete cluster --name whyk8s"


def test_auto_without_docker_engine_is_kwok(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _install(bin_dir, "kind", KIND_STANDIN)
    _install(bin_dir, "docker", "#!/usr/bin/env bash\nexit 1\n")  # client only, no engine
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_RECORD", str(tmp_path / "record"))
    assert get_provider("auto").name == "kwok"
