"""What happens in the course namespace, as a timeline: Kubernetes Events plus pod phase changes.

:class:`EventRecorder` watches (with :class:`kubernetes.watch.Watch`, never a polling loop) the
namespace's Events (CoreV1 ``list_namespaced_event``) and the course's pods, from the
resourceVersion current when :meth:`EventRecorder.start` is called, so older events are skipped.
Each thing it sees becomes one dict::

    {"t": 1.23,                  # seconds since start() (float, time of arrival at the recorder)
     "object": "pod/web-7c9d-x2b4q",   # lower-case kind / name
     "what": "Scheduled",        # an Event reason (Scheduled, SuccessfulCreate, Killing, Preempted,
                                 # FailedScheduling, ScalingReplicaSet, ...) or a pod change
                                 # (Created, Pending, Running, Succeeded, Failed, Terminating, Deleted)
     "detail": "Successfully assigned whyk8s/web-7c9d-x2b4q to whyk8s-worker2"}

:func:`pending_reason` gives the scheduler's reason for a Pending pod. Both watches are
:class:`whyk8s.k8s.informer.WatchLoop` threads.

Sources: kubernetes.io, "Efficient detection of changes" (API concepts: watch, resourceVersion, 410
Gone) and the ``Event`` (core/v1) API reference.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Callable

from kubernetes import client

from whyk8s.errors import WaitTimeoutError
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.informer import WatchLoop

__all__ = ["EventRecorder", "WatchLoop", "pending_reason", "pod_pending_reason", "normalise_names",
           "wait_for_pods"]



def pod_pending_reason(pod: client.V1Pod) -> str:
    """The message of ``pod``'s ``PodScheduled=False`` condition ('' if it has none)."""
    for cond in (pod.status.conditions if pod.status else None) or []:
        if cond.type == "PodScheduled" and cond.status == "False":
            return (cond.message or cond.reason or "").strip()
    return ""


def pending_reason(cluster: Cluster, pod_name: str, namespace: str | None = None) -> str:
    """The scheduler's reason why Pod ``pod_name`` is Pending, as the scheduler wrote it.

    The Pod's ``PodScheduled`` condition message if it is False, else the newest ``FailedScheduling``
    Event about the Pod. Returns ``""`` when the Pod is already on a node, and
    ``"waiting for the scheduler"`` when the scheduler has not written a reason yet. Raises
    :class:`kubernetes.client.ApiException` (404 if the Pod does not exist).
    Example: ``"0/5 nodes are available: 1 Insufficient nvidia.com/gpu, ..."``.
    """
    ns = namespace or cluster.namespace
    pod = cluster.core.read_namespaced_pod(pod_name, ns)
    if pod.spec.node_name:
        return ""
    reason = pod_pending_reason(pod)
    if reason:
        return reason
    events = cluster.core.list_namespaced_event(
        ns, field_selector=f"involvedObject.name={pod_name},reason=FailedScheduling").items

    def when(e):
        ts = e.last_timestamp or e.event_time or e.first_timestamp or e.metadata.creation_timestamp
        return ts.timestamp() if ts else 0.0
    if events:
        return (max(events, key=when).message or "").strip() or "waiting for the scheduler"
    return "waiting for the scheduler"


def wait_for_pods(cluster: Cluster, predicate: Callable[[dict], bool], label_selector: str | None = None,
                  timeout: float = 60, namespace: str | None = None) -> dict:
    """Watch the course pods (or those matching ``label_selector``) until ``predicate(pods)`` holds,
    where ``pods`` maps name → V1Pod of the pods that exist and are not being deleted. Returns that
    dict. Watches with :func:`whyk8s.k8s.informer.watch_until` (2 s windows), never polls. Raises
    :class:`~whyk8s.errors.WaitTimeoutError` after ``timeout`` seconds, naming each pod's state."""
    from whyk8s.k8s.informer import watch_until

    def live(pods: dict) -> dict:
        return {n: p for n, p in pods.items() if p.metadata.deletion_timestamp is None}

    pods = live(watch_until(cluster.core.list_namespaced_pod, namespace or cluster.namespace,
                            label_selector=label_selector or cluster.selector,
                            done=lambda objs: predicate(live(objs)),
                            deadline=time.monotonic() + timeout))
    if predicate(pods):
        return pods
    raise WaitTimeoutError(f"Waited {timeout:.0f} s; the pods never reached the expected state "
                           f"({len(pods)} pods: {describe_pods(pods) or 'none'}).")


