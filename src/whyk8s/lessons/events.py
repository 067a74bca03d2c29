"""What happens in the course's namespaces, as a timeline ordered by when it happened.

:class:`EventRecorder` watches the objects that take part in self-healing, scaling, rolling updates
and preemption — Deployments, ReplicaSets and Pods carrying the course label (and, if asked, the
Nodes) — and writes down each step it sees, the moment its watch delivers the change. A watch
delivers a change within milliseconds of the API server storing it, so the order of the records is
the order of the steps: the Deployment scales its ReplicaSet *before* the ReplicaSet creates pods.
(Kubernetes *Events* are no clock for this: a controller writes its event after the change it
reports has been stored, through a recorder that sends it on in the background, and old-style
events count whole seconds — which is why an earlier version of this timeline showed pods created
before the ReplicaSet that created them.) Events are still recorded, for what no object
change shows (``FailedCreate``, ``BackOff``, ``Pulled`` …).

Each watch has its own thread, so two collections' changes can reach the recorder a few
milliseconds out of order on a busy machine. :meth:`EventRecorder.timeline_records` therefore
orders the records by the ``resourceVersion`` each change was stored at: on the course's clusters
every resource lives in one etcd, whose revision is the cluster's clock (Kubernetes guarantees the
comparison of resourceVersions only within one resource, KEP-5504, since v1.35; a cluster that
splits resources over several etcds would need another clock).

Each record is one dict::

    {"t": 1.23,                      # seconds since start() when the watch delivered the change
     "rv": 48213,                    # the resourceVersion the change was stored at
     "object": "pod/web-7c9d-x2b4q",  # lower-case kind / name (namespace/kind/name across namespaces)
     "what": "Scheduled",            # one of STEPS, or an Event's reason
     "detail": "to whyk8s-worker2"}

The vocabulary :data:`STEPS` is shared by every timeline of the course, live or recorded, and
:data:`whyk8s.notebook.charts.TIMELINE_STYLES` gives each step one marker and one colour everywhere.
Sources: kubernetes.io, "API Concepts" (watch), "Pod Lifecycle" (phases, ``DisruptionTarget``),
"Deployments" (ReplicaSets, rolling updates).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Callable

from kubernetes import client

from whyk8s.k8s import pods as podfacts
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.informer import Informer, shared_informer
from whyk8s.k8s.nodes import is_ready as node_is_ready

__all__ = ["EventRecorder", "STEPS", "normalise_names"]

#: The steps a timeline records, in the order they usually happen to an object.
STEPS = ("Created", "Scaled", "Updated", "Scheduled", "Unschedulable", "Running", "Succeeded", "Failed",
         "Preempted", "Evicted", "Terminating", "Deleted", "NodeNotReady", "NodeReady")
#: Event reasons that repeat a step the object watches already show (left out of the timeline).
_DUPLICATE_REASONS = {"ScalingReplicaSet", "SuccessfulCreate", "SuccessfulDelete", "Scheduled",
                      "FailedScheduling", "Preempted", "Killing", "RegisteredNode", "RemovingNode",
                      # the kubelet's "Created" (a container, where containers run: kind) would read as the
                      # Pod's own Created step; its "Started" follows within milliseconds and is kept
                      "Created"}
#: ``DisruptionTarget`` condition reasons (kubernetes.io, "Pod disruption conditions") → step.
_DISRUPTIONS = {"PreemptionByScheduler": "Preempted", "EvictionByEvictionAPI": "Evicted",
                "DeletionByTaintManager": "Evicted", "DeletionByPodGC": "Evicted",
                "TerminationByKubelet": "Evicted"}


# -- stable names for recordings -------------------------------------------------------------------
def _base_name(kind: str, name: str, generated: dict[str, str]) -> str | None:
    """Base of a generated name (Deployment/Job name), or None if the name was given by a person."""
    if name in generated:
        return generated[name]
    return podfacts.generated_base(name, kind) if kind in ("pod", "replicaset") else None


def normalise_names(records: list[dict], generated: dict[str, str] | None = None,
                    existing: list[tuple[str, str]] = ()) -> list[dict]:
    """Replace generated pod and ReplicaSet names (random hashes) by ``<base>-1``, ``<base>-2`` ... in
    ``object`` and in ``detail``: first the objects that already ``existing`` before the recording
    (``(kind, name)`` pairs, oldest first: the old ReplicaSet of a rolling update is ``web-rs1``),
    then the others in order of first appearance. ``generated`` maps names known to be generated to
    their base (from ``metadata.generateName``); other names are recognised by their hash suffixes.
    Names people chose (no suffix) stay as they are. Returns new dicts."""
    generated = generated or {}
    mapping: dict[str, str] = {}
    counters: dict[tuple[str, str], int] = {}
    names = [(kind, name) for kind, name in existing if any(r["object"].split("/")[-1] == name for r in records)]
    names += [tuple(rec["object"].split("/")[-2:]) for rec in records]
    for kind, name in names:
        if name in mapping or kind not in ("pod", "replicaset"):
            continue
        base = _base_name(kind, name, generated)
        if base is None:
            continue
        counters[(kind, base)] = counters.get((kind, base), 0) + 1
        mapping[name] = f"{base}-{'rs' if kind == 'replicaset' else ''}{counters[(kind, base)]}"
    if not mapping:
        return [dict(r) for r in records]
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(mapping, key=len, reverse=True)) + r")\b")
    out = []
    for rec in records:
        parts = rec["object"].split("/")
        parts[-1] = mapping.get(parts[-1], parts[-1])
        out.append({**rec, "object": "/".join(parts),
                    "detail": pattern.sub(lambda m: mapping[m.group(1)], rec.get("detail") or "")})
    return out


def _count(n, noun: str) -> str:
    """``3, "pod"`` → ``"3 pods"``; ``1, "pod"`` → ``"1 pod"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _rv(obj) -> int:
    """An object's resourceVersion as a number (0 when it has none or it is not a number)."""
    rv = obj.metadata.resource_version or ""
    return int(rv) if rv.isdigit() else 0


