"""The providers' commands, run against stand-in `kind`/`docker`/`kwokctl`/`go` executables that record
their arguments (tests/standins.py; our machines have no Docker, and no test may touch a real cluster
by accident). The stand-in `kind create` writes a context that reaches the real (kwok-backed) API
server, so the provider's GPU patch runs for real.

Cases (shared/cases/README.md): *kind-preflight* (inotify limits and Docker checked before `kind
create`, with the exact sysctl line), *kwok-download-offline* (kwokctl cannot download: build instead,
or say how), *kubeconfig-order* (`cluster up` makes the course's context current as kubectl would).
"""

import os
import subprocess

import pytest
import yaml
from standins import standins

from whyk8s.cluster import controlplane, nodeimage
from whyk8s.cluster.kind import KindProvider, inotify_limits, sysctl_fix
from whyk8s.cluster.kwok import BINARIES_ENV, KwokProvider
from whyk8s.cluster.providers import CommandError, cluster_name, get_provider, make_current, quiet
from whyk8s.errors import CourseError

ENOUGH = {"/proc/sys/fs/inotify/max_user_watches": "524288\n", "/proc/sys/fs/inotify/max_user_instances": "512\n"}


def limits(**values):
    """A /proc reader (path → text) with kind's minimums, overridden by ``values`` (None: unreadable)."""
    table = dict(ENOUGH)
    for name, value in values.items():
        table[f"/proc/sys/fs/inotify/{name}"] = value

    def read(path: str) -> str:
        if table.get(path) is None:
            raise FileNotFoundError(path)
        return f"{table[path]}\n"
    return read


@pytest.fixture
def mine(tmp_path, monkeypatch):
    """A test cluster named ``mine`` whose two contexts are opted in one at a time by the test."""
    monkeypatch.setenv("WHYK8S_CLUSTER", "mine")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    monkeypatch.delenv(BINARIES_ENV, raising=False)
    return "mine"


def test_kind_provider_runs_kind_with_the_course_config(tmp_path, monkeypatch, make_kubeconfig):
    standin_cfg = tmp_path / "kind-kubeconfig"  # what the stand-in `kind create` writes: reaches our API server
    standin_cfg.write_text(yaml.safe_dump(make_kubeconfig("kind-mine")))
    monkeypatch.setenv("STANDIN_KUBECONFIG", str(standin_cfg))
    monkeypatch.setenv("WHYK8S_CLUSTER", "mine")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", "kind-mine")
    monkeypatch.delenv("WHYK8S_KIND_NODE_IMAGE", raising=False)
    record = standins(tmp_path, monkeypatch, "kind", "docker")

    assert isinstance(get_provider("auto"), KindProvider)  # docker info answers and kind is on PATH
    provider = KindProvider(read_proc=limits())
    cluster = provider.up(log=quiet)
    assert cluster.context == "kind-mine"
    calls = record.calls()
    assert "docker info" in calls
    create = next(c for c in calls if c.startswith("kind create cluster --name mine --config "))
    # kind's published node image, pinned by digest (WHYK8S_KIND_NODE_IMAGE unset), and the kubeconfig
    assert f"--image {nodeimage.published_node_image()} --kubeconfig {tmp_path / 'kubeconfig'}" in create
    assert "@sha256:" in create
    # the GPU node advertises 4 GPUs through the status subresource, read back
    gpu = cluster.core.read_node("whyk8s-worker3")
    assert gpu.status.allocatable["nvidia.com/gpu"] == "4"

    provider.up(log=quiet)  # second up: the cluster exists, no second create
    assert sum(c.startswith("kind create") for c in record.calls()) == 1
    assert not any(c.startswith("docker start") for c in record.calls())

    # stop keeps the cluster (its node containers are stopped); up starts them again
    provider.stop(log=quiet)
    assert record.calls()[-1] == "docker stop whyk8s-control-plane whyk8s-worker"
    provider.up(log=quiet)
    calls = record.calls()
    assert "docker start whyk8s-control-plane whyk8s-worker" in calls
    assert sum(c.startswith("kind create") for c in calls) == 1
    provider.down(log=quiet)
    assert record.calls()[-1] == f"kind delete cluster --name mine --kubeconfig {tmp_path / 'kubeconfig'}"


