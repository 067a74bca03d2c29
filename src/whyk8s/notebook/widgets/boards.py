"""Live boards of the course's pods: :class:`PodBoard` (a table as ``kubectl get pods`` shows it, a
summary and a per-node list) and :class:`PlacementBoard` (nodes as columns, pods as chips, Pending
pods with the scheduler's reason).

Both keep one :class:`PodModel` up to date from the kernel's shared watch on the course's pods and
one :class:`NodeModel` from the shared watch on Nodes (so nodes joining, leaving, turning NotReady
or cordoned show at once). A change costs O(1); a draw costs O(what is shown): at most
:data:`~whyk8s.notebook.html.MAX_ROWS` table rows and :data:`~whyk8s.notebook.html.MAX_CHIPS` chips
per column, whatever the number of pods, and only the parts that changed are sent.
kubectl: ``kubectl get pods -o wide -w -l app.kubernetes.io/part-of=whyk8s``.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from datetime import datetime, timezone
from typing import Callable

import ipywidgets as w
import pandas as pd

from whyk8s.errors import explain
from whyk8s.k8s import objects
from whyk8s.k8s import pods as podfacts
from whyk8s.k8s.guard import Cluster
from whyk8s.notebook import html as render
from whyk8s.notebook.html import MAX_ROWS, NodeRecord, PodRecord, node_record, pod_record
from whyk8s.notebook.widgets.base import RENDER_LOOP, LiveView

__all__ = ["PodModel", "NodeModel", "PodBoard", "PlacementBoard", "MAX_NODE_COLUMNS"]

#: The placement view draws this many worker nodes as their own columns; further nodes are summed
#: per pool in one column each.
MAX_NODE_COLUMNS = 8


class PodModel:
    """The pods a view shows, kept up to date one change at a time.

    ``records`` maps name → :class:`~whyk8s.notebook.html.PodRecord`; ``recent`` orders names by their
    last change (newest last); ``by_status`` counts pods per kubectl STATUS; ``on_node`` maps node
    name → names of pods bound there; ``pending`` holds names not bound to a node; ``used`` maps node
    name → (CPU millicores, memory bytes, GPUs) requested by the pods there that have not ended (a pod
    in phase Succeeded or Failed holds nothing: kube-scheduler does not count it either; the course's
    test sees a 4-GPU pod land beside a finished 1-GPU Job pod on the 4-GPU node); ``dirty_nodes`` collects
    node names (and ``""`` for the pending column) whose pods changed since the last draw. ``keep``
    (optional) selects which pods belong (e.g. one Deployment's).
    """

    def __init__(self, keep: Callable | None = None) -> None:
        self.keep = keep
        self.records: dict[str, PodRecord] = {}
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.by_status: Counter = Counter()
        self.on_node: dict[str, set[str]] = {}
        self.pending: set[str] = set()
        self.used: dict[str, list[int]] = {}
        self.counted: set[str] = set()  # names whose requests are in ``used`` (bound, not ended)
        self.dirty_nodes: set[str] = set()

    def _drop(self, name: str) -> None:
        old = self.records.pop(name, None)
        if old is None:
            return
        self.recent.pop(name, None)
        self.by_status[old.status] -= 1
        if not self.by_status[old.status]:
            del self.by_status[old.status]
        if old.node:
            self.on_node.get(old.node, set()).discard(name)
            if name in self.counted:
                self.counted.discard(name)
                used = self.used.setdefault(old.node, [0, 0, 0])
                used[0] -= old.cpu_m
                used[1] -= old.mem
                used[2] -= old.gpus
        else:
            self.pending.discard(name)
        self.dirty_nodes.add(old.node)

    def apply(self, kind: str, pod) -> bool:
        """Take one watch event (``ADDED``/``MODIFIED``/``DELETED``, a V1Pod). Returns True if the
        view changed."""
        if self.keep is not None and not self.keep(pod):
            if pod.metadata.name in self.records:
                self._drop(pod.metadata.name)
                return True
            return False
        name = pod.metadata.name
        if kind == "DELETED":
            had = name in self.records
            self._drop(name)
            return had
        rec = pod_record(pod)
        ended = bool(pod.status and pod.status.phase in ("Succeeded", "Failed"))
        if self.records.get(name) == rec and (name in self.counted) == (bool(rec.node) and not ended):
            return False  # nothing the views show has changed
        self._drop(name)
        self.records[name] = rec
        self.recent[name] = None
        self.by_status[rec.status] += 1
        if rec.node:
            self.on_node.setdefault(rec.node, set()).add(name)
            if not ended:  # a finished pod stays on the board as a chip but holds no resources
                self.counted.add(name)
                used = self.used.setdefault(rec.node, [0, 0, 0])
                used[0] += rec.cpu_m
                used[1] += rec.mem
                used[2] += rec.gpus
        else:
            self.pending.add(name)
        self.dirty_nodes.add(rec.node)
        return True

    def reset(self, pods: list) -> None:
        """Start again from a full list of V1Pods (after a list or a re-list)."""
        self.__init__(self.keep)
        for pod in pods:
            self.apply("ADDED", pod)

    def table_rows(self, now: datetime | None = None) -> tuple[list[tuple[PodRecord, str]], bool]:
        """The rows a table shows: all pods by name when there are at most MAX_ROWS, else the
        MAX_ROWS most recently changed (newest first). Returns ``(rows, recent_only)``; each row is
        ``(record, AGE text)``."""
        now = now or datetime.now(timezone.utc)
        if len(self.records) <= MAX_ROWS:
            names, recent = sorted(self.records), False
        else:
            names, recent = list(reversed(list(self.recent)[-MAX_ROWS:])), True
        return [(self.records[n], podfacts.age(self.records[n].created, now)) for n in names], recent

    def frame(self) -> pd.DataFrame:
        """Every pod as a DataFrame: ``name``, ``ready``, ``status``, ``restarts``, ``age``, ``node``
        (``""`` if not scheduled), ``why`` (the scheduler's reason), sorted by name."""
        now = datetime.now(timezone.utc)
        rows = [{"name": r.name, "ready": r.ready, "status": r.status, "restarts": r.restarts,
                 "age": podfacts.age(r.created, now), "node": r.node, "why": r.why}
                for r in sorted(self.records.values(), key=lambda r: r.name)]
        return pd.DataFrame(rows, columns=["name", "ready", "status", "restarts", "age", "node", "why"])


class NodeModel:
    """The cluster's nodes as :class:`~whyk8s.notebook.html.NodeRecord` by name; ``changed`` is set
    when one joined, left or changed."""

    def __init__(self) -> None:
        self.records: dict[str, NodeRecord] = {}
        self.changed = True

    def apply(self, kind: str, node) -> bool:
        name = node.metadata.name
        if kind == "DELETED":
            self.records.pop(name, None)
        else:
            rec = node_record(node)
            if self.records.get(name) == rec:
                return False
            self.records[name] = rec
        self.changed = True
        return True

    def reset(self, nodes: list) -> None:
        self.records = {n.metadata.name: node_record(n) for n in nodes}
        self.changed = True

    def workers(self) -> list[NodeRecord]:
        """Worker nodes (not control plane), sorted by name."""
        return [self.records[n] for n in sorted(self.records) if not self.records[n].control_plane]

    def ordered(self) -> list[NodeRecord]:
        """Every node, sorted by name."""
        return [self.records[n] for n in sorted(self.records)]


class _PodView(LiveView):
    """A LiveView of the course's pods in ``cluster.namespace`` and of the Nodes."""

    #: Select a subset of the course's pods (None: all).
    keep: Callable | None = None

    def __init__(self, cluster: Cluster | None = None, **kwargs):
        self.model = PodModel(self.keep)
        self.node_model = NodeModel()
        super().__init__(cluster, **kwargs)

    def _connected(self) -> None:
        self.watch(self.cluster.core.list_node, on_event=self._node_event, on_sync=self._node_sync)
        self.watch(self.cluster.core.list_namespaced_pod, self.cluster.namespace,
                   label_selector=self.cluster.selector, on_event=self._pod_event, on_sync=self._pod_sync)
        self.render()

    def _pod_event(self, kind: str, pod) -> None:
        with self.lock:
            changed = self.model.apply(kind, pod)
        if changed:
            self.request_render()

    def _pod_sync(self, pods: list) -> None:
        with self.lock:
            self.model.reset(pods)

    def _node_event(self, kind: str, node) -> None:
        with self.lock:
            changed = self.node_model.apply(kind, node)
        if changed:
            self.request_render()

    def _node_sync(self, nodes: list) -> None:
        with self.lock:
            self.node_model.reset(nodes)

    @property
    def pods(self) -> dict[str, PodRecord]:
        """The pods the view shows now, by name (:class:`~whyk8s.notebook.html.PodRecord`)."""
        with self.lock:
            return dict(self.model.records)

    def data(self) -> pd.DataFrame:
        """The view's pods as a DataFrame (see :meth:`PodModel.frame`)."""
        with self.lock:
            return self.model.frame()


class PodBoard(_PodView):
    """A live table of the course's pods with kubectl's columns (NAME, READY, STATUS — e.g.
    ``CrashLoopBackOff``, not just the phase —, RESTARTS, AGE) plus the NODE, a one-line summary per
    STATUS, and a per-node list. A pod the scheduler cannot place shows the scheduler's reason under
    its name. Beyond :data:`~whyk8s.notebook.html.MAX_ROWS` pods the table shows the most recently
    changed ones (:meth:`data` has all). AGE counts on by itself.

    Parts (HTML widgets): ``summary``, ``table``, ``by_node``, ``status``; ``cleanup_button`` deletes
    every course-labelled object (:func:`whyk8s.k8s.objects.cleanup`). Call :meth:`stop` (or
    ``close()``) when done.
    """

    def _build(self) -> None:
        self.summary = w.HTML().add_class("whyk8s-board-summary")
        self.table = w.HTML().add_class("whyk8s-board")
        self.by_node = w.HTML().add_class("whyk8s-board-nodes")
        self.cleanup_button = w.Button(description="Clean up", icon="trash",
                                       tooltip="Delete everything the course created").add_class("whyk8s-cleanup")
        self.cleanup_button.on_click(lambda _b: self.cleanup())

    def _body(self) -> list:
        return [self.summary, self.table, self.by_node, w.HBox([self.cleanup_button]), self.status]

    def _connected(self) -> None:
        super()._connected()
        self.inform(f"Watching the course's pods in namespace {self.cluster.namespace!r}.")

    def render(self) -> int:
        now = datetime.now(timezone.utc)
        with self.lock:
            rows, recent = self.model.table_rows(now)
            total = len(self.model.records)
            summary = render.pod_summary_html(dict(self.model.by_status), total)
            table = render.pod_table_html(rows, total, recent)
            nodes = render.by_node_html(self.node_model.ordered(),
                                        {n: list(names) for n, names in self.model.on_node.items() if names},
                                        len(self.model.pending))
            youngest = min(((now - r.created).total_seconds() for r, _ in rows if r.created), default=None)
        sent = self.set_value(self.summary, summary) + self.set_value(self.table, table) \
            + self.set_value(self.by_node, nodes)
        if youngest is not None:  # AGE moves on: draw again when it will have changed
            RENDER_LOOP.tick(self, 1.0 if youngest < 120 else 10.0)
        return sent

    def cleanup(self) -> str:
        """Delete every course-labelled object and wait until they are gone. Returns the sentence shown."""
        if self.cluster is None:
            return "Not connected to the course cluster: press Retry."
        self.inform("Cleaning up ...")
        try:
            counts = objects.cleanup(self.cluster)
        except Exception as exc:  # noqa: BLE001 - shown in place
            return self.say(explain(exc))
        what = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(counts.items())) or "nothing"
        return self.say(f"Cleaned up: deleted {what}.", ok=True)


class PlacementBoard(_PodView):
    """Where the scheduler put the course's pods: one column per worker node (pool, taints,
    allocatable CPU millicores, memory GiB and GPUs against what its course pods request, and the
    pods as chips), plus a Pending column whose chips carry the scheduler's reason. Nodes that join,
    leave, turn NotReady or are cordoned show at once. With more than :data:`MAX_NODE_COLUMNS`
    workers, the rest are summed per pool.

    ``view`` is the HBox of columns (one HTML widget per column: only changed columns are sent);
    ``status`` (HTML). :meth:`stop` ends the watches.
    """

    def _build(self) -> None:
        self.view = w.HBox(layout=w.Layout(flex_flow="row wrap", align_items="flex-start")).add_class("whyk8s-placement")
        self.columns: dict[str, w.HTML] = {}
        self.pending_column = w.HTML().add_class("whyk8s-pending-column")

    def _body(self) -> list:
        return [self.view, self.status]

    def _connected(self) -> None:
        super()._connected()
        self.inform(self.scope_note())

    #: What a participant (who may not list pods outside their namespace) is told under the board.
    YOURS_ONLY = ("Your pods only: the requests on each node count the pods of namespace {ns}; others' use "
                  "of these shared nodes is not visible to you (your account may not list pods in other "
                  "namespaces), so a node that looks empty here may be full.")

    def scope_note(self) -> str:
        """The board's status line: what the chips and the request totals cover. For a user who may not
        list pods across namespaces (a workshop participant) it says that others' use is not visible."""
        from whyk8s.k8s.rights import Access, can
        text = (f"Live: each chip is a course pod of namespace {self.cluster.namespace}, in the column of its "
                f"node; a node's totals count the requests of those that have not ended.")
        try:
            across = can(self.cluster, Access("list", "pods"))
        except Exception:  # noqa: BLE001 - the note is a courtesy: say the cautious thing
            across = False
        return text if across else text + " " + self.YOURS_ONLY.format(ns=self.cluster.namespace)

    def html(self) -> str:
        """All columns' HTML joined (what the view shows, as one string)."""
        return "".join(c.value for c in self.view.children)

    def render(self) -> int:
        with self.lock:
            workers = self.node_model.workers()
            shown, rest = workers[:MAX_NODE_COLUMNS], workers[MAX_NODE_COLUMNS:]
            layout_changed = self.node_model.changed or set(self.columns) != {n.name for n in shown} | (
                {f"pool:{n.pool}" for n in rest})
            dirty = set(self.model.dirty_nodes) if not layout_changed else None
            self.model.dirty_nodes.clear()
            self.node_model.changed = False
            values: dict[str, str] = {}
            for n in shown:
                if dirty is None or n.name in dirty:
                    pods = [self.model.records[p] for p in sorted(self.model.on_node.get(n.name, ()))]
                    values[n.name] = render.node_column_html(n, pods, tuple(self.model.used.get(n.name, (0, 0, 0))))
            pools: dict[str, list[NodeRecord]] = {}
            for n in rest:
                pools.setdefault(n.pool or "other", []).append(n)
            for pool, nodes in pools.items():
                if dirty is None or any(n.name in dirty for n in nodes):
                    used = [sum(self.model.used.get(n.name, (0, 0, 0))[i] for n in nodes) for i in range(3)]
                    cap = (sum(n.cpu_m for n in nodes), sum(n.mem for n in nodes), sum(n.gpus for n in nodes))
                    pods = sum(len(self.model.on_node.get(n.name, ())) for n in nodes)
                    values[f"pool:{pool}"] = render.other_nodes_html(pool, len(nodes), pods, tuple(used), cap)
            pending = None
            if dirty is None or "" in dirty or any(d not in self.node_model.records for d in dirty):
                pending = render.pending_column_html([self.model.records[p] for p in sorted(self.model.pending)])
            order = [n.name for n in shown] + [f"pool:{p}" for p in pools]
        sent = 0
        if layout_changed:
            for key in order:
                self.columns.setdefault(key, w.HTML().add_class("whyk8s-column"))
            for key in set(self.columns) - set(order):
                self.columns.pop(key).close()
            self.view.children = [self.columns[k] for k in order] + [self.pending_column]
        for key, value in values.items():
            sent += self.set_value(self.columns[key], value)
        if pending is not None:
            sent += self.set_value(self.pending_column, pending)
        return sent
