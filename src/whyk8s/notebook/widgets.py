"""Live widgets (ipywidgets) that deploy to the course cluster and show what Kubernetes does.

- :class:`PodLauncher`: name, image, CPU, memory, GPUs (and namespace) → Deploy a Pod.
- :class:`PodBoard`: a live table of the course's pods and a per-node view, with a Clean up button.
- :class:`PlacementBoard`: nodes as columns (pool, taints, capacity) with pods as chips; Pending pods
  in their own column with the scheduler's reason.
- :class:`ScaleControl`: replicas slider + Apply for a Deployment; desired vs actual pods, live.
- :class:`RollingUpdate`: change a Deployment's image and watch its two ReplicaSets trade replicas.

Live views are fed by watches (:class:`whyk8s.k8s.informer.PodWatcher`, :class:`whyk8s.k8s.informer.WatchLoop`),
never by polling. Watch threads only set widget ``.value``s (shared/cases *thread-output*). Every
problem is shown in place as one sentence (:func:`whyk8s.errors.explain`); without a reachable
course cluster (or with a foreign kubeconfig context) a widget shows one short panel
(:func:`whyk8s.notebook.display.cluster_panel_html`) with a Retry button instead of raising. Each part carries
a CSS class ``whyk8s-...`` so browser tests can find it. Units: CPU in millicores, memory in bytes
(shown in MiB/GiB), GPUs as whole ``nvidia.com/gpu``.
"""

from __future__ import annotations

import dataclasses
import html
import threading
import time
from datetime import datetime, timezone
from typing import Callable

import ipywidgets as w
import pandas as pd
from kubernetes import client
from kubernetes.utils.quantity import parse_quantity

from whyk8s import COURSE_SELECTOR, GPU_RESOURCE, POOL_LABEL
from whyk8s.k8s import objects, specs
from whyk8s.notebook.charts import PALETTE
from whyk8s.notebook.display import cluster_panel_html
from whyk8s.errors import WaitTimeoutError, explain
from whyk8s.lessons.events import pod_pending_reason
from whyk8s.k8s.guard import Cluster, connect
from whyk8s.k8s.informer import PodWatcher, WatchLoop

__all__ = ["PodLauncher", "PodBoard", "PlacementBoard", "ScaleControl", "RollingUpdate",
           "set_image", "rollout", "pod_rows", "MAX_REPLICAS"]

#: ScaleControl refuses more replicas than this (the simulated nodes would fill up for no lesson).
MAX_REPLICAS = 50


def _esc(text) -> str:
    return html.escape(str(text), quote=False)


def _message(text: str, ok: bool = False) -> str:
    colour = PALETTE["bluish_green"] if ok else PALETTE["vermillion"]
    return f"<span style='color:{colour}'>{'✔' if ok else '⚠'} {_esc(text)}</span>"


def _info(text: str) -> str:
    return f"<span>{_esc(text)}</span>"