def test_auto_without_docker_engine_is_kwok(tmp_path, monkeypatch):
    standins(tmp_path, monkeypatch, "kind", "docker")
    monkeypatch.setenv("STANDIN_NO_ENGINE", "1")  # the client is there, no engine answers
    assert get_provider("auto").name == "kwok"


# -- kind-preflight ------------------------------------------------------------------------------
def test_inotify_limits_are_read_from_proc_paths():
    assert inotify_limits(limits(max_user_instances="128")) == {
        "fs.inotify.max_user_watches": 524288, "fs.inotify.max_user_instances": 128}
    assert inotify_limits(limits(max_user_watches=None))["fs.inotify.max_user_watches"] is None
    # only what is short is raised: a higher value already set is never lowered
    assert sysctl_fix({"fs.inotify.max_user_instances"}) == "sudo sysctl fs.inotify.max_user_instances=512"


def test_kind_stops_before_create_when_inotify_instances_are_too_low(tmp_path, monkeypatch, mine):
    record = standins(tmp_path, monkeypatch, "kind", "docker")
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", "kind-mine")
    with pytest.raises(CourseError) as err:
        KindProvider(read_proc=limits(max_user_instances="128")).up(log=quiet)
    text = str(err.value)
    assert "`sudo sysctl fs.inotify.max_user_instances=512`" in text
    assert "max_user_instances=128" in text and "max_user_watches=" not in text.split("`")[1]
    assert "--provider kwok" in text
    assert not [c for c in record.calls() if c.startswith("kind create")]


def test_kind_stops_before_create_when_docker_does_not_answer(tmp_path, monkeypatch, mine):
    record = standins(tmp_path, monkeypatch, "kind", "docker")
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", "kind-mine")
    monkeypatch.setenv("STANDIN_NO_ENGINE", "1")
    with pytest.raises(CourseError, match="Docker does not answer"):
        KindProvider(read_proc=limits()).up(log=quiet)
    assert "docker info" in record.calls()
    assert not [c for c in record.calls() if c.startswith("kind create")]


def test_kind_failure_carries_the_sysctl_hint_when_the_limits_are_unknown(tmp_path, monkeypatch, mine):
    record = standins(tmp_path, monkeypatch, "kind", "docker")
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", "kind-mine")
    monkeypatch.setenv("STANDIN_FAIL", "1")
    with pytest.raises(CommandError) as err:
        KindProvider(read_proc=limits(max_user_instances=None, max_user_watches=None)).up(log=quiet)
    text = str(err.value)
    assert "failed to join node with kubeadm" in text  # kind's own message is kept
    assert ("`sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512`"
            in text)
    assert [c for c in record.calls() if c.startswith("kind create")]

    # with limits known to be enough, kind's failure is not blamed on them
    with pytest.raises(CommandError) as err:
        KindProvider(read_proc=limits()).up(log=quiet)
    assert "sysctl" not in str(err.value)


# -- kwok-download-offline -----------------------------------------------------------------------
@pytest.fixture
def offline(tmp_path, monkeypatch, mine):
    """Nothing cached, a kwokctl on PATH that cannot download; the cluster ``mine`` opted in."""
    monkeypatch.setenv("WHYK8S_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", "kwok-mine")
    monkeypatch.setenv("STANDIN_OFFLINE", "1")
    assert set(controlplane.missing()) == set(controlplane.BINARIES)


def test_kwokctl_that_cannot_download_falls_back_to_building(tmp_path, monkeypatch, offline):
    record = standins(tmp_path, monkeypatch, "kwokctl", "go")  # go: a stand-in that is offline too
    with pytest.raises(CommandError) as err:
        KwokProvider().up(log=quiet)
    calls = record.calls()
    create = next(i for i, c in enumerate(calls) if c.startswith("kwokctl create cluster --name mine"))
    delete = next(i for i, c in enumerate(calls) if c.startswith("kwokctl delete cluster --name mine"))
    build = next(i for i, c in enumerate(calls) if c.startswith("go build"))
    assert create < delete < build  # tried the download, removed the half-made cluster, then built
    text = str(err.value)
    assert "could not download" in text and f"{BINARIES_ENV}=build" in text
    assert "proxy.golang.org" in text  # why the build failed too


