"""The widgets against the real API server (kwok simulates only the nodes): buttons are pressed with
``button.click()``; asynchronous updates are awaited with a bounded wait woken by the widget's own
``on_update`` hook (tests/livewait.py). An outage is made by pointing the client at a dead port and
dropping the watches' connections, as when the network goes away; then the port is put back."""

import json
import re
import time

import pytest
from kubernetes import client

from whyk8s.k8s import objects, specs
from whyk8s.k8s.waits import wait_for_pods
from whyk8s.notebook.widgets import PlacementBoard, PodBoard, PodLauncher, RollingUpdate, ScaleControl
from whyk8s.paths import repo_root

from livewait import drop_watch_connections, text, wait_until

DEAD = "https://127.0.0.1:1"


def status_of(board, name):
    """The STATUS of pod ``name`` in the board's model (None if absent)."""
    rec = board.pods.get(name)
    return rec.status if rec else None


def row_of(board, name) -> str:
    """Pod ``name``'s row as the board's table draws it (text), or ``""``: what the learner sees,
    which the render thread draws a moment after the model changed."""
    for row in re.findall(r"<tr><td><code>.*?</tr>", board.table.value):
        if f"<code>{name}</code>" in row:
            return text(row)
    return ""


def deploy(launcher, name=None, **fields):
    if name is not None:
        launcher.name.value = name
    for key, value in fields.items():
        getattr(launcher, key).value = value
    launcher.deploy_button.click()
    return text(launcher.status.value)


@pytest.fixture
def board(cluster):
    b = PodBoard(cluster)
    yield b
    b.close()


def _running(n, app):
    return dict(label_selector=f"app={app}",
                predicate=lambda ps: len(ps) == n and all(p.status.phase == "Running" for p in ps.values()))


def wait_running(cluster, n, app):
    args = _running(n, app)
    return wait_for_pods(cluster, args["predicate"], args["label_selector"])


# -- PodLauncher and PodBoard ---------------------------------------------------------------------
def test_launcher_pod_reaches_running_on_the_board(cluster, board):
    launcher = PodLauncher(cluster)
    assert launcher.connected and launcher.panel not in launcher.children
    status = deploy(launcher, "trainer-a", cpu="500m", memory="1Gi", gpus="0")
    assert status.startswith("✔ Pod 'trainer-a' created") and "500m CPU" in status and "1024 MiB" in status
    assert wait_until(board, lambda: " Running " in row_of(board, "trainer-a")
                      and "trainer-a" in board.by_node.value), board.data()
    row = board.data().set_index("name").loc["trainer-a"]
    assert row["node"].startswith("whyk8s-worker") and row["restarts"] == "0" and row["ready"] == "1/1"
    assert row_of(board, "trainer-a").startswith("trainer-a 1/1 Running 0 ")
    pod = cluster.core.read_namespaced_pod("trainer-a", cluster.namespace)
    assert pod.spec.containers[0].resources.requests == {"cpu": "500m", "memory": str(2**30)}
    assert pod.metadata.labels["app.kubernetes.io/part-of"] == "whyk8s"


