"""What happens in the course's namespaces, as a timeline ordered by when it happened.

:class:`EventRecorder` watches the objects that take part in self-healing, scaling, rolling updates
and preemption — Deployments, ReplicaSets and Pods carrying the course label (and, if asked, the
Nodes) — and writes down each step it sees, the moment its watch delivers the change. Each
collection has its own watch, and under load one watch may deliver its news before another: the
pod watch may bring a pod before the ReplicaSet watch brings the ReplicaSet that created it. So
before recording a step of an object, the recorder brings the object's controller up to date (it
reads it from the API server when it never saw it, or when the step suggests its spec changed):
the Deployment scales its ReplicaSet *before* the ReplicaSet creates pods, in the records too.
(Kubernetes *Events* are no clock for this: the controllers send them asynchronously, in batches,
often after the change they describe — which is why an earlier version of this timeline showed pods
created before the ReplicaSet that created them.) Events are still recorded, for what no object
change shows (``FailedCreate``, ``BackOff``, ``Pulled`` …).

Each record is one dict::

    {"t": 1.23,                      # seconds since start() (when the watch delivered the change)
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
                      "FailedScheduling", "Preempted", "Killing", "RegisteredNode", "RemovingNode"}
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


def normalise_names(records: list[dict], generated: dict[str, str] | None = None) -> list[dict]:
    """Replace generated pod and ReplicaSet names (random hashes) by ``<base>-1``, ``<base>-2`` ... in
    order of first appearance, in ``object`` and in ``detail``. ``generated`` maps names known to be
    generated to their base (from ``metadata.generateName``); other names are recognised by their
    hash suffixes. Names people chose (no suffix) stay as they are. Returns new dicts."""
    generated = generated or {}
    mapping: dict[str, str] = {}
    counters: dict[tuple[str, str], int] = {}
    for rec in records:
        kind, name = rec["object"].split("/")[-2:]
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
        self._seen: dict[str, object] = {}
        self._owned: dict[str, set[str]] = {}
        self._gone: set[str] = set()  # uids of controllers found deleted
        self._event_counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._handling = threading.RLock()  # one change at a time, whichever watch thread delivers it
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

            def on_sync(objs, handler=handler, baseline=baseline):
                with self._handling:
                    if not baseline.is_set():  # the state at start(): remember it, record nothing
                        for obj in objs:
                            self._remember(obj)
                        baseline.set()
                    else:  # a list after an outage or a 410: record what changed meanwhile
                        for obj in objs:
                            handler("MODIFIED" if self._key(obj) in self._seen else "ADDED", obj)

            def on_event(kind, obj, handler=handler):
                with self._handling:
                    handler(kind, obj)

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
        if isinstance(obj, client.V1Pod):
            self._track_owned(obj, deleted=False)

    def _add(self, obj: str, what: str, detail: str) -> None:
        rec = {"t": round(time.monotonic() - self._t0, 3), "object": obj, "what": what, "detail": detail}
        with self._lock:
            self.events.append(rec)
        for fn in list(self.on_record):
            try:
                fn(rec)
            except Exception:  # noqa: BLE001 - a bad hook must not stop the recording
                pass

    def _change(self, kind: str, obj) -> tuple[object | None, bool]:
        """(the object as last seen or None, deleted?) and remember the new state."""
        key = self._key(obj)
        before = self._seen.get(key)
        if kind == "DELETED":
            self._seen.pop(key, None)
        else:
            self._remember(obj)
        return before, kind == "DELETED"

    def _owner_now(self, obj, kind: str):
        """The current state of ``obj``'s controller of ``kind`` (read from the API server), or None."""
        owner = podfacts.controller_of(obj)
        if owner is None or owner.kind != kind or owner.uid in self._gone:
            return None
        read = {"Deployment": self.cluster.apps.read_namespaced_deployment,
                "ReplicaSet": self.cluster.apps.read_namespaced_replica_set}[kind]
        try:
            now = read(owner.name, obj.metadata.namespace, _request_timeout=10)
        except client.ApiException as exc:
            if exc.status == 404:
                self._gone.add(owner.uid)  # being garbage-collected with its pods: ask once, not per pod
            return None
        except Exception:  # noqa: BLE001 - the cluster does not answer: record what we have
            return None
        if now.metadata.uid != owner.uid:
            self._gone.add(owner.uid)  # a new object under the old name
            return None
        return now

    def _cause_first(self, obj, kind: str, handler: Callable, spec_changed: bool = False) -> None:
        """Record what ``obj``'s controller did before what ``obj`` did: each collection has its own
        watch, so the ReplicaSet's watch may deliver its news after the pod's watch delivered the pod
        it created. Reads the controller when it was never seen, or when ``spec_changed`` (this
        object's spec changed: its controller's may have too)."""
        owner = podfacts.controller_of(obj)
        if owner is None or owner.kind != kind:
            return
        seen = self._seen.get(f"{'V1' + kind}/{obj.metadata.namespace or ''}/{owner.name}")
        if seen is not None and not spec_changed:
            return
        now = self._owner_now(obj, kind)
        if now is not None and (seen is None or seen.metadata.resource_version != now.metadata.resource_version):
            handler("MODIFIED" if seen is not None else "ADDED", now)

    def _stale(self, kind: str, obj) -> bool:
        """True for a watch event older than the state :meth:`_cause_first` already read (its spec
        generation is lower): it must not be recorded as a change back."""
        known = self._seen.get(self._key(obj)) if kind != "DELETED" else None
        return known is not None and (obj.metadata.generation or 0) < (known.metadata.generation or 0)

    def _on_deployment(self, kind: str, dep: client.V1Deployment) -> None:
        if self._stale(kind, dep):
            return
        before, deleted = self._change(kind, dep)
        name, obj = dep.metadata.name, self._object("deployment", dep)
        if deleted:
            self._add(obj, "Deleted", f"Deployment {name} is gone from the API server.")
        elif before is None:
            self._add(obj, "Created", f"Deployment {name} wants {dep.spec.replicas} replicas.")
        else:
            if before.spec.replicas != dep.spec.replicas:
                self._add(obj, "Scaled", f"Deployment {name} now wants {dep.spec.replicas} replicas "
                                         f"(was {before.spec.replicas}).")
            if before.spec.template != dep.spec.template:
                images = ", ".join(c.image for c in dep.spec.template.spec.containers)
                self._add(obj, "Updated", f"Deployment {name} has a new pod template (image {images}).")

    def _on_replicaset(self, kind: str, rs: client.V1ReplicaSet) -> None:
        if self._stale(kind, rs):
            return
        if kind != "DELETED":
            known = self._seen.get(self._key(rs))
            if known is None or known.spec.replicas != rs.spec.replicas:  # created or scaled: by its Deployment
                self._cause_first(rs, "Deployment", self._on_deployment, spec_changed=True)
        before, deleted = self._change(kind, rs)
        name, obj = rs.metadata.name, self._object("replicaset", rs)
        if deleted:
            self._add(obj, "Deleted", f"ReplicaSet {name} is gone from the API server.")
        elif before is None:
            owner = podfacts.controller_of(rs)
            by = f" by {owner.kind} {owner.name}" if owner else ""
            self._add(obj, "Created", f"ReplicaSet {name} was created{by}; it wants {rs.spec.replicas} pods.")
        elif before.spec.replicas != rs.spec.replicas:
            self._add(obj, "Scaled", f"ReplicaSet {name} now wants {rs.spec.replicas} pods (was {before.spec.replicas}).")

    def _on_pod(self, kind: str, pod: client.V1Pod) -> None:
        if kind != "DELETED":
            known = self._seen.get(self._key(pod))
            if known is None:
                self._cause_first(pod, "ReplicaSet", self._on_replicaset,
                                  spec_changed=self._replicas_disagree(pod, live=True))
            elif podfacts.is_terminating(pod) and not podfacts.is_terminating(known) \
                    and self._replicas_disagree(pod, live=False):
                self._cause_first(pod, "ReplicaSet", self._on_replicaset, spec_changed=True)
        before, deleted = self._change(kind, pod)
        self._track_owned(pod, deleted)
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

    def _replicas_disagree(self, pod: client.V1Pod, live: bool) -> bool:
        """True when ``pod`` appearing (``live``) or going would leave its ReplicaSet with more, or
        fewer, live pods than it wanted when last seen: the ReplicaSet was scaled and its watch has
        not told us yet."""
        owner = podfacts.controller_of(pod)
        if owner is None or owner.kind != "ReplicaSet":
            return False
        rs = self._seen.get(f"V1ReplicaSet/{pod.metadata.namespace or ''}/{owner.name}")
        if rs is None:
            return False
        count = len(self._owned.get(owner.uid, ()))
        return count + 1 > (rs.spec.replicas or 0) if live else count - 1 < (rs.spec.replicas or 0)

    def _track_owned(self, pod: client.V1Pod, deleted: bool) -> None:
        """Keep the live pods of each controller (uid → pod keys), for :meth:`_replicas_disagree`."""
        owner = podfacts.controller_of(pod)
        if owner is None:
            return
        pods = self._owned.setdefault(owner.uid, set())
        if deleted or podfacts.is_terminating(pod):
            pods.discard(self._key(pod))
        else:
            pods.add(self._key(pod))

    def _on_node(self, kind: str, node: client.V1Node) -> None:
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
    def timeline_records(self, ndigits: int = 2) -> list[dict]:
        """The records in the order they happened, ``t`` rounded to ``ndigits``, generated names
        replaced by stable ones (``pod/web-1``, ``replicaset/web-rs1`` ...; see
        :func:`normalise_names`): ready for :func:`whyk8s.notebook.recordings.save`."""
        with self._lock:
            recs = [{**r, "t": round(r["t"], ndigits)} for r in self.events]
        return normalise_names(recs, dict(self._generated))

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
