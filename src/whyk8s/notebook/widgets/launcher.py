"""PodLauncher: fields for a Pod and a Deploy button. kubectl: ``kubectl run <name> --image=<image>``
with ``--overrides`` for the requests, or ``kubectl apply -f pod.yaml``."""

from __future__ import annotations

import dataclasses

import ipywidgets as w
from kubernetes import client

from whyk8s.errors import explain
from whyk8s.k8s import nodes as nodefacts
from whyk8s.k8s import pods as podfacts
from whyk8s.k8s import objects, specs
from whyk8s.k8s.guard import Cluster
from whyk8s.notebook.widgets.base import ClusterWidget

__all__ = ["PodLauncher"]


class PodLauncher(ClusterWidget):
    """Fields for a Pod (``name``, ``image``, ``cpu``, ``memory``, ``gpus``, ``namespace`` — Text
    widgets) and a Deploy button (``deploy_button``); ``status`` (HTML) says what happened in one
    sentence. CPU is a quantity such as ``250m`` or ``0.5`` (millicores/cores), memory ``512Mi`` or
    ``1Gi`` (bytes with a unit), GPUs a whole number of ``nvidia.com/gpu``.

    Input is checked with :mod:`whyk8s.k8s.specs` before anything is sent; the namespace must be the
    course's or an existing one the course created (:meth:`whyk8s.k8s.guard.Cluster.check_namespace`);
    API refusals are shown with :func:`whyk8s.errors.explain`. A request that no node can ever hold
    is created all the same (it will stay Pending: that is the lesson) and the sentence says so.
    ``created`` lists ``(namespace, name)`` of created pods.
    """

    def __init__(self, cluster: Cluster | None = None, name: str = "my-pod",
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

    def _body(self) -> list:
        return [w.HBox([self.name, self.image]), w.HBox([self.cpu, self.memory, self.gpus]),
                w.HBox([self.namespace, self.deploy_button]), self.status]

    def _connected(self) -> None:
        self.namespace.placeholder = self.cluster.namespace
        self.inform("Connected to the course cluster. Fill in the fields and press Deploy.")

    def _check_namespace(self, ns: str) -> str | None:
        """None if the launcher may deploy into ``ns``, else the sentence saying why not."""
        try:
            self.cluster.check_namespace(ns)
        except Exception as exc:  # noqa: BLE001 - NamespaceRefused, ValueError: one sentence
            return explain(exc)
        if ns != self.cluster.namespace:
            try:
                self.cluster.core.read_namespace(ns)
            except client.ApiException as exc:
                if exc.status == 404:
                    return (f"Namespace {ns!r} does not exist; the course deploys into "
                            f"{self.cluster.namespace!r} or a namespace it created.")
                raise
        return None

    def _fits_nowhere(self, cpu_m: int, mem: int, gpus: int) -> str:
        """A phrase when no node could ever hold these requests (allocatable), else ''."""
        nodes = [nodefacts.allocatable(n) for n in self.cluster.core.list_node(_request_timeout=10).items]
        if not nodes or any(c >= cpu_m and m >= mem and g >= gpus for c, m, g in nodes):
            return ""
        most = max(g for _, _, g in nodes)
        if gpus > most:
            return f" No node has {gpus} GPUs (the most is {most}), so it will stay Pending."
        return " No node has that much CPU or memory allocatable, so it will stay Pending."

    def deploy(self) -> str:
        """Validate the fields and create the Pod. Returns the sentence shown in ``status``; never raises."""
        if self.cluster is None:
            return "Not connected to the course cluster: press Retry."
        name = self.name.value.strip()
        image = self.image.value.strip()
        if not image or any(c.isspace() for c in image):
            return self.say(f"The image {image!r} is not valid: give one such as {specs.DEFAULT_IMAGE}.")
        try:
            pod = specs.pod(self.name.value, image=image, cpu=self.cpu.value, memory=self.memory.value,
                            gpus=self.gpus.value)
        except ValueError as exc:
            return self.say(explain(exc))
        ns = self.namespace.value.strip() or self.cluster.namespace
        req = pod.spec.containers[0].resources.requests
        cpu_m, mem, n_gpu = podfacts.requests(pod)
        try:
            problem = self._check_namespace(ns)
            if problem:
                return self.say(problem)
            objects.create(dataclasses.replace(self.cluster, namespace=ns), pod)
            nowhere = self._fits_nowhere(cpu_m, mem, n_gpu)
        except client.ApiException as exc:
            if exc.status == 409:
                return self.say(f"A Pod named {name!r} already exists in namespace {ns!r}: "
                                f"choose another name, or clean up first.")
            return self.say(explain(exc, ns))
        except Exception as exc:  # noqa: BLE001 - cluster gone, ...: one sentence
            return self.say(explain(exc))
        self.created.append((ns, name))
        gpus = f", {n_gpu} GPU{'s' if n_gpu != 1 else ''}" if n_gpu else ""
        next_step = nowhere or " The scheduler now picks a node."
        return self.say(f"Pod {name!r} created in namespace {ns!r} (requests {req['cpu']} CPU, "
                        f"{mem // 2**20} MiB memory{gpus}).{next_step}", ok=not nowhere)