def _chapter_names(notebook: str) -> set[str]:
    cells = json.loads((repo_root() / "notebooks" / notebook).read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return set(re.findall(r'\b(?:pod|deployment|job|training_job|training_pod|preprocessing_pod)\("([a-z0-9.-]+)"',
                          code))


def test_the_launchers_default_name_does_not_collide_with_chapter_3(cluster):
    """learner-ux #1: pressing Deploy with the pre-filled fields must not break the chapter's next
    cell (which creates trainer-1)."""
    names = _chapter_names("03-what-an-orchestrator-does.ipynb")
    assert "trainer-1" in names  # the parser finds what the chapter creates
    launcher = PodLauncher(cluster)
    assert launcher.name.value not in names
    assert text(launcher.status.value).startswith("Connected")
    assert "created" in deploy(launcher)  # the pre-filled fields, as a learner presses Deploy
    for name in sorted(names - {"web", "greedy"}):  # the chapter's next cells still work
        objects.create(cluster, specs.pod(name))


@pytest.mark.parametrize("fields, expected", [
    ({"name": "Trainer_1"}, "not a valid Kubernetes name"),
    ({"memory": "512m"}, "Did you mean 512Mi"),
    ({"gpus": "-1"}, "GPUs '-1' is negative"),
    ({"gpus": "0.5"}, "is a fraction"),
    ({"cpu": "lots"}, "is not a Kubernetes quantity"),
    ({"image": ""}, "The image '' is not valid"),
    ({"namespace": "no-such-ns"}, "Namespace 'no-such-ns' does not exist"),
    ({"namespace": "kube-system"}, "Namespace 'kube-system' belongs to the cluster itself"),
])
def test_bad_input_is_refused_in_place_and_the_launcher_still_works(cluster, fields, expected):
    launcher = PodLauncher(cluster)
    fields = {"name": "bad-one", **fields}
    status = deploy(launcher, **fields)
    assert status.startswith("⚠") and expected in status, status
    assert "Traceback" not in status
    assert not cluster.core.list_namespaced_pod(cluster.namespace, label_selector=cluster.selector).items
    assert "no-such-ns" not in {ns.metadata.name for ns in cluster.core.list_namespace().items}
    # fix the fields; the same widget deploys a valid pod
    status = deploy(launcher, "good-one", image=specs.DEFAULT_IMAGE, cpu="100m", memory="64Mi", gpus="0",
                    namespace="")
    assert "Pod 'good-one' created" in status
    cluster.core.read_namespaced_pod("good-one", cluster.namespace)


def test_duplicate_name_says_it_exists(cluster):
    launcher = PodLauncher(cluster)
    assert "created" in deploy(launcher, "twin")
    assert "A Pod named 'twin' already exists in namespace 'whyk8s'" in deploy(launcher, "twin")
    assert "created" in deploy(launcher, "twin-2")


def test_a_pod_no_node_can_hold_says_it_will_stay_pending_and_the_board_says_why(cluster, board):
    """learner-ux #10: 100 GPUs."""
    launcher = PodLauncher(cluster)
    status = deploy(launcher, "huge", gpus="100")
    assert status.startswith("⚠ Pod 'huge' created")
    assert "No node has 100 GPUs (the most is 4), so it will stay Pending." in status
    assert wait_until(board, lambda: "Insufficient nvidia.com/gpu" in row_of(board, "huge")), board.table.value
    assert " Pending " in row_of(board, "huge")


def test_forbidden_by_the_api_server_names_the_real_cause(cluster):
    """A namespace being terminated: the API server answers 403 to any new pod there."""
    ns = "whyk8s-closing"
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=ns, labels=cluster.labels, finalizers=["whyk8s.io/test-hold"])))
    try:
        cluster.core.delete_namespace(ns)
        launcher = PodLauncher(cluster)
        status = deploy(launcher, "late", namespace=ns)
        assert "is being deleted (Terminating)" in status and "use another namespace" in status
        assert "Not allowed" not in status and "RBAC" not in status
        assert "created" in deploy(launcher, "on-time", namespace="")
    finally:
        cluster.core.patch_namespace(ns, {"metadata": {"finalizers": None}})


def test_the_board_shows_age_counting_on(cluster, board):
    """learner-ux #13: AGE is the pod's age now, not its age at its last change."""
    objects.create(cluster, specs.pod("ager"))
    def drawn_age():  # the AGE the table shows now, in seconds
        m = re.match(r"ager 1/1 Running 0 (\d+)s ", row_of(board, "ager"))
        return int(m.group(1)) if m else None

    assert wait_until(board, lambda: drawn_age() is not None)
    first = drawn_age()
    assert wait_until(board, lambda: drawn_age() >= first + 2, timeout=10), board.table.value
    assert board.data().set_index("name").loc["ager", "status"] == "Running"  # nothing else changed


