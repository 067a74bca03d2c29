"""The pure HTML renderers of the live widgets (notebook/html.py) and the per-pod model that feeds
them (notebook/widgets/boards.PodModel): data in, a string out, no cluster, no kernel."""

import json
import re
from datetime import datetime, timedelta, timezone

from kubernetes import client

from whyk8s.k8s import specs
from whyk8s.notebook import html as render
from whyk8s.notebook.charts import PALETTE
from whyk8s.notebook.html import MAX_CHIPS, MAX_ROWS, NodeRecord, PodRecord
from whyk8s.notebook.widgets.boards import PodModel

from livewait import text

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
EVIL = "<script>alert('x')</script>&\""


def test_every_text_is_escaped():
    assert render.esc(EVIL) == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;"
    rec = PodRecord(name=EVIL, status=EVIL, ready=EVIL, restarts=EVIL, node=EVIL, why=EVIL)
    node = NodeRecord(name=EVIL, pool=EVIL, taints=EVIL)
    pieces = [render.message_html(EVIL), render.info_html(EVIL), render.pod_table_html([(rec, EVIL)], 1),
              render.pod_summary_html({EVIL: 1}, 1), render.by_node_html([node], {EVIL: [EVIL]}, 0),
              render.node_column_html(node, [rec], (0, 0, 0)), render.pending_column_html([rec]),
              render.other_nodes_html(EVIL, 2, 3, (0, 0, 0), (1, 1, 1)),
              render.replicasets_html([{"replicaset": EVIL, "image": EVIL, "revision": 1, "desired": 1,
                                        "ready": 1}])]
    for piece in pieces:
        assert "<script>" not in piece and "alert('x')" not in piece, piece
        assert EVIL in text(piece)  # the reader still sees the text as typed


def test_a_message_is_one_sentence_with_its_sign():
    assert text(render.message_html("Pod 'a' created.", ok=True)) == "✔ Pod 'a' created."
    assert PALETTE["bluish_green"] in render.message_html("x", ok=True)
    assert text(render.message_html("It failed.")) == "⚠ It failed."
    assert PALETTE["vermillion"] in render.message_html("x")


def test_status_colours_follow_kubectls_status_not_the_phase():
    assert render.status_colour("Running") == PALETTE["bluish_green"]
    assert render.status_colour("Pending") == PALETTE["orange"]
    assert render.status_colour("Completed") == render.status_colour("Succeeded") == PALETTE["blue"]
    for bad in ("CrashLoopBackOff", "ImagePullBackOff", "OOMKilled", "Error", "Init:CrashLoopBackOff"):
        assert render.status_colour(bad) == PALETTE["vermillion"]


def _pod(name: str, seconds_old: int = 10, node: str = "", status: str = "Running") -> client.V1Pod:
    data = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "whyk8s", "labels": {"app": "web"},
                         "creationTimestamp": (NOW - timedelta(seconds=seconds_old)).isoformat()},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "250m",
                                                                                         "memory": "64Mi"}}}],
                     "nodeName": node or None},
            "status": {"phase": "Running" if status == "Running" else "Pending"}}
    if status == "CrashLoopBackOff":
        data["status"]["containerStatuses"] = [{"name": "c", "image": "i", "imageID": "", "ready": False,
                                                "restartCount": 2, "state": {"waiting": {"reason": status}}}]
    return client.ApiClient().deserialize(json.dumps(data), "V1Pod", "application/json")


def test_the_table_shows_at_most_max_rows_the_most_recently_changed_first():
    model = PodModel()
    total = MAX_ROWS + 25
    for i in range(total):
        model.apply("ADDED", _pod(f"p-{i:03d}", node="n1"))
    model.apply("MODIFIED", _pod("p-000", node="n1", status="CrashLoopBackOff"))  # the latest change
    rows, recent = model.table_rows(NOW)
    assert recent and len(rows) == MAX_ROWS
    assert rows[0][0].name == "p-000" and rows[0][0].status == "CrashLoopBackOff"
    assert [r.name for r, _ in rows[1:4]] == [f"p-{total - 1:03d}", f"p-{total - 2:03d}", f"p-{total - 3:03d}"]
    table = render.pod_table_html(rows, total, recent)
    assert table.count("<tr><td><code>") == MAX_ROWS
    assert f"Showing the {MAX_ROWS} most recently changed of {total} pods" in text(table)
    assert len(model.frame()) == total  # data() keeps them all


