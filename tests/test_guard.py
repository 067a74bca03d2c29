"""The context guard against the real API server: foreign contexts are refused before any request,
opting in works by name only, and the kubeconfig is read as kubectl reads it (case *kubeconfig-order*:
compared with the real kubectl binary)."""

import os
import re
import subprocess

import pytest
import yaml

from whyk8s.cluster import controlplane, doctor
from whyk8s.errors import ClusterUnreachableError, NotCourseClusterError, explain
from whyk8s.k8s import objects, specs
from whyk8s.k8s.guard import check_context, connect, current_context


def test_foreign_context_is_refused_before_any_request(foreign_kubeconfig, course_cluster):
    before = {n.metadata.name for n in course_cluster.core.list_namespace().items}
    with pytest.raises(NotCourseClusterError) as err:
        connect(namespace="should-not-exist", create_namespace=True)
    text = str(err.value)
    assert "'production'" in text and "WHYK8S_ALLOW_CONTEXT=production" in text and "whyk8s cluster up" in text
    after = {n.metadata.name for n in course_cluster.core.list_namespace().items}
    assert "should-not-exist" not in after and before == after


def test_opt_in_by_name_allows_that_context_only(foreign_kubeconfig, monkeypatch, course_cluster):
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", "production")
    cluster = connect(create_namespace=False)
    assert cluster.context == "production"
    monkeypatch.setenv("WHYK8S_ALLOW_CONTEXT", "staging")
    with pytest.raises(NotCourseClusterError):
        connect(create_namespace=False)


def test_cluster_clean_on_a_foreign_context_prints_the_guard_s_sentence_and_deletes_nothing(
        cluster, foreign_kubeconfig, capsys):
    """The foreign context reaches the course's own API server: were the guard not asked, `clean`
    would delete the labelled pod planted here."""
    from whyk8s.cli import main
    objects.create(cluster, specs.pod("keep-me"))
    assert main(["cluster", "clean"]) == 1
    out, err = capsys.readouterr()
    assert "Refusing to act on kubeconfig context 'production'" in err
    assert "WHYK8S_ALLOW_CONTEXT=production" in err
    assert "Deleted" not in out
    pod = cluster.core.read_namespaced_pod("keep-me", cluster.namespace)
    assert pod.metadata.deletion_timestamp is None
    assert [o.name for o in objects.course_objects(cluster)] == ["keep-me"]


def test_no_kubeconfig_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(ClusterUnreachableError, match="whyk8s cluster up"):
        connect()


def test_course_contexts_pass():
    assert check_context("kwok-whyk8s") == "kwok-whyk8s"
    assert check_context("kind-whyk8s") == "kind-whyk8s"
    with pytest.raises(NotCourseClusterError):
        check_context("kind-whyk8s-prod")


def test_stopped_cluster_is_reported_as_unreachable(make_kubeconfig, tmp_path, monkeypatch):
    cfg = make_kubeconfig("kwok-whyk8s")
    cfg["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"  # nothing listens there
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("KUBECONFIG", str(path))
    with pytest.raises(ClusterUnreachableError, match="did not answer"):
        connect()


# -- kubeconfig-order ----------------------------------------------------------------------------
KUBECTL = controlplane.binary_paths()["kubectl"]
needs_kubectl = pytest.mark.skipif(not os.access(KUBECTL, os.X_OK),
                                   reason="the course's kubectl is not built (whyk8s controlplane build)")


def kubectl_current(kubeconfig: str) -> str | None:
    """What ``kubectl config current-context`` answers (None for "current-context is not set")."""
    proc = subprocess.run([str(KUBECTL), "config", "current-context"], capture_output=True, text=True,
                          env={**os.environ, "KUBECONFIG": kubeconfig})
    return proc.stdout.strip() if proc.returncode == 0 else None


def follow(hint: str, kubeconfig: str) -> None:
    """Run the ``kubectl config use-context …`` command a message gives, with the real kubectl."""
    command = re.search(r"`kubectl (config use-context \S+)`", hint)
    assert command, hint
    subprocess.run([str(KUBECTL), *command.group(1).split()], check=True, capture_output=True,
                   env={**os.environ, "KUBECONFIG": kubeconfig})


@needs_kubectl
@pytest.mark.parametrize("order, course_current", [
    ("course:other", "kwok-whyk8s"),   # the course's file first: its context
    ("other:course", "kwok-whyk8s"),   # the other file first: production, refused
    ("course:other", ""),              # the course's file sets none: the other's, refused
    ("other:course", ""),
    ("course", ""),                    # only the course's file, and it sets none
])
def test_the_course_picks_the_context_kubectl_picks(make_kubeconfig, tmp_path, monkeypatch, order,
                                                    course_current):
    course = make_kubeconfig("kwok-whyk8s")  # both reach this test's API server, on this machine
    course["current-context"] = course_current
    other = make_kubeconfig("production")
    files = {"course": tmp_path / "course", "other": tmp_path / "other"}
    files["course"].write_text(yaml.safe_dump(course))
    files["other"].write_text(yaml.safe_dump(other))
    kubeconfig = os.pathsep.join(str(files[n]) for n in order.split(":"))
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)

    picked = kubectl_current(kubeconfig)
    assert current_context() == picked
    check = doctor.check_context()
    assert check.found.startswith(picked or "none"), check
    if picked == "kwok-whyk8s":
        assert connect(create_namespace=False).context == "kwok-whyk8s"
        assert check.status == "ok"
        return

    with pytest.raises((NotCourseClusterError, ClusterUnreachableError)) as err:
        connect(create_namespace=False)
    sentence = explain(err.value)
    assert check.status == "fail" and check.fix == sentence  # doctor says what connect says
    if picked is None:  # an empty current-context: choose one, the cluster need not be started
        assert "no current context" in sentence and "did not answer" not in sentence
        assert "`kubectl config use-context kwok-whyk8s`" in sentence
    else:
        assert f"Refusing to act on kubeconfig context {picked!r}" in sentence
        if ":" in order:
            assert f"the first that sets one: {files['other']}" in sentence

    follow(sentence, kubeconfig)  # the hint changes the outcome, for kubectl and the course alike
    assert kubectl_current(kubeconfig) == current_context() == "kwok-whyk8s"
    assert connect(create_namespace=False).context == "kwok-whyk8s"
    assert doctor.check_context().status == "ok"