def test_board_clean_up_empties_board_and_cluster(cluster, board):
    objects.create(cluster, specs.deployment("web", replicas=2))
    objects.create(cluster, specs.pod("solo"))
    assert wait_until(board, lambda: len(board.pods) == 3 and {r.status for r in board.pods.values()} == {"Running"})
    board.cleanup_button.click()
    assert text(board.status.value).startswith("✔ Cleaned up: deleted")
    assert wait_until(board, lambda: not board.pods and "No course pods" in board.table.value), board.data()
    assert objects.course_objects(cluster, include_namespaces=True) == []


def test_no_cluster_shows_panel_then_retry_works(course_cluster, tmp_path, monkeypatch):
    import os
    real = os.environ.get("KUBECONFIG")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    launcher, board = PodLauncher(), PodBoard()  # must not raise
    for wdg in (launcher, board):
        assert not wdg.connected
        assert list(wdg.children)[1:] == [wdg.panel, wdg.retry_button]
        assert "needs the course cluster" in wdg.panel.value and "whyk8s cluster up" in wdg.panel.value
    if real is None:
        monkeypatch.delenv("KUBECONFIG")
    else:
        monkeypatch.setenv("KUBECONFIG", real)
    launcher.retry_button.click()
    board.retry_button.click()
    try:
        assert launcher.connected and board.connected
        assert launcher.panel not in launcher.children
        assert "created" in deploy(launcher, "after-retry")
        assert wait_until(board, lambda: status_of(board, "after-retry") == "Running")
    finally:
        board.close()
        objects.cleanup(launcher.cluster)


def test_foreign_context_is_refused_in_a_panel(foreign_kubeconfig):
    for wdg in (PodLauncher(), PodBoard(), PlacementBoard(), ScaleControl("web"), RollingUpdate("web")):
        assert not wdg.connected
        assert "Refusing to act on kubeconfig context" in text(wdg.panel.value) and "production" in wdg.panel.value
        assert list(wdg.children)[1:] == [wdg.panel, wdg.retry_button]


def test_a_refusal_is_its_sentence_in_place_not_the_start_the_cluster_panel(cluster, tmp_path):
    """Learner trial 4c: a PodBoard pointed at another participant's namespace said "Start it in a
    terminal with make lab": the API server answered 403, the cluster was fine."""
    from whyk8s.cluster import workshop
    from whyk8s.k8s.guard import connect
    out = tmp_path / "workshop"
    result = workshop.up(2, hours=1, out=out, cluster=cluster)
    try:
        learner = connect("whyk8s-p02",
                          kubeconfig=str(workshop.kubeconfig_path(result.context, "p01", result.folder)))
        for wdg in (PodBoard(learner), ScaleControl("web", learner), RollingUpdate("web", learner)):
            try:
                assert not wdg.connected
                said = text(wdg.panel.value)
                assert "make lab" not in said and "needs the course cluster" not in said, said
                assert "namespace whyk8s-p02 is not yours" in said and "whyk8s-p01" in said, said
            finally:
                wdg.close()
    finally:
        workshop.down(cluster=cluster, out=out)


# -- PlacementBoard --------------------------------------------------------------------------------
def test_placement_board_shows_columns_and_pending_reason(cluster):
    pb = PlacementBoard(cluster)
    try:
        objects.create(cluster, specs.pod("gpu-job", gpus=1))
        objects.create(cluster, specs.pod("greedy", gpus=9))
        ok = wait_until(pb, lambda: "Insufficient nvidia.com/gpu" in pb.html() and
                        "gpu-job" in pb.pods and pb.pods["gpu-job"].node and "gpu-job" in pb.html())
        assert ok, pb.html()
        html = pb.html()
        assert html.count("class='whyk8s-node'") == 4  # the four workers
        assert "nvidia.com/gpu=present:NoSchedule" in html and "pool <b>highmem</b>" in html
        gpu_col = html.split("data-node='whyk8s-worker3'")[1].split("class='whyk8s-node")[0]
        assert "gpu-job" in gpu_col and "1/4 GPU" in gpu_col
        pending = pb.pending_column.value
        assert "greedy" in pending and "gpu-job" not in pending and "Insufficient nvidia.com/gpu" in pending
    finally:
        pb.close()