def test_a_small_table_shows_every_pod_by_name_with_kubectls_columns():
    model = PodModel()
    for name in ("b", "a", "c"):
        model.apply("ADDED", _pod(name, seconds_old=75, node="n1"))
    model.apply("ADDED", _pod("waiting", status="Pending"))
    rows, recent = model.table_rows(NOW)
    assert not recent and [r.name for r, _ in rows] == ["a", "b", "c", "waiting"]
    assert rows[0][1] == "75s"  # AGE, as kubectl prints it
    table = render.pod_table_html(rows, 4)
    assert re.findall(r"<th>(\w+)</th>", table) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
    assert "most recently changed" not in table
    assert "No course pods right now" in render.pod_table_html([], 0)


def test_a_pending_pod_shows_the_schedulers_reason_in_the_table():
    rec = PodRecord(name="greedy", status="Pending", why="0/4 nodes are available: 1 Insufficient nvidia.com/gpu, "
                                                          "3 node(s) didn't match Pod's node affinity/selector. "
                                                          "preemption: 0/4 nodes are available: 4 Preemption is not "
                                                          "helpful for scheduling.")
    row = render.pod_table_html([(rec, "3s")], 1)
    assert "Insufficient nvidia.com/gpu" in text(row)
    assert f"title='{render.esc(rec.why)}'" in row
    # learner trial 9: the reason was cut ("preemption: 0/4 nodes ar…"); the whole of it is shown, wrapped
    assert rec.why in text(row) and "…" not in text(row)
    assert "overflow-wrap:anywhere" in render.STYLE.split(".whyk8s-why")[1].split("}")[0]
    assert rec.why in text(render.pending_column_html([rec]))  # the placement board's chip too


def test_the_model_counts_statuses_and_requests_per_node_and_forgets_deleted_pods():
    model = PodModel()
    model.apply("ADDED", _pod("a", node="n1"))
    model.apply("ADDED", _pod("b", node="n1", status="CrashLoopBackOff"))
    model.apply("ADDED", _pod("c", status="Pending"))
    assert dict(model.by_status) == {"Running": 1, "CrashLoopBackOff": 1, "Pending": 1}
    assert model.used["n1"] == [500, 128 * 2**20, 0] and model.pending == {"c"}
    summary = text(render.pod_summary_html(dict(model.by_status), 3))
    assert summary == "3 pods: 1 CrashLoopBackOff · 1 Pending · 1 Running"
    assert model.apply("DELETED", _pod("b", node="n1"))
    assert dict(model.by_status) == {"Running": 1, "Pending": 1} and model.used["n1"] == [250, 64 * 2**20, 0]
    assert not model.apply("MODIFIED", _pod("a", node="n1"))  # nothing the views show changed


def _records(n: int) -> list[PodRecord]:
    return [PodRecord(name=f"pod-{i:02d}", status="Running", cpu_m=100, mem=2**20) for i in range(n)]


def test_a_node_column_shows_at_most_max_chips_and_counts_the_rest():
    node = NodeRecord(name="whyk8s-worker", pool="cpu", cpu_m=4000, mem=16 * 2**30)
    column = render.node_column_html(node, _records(MAX_CHIPS + 12), (2000, 20 * 2**20, 0))
    assert column.count("class='whyk8s-chip'") == MAX_CHIPS
    assert "+ 12 more pods" in text(column)
    assert "requested 2000m/4000m CPU · 0.0/16 GiB" in text(column)
    few = render.node_column_html(node, _records(3), (300, 3 * 2**20, 0))
    assert few.count("class='whyk8s-chip'") == 3 and "more pods" not in few
    pending = render.pending_column_html(_records(MAX_CHIPS + 1))
    assert pending.count("class='whyk8s-chip'") == MAX_CHIPS and "+ 1 more pending" in text(pending)
    assert "none" in text(render.pending_column_html([]))


def test_taint_text_wraps_inside_its_column():
    """learner-ux #9: the GPU worker's taint ran over the next column. The taint sits in a <code>
    inside the node's column, and the style sheet lets exactly that wrap anywhere."""
    node = NodeRecord(name="whyk8s-worker3", pool="gpu", taints="nvidia.com/gpu=present:NoSchedule", gpus=4)
    column = render.node_column_html(node, [], (0, 0, 0))
    assert re.search(r"<div class='whyk8s-node'[^>]*>.*<code>nvidia\.com/gpu=present:NoSchedule</code>", column)
    rules = dict(re.findall(r"\.whyk8s-widget (\.whyk8s-node(?: code)?) \{([^}]*)\}", render.STYLE))
    assert "overflow-wrap:anywhere" in rules[".whyk8s-node code"]
    assert "white-space:normal" in rules[".whyk8s-node code"] and "word-break:break-all" in rules[".whyk8s-node code"]
    assert "max-width" in rules[".whyk8s-node"] and "overflow-wrap:anywhere" in rules[".whyk8s-node"]


