"""The widgets against the real API server (kwok simulates only the nodes): buttons are pressed with
``button.click()``; asynchronous board updates are awaited with a bounded wait on a threading.Event
set from the widget's own ``on_update`` hook."""

import threading
import time

import pytest
from kubernetes import client

from whyk8s.k8s import objects, specs
from whyk8s.notebook.widgets import PlacementBoard, PodBoard, PodLauncher, RollingUpdate, ScaleControl


def wait_until(widget, predicate, timeout=30):
    ev = threading.Event()
    widget.on_update(ev.set)
    deadline = time.monotonic() + timeout
    while True:
        ev.clear()
        if predicate():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ev.wait(min(left, 1.0))


def phase_of(board, name):
    df = board.data()
    rows = df[df["name"] == name]
    return rows["phase"].iloc[0] if len(rows) else None


def deploy(launcher, name, **fields):
    launcher.name.value = name
    for key, value in fields.items():
        getattr(launcher, key).value = value
    launcher.deploy_button.click()
    return launcher.status.value


@pytest.fixture
def board(cluster):
    b = PodBoard(cluster)
    yield b
    b.close()


def test_launcher_pod_reaches_running_on_the_board(cluster, board):
    launcher = PodLauncher(cluster)
    assert launcher.connected and launcher.children[0] is not launcher.panel
    status = deploy(launcher, "trainer-1", cpu="500m", memory="1Gi", gpus="0")
    assert "created" in status and "500m CPU" in status and "1024 MiB" in status
    assert wait_until(board, lambda: phase_of(board, "trainer-1") == "Running"), board.data()
    row = board.data().set_index("name").loc["trainer-1"]
    assert row["node"].startswith("whyk8s-worker") and row["restarts"] == 0
    assert "trainer-1" in board.table.value and "trainer-1" in board.by_node.value
    pod = cluster.core.read_namespaced_pod("trainer-1", cluster.namespace)
    assert pod.spec.containers[0].resources.requests == {"cpu": "500m", "memory": str(2**30)}
    assert pod.metadata.labels["app.kubernetes.io/part-of"] == "whyk8s"


@pytest.mark.parametrize("fields, expected", [
    ({"name": "Trainer_1"}, "not a valid Kubernetes name"),
    ({"memory": "512m"}, "Did you mean 512Mi"),
    ({"gpus": "-1"}, "GPUs '-1' is negative"),
    ({"gpus": "0.5"}, "is a fraction"),
    ({"cpu": "lots"}, "is not a Kubernetes quantity"),
    ({"image": ""}, "image '' is not valid"),
    ({"namespace": "no-such-ns"}, "Namespace 'no-such-ns' does not exist"),
    ({"namespace": "kube-system"}, "Namespace 'kube-system' is forbidden to the course"),
])
def test_bad_input_is_refused_in_place_and_the_launcher_still_works(cluster, fields, expected):
    launcher = PodLauncher(cluster)
    fields = {"name": "bad-one", **fields}
    deploy(launcher, **fields)
    assert expected in launcher.status.value
    assert "Traceback" not in launcher.status.value
    assert not cluster.core.list_namespaced_pod(cluster.namespace, label_selector=cluster.selector).items
    assert not [ns for ns in cluster.core.list_namespace().items if ns.metadata.name == "no-such-ns"]
    # fix the fields; the same widget deploys a valid pod
    status = deploy(launcher, "good-one", image=specs.DEFAULT_IMAGE, cpu="100m", memory="64Mi", gpus="0",
                    namespace="")
    assert "Pod 'good-one' created" in status
    cluster.core.read_namespaced_pod("good-one", cluster.namespace)


def test_duplicate_name_says_it_exists(cluster):
    launcher = PodLauncher(cluster)
    assert "created" in deploy(launcher, "twin")
    status = deploy(launcher, "twin")
    assert "A Pod named 'twin' already exists in namespace 'whyk8s'" in status
    assert "created" in deploy(launcher, "twin-2")


def test_forbidden_by_the_api_server(cluster):
    """A namespace being terminated: the API server answers 403 Forbidden to any new pod there."""
    ns = "whyk8s-closing"
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=ns, labels=cluster.labels, finalizers=["whyk8s.io/test-hold"])))
    try:
        cluster.core.delete_namespace(ns)
        launcher = PodLauncher(cluster)
        status = deploy(launcher, "late", namespace=ns)
        assert "being terminated" in status and "forbidden" in status
        assert "created" in deploy(launcher, "on-time", namespace="")
    finally:
        cluster.core.patch_namespace(ns, {"metadata": {"finalizers": None}})


def test_cluster_gone_mid_demo_then_back(cluster, board):
    launcher = PodLauncher(cluster)
    real = cluster.api.configuration.host
    try:
        cluster.api.configuration.host = "https://127.0.0.1:1"
        status = deploy(launcher, "while-down")
        assert "did not answer" in status
        assert wait_until(board, lambda: "did not answer" in board.status.value, timeout=30), board.status.value
        assert "resyncs by itself" in board.status.value
    finally:
        cluster.api.configuration.host = real
    assert wait_until(board, lambda: "answers again" in board.status.value, timeout=30), board.status.value
    assert "created" in deploy(launcher, "after-outage")
    assert wait_until(board, lambda: phase_of(board, "after-outage") == "Running"), board.data()
    assert phase_of(board, "while-down") is None


def test_board_clean_up_empties_board_and_cluster(cluster, board):
    objects.create(cluster, specs.deployment("web", replicas=2))
    objects.create(cluster, specs.pod("solo"))
    assert wait_until(board, lambda: len(board.data()) == 3 and set(board.data()["phase"]) == {"Running"})
    board.cleanup_button.click()
    assert "Cleaned up" in board.status.value
    assert wait_until(board, lambda: board.data().empty), board.data()
    assert "No course pods" in board.table.value
    assert objects.course_objects(cluster, include_namespaces=True) == []