def test_placement_board_does_not_count_a_finished_pods_gpu(cluster):
    """Learner B's board said "1/4 GPU" for a Completed Job pod. A pod in phase Succeeded holds no
    GPU: kube-scheduler puts a 4-GPU pod on the 4-GPU node beside it, and the board says 4/4."""
    from whyk8s.lessons import placement
    pb = PlacementBoard(cluster)
    try:
        objects.create(cluster, placement.training_job("done-train", gpus=1))
        assert wait_until(pb, lambda: any(n.startswith("done-train") and r.status == "Completed"
                                          and r.node == "whyk8s-worker3" for n, r in pb.pods.items())), pb.html()
        gpu_col = lambda: pb.columns["whyk8s-worker3"].value  # noqa: E731
        assert wait_until(pb, lambda: "0/4 GPU" in gpu_col()), gpu_col()
        objects.create(cluster, specs.pod("all-four", gpus=4))
        assert wait_until(pb, lambda: pb.pods.get("all-four") is not None and pb.pods["all-four"].node), pb.html()
        assert pb.pods["all-four"].node == "whyk8s-worker3"  # the scheduler did not count the finished pod
        assert wait_until(pb, lambda: "4/4 GPU" in gpu_col()), gpu_col()
        assert "others' use" not in pb.scope_note()  # the course cluster's admin may list every namespace
    finally:
        pb.close()


def test_placement_board_follows_a_cordoned_node(cluster):
    from whyk8s.lessons import failures
    pb = PlacementBoard(cluster)
    try:
        failures.cordon(cluster, "whyk8s-worker4")
        assert wait_until(pb, lambda: "cordoned" in pb.columns["whyk8s-worker4"].value)
        failures.uncordon(cluster, "whyk8s-worker4")
        assert wait_until(pb, lambda: "cordoned" not in pb.columns["whyk8s-worker4"].value)
    finally:
        pb.close()


# -- ScaleControl ----------------------------------------------------------------------------------
def test_scale_control_refuses_bad_values_and_scales(cluster):
    objects.create(cluster, specs.deployment("web", replicas=1))
    sc = ScaleControl("web", cluster)
    try:
        for bad, words in [("-1", "negative"), ("51", "more than this course allows"), ("three", "not a whole number")]:
            sc.replicas.value = bad
            sc.apply_button.click()
            assert words in text(sc.status.value)
            assert cluster.apps.read_namespaced_deployment("web", cluster.namespace).spec.replicas == 1
        sc.slider.value = 3
        assert sc.replicas.value == "3"
        sc.apply_button.click()
        assert "Asked for 3 replicas" in text(sc.status.value)
        assert wait_until(sc, lambda: "running <b>3</b>" in sc.counts.value), sc.counts.value
        assert "desired <b>3</b>" in sc.counts.value
    finally:
        sc.close()


def test_the_desired_count_follows_an_accepted_request_at_once_and_a_change_elsewhere_is_said(cluster):
    """Learner trial 9: "desired 2" stood beside "✔ Asked for 3 replicas". The count came only from
    the watch's event, so a draw between the API server's answer and that event showed the old one;
    and a later change by a cell left "Asked for 3" beside the new count without a word."""
    objects.create(cluster, specs.deployment("web", replicas=2))
    sc = ScaleControl("web", cluster)
    try:
        assert wait_until(sc, lambda: "desired <b>2</b>" in sc.counts.value)
        for n in (3, 4, 3):
            assert "Asked for" in sc.apply(n)
            sc.render()  # a draw right after the API server accepted the request
            assert sc.desired == n and f"desired <b>{n}</b>" in sc.counts.value, (n, sc.counts.value)
        objects.scale(cluster, "web", 2)  # as chapter 3's next cell does
        assert wait_until(sc, lambda: "desired <b>2</b>" in sc.counts.value)
        assert wait_until(sc, lambda: "now wants 2 replicas" in text(sc.status.value)), sc.status.value
    finally:
        sc.close()


