"""The node board (Nodes joining and leaving, live) and the pure logic behind it and the chapter's cost
argument (4d).

Unit tests need nothing; the ``karpenter`` tests run Karpenter with its kwok provider against the kwok
cluster's real API server, where Karpenter's Nodes are simulated by kwok.
"""

import math
import time
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from kubernetes import client

from whyk8s.k8s import objects
from whyk8s.lessons import gpu_pools
from whyk8s.notebook import html as render

from livewait import drop_watch_connections, text, wait_until

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
DEAD = "https://127.0.0.1:1"


def _node(name, ready=True, pool="", karpenter=False, gpus=0, itype="", created=T0, control_plane=False):
    labels = {}
    if pool:
        labels["whyk8s.io/pool"] = pool
    if karpenter:
        labels["karpenter.sh/nodepool"] = pool
    if itype:
        labels["node.kubernetes.io/instance-type"] = itype
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    return client.V1Node(metadata=client.V1ObjectMeta(name=name, labels=labels, creation_timestamp=created),
                         status=client.V1NodeStatus(allocatable={"nvidia.com/gpu": str(gpus)}, conditions=[
                             client.V1NodeCondition(type="Ready", status="True" if ready else "False")]))


def _at(seconds):
    return T0 + timedelta(seconds=seconds)


# -- NodeTracker ------------------------------------------------------------------------------------

def test_tracker_records_joined_ready_and_left_but_not_the_nodes_of_the_first_list():
    t = gpu_pools.NodeTracker()
    t.resync([_node("w1", pool="cpu"), _node("cp", control_plane=True)], _at(0))
    assert t.changes == [] and list(t.nodes) == ["w1"]
    new = _node("k1", ready=False, pool="gpu-burst", karpenter=True, gpus=4, itype="gpu-4x", created=_at(5))
    assert t.apply("ADDED", new, _at(5))
    assert t.apply("MODIFIED", _node("k1", pool="gpu-burst", karpenter=True, gpus=4, itype="gpu-4x"), _at(6))
    assert t.apply("DELETED", _node("k1", pool="gpu-burst", karpenter=True, gpus=4, itype="gpu-4x"), _at(50))
    assert [(c["node"], c["event"], c["at"]) for c in t.changes] == [
        ("k1", "joined", _at(5)), ("k1", "ready", _at(6)), ("k1", "left", _at(50))]
    assert t.changes[0] | {"at": None} == {"at": None, "node": "k1", "pool": "gpu-burst", "instance_type": "gpu-4x",
                                            "gpus": 4, "made_by": "karpenter", "event": "joined"}
    assert not t.apply("DELETED", _node("never-seen"), _at(51))  # nothing shown changed
    assert not t.apply("ADDED", _node("cp", control_plane=True), _at(52))


def test_a_node_ready_when_it_joins_is_one_change_and_a_second_ready_is_none():
    t = gpu_pools.NodeTracker()
    t.resync([], _at(0))
    t.apply("ADDED", _node("k1"), _at(1))
    t.apply("MODIFIED", _node("k1"), _at(2))
    assert [c["event"] for c in t.changes] == ["joined"]


def test_resync_after_an_outage_records_what_came_and_went_meanwhile():
    t = gpu_pools.NodeTracker()
    t.resync([_node("w1"), _node("k-old", karpenter=True, pool="gpu-burst")], _at(0))
    t.resync([_node("w1"), _node("k-new", karpenter=True, pool="gpu-burst")], _at(30))
    assert sorted((c["node"], c["event"]) for c in t.changes) == [("k-new", "joined"), ("k-old", "left")]
    assert set(t.nodes) == {"w1", "k-new"}


def test_tracker_keeps_only_the_last_changes():
    t = gpu_pools.NodeTracker(keep=3)
    t.resync([], _at(0))
    for i in range(5):
        t.apply("ADDED", _node(f"n{i}"), _at(i))
    assert [c["node"] for c in t.changes] == ["n2", "n3", "n4"]


def test_rows_put_the_layout_first_with_ages_from_now():
    t = gpu_pools.NodeTracker()
    t.resync([_node("k1", karpenter=True, pool="gpu-burst", created=_at(100)), _node("w2"), _node("w1")], _at(0))
    rows = t.rows(_at(130))
    assert [(r["node"], r["made_by"], r["age_s"]) for r in rows] == [
        ("w1", "layout", 130.0), ("w2", "layout", 130.0), ("k1", "karpenter", 30.0)]


# -- the renderers ------------------------------------------------------------------------------------