def test_no_cluster_shows_panel_then_retry_works(course_cluster, tmp_path, monkeypatch):
    import os
    real = os.environ["KUBECONFIG"] if "KUBECONFIG" in os.environ else None
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    launcher, board = PodLauncher(), PodBoard()  # must not raise
    for wdg in (launcher, board):
        assert not wdg.connected
        assert wdg.children == (wdg.panel, wdg.retry_button)
        assert "needs the course cluster" in wdg.panel.value and "whyk8s cluster up" in wdg.panel.value
    if real is None:
        monkeypatch.delenv("KUBECONFIG")
    else:
        monkeypatch.setenv("KUBECONFIG", real)
    launcher.retry_button.click()
    board.retry_button.click()
    try:
        assert launcher.connected and board.connected
        assert launcher.deploy_button in launcher.children[2].children
        assert "created" in deploy(launcher, "after-retry")
        assert wait_until(board, lambda: phase_of(board, "after-retry") == "Running")
    finally:
        board.close()
        objects.cleanup(launcher.cluster)


def test_foreign_context_is_refused_in_a_panel(foreign_kubeconfig):
    for wdg in (PodLauncher(), PodBoard(), PlacementBoard()):
        assert not wdg.connected
        assert "Refusing to act on kubeconfig context" in wdg.panel.value and "production" in wdg.panel.value
        assert wdg.children == (wdg.panel, wdg.retry_button)


def test_placement_board_shows_columns_and_pending_reason(cluster):
    pb = PlacementBoard(cluster)
    try:
        objects.create(cluster, specs.pod("gpu-job", gpus=1))
        objects.create(cluster, specs.pod("greedy", gpus=9))
        ok = wait_until(pb, lambda: "Insufficient nvidia.com/gpu" in pb.view.value and
                        "gpu-job" in pb.pods and pb.pods["gpu-job"].spec.node_name)
        assert ok, pb.view.value
        html = pb.view.value
        assert html.count("class='whyk8s-node'") == 4  # the four workers
        assert "nvidia.com/gpu=present:NoSchedule" in html and "pool <b>highmem</b>" in html
        gpu_col = html.split("whyk8s-worker3")[1].split("class='whyk8s-node")[0]
        assert "gpu-job" in gpu_col and "1/4 GPU" in gpu_col
        pending_col = html.split("whyk8s-pending")[1]
        assert "greedy" in pending_col and "gpu-job" not in pending_col
    finally:
        pb.close()


def test_scale_control_refuses_bad_values_and_scales(cluster):
    objects.create(cluster, specs.deployment("web", replicas=1))
    sc = ScaleControl("web", cluster)
    try:
        for bad, text in [("-1", "negative"), ("51", "more than this course allows"), ("three", "not a whole number")]:
            sc.replicas.value = bad
            sc.apply_button.click()
            assert text in sc.status.value
            assert cluster.apps.read_namespaced_deployment("web", cluster.namespace).spec.replicas == 1
        sc.slider.value = 3
        assert sc.replicas.value == "3"
        sc.apply_button.click()
        assert "Asked for 3 replicas" in sc.status.value
        assert wait_until(sc, lambda: "running <b>3</b>" in sc.counts.value), sc.counts.value
    finally:
        sc.close()


def test_rolling_update_shows_both_replicasets(cluster):
    objects.create(cluster, specs.deployment("web", replicas=3))
    ru = RollingUpdate("web", cluster)
    try:
        assert wait_until(ru, lambda: [r["ready"] for r in ru.data()] == [3])
        ru.image.value = " "
        ru.update_button.click()
        assert "is not valid" in ru.status.value
        ru.image.value = "registry.k8s.io/pause:3.9"
        ru.update_button.click()
        assert "now wants image registry.k8s.io/pause:3.9" in ru.status.value
        done = wait_until(ru, lambda: [(r["image"], r["desired"], r["ready"]) for r in ru.data()] ==
                          [(specs.DEFAULT_IMAGE, 0, 0), ("registry.k8s.io/pause:3.9", 3, 3)])
        assert done, ru.data()
        assert "registry.k8s.io/pause:3.9" in ru.view.value
    finally:
        ru.close()


@pytest.mark.parametrize("make", ["scale", "rollout"])
def test_scale_and_rollout_survive_a_cluster_outage(cluster, make):
    """The cluster goes away mid-demonstration: the click says so in place (no traceback), and the
    same widget works again once the cluster is back."""
    objects.create(cluster, specs.deployment("web", replicas=1))
    widget = ScaleControl("web", cluster) if make == "scale" else RollingUpdate("web", cluster)
    real = cluster.api.configuration.host
    try:
        cluster.api.configuration.host = "https://127.0.0.1:1"
        if make == "scale":
            widget.replicas.value = "2"
            widget.apply_button.click()
        else:
            widget.image.value = "registry.k8s.io/pause:3.9"
            widget.update_button.click()
        assert "did not answer" in widget.status.value, widget.status.value
        cluster.api.configuration.host = real
        if make == "scale":
            widget.apply_button.click()
            assert "Asked for 2 replicas" in widget.status.value
            assert wait_until(widget, lambda: "running <b>2</b>" in widget.counts.value), widget.counts.value
        else:
            widget.update_button.click()
            assert "now wants image registry.k8s.io/pause:3.9" in widget.status.value
    finally:
        cluster.api.configuration.host = real
        widget.close()
