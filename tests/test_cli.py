"""The ``whyk8s`` command: every provider act passes the guard before any command runs (stand-in
``kind``/``docker``/``kwokctl`` record their calls, tests/standins.py), refusals read as the guard's
sentence, ``cluster up`` makes the course's context current, and the docstring lists every command."""

import os
import re
import shutil

from pathlib import Path

import pytest
import yaml
from standins import standins

import whyk8s.cli
from whyk8s.cli import build_parser, main
from whyk8s.cluster.kwok import BINARIES_ENV
from whyk8s.errors import NotCourseClusterError
from whyk8s.k8s.guard import connect, current_context


def test_docstring_lists_every_command():
    parser = build_parser()
    groups = next(a for a in parser._actions if a.dest == "group").choices
    commands = [f"whyk8s {g} {c}" for g, p in groups.items()
                for c in next(a for a in p._actions if a.dest == "action").choices]
    assert len(commands) == 27
    for command in commands:
        assert command in whyk8s.cli.__doc__, command


@pytest.fixture
def mine(tmp_path, monkeypatch):
    """``WHYK8S_CLUSTER=mine`` (a developer's own cluster, not opted in), an empty kubeconfig and
    stand-ins for kind, docker and kwokctl (kwokctl from PATH: ``WHYK8S_KWOK_BINARIES=download``)."""
    monkeypatch.setenv("WHYK8S_CLUSTER", "mine")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    monkeypatch.setenv(BINARIES_ENV, "download")
    record = standins(tmp_path, monkeypatch, "kind", "docker", "kwokctl")
    assert shutil.which("kwokctl") == str(record.bin_dir / "kwokctl")
    return record


@pytest.mark.parametrize("provider", ["kind", "kwok"])
@pytest.mark.parametrize("action", ["up", "stop", "down"])
def test_provider_acts_on_another_cluster_are_refused_before_any_command(mine, capsys, provider, action):
    assert main(["cluster", action, "--provider", provider]) == 1
    err = capsys.readouterr().err
    context = f"{provider}-mine"
    assert f"Refusing to create, start, stop or delete the cluster of context {context!r}" in err
    assert f"WHYK8S_ALLOW_CONTEXT={context}" in err
    assert mine.calls() == []  # not even `kind get clusters`


@pytest.mark.parametrize("provider, command", [("kind", "kind delete cluster --name mine"),
                                               ("kwok", "kwokctl delete cluster --name mine")])
def test_opted_in_cluster_is_deleted(mine, tmp_path, monkeypatch, capsys, provider, command):
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", f"{provider}-mine")
    Path(os.environ["STANDIN_STATE"]).touch()  # the stand-in's cluster exists
    assert main(["cluster", "down", "--provider", provider]) == 0
    assert mine.calls()[-1] == f"{command} --kubeconfig {tmp_path / 'kubeconfig'}"
    assert "The course cluster is deleted" in capsys.readouterr().out


@pytest.mark.parametrize("provider", ["kind", "kwok"])
@pytest.mark.parametrize("action", ["stop", "down"])
def test_stop_or_down_of_a_cluster_that_does_not_exist_says_so_and_nothing_else(mine, monkeypatch, capsys,
                                                                                 provider, action):
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", f"{provider}-mine")
    assert main(["cluster", action, "--provider", provider]) == 0
    out = capsys.readouterr().out
    assert f"There {'is' if action == 'stop' else 'was'} no {provider} cluster mine" in out
    assert "The course cluster is" not in out


@pytest.fixture
def remote_course_names(tmp_path, monkeypatch):
    """A kubeconfig whose course-named contexts point at a server that is not on this machine."""
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "kwok-whyk8s",
           "clusters": [{"name": "remote", "cluster": {"server": "https://10.11.12.13:6443"}}],
           "users": [{"name": "remote", "user": {"token": "t"}}],
           "contexts": [{"name": n, "context": {"cluster": "remote", "user": "remote"}}
                        for n in ("kwok-whyk8s", "kind-whyk8s")]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("WHYK8S_CLUSTER", raising=False)
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    monkeypatch.setenv(BINARIES_ENV, "download")
    record = standins(tmp_path, monkeypatch, "kind", "docker", "kwokctl")
    assert shutil.which("kwokctl") == str(record.bin_dir / "kwokctl")
    return record


