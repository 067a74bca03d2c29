"""ScaleControl: ask a Deployment for more or fewer replicas and watch the pods follow.
kubectl: ``kubectl scale deployment <name> --replicas=<n>`` and ``kubectl get pods -w -l app=<name>``."""

from __future__ import annotations

import ipywidgets as w

from whyk8s.errors import explain
from whyk8s.k8s import objects
from whyk8s.k8s.guard import Cluster
from whyk8s.notebook import html as render
from whyk8s.notebook.widgets.boards import _PodView

__all__ = ["ScaleControl", "parse_replicas", "MAX_REPLICAS"]

#: ScaleControl refuses more replicas than this (the simulated nodes would fill up for no lesson).
MAX_REPLICAS = 50


def parse_replicas(value, limit: int = MAX_REPLICAS) -> int:
    """A replica count typed by a learner → int in 0..``limit``; ValueError with one sentence otherwise."""
    text = str(value).strip()
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"Replicas {text!r} is not a whole number; give one from 0 to {limit}.") from None
    if n < 0:
        raise ValueError(f"Replicas {n} is negative; give a number from 0 to {limit}.")
    if n > limit:
        raise ValueError(f"{n} replicas is more than this course allows ({limit}); "
                         f"the simulated nodes would just fill up.")
    return n


class ScaleControl(_PodView):
    """Scale Deployment ``deployment``: a slider (``slider``, 0..``max_replicas``) and a text box
    (``replicas``) that follow each other, an Apply button (``apply_button``) and a live line
    (``counts``) of desired replicas (from the Deployment, watched) against running, pending and
    terminating pods (its pods: label ``app=<deployment>``). Bad values are refused in ``status``;
    if the Deployment is deleted (e.g. by a clean-up), the widget says so."""

    def __init__(self, deployment: str, cluster: Cluster | None = None, max_replicas: int = MAX_REPLICAS,
                 **kwargs):
        self.deployment = deployment
        self.max_replicas = max_replicas
        self.desired: int | None = None
        #: The Deployment's metadata.generation when ``desired`` was last set: an event of an older
        #: generation (one already in flight when Apply was pressed) must not move it back.
        self.generation = 0
        self._asked: int | None = None  # the count this widget last asked for
        self.exists = False
        self.keep = lambda pod, name=deployment: (pod.metadata.labels or {}).get("app") == name
        super().__init__(cluster, **kwargs)

    def _build(self) -> None:
        self.slider = w.IntSlider(value=1, min=0, max=self.max_replicas, description="replicas").add_class("whyk8s-scale-slider")
        self.replicas = w.Text(value="1", description="or type", layout=w.Layout(width="180px")).add_class("whyk8s-scale-text")
        self.slider.observe(self._slid, names="value")
        self.replicas.observe(self._typed, names="value")
        self.apply_button = w.Button(description="Apply", button_style="primary").add_class("whyk8s-scale-apply")
        self.apply_button.on_click(lambda _b: self.apply())
        self.counts = w.HTML().add_class("whyk8s-scale-counts")

    def _slid(self, change) -> None:
        if self.replicas.value.strip() != str(change["new"]):
            self.replicas.value = str(change["new"])

    def _typed(self, change) -> None:
        try:
            n = parse_replicas(change["new"], self.max_replicas)
        except ValueError:
            return  # Apply explains it
        if self.slider.value != n:
            self.slider.value = n

    def _body(self) -> list:
        return [w.HBox([self.slider, self.replicas, self.apply_button]), self.counts, self.status]

    def _connected(self) -> None:
        self.watch(self.cluster.apps.list_namespaced_deployment, self.cluster.namespace,
                   label_selector=self.cluster.selector, on_event=self._deployment_event,
                   on_sync=self._deployment_sync)
        super()._connected()
        if self.exists:
            self.slider.value = min(self.desired or 0, self.max_replicas)
            self.inform(f"Deployment {self.deployment!r} wants {self.desired} replicas.")
        else:
            self.say(self._gone_sentence())

    def _gone_sentence(self) -> str:
        return (f"There is no Deployment {self.deployment!r} in namespace {self.cluster.namespace!r} (a "
                f"clean-up deletes it): create it again, e.g. by running the cell that made it, then press Apply.")

    def _deployment_event(self, kind: str, dep) -> None:
        if dep.metadata.name != self.deployment:
            return
        generation = dep.metadata.generation or 0
        with self.lock:
            was, before = self.exists, self.desired
            if kind != "DELETED" and was and generation < self.generation:
                return  # older than what Apply already showed
            self.exists = kind != "DELETED"
            self.desired = dep.spec.replicas if self.exists else None
            self.generation = generation if self.exists else 0
        if was and not self.exists:
            self.say(self._gone_sentence())
        elif self.exists and not was:  # created again: the gone sentence no longer holds
            self.inform(f"Deployment {self.deployment!r} is back and wants {self.desired} replicas.")
        elif self.exists and before is not None and self.desired not in (before, self._asked):
            # changed by someone else (a cell, kubectl, an autoscaler): the last "Asked for" no longer holds
            self.inform(f"Deployment {self.deployment!r} now wants {self.desired} replicas (changed outside "
                        f"this widget: a cell, kubectl or an autoscaler).")
        self.request_render()

    def _deployment_sync(self, deps: list) -> None:
        mine = [d for d in deps if d.metadata.name == self.deployment]
        with self.lock:
            self.exists = bool(mine)
            self.desired = mine[0].spec.replicas if mine else None
            self.generation = (mine[0].metadata.generation or 0) if mine else 0

    def apply(self, value=None) -> str:
        """Scale to ``value`` (default: the text box). Returns the sentence shown; never raises."""
        if self.cluster is None:
            return "Not connected to the course cluster: press Retry."
        try:
            n = parse_replicas(self.replicas.value if value is None else value, self.max_replicas)
            self._asked = n
            objects.scale(self.cluster, self.deployment, n)
            # the API server accepted it: show the new desired count now, not when the watch's event
            # arrives (a redraw in between showed the old count beside "Asked for n")
            dep = self.cluster.apps.read_namespaced_deployment(self.deployment, self.cluster.namespace)
        except Exception as exc:  # noqa: BLE001 - shown in place
            return self.say(explain(exc, self.cluster.namespace))
        with self.lock:
            if (dep.metadata.generation or 0) >= self.generation:
                self.exists, self.desired = True, dep.spec.replicas
                self.generation = dep.metadata.generation or 0
        self.request_render()
        self.slider.value = n
        return self.say(f"Asked for {n} replica{'s' if n != 1 else ''} of {self.deployment!r}: the ReplicaSet "
                        f"now creates or deletes pods until the actual state matches.", ok=True)

    def render(self) -> int:
        with self.lock:
            live = [r for r in self.model.records.values() if not r.terminating]
            running = sum(1 for r in live if r.status == "Running")
            pending = sum(1 for r in live if r.status == "Pending" or not r.node)
            terminating = len(self.model.records) - len(live)
            line = render.scale_counts_html(self.desired, running, pending, terminating, gone=not self.exists)
        return self.set_value(self.counts, line)