def test_the_style_tells_the_reader_of_a_widget_whose_kernel_went_away():
    """learner-ux #8: ipywidgets adds the class jupyter-widgets-disconnected to a view's element when
    its kernel is gone (jupyterlab-manager: _comm_live_update); our widgets' element carries
    whyk8s-widget, so the note attaches to exactly those."""
    m = re.search(r"\.whyk8s-widget\.jupyter-widgets-disconnected::after \{content:\"([^\"]+)\"", render.STYLE)
    assert m, render.STYLE
    note = m.group(1).replace("\\\n", "")
    assert "lost its kernel" in note and "Run this cell again" in note and "from the top" in note
    assert ".whyk8s-widget.jupyter-widgets-disconnected .whyk8s-status {opacity" in render.STYLE
    assert render.STYLE.startswith("<style>") and render.STYLE.rstrip().endswith("</style>")


def test_by_node_lists_a_few_names_then_counts_and_sums_many_nodes_per_pool():
    workers = [NodeRecord(name=f"w{i:02d}", pool="cpu") for i in range(15)]
    cp = NodeRecord(name="cp", control_plane=True)
    pods_on = {"w00": ["b", "a"], "w01": [f"p{i}" for i in range(9)], "w14": ["x", "y"]}
    out = render.by_node_html([cp, *workers], pods_on, pending=2)
    assert "cp" not in re.findall(r"<b>(\w+)</b>", out)
    assert "w00 (cpu): a, b" in text(out) and "w01 (cpu): 9 pods" in text(out)
    assert "3 more cpu nodes: 2 pods" in text(out)
    assert "not scheduled: 2 pods" in text(out)


def test_replicasets_and_rollout_steps():
    rows = [{"replicaset": "web-old", "image": "pause:3.9", "revision": 1, "desired": 0, "ready": 0},
            {"replicaset": "web-new", "image": "pause:3.10", "revision": 2, "desired": 80, "ready": 60}]
    table = render.replicasets_html(rows)
    assert re.findall(r"<tr><td>(old|new)</td><td><code>([\w-]+)</code>", table) == [("old", "web-old"),
                                                                                     ("new", "web-new")]
    assert "█" * 50 in table and "█" * 51 not in table  # bars capped
    assert "No ReplicaSet yet" in render.replicasets_html([])
    steps = [(i / 10, 30 - i, i) for i in range(31)]
    drawn = render.rollout_steps_html(steps)
    assert drawn.count("<tr>") == 20 and "3.0 s" in drawn and "1.0 s" not in drawn  # the last 20 steps
    assert "0 old · 30 new ready" in text(drawn)
    assert render.rollout_steps_html([]) == ""
    assert text(render.scale_counts_html(3, 2, 1, 0)) == "desired 3 · running 2 · pending 1 · terminating 0"
    assert "no Deployment" in text(render.scale_counts_html(None, 0, 0, 0, gone=True))


def test_records_from_api_objects_carry_kubectls_columns_and_units():
    pod = _pod("crash", node="n1", status="CrashLoopBackOff")
    rec = render.pod_record(pod)
    assert (rec.status, rec.ready, rec.restarts, rec.node, rec.cpu_m, rec.mem, rec.app) == (
        "CrashLoopBackOff", "0/1", "2", "n1", 250, 64 * 2**20, "web")
    rec = render.pod_record(specs.pod("gpu", gpus=2))
    assert rec.gpus == 2 and rec.node == "" and rec.status == ""  # no status yet: kubectl prints nothing
    node = client.ApiClient().deserialize(json.dumps({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "w3", "labels": {"whyk8s.io/pool": "gpu"}},
        "spec": {"unschedulable": True, "taints": [
            {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]},
        "status": {"allocatable": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "4"},
                   "conditions": [{"type": "Ready", "status": "True"}]}}), "V1Node", "application/json")
    nrec = render.node_record(node)
    assert (nrec.pool, nrec.taints, nrec.cpu_m, nrec.gpus, nrec.ready, nrec.schedulable) == (
        "gpu", "nvidia.com/gpu=present:NoSchedule", 8000, 4, True, False)
    column = text(render.node_column_html(nrec, [], (0, 0, 0)))
    assert "cordoned" in column and "0/4 GPU" in column