def test_a_typed_value_moves_the_slider(cluster):
    """learner-ux #12: the text box and the slider never disagree on the number."""
    objects.create(cluster, specs.deployment("web", replicas=3))
    sc = ScaleControl("web", cluster)
    try:
        assert wait_until(sc, lambda: sc.slider.value == 3 and "desired <b>3</b>" in sc.counts.value)
        sc.replicas.value = "30"
        assert sc.slider.value == 30
        sc.apply_button.click()
        assert wait_until(sc, lambda: "running <b>30</b>" in sc.counts.value, timeout=60), sc.counts.value
        sc.replicas.value = "1"
        sc.apply_button.click()
        assert sc.slider.value == 1 and "Asked for 1 replica of 'web'" in text(sc.status.value)
        sc.replicas.value = "lots"
        assert sc.slider.value == 1  # nonsense does not move it
    finally:
        sc.close()


def test_a_deleted_deployment_is_said_in_a_sentence_by_both_controls(cluster):
    """learner-ux #15: after the chapter's clean-up deleted 'web'."""
    objects.create(cluster, specs.deployment("web", replicas=1))
    wait_running(cluster, 1, "web")
    sc, ru = ScaleControl("web", cluster), RollingUpdate("web", cluster)
    try:
        assert wait_until(ru, lambda: len(ru.data()) == 1)
        objects.delete_labelled(cluster, "Deployment", "web")
        assert wait_until(sc, lambda: "(no Deployment)" in sc.counts.value)
        said = text(sc.status.value)
        assert said.startswith("⚠ There is no Deployment 'web' in namespace 'whyk8s'") and "create it again" in said
        sc.replicas.value = "2"
        sc.apply_button.click()
        ru.update_button.click()
        for widget in (sc, ru):
            sentence = text(widget.status.value)
            assert "There is no Deployment named 'web' in namespace whyk8s" in sentence, sentence
            assert "not found" not in sentence and "Deployments.apps" not in sentence
        objects.create(cluster, specs.deployment("web", replicas=2))  # running the cell that made it
        assert wait_until(sc, lambda: "Deployment 'web' is back and wants 2 replicas" in text(sc.status.value))
        assert wait_until(sc, lambda: "running <b>2</b>" in sc.counts.value), sc.counts.value
    finally:
        sc.close()
        ru.close()


# -- RollingUpdate ---------------------------------------------------------------------------------
def test_rolling_update_shows_both_replicasets_and_keeps_its_steps(cluster):
    """learner-ux #4: on kwok a rollout takes half a second; the steps stay readable after it."""
    objects.create(cluster, specs.deployment("web", replicas=3))
    ru = RollingUpdate("web", cluster)
    try:
        assert wait_until(ru, lambda: [r["ready"] for r in ru.data()] == [3])
        ru.image.value = " "
        ru.update_button.click()
        assert "is not valid" in text(ru.status.value)
        ru.image.value = "registry.k8s.io/pause:3.9"
        ru.update_button.click()
        assert "now wants image registry.k8s.io/pause:3.9" in text(ru.status.value)
        done = wait_until(ru, lambda: [(r["image"], r["desired"], r["ready"]) for r in ru.data()] ==
                          [(specs.DEFAULT_IMAGE, 0, 0), ("registry.k8s.io/pause:3.9", 3, 3)])
        assert done, ru.data()
        assert wait_until(ru, lambda: "0 old · 3 new ready" in text(ru.steps.value))
        assert "registry.k8s.io/pause:3.9" in ru.view.value
        steps = [(o, n) for _, o, n in ru.history]
        assert steps[0] == (3, 0) and steps[-1] == (0, 3) and len(steps) >= 3, steps
        assert [t for t, _, _ in ru.history] == sorted(t for t, _, _ in ru.history)
        assert text(ru.steps.value).count("old ·") == len(steps)  # every step drawn, kept after the end
    finally:
        ru.close()


