"""EventRecorder against the real API server (kwok simulates only the nodes): a timeline in causal
order (perf review's last target, learner-ux #3), nothing from before start(), one outage reported
once; and one legend for every chart (live, recorded)."""

from __future__ import annotations

import re
import threading
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from whyk8s.k8s import objects, specs  # noqa: E402
from whyk8s.k8s.informer import ListWatch  # noqa: E402
from whyk8s.k8s.waits import wait_for_pods  # noqa: E402
from whyk8s.lessons.events import STEPS, EventRecorder, normalise_names  # noqa: E402
from whyk8s.notebook.charts import OTHER_STYLE, TIMELINE_STYLES  # noqa: E402

from livewait import drop_watch_connections  # noqa: E402


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


def _index(records, obj, what):
    """Position of the first record ``what`` about ``obj`` (None if there is none)."""
    return next((i for i, r in enumerate(records) if r["object"] == obj and r["what"] == what), None)


def _running(n):
    return lambda pods: len(pods) == n and all(p.status.phase == "Running" for p in pods.values())


def test_self_healing_is_recorded_in_causal_order_and_nothing_from_before(cluster):
    objects.create(cluster, specs.pod("before"))
    wait_for_pods(cluster, lambda ps: "before" in ps and ps["before"].status.phase == "Running")
    rec = EventRecorder(cluster).start()
    try:
        objects.create(cluster, specs.deployment("web", replicas=3))
        assert _until(rec, lambda es: sum(e["what"] == "Running" for e in es) >= 3), rec.events
        victim = sorted(e["object"] for e in rec.events if e["object"].startswith("pod/web-"))[0]
        objects.delete_pod(cluster, victim.split("/", 1)[1])
        assert _until(rec, lambda es: _index(es, victim, "Deleted") is not None and
                      sum(e["what"] == "Running" for e in es) >= 4), rec.events
    finally:
        assert rec.stop(5)
    assert all(set(e) == {"t", "rv", "object", "what", "detail"} for e in rec.events)
    records = rec.ordered()  # the order things happened in (rec.events: the order the watches delivered)
    assert not any(e["object"] == "pod/before" for e in records), "a pod from before start() was recorded"
    for e in records:
        assert isinstance(e["t"], float) and e["t"] >= 0 and isinstance(e["rv"], int) and e["rv"] > 0
    assert [e["t"] for e in records] == sorted(e["t"] for e in records)
    assert [e["rv"] for e in records] == sorted(e["rv"] for e in records)

    # causes before effects: the Deployment, then its ReplicaSet, then each pod; Scheduled before Running
    dep = _index(records, "deployment/web", "Created")
    replicasets = [e["object"] for e in records if e["object"].startswith("replicaset/") and e["what"] == "Created"]
    assert dep is not None and len(replicasets) == 1
    rs = _index(records, replicasets[0], "Created")
    assert dep < rs
    pods = list(dict.fromkeys(e["object"] for e in records if e["object"].startswith("pod/web-")))
    assert len(pods) == 4
    for pod in pods:
        created, scheduled, running = (_index(records, pod, w) for w in ("Created", "Scheduled", "Running"))
        assert None not in (created, scheduled, running), (pod, records)
        assert rs < created < scheduled < running, (pod, records)
    assert _index(records, victim, "Terminating") is not None or _index(records, victim, "Deleted") is not None
    # the steps' vocabulary, and where containers run (kind) the kubelet's container events
    assert {e["what"] for e in records} <= set(STEPS) | {"Pulling", "Pulled", "Started"}, records
    for pod in pods:  # one Created per pod: the kubelet's container "Created" event is not a second one
        assert sum(e["object"] == pod and e["what"] == "Created" for e in records) == 1, (pod, records)

    stable = rec.timeline_records()
    assert [o for o in dict.fromkeys(e["object"] for e in stable) if o.startswith("pod/")] == \
        ["pod/web-1", "pod/web-2", "pod/web-3", "pod/web-4"]
    raw = {o.split("/", 1)[1] for o in {e["object"] for e in records} if o.startswith(("pod/web-", "replicaset/web-"))}
    text = " ".join(e["object"] + " " + e["detail"] for e in stable)
    assert raw and not any(name in text for name in raw)  # no random hash is left anywhere
    assert "replicaset/web-rs1" in {e["object"] for e in stable}


def _capture(cluster, act, settled):
    """The real watch events of Deployments, ReplicaSets and pods (label app=web) while ``act()``
    runs, until ``settled()``: a list per collection, each in the order its own watch delivered it."""
    sel = f"{cluster.selector},app=web"
    lws = {"deployment": ListWatch(cluster.apps.list_namespaced_deployment, cluster.namespace,
                                   label_selector=cluster.selector, field_selector="metadata.name=web"),
           "replicaset": ListWatch(cluster.apps.list_namespaced_replica_set, cluster.namespace, label_selector=sel),
           "pod": ListWatch(cluster.core.list_namespaced_pod, cluster.namespace, label_selector=sel)}
    for lw in lws.values():
        lw.relist()
    act()
    settled()
    captured = {}
    for kind, lw in lws.items():
        events = []
        lw.run(on_change=lambda k, o, events=events: events.append((k, o)), deadline=time.monotonic() + 0.7)
        captured[kind] = events
    return captured