class EventRecorder:
    """Record the steps Kubernetes takes in ``cluster.namespace`` (or ``namespaces``) from
    :meth:`start` on (see the module doc). ``nodes=True`` records Nodes joining, leaving and
    changing readiness too.

    ``events`` is the list of records in the order they were seen; ``errors`` holds sentences about
    connection trouble. ``on_record`` callbacks (``fn(record)``) run on the watch threads: update
    widget values only. Use as a context manager, or call :meth:`start` / :meth:`stop`.
    :meth:`start` raises ApiException or a connection error if the API server does not answer.
    """

    def __init__(self, cluster: Cluster, namespace: str | None = None, namespaces: list[str] | None = None,
                 nodes: bool = False, on_record: Callable[[dict], None] | None = None) -> None:
        self.cluster = cluster
        self.namespaces = list(namespaces or [namespace or cluster.namespace])
        self.events: list[dict] = []
        self.errors: list[str] = []
        self.on_record: list[Callable[[dict], None]] = [on_record] if on_record else []
        self._generated: dict[str, str] = {}
        self._existing: list[tuple] = []  # (created, rv, kind, name) of pods and ReplicaSets at start()
        self._seen: dict[str, object] = {}
        self._event_counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._local = threading.local()  # the resourceVersion of the change being handled, per watch thread
        self._t0 = time.monotonic()
        self._subs: list = []
        self._started = False
        sel = cluster.selector
        self._sources: list[tuple[Informer, Callable]] = []
        for ns in self.namespaces:
            self._sources += [
                (shared_informer(cluster.apps.list_namespaced_deployment, ns, label_selector=sel), self._on_deployment),
                (shared_informer(cluster.apps.list_namespaced_replica_set, ns, label_selector=sel), self._on_replicaset),
                (shared_informer(cluster.core.list_namespaced_pod, ns, label_selector=sel), self._on_pod),
                (shared_informer(cluster.core.list_namespaced_event, ns), self._on_event),
            ]
        if nodes:
            self._sources.append((shared_informer(cluster.core.list_node), self._on_node))

    # -- life cycle ----------------------------------------------------------------------------------
    def start(self) -> "EventRecorder":
        """Take the current state as the starting point (nothing before it is recorded), then record
        every change. Returns self."""
        if self._started:
            return self
        self._t0 = time.monotonic()
        for informer, handler in self._sources:
            baseline = threading.Event()

            def on_event(kind, obj, handler=handler):
                handler(kind, obj)

            def on_sync(objs, handler=handler, baseline=baseline):
                if not baseline.is_set():  # the state at start(): remember it, record nothing
                    for obj in objs:
                        self._remember(obj)
                        if isinstance(obj, (client.V1Pod, client.V1ReplicaSet)):
                            self._existing.append((obj.metadata.creation_timestamp, obj.metadata.resource_version,
                                                   "pod" if isinstance(obj, client.V1Pod) else "replicaset",
                                                   obj.metadata.name))
                    baseline.set()
                else:  # a list after an outage or a 410: record what changed meanwhile
                    for obj in objs:
                        on_event("MODIFIED" if self._key(obj) in self._seen else "ADDED", obj)

            sub = informer.subscribe(on_event=on_event, on_sync=on_sync, on_error=self.errors.append)
            self._subs.append(sub)
            if not informer.running:
                informer.prime()
                informer.start()
            else:
                informer.synced.wait(10)
        self._started = True
        return self

    def stop(self, timeout: float = 5) -> bool:
        """Stop recording (a shared watch ends when no view uses it). True once all are closed."""
        for sub in self._subs:
            sub.close(timeout)
        self._subs.clear()
        self._started = False
        return True

    def __enter__(self) -> "EventRecorder":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._started

    # -- recording -----------------------------------------------------------------------------------
    def _key(self, obj) -> str:
        meta = obj.metadata
        return f"{type(obj).__name__}/{meta.namespace or ''}/{meta.name}"

    def _object(self, kind: str, obj) -> str:
        ns = obj.metadata.namespace
        prefix = f"{ns}/" if ns and len(self.namespaces) > 1 else ""
        return f"{prefix}{kind}/{obj.metadata.name}"

    def _remember(self, obj) -> None:
        meta = obj.metadata
        if isinstance(obj, client.V1Pod) and meta.generate_name:
            base = meta.generate_name.rstrip("-")
            rs_hash = (meta.labels or {}).get("pod-template-hash")
            if rs_hash and base.endswith("-" + rs_hash):
                base = base[: -len(rs_hash) - 1]
                self._generated[base + "-" + rs_hash] = base  # the ReplicaSet
            self._generated[meta.name] = base
        if isinstance(obj, client.CoreV1Event):
            self._event_counts[meta.uid] = obj.count or 1
        self._seen[self._key(obj)] = obj

    def _add(self, obj: str, what: str, detail: str) -> None:
        rec = {"t": round(time.monotonic() - self._t0, 3), "rv": getattr(self._local, "rv", 0), "object": obj,
               "what": what, "detail": detail}
        with self._lock:
            self.events.append(rec)
        for fn in list(self.on_record):
            try:
                fn(rec)
            except Exception:  # noqa: BLE001 - a bad hook must not stop the recording
                pass

    def _stale(self, obj) -> bool:
        """True when ``obj`` is an older state than the one last seen of the same object (within one
        resource a larger resourceVersion is a later state, KEP-5504)."""
        before = self._seen.get(self._key(obj))
        return before is not None and before.metadata.uid == obj.metadata.uid and 0 < _rv(obj) < _rv(before)

    def _change(self, kind: str, obj) -> tuple[object | None, bool]:
        """(the object as last seen or None, deleted?) and remember the new state."""
        key = self._key(obj)
        before = self._seen.get(key)
        if kind == "DELETED":
            self._seen.pop(key, None)
        else:
            self._remember(obj)
        return before, kind == "DELETED"

    def _on_deployment(self, kind: str, dep: client.V1Deployment) -> None:
        self._local.rv = _rv(dep)
        if kind != "DELETED" and self._stale(dep):
            return
        before, deleted = self._change(kind, dep)
        name, obj = dep.metadata.name, self._object("deployment", dep)
        if deleted:
            self._add(obj, "Deleted", f"Deployment {name} is gone from the API server.")
        elif before is None:
            self._add(obj, "Created", f"Deployment {name} wants {_count(dep.spec.replicas, 'replica')}.")
        else:
            if before.spec.replicas != dep.spec.replicas:
                self._add(obj, "Scaled", f"Deployment {name} now wants {_count(dep.spec.replicas, 'replica')} "
                                         f"(was {before.spec.replicas}).")
            if before.spec.template != dep.spec.template:
                images = ", ".join(c.image for c in dep.spec.template.spec.containers)
                self._add(obj, "Updated", f"Deployment {name} has a new pod template (image {images}).")

    def _on_replicaset(self, kind: str, rs: client.V1ReplicaSet) -> None:
        self._local.rv = _rv(rs)
        if kind != "DELETED" and self._stale(rs):
            return
        before, deleted = self._change(kind, rs)
        name, obj = rs.metadata.name, self._object("replicaset", rs)
        if deleted:
            self._add(obj, "Deleted", f"ReplicaSet {name} is gone from the API server.")
        elif before is None:
            owner = podfacts.controller_of(rs)
            by = f" by {owner.kind} {owner.name}" if owner else ""
            self._add(obj, "Created", f"ReplicaSet {name} was created{by}; it wants {_count(rs.spec.replicas, 'pod')}.")
        elif before.spec.replicas != rs.spec.replicas:
            self._add(obj, "Scaled", f"ReplicaSet {name} now wants {_count(rs.spec.replicas, 'pod')} "
                                     f"(was {before.spec.replicas}).")

    def _on_pod(self, kind: str, pod: client.V1Pod) -> None:
        self._local.rv = _rv(pod)
        if kind != "DELETED" and self._stale(pod):
            return
        before, deleted = self._change(kind, pod)
        name, obj = pod.metadata.name, self._object("pod", pod)
        if deleted:
            self._add(obj, "Deleted", f"Pod {name} is gone from the API server.")
            return
        if before is None:
            owner = podfacts.controller_of(pod)
            by = f" by {owner.kind} {owner.name}" if owner else ""
            self._add(obj, "Created", f"Pod {name} was created{by}.")
        if pod.spec.node_name and not (before is not None and before.spec.node_name):
            self._add(obj, "Scheduled", f"Pod {name} was bound to node {pod.spec.node_name}.")
        reason = podfacts.pending_reason(pod)
        if reason and reason != (podfacts.pending_reason(before) if before is not None else ""):
            self._add(obj, "Unschedulable", reason)
        for cond in (pod.status.conditions if pod.status else None) or []:
            if cond.type == "DisruptionTarget" and cond.status == "True":
                had = before is not None and any(c.type == "DisruptionTarget" and c.status == "True"
                                                 for c in (before.status.conditions or []))
                if not had:
                    self._add(obj, _DISRUPTIONS.get(cond.reason, "Evicted"), (cond.message or cond.reason or "").strip())
        phase = (pod.status.phase if pod.status else None) or "Pending"
        old_phase = ((before.status.phase if before.status else None) or "Pending") if before is not None else "Pending"
        if phase != old_phase and phase in ("Running", "Succeeded", "Failed"):
            self._add(obj, phase, f"Pod {name} is now {phase} (was {old_phase}).")
        status = podfacts.status(pod)
        old_status = podfacts.status(before) if before is not None else "Pending"
        if status != old_status and status not in (phase, "Pending", "Terminating", "ContainerCreating",
                                                   "Completed", "Running"):
            self._add(obj, status, f"Pod {name} shows {status} (kubectl's STATUS; was {old_status}).")
        if podfacts.is_terminating(pod) and not (before is not None and podfacts.is_terminating(before)):
            self._add(obj, "Terminating", f"Pod {name} was asked to stop (deletion requested).")

    def _on_node(self, kind: str, node: client.V1Node) -> None:
        self._local.rv = _rv(node)
        if kind != "DELETED" and self._stale(node):
            return
        before, deleted = self._change(kind, node)
        name, obj = node.metadata.name, f"node/{node.metadata.name}"
        if deleted:
            self._add(obj, "Deleted", f"Node {name} is gone from the API server.")
        elif before is None:
            self._add(obj, "Created", f"Node {name} joined the cluster.")
        elif node_is_ready(before) != node_is_ready(node):
            self._add(obj, "NodeReady" if node_is_ready(node) else "NodeNotReady",
                      f"Node {name} is {'Ready' if node_is_ready(node) else 'not Ready'}.")

    def _on_event(self, kind: str, ev: client.CoreV1Event) -> None:
        self._local.rv = _rv(ev)
        if kind == "DELETED":
            return
        count = ev.count or 1
        if self._event_counts.get(ev.metadata.uid, 0) >= count:
            return  # an update that did not repeat the event
        self._event_counts[ev.metadata.uid] = count
        if ev.reason in _DUPLICATE_REASONS:
            return
        inv = ev.involved_object
        obj = f"{(inv.namespace + '/') if inv.namespace and len(self.namespaces) > 1 else ''}" \
              f"{(inv.kind or 'object').lower()}/{inv.name}"
        self._add(obj, ev.reason or "Event", (ev.message or "").strip())

    # -- output --------------------------------------------------------------------------------------
    def ordered(self) -> list[dict]:
        """The records in the order they happened: by the ``resourceVersion`` each change was stored at
        (see the module doc), each ``t`` no earlier than the one before, names as recorded. ``events``
        keeps the order the watches delivered them in."""
        with self._lock:
            ranked = sorted(enumerate(self.events), key=lambda ir: (ir[1]["rv"], ir[0]))
        out, t = [], 0.0
        for _, r in ranked:
            t = max(t, r["t"])
            out.append({**r, "t": t})
        return out

    def timeline_records(self, ndigits: int = 2) -> list[dict]:
        """:meth:`ordered`, ``t`` rounded to ``ndigits``, generated names replaced by stable ones
        (``pod/web-1``, ``replicaset/web-rs1`` ...; see :func:`normalise_names`), without the ``rv``
        key: ready for :func:`whyk8s.notebook.recordings.save`."""
        recs = [{"t": round(r["t"], ndigits), "object": r["object"], "what": r["what"], "detail": r["detail"]}
                for r in self.ordered()]
        existing = [(kind, name) for _, _, kind, name in sorted(self._existing, key=lambda e: (e[0], int(e[1] or 0)))]
        return normalise_names(recs, dict(self._generated), existing)

    def table(self):
        """The stable records as a pandas DataFrame (columns t, object, what, detail)."""
        import pandas as pd
        return pd.DataFrame(self.timeline_records(), columns=["t", "object", "what", "detail"])

    def plot(self, title: str = "", ax=None):
        """Draw :meth:`timeline_records` (:func:`whyk8s.notebook.charts.plot_timeline`); returns the Axes.
        Raises ValueError if nothing was recorded."""
        from whyk8s.notebook.charts import plot_timeline
        recs = self.timeline_records()
        if not recs:
            raise ValueError("Nothing was recorded yet: start the recorder before acting on the cluster.")
        return plot_timeline(recs, title, ax=ax)