def test_node_board_html_shows_each_node_and_marks_karpenters():
    rows = [gpu_pools.node_row(_node("w<1>", pool="cpu"), _at(75)),
            gpu_pools.node_row(_node("k1", ready=False, pool="gpu-burst", karpenter=True, gpus=4, itype="gpu-4x",
                                     created=_at(70)), _at(75))]
    page = text(render.node_board_html(rows))
    assert page == ("node pool made by instance type GPUs status age w<1> cpu layout - 0 Ready 75s "
                    "k1 gpu-burst Karpenter gpu-4x 4 NotReady 5s")
    assert "<1>" not in render.node_board_html(rows)
    assert text(render.node_board_html([])) == "No worker node."


def test_node_changes_html_lists_the_newest_first_with_how_long_ago():
    changes = [{"at": _at(0), "node": "k1", "pool": "gpu-burst", "instance_type": "gpu-4x", "gpus": 4,
                "made_by": "karpenter", "event": "joined"},
               {"at": _at(45), "node": "k1", "pool": "gpu-burst", "instance_type": "gpu-4x", "gpus": 4,
                "made_by": "karpenter", "event": "left"}]
    assert text(render.node_changes_html(changes, _at(50))) == (
        "left k1 (4 GPU gpu-4x of pool gpu-burst) 5s ago joined k1 (4 GPU gpu-4x of pool gpu-burst) 50s ago")
    assert text(render.node_changes_html(changes, _at(50), limit=1)).startswith("left k1")
    assert "No node has joined or left" in text(render.node_changes_html([], _at(0)))


# -- the cost argument --------------------------------------------------------------------------------

def _life(*rows):
    return pd.DataFrame([{"node": n, "instance_type": it, "gpus": g, "joined_s": j, "left_s": left,
                          "lifetime_s": (left if left == left else 100.0) - j} for n, it, g, j, left in rows],
                        columns=["node", "instance_type", "gpus", "joined_s", "left_s", "lifetime_s"])


def test_peak_counts_overlapping_nodes_only():
    assert gpu_pools.peak_gpus(_life(("a", "gpu-1x", 1, 0, 10), ("b", "gpu-4x", 4, 5, 20))) == 5
    # one leaves exactly when the next joins: never both
    assert gpu_pools.peak_gpus(_life(("a", "gpu-1x", 1, 0, 10), ("b", "gpu-4x", 4, 10, 20))) == 4
    assert gpu_pools.peak_gpus(_life(("a", "gpu-4x", 4, 0, math.nan))) == 4
    assert gpu_pools.peak_gpus(_life()) == 0


def test_fixed_pool_of_the_peak_size_kept_for_the_period_against_the_elastic_one():
    # one gpu-4x (6 $/h in the course's list) for 900 s of a 3600 s period
    out = gpu_pools.compare_with_fixed_pool(_life(("a", "gpu-4x", 4, 100, 1000)), 3600)
    assert out["peak_gpus"] == 4 and out["period_h"] == 1.0
    assert out["elastic_gpu_hours"] == pytest.approx(1.0) and out["elastic_cost"] == pytest.approx(1.5)
    assert out["fixed_gpu_hours"] == pytest.approx(4.0) and out["fixed_cost"] == pytest.approx(6.0)
    assert out["saved_share"] == pytest.approx(0.75)
    # three GPUs at peak: the cheapest fixed pool is three gpu-1x (4.50 $/h), not a gpu-4x (6 $/h)
    three = gpu_pools.compare_with_fixed_pool(_life(("a", "gpu-1x", 1, 0, 10), ("b", "gpu-1x", 1, 0, 10),
                                                    ("c", "gpu-1x", 1, 0, 10)), 3600)
    assert three["fixed_cost"] == pytest.approx(4.5)
    assert gpu_pools.compare_with_fixed_pool(_life(), 60)["saved_share"] == 0.0
    with pytest.raises(ValueError, match="positive"):
        gpu_pools.compare_with_fixed_pool(_life(), 0)


# -- live, against Karpenter ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def karpenter_running(course_cluster):
    from whyk8s.cluster import karpenter
    started = gpu_pools.ensure_karpenter(course_cluster, log=lambda *_: None)
    yield
    if started:
        karpenter.stop(course_cluster, log=lambda *_: None)


@pytest.fixture
def pool(cluster, karpenter_running):
    gpu_pools.create_gpu_pool(cluster, consolidate_after="5s")
    yield cluster
    objects.cleanup(cluster)
    gpu_pools.delete_gpu_pool(cluster, timeout=150)


