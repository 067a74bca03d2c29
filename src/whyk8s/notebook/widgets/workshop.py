"""The instructor's live dashboard of a workshop (:class:`WorkshopBoard`) and the participants' live,
read-only view of the instructor's demonstrations (:class:`DemonstrationView`).

One row per participant: when their token expires (UTC), pods by phase, the quota used of hard (CPU in
millicores, memory in MiB, pods), how many lab checks have passed and which, and who is stuck (a check
never passed, failing for more than ``stuck_after`` seconds, with no other check of theirs run since:
:mod:`whyk8s.cluster.dashboard`), with the failing check's sentence. The data are
:func:`whyk8s.cluster.dashboard.participant_rows` of a :class:`~whyk8s.cluster.dashboard.Room` (four
of the kernel's shared watches: namespaces, pods, ResourceQuotas, progress ConfigMaps; list then
watch, never polling). Through a cluster outage it says so once, in place, and resyncs by itself;
the view is drawn again when the next participant's threshold passes (and every :data:`TICK`
seconds), so that "stuck" appears as time passes without any change in the cluster. Run it with the instructor's kubeconfig::

    from whyk8s.notebook.widgets.workshop import WorkshopBoard
    WorkshopBoard(stuck_after=300)

kubectl: ``kubectl get pods,resourcequotas,configmaps -A -l app.kubernetes.io/part-of=whyk8s -w``.

A step that needs cluster-wide rights (failing or draining a node, creating PriorityClasses,
advertising GPUs) is the instructor's demonstration in a workshop: the participant's cell shows that
sentence (:class:`whyk8s.k8s.rights.InstructorDemonstration`) and, below it,
:func:`show_demonstration`'s :class:`DemonstrationView`: the course's
:class:`~whyk8s.notebook.widgets.boards.PlacementBoard` of the instructor's demonstration namespace
(``whyk8s``) and of the Nodes, live, with the participant's own kubeconfig, which may only get, list
and watch there (:func:`whyk8s.cluster.workshop.watch_rules`). So when the instructor runs the same cell,
each participant sees the node turn NotReady and the instructor's pods move to the other nodes.
kubectl (as the participant): ``kubectl get pods -n whyk8s -o wide -w``.
"""

from __future__ import annotations

import dataclasses

import ipywidgets as w

from whyk8s.cluster import dashboard
from whyk8s.cluster.workshop import demonstration_namespace
from whyk8s.k8s.guard import Cluster, connect, is_workshop_context
from whyk8s.notebook.html import esc
from whyk8s.notebook.widgets.base import RENDER_LOOP, LiveView
from whyk8s.notebook.widgets.boards import PlacementBoard

__all__ = ["WorkshopBoard", "board_html", "TICK", "DemonstrationView", "show_demonstration",
           "demonstration_cluster"]

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
            f"<span class='whyk8s-note'>(a check never passed, failing for more than the threshold, no other "
            f"check run since); memory in MiB, CPU in millicores</span></div>")
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
        expires = dashboard.short_time(r.get("token_expires"))
        body.append(f"<tr class='whyk8s-participant'><td><b>{esc(r['participant'])}</b></td>{state}"
                    f"<td class='s-ok'>{r['running']}</td><td class='s-wait'>{r['pending']}</td>"
                    f"<td class='s-done'>{r['succeeded']}</td><td class='s-bad'>{r['failed']}</td>"
                    f"{_cell(r['cpu'])}{_cell(r['memory'])}{_cell(r['pods'])}{checks}"
                    f"<td class='whyk8s-expires'>{esc(expires)}</td></tr>")
    return (head + "<table class='whyk8s-table whyk8s-workshop'><thead><tr><th>participant</th><th>state</th>"
            "<th>running</th><th>pending</th><th>succeeded</th><th>failed</th><th>CPU used/hard</th>"
            "<th>memory used/hard (MiB)</th><th>pods used/hard</th><th>checks passed</th><th>token expires (UTC)</th></tr></thead>"
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


# -- the participants' view of the instructor's demonstrations -----------------------------------
def demonstration_cluster(cluster: Cluster | None = None) -> Cluster | None:
    """``cluster`` (default: :func:`~whyk8s.k8s.guard.connect` with the kernel's kubeconfig) pointed at
    the instructor's demonstration namespace, when its kubeconfig is a workshop participant's and may
    watch pods there (one SelfSubjectAccessReview); else None (the instructor's own kubeconfig, a
    learner's own cluster, or a workshop made before the watch Role existed)."""
    from whyk8s.k8s.rights import Access, can
    cluster = cluster or connect(create_namespace=False)
    if not is_workshop_context(cluster.context):
        return None
    demo = dataclasses.replace(cluster, namespace=demonstration_namespace())
    return demo if can(demo, Access("watch", "pods", namespace=demo.namespace)) else None


class DemonstrationView(PlacementBoard):
    """A live, read-only :class:`~whyk8s.notebook.widgets.boards.PlacementBoard` of the instructor's
    demonstration namespace and the Nodes, for a workshop participant (module docstring). ``cluster``:
    the participant's connection (its namespace is replaced by the demonstration namespace). It offers
    no button: the participant's rights there are get, list and watch. :meth:`stop` ends its watches."""

    def __init__(self, cluster: Cluster | None = None, **kwargs):
        self.title = w.HTML().add_class("whyk8s-demonstration")
        super().__init__(cluster, **kwargs)

    def retry(self, cluster: Cluster | None = None) -> bool:
        if cluster is None:
            try:
                cluster = demonstration_cluster()
            except Exception:  # noqa: BLE001 - the base class tries again and shows the panel with why
                cluster = None
        elif cluster.namespace != demonstration_namespace():
            cluster = dataclasses.replace(cluster, namespace=demonstration_namespace())
        return super().retry(cluster)

    def _body(self) -> list:
        return [self.title, *super()._body()]

    def _connected(self) -> None:
        self.title.value = (f"<b>The instructor's demonstration, live</b> <span class='whyk8s-note'>(read-only: "
                            f"the instructor's pods in namespace {esc(self.cluster.namespace)} in the columns "
                            f"of their nodes, as the instructor runs this step)</span>")
        super()._connected()


_current: DemonstrationView | None = None
_shown_in: set = set()


def show_demonstration(cluster: Cluster | None = None, display: bool = True) -> DemonstrationView | None:
    """Below an instructor's-demonstration sentence, in a workshop participant's kernel: display a
    :class:`DemonstrationView` (once per cell; the previous one stops watching and keeps its last
    frame, so a notebook holds one live view). Returns it, or None where there is nothing to show (see
    :func:`demonstration_cluster`) or the cluster does not answer; never raises."""
    global _current
    try:
        from IPython import get_ipython
        shell = get_ipython()
        count = shell.execution_count if shell is not None else None
        if count is not None and count in _shown_in:
            return None
        demo = demonstration_cluster(cluster)
        if demo is None:
            return None
        if _current is not None:
            _current.stop()
        _current = DemonstrationView(demo)
        if count is not None:
            _shown_in.add(count)
        if display:
            from IPython.display import display as show
            show(_current)
        return _current
    except Exception:  # noqa: BLE001 - the sentence above is shown already; the view is a bonus
        return None
