"""The watcher's resilience cases from shared/cases (watch-idle, watch-gone, watch-stop)."""

import threading
import time

from whyk8s.k8s import objects, specs
from whyk8s.k8s.informer import PodWatcher


def _watcher_threads():
    return [t for t in threading.enumerate() if t.name == "whyk8s-pod-watcher" and t.is_alive()]


def test_idle_watch_reconnects_and_still_sees_deletion(cluster):
    objects.create(cluster, specs.pod("idle"))
    deleted = threading.Event()
    watcher = PodWatcher(cluster, window=30, read_timeout=1,
                         on_event=lambda k, p: deleted.set() if k == "DELETED" and p.metadata.name == "idle" else None)
    watcher.start()
    try:
        deadline = time.monotonic() + 15
        while watcher.reconnects < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert watcher.reconnects >= 2, "the client read timeout never fired"
        objects.delete_pod(cluster, "idle")
        assert deleted.wait(15)
        assert "idle" not in watcher.pods
    finally:
        watcher.stop()


def test_compacted_resource_version_relists(cluster):
    objects.create(cluster, specs.pod("a"))
    watcher = PodWatcher(cluster)
    watcher.resource_version = "1"  # long compacted away: the API server answers 410 Gone
    watcher.start()
    try:
        deadline = time.monotonic() + 15
        while watcher.relists < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert watcher.relists >= 1
        objects.create(cluster, specs.pod("b"))
        deadline = time.monotonic() + 15
        while set(watcher.pods) != {"a", "b"} and time.monotonic() < deadline:
            time.sleep(0.2)
        listed = {p.metadata.name for p in cluster.core.list_namespaced_pod(
            cluster.namespace, label_selector=cluster.selector).items}
        assert set(watcher.pods) == listed == {"a", "b"}
    finally:
        watcher.stop()


def test_stop_on_idle_namespace_is_quick_and_restart_leaves_one(cluster):
    watcher = PodWatcher(cluster).start()
    time.sleep(1)
    started = time.monotonic()
    assert watcher.stop(timeout=5)
    assert time.monotonic() - started < 5
    watcher.start()
    watcher.start()
    try:
        assert len(_watcher_threads()) == 1
    finally:
        watcher.stop()
    assert _watcher_threads() == []


def test_cluster_going_away_is_reported_once_then_recovers(cluster):
    """Point the watcher at a dead port, then back: one error sentence, then a fresh sync."""
    errors, syncs = [], []
    real_host = cluster.api.configuration.host
    watcher = PodWatcher(cluster, on_error=errors.append, on_sync=syncs.append, retry_delay=0.2,
                         read_timeout=2)
    cluster.api.configuration.host = "https://127.0.0.1:1"
    watcher.start()
    try:
        deadline = time.monotonic() + 20
        while not errors and time.monotonic() < deadline:
            time.sleep(0.2)
        assert errors and "did not answer" in errors[0]
        time.sleep(1)
        assert len(errors) == 1  # reported once, not on every retry
        cluster.api.configuration.host = real_host
        deadline = time.monotonic() + 20
        while not syncs and time.monotonic() < deadline:
            time.sleep(0.2)
        assert syncs, "the watcher did not recover"
    finally:
        cluster.api.configuration.host = real_host
        watcher.stop()


def test_wait_until_gone_returns_when_the_last_labelled_pod_is_deleted(cluster):
    from whyk8s.k8s.informer import wait_until_gone
    for name in ("gone-1", "gone-2"):
        objects.create(cluster, specs.pod(name))
    timer = threading.Timer(1.5, lambda: [objects.delete_pod(cluster, n) for n in ("gone-1", "gone-2")])
    timer.start()
    try:
        left = wait_until_gone(cluster.core.list_namespaced_pod, cluster.namespace,
                               label_selector=cluster.selector, deadline=time.monotonic() + 30)
    finally:
        timer.join()
    assert left == set()
    assert cluster.core.list_namespaced_pod(cluster.namespace, label_selector=cluster.selector).items == []


def test_wait_until_gone_names_what_is_left_at_the_deadline_and_sees_newcomers(cluster):
    from whyk8s.k8s.informer import wait_until_gone
    objects.create(cluster, specs.pod("stays"))
    seen = []
    timer = threading.Timer(0.5, lambda: objects.create(cluster, specs.pod("newcomer")))
    timer.start()
    try:
        left = wait_until_gone(cluster.core.list_namespaced_pod, cluster.namespace,
                               label_selector=cluster.selector, deadline=time.monotonic() + 3,
                               on_present=lambda pod: seen.append(pod.metadata.name))
    finally:
        timer.join()
    assert left == {"stays", "newcomer"}
    assert seen == ["stays", "newcomer"]
