"""Chapter 3, "Load balancing": a Service in front of a Deployment, and its EndpointSlices following
the pods as they come, become Ready or not Ready, and go.

A Service picks its pods with a label selector; the EndpointSlice controller (in
kube-controller-manager) watches the Service *and* the pods, and writes one endpoint per matching pod
(its IP, its node, ``ready``) into EndpointSlice objects. Whatever forwards the Service's traffic
(kube-proxy on each node) sends it only to endpoints that are ready. Source: kubernetes.io,
"Service" and "EndpointSlices".

This works on kwok too: kwok gives each pod an IP and a ``Ready`` condition, and the real controller
writes the slices. What kwok cannot do is carry a request (no container listens, and kwok runs no
kube-proxy); chapter 3b sends real requests on kind (:mod:`whyk8s.lessons.running_containers`,
whose Service, :func:`~whyk8s.lessons.running_containers.web_service`, and endpoint reading this
module reuses).
"""

from __future__ import annotations

from whyk8s.errors import CourseError
from whyk8s.k8s import objects, specs
from whyk8s.k8s.guard import Cluster, is_course_labelled
from whyk8s.k8s.pods import is_ready
from whyk8s.k8s.waits import wait_for_pods
from whyk8s.lessons import running_containers
from whyk8s.lessons.running_containers import (endpoints, has_containers, ready_pods, wait_for_endpoints,
                                               web_service)

__all__ = ["set_ready_condition", "snapshot", "endpoints_follow_pods", "endpoints", "MOMENTS"]

#: The moments of :func:`endpoints_follow_pods`, in order.
MOMENTS = ("3 pods Ready", "scaled to 5", "one pod not Ready", "Ready again", "scaled to 2")


def set_ready_condition(cluster: Cluster, pod: str, ready: bool) -> None:
    """Write the pod's ``Ready`` and ``ContainersReady`` conditions, as a kubelet does after its
    readiness probe fails (``ready=False``) or passes again. Only on kwok, where nothing else writes
    them after start (kwok marks a pod Ready once); on kind the kubelet owns them and would overwrite
    them, so this raises CourseError there (chapter 3b makes a real probe fail instead).
    kubectl: ``kubectl patch pod <pod> -n whyk8s --subresource=status --type=strategic -p '{"status":
    {"conditions": [{"type": "Ready", "status": "False"}]}}'``."""
    if has_containers(cluster):
        raise CourseError("On kind the kubelet writes a pod's Ready condition from its readiness probe; "
                          "chapter 3b makes a real probe fail.")
    current = cluster.core.read_namespaced_pod(pod, cluster.namespace)
    if not is_course_labelled(current):
        raise CourseError(f"Pod {pod} does not carry the course label; the course changes only its own pods.")
    status = "True" if ready else "False"
    conditions = [{"type": c.type, "status": status if c.type in ("Ready", "ContainersReady") else c.status}
                  for c in current.status.conditions or []]
    cluster.core.patch_namespaced_pod_status(pod, cluster.namespace, {"status": {"conditions": conditions}})


def snapshot(rows: list[dict], moment: str) -> dict:
    """One row of the summary table: the moment, how many endpoints the Service's EndpointSlices list,
    how many are ready (receive traffic) and how many are not. ``rows`` from
    :func:`~whyk8s.lessons.running_containers.endpoints`. Pure."""
    ready = len(ready_pods(rows))
    return {"moment": moment, "endpoints": len(rows), "ready": ready, "not ready": len(rows) - ready}


def endpoints_follow_pods(cluster: Cluster, name: str = "web", timeout: float = 30):
    """Create a Deployment ``name`` of 3 pods and a Service ``name`` in front of it, then change the pods
    and wait, after each change, until the Service's EndpointSlices have followed: scale to 5; mark one
    pod not Ready (:func:`set_ready_condition`) and Ready again; scale to 2. Returns ``(summary,
    endpoint_rows)``: a pandas DataFrame with one :func:`snapshot` per moment of :data:`MOMENTS`, and
    the endpoints at the moment one pod was not Ready. On kwok the readiness is written
    (:func:`set_ready_condition`); on kind the pods are real web servers and one's readiness probe is
    made to fail (:func:`~whyk8s.lessons.running_containers.set_ready`). Raises WaitTimeoutError if the
    slices do not follow within ``timeout`` seconds, ApiException 409 if ``name`` exists (clean up first).
    kubectl: ``kubectl create deployment web -n whyk8s --image=registry.k8s.io/pause:3.10 --replicas=3``,
    ``kubectl expose deployment web -n whyk8s --port=80 --target-port=8080``,
    ``kubectl scale deployment web -n whyk8s --replicas=5``, and
    ``kubectl get endpointslices -n whyk8s -l kubernetes.io/service-name=web -w`` to watch."""
    import pandas as pd
    selector = f"{cluster.selector},app={name}"

    def all_ready(n):
        return lambda rows: len(rows) == n and len(ready_pods(rows)) == n

    real = has_containers(cluster)  # kind: real web servers whose readiness probe really fails

    def flip(pod: str, ready: bool) -> None:
        (running_containers.set_ready if real else set_ready_condition)(cluster, pod, ready)

    objects.create(cluster, running_containers.web_server(name, replicas=3) if real
                   else specs.deployment(name, replicas=3))
    objects.create(cluster, web_service(name))
    summary = [snapshot(wait_for_endpoints(cluster, name, all_ready(3), timeout=timeout), MOMENTS[0])]
    objects.scale(cluster, name, 5)
    summary.append(snapshot(wait_for_endpoints(cluster, name, all_ready(5), timeout=timeout), MOMENTS[1]))
    pods = wait_for_pods(cluster, lambda ps: len(ps) == 5 and all(is_ready(p) for p in ps.values()), selector)
    victim = sorted(pods)[0]
    flip(victim, False)
    rows = wait_for_endpoints(cluster, name, lambda rows: len(rows) == 5 and victim not in ready_pods(rows),
                              timeout=timeout)
    summary.append(snapshot(rows, MOMENTS[2]))
    flip(victim, True)
    summary.append(snapshot(wait_for_endpoints(cluster, name, all_ready(5), timeout=timeout), MOMENTS[3]))
    objects.scale(cluster, name, 2)
    summary.append(snapshot(wait_for_endpoints(cluster, name, all_ready(2), timeout=timeout), MOMENTS[4]))
    return pd.DataFrame(summary), rows
