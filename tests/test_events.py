"""EventRecorder and pending_reason against the real API server (kwok simulates only the nodes)."""

import re
import threading
import time

import matplotlib

matplotlib.use("Agg")

from whyk8s.k8s import objects, specs
from whyk8s.lessons.events import EventRecorder, normalise_names, pending_reason


def _until(recorder, predicate, timeout=30):
    """Wait (bounded) until ``predicate(recorder.events)`` holds, woken by the recorder's own hook."""
    ev = threading.Event()
    recorder.on_record.append(lambda _r: ev.set())
    deadline = time.monotonic() + timeout
    while True:
        ev.clear()
        if predicate(list(recorder.events)):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ev.wait(min(left, 1.0))


def _has(events, what, obj_prefix=""):
    return any(e["what"] == what and e["object"].startswith(obj_prefix) for e in events)


def test_old_events_are_skipped_and_self_healing_is_recorded(cluster):
    objects.create(cluster, specs.pod("before"))
    # wait until the earlier pod's own Scheduled event exists, so it is "old" for the recorder
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not cluster.core.list_namespaced_event(
            cluster.namespace, field_selector="involvedObject.name=before,reason=Scheduled").items:
        time.sleep(0.3)
    rec = EventRecorder(cluster).start()
    try:
        objects.create(cluster, specs.deployment("web", replicas=3))
        assert _until(rec, lambda es: sum(e["what"] == "Running" for e in es) >= 3), rec.events
        victim = sorted(p for p in (e["object"] for e in rec.events) if p.startswith("pod/web-"))[0]
        objects.delete_pod(cluster, victim.split("/", 1)[1])
        assert _until(rec, lambda es: _has(es, "Deleted", victim) and
                      sum(e["what"] == "SuccessfulCreate" for e in es) >= 4), rec.events
    finally:
        assert rec.stop(5)
    recorded = {e["object"] for e in rec.events}
    assert "pod/before" not in recorded, "an event from before start() was recorded"
    assert {"Scheduled", "SuccessfulCreate", "ScalingReplicaSet", "Created", "Running", "Deleted"} <= \
        {e["what"] for e in rec.events}
    for e in rec.events:
        assert set(e) == {"t", "object", "what", "detail"} and isinstance(e["t"], float) and e["t"] >= 0

    stable = rec.timeline_records()
    pods = [o for o in dict.fromkeys(e["object"] for e in stable) if o.startswith("pod/")]
    assert pods == ["pod/web-1", "pod/web-2", "pod/web-3", "pod/web-4"]
    assert [e["t"] for e in stable] == sorted(e["t"] for e in stable)
    # no random hash is left anywhere, neither in recorded nor in details
    raw = {o.split("/", 1)[1] for o in recorded if o.startswith(("pod/web-", "replicaset/web-"))}
    text = " ".join(e["object"] + " " + e["detail"] for e in stable)
    assert raw and not any(name in text for name in raw)
    assert "replicaset/web-rs1" in {e["object"] for e in stable}
    ax = rec.plot("self-healing")
    assert [t.get_text() for t in ax.get_yticklabels()][:1] == [stable[0]["object"]]


def test_pending_reason_names_the_missing_resource(cluster):
    objects.create(cluster, specs.pod("greedy", gpus=9))  # the GPU node has 4
    objects.create(cluster, specs.pod("small"))
    deadline = time.monotonic() + 30
    reason = ""
    while time.monotonic() < deadline:
        reason = pending_reason(cluster, "greedy")
        if "nvidia.com/gpu" in reason:
            break
        time.sleep(0.3)
    assert "Insufficient nvidia.com/gpu" in reason
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not cluster.core.read_namespaced_pod("small", cluster.namespace).spec.node_name:
        time.sleep(0.3)
    assert pending_reason(cluster, "small") == ""


def test_stop_on_idle_namespace_is_quick(cluster):
    rec = EventRecorder(cluster).start()
    time.sleep(1)
    started = time.monotonic()
    assert rec.stop(5)
    assert time.monotonic() - started < 5
    assert not rec.running


def test_recorder_reports_a_lost_cluster_once(cluster):
    real = cluster.api.configuration.host
    rec = EventRecorder(cluster, read_timeout=2).start()
    try:
        cluster.api.configuration.host = "https://127.0.0.1:1"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not rec.errors:
            time.sleep(0.2)
        assert rec.errors and "did not answer" in rec.errors[0]
    finally:
        cluster.api.configuration.host = real
        rec.stop()


def test_normalise_names_is_stable_and_leaves_chosen_names():
    recs = [
        {"t": 0.1, "object": "replicaset/web-6d4cf56db6", "what": "SuccessfulCreate", "detail": "Created pod: web-6d4cf56db6-x2b4q"},
        {"t": 0.2, "object": "pod/web-6d4cf56db6-x2b4q", "what": "Scheduled", "detail": "Successfully assigned whyk8s/web-6d4cf56db6-x2b4q to n1"},
        {"t": 0.3, "object": "pod/web-6d4cf56db6-kz9wp", "what": "Scheduled", "detail": ""},
        {"t": 0.4, "object": "pod/hello-world", "what": "Scheduled", "detail": "hello-world"},
        {"t": 0.5, "object": "pod/train-7xq2z", "what": "Created", "detail": "train-7xq2z"},
    ]
    out = normalise_names(recs, {"train-7xq2z": "train"})
    assert [r["object"] for r in out] == ["replicaset/web-rs1", "pod/web-1", "pod/web-2", "pod/hello-world", "pod/train-1"]
    assert out[0]["detail"] == "Created pod: web-1"
    assert out[1]["detail"] == "Successfully assigned whyk8s/web-1 to n1"
    assert out[3]["detail"] == "hello-world"
    assert not re.search(r"x2b4q|kz9wp|6d4cf56db6", str(out))
    assert recs[0]["object"] == "replicaset/web-6d4cf56db6"  # input untouched
