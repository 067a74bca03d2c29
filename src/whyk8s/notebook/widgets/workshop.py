"""The instructor's live dashboard of a workshop: :class:`WorkshopBoard`.

One row per participant: pods by phase, the quota used of hard (CPU, memory, pods), how many lab
checks pass and which, and who is stuck (a check failing for more than ``stuck_after`` seconds with
nothing passed since), with the failing check's sentence. The data are
:func:`whyk8s.cluster.dashboard.participant_rows` of a :class:`~whyk8s.cluster.dashboard.Room` (four
of the kernel's shared watches: namespaces, pods, ResourceQuotas, progress ConfigMaps; list then
watch, never polling). Through a cluster outage it says so once, in place, and resyncs by itself;
the view is drawn again when the next participant's threshold passes (and every :data:`TICK`
seconds), so that "stuck" appears as time passes without any change in the cluster. Run it with the instructor's kubeconfig::

    from whyk8s.notebook.widgets.workshop import WorkshopBoard
    WorkshopBoard(stuck_after=300)

kubectl: ``kubectl get pods,resourcequotas,configmaps -A -l app.kubernetes.io/part-of=whyk8s -w``.
"""

from __future__ import annotations

import ipywidgets as w

from whyk8s.cluster import dashboard
from whyk8s.k8s.guard import Cluster, connect
from whyk8s.notebook.html import esc
from whyk8s.notebook.widgets.base import RENDER_LOOP, LiveView

__all__ = ["WorkshopBoard", "board_html", "TICK"]

#: Seconds between two draws when nothing changes (the "stuck" column depends on the time).
TICK = 15.0


def _cell(used: str) -> str:
    return f"<td><code>{esc(used)}</code></td>"


def board_html(rows: list[dict]) -> str:
    """The dashboard's table of :func:`whyk8s.cluster.dashboard.participant_rows` rows: stuck
    participants first (with the check and its sentence), then the others by name. No rows: a note
    that no workshop is up."""
    if not rows:
        return "<span class='whyk8s-note'>No workshop participant on this cluster: run `whyk8s workshop up`.</span>"
    stuck = sum(r["stuck"] for r in rows)
    head = (f"<div><b>{len(rows)} participants</b>, <span class='whyk8s-stuck-count'>{stuck} stuck</span> "
            f"<span class='whyk8s-note'>(a check failing for more than the threshold, nothing passed since)</span></div>")
    body = []
    for r in sorted(rows, key=lambda r: (not r["stuck"], r["participant"])):
        if r["stuck"]:
            sentence = r["sentences"].get(r["stuck_on"], "")
            state = (f"<td class='s-bad'>stuck {r['stuck_minutes']:g} min on <code>{esc(r['stuck_on'])}</code>"
                     f"<div class='whyk8s-why'>{esc(sentence)}</div></td>")
        elif r["failing"]:
            state = f"<td class='s-wait'>working on {esc(', '.join(r['failing']))}</td>"
        else:
            state = "<td class='s-ok'>ok</td>"
        checks = (f"<td>{len(r['passed'])} <span class='whyk8s-note'>{esc(' '.join(r['passed']))}</span></td>")
        body.append(f"<tr class='whyk8s-participant'><td><b>{esc(r['participant'])}</b></td>{state}"
                    f"<td class='s-ok'>{r['running']}</td><td class='s-wait'>{r['pending']}</td>"
                    f"<td class='s-done'>{r['succeeded']}</td><td class='s-bad'>{r['failed']}</td>"
                    f"{_cell(r['cpu'])}{_cell(r['memory'])}{_cell(r['pods'])}{checks}</tr>")
    return (head + "<table class='whyk8s-table whyk8s-workshop'><thead><tr><th>participant</th><th>state</th>"
            "<th>running</th><th>pending</th><th>succeeded</th><th>failed</th><th>CPU used/hard</th>"
            "<th>memory used/hard</th><th>pods used/hard</th><th>checks passed</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


class WorkshopBoard(LiveView):
    """The instructor's live dashboard (see the module docstring). Parts (HTML widgets): ``table``,
    ``status``. :meth:`data` gives the rows it shows as a DataFrame, :meth:`rows` as dicts.
    ``stuck_after`` is in seconds (default 300). Without a cluster it shows the panel with a Retry
    button; :meth:`stop` (or ``close()``) ends its watches. It does not create the course namespace
    (the instructor's cluster may be one the course only reads)."""

    def __init__(self, cluster: Cluster | None = None, stuck_after: float = dashboard.STUCK_AFTER, **kwargs):
        self.stuck_after = stuck_after
        self.room: dashboard.Room | None = None
        super().__init__(cluster, **kwargs)

    def retry(self, cluster: Cluster | None = None) -> bool:
        if cluster is None:
            try:
                cluster = connect(create_namespace=False)
            except Exception:  # noqa: BLE001 - the base class tries again and shows the panel with why
                cluster = None
        return super().retry(cluster)

    def _build(self) -> None:
        self.table = w.HTML().add_class("whyk8s-board")

    def _body(self) -> list:
        return [self.table, self.status]

    def _connected(self) -> None:
        self.room = dashboard.Room(self.cluster, on_change=self.request_render, on_error=self._error,
                                   on_sync=self._resynced, stuck_after=self.stuck_after)
        self.render()
        self.inform("Live: the participants' pods, quotas and check results, from watches.")

    def _resynced(self, count: int) -> None:
        if self._failing:
            self._failing = False
            self.say(f"The cluster answers again: the view was resynced ({count} objects).", ok=True)

    def rows(self) -> list[dict]:
        """:meth:`whyk8s.cluster.dashboard.Room.rows` now (empty before connecting)."""
        return self.room.rows() if self.room is not None else []

    def data(self):
        """The rows as a DataFrame (:func:`whyk8s.cluster.dashboard.rows_frame`)."""
        return dashboard.rows_frame(self.rows())

    def render(self) -> int:
        rows = self.rows()
        sent = self.set_value(self.table, board_html(rows))
        # drawn again when the next participant would turn stuck, and every TICK seconds (ages)
        soon = [r["stuck_in"] for r in rows if r["stuck_in"] is not None]
        RENDER_LOOP.tick(self, min([TICK] + [s + 0.2 for s in soon]))
        return sent

    def stop(self) -> None:
        room, self.room = getattr(self, "room", None), None
        if room is not None:
            room.stop()
        super().stop()
