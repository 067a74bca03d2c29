"""Watch the course's pods with :class:`kubernetes.watch.Watch` and hand events to callbacks.

:class:`PodWatcher` lists the labelled pods, then watches from the list's resourceVersion on a
background thread. Server-side watch windows are short (``window`` seconds), so stop() returns within
seconds even on an idle namespace; each window resumes from the last resourceVersion seen; a client
read timeout (a dead connection) is treated as a normal reconnect; HTTP 410 Gone (a compacted
resourceVersion) triggers a fresh list. Callbacks run on the watcher thread: they must not print into
notebook cells (update widget values instead).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from kubernetes import client, watch

from whyk8s.errors import explain
from whyk8s.guard import Cluster

__all__ = ["PodWatcher", "PodEvent"]

log = logging.getLogger(__name__)

#: A callback receives (event_type, pod): event_type is "ADDED", "MODIFIED", "DELETED" or "SYNC"
#: ("SYNC" delivers each pod of a fresh list; ``pod`` is then a V1Pod as well).
PodEvent = Callable[[str, client.V1Pod], None]


class PodWatcher:
    """Watch the course pods of ``cluster.namespace`` (label ``app.kubernetes.io/part-of=whyk8s``).

    Parameters: ``cluster`` (:class:`~whyk8s.guard.Cluster`), ``on_event`` callback(s) receiving
    ``(type, V1Pod)``, ``on_error`` callback receiving one readable sentence when the cluster goes
    away (the watcher keeps retrying every ``retry_delay`` seconds, and calls ``on_sync`` with the
    full pod list when it is back), ``window`` (server-side watch timeout, seconds),
    ``read_timeout`` (client read timeout, seconds; normally above ``window``: if it
    expires first, e.g. on a dead connection, the watcher reconnects from the last resourceVersion).

    ``pods`` holds the current pods by name (a dict, updated before callbacks run).
    """

    def __init__(self, cluster: Cluster, on_event: PodEvent | None = None,
                 on_sync: Callable[[list], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 window: int = 2, read_timeout: float = 10, retry_delay: float = 1.0,
                 label_selector: str | None = None) -> None:
        self.cluster = cluster
        self.on_event = on_event
        self.on_sync = on_sync
        self.on_error = on_error
        self.window = window
        self.read_timeout = read_timeout
        self.retry_delay = retry_delay
        self.label_selector = label_selector or cluster.selector
        self.pods: dict[str, client.V1Pod] = {}
        self.resource_version: str | None = None
        self.relists = 0
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: watch.Watch | None = None
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "PodWatcher":
        """Start the background thread (a no-op if already running). Returns self."""
        with self._lock:
            if self.running:
                return self
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="whyk8s-pod-watcher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> bool:
        """Ask the thread to end and wait up to ``timeout`` seconds; True if it ended."""
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- work -------------------------------------------------------------------------------
    def _notify(self, kind: str, pod) -> None:
        if self.on_event is None:
            return
        for cb in (self.on_event if isinstance(self.on_event, (list, tuple)) else [self.on_event]):
            try:
                cb(kind, pod)
            except Exception:  # a bad callback must not kill the watcher
                log.exception("pod watcher callback failed")

    def relist(self) -> None:
        """List the pods now and reset :attr:`pods` and :attr:`resource_version` from the list."""
        listing = self.cluster.core.list_namespaced_pod(
            self.cluster.namespace, label_selector=self.label_selector, _request_timeout=self.read_timeout)
        self.pods = {p.metadata.name: p for p in listing.items}
        self.resource_version = listing.metadata.resource_version
        self.relists += 1
        for p in listing.items:
            self._notify("SYNC", p)
        if self.on_sync is not None:
            try:
                self.on_sync(list(self.pods.values()))
            except Exception:
                log.exception("pod watcher sync callback failed")

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                if self.resource_version is None:
                    self.relist()
                if failing:
                    failing = False
                self._watch_window()
            except client.ApiException as exc:
                if exc.status == 410:  # Gone: our resourceVersion was compacted away
                    self.resource_version = None
                    continue
                failing = self._report(exc, failing)
            except Exception as exc:  # connection refused, read timeout, ...
                name = type(exc).__name__
                if "ReadTimeout" in name or "timed out" in str(exc):
                    self.reconnects += 1  # a dead/idle connection: reopen from where we were
                    continue
                failing = self._report(exc, failing)

    def _report(self, exc: BaseException, failing: bool) -> bool:
        self.resource_version = None  # relist when the cluster is back
        if not failing and self.on_error is not None:
            try:
                self.on_error(explain(exc))
            except Exception:
                log.exception("pod watcher error callback failed")
        self._stop.wait(self.retry_delay)
        return True

    def _watch_window(self) -> None:
        self._watch = w = watch.Watch()
        stream = w.stream(
            self.cluster.core.list_namespaced_pod, self.cluster.namespace,
            label_selector=self.label_selector, resource_version=self.resource_version,
            timeout_seconds=self.window, allow_watch_bookmarks=True,
            _request_timeout=self.read_timeout,
        )
        try:
            for event in stream:
                if self._stop.is_set():
                    break
                kind = event["type"]
                obj = event["object"]
                if kind == "ERROR":
                    raw = event.get("raw_object") or {}
                    if raw.get("code") == 410:
                        self.resource_version = None
                        return
                    raise client.ApiException(status=raw.get("code"), reason=raw.get("message"))
                self.resource_version = obj.metadata.resource_version
                if kind == "BOOKMARK":
                    continue
                if kind == "DELETED":
                    self.pods.pop(obj.metadata.name, None)
                else:
                    self.pods[obj.metadata.name] = obj
                self._notify(kind, obj)
        finally:
            w.stop()
        # kubernetes.watch keeps the newest resourceVersion; carry it to the next window.
        if w.resource_version and self.resource_version is not None:
            self.resource_version = w.resource_version
