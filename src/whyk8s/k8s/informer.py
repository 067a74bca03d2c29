"""Watch objects of the course with :class:`kubernetes.watch.Watch` on a background thread.

:class:`WatchLoop` lists one collection, then watches it from the list's resourceVersion. Server-side
watch windows are short (``window`` seconds), so :meth:`WatchLoop.stop` returns within seconds even
on an idle namespace; each window resumes from the last resourceVersion seen; a client read timeout
(an idle or dead connection) is a normal reconnect; HTTP 410 Gone (a compacted resourceVersion)
triggers a fresh list; when the API server stops answering, ``on_error`` gets one sentence and the
loop lists again once it is back. :class:`PodWatcher` is a WatchLoop on the course's pods.

Callbacks run on the watch thread: they must not print into notebook cells (update widget values
instead; shared/cases "thread-output"). Sources: kubernetes.io, "API Concepts" (efficient detection
of changes: watch, resourceVersion, 410 Gone).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from kubernetes import client, watch

from whyk8s.errors import explain
from whyk8s.k8s.guard import Cluster

__all__ = ["WatchLoop", "PodWatcher", "PodEvent", "watch_until", "wait_until_gone"]

log = logging.getLogger(__name__)

#: A callback receives (event_type, pod): event_type is "ADDED", "MODIFIED", "DELETED" or "SYNC"
#: ("SYNC" delivers each pod of a fresh list).
PodEvent = Callable[[str, client.V1Pod], None]


class WatchLoop:
    """List, then watch, one collection of objects on a background thread.

    ``list_fn`` is a list function of the official client (e.g. ``cluster.core.list_namespaced_pod``)
    called with ``args``/``kwargs`` (e.g. namespace, ``label_selector``). Callbacks run on the watch
    thread: ``on_event(type, obj)`` for ADDED/MODIFIED/DELETED, ``on_list(items)`` after each (re)list,
    ``on_error(sentence)`` once when the API server stops answering (the loop retries every
    ``retry_delay`` seconds and lists again when it is back). ``window`` is the server-side watch
    timeout and ``read_timeout`` the client read timeout, both in seconds.

    :meth:`prime` lists synchronously (raising :class:`kubernetes.client.ApiException` or a
    connection error) so that a caller knows the watch starts from *now*.
    """

    def __init__(self, list_fn: Callable, *args, on_event: Callable | None = None,
                 on_list: Callable | None = None, on_error: Callable[[str], None] | None = None,
                 window: int = 2, read_timeout: float = 10, retry_delay: float = 1.0,
                 name: str = "whyk8s-watch", **kwargs) -> None:
        self.list_fn, self.args, self.kwargs = list_fn, args, kwargs
        self.on_event, self.on_list, self.on_error = on_event, on_list, on_error
        self.window, self.read_timeout, self.retry_delay, self.name = window, read_timeout, retry_delay, name
        self.resource_version: str | None = None
        self.items: dict[str, object] = {}
        self.failing = False
        self.relists = 0
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: watch.Watch | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def prime(self) -> list:
        """List now; remember the items and the list's resourceVersion; call ``on_list``."""
        listing = self.list_fn(*self.args, **self.kwargs, _request_timeout=self.read_timeout)
        self.items = {o.metadata.name: o for o in listing.items}
        self.resource_version = listing.metadata.resource_version
        self.relists += 1
        if self.on_list is not None:
            self._call(self.on_list, list(listing.items))
        return listing.items

    def start(self) -> "WatchLoop":
        """Start the thread (no-op if running). Lists first on the thread if :meth:`prime` was not called."""
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> bool:
        """Ask the thread to end; wait up to ``timeout`` seconds. True if it ended."""
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @staticmethod
    def _call(fn, *args) -> None:
        try:
            fn(*args)
        except Exception:  # a bad callback must not kill the loop
            log.exception("watch callback failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.resource_version is None:
                    self.prime()
                self.failing = False
                self._window()
            except client.ApiException as exc:
                if exc.status == 410:
                    self.resource_version = None
                    continue
                self._fail(exc)
            except Exception as exc:  # connection refused, read timeout, ...
                if "ReadTimeout" in type(exc).__name__ or "timed out" in str(exc):
                    self.reconnects += 1  # an idle or dead connection: reopen from the last resourceVersion
                    continue
                self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        self.resource_version = None
        if not self.failing and self.on_error is not None:
            self._call(self.on_error, explain(exc))
        self.failing = True
        self._stop.wait(self.retry_delay)

    def _window(self) -> None:
        self._watch = w = watch.Watch()
        try:
            for event in w.stream(self.list_fn, *self.args, **self.kwargs,
                                  resource_version=self.resource_version, timeout_seconds=self.window,
                                  allow_watch_bookmarks=True, _request_timeout=self.read_timeout):
                if self._stop.is_set():
                    break
                kind, obj = event["type"], event["object"]
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
                    self.items.pop(obj.metadata.name, None)
                else:
                    self.items[obj.metadata.name] = obj
                if self.on_event is not None:
                    self._call(self.on_event, kind, obj)
        finally:
            w.stop()


class PodWatcher(WatchLoop):
    """A :class:`WatchLoop` on the course pods of ``cluster.namespace`` (label
    ``app.kubernetes.io/part-of=whyk8s`` unless ``label_selector`` says otherwise).

    ``on_event`` (one callback or a list) receives ``(type, V1Pod)``, including one ``"SYNC"`` per pod
    after each (re)list; ``on_sync`` receives the full pod list after each (re)list; ``on_error``
    receives one readable sentence when the cluster goes away. ``pods`` holds the current pods by
    name (updated before callbacks run). ``window`` and ``read_timeout`` are in seconds.
    """

    def __init__(self, cluster: Cluster, on_event: PodEvent | list[PodEvent] | None = None,
                 on_sync: Callable[[list], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 window: int = 2, read_timeout: float = 10, retry_delay: float = 1.0,
                 label_selector: str | None = None) -> None:
        self.cluster = cluster
        self._pod_callbacks = list(on_event) if isinstance(on_event, (list, tuple)) else [on_event] if on_event else []
        self._on_sync = on_sync
        super().__init__(cluster.core.list_namespaced_pod, cluster.namespace,
                         label_selector=label_selector or cluster.selector,
                         on_event=self._dispatch, on_list=self._synced, on_error=on_error,
                         window=window, read_timeout=read_timeout, retry_delay=retry_delay,
                         name="whyk8s-pod-watcher")

    @property
    def pods(self) -> dict:
        return self.items

    def relist(self) -> list:
        """List the pods now (resetting :attr:`pods` and the resourceVersion)."""
        return self.prime()

    def _dispatch(self, kind: str, pod) -> None:
        for cb in self._pod_callbacks:
            self._call(cb, kind, pod)

    def _synced(self, pods: list) -> None:
        for pod in pods:
            self._dispatch("SYNC", pod)
        if self._on_sync is not None:
            self._call(self._on_sync, pods)


def watch_until(list_fn: Callable, *args, done: Callable[[dict], bool], deadline: float,
                on_present: Callable[[object], None] | None = None, window: int = 2, **kwargs) -> dict:
    """List the collection ``list_fn(*args, **kwargs)``, then watch it from the list's
    resourceVersion until ``done(objects)`` holds or ``time.monotonic()`` passes ``deadline``.

    ``objects`` maps name → object for what exists now (updated from ADDED/MODIFIED/DELETED events).
    Returns that dict, whether ``done`` held or time ran out: the caller decides what a timeout
    means. ``on_present(obj)`` runs, on the caller's thread, for each object listed and for each
    that appears meanwhile. Server-side windows are ``window`` seconds; a compacted resourceVersion
    (HTTP 410 Gone) leads to a fresh list. Raises ApiException for other API errors and connection
    errors when the API server does not answer. The course's waits (pods, nodes, leases, clean-up)
    are all built on this one loop."""
    import time

    def relist():
        listing = list_fn(*args, **kwargs)
        if on_present is not None:
            for obj in listing.items:
                on_present(obj)
        return {o.metadata.name: o for o in listing.items}, listing.metadata.resource_version

    objects, rv = relist()
    while not done(objects) and time.monotonic() < deadline:
        w = watch.Watch()
        seconds = max(1, min(window, int(deadline - time.monotonic()) + 1))
        try:
            for event in w.stream(list_fn, *args, resource_version=rv, timeout_seconds=seconds,
                                  _request_timeout=seconds + 8, **kwargs):
                obj = event["object"]
                rv = obj.metadata.resource_version
                if event["type"] == "DELETED":
                    objects.pop(obj.metadata.name, None)
                elif event["type"] in ("ADDED", "MODIFIED"):
                    if event["type"] == "ADDED" and on_present is not None:
                        on_present(obj)
                    objects[obj.metadata.name] = obj
                if done(objects):
                    w.stop()
                    break
        except client.ApiException as exc:
            if exc.status != 410:
                raise
            objects, rv = relist()
    return objects


def wait_until_gone(list_fn: Callable, *args, label_selector: str, deadline: float,
                    on_present: Callable[[object], None] | None = None, window: int = 2) -> set[str]:
    """Watch the collection that ``list_fn(*args, label_selector=...)`` lists until it is empty or
    ``time.monotonic()`` passes ``deadline``; return the names still there (empty set when all are
    gone). ``on_present(obj)`` runs, on the caller's thread, for each object listed and for each
    that appears meanwhile (e.g. to delete at once a pod that a ReplicaSet re-created while its
    Deployment was being deleted). Errors as :func:`watch_until`."""
    return set(watch_until(list_fn, *args, label_selector=label_selector, done=lambda objs: not objs,
                           deadline=deadline, on_present=on_present, window=window))