def test_kwokctl_that_cannot_download_without_go_says_how_to_build(tmp_path, monkeypatch, offline):
    record = standins(tmp_path, monkeypatch, "kwokctl", hide=("go",))
    with pytest.raises(CommandError) as err:
        KwokProvider().up(log=quiet)
    text = str(err.value)
    assert "dl.k8s.io" in text  # kwokctl's own message
    assert f"`{BINARIES_ENV}=build whyk8s cluster up --provider kwok`" in text and "Go" in text
    assert not [c for c in record.calls() if c.startswith("go ")]


def test_download_chosen_by_the_user_is_not_overridden(tmp_path, monkeypatch, offline):
    record = standins(tmp_path, monkeypatch, "kwokctl", "go")
    monkeypatch.setenv(BINARIES_ENV, "download")
    with pytest.raises(CommandError) as err:
        KwokProvider().up(log=quiet)
    assert f"`{BINARIES_ENV}=build whyk8s cluster up --provider kwok`" in str(err.value)
    assert not [c for c in record.calls() if c.startswith("go ")]


# -- kubeconfig-order: `cluster up` makes the course's context current as kubectl would ---------
def kubectl_current(kubeconfig: str) -> str | None:
    """``kubectl config current-context`` with the course's own kubectl (None when it has none)."""
    proc = subprocess.run([str(controlplane.binary_paths()["kubectl"]), "config", "current-context"],
                          env={**os.environ, "KUBECONFIG": kubeconfig}, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def kubeconfig(name: str, current: str, port: int) -> dict:
    return {"apiVersion": "v1", "kind": "Config", "current-context": current,
            "clusters": [{"name": name, "cluster": {"server": f"https://127.0.0.1:{port}"}}],
            "users": [{"name": name, "user": {"token": "t"}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]}


@pytest.mark.parametrize("order, course_current", [("course:other", "kwok-whyk8s"), ("other:course", "kwok-whyk8s"),
                                                   ("course:other", ""), ("other:course", ""), ("course", "")])
def test_make_current_switches_the_context_kubectl_uses(tmp_path, monkeypatch, order, course_current):
    if not os.access(controlplane.binary_paths()["kubectl"], os.X_OK):
        pytest.skip("the course's kubectl is not built (whyk8s controlplane build)")
    files = {"course": tmp_path / "course", "other": tmp_path / "other"}
    files["course"].write_text(yaml.safe_dump(kubeconfig("kwok-whyk8s", course_current, 6443)))
    files["other"].write_text(yaml.safe_dump(kubeconfig("production", "production", 7443)))
    for f in files.values():
        f.chmod(0o600)
    env = os.pathsep.join(str(files[n]) for n in order.split(":"))
    monkeypatch.setenv("KUBECONFIG", env)
    before = kubectl_current(env)
    mtimes = {n: f.stat().st_mtime_ns for n, f in files.items()}

    assert make_current("kwok-whyk8s") == before
    assert kubectl_current(env) == "kwok-whyk8s"
    if before == "kwok-whyk8s":
        assert {n: f.stat().st_mtime_ns for n, f in files.items()} == mtimes  # nothing written
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files.values())
    with pytest.raises(CourseError, match="defines the context 'kind-whyk8s'"):
        make_current("kind-whyk8s")


def test_cluster_name_is_the_course_s_unless_a_developer_names_another(monkeypatch):
    monkeypatch.delenv("WHYK8S_CLUSTER", raising=False)
    assert cluster_name() == "whyk8s"
    assert KindProvider().context == "kind-whyk8s" and KwokProvider().context == "kwok-whyk8s"
    monkeypatch.setenv("WHYK8S_CLUSTER", "mine")
    assert KwokProvider().context == "kwok-mine"
