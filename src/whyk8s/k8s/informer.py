"""The one list-then-watch mechanism of the course: :class:`ListWatch`, and :class:`Informer` on top.

Every wait and every live view of the course goes through :class:`ListWatch` (kubernetes.io, "API
Concepts", *Efficient detection of changes*): list a collection, remember the list's
``resourceVersion``, then watch from it with :class:`kubernetes.watch.Watch`. It handles:

- **410 Gone** (the resourceVersion was compacted away): list again, and report what changed
  between the two lists as ADDED / MODIFIED / DELETED (shared/cases *watch-gone*);
- **client read timeouts**: a watch whose connection goes silent for ``read_timeout`` seconds is
  reopened from the last resourceVersion, as a normal reconnect (shared/cases *watch-idle*). With
  ``allowWatchBookmarks`` the API server sends a BOOKMARK about once a minute on an idle watch
  (k8s.io/apiserver ``cacheWatcher.nextBookmarkTime``), so the default 90 s only fires on a dead
  connection;
- **API-server loss**: ``on_error`` gets one sentence once per outage; the loop retries with a
  growing delay (1 s, 2 s, … up to ``max_retry_delay``) and lists again when the server is back;
- **long server windows**: each watch asks the server to end it after 30 to 60 minutes (as kubectl
  gets by default from ``--min-request-timeout``), so an idle watch costs about one request per
  45 minutes, not one per window of seconds;
- **a stop that does not wait for a window**: :meth:`ListWatch.stop` shuts the watch's socket down
  (:meth:`kubernetes.watch.Watch.stop`), so the loop ends within milliseconds (shared/cases
  *watch-stop*).

:class:`Informer` runs a ListWatch on a background thread and keeps the current objects; several
views of the same collection share one (:func:`shared_informer`): one watch per collection, however
many widgets show it. Subscribers' callbacks run on the informer's thread; they must only update
their own state or widget values, never print into a cell (shared/cases *thread-output*).

The official client's ``kubernetes.informer.SharedInformer`` (client 37) was considered: it sends no
bookmarks, sets no client read timeout, retries a failed watch at once without backoff and joins its
thread without a time limit, so the course keeps this loop (about 200 lines) instead.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Callable, Iterable

from kubernetes import client, watch

from whyk8s.errors import API, classify, explain, is_read_timeout

__all__ = ["ListWatch", "Informer", "Subscription", "shared_informer", "object_key", "resource_version",
           "READ_TIMEOUT", "WINDOW"]

log = logging.getLogger(__name__)

#: Client read timeout of a watch, in seconds: longer than the API server's bookmark interval (~60 s).
READ_TIMEOUT = 90.0
#: Server-side watch window, in seconds: a random length in this range for each watch request.
WINDOW = (1800, 3600)


def object_key(obj) -> str:
    """``namespace/name`` for a namespaced object, ``name`` for a cluster-scoped one. ``obj`` is a
    model of the official client or, for a custom resource (``CustomObjectsApi``), a dict."""
    if isinstance(obj, dict):
        meta = obj["metadata"]
        return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
    meta = obj.metadata
    return f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name


def resource_version(obj) -> str | None:
    """The ``metadata.resourceVersion`` of a model, of a dict (a custom resource), or of a list of either."""
    if isinstance(obj, dict):
        return (obj.get("metadata") or {}).get("resourceVersion")
    return obj.metadata.resource_version


class _Stopped(Exception):
    """Internal: the loop was asked to stop."""


class ListWatch:
    """List, then watch, one collection of the official client: ``list_fn(*args, **kwargs)``, e.g.
    ``ListWatch(cluster.core.list_namespaced_pod, "whyk8s", label_selector="app=web")``; a custom
    resource's collection gives dicts, e.g. ``ListWatch(CustomObjectsApi(api).list_cluster_custom_object,
    "kueue.x-k8s.io", "v1beta2", "workloads")``.

    ``items`` maps a key (``key(obj)``, default :func:`object_key`) to the current object.
    ``resource_version`` is the last one seen (None before the first list). Counters: ``relists``
    (lists made), ``reconnects`` (watches reopened after a read timeout or a closed window),
    ``requests`` (list and watch requests sent). ``read_timeout`` and ``window`` are in seconds
    (``window`` a number or a ``(low, high)`` range); ``retry_delay`` and ``max_retry_delay`` bound
    the wait between attempts while the API server does not answer.
    """

    def __init__(self, list_fn: Callable, *args, key: Callable = object_key,
                 read_timeout: float = READ_TIMEOUT, window: float | tuple = WINDOW,
                 retry_delay: float = 1.0, max_retry_delay: float = 5.0, **kwargs) -> None:
        self.list_fn, self.args, self.kwargs, self.key = list_fn, args, kwargs, key
        self.read_timeout, self.window = read_timeout, window
        self.retry_delay, self.max_retry_delay = retry_delay, max_retry_delay
        self.items: dict[str, object] = {}
        self.resource_version: str | None = None
        self.relists = self.reconnects = self.requests = 0
        self.failing = False
        self._stop = threading.Event()
        self._watch: watch.Watch | None = None

    # -- one list, one watch window ----------------------------------------------------------------
    def relist(self) -> list[tuple[str, object]]:
        """List now. Returns the changes against the previous items as ``(type, obj)`` pairs (every
        object ADDED on the first list; then ADDED, MODIFIED for a new resourceVersion, DELETED).
        Raises ApiException or a connection error."""
        self.requests += 1
        listing = self.list_fn(*self.args, **self.kwargs, _request_timeout=self.read_timeout)
        fresh = {self.key(o): o for o in (listing["items"] if isinstance(listing, dict) else listing.items)}
        changes = []
        for k, obj in fresh.items():
            old = self.items.get(k)
            if old is None:
                changes.append(("ADDED", obj))
            elif resource_version(old) != resource_version(obj):
                changes.append(("MODIFIED", obj))
        changes += [("DELETED", obj) for k, obj in self.items.items() if k not in fresh]
        self.items = fresh
        self.resource_version = resource_version(listing)
        self.relists += 1
        return changes

    def _window_seconds(self, deadline: float | None) -> int:
        low, high = self.window if isinstance(self.window, tuple) else (self.window, self.window)
        seconds = random.uniform(low, high)
        if deadline is not None:
            seconds = min(seconds, deadline - time.monotonic() + 1)
        return max(1, int(seconds))

    def events(self, deadline: float | None = None) -> Iterable[tuple[str, object]]:
        """Watch from :attr:`resource_version` for one server window (ending at ``deadline``, a
        ``time.monotonic()`` value, if given); yield ``(type, obj)`` for ADDED, MODIFIED and DELETED,
        with :attr:`items` already updated. BOOKMARKs only advance the resourceVersion. Raises
        ApiException (410 when the resourceVersion is too old) and connection errors."""
        self._watch = w = watch.Watch()
        self.requests += 1
        try:
            for event in w.stream(self.list_fn, *self.args, **self.kwargs,
                                  resource_version=self.resource_version, allow_watch_bookmarks=True,
                                  timeout_seconds=self._window_seconds(deadline),
                                  _request_timeout=self.read_timeout):
                if self._stop.is_set():
                    return
                kind, obj = event["type"], event["object"]
                if kind == "BOOKMARK":
                    self.resource_version = w.resource_version or self.resource_version
                    continue
                self.resource_version = resource_version(obj)
                if kind == "DELETED":
                    self.items.pop(self.key(obj), None)
                else:
                    self.items[self.key(obj)] = obj
                yield kind, obj
        finally:
            self._watch = None
            w.stop()

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, on_change: Callable[[str, object], None] | None = None,
            on_list: Callable[[list], None] | None = None,
            on_error: Callable[[str], None] | None = None,
            done: Callable[[], bool] = lambda: False, deadline: float | None = None,
            raise_refusals: bool = True) -> bool:
        """List (if not listed yet), then watch, until ``done()`` holds, ``deadline`` (a
        ``time.monotonic()`` value) passes, or :meth:`stop` is called. Returns ``done()``.

        ``on_change(type, obj)`` runs for every change, those found by a list included;
        ``on_list(changes)`` after every list with the list of ``(type, obj)`` it found. While the
        API server does not answer, ``on_error(sentence)`` runs once, the loop waits (growing delay,
        never past ``deadline``) and lists again once it answers. An API refusal other than 410
        (e.g. 403, 404) is raised when ``raise_refusals``, else reported like an outage.
        """
        delay = self.retry_delay
        try:
            while not done():
                if self._stop.is_set():
                    break
                if deadline is not None and time.monotonic() >= deadline and (self.relists or self.failing):
                    break  # out of time (but always list once, even with no time left)
                try:
                    if self.resource_version is None:
                        changes = self.relist()
                        if on_change is not None:
                            for kind, obj in changes:
                                on_change(kind, obj)
                        self.failing = False
                        delay = self.retry_delay
                        if on_list is not None:
                            on_list(changes)
                        continue
                    stream = self.events(deadline)
                    try:
                        for kind, obj in stream:
                            if on_change is not None:
                                on_change(kind, obj)
                            if done():
                                return True
                    finally:
                        stream.close()  # ends the request now, not when the generator is collected
                    if self._stop.is_set():
                        break
                    self.reconnects += 1  # the server closed its window: reopen from where we are
                    self.failing, delay = False, self.retry_delay
                except client.ApiException as exc:
                    if self._stop.is_set():
                        break
                    if exc.status == 410:  # compacted: list again, report the difference
                        self.resource_version = None
                        continue
                    if classify(exc) == API and raise_refusals:
                        raise
                    delay = self._fail(exc, on_error, delay, deadline)
                except Exception as exc:  # noqa: BLE001 - classified below
                    if self._stop.is_set():
                        break
                    if is_read_timeout(exc):  # idle or dead connection: reopen from the last version
                        self.reconnects += 1
                        continue
                    if classify(exc) != "unreachable":
                        raise
                    delay = self._fail(exc, on_error, delay, deadline)
        except _Stopped:
            pass
        return done()

    def _fail(self, exc: BaseException, on_error, delay: float, deadline: float | None) -> float:
        """The API server did not answer: report once, forget the resourceVersion (a restarted server
        may not know it), wait ``delay`` seconds (not past ``deadline``); return the next delay."""
        self.resource_version = None
        if not self.failing and on_error is not None:
            on_error(explain(exc))
        self.failing = True
        wait = delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic()))
        if self._stop.wait(wait):
            raise _Stopped
        return min(delay * 2, self.max_retry_delay)

    def stop(self) -> None:
        """End :meth:`run` as soon as possible, from any thread: the watch's socket is shut down, so a
        blocked read returns at once instead of at the end of its window."""
        self._stop.set()
        w = self._watch
        if w is not None:
            w.stop()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()


class Subscription:
    """A subscriber of an :class:`Informer` (see :meth:`Informer.subscribe`); :meth:`close` ends it."""

    def __init__(self, informer: "Informer", on_event, on_sync, on_error) -> None:
        self.informer, self.on_event, self.on_sync, self.on_error = informer, on_event, on_sync, on_error

    def close(self, timeout: float = 5) -> None:
        """Stop receiving callbacks; the informer stops when its last subscriber leaves."""
        self.informer._unsubscribe(self, timeout)


class Informer:
    """A :class:`ListWatch` on a background thread, keeping the current objects for its subscribers.

    ``Informer(list_fn, *args, name=..., **kwargs)`` takes the same arguments as :class:`ListWatch`.
    :meth:`subscribe` registers callbacks (run on the informer's thread): ``on_event(type, obj)`` for
    each ADDED / MODIFIED / DELETED, ``on_sync(objects)`` with every current object after each list
    (the first, and each after a 410 or an outage), ``on_error(sentence)`` once per outage. ``items``
    is a snapshot of the current objects by key; ``synced`` is set once the first list is done.
    """

    def __init__(self, list_fn: Callable, *args, name: str = "whyk8s-informer", **kwargs) -> None:
        self.lw = ListWatch(list_fn, *args, **kwargs)
        self.name = name
        self.synced = threading.Event()
        self._subs: list[Subscription] = []
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._registry_key = None

    # -- state ---------------------------------------------------------------------------------------
    @property
    def items(self) -> dict:
        """The current objects by key (a copy)."""
        with self._lock:
            return dict(self.lw.items)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def failing(self) -> bool:
        return self.lw.failing

    # -- subscribers ---------------------------------------------------------------------------------
    def subscribe(self, on_event: Callable[[str, object], None] | None = None,
                  on_sync: Callable[[list], None] | None = None,
                  on_error: Callable[[str], None] | None = None) -> Subscription:
        """Add a subscriber. If the informer has listed already, ``on_sync`` runs at once (on the
        caller's thread) with the current objects, so a new view starts complete."""
        sub = Subscription(self, on_event, on_sync, on_error)
        with self._lock:
            self._subs.append(sub)
            current = list(self.lw.items.values()) if self.synced.is_set() else None
        if current is not None and on_sync is not None:
            on_sync(current)
        return sub

    def _unsubscribe(self, sub: Subscription, timeout: float) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
            last = not self._subs
        if last:
            self.stop(timeout)

    def _each(self, attr: str, *args) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            fn = getattr(sub, attr)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - one subscriber must not stop the others
                log.exception("informer subscriber failed")

    # -- life cycle ----------------------------------------------------------------------------------
    def prime(self) -> list:
        """List now, on the caller's thread (raising ApiException or a connection error), so that the
        caller knows the watch starts from *now*. Returns the objects."""
        with self._lock:
            self.lw.relist()
            objects = list(self.lw.items.values())
        self.synced.set()
        self._each("on_sync", objects)
        return objects

    def start(self) -> "Informer":
        """Start the thread (no-op while it runs). It lists first unless :meth:`prime` did."""
        with self._lock:
            if self.running:
                return self
            self.lw._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> bool:
        """Stop the thread; wait up to ``timeout`` seconds. True if it ended."""
        with _REGISTRY_LOCK:
            if self._registry_key is not None and _REGISTRY.get(self._registry_key) is self:
                del _REGISTRY[self._registry_key]
        self.lw.stop()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            thread.join(0.05)
            self.lw.stop()  # a watch request sent just after the first stop() is shut down now
        return not thread.is_alive()

    def _run(self) -> None:
        def on_change(kind, obj):
            self._each("on_event", kind, obj)

        def on_list(_changes):
            self.synced.set()
            self._each("on_sync", list(self.lw.items.values()))

        def on_error(sentence):
            self._each("on_error", sentence)

        try:
            self.lw.run(on_change=on_change, on_list=on_list, on_error=on_error, raise_refusals=False)
        except Exception as exc:  # noqa: BLE001 - never die silently
            log.exception("informer %s ended", self.name)
            on_error(explain(exc))


_REGISTRY: dict[tuple, Informer] = {}
_REGISTRY_LOCK = threading.Lock()


def shared_informer(api_fn: Callable, *args, **kwargs) -> Informer:
    """The running :class:`Informer` of this collection (same API client, list function, arguments
    and selectors), started if there is none: one watch per collection in the kernel, however many
    views show it. It stops when its last subscriber closes."""
    owner = getattr(api_fn, "__self__", None)
    api_client = getattr(owner, "api_client", None)
    key = (id(api_client), getattr(api_fn, "__name__", repr(api_fn)), args, tuple(sorted(kwargs.items())))
    with _REGISTRY_LOCK:
        inf = _REGISTRY.get(key)
        if inf is None or (inf.lw.stopped and not inf.running):
            inf = Informer(api_fn, *args, name=f"whyk8s-informer-{getattr(api_fn, '__name__', '')}", **kwargs)
            inf._registry_key = key
            _REGISTRY[key] = inf
    return inf
