import pytest

from whyk8s.errors import ClusterUnreachableError, NotCourseClusterError
from whyk8s.k8s.guard import check_context, connect


def test_foreign_context_is_refused_before_any_request(foreign_kubeconfig, course_cluster):
    before = {n.metadata.name for n in course_cluster.core.list_namespace().items}
    with pytest.raises(NotCourseClusterError) as err:
        connect(namespace="should-not-exist")
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


def test_workload_functions_cannot_reach_foreign_context(foreign_kubeconfig):
    from whyk8s.cli import main
    # the CLI's clean-up goes through the guard too and must refuse, not delete
    assert main(["cluster", "clean"]) == 1


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
    import yaml
    cfg = make_kubeconfig("kwok-whyk8s")
    cfg["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"  # nothing listens there
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("KUBECONFIG", str(path))
    with pytest.raises(ClusterUnreachableError, match="did not answer"):
        connect()