@pytest.fixture
def board(pool):
    from whyk8s.notebook.widgets import NodeBoard
    b = NodeBoard(pool)
    yield b
    b.close()


def _karpenter_rows(board):
    data = board.data()
    return data[data["made_by"] == "karpenter"]


@pytest.mark.karpenter
@pytest.mark.kwok
def test_a_node_karpenter_makes_shows_on_the_board_within_2_s_and_its_departure_too(pool, board):
    cluster = pool
    assert _karpenter_rows(board).empty and "No node has joined or left" in text(board.changes.value)
    objects.create(cluster, gpu_pools.gpu_job("board-1", gpus=1))
    assert wait_until(board, lambda: "Karpenter" in text(board.table.value), timeout=90), board.table.value
    shown = datetime.now(timezone.utc)
    node = _karpenter_rows(board)["node"].iloc[0]
    created = cluster.core.read_node(node).metadata.creation_timestamp  # whole seconds, API server's clock
    assert (shown - created).total_seconds() < 2 + 1, f"shown {shown - created} after the Node was created"
    row = _karpenter_rows(board).iloc[0]
    assert row["pool"] == "gpu-burst" and row["gpus"] >= 1 and row["instance_type"].startswith("gpu-")
    assert f"joined {node} ({row['gpus']} GPU {row['instance_type']} of pool gpu-burst)" in text(board.changes.value)
    assert wait_until(board, lambda: f"left {node}" in text(board.changes.value), timeout=150), board.changes.value
    assert _karpenter_rows(board).empty


@pytest.mark.karpenter
@pytest.mark.kwok
def test_the_board_says_an_outage_in_place_and_records_a_node_that_joined_meanwhile(pool, board):
    from whyk8s.cluster import karpenter
    from whyk8s.k8s.guard import connect
    cluster = pool
    own = connect(context=cluster.context)  # the test's own client: the board's is cut off below
    assert own.api is not cluster.api
    real = cluster.api.configuration.host
    try:
        cluster.api.configuration.host = DEAD
        assert drop_watch_connections(cluster) >= 1
        assert wait_until(board, lambda: "resyncs by itself" in text(board.status.value)), board.status.value
        # Karpenter has its own connection: it makes a Node while the board cannot see
        objects.create(own, gpu_pools.gpu_job("outage-1", gpus=1))
        deadline = time.monotonic() + 90
        while not karpenter.karpenter_nodes(own) and time.monotonic() < deadline:
            time.sleep(0.3)
        made = [n.metadata.name for n in karpenter.karpenter_nodes(own)]
        assert made, "Karpenter made no Node"
        assert "Karpenter" not in text(board.table.value)  # the board's watch is down
        cluster.api.configuration.host = real
        assert wait_until(board, lambda: "answers again" in text(board.status.value)), board.status.value
    finally:
        cluster.api.configuration.host = real
    assert wait_until(board, lambda: f"joined {made[0]}" in text(board.changes.value)), board.changes.value
    assert made[0] in set(_karpenter_rows(board)["node"])


@pytest.mark.kwok
def test_off_the_kwok_route_the_chapter_says_so_in_place_and_later_cells_show_that_sentence(cluster, monkeypatch,
                                                                                             capsys):
    """As on kind: the connected cluster is not the course's kwok cluster, so Karpenter's kwok provider
    cannot run there. (Here the course's cluster name is changed, so the connected context is no longer it.)"""
    from whyk8s.errors import ClusterUnreachableError
    from whyk8s.notebook.display import karpenter_cluster
    monkeypatch.setenv("WHYK8S_CLUSTER", "another-course-cluster")
    offline, started = karpenter_cluster(cluster)
    said = capsys.readouterr().out
    assert "runs Karpenter on the kwok route only" in said and "whyk8s cluster up --provider kwok" in said
    assert not offline and started is False
    with pytest.raises(ClusterUnreachableError, match="kwok route only"):
        gpu_pools.create_gpu_pool(offline)


def test_packing_names_the_jobs_each_karpenter_node_held_with_its_list_price():
    life = _life(("k-big", "gpu-4x", 4, 1, 40), ("k-small", "gpu-1x", 1, 2, 41))
    ran_on = {"train-2": "k-big", "train-1": "k-big", "solo": "k-small", "elsewhere": "whyk8s-worker3"}
    assert gpu_pools.packing(life, ran_on).to_dict("records") == [
        {"instance_type": "gpu-4x", "gpus": 4, "price_per_hour": 6.0, "jobs": "train-1, train-2"},
        {"instance_type": "gpu-1x", "gpus": 1, "price_per_hour": 1.5, "jobs": "solo"}]
