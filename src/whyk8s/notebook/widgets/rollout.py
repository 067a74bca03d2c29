"""RollingUpdate: give a Deployment a new image and watch its two ReplicaSets trade replicas.
kubectl: ``kubectl set image deployment/<name> <container>=<image>`` and
``kubectl get rs -w -l app=<name>``."""

from __future__ import annotations

import time

import ipywidgets as w

from whyk8s.errors import explain
from whyk8s.k8s import objects
from whyk8s.k8s.guard import Cluster
from whyk8s.notebook import html as render
from whyk8s.notebook.widgets.base import LiveView

__all__ = ["RollingUpdate", "replicaset_rows"]

_REVISION = "deployment.kubernetes.io/revision"


def replicaset_rows(replicasets) -> list[dict]:
    """ReplicaSets → dicts (``replicaset``, ``image``, ``revision``, ``desired``, ``ready``), oldest
    revision first."""
    rows = [{"replicaset": rs.metadata.name, "image": rs.spec.template.spec.containers[0].image,
             "revision": int((rs.metadata.annotations or {}).get(_REVISION, 0)),
             "desired": rs.spec.replicas or 0, "ready": (rs.status.ready_replicas or 0) if rs.status else 0}
            for rs in replicasets]
    return sorted(rows, key=lambda r: r["revision"])


class RollingUpdate(LiveView):
    """Change Deployment ``deployment``'s image (``image`` Text, ``update_button``) and watch its
    ReplicaSets (label ``app=<deployment>``): ``view`` (HTML) shows each ReplicaSet's image, desired
    and ready replicas, old above new, live; ``steps`` (HTML) keeps every (old ready | new ready)
    step since the last update with its time, so a rollout that took half a second can still be
    read. Problems go to ``status`` in one sentence."""

    def __init__(self, deployment: str, cluster: Cluster | None = None,
                 new_image: str = "registry.k8s.io/pause:3.10.1", **kwargs):
        self.deployment = deployment
        self._new_image = new_image
        self.replicasets: dict[str, object] = {}
        self.history: list[tuple[float, int, int]] = []
        self._since: float | None = None
        self._old: set[str] = set()
        super().__init__(cluster, **kwargs)

    def _build(self) -> None:
        self.image = w.Text(value=self._new_image, description="new image").add_class("whyk8s-rollout-image")
        self.update_button = w.Button(description="Update image", button_style="primary").add_class("whyk8s-rollout-apply")
        self.update_button.on_click(lambda _b: self.update())
        self.view = w.HTML().add_class("whyk8s-rollout")
        self.steps = w.HTML().add_class("whyk8s-rollout-steps")

    def _body(self) -> list:
        return [w.HBox([self.image, self.update_button]), self.view, self.steps, self.status]

    def _connected(self) -> None:
        self.watch(self.cluster.apps.list_namespaced_replica_set, self.cluster.namespace,
                   label_selector=f"{self.cluster.selector},app={self.deployment}",
                   on_event=self._event, on_sync=self._sync)
        self.render()
        self.inform(f"Watching the ReplicaSets of Deployment {self.deployment!r}.")

    def _event(self, kind: str, rs) -> None:
        with self.lock:
            if kind == "DELETED":
                self.replicasets.pop(rs.metadata.name, None)
            else:
                self.replicasets[rs.metadata.name] = rs
            self._step()
        self.request_render()

    def _sync(self, replicasets: list) -> None:
        with self.lock:
            self.replicasets = {rs.metadata.name: rs for rs in replicasets}
            self._step()

    def _step(self) -> None:
        if self._since is None:
            return
        rows = self.data()
        old = sum(r["ready"] for r in rows if r["replicaset"] in self._old)
        new = sum(r["ready"] for r in rows if r["replicaset"] not in self._old)
        if not self.history or self.history[-1][1:] != (old, new):
            self.history.append((round(time.monotonic() - self._since, 2), old, new))

    def data(self) -> list[dict]:
        """The ReplicaSets as dicts (replicaset, image, revision, desired, ready), oldest first."""
        with self.lock:
            return replicaset_rows(self.replicasets.values())

    def render(self) -> int:
        with self.lock:
            table = render.replicasets_html(replicaset_rows(self.replicasets.values()))
            steps = render.rollout_steps_html(list(self.history))
        return self.set_value(self.view, table) + self.set_value(self.steps, steps)

    def update(self, image: str | None = None) -> str:
        """Set the new image (default: the text box). Returns the sentence shown; never raises."""
        if self.cluster is None:
            return "Not connected to the course cluster: press Retry."
        image = (self.image.value if image is None else image).strip()
        with self.lock:
            # the ReplicaSets whose pods run another image are the old ones of this update
            self._old = {name for name, rs in self.replicasets.items()
                         if any(c.image != image for c in rs.spec.template.spec.containers)}
            self.history, self._since = [], time.monotonic()
            self._step()
        try:
            changed = objects.set_image(self.cluster, self.deployment, image)
        except Exception as exc:  # noqa: BLE001 - shown in place
            return self.say(explain(exc, self.cluster.namespace))
        self.request_render()
        if not changed:
            return self.say(f"Deployment {self.deployment!r} already runs {image}: nothing to roll out. "
                            f"Type another image (e.g. registry.k8s.io/pause:3.10.1) and press Update image.")
        return self.say(f"Deployment {self.deployment!r} now wants image {image}: a new ReplicaSet scales up "
                        f"while the old one scales down.", ok=True)
