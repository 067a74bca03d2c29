"""The queue board (Kueue's ClusterQueues and Workloads, live) and the pure functions behind it.

Unit tests need nothing; the ``kueue`` tests run Kueue's real manager against the kwok cluster's real
API server (kwok simulates only the nodes). On kwok a Job's pod succeeds the moment it runs, so a Job
that must keep its quota is *held* (a scheduling gate) until the test releases it.
"""

import time

import pytest

from whyk8s.k8s import objects
from whyk8s.k8s.informer import ListWatch, object_key, resource_version
from whyk8s.lessons import queueing
from whyk8s.notebook import html as render

from livewait import drop_watch_connections, text, wait_until

DEAD = "https://127.0.0.1:1"


# -- pure logic -------------------------------------------------------------------------------------
def _cq(name, gpus_nominal, used=None, borrowed=None, cohort="whyk8s", active=True):
    status = {"conditions": [{"type": "Active", "status": "True" if active else "False",
                              "reason": "Ready" if active else "FlavorNotFound",
                              "message": "ok" if active else "references missing ResourceFlavor(s): gpu"}]}
    if used is not None:
        status["flavorsUsage"] = [{"name": "gpu", "resources": [
            {"name": "nvidia.com/gpu", "total": str(used), "borrowed": str(borrowed or 0)}]}]
    return {"metadata": {"name": name}, "spec": {"cohortName": cohort, "resourceGroups": [
        {"coveredResources": ["nvidia.com/gpu"], "flavors": [
            {"name": "gpu", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": str(gpus_nominal)}]}]}]},
        "status": status}


def _lq(ns, name, cq):
    return {"metadata": {"namespace": ns, "name": name}, "spec": {"clusterQueue": cq}}


def _wl(ns, job, created, *conditions, cq=""):
    status = {"conditions": [{"type": t, "status": s, "reason": r, "message": m,
                              "lastTransitionTime": at} for t, s, r, m, at in conditions]}
    if cq:
        status["admission"] = {"clusterQueue": cq, "podSetAssignments": [{"flavors": {"nvidia.com/gpu": "gpu"}}]}
    return {"metadata": {"namespace": ns, "name": f"job-{job}", "creationTimestamp": created,
                         "ownerReferences": [{"name": job, "controller": True}]},
            "spec": {"queueName": "team-queue"}, "status": status}


ADMITTED = ("Admitted", "True", "Admitted", "", "2026-01-01T00:00:05Z")
FINISHED = ("Finished", "True", "Succeeded", "", "2026-01-01T00:00:03Z")
WAITING = ("QuotaReserved", "False", "Pending", "insufficient unused quota for nvidia.com/gpu", "2026-01-01T00:00:01Z")
EVICTED = ("Evicted", "True", "Preempted", "Preempted to accommodate a workload", "2026-01-01T00:00:02Z")


def test_board_counts_each_state_per_cluster_queue_and_reads_borrowing_from_the_status():
    cqs = [_cq("team-b", 2, used=0), _cq("team-a", 2, used=3, borrowed=1)]
    lqs = [_lq("team-a", "team-queue", "team-a"), _lq("team-b", "team-queue", "team-b")]
    wls = [_wl("team-a", "one", "2026-01-01T00:00:00Z", ADMITTED, cq="team-a"),
           _wl("team-a", "two", "2026-01-01T00:00:01Z", FINISHED, ADMITTED, cq="team-a"),
           _wl("team-a", "three", "2026-01-01T00:00:02Z", WAITING),  # pending: counted via its LocalQueue
           _wl("team-b", "four", "2026-01-01T00:00:03Z", ("QuotaReserved", "True", "", "", "x"), cq="team-b")]
    board = queueing.board_from_objects(cqs, lqs, wls).set_index("cluster_queue")
    assert list(board.index) == ["team-a", "team-b"]  # sorted by name
    assert board.loc["team-a", ["pending", "admitted", "finished"]].tolist() == [1, 1, 1]
    assert board.loc["team-a", ["nominal", "used", "borrowed", "unit"]].tolist() == [2.0, 3.0, 1.0, "GPUs"]
    assert board.loc["team-b", ["pending", "admitted"]].tolist() == [0, 1]  # reserved counts as admitted


def test_waiting_reasons_give_the_eviction_before_the_pending_message():
    wls = [_wl("team-a", "victim", "2026-01-01T00:00:00Z", WAITING, EVICTED),
           _wl("team-a", "late", "2026-01-01T00:00:09Z", WAITING),
           _wl("team-a", "running", "2026-01-01T00:00:01Z", ADMITTED, cq="team-a")]
    reasons = queueing.waiting_reasons(wls)
    assert [(r["job"], r["reason"]) for r in reasons] == [("victim", "Preempted"), ("late", "Pending")]
    assert "insufficient unused quota" in reasons[1]["message"]


def test_queue_problems_name_an_inactive_queue_only():
    problems = queueing.queue_problems([_cq("team-a", 2), _cq("team-b", 2, active=False)])
    assert len(problems) == 1 and "team-b" in problems[0] and "FlavorNotFound" in problems[0]


def test_admission_delay_is_read_from_the_two_conditions():
    done = _wl("ns", "a", "t", FINISHED)
    nxt = _wl("ns", "b", "t", ADMITTED)
    assert queueing.admission_delay(done, "Finished", nxt) == 2.0
    with pytest.raises(ValueError, match="no Admitted"):
        queueing.admission_delay(nxt, "Admitted", done)


def test_preemption_and_priority_specs_refuse_what_kueue_would():
    spec = queueing.with_preemption(queueing.cluster_queue_spec("team-a", {"gpu": {"nvidia.com/gpu": 2}}),
                                    reclaim_within_cohort="Any", within_cluster_queue="Never")
    assert spec["spec"]["preemption"] == {"reclaimWithinCohort": "Any", "withinClusterQueue": "Never"}
    with pytest.raises(ValueError, match="reclaimWithinCohort"):
        queueing.with_preemption(spec, reclaim_within_cohort="Always")
    assert queueing.workload_priority_class_spec("whyk8s-high", 1000)["value"] == 1000
    with pytest.raises(ValueError, match="32-bit"):
        queueing.workload_priority_class_spec("huge", 2**31)
    with pytest.raises(ValueError, match="course"):
        queueing.apply_cluster_queue(None, {"metadata": {"name": "x"}, "spec": {}})


def test_board_html_shows_borrowing_problems_and_escapes():
    rows = queueing.board_from_objects([_cq("team-<a>", 2, used=3, borrowed=1)], [], []).to_dict("records")
    page = text(render.queue_board_html(rows, ["ClusterQueue x admits nothing"]))
    assert "team-<a>" in page and "nvidia.com/gpu: 3 of 2 GPUs (borrowed 1 GPUs)" in page
    assert page.startswith("⚠ ClusterQueue x admits nothing")
    assert "<a>" not in render.queue_board_html(rows)
    assert text(render.queue_board_html([])) == "No ClusterQueue of the course yet."
    waiting = text(render.waiting_html([{"job": "j", "namespace": "ns", "queue": "q", "reason": "Pending",
                                         "message": "insufficient"}]))
    assert waiting == "Waiting (1) j (ns/q) Pending: insufficient"


def test_the_list_then_watch_mechanism_keys_custom_resources_given_as_dicts():
    obj = {"metadata": {"namespace": "team-a", "name": "w", "resourceVersion": "7"}}
    assert object_key(obj) == "team-a/w" and resource_version(obj) == "7"
    assert object_key({"metadata": {"name": "cq"}}) == "cq"
    lw = ListWatch(lambda **_: {"metadata": {"resourceVersion": "9"}, "items": [obj]})
    assert lw.relist() == [("ADDED", obj)] and lw.resource_version == "9"


# -- against the real API server and the real Kueue ----------------------------------------------------
@pytest.fixture(scope="module")
def kueue_running(course_cluster):
    from whyk8s.cluster import kueue
    kueue.start(course_cluster, log=lambda *_: None)
    yield
    kueue.stop(course_cluster, log=lambda *_: None)


@pytest.fixture
def queues(cluster, kueue_running):
    queueing.resource_flavors(cluster)
    queueing.workload_priority_classes(cluster)
    yield cluster
    objects.cleanup(cluster)
    queueing.delete_queues(cluster)
    queueing.delete_priority_classes(cluster)


@pytest.fixture
def board(queues):
    from whyk8s.notebook.widgets import QueueBoard
    b = QueueBoard(queues)
    yield b
    b.close()


def _row(board, cq, resource="nvidia.com/gpu") -> dict:
    data = board.data()
    rows = data[(data["cluster_queue"] == cq) & (data["resource"] == resource)].to_dict("records")
    return rows[0] if rows else {}


def _held(name, gpus=1, priority="whyk8s-low"):
    return queueing.queued_job(name, "team-queue", cpu=1, memory="1Gi", gpus=gpus, held=True,
                               labels={queueing.PRIORITY_LABEL: priority})




@pytest.mark.kueue
@pytest.mark.kwok
def test_a_job_admitted_after_quota_frees_shows_as_admitted_on_the_board_within_3_s(queues, board):
    cluster = queues
    queueing.cluster_queue(cluster, "team-q", {"gpu": {"cpu": 4, "memory": "8Gi", "nvidia.com/gpu": 1}}, cohort=None)
    queueing.local_queue(cluster, "team-q", "team-q")
    objects.create(cluster, _held("first"), namespace="team-q")
    assert wait_until(board, lambda: _row(board, "team-q").get("admitted") == 1), board.data()
    objects.create(cluster, _held("second"), namespace="team-q")
    assert wait_until(board, lambda: _row(board, "team-q").get("pending") == 1), board.data()
    assert wait_until(board, lambda: "insufficient unused quota" in text(board.waiting.value)), board.waiting.value
    assert [r["job"] for r in board.waiting_reasons()] == ["second"]
    released = time.monotonic()
    assert queueing.release(cluster, "first", "team-q") == 1

    def shown_admitted():  # what the learner sees: the drawn table and waiting list
        return ("No Workload is waiting" in text(board.waiting.value)
                and "team-q cohort" not in text(board.table.value)
                and text(board.table.value).startswith("ClusterQueue pending admitted finished flavor")
                and "team-q 0 1 1 gpu" in text(board.table.value)
                and "nvidia.com/gpu: 1 of 1 GPUs" in text(board.table.value))

    assert wait_until(board, shown_admitted, timeout=30), (board.table.value, board.waiting.value)
    shown = time.monotonic() - released  # finish (kwok) + Kueue's admission + the watch + the draw
    assert shown < 3, f"the board showed the admission {shown:.1f} s after the quota was freed"


@pytest.mark.kueue
@pytest.mark.kwok
def test_the_board_shows_borrowed_quota_and_a_preempted_workload_waiting(queues, board):
    cluster = queues
    for team in ("team-a", "team-b"):
        queueing.apply_cluster_queue(cluster, queueing.with_preemption(queueing.cluster_queue_spec(
            team, {"gpu": {"cpu": 4, "memory": "8Gi", "nvidia.com/gpu": 2}})))
        queueing.local_queue(cluster, team, team)
    for i in range(3):
        objects.create(cluster, _held(f"sweep-{i}"), namespace="team-a")
    assert wait_until(board, lambda: "nvidia.com/gpu: 3 of 2 GPUs (borrowed 1 GPUs)" in text(board.table.value)), \
        (board.data(), board.table.value)
    assert _row(board, "team-a")["borrowed"] == 1.0
    objects.create(cluster, _held("urgent", gpus=2, priority="whyk8s-high"), namespace="team-b")
    assert wait_until(board, lambda: _row(board, "team-b").get("admitted") == 1
                      and _row(board, "team-a").get("pending") == 1), board.data()
    assert wait_until(board, lambda: "Preempted" in text(board.waiting.value)
                      and _row(board, "team-a")["borrowed"] == 0.0), (board.data(), board.waiting.value)
    assert [r["reason"] for r in board.waiting_reasons()] == ["Preempted"]


@pytest.mark.kueue
@pytest.mark.kwok
def test_the_board_says_an_outage_in_place_and_resyncs_by_itself(queues, board):
    cluster = queues
    queueing.cluster_queue(cluster, "team-o", {"gpu": {"cpu": 4, "memory": "8Gi", "nvidia.com/gpu": 1}}, cohort=None)
    queueing.local_queue(cluster, "team-o", "team-o")
    assert wait_until(board, lambda: _row(board, "team-o")), board.data()
    real = cluster.api.configuration.host
    try:
        cluster.api.configuration.host = DEAD
        assert drop_watch_connections(cluster) >= 1
        assert wait_until(board, lambda: "resyncs by itself" in text(board.status.value)), board.status.value
        cluster.api.configuration.host = real
        assert wait_until(board, lambda: "answers again" in text(board.status.value)), board.status.value
    finally:
        cluster.api.configuration.host = real
    objects.create(cluster, _held("after-outage"), namespace="team-o")
    assert wait_until(board, lambda: _row(board, "team-o").get("admitted") == 1), board.data()


@pytest.mark.kueue
@pytest.mark.kwok
def test_without_kueue_the_board_says_so_in_place_and_retry_connects(cluster):
    from whyk8s.cluster import kueue
    from whyk8s.notebook.widgets import QueueBoard
    kueue.stop(cluster, log=lambda *_: None)
    b = QueueBoard(cluster)
    try:
        assert not b.connected
        assert "Kueue's manager is not running" in text(b.panel.value) and b.retry_button in b.children
        kueue.start(cluster, log=lambda *_: None)
        assert b.retry(cluster) and "No ClusterQueue of the course yet" in text(b.table.value)
    finally:
        b.close()


@pytest.mark.kwok
def test_off_the_kwok_route_the_chapter_says_so_in_place_and_later_cells_show_that_sentence(cluster, monkeypatch,
                                                                                             capsys):
    """As on kind: the connected cluster is not the course's kwok cluster, so Kueue cannot run there.
    (Here the course's cluster name is changed, so the connected kwok context is no longer it.)"""
    from whyk8s.errors import ClusterUnreachableError
    from whyk8s.notebook.display import kueue_cluster
    monkeypatch.setenv("WHYK8S_CLUSTER", "another-course-cluster")
    offline, started = kueue_cluster(cluster)
    said = capsys.readouterr().out
    assert "runs Kueue on the kwok route only" in said and "whyk8s cluster up --provider kwok" in said
    assert not offline and started is False
    with pytest.raises(ClusterUnreachableError, match="kwok route only"):
        _ = offline.namespace  # what a later cell does: the notebook's handler shows this as the panel
