"""The live node board: :class:`NodeBoard`.

Every worker Node with its pool, who made it (the course's layout or Karpenter), its instance type,
GPUs, Ready and age; below, the Nodes that joined, became Ready and left since the board started,
newest first. Live from the kernel's shared watch on Nodes (list then watch, never polling), so a Node
Karpenter creates shows as soon as the API server has it; ages are redrawn every few seconds. Through
a cluster outage it says so once and resyncs by itself, recording the Nodes that came or went
meanwhile (:class:`~whyk8s.notebook.widgets.base.LiveView`). The records are
:class:`whyk8s.lessons.gpu_pools.NodeTracker`'s. kubectl: ``kubectl get nodes -w -L whyk8s.io/pool -L
node.kubernetes.io/instance-type``.
"""

from __future__ import annotations

from datetime import datetime, timezone

import ipywidgets as w
import pandas as pd

from whyk8s.lessons.gpu_pools import NodeTracker
from whyk8s.notebook import html as render
from whyk8s.notebook.widgets.base import RENDER_LOOP, LiveView

__all__ = ["NodeBoard", "AGE_TICK"]

#: Seconds between two redraws of the ages.
AGE_TICK = 5.0


class NodeBoard(LiveView):
    """A live board of the cluster's Nodes (see the module docstring). Parts (HTML widgets): ``table``
    (one row per Node), ``changes`` (joined / ready / left, newest first), ``status``. :meth:`data` and
    :meth:`changes_seen` give what it shows. Without a course cluster it shows the panel with a Retry
    button. :meth:`stop` (or ``close()``) ends its watch."""

    def _build(self) -> None:
        self.table = w.HTML().add_class("whyk8s-board")
        self.changes = w.HTML().add_class("whyk8s-board-changes")
        self.tracker = NodeTracker()

    def _body(self) -> list:
        return [self.table, self.changes, self.status]

    def _connected(self) -> None:
        self.watch(self.cluster.core.list_node, on_event=self._event, on_sync=self._sync)
        self.render()
        self.inform("Live: the cluster's Nodes, from a watch.")

    def _event(self, kind: str, node) -> None:
        with self.lock:
            changed = self.tracker.apply(kind, node, datetime.now(timezone.utc))
        if changed:
            self.request_render()

    def _sync(self, nodes: list) -> None:
        with self.lock:
            self.tracker.resync(nodes, datetime.now(timezone.utc))

    def data(self) -> pd.DataFrame:
        """What the table shows: one :func:`whyk8s.lessons.gpu_pools.node_row` per Node."""
        with self.lock:
            rows = self.tracker.rows(datetime.now(timezone.utc))
        return pd.DataFrame(rows, columns=["node", "pool", "made_by", "instance_type", "gpus", "ready", "age_s"])

    def changes_seen(self) -> list[dict]:
        """The changes seen so far, oldest first (:class:`~whyk8s.lessons.gpu_pools.NodeTracker`)."""
        with self.lock:
            return list(self.tracker.changes)

    def render(self) -> int:
        now = datetime.now(timezone.utc)
        with self.lock:
            rows = self.tracker.rows(now)
            changes = list(self.tracker.changes)
        sent = self.set_value(self.table, render.node_board_html(rows))
        sent += self.set_value(self.changes, render.node_changes_html(changes, now))
        if self._subs:  # still watching: the ages move on
            RENDER_LOOP.tick(self, AGE_TICK)
        return sent