class _ClusterWidget(w.VBox):
    """A VBox that connects to the course cluster, or shows the panel with a Retry button.

    Subclasses build their parts in ``_build()`` (called once) and start watches in ``_connected()``.
    ``on_update(fn)`` registers ``fn()`` called (from any thread) after every change of the view.
    """

    def __init__(self, cluster: Cluster | None = None, **kwargs):
        super().__init__(**kwargs)
        self.cluster: Cluster | None = None
        self._hooks: list[Callable[[], None]] = []
        self.panel = w.HTML().add_class("whyk8s-cluster-panel")
        self.retry_button = w.Button(description="Retry", icon="refresh",
                                     tooltip="Try to reach the course cluster again").add_class("whyk8s-retry")
        self.retry_button.on_click(lambda _b: self.retry())
        self._build()
        self.retry(cluster)

    # -- connection ------------------------------------------------------------------------------
    def retry(self, cluster: Cluster | None = None) -> bool:
        """Connect (or use ``cluster``); show the widget if it worked, else the panel. True if connected."""
        try:
            self.cluster = cluster or connect()
        except Exception as exc:  # never raise at the learner
            self.panel.value = cluster_panel_html(explain(exc))
            self.children = [self.panel, self.retry_button]
            self._updated()
            return False
        self.panel.value = ""
        self.children = self._body()
        try:
            self._connected()
        except Exception as exc:
            self.cluster = None
            self.panel.value = cluster_panel_html(explain(exc))
            self.children = [self.panel, self.retry_button]
            self._updated()
            return False
        self._updated()
        return True

    @property
    def connected(self) -> bool:
        """True when the widget has a cluster connection (it may still be temporarily unreachable)."""
        return self.cluster is not None

    def on_update(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` after each update of the view (from the watch thread or the kernel)."""
        self._hooks.append(fn)

    def _updated(self) -> None:
        for fn in list(self._hooks):
            try:
                fn()
            except Exception:
                pass

    # -- for subclasses ----------------------------------------------------------------------------
    def _build(self) -> None:
        raise NotImplementedError

    def _body(self) -> list:
        raise NotImplementedError

    def _connected(self) -> None:
        pass

    def stop(self) -> None:
        """Stop background watches (no-op here)."""

    def close(self) -> None:
        """Stop watches and close the widget."""
        self.stop()
        super().close()


# =================================================================================================
# PodLauncher
# =================================================================================================
class PodLauncher(_ClusterWidget):
    """Fields for a Pod (``name``, ``image``, ``cpu``, ``memory``, ``gpus``, ``namespace`` — Text
    widgets) and a Deploy button (``deploy_button``); ``status`` (HTML) says what happened in one
    sentence. CPU is a quantity such as ``250m`` or ``0.5`` (millicores/cores), memory ``512Mi`` or
    ``1Gi`` (bytes with a unit), GPUs a whole number of ``nvidia.com/gpu``.

    Input is checked with :mod:`whyk8s.k8s.specs` before anything is sent; API refusals (an existing
    name, a missing or terminating namespace) are shown with :func:`whyk8s.errors.explain`. The
    namespace must be the course namespace or one the course created (labelled
    ``app.kubernetes.io/part-of=whyk8s``). ``created`` lists ``(namespace, name)`` of created pods.
    """

    def __init__(self, cluster: Cluster | None = None, name: str = "trainer-1",
                 image: str = specs.DEFAULT_IMAGE, cpu: str = "250m", memory: str = "256Mi",
                 gpus: str = "0", **kwargs):
        self._defaults = dict(name=name, image=image, cpu=cpu, memory=memory, gpus=str(gpus))
        self.created: list[tuple[str, str]] = []
        super().__init__(cluster, **kwargs)

    def _build(self) -> None:
        d = self._defaults
        style = {"description_width": "80px"}
        self.name = w.Text(value=d["name"], description="name", style=style).add_class("whyk8s-pod-name")
        self.image = w.Text(value=d["image"], description="image", style=style).add_class("whyk8s-pod-image")
        self.cpu = w.Text(value=d["cpu"], description="CPU", style=style,
                          tooltip="millicores (250m) or cores (0.5)").add_class("whyk8s-pod-cpu")
        self.memory = w.Text(value=d["memory"], description="memory", style=style,
                             tooltip="e.g. 256Mi or 1Gi").add_class("whyk8s-pod-memory")
        self.gpus = w.Text(value=d["gpus"], description="GPUs", style=style).add_class("whyk8s-pod-gpus")
        self.namespace = w.Text(value="", description="namespace", style=style,
                                placeholder="(the course namespace)").add_class("whyk8s-pod-namespace")
        self.deploy_button = w.Button(description="Deploy", button_style="primary",
                                      icon="rocket").add_class("whyk8s-deploy")
        self.deploy_button.on_click(lambda _b: self.deploy())
        self.status = w.HTML(value="").add_class("whyk8s-status")

    def _body(self) -> list:
        return [w.HBox([self.name, self.image]), w.HBox([self.cpu, self.memory, self.gpus]),
                w.HBox([self.namespace, self.deploy_button]), self.status]

    def _connected(self) -> None:
        self.namespace.placeholder = self.cluster.namespace
        self.status.value = _info("Connected to the course cluster. Fill in the fields and press Deploy.")

    def _say(self, text: str, ok: bool = False) -> str:
        self.status.value = _message(text, ok)
        self._updated()
        return text

    def _check_namespace(self, ns: str) -> str | None:
        """None if the course may deploy into ``ns``, else the sentence saying why not."""
        try:
            specs.validate_name(ns, kind="namespace")
        except ValueError as exc:
            return str(exc)
        if ns == self.cluster.namespace:
            return None
        try:
            obj = self.cluster.core.read_namespace(ns)
        except client.ApiException as exc:
            if exc.status == 404:
                return (f"Namespace {ns!r} does not exist; the course deploys into {self.cluster.namespace!r} "
                        f"or a namespace it created.")
            raise
        if (obj.metadata.labels or {}).get(COURSE_SELECTOR.split("=")[0]) != COURSE_SELECTOR.split("=")[1]:
            return (f"Namespace {ns!r} is forbidden to the course: it only deploys into "
                    f"{self.cluster.namespace!r} or a namespace it created.")
        return None

    def deploy(self) -> str:
        """Validate the fields and create the Pod. Returns the sentence shown in ``status``; never raises."""
        if self.cluster is None:
            return "Not connected to the course cluster: press Retry."
        name = self.name.value.strip()
        image = self.image.value.strip()
        if not image or any(c.isspace() for c in image):
            return self._say(f"The image {image!r} is not valid: give one such as {specs.DEFAULT_IMAGE}.")
        try:
            pod = specs.pod(self.name.value, image=image, cpu=self.cpu.value, memory=self.memory.value,
                            gpus=self.gpus.value)
        except ValueError as exc:
            return self._say(explain(exc))
        ns = self.namespace.value.strip() or self.cluster.namespace
        try:
            problem = self._check_namespace(ns)
            if problem:
                return self._say(problem)
            target = dataclasses.replace(self.cluster, namespace=ns)
            objects.create(target, pod)
        except client.ApiException as exc:
            if exc.status == 409:
                return self._say(f"A Pod named {name!r} already exists in namespace {ns!r}: "
                                 f"choose another name, or clean up first.")
            return self._say(explain(exc))
        except Exception as exc:  # cluster gone, ...
            return self._say(explain(exc))
        self.created.append((ns, name))
        req = pod.spec.containers[0].resources.requests
        n_gpu = int(req.get(GPU_RESOURCE, 0))
        gpus = f", {n_gpu} GPU{'s' if n_gpu != 1 else ''}" if n_gpu else ""
        return self._say(f"Pod {name!r} created in namespace {ns!r} (requests {req['cpu']} CPU, "
                         f"{int(req['memory']) // 2**20} MiB memory{gpus}); the scheduler now picks a node.",
                         ok=True)


# =================================================================================================
# Pod tables
# =================================================================================================
def _age(ts) -> str:
    if ts is None:
        return ""
    secs = max(0, int((datetime.now(timezone.utc) - ts).total_seconds()))
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    return f"{secs // 3600}h"


def _phase(pod: client.V1Pod) -> str:
    if pod.metadata.deletion_timestamp is not None:
        return "Terminating"
    return (pod.status.phase if pod.status else None) or "Pending"


def _requests(pod: client.V1Pod) -> tuple[int, int, int]:
    """(CPU millicores, memory bytes, GPUs) requested by the pod's containers."""
    cpu = mem = gpu = 0
    for c in pod.spec.containers or []:
        req = (c.resources.requests if c.resources else None) or {}
        cpu += int(parse_quantity(req.get("cpu", "0")) * 1000)
        mem += int(parse_quantity(req.get("memory", "0")))
        gpu += int(parse_quantity(req.get(GPU_RESOURCE, "0")))
    return cpu, mem, gpu


def pod_rows(pods) -> pd.DataFrame:
    """Pods → DataFrame with columns ``name``, ``phase`` (Terminating while being deleted), ``node``
    ('' if not scheduled), ``restarts`` (sum over containers), ``age`` (e.g. ``12s``, ``3m``), sorted
    by name."""
    rows = []
    for p in pods:
        restarts = sum(cs.restart_count or 0 for cs in (p.status.container_statuses or [])) if p.status else 0
        rows.append({"name": p.metadata.name, "phase": _phase(p), "node": p.spec.node_name or "",
                     "restarts": restarts, "age": _age(p.metadata.creation_timestamp)})
    df = pd.DataFrame(rows, columns=["name", "phase", "node", "restarts", "age"])
    return df.sort_values("name").reset_index(drop=True)


_PHASE_COLOURS = {"Running": PALETTE["bluish_green"], "Pending": PALETTE["orange"],
                  "Succeeded": PALETTE["blue"], "Failed": PALETTE["vermillion"],
                  "Terminating": PALETTE["reddish_purple"]}


def _nodes(cluster: Cluster) -> list[dict]:
    """Nodes as dicts: name, pool, taints (text), cpu_m, mem, gpus (allocatable), sorted by name."""
    out = []
    for n in cluster.core.list_node(_request_timeout=10).items:
        labels = n.metadata.labels or {}
        alloc = n.status.allocatable or {}
        pool = labels.get(POOL_LABEL) or ("control-plane" if "node-role.kubernetes.io/control-plane" in labels else "")
        out.append({"name": n.metadata.name, "pool": pool,
                    "taints": ", ".join(f"{t.key}={t.value or ''}:{t.effect}" for t in (n.spec.taints or [])
                                        if not t.key.startswith("node.kubernetes.io/")),
                    "cpu_m": int(parse_quantity(alloc.get("cpu", "0")) * 1000),
                    "mem": int(parse_quantity(alloc.get("memory", "0"))),
                    "gpus": int(parse_quantity(alloc.get(GPU_RESOURCE, "0")))})
    return sorted(out, key=lambda n: n["name"])


class _WatchedPods(_ClusterWidget):
    """Base for views fed by a :class:`PodWatcher` on the course pods (optionally more selective)."""

    label_selector: str | None = None

    def __init__(self, cluster: Cluster | None = None, **kwargs):
        self.watcher: PodWatcher | None = None
        self.nodes: list[dict] = []
        self._lock = threading.RLock()
        self._failing = False
        super().__init__(cluster, **kwargs)

    def _connected(self) -> None:
        self.stop()
        self.nodes = _nodes(self.cluster)
        self.watcher = PodWatcher(self.cluster, on_event=self._on_event, on_sync=self._on_sync,
                                  on_error=self._on_error, label_selector=self.label_selector,
                                  retry_delay=1.0, read_timeout=5)
        self.watcher.relist()  # synchronous first list: the view is filled when the cell returns
        self.watcher.start()

    @property
    def pods(self) -> dict:
        """The pods the view currently shows, by name (V1Pod objects)."""
        return dict(self.watcher.pods) if self.watcher else {}

    def _on_event(self, kind: str, pod) -> None:
        if kind != "SYNC":
            self.render()

    def _on_sync(self, pods) -> None:
        if self._failing:
            try:
                self.nodes = _nodes(self.cluster)
            except Exception:
                pass
            self._failing = False
            self.status.value = _message(f"The cluster answers again: the view was resynced "
                                         f"({len(pods)} pods).", ok=True)
        self.render()

    def _on_error(self, sentence: str) -> None:
        self._failing = True
        self.status.value = _message(sentence + " This view resyncs by itself when the cluster is back.")
        self._updated()

    def render(self) -> None:
        """Redraw from the watcher's pods (sets widget values only; safe from the watch thread)."""
        with self._lock:
            self._render(list(self.pods.values()))
        self._updated()

    def _render(self, pods: list) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the watcher thread (returns within seconds)."""
        if self.watcher is not None:
            self.watcher.stop()


class PodBoard(_WatchedPods):
    """A live table of the course's pods (name, phase, node, restarts, age at the last change) and
    a per-node view (node → its pods, with the node's pool), fed by :class:`PodWatcher` callbacks.

    ``table`` and ``by_node`` are HTML widgets, ``cleanup_button`` deletes every course object
    (:func:`whyk8s.k8s.objects.cleanup`), ``status`` reports connection trouble and recovery in one
    sentence. :meth:`data` gives the table as a DataFrame. Call :meth:`stop` (or ``close()``) when done.
    """

    def _build(self) -> None:
        self.table = w.HTML().add_class("whyk8s-board")
        self.by_node = w.HTML().add_class("whyk8s-board-nodes")
        self.cleanup_button = w.Button(description="Clean up", icon="trash",
                                       tooltip="Delete everything the course created").add_class("whyk8s-cleanup")
        self.cleanup_button.on_click(lambda _b: self.cleanup())
        self.status = w.HTML().add_class("whyk8s-board-status")

    def _body(self) -> list:
        return [self.table, self.by_node, w.HBox([self.cleanup_button]), self.status]

    def _connected(self) -> None:
        super()._connected()
        self.status.value = _info(f"Watching the course's pods in namespace {self.cluster.namespace!r}.")

    def data(self) -> pd.DataFrame:
        """The board's pods as a DataFrame (see :func:`pod_rows`)."""
        return pod_rows(self.pods.values())

    def _render(self, pods: list) -> None:
        df = pod_rows(pods)
        if df.empty:
            self.table.value = "<p><i>No course pods right now.</i></p>"
        else:
            head = "".join(f"<th style='text-align:left;padding:2px 8px'>{c}</th>" for c in
                           ["pod", "phase", "node", "restarts", "age"])
            body = "".join(
                f"<tr><td style='padding:2px 8px'><code>{_esc(r.name)}</code></td>"
                f"<td style='padding:2px 8px;color:{_PHASE_COLOURS.get(r.phase, '#000')}'><b>{_esc(r.phase)}</b></td>"
                f"<td style='padding:2px 8px'>{_esc(r.node or '—')}</td>"
                f"<td style='padding:2px 8px'>{r.restarts}</td><td style='padding:2px 8px'>{_esc(r.age)}</td></tr>"
                for r in df.itertuples())
            self.table.value = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        pools = {n["name"]: n["pool"] for n in self.nodes}
        groups: dict[str, list[str]] = {n["name"]: [] for n in self.nodes if n["pool"] != "control-plane"}
        for r in df.itertuples():
            groups.setdefault(r.node or "(not scheduled yet)", []).append(r.name)
        lines = "".join(
            f"<li><b>{_esc(node)}</b>{' (' + _esc(pools[node]) + ')' if pools.get(node) else ''}: "
            f"{', '.join(f'<code>{_esc(p)}</code>' for p in names) or '<i>no course pods</i>'}</li>"
            for node, names in groups.items())
        self.by_node.value = f"<ul style='margin:4px 0'>{lines}</ul>"

    def cleanup(self) -> str:
        """Delete every course-labelled object and wait until they are gone. Returns the sentence shown."""
        if self.cluster is None:
            return "Not connected to the course cluster: press Retry."
        self.status.value = _info("Cleaning up ...")
        try:
            counts = objects.cleanup(self.cluster)
        except Exception as exc:
            text = explain(exc)
            self.status.value = _message(text)
            self._updated()
            return text
        what = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(counts.items())) or "nothing"
        text = f"Cleaned up: deleted {what}."
        self.status.value = _message(text, ok=True)
        self._updated()
        return text


# =================================================================================================
# PlacementBoard
# =================================================================================================
def _chip(pod) -> str:
    cpu, mem, gpu = _requests(pod)
    colour = _PHASE_COLOURS.get(_phase(pod), "#999")
    gpus = f" · {gpu} GPU" if gpu else ""
    return (f"<div class='whyk8s-chip' style='border:1px solid {colour};border-left:5px solid {colour};"
            f"border-radius:4px;padding:2px 6px;margin:3px 0;font-size:90%'>"
            f"<code>{_esc(pod.metadata.name)}</code><br><small>{cpu}m CPU · {mem // 2**20} MiB{gpus}"
            f"</small></div>")


def placement_html(nodes: list[dict], pods: list) -> str:
    """HTML of the placement view: one column per worker node (pool, taints, allocatable capacity,
    what the course's pods request there, and the pods as chips), plus a Pending column whose chips
    carry the scheduler's reason. ``nodes`` as from the internal node listing (name, pool, taints,
    cpu_m, mem, gpus); ``pods`` are V1Pod objects."""
    cols = []
    by_node: dict[str, list] = {}
    pending = []
    for p in sorted(pods, key=lambda p: p.metadata.name):
        if p.spec.node_name:
            by_node.setdefault(p.spec.node_name, []).append(p)
        else:
            pending.append(p)
    style = "flex:1;min-width:150px;border:1px solid #ccc;border-radius:6px;padding:6px;margin:3px;vertical-align:top"
    for n in nodes:
        if n["pool"] == "control-plane":
            continue
        here = by_node.get(n["name"], [])
        cpu = sum(_requests(p)[0] for p in here)
        mem = sum(_requests(p)[1] for p in here)
        gpu = sum(_requests(p)[2] for p in here)
        taint = f"<br><small>taint: <code>{_esc(n['taints'])}</code></small>" if n["taints"] else ""
        gpus = f" · {gpu}/{n['gpus']} GPU" if n["gpus"] else ""
        cols.append(
            f"<div class='whyk8s-node' style='{style}'><b>{_esc(n['name'])}</b><br>pool <b>{_esc(n['pool'])}</b>{taint}"
            f"<br><small>requested {cpu}m/{n['cpu_m']}m CPU · {mem / 2**30:.1f}/{n['mem'] / 2**30:.0f} GiB{gpus}</small>"
            + "".join(_chip(p) for p in here) + "</div>")
    reasons = "".join(
        _chip(p) + f"<small style='color:{PALETTE['vermillion']}'>{_esc(pod_pending_reason(p) or 'waiting for the scheduler')}</small>"
        for p in pending)
    cols.append(f"<div class='whyk8s-node whyk8s-pending' style='{style};background:#fff8e6'><b>Pending</b><br>"
                f"<small>not placed on any node</small>{reasons or '<br><i>none</i>'}</div>")
    return f"<div style='display:flex;flex-wrap:wrap;align-items:flex-start'>{''.join(cols)}</div>"


class PlacementBoard(_WatchedPods):
    """Where the scheduler put the course's pods: nodes as columns (pool, taints, capacity and what
    the pods there request: CPU millicores, memory GiB, GPUs) with pods as chips; Pending pods in a
    separate column with the scheduler's reason (their ``PodScheduled`` condition). Live, fed by a
    :class:`PodWatcher`. ``view`` (HTML) and ``status`` (HTML); :meth:`stop` ends the watch."""

    def _build(self) -> None:
        self.view = w.HTML().add_class("whyk8s-placement")
        self.status = w.HTML().add_class("whyk8s-placement-status")

    def _body(self) -> list:
        return [self.view, self.status]

    def _connected(self) -> None:
        super()._connected()
        self.status.value = _info("Live: each chip is a course pod, in the column of its node.")

    def _render(self, pods: list) -> None:
        self.view.value = placement_html(self.nodes, pods)


# =================================================================================================
# ScaleControl
# =================================================================================================
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


class ScaleControl(_WatchedPods):
    """Scale Deployment ``deployment``: a slider (``slider``, 0..``max_replicas``), a text box
    (``replicas``, so any value can be typed and checked), an Apply button (``apply_button``) and a
    live line (``counts``) with desired vs running vs pending pods, fed by a PodWatcher on the
    Deployment's pods (label ``app=<deployment>``). Bad values are refused in ``status``."""

    def __init__(self, deployment: str, cluster: Cluster | None = None, max_replicas: int = MAX_REPLICAS,
                 **kwargs):
        self.deployment = deployment
        self.max_replicas = max_replicas
        self.desired: int | None = None
        self.label_selector = f"{COURSE_SELECTOR},app={deployment}"
        super().__init__(cluster, **kwargs)

    def _build(self) -> None:
        self.slider = w.IntSlider(value=1, min=0, max=self.max_replicas, description="replicas").add_class("whyk8s-scale-slider")
        self.replicas = w.Text(value="1", description="or type", layout=w.Layout(width="180px")).add_class("whyk8s-scale-text")
        self.slider.observe(lambda ch: setattr(self.replicas, "value", str(ch["new"])), names="value")
        self.apply_button = w.Button(description="Apply", button_style="primary").add_class("whyk8s-scale-apply")
        self.apply_button.on_click(lambda _b: self.apply())
        self.counts = w.HTML().add_class("whyk8s-scale-counts")
        self.status = w.HTML().add_class("whyk8s-scale-status")

    def _body(self) -> list:
        return [w.HBox([self.slider, self.replicas, self.apply_button]), self.counts, self.status]

    def _connected(self) -> None:
        dep = self.cluster.apps.read_namespaced_deployment(self.deployment, self.cluster.namespace)
        self.desired = dep.spec.replicas
        self.slider.value = min(self.desired or 0, self.max_replicas)
        self.replicas.value = str(self.desired)
        super()._connected()
        self.status.value = _info(f"Deployment {self.deployment!r} wants {self.desired} replicas.")

    def apply(self, value=None) -> str:
        """Scale to ``value`` (default: the text box). Returns the sentence shown; never raises."""
        if self.cluster is None:
            return "Not connected to the course cluster: press Retry."
        try:
            n = parse_replicas(self.replicas.value if value is None else value, self.max_replicas)
            objects.scale(self.cluster, self.deployment, n)
        except Exception as exc:
            text = explain(exc)
            self.status.value = _message(text)
            self._updated()
            return text
        self.desired = n
        text = (f"Asked for {n} replicas of {self.deployment!r}: the ReplicaSet now creates or deletes "
                f"pods until the actual state matches.")
        self.status.value = _message(text, ok=True)
        self.render()
        return text

    def _render(self, pods: list) -> None:
        live = [p for p in pods if p.metadata.deletion_timestamp is None]
        running = sum(1 for p in live if _phase(p) == "Running")
        pending = sum(1 for p in live if _phase(p) == "Pending")
        self.counts.value = (f"desired <b>{self.desired}</b> · running <b>{running}</b> · pending "
                             f"<b>{pending}</b> · terminating <b>{len(pods) - len(live)}</b>")


# =================================================================================================
# Rolling update
# =================================================================================================
def set_image(cluster: Cluster, deployment: str, image: str) -> None:
    """Change the image of Deployment ``deployment``'s first container (a rolling update starts).
    Raises ValueError for an empty image or one with spaces, ApiException from the API server."""
    image = (image or "").strip()
    if not image or any(c.isspace() for c in image):
        raise ValueError(f"The image {image!r} is not valid: give one such as {specs.DEFAULT_IMAGE}.")
    dep = cluster.apps.read_namespaced_deployment(deployment, cluster.namespace)
    container = dep.spec.template.spec.containers[0].name
    cluster.apps.patch_namespaced_deployment(
        deployment, cluster.namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}})


def _rs_rows(replicasets) -> list[dict]:
    rows = []
    for rs in replicasets:
        rows.append({"replicaset": rs.metadata.name,
                     "image": rs.spec.template.spec.containers[0].image,
                     "revision": int((rs.metadata.annotations or {}).get("deployment.kubernetes.io/revision", 0)),
                     "desired": rs.spec.replicas or 0,
                     "ready": (rs.status.ready_replicas or 0) if rs.status else 0})
    return sorted(rows, key=lambda r: r["revision"])


def rollout(cluster: Cluster, deployment: str, image: str, timeout: float = 60) -> list[tuple[int, int]]:
    """Change the image and wait (watching the Deployment's ReplicaSets) until the new ReplicaSet has
    all replicas ready and the old ones none. Returns the sequence of distinct ``(old ready, new
    ready)`` pairs seen. Raises TimeoutError after ``timeout`` seconds, ValueError for a bad image."""
    from kubernetes import watch
    sel = f"{COURSE_SELECTOR},app={deployment}"
    before = {rs.metadata.name for rs in cluster.apps.list_namespaced_replica_set(
        cluster.namespace, label_selector=sel).items}
    want = cluster.apps.read_namespaced_deployment(deployment, cluster.namespace).spec.replicas
    set_image(cluster, deployment, image)
    seen: dict[str, client.V1ReplicaSet] = {}
    steps: list[tuple[int, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wt = watch.Watch()
        for ev in wt.stream(cluster.apps.list_namespaced_replica_set, cluster.namespace, label_selector=sel,
                            timeout_seconds=2, _request_timeout=10):
            rs = ev["object"]
            seen[rs.metadata.name] = rs
            old = sum((r.status.ready_replicas or 0) for n, r in seen.items() if n in before)
            new = sum((r.status.ready_replicas or 0) for n, r in seen.items() if n not in before)
            if not steps or steps[-1] != (old, new):
                steps.append((old, new))
            if new == want and old == 0 and any(n not in before for n in seen):
                wt.stop()
                return steps
            if time.monotonic() > deadline:
                wt.stop()
                break
    raise WaitTimeoutError(f"The rollout of {deployment!r} did not finish within {timeout:.0f} s.")


class RollingUpdate(_ClusterWidget):
    """Change Deployment ``deployment``'s image (``image`` Text, ``update_button``) and watch its
    ReplicaSets (a :class:`whyk8s.k8s.informer.WatchLoop` on ReplicaSets with label ``app=<deployment>``):
    ``view`` (HTML) shows each ReplicaSet's image, desired and ready replicas, old above new, live.
    Problems go to ``status`` in one sentence."""

    def __init__(self, deployment: str, cluster: Cluster | None = None, new_image: str = "registry.k8s.io/pause:3.9",
                 **kwargs):
        self.deployment = deployment
        self._new_image = new_image
        self.loop: WatchLoop | None = None
        super().__init__(cluster, **kwargs)

    def _build(self) -> None:
        self.image = w.Text(value=self._new_image, description="new image").add_class("whyk8s-rollout-image")
        self.update_button = w.Button(description="Update image", button_style="primary").add_class("whyk8s-rollout-apply")
        self.update_button.on_click(lambda _b: self.update())
        self.view = w.HTML().add_class("whyk8s-rollout")
        self.status = w.HTML().add_class("whyk8s-rollout-status")

    def _body(self) -> list:
        return [w.HBox([self.image, self.update_button]), self.view, self.status]

    def _connected(self) -> None:
        self.stop()
        self.loop = WatchLoop(self.cluster.apps.list_namespaced_replica_set, self.cluster.namespace,
                              label_selector=f"{COURSE_SELECTOR},app={self.deployment}",
                              on_event=lambda *_: self.render(), on_list=lambda _i: self._back(),
                              on_error=self._error, name="whyk8s-rollout-watch", read_timeout=5)
        self.loop.prime()
        self.loop.start()
        self.status.value = _info(f"Watching the ReplicaSets of Deployment {self.deployment!r}.")

    def _back(self) -> None:
        if self.loop is not None and self.loop.failing:
            self.status.value = _message("The cluster answers again: the view was resynced.", ok=True)
        self.render()

    def _error(self, sentence: str) -> None:
        self.status.value = _message(sentence + " This view resyncs by itself when the cluster is back.")
        self._updated()

    def data(self) -> list[dict]:
        """The ReplicaSets as dicts (replicaset, image, revision, desired, ready), oldest first."""
        return _rs_rows(self.loop.items.values()) if self.loop else []

    def render(self) -> None:
        rows = self.data()
        body = "".join(
            f"<tr><td style='padding:2px 8px'>{'new' if i == len(rows) - 1 else 'old'}</td>"
            f"<td style='padding:2px 8px'><code>{_esc(r['replicaset'])}</code></td>"
            f"<td style='padding:2px 8px'><code>{_esc(r['image'])}</code></td>"
            f"<td style='padding:2px 8px'>{r['desired']}</td><td style='padding:2px 8px'>{r['ready']}</td>"
            f"<td style='padding:2px 8px'>{'█' * r['ready']}{'░' * max(0, r['desired'] - r['ready'])}</td></tr>"
            for i, r in enumerate(rows))
        self.view.value = ("<table><thead><tr><th></th><th>ReplicaSet</th><th>image</th><th>desired</th>"
                           f"<th>ready</th><th></th></tr></thead><tbody>{body}</tbody></table>")
        self._updated()

    def update(self, image: str | None = None) -> str:
        """Set the new image (default: the text box). Returns the sentence shown; never raises."""
        if self.cluster is None:
            return "Not connected to the course cluster: press Retry."
        image = self.image.value if image is None else image
        try:
            set_image(self.cluster, self.deployment, image)
        except Exception as exc:
            text = explain(exc)
            self.status.value = _message(text)
            self._updated()
            return text
        text = (f"Deployment {self.deployment!r} now wants image {image.strip()}: a new ReplicaSet "
                f"scales up while the old one scales down.")
        self.status.value = _message(text, ok=True)
        self._updated()
        return text

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()