def test_course_named_context_off_this_machine_is_refused(remote_course_names, monkeypatch, capsys):
    # connect(): refused by the guard, before any request (a request would time out: unreachable)
    with pytest.raises(NotCourseClusterError, match="https://10.11.12.13:6443 is not on this machine"):
        connect()
    for argv in (["cluster", "status"], ["cluster", "clean"], ["cluster", "down", "--provider", "kwok"],
                 ["cluster", "down", "--provider", "kind"], ["cluster", "stop", "--provider", "kind"]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "is not on this machine" in err and "WHYK8S_ALLOW_CONTEXT=" in err, (argv, err)
    assert remote_course_names.calls() == []

    # opted in by name, it is the user's decision
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", "kwok-whyk8s")
    assert main(["cluster", "down", "--provider", "kwok"]) == 0
    assert remote_course_names.calls()[-1].startswith("kwokctl delete cluster --name whyk8s")


def test_no_current_context_gets_the_use_context_hint(make_kubeconfig, tmp_path, monkeypatch, capsys):
    cfg = make_kubeconfig("kwok-whyk8s")
    cfg["current-context"] = ""
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    assert main(["cluster", "status"]) == 1
    err = capsys.readouterr().err
    assert "no current context" in err and "`kubectl config use-context kwok-whyk8s`" in err
    assert "did not answer" not in err


def test_doctor_exits_1_when_a_check_fails(foreign_kubeconfig, capsys):
    assert main(["cluster", "doctor"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"\[fail\] kubeconfig context: production", out)
    assert "Refusing to act on kubeconfig context 'production'" in out


def test_doctor_exits_0_when_nothing_fails(course_cluster, capsys):
    code = main(["cluster", "doctor"])
    out = capsys.readouterr().out
    assert re.search(rf"\[  ok\] kubeconfig context: {course_cluster.context}", out)
    assert re.search(r"\[  ok\] course cluster: .*: \d+ nodes", out)
    assert code == (1 if "[fail]" in out else 0), out  # warn lines (no Docker, no kind) do not count


@pytest.mark.kwok
def test_cluster_up_makes_the_course_context_current(course_cluster, tmp_path, monkeypatch, capsys):
    """Even when the cluster already runs (kwokctl then writes no kubeconfig), `whyk8s cluster up`
    switches the current context back to the course's and says how to switch back."""
    from whyk8s.k8s.guard import kubeconfig_files
    source = yaml.safe_load(open(kubeconfig_files()[0]))
    ctx = next(c for c in source["contexts"] if c["name"] == course_cluster.context)
    source["contexts"].append({"name": "production", "context": dict(ctx["context"])})
    source["current-context"] = "production"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(source))
    monkeypatch.setenv("KUBECONFIG", str(path))

    assert main(["cluster", "up", "--provider", "kwok"]) == 0
    out = capsys.readouterr().out
    assert (f"current context is now {course_cluster.context} (was production: "
            f"`kubectl config use-context production` switches back)") in out
    assert current_context() == course_cluster.context


@pytest.fixture
def no_registry(tmp_path, monkeypatch):
    """The course's own cluster name, an empty kubeconfig, and stand-ins for kind, docker and kwokctl
    where Docker has no node image and cannot pull one (STANDIN_NO_REGISTRY) and kwokctl cannot
    download its binaries (STANDIN_OFFLINE, so that a kwok start fails fast instead of waiting)."""
    monkeypatch.delenv("WHYK8S_CLUSTER", raising=False)
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    monkeypatch.delenv("WHYK8S_KIND_NODE_IMAGE", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setenv(BINARIES_ENV, "download")
    monkeypatch.setenv("STANDIN_NO_REGISTRY", "1")
    monkeypatch.setenv("STANDIN_OFFLINE", "1")
    return standins(tmp_path, monkeypatch, "kind", "docker", "kwokctl")


def test_kind_without_its_node_image_stops_before_kind_create_and_says_how_to_build_one(no_registry, capsys):
    assert main(["cluster", "up", "--provider", "kind"]) == 1
    err = capsys.readouterr().err
    assert "could not be pulled" in err and "no such host" in err
    assert "WHYK8S_KIND_NODE_IMAGE=local whyk8s cluster up --provider kind" in err
    assert "--provider kwok" in err
    calls = no_registry.calls()
    assert any(c.startswith("docker pull kindest/node:") for c in calls)
    assert not any(c.startswith("kind create") or c.startswith("kwokctl create") for c in calls)


def test_auto_falls_back_to_kwok_when_kinds_node_image_cannot_be_had(no_registry, capsys):
    main(["cluster", "up", "--provider", "auto"])  # kwokctl's stand-in then fails: offline
    out = capsys.readouterr().out
    assert "could not be pulled" in out and "Using the kwok cluster instead" in out
    calls = no_registry.calls()
    assert not any(c.startswith("kind create") for c in calls)
    assert any(c.startswith("kwokctl create cluster") for c in calls)
