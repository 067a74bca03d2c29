"""The recorded runs in ``data/recordings/`` are what the course's code produces now.

Each recording is regenerated on the course cluster by its scenario (``whyk8s.notebook.recordings``,
the same code ``python -m whyk8s.notebook.recordings refresh`` runs) and compared with the committed
file: tables exactly (columns, rows, caption), timelines by structure (each object's sequence of
steps; times ignored). When one differs, run the refresh and look at the new file.

The ``kind-…`` recordings are made on kind (they need containers that run): their fresh runs, and
the check that they are committed, carry the ``containers`` marker (skipped unless
WHYK8S_PROVIDER=kind; ``make test-kind`` runs them). On kwok, ``record`` refuses them.

The node-failure scenario (``ch4-drain`` and ``ch4-fail-node``) waits for the pod garbage
collector's 40 s quarantine (40 to 80 s in all); it runs as its own test, which is also the suite's
test of ``failures.fail_node`` (so it runs once), and ``-k "not node_failure"`` leaves it out.
The pure helpers are unit-tested here too.
"""

from __future__ import annotations

import json

import pytest

from whyk8s.lessons.events import STEPS
from whyk8s.notebook import recordings

NODE_FAILURE = ["ch4-drain", "ch4-fail-node"]
KIND = [n for n in recordings.SCENARIOS if recordings.provider_of(n) == "kind"]
QUICK = [n for n in recordings.SCENARIOS if n not in NODE_FAILURE and n not in KIND]
COMMITTED = {p.stem for p in recordings.recordings_dir().glob("*.json")}


def test_every_committed_recording_has_a_scenario_and_every_kwok_scenario_is_committed():
    assert COMMITTED <= set(recordings.SCENARIOS), sorted(COMMITTED - set(recordings.SCENARIOS))
    assert set(recordings.SCENARIOS) - set(KIND) <= COMMITTED


def test_the_kind_scenarios_are_those_of_the_running_containers_chapter():
    assert KIND == ["kind-crash-loop", "kind-logs", "kind-image-pull", "kind-service-requests", "kind-node-loss"]


@pytest.mark.containers
@pytest.mark.parametrize("name", KIND)
def test_kind_recording_is_committed(name):
    assert name in COMMITTED, (f"run `python -m whyk8s.notebook.recordings refresh {' '.join(KIND)}` on the course's "
                               f"kind cluster and commit data/recordings/")


@pytest.mark.parametrize("name", sorted(recordings.SCENARIOS))
def test_committed_recordings_use_the_timeline_vocabulary(name):
    if name not in COMMITTED:
        pytest.skip(f"{name} is made on kind and not committed yet (test_kind_recording_is_committed fails on kind)")
    rec = recordings.load(name)
    assert rec["provider"] == recordings.provider_of(name) and rec["caption"]
    if rec["kind"] == "events":
        assert rec["events"], name
        assert [e for e in rec["events"] if e["what"] in STEPS], f"{name} has no step of events.STEPS"
        assert [e["t"] for e in rec["events"]] == sorted(e["t"] for e in rec["events"]), "not in time order"
    else:
        assert rec["rows"] and all(len(r) == len(rec["columns"]) for r in rec["rows"])


@pytest.mark.kwok
@pytest.mark.parametrize("name", QUICK)
def test_recording_matches_a_fresh_run(cluster, name):
    fresh = recordings.record([name], cluster)[name]
    json.dumps(fresh)  # what refresh would write is plain JSON
    assert recordings.differences(fresh, recordings.load(name)) == []


@pytest.mark.containers
@pytest.mark.parametrize("name", [n for n in KIND if n != "kind-logs"])  # kind-crash-loop makes kind-logs too
def test_kind_recording_matches_a_fresh_run(cluster, name):
    fresh = recordings.record([name, "kind-logs"] if name == "kind-crash-loop" else [name], cluster)
    if name == "kind-crash-loop":
        log = fresh["kind-logs"]["rows"]
        assert ["loading model weights from /models/bert.bin"] in log and ["error: No such file or directory"] in log
    for made in fresh.values():
        json.dumps(made)
        assert made["provider"] == "kind"
        assert recordings.differences(made, recordings.load(made["name"])) == []