def describe_pods(pods: dict) -> str:
    """One line for ``pods`` (name → V1Pod): each name with its phase, its node and, when the scheduler
    left one, its pending reason. Example: ``"greedy (Pending: 0/4 nodes are available: ...), web-1
    (Running on whyk8s-worker)"``."""
    parts = []
    for name in sorted(pods):
        pod = pods[name]
        phase = (pod.status.phase if pod.status else None) or "Unknown"
        where = f" on {pod.spec.node_name}" if pod.spec and pod.spec.node_name else ""
        reason = pod_pending_reason(pod)
        parts.append(f"{name} ({phase}{where}{': ' + reason if reason else ''})")
    return ", ".join(parts)


# -- stable names for recordings ---------------------------------------------------------------
# Generated suffixes use the API machinery's alphabet (no vowels, no 0/1/3: k8s.io/apimachinery rand).
_ALPHABET = "[bcdfghjklmnpqrstvwxz2456789]"
_POD_SUFFIX = re.compile(rf"^(?P<base>.+?)(-{_ALPHABET}{{6,10}})?-{_ALPHABET}{{5}}$")
_RS_SUFFIX = re.compile(rf"^(?P<base>.+)-{_ALPHABET}{{6,10}}$")


def _base_name(kind: str, name: str, generated: dict[str, str]) -> str | None:
    """Base of a generated name (Deployment/Job name), or None if the name was given by a person."""
    if name in generated:
        return generated[name]
    if kind == "pod":
        m = _POD_SUFFIX.match(name)
    elif kind == "replicaset":
        m = _RS_SUFFIX.match(name)
    else:
        return None
    return m.group("base") if m else None


def normalise_names(records: list[dict], generated: dict[str, str] | None = None) -> list[dict]:
    """Replace generated pod and ReplicaSet names (random hashes) by ``<base>-1``, ``<base>-2`` ... in
    order of first appearance, in ``object`` and in ``detail``. ``generated`` maps names known to be
    generated to their base (from ``metadata.generateName``); other names are recognised by their
    hash suffixes. Names people chose (no suffix) stay as they are. Returns new dicts."""
    generated = generated or {}
    mapping: dict[str, str] = {}
    counters: dict[tuple[str, str], int] = {}
    for rec in records:
        kind, _, name = rec["object"].partition("/")
        if name in mapping or kind not in ("pod", "replicaset"):
            continue
        base = _base_name(kind, name, generated)
        if base is None:
            continue
        key = (kind, base)
        counters[key] = counters.get(key, 0) + 1
        mapping[name] = f"{base}-{'rs' if kind == 'replicaset' else ''}{counters[key]}"
    if not mapping:
        return [dict(r) for r in records]
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(mapping, key=len, reverse=True))
                         + r")\b")
    out = []
    for rec in records:
        kind, _, name = rec["object"].partition("/")
        out.append({**rec, "object": f"{kind}/{mapping.get(name, name)}",
                    "detail": pattern.sub(lambda m: mapping[m.group(1)], rec.get("detail") or "")})
    return out