def test_changes_delivered_before_their_causes_are_recorded_after_them(cluster):
    """Each collection has its own watch, so under load the pod watch may deliver a pod before the
    ReplicaSet watch delivers the ReplicaSet that created it (the learner's chart showed pods created
    before the Deployment scaled its ReplicaSet). Deliver the real changes in the worst order — every
    pod change first, then the ReplicaSets', then the Deployment's —: the timeline must still read
    Deployment → ReplicaSet → pod, because it is ordered by the resourceVersion each change was
    stored at, not by arrival."""
    rec = EventRecorder(cluster)  # not started: the test is the watch, delivering in its own order
    created = _capture(cluster, lambda: objects.create(cluster, specs.deployment("web", replicas=1)),
                       lambda: wait_for_pods(cluster, _running(1), label_selector="app=web"))
    for kind, handler in (("pod", rec._on_pod), ("replicaset", rec._on_replicaset), ("deployment", rec._on_deployment)):
        for change, obj in created[kind]:
            handler(change, obj)
    arrival = [(e["object"].split("/")[0], e["what"]) for e in rec.events]
    assert arrival[0] == ("pod", "Created")  # the worst order really was delivered
    steps = [(e["object"].split("/")[0], e["what"]) for e in rec.timeline_records()]
    assert steps[:3] == [("deployment", "Created"), ("replicaset", "Created"), ("pod", "Created")], steps
    assert steps.index(("pod", "Scheduled")) < steps.index(("pod", "Running"))
    assert [t["t"] for t in rec.timeline_records()] == sorted(t["t"] for t in rec.timeline_records())

    mark = len(rec.events)
    scaled = _capture(cluster, lambda: objects.scale(cluster, "web", 2),
                      lambda: wait_for_pods(cluster, _running(2), label_selector="app=web"))
    for kind, handler in (("pod", rec._on_pod), ("replicaset", rec._on_replicaset), ("deployment", rec._on_deployment)):
        for change, obj in scaled[kind]:
            handler(change, obj)
    later = rec.timeline_records()[mark:]
    steps = [(e["object"].split("/")[0], e["what"]) for e in later]
    assert steps[:3] == [("deployment", "Scaled"), ("replicaset", "Scaled"), ("pod", "Created")], steps
    assert steps.count(("replicaset", "Scaled")) == 1 and steps.count(("deployment", "Scaled")) == 1


def test_an_older_state_delivered_late_is_not_a_step(cluster):
    """Within one resource a larger resourceVersion is a later state (KEP-5504): an older state of an
    object the recorder has seen newer is ignored, not recorded as a change back."""
    objects.create(cluster, specs.deployment("web", replicas=1))
    old = cluster.apps.read_namespaced_deployment("web", cluster.namespace)
    rec = EventRecorder(cluster)
    rec._remember(old)
    objects.scale(cluster, "web", 2)
    new = cluster.apps.read_namespaced_deployment("web", cluster.namespace)
    rec._on_deployment("MODIFIED", new)
    rec._on_deployment("MODIFIED", old)
    assert [(r["what"], r["detail"]) for r in rec.events] == [
        ("Scaled", "Deployment web now wants 2 replicas (was 1).")]


def test_scaling_and_a_new_template_are_steps_of_the_deployment_and_replicaset(cluster):
    objects.create(cluster, specs.deployment("web", replicas=1))
    wait_for_pods(cluster, _running(1), label_selector="app=web")
    with EventRecorder(cluster) as rec:
        objects.scale(cluster, "web", 2)
        assert _until(rec, lambda es: sum(e["what"] == "Running" for e in es) >= 1)
        objects.set_image(cluster, "web", "registry.k8s.io/pause:3.9")
        assert _until(rec, lambda es: any(e["what"] == "Updated" for e in es) and
                      sum(e["object"].startswith("replicaset/") and e["what"] == "Created" for e in es) == 1)
    # the order things happened in (by resourceVersion): two watches may deliver a few ms apart the
    # other way round on a busy machine (CI saw the ReplicaSet's Created before the Deployment's Updated)
    whats = [(e["object"].split("/")[0], e["what"]) for e in rec.ordered()]
    assert ("deployment", "Scaled") in whats and ("replicaset", "Scaled") in whats
    assert ("deployment", "Updated") in whats
    assert whats.index(("deployment", "Scaled")) < whats.index(("replicaset", "Scaled"))
    assert whats.index(("deployment", "Updated")) < whats.index(("replicaset", "Created"))


def test_stop_on_idle_namespace_is_quick(cluster):
    rec = EventRecorder(cluster).start()
    started = time.monotonic()
    assert rec.stop(5)
    assert time.monotonic() - started < 5
    assert not rec.running