def test_a_rollout_from_the_widget_then_the_same_image_from_a_cell_returns_at_once(cluster):
    """learner-ux #2: chapter 3 presses Update image (pause:3.10.1), then runs
    objects.rollout(cluster, "web", "registry.k8s.io/pause:3.10.1"): it used to hang 60 s."""
    objects.create(cluster, specs.deployment("web", replicas=2))
    wait_running(cluster, 2, "web")
    ru = RollingUpdate("web", cluster, new_image="registry.k8s.io/pause:3.10.1")
    try:
        ru.update_button.click()
        assert "now wants image registry.k8s.io/pause:3.10.1" in text(ru.status.value)
        started = time.monotonic()
        result = objects.rollout(cluster, "web", "registry.k8s.io/pause:3.10.1", timeout=30)
        assert time.monotonic() - started < 10
        assert not result.changed and "already runs registry.k8s.io/pause:3.10.1" in str(result)
        assert result.message == 'deployment "web" successfully rolled out'  # it waited for the widget's
        ru.update_button.click()
        assert "already runs registry.k8s.io/pause:3.10.1: nothing to roll out" in text(ru.status.value)
    finally:
        ru.close()


# -- every widget through an outage ---------------------------------------------------------------
def _act(kind, widget):
    """Press the widget's main button (the placement view has none); return the sentence it shows."""
    if kind == "launcher":
        widget.name.value = f"click-{int(time.monotonic() * 1000) % 100000}"
        widget.deploy_button.click()
    elif kind == "board":
        widget.cleanup_button.click()
    elif kind == "scale":
        widget.replicas.value = "2"
        widget.apply_button.click()
    elif kind == "rollout":
        widget.image.value = "registry.k8s.io/pause:3.9"
        widget.update_button.click()
    return text(widget.status.value)


WIDGETS = {"launcher": lambda c: PodLauncher(c), "board": lambda c: PodBoard(c),
           "placement": lambda c: PlacementBoard(c), "scale": lambda c: ScaleControl("web", c),
           "rollout": lambda c: RollingUpdate("web", c)}


def _debug(widget) -> str:
    """The widget's status and the state of the kernel's shared watches, for a failure message."""
    from whyk8s.k8s import informer as I
    rows = [(k[1], k[2], inf.running, inf.lw._watch is not None, inf.lw.failing, inf.lw.reconnects, inf.lw.relists,
             len(inf._subs), inf.lw.list_fn.__self__.api_client is widget.cluster.api)
            for k, inf in I._REGISTRY.items()]
    return f"{widget.status.value} {rows}"


@pytest.mark.parametrize("kind", list(WIDGETS))
def test_every_widget_survives_a_cluster_outage(cluster, kind):
    """The cluster goes away mid-demonstration: clicks say so in place (no traceback), live views
    say it once and resync by themselves, and the same widget works again once it is back."""
    objects.create(cluster, specs.deployment("web", replicas=1))
    wait_running(cluster, 1, "web")
    widget = WIDGETS[kind](cluster)
    real = cluster.api.configuration.host
    try:
        cluster.api.configuration.host = DEAD
        if kind != "placement":
            said = _act(kind, widget)
            assert said.startswith("⚠") and "did not answer" in said, said
        if kind != "launcher":
            assert drop_watch_connections(cluster) >= 1
            assert wait_until(widget, lambda: "resyncs by itself" in text(widget.status.value)), _debug(widget)
            assert "did not answer" in text(widget.status.value)
        cluster.api.configuration.host = real
        if kind != "launcher":
            assert wait_until(widget, lambda: "answers again" in text(widget.status.value)), widget.status.value
        said = _act(kind, widget)
        assert said.startswith("✔") or kind == "placement", said
        if kind == "scale":
            assert wait_until(widget, lambda: "running <b>2</b>" in widget.counts.value), widget.counts.value
        if kind == "rollout":
            assert wait_until(widget, lambda: any(r["image"] == "registry.k8s.io/pause:3.9" and r["ready"] == 1
                                                  for r in widget.data()))
        if kind == "placement":
            objects.create(cluster, specs.pod("after-outage"))
            assert wait_until(widget, lambda: "after-outage" in widget.html())
    finally:
        cluster.api.configuration.host = real
        widget.close()