class EventRecorder:
    """Record what happens in ``cluster.namespace`` from :meth:`start` on (see the module doc).

    ``events`` is the list of records (dicts with ``t`` seconds since start, ``object``, ``what``,
    ``detail``) in order of arrival; ``errors`` holds sentences about connection trouble.
    ``on_record`` callbacks (``fn(record)``) run on the watch threads: update widget values only.
    Pod changes cover the course's pods (label ``app.kubernetes.io/part-of=whyk8s``); Events cover
    every object of the namespace.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. :meth:`start` raises
    :class:`kubernetes.client.ApiException` or a connection error if the API server does not answer.
    """

    def __init__(self, cluster: Cluster, namespace: str | None = None, window: int = 2,
                 read_timeout: float = 10, on_record: Callable[[dict], None] | None = None) -> None:
        self.cluster = cluster
        self.namespace = namespace or cluster.namespace
        self.events: list[dict] = []
        self.errors: list[str] = []
        self.on_record: list[Callable[[dict], None]] = [on_record] if on_record else []
        self._generated: dict[str, str] = {}
        self._phases: dict[str, tuple[str, bool]] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        common = dict(on_error=self._error, window=window, read_timeout=read_timeout)
        self._event_loop = WatchLoop(cluster.core.list_namespaced_event, self.namespace,
                                     on_event=self._on_event, name="whyk8s-event-recorder", **common)
        self._pod_loop = WatchLoop(cluster.core.list_namespaced_pod, self.namespace,
                                   label_selector=cluster.selector, on_event=self._on_pod,
                                   on_list=self._on_pod_list, name="whyk8s-event-recorder-pods", **common)

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> "EventRecorder":
        """Note the current resourceVersions (so older events are skipped), then watch. Returns self."""
        if self._event_loop.running:
            return self
        self._t0 = time.monotonic()
        self._event_loop.prime()
        for e in self._event_loop.items.values():  # existing events: remember their counts only
            self._counts[e.metadata.uid] = e.count or 1
        self._pod_loop.prime()
        self._event_loop.start()
        self._pod_loop.start()
        return self

    def stop(self, timeout: float = 5) -> bool:
        """Stop both watches (each ends within ``timeout`` seconds). True if both ended."""
        a = self._event_loop.stop(timeout)
        b = self._pod_loop.stop(timeout)
        return a and b

    def __enter__(self) -> "EventRecorder":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._event_loop.running or self._pod_loop.running

    # -- recording -----------------------------------------------------------------------------
    def _add(self, obj: str, what: str, detail: str) -> None:
        rec = {"t": round(time.monotonic() - self._t0, 3), "object": obj, "what": what, "detail": detail}
        with self._lock:
            self.events.append(rec)
        for fn in self.on_record:
            WatchLoop._call(fn, rec)

    def _error(self, sentence: str) -> None:
        self.errors.append(sentence)

    def _on_event(self, kind: str, ev: client.CoreV1Event) -> None:
        if kind == "DELETED":
            return
        count = ev.count or 1
        uid = ev.metadata.uid
        if self._counts.get(uid, 0) >= count:
            return  # an update that did not repeat the event
        self._counts[uid] = count
        inv = ev.involved_object
        obj = f"{(inv.kind or 'object').lower()}/{inv.name}"
        self._add(obj, ev.reason or "Event", (ev.message or "").strip())

    def _remember(self, pod: client.V1Pod) -> None:
        meta = pod.metadata
        if meta.generate_name:
            base = meta.generate_name.rstrip("-")
            rs_hash = (meta.labels or {}).get("pod-template-hash")
            if rs_hash and base.endswith("-" + rs_hash):
                base = base[: -len(rs_hash) - 1]
                self._generated[base + "-" + rs_hash] = base  # the ReplicaSet
            self._generated[meta.name] = base

    def _on_pod_list(self, pods: list) -> None:
        for p in pods:
            self._remember(p)
            self._phases[p.metadata.name] = (p.status.phase, p.metadata.deletion_timestamp is not None)

    def _on_pod(self, kind: str, pod: client.V1Pod) -> None:
        self._remember(pod)
        name = pod.metadata.name
        phase = pod.status.phase if pod.status else None
        terminating = pod.metadata.deletion_timestamp is not None
        before = self._phases.get(name)
        obj = f"pod/{name}"
        if kind == "DELETED":
            self._phases.pop(name, None)
            self._add(obj, "Deleted", f"Pod {name} is gone from the API server.")
            return
        self._phases[name] = (phase, terminating)
        if before is None:
            node = f" on {pod.spec.node_name}" if pod.spec.node_name else ""
            self._add(obj, "Created", f"Pod {name} was created{node} (phase {phase}).")
        elif before[0] != phase and phase:
            self._add(obj, phase, f"Pod {name} is now {phase} (was {before[0]}).")
        if terminating and not (before and before[1]):
            self._add(obj, "Terminating", f"Pod {name} was asked to stop (deletion requested).")

    # -- output --------------------------------------------------------------------------------
    def timeline_records(self, ndigits: int = 2) -> list[dict]:
        """The records sorted by time, ``t`` rounded to ``ndigits``, generated names replaced by
        stable ones (``pod/web-1``, ``replicaset/web-rs1`` ...; see :func:`normalise_names`): ready
        for ``recordings.save(name, "events", {"events": ...}, caption)``."""
        with self._lock:
            recs = sorted(self.events, key=lambda r: r["t"])
        recs = [{**r, "t": round(r["t"], ndigits)} for r in recs]
        return normalise_names(recs, dict(self._generated))

    def table(self):
        """The stable records as a pandas DataFrame (columns t, object, what, detail)."""
        import pandas as pd
        return pd.DataFrame(self.timeline_records(), columns=["t", "object", "what", "detail"])

    def plot(self, title: str = "", ax=None):
        """Draw :meth:`timeline_records` with :func:`whyk8s.notebook.recordings.plot_events`; returns the Axes.
        Raises ValueError if nothing was recorded."""
        from whyk8s.notebook.recordings import plot_events
        recs = self.timeline_records()
        if not recs:
            raise ValueError("Nothing was recorded yet: start the recorder before acting on the cluster.")
        return plot_events(recs, title, ax=ax)