def test_recorder_reports_a_lost_cluster_once(cluster):
    from whyk8s.k8s.informer import shared_informer
    real = cluster.api.configuration.host
    rec = EventRecorder(cluster).start()
    errors, got = [], threading.Condition()

    def on_error(sentence):  # a second subscriber of the recorder's own pod watch
        with got:
            errors.append(sentence)
            got.notify_all()

    pods = shared_informer(cluster.core.list_namespaced_pod, cluster.namespace, label_selector=cluster.selector)
    sub = pods.subscribe(on_error=on_error)
    try:
        cluster.api.configuration.host = "https://127.0.0.1:1"
        assert drop_watch_connections(cluster) >= 4  # deployments, replicasets, pods, events
        with got:
            assert got.wait_for(lambda: errors, 20), "no outage was reported"
            assert not got.wait_for(lambda: len(errors) > 1, 3), "reported again on a retry"
        assert rec.errors and set(rec.errors) == {errors[0]} and "did not answer" in errors[0]
        assert len(rec.errors) <= 4  # at most once per watched collection
    finally:
        cluster.api.configuration.host = real
        sub.close()
        rec.stop()


def test_normalise_names_is_stable_and_leaves_chosen_names():
    recs = [
        {"t": 0.1, "object": "replicaset/web-6d4cf56db6", "what": "Created",
         "detail": "Created pod: web-6d4cf56db6-x2b4q"},
        {"t": 0.2, "object": "pod/web-6d4cf56db6-x2b4q", "what": "Scheduled",
         "detail": "Successfully assigned whyk8s/web-6d4cf56db6-x2b4q to n1"},
        {"t": 0.3, "object": "pod/web-6d4cf56db6-kz9wp", "what": "Scheduled", "detail": ""},
        {"t": 0.4, "object": "pod/hello-world", "what": "Scheduled", "detail": "hello-world"},
        {"t": 0.5, "object": "pod/train-7xq2z", "what": "Created", "detail": "train-7xq2z"},
    ]
    out = normalise_names(recs, {"train-7xq2z": "train"})
    assert [r["object"] for r in out] == ["replicaset/web-rs1", "pod/web-1", "pod/web-2", "pod/hello-world",
                                          "pod/train-1"]
    assert out[0]["detail"] == "Created pod: web-1"
    assert out[1]["detail"] == "Successfully assigned whyk8s/web-1 to n1"
    assert out[3]["detail"] == "hello-world"
    assert not re.search(r"x2b4q|kz9wp|6d4cf56db6", str(out))
    assert recs[0]["object"] == "replicaset/web-6d4cf56db6"  # input untouched


# -- one legend ------------------------------------------------------------------------------------
def _styles(ax) -> dict[str, tuple]:
    """Legend label → (marker path vertices, face colour) of each scatter series drawn on ``ax``."""
    import numpy as np
    out = {}
    for coll in ax.collections:
        path = coll.get_paths()[0]
        out[coll.get_label()] = (np.round(path.vertices, 6).tobytes(), tuple(np.round(coll.get_facecolor()[0], 6)))
    return out


def test_every_step_has_its_own_marker_and_colour():
    assert set(STEPS) <= set(TIMELINE_STYLES)
    pairs = list(TIMELINE_STYLES.values())
    assert len(set(pairs)) == len(pairs), "two steps share a marker and a colour"
    assert OTHER_STYLE not in pairs


def test_a_live_plot_and_its_recording_draw_each_step_alike(cluster, tmp_path, monkeypatch):
    """learner-ux #3: the same marker and colour mean the same step in the live chart and in the
    recorded one (EventRecorder.plot, and recordings.save → recordings.show)."""
    from whyk8s.notebook import charts, recordings
    objects.create(cluster, specs.deployment("web", replicas=2))
    wait_for_pods(cluster, _running(2), label_selector="app=web")
    with EventRecorder(cluster) as rec:
        objects.scale(cluster, "web", 3)
        assert _until(rec, lambda es: any(e["what"] == "Running" for e in es))
        objects.delete_pod(cluster, sorted(wait_for_pods(cluster, _running(3), label_selector="app=web"))[0])
        assert _until(rec, lambda es: any(e["what"] == "Deleted" for e in es))
    live_ax = rec.plot("live")
    live = _styles(live_ax)
    assert {"Scaled", "Created", "Scheduled", "Running", "Deleted"} <= set(live)

    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "layout.yaml").write_text("{}\n")
    monkeypatch.setenv("WHYK8S_HOME", str(tmp_path))
    recordings.save("test-timeline", "events", {"events": rec.timeline_records()}, "a test run")
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    before = set(plt.get_fignums())
    recordings.show("test-timeline")
    (shown,) = [plt.figure(n) for n in set(plt.get_fignums()) - before]
    recorded = _styles(shown.axes[0])
    assert recorded == live
    # and both use the one table of styles
    ref_ax = charts.plot_timeline([{"t": 0, "object": "x", "what": w} for w in live], "")
    assert _styles(ref_ax) == live
    for fig in {live_ax.figure, shown, ref_ax.figure}:
        plt.close(fig)
