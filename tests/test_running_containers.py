"""What only running containers show, on kind (real kubelet, real containers, real kube-proxy).

Each test uses :mod:`whyk8s.lessons.running_containers` against the course cluster; all carry the
``containers`` marker (skipped unless WHYK8S_PROVIDER=kind). On kwok the same functions refuse with
NoContainersError: that is tested too, on kwok only.
"""
import pytest

from whyk8s.lessons import running_containers as rc


@pytest.mark.containers
def test_a_crashing_container_is_restarted_with_a_growing_back_off(cluster):
    rc.create(cluster, rc.crashing_pod("crasher"))
    history = rc.watch_restarts(cluster, "crasher", restarts=3, timeout=150)
    statuses = {s.status for s in history.steps}
    assert "CrashLoopBackOff" in statuses, str(history)
    assert history.steps[-1].restarts >= 3
    gaps = history.gaps
    assert len(gaps) >= 1 and gaps[-1] > gaps[0], f"back-off did not grow: {gaps}\n{history}"


@pytest.mark.containers
def test_the_log_of_the_crashed_run_is_readable(cluster):
    rc.create(cluster, rc.crashing_pod("crasher", message="loading weights", error="file not found"))
    rc.watch_restarts(cluster, "crasher", restarts=1, timeout=90)
    previous = rc.pod_logs(cluster, "crasher", previous=True)
    assert "loading weights" in previous and "error: file not found" in previous


@pytest.mark.containers
def test_a_mistyped_image_shows_err_image_pull_then_image_pull_back_off(cluster):
    rc.create(cluster, rc.unpullable_pod("typo"))
    steps = rc.watch_image_pull(cluster, "typo", timeout=90)
    seen = [s.status for s in steps]
    assert seen.index("ErrImagePull") < seen.index("ImagePullBackOff"), seen


@pytest.mark.containers
def test_a_service_spreads_requests_and_follows_readiness_and_scale_down(cluster):
    rc.create(cluster, rc.web_server("model-server", replicas=3))
    rc.create(cluster, rc.web_service("model-server"))

    rows = rc.wait_for_endpoints(cluster, "model-server", lambda rows: len(rc.ready_pods(rows)) == 3)
    counts = rc.send_requests(cluster, "model-server", count=30)
    assert set(counts) == rc.ready_pods(rows), counts  # every pod answered, and only pods answered

    # one pod's readiness probe fails: it stays in the EndpointSlice, not ready, and gets no requests
    out = rows[0]["pod"]
    rc.set_ready(cluster, out, False)
    rows = rc.wait_for_endpoints(cluster, "model-server", lambda rows: out not in rc.ready_pods(rows), timeout=30)
    assert len(rc.ready_pods(rows)) == 2 and any(r["pod"] == out and not r["ready"] for r in rows), rows
    counts = rc.send_requests(cluster, "model-server", count=20)
    assert out not in counts and sum(counts.values()) == 20, counts
    rc.set_ready(cluster, out, True)
    rc.wait_for_endpoints(cluster, "model-server", lambda rows: out in rc.ready_pods(rows), timeout=30)

    # scaled down to one: the Service follows, every request goes to the one pod left
    rc.scale(cluster, "model-server", 1)
    rows = rc.wait_for_endpoints(cluster, "model-server", lambda rows: len(rows) == 1 and len(rc.ready_pods(rows)) == 1)
    counts = rc.send_requests(cluster, "model-server", count=10)
    assert set(counts) == rc.ready_pods(rows) and sum(counts.values()) == 10, counts


@pytest.mark.kwok
def test_on_kwok_the_functions_that_need_a_container_say_so(cluster):
    assert not rc.has_containers(cluster)
    with pytest.raises(rc.NoContainersError, match="kwok simulates the nodes"):
        rc.pod_logs(cluster, "anything")
    with pytest.raises(rc.NoContainersError):
        rc.send_requests(cluster, "model-server")


def test_the_kubectl_lines_beside_the_tables_name_the_notebooks_namespace():
    """Learner trial 5: a workshop participant (namespace whyk8s-p01) was shown `-n whyk8s`."""
    restart = rc.RestartHistory("crasher", namespace="whyk8s-p01")._repr_html_()
    pull = rc.PullHistory("typo", message="no such tag", namespace="whyk8s-p01")._repr_html_()
    assert "kubectl get pod crasher -n whyk8s-p01 -w -o wide" in restart
    assert "kubectl get pod typo -n whyk8s-p01 -w" in pull and "kubectl describe pod typo -n whyk8s-p01" in pull
    assert "-n whyk8s " not in restart + pull and "-n whyk8s<" not in restart + pull