@pytest.mark.kwok
def test_on_kwok_record_refuses_a_kind_scenario(cluster):
    from whyk8s.errors import CourseError
    with pytest.raises(CourseError, match="kind-image-pull is made on kind"):
        recordings.record(["kind-image-pull"], cluster)


@pytest.mark.kwok
def test_node_failure_recordings_match_a_fresh_run_and_the_lost_pods_are_replaced(cluster):
    """The one run of ``failures.fail_node`` in the test suite (chapter 4's notebook runs it again
    under nbval): the recordings match, and what they recorded is the lesson — the Deployment's
    pods move off a drained node, then a deleted node's pods are deleted by the pod garbage
    collector and each is replaced, created before it is scheduled, on the node that is left."""
    fresh = recordings.record(NODE_FAILURE, cluster)
    assert [d for name in NODE_FAILURE for d in recordings.differences(fresh[name], recordings.load(name))] == []
    table = fresh["ch4-drain"]
    after = [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]
             if row[0] == "after deleting whyk8s-worker2"]
    assert [(r["node"], r["pods"]) for r in after] == [("whyk8s-worker", 4)]
    timeline = fresh["ch4-fail-node"]["events"]
    assert {e["what"] for e in timeline} <= set(STEPS)
    assert (timeline[0]["object"], timeline[0]["what"], timeline[0]["t"]) == ("node/whyk8s-worker2", "Deleted", 0.0)
    pods = {e["object"] for e in timeline if e["object"].startswith("pod/")}
    deleted = {p for p in pods if [e["what"] for e in timeline if e["object"] == p] == ["Deleted"]}
    replaced = {p for p in pods if [e["what"] for e in timeline if e["object"] == p] == ["Created", "Scheduled"]}
    assert len(deleted) == len(replaced) == 4 and deleted | replaced == pods
    first_gone = min(e["t"] for e in timeline if e["object"] in deleted)
    # the old pods go first, then their replacements come (the ReplicaSet reacts to the deletions)
    assert first_gone <= min(e["t"] for e in timeline if e["object"] in replaced) + 1, timeline
    # not before the garbage collector's 40 s quarantine: its clock belongs to the node's name, and
    # fail_node first waits out one begun before the node was last re-created (seen without that: 18.9 s)
    assert first_gone >= 39, timeline


# -- the comparison itself (pure) -----------------------------------------------------------------------
def _e(obj, what, t=0.0):
    return {"t": t, "object": obj, "what": what, "detail": ""}


def test_structure_ignores_times_generated_numbers_and_event_reasons():
    a = [_e("deployment/web", "Created", 0.1), _e("pod/web-1", "Created", 0.2), _e("pod/web-2", "Created", 0.3),
         _e("pod/web-1", "Running", 0.5), _e("pod/web-2", "Running", 0.6), _e("pod/web-2", "Deleted", 1.0),
         _e("job/x", "Completed", 1.1)]
    b = [_e("deployment/web", "Created", 3), _e("pod/web-1", "Created", 4), _e("pod/web-2", "Created", 4),
         _e("pod/web-2", "Running", 5), _e("pod/web-1", "Running", 5), _e("pod/web-1", "Deleted", 9)]
    assert recordings.timeline_structure(a) == recordings.timeline_structure(b) == {
        "deployment/web": [("Created",)], "pod": [("Created", "Running"), ("Created", "Running", "Deleted")]}


def test_structure_differs_when_a_step_is_missing_or_reordered():
    base = [_e("research/pod/sweep-4", "Preempted"), _e("research/pod/sweep-4", "Deleted"),
            _e("node/whyk8s-worker2", "Deleted")]
    missing = base[:1] + base[2:]
    reordered = [base[1], base[0], base[2]]
    other_node = base[:2] + [_e("node/whyk8s-worker", "Deleted")]
    for changed in (missing, reordered, other_node):
        assert recordings.timeline_structure(changed) != recordings.timeline_structure(base)


