"""The live queue board of Kueue: :class:`QueueBoard`.

Per course ClusterQueue and flavor: Workloads pending / admitted / finished, and per resource the quota
used of the nominal quota and the part borrowed from the cohort; below, each waiting Workload with
Kueue's reason (e.g. "insufficient unused quota for nvidia.com/gpu", or ``Preempted``); above, any
ClusterQueue Kueue marks inactive. Live from three of the kernel's shared watches (ClusterQueues,
LocalQueues, Workloads: list then watch, never polling), so an admission shows as soon as Kueue writes
it; through a cluster outage it says so once and resyncs by itself (:class:`~whyk8s.notebook.widgets.
base.LiveView`). The data are :func:`whyk8s.lessons.queueing.board_from_objects` and
:func:`~whyk8s.lessons.queueing.waiting_reasons` of the watched objects.
kubectl: ``kubectl get clusterqueues -w`` and ``kubectl get workloads -A -w``.
"""

from __future__ import annotations

import ipywidgets as w
import pandas as pd
from kubernetes import client

from whyk8s import PART_OF_LABEL
from whyk8s.errors import CourseError
from whyk8s.k8s.informer import object_key
from whyk8s.lessons import queueing
from whyk8s.notebook import html as render
from whyk8s.notebook.widgets.base import LiveView

__all__ = ["QueueBoard"]

_COLLECTIONS = ("clusterqueues", "localqueues", "workloads")


class QueueBoard(LiveView):
    """A live board of the course's Kueue queues (see the module docstring). Parts (HTML widgets):
    ``table`` (per ClusterQueue and flavor), ``waiting`` (pending Workloads and why), ``status``.
    :meth:`data` and :meth:`waiting_reasons` give what it shows. Off the kwok cluster, or before Kueue
    is installed, it shows the panel with the sentence saying why and a Retry button. :meth:`stop`
    (or ``close()``) ends its watches."""

    def _build(self) -> None:
        self.table = w.HTML().add_class("whyk8s-board")
        self.waiting = w.HTML().add_class("whyk8s-board-waiting")
        self.objects: dict[str, dict[str, dict]] = {c: {} for c in _COLLECTIONS}

    def _body(self) -> list:
        return [self.table, self.waiting, self.status]

    def _connected(self) -> None:
        problem = queueing.kueue_problem(self.cluster)
        api = client.CustomObjectsApi(self.cluster.api)
        selectors = {"clusterqueues": {"label_selector": f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]}"}}
        try:
            for plural in _COLLECTIONS:
                self.watch(api.list_cluster_custom_object, queueing.GROUP, queueing.VERSION, plural,
                           on_event=self._event(plural), on_sync=self._sync(plural), **selectors.get(plural, {}))
        except client.ApiException as exc:
            if exc.status == 404:  # Kueue's CRDs are not there
                raise CourseError(problem or "Kueue is not installed on the course cluster: run `whyk8s kueue up`.") \
                    from None
            raise
        self.render()
        if problem:
            self.say(problem)
        else:
            self.inform("Live: Kueue's ClusterQueues and Workloads, from watches.")

    def _event(self, plural: str):
        def on_event(kind: str, obj: dict) -> None:
            with self.lock:
                if kind == "DELETED":
                    self.objects[plural].pop(object_key(obj), None)
                else:
                    self.objects[plural][object_key(obj)] = obj
            self.request_render()
        return on_event

    def _sync(self, plural: str):
        def on_sync(objs: list) -> None:
            with self.lock:
                self.objects[plural] = {object_key(o): o for o in objs}
        return on_sync

    def _lists(self) -> tuple[list, list, list]:
        with self.lock:
            return tuple(list(self.objects[c].values()) for c in _COLLECTIONS)

    def data(self) -> pd.DataFrame:
        """What the board shows: :func:`whyk8s.lessons.queueing.board_from_objects` of the watched objects."""
        return queueing.board_from_objects(*self._lists())

    def waiting_reasons(self) -> list[dict]:
        """The waiting Workloads and why: :func:`whyk8s.lessons.queueing.waiting_reasons`."""
        return queueing.waiting_reasons(self._lists()[2])

    def render(self) -> int:
        cqs, lqs, wls = self._lists()
        rows = queueing.board_from_objects(cqs, lqs, wls).to_dict("records")
        table = render.queue_board_html(rows, queueing.queue_problems(cqs))
        waiting = render.waiting_html(queueing.waiting_reasons(wls))
        return self.set_value(self.table, table) + self.set_value(self.waiting, waiting)
