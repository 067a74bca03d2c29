"""The one list-then-watch mechanism against the real API server: shared/cases watch-idle, watch-gone,
watch-stop, an outage, and one shared watch per collection. Waits are bounded and woken by the
informer's own callbacks (no sleep-polling)."""

import threading
import time

import pytest

from whyk8s.k8s import objects, specs
from whyk8s.k8s.informer import Informer, ListWatch, shared_informer


def _informer_threads(name="whyk8s-informer-list_namespaced_pod"):
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


class Waiter:
    """Collects callbacks and lets a test wait (bounded) for a condition on them."""

    def __init__(self):
        self.cond = threading.Condition()
        self.events, self.syncs, self.errors = [], [], []

    def on_event(self, kind, obj):
        with self.cond:
            self.events.append((kind, obj.metadata.name))
            self.cond.notify_all()

    def on_sync(self, objs):
        with self.cond:
            self.syncs.append(sorted(o.metadata.name for o in objs))
            self.cond.notify_all()

    def on_error(self, sentence):
        with self.cond:
            self.errors.append(sentence)
            self.cond.notify_all()

    def wait(self, predicate, timeout=20):
        with self.cond:
            return self.cond.wait_for(predicate, timeout)


def pod_informer(cluster, **kwargs):
    return Informer(cluster.core.list_namespaced_pod, cluster.namespace, label_selector=cluster.selector,
                    name="whyk8s-test-informer", **kwargs)


def test_idle_watch_reopens_after_read_timeout_and_still_sees_deletion(cluster):
    """watch-idle: with a 1 s client read timeout the idle watch times out and reopens from its
    resourceVersion, as a normal reconnect: no error reaches the subscriber, the deletion does."""
    objects.create(cluster, specs.pod("idle"))
    inf = pod_informer(cluster, read_timeout=1)
    seen = Waiter()
    inf.subscribe(seen.on_event, seen.on_sync, seen.on_error)
    inf.prime()
    inf.start()
    try:
        deadline = time.monotonic() + 15
        while inf.lw.reconnects < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert inf.lw.reconnects >= 2, "the client read timeout never fired"
        relists = inf.lw.relists
        objects.delete_pod(cluster, "idle")
        assert seen.wait(lambda: ("DELETED", "idle") in seen.events)
        assert "idle" not in {o.metadata.name for o in inf.items.values()}
        assert seen.errors == [] and inf.lw.relists == relists  # reconnected from its resourceVersion
    finally:
        assert inf.stop(5)


def test_compacted_resource_version_lists_again_and_matches_kubectl(cluster):
    """watch-gone: a watch from a resourceVersion the API server no longer holds (410 Gone) lists
    again and goes on. The API server's watch cache forgets a collection's old resourceVersions as
    its events age out; on a young cluster it may still hold resourceVersion 1 for pods, but not for
    the node leases, which kwok renews every few seconds."""
    from kubernetes import client, watch

    ns = "kube-node-lease"  # read only
    try:
        for _ in watch.Watch().stream(cluster.coordination.list_namespaced_lease, ns, resource_version="1",
                                      timeout_seconds=1):
            pass
    except client.ApiException as exc:
        assert exc.status == 410, exc
    else:
        pytest.skip("this API server still serves resourceVersion 1 of the leases (a cluster younger than "
                    "about two minutes): there is no compacted resourceVersion to watch from yet")
    changes = []
    lw = ListWatch(cluster.coordination.list_namespaced_lease, ns)
    lw.relist()
    lw.resource_version = "1"  # long gone: the API server answers 410 Gone
    lw.run(on_change=lambda kind, obj: changes.append((kind, obj.metadata.name)), done=lambda: lw.relists >= 2,
           deadline=time.monotonic() + 20)
    listed = {lease.metadata.name for lease in cluster.coordination.list_namespaced_lease(ns).items}
    assert lw.relists == 2 and lw.resource_version not in (None, "1")
    workers = {"whyk8s-worker", "whyk8s-worker2", "whyk8s-worker3", "whyk8s-worker4"}
    assert {o.metadata.name for o in lw.items.values()} == listed
    assert listed - {"whyk8s-control-plane"} == workers  # kind's control plane is a Node too
    assert not lw.failing and {kind for kind, _ in changes} <= {"MODIFIED"}  # at most renewed meanwhile


def test_stop_on_an_idle_namespace_returns_at_once_with_a_long_window(cluster):
    """watch-stop: the server window is 30–60 minutes; stop() shuts the socket, it does not wait."""
    inf = pod_informer(cluster)
    seen = Waiter()
    inf.subscribe(seen.on_event, seen.on_sync, seen.on_error)
    inf.prime()
    inf.start()
    objects.create(cluster, specs.pod("proof"))  # its ADDED event proves the watch is streaming
    assert seen.wait(lambda: ("ADDED", "proof") in seen.events)
    started = time.monotonic()
    assert inf.stop(timeout=5)
    assert time.monotonic() - started < 2
    inf.start()
    inf.start()
    try:
        assert len(_informer_threads("whyk8s-test-informer")) == 1
    finally:
        inf.stop()
    assert _informer_threads("whyk8s-test-informer") == []


def test_outage_is_reported_once_then_the_informer_resyncs(cluster):
    """The API server goes away (a dead port), then comes back: one sentence, then a fresh list."""
    real_host = cluster.api.configuration.host
    inf = pod_informer(cluster, read_timeout=2, max_retry_delay=0.5)
    seen = Waiter()
    inf.subscribe(seen.on_event, seen.on_sync, seen.on_error)
    inf.prime()
    try:
        cluster.api.configuration.host = "https://127.0.0.1:1"
        inf.lw.resource_version = None  # the next request goes to the dead port
        inf.start()
        assert seen.wait(lambda: seen.errors)
        assert "did not answer" in seen.errors[0]
        syncs = len(seen.syncs)
        assert not seen.wait(lambda: len(seen.errors) > 1, timeout=2)  # reported once, not per retry
        cluster.api.configuration.host = real_host
        assert seen.wait(lambda: len(seen.syncs) > syncs), "the informer did not resync"
        objects.create(cluster, specs.pod("after-outage"))
        assert seen.wait(lambda: ("ADDED", "after-outage") in seen.events)
    finally:
        cluster.api.configuration.host = real_host
        inf.stop()


def test_views_of_one_collection_share_one_watch(cluster):
    """Several subscribers of the same collection make one watch request, not one each."""
    api = cluster.core.list_namespaced_pod
    first = shared_informer(api, cluster.namespace, label_selector=cluster.selector)
    second = shared_informer(api, cluster.namespace, label_selector=cluster.selector)
    other = shared_informer(api, cluster.namespace, label_selector=cluster.selector + ",app=x")
    assert first is second and first is not other
    a, b = Waiter(), Waiter()
    sub_a = first.subscribe(a.on_event, a.on_sync)
    first.prime()
    first.start()
    sub_b = second.subscribe(b.on_event, b.on_sync)
    try:
        assert b.syncs == [[]]  # a late subscriber gets the current state at once
        objects.create(cluster, specs.pod("shared"))
        assert a.wait(lambda: ("ADDED", "shared") in a.events)
        assert b.wait(lambda: ("ADDED", "shared") in b.events)
        assert first.lw.relists == 1 and first.lw.requests <= 3
        sub_a.close()
        assert first.running  # b still watches
    finally:
        sub_b.close()
    assert not first.running
    assert shared_informer(api, cluster.namespace, label_selector=cluster.selector) is not first