def test_differences_compare_tables_exactly_and_timeline_captions_without_numbers():
    table = {"name": "t", "kind": "table", "caption": "c", "columns": ["a"], "rows": [[1]]}
    assert recordings.differences(table, dict(table)) == []
    assert recordings.differences({**table, "rows": [[2]]}, table) == ["t: rows now [[2]], committed [[1]]"]
    events = {"name": "e", "kind": "events", "caption": "gone after about 41 s", "events": [_e("pod/a", "Created")]}
    assert recordings.differences({**events, "caption": "gone after about 47 s"}, events) == []
    assert recordings.differences({**events, "events": []}, events) == [
        "e: pod/a steps now None, committed [('Created',)]"]


def test_table_facts_are_compared_instead_of_rows_and_the_provider_must_agree():
    table = {"name": "k", "kind": "table", "caption": "gaps 10, 20", "provider": "kind", "columns": ["t"],
             "rows": [[1.5]], "facts": {"back-off grew": True}}
    assert recordings.differences({**table, "rows": [[2.0], [3.1]], "caption": "gaps 11, 23"}, table) == []
    assert recordings.differences({**table, "facts": {"back-off grew": False}}, table) == [
        "k: facts now {'back-off grew': False}, committed {'back-off grew': True}"]
    assert recordings.differences({**table, "provider": "kwok"}, table) == [
        "k: made on kwok now, on kind in the committed file"]


def test_a_missing_kind_recording_says_how_to_make_it(monkeypatch, tmp_path):
    monkeypatch.setattr(recordings, "recordings_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="refresh kind-service-requests.*--provider kind"):
        recordings.load("kind-service-requests")


def test_save_refuses_an_unknown_provider(monkeypatch, tmp_path):
    monkeypatch.setattr(recordings, "recordings_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match="Unknown provider"):
        recordings.save("x", "table", {"columns": [], "rows": []}, "c", provider="docker")


def test_record_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="No scenario for ch9-nothing"):
        recordings.record(["ch9-nothing"])


def test_the_label_names_the_kubernetes_version_a_recording_was_made_on():
    """Review T5: a recorded run says which Kubernetes made it; one made before versions were recorded
    keeps the plain label rather than a guessed version."""
    table = {"kind": "table", "columns": [], "rows": [], "caption": "c"}
    assert recordings._label({**table, "provider": "kwok", "kubernetes": "v1.36.1"}).startswith(
        "Recorded run on the course's kwok cluster (Kubernetes v1.36.1; kwok simulates the nodes")
    assert recordings._label({**table, "provider": "kind", "kubernetes": "v1.36.1"}).startswith(
        "Recorded run on the course's kind cluster (Kubernetes v1.36.1): real containers ran")
    assert "Kubernetes" not in recordings._label({**table, "provider": "kwok"})
    assert recordings.differences({**table, "kubernetes": "v1.37.0"}, {**table, "kubernetes": "v1.36.1"}) == [
        "None: made on Kubernetes v1.37.0 now, on v1.36.1 in the committed file"]
    assert recordings.differences({**table, "kubernetes": "v1.36.1"}, table) == []


def test_save_writes_the_version_and_load_reads_it(monkeypatch, tmp_path):
    monkeypatch.setattr(recordings, "recordings_dir", lambda: tmp_path)
    recordings.save("x", "table", {"columns": ["a"], "rows": [[1]]}, "c", kubernetes="v1.36.1")
    assert recordings.load("x")["kubernetes"] == "v1.36.1"
    recordings.save("y", "table", {"columns": ["a"], "rows": [[1]]}, "c")
    assert "kubernetes" not in recordings.load("y")


@pytest.mark.kwok
def test_a_fresh_recording_carries_the_api_servers_version(cluster):
    from kubernetes import client

    fresh = recordings.record(["start-here-nodes"], cluster)["start-here-nodes"]
    assert fresh["kubernetes"] == client.VersionApi(cluster.api).get_code().git_version
    assert f"(Kubernetes {fresh['kubernetes']};" in recordings._label(fresh)
