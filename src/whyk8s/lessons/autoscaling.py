"""Chapter 3, "Autoscaling": what a HorizontalPodAutoscaler (HPA) computes, and what it reports on
the course cluster.

The HPA controller (in kube-controller-manager) runs every 15 seconds by default. It reads the
metric of the pods of its target (CPU use from the resource metrics API, ``metrics.k8s.io``, which
metrics-server serves), computes a replica count with :func:`desired_replicas`, and writes it into
the target's ``scale`` subresource (``spec.replicas`` of a Deployment); the Deployment and its
ReplicaSet then do the rest. Source: kubernetes.io, "Horizontal Pod Autoscaling", *Algorithm details*.

The course cluster runs no metrics-server (and on kwok no container uses any CPU), so the HPA there
can read its target's scale but not its metric: :func:`wait_for_hpa` returns what its status really
says (``AbleToScale`` True, ``ScalingActive`` False with reason ``FailedGetResourceMetric``).
"""

from __future__ import annotations

import math
import time

from kubernetes import client

from whyk8s.errors import WaitTimeoutError
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.waits import watch_until

__all__ = ["TOLERANCE", "desired_replicas", "scale_up_limit", "utilization", "wait_for_hpa", "conditions_table"]

#: The HPA controller's default tolerance: no change while the metric is within 10 % of its target
#: (kube-controller-manager ``--horizontal-pod-autoscaler-tolerance``, default 0.1).
TOLERANCE = 0.1
#: How often :func:`wait_for_hpa`'s progress line is updated, in seconds.
PROGRESS_EVERY = 1.0


def utilization(usage_millicores: list[int], request_millicores: int) -> int:
    """The average CPU utilization the HPA compares with its target: the pods' summed use over their
    summed requests, in whole percent (rounded down, as the controller does). ``usage_millicores``:
    one value per pod; ``request_millicores``: each pod's CPU request. Raises ValueError without pods
    or with a request of 0 (utilization is a share of the request: pods without one cannot be scaled
    on it)."""
    if not usage_millicores:
        raise ValueError("no pods: utilization needs at least one pod's metric")
    if request_millicores <= 0:
        raise ValueError("utilization is a share of the CPU request; the pods request no CPU")
    return int(100 * sum(usage_millicores) / (request_millicores * len(usage_millicores)))


def desired_replicas(current_replicas: int, current_value: float, target_value: float, *,
                     min_replicas: int = 1, max_replicas: int | None = None, tolerance: float = TOLERANCE) -> int:
    """The HPA's replica count for one metric: ``ceil(current_replicas * current_value / target_value)``,
    unchanged while ``current_value / target_value`` is within ``tolerance`` of 1, then kept between
    ``min_replicas`` and ``max_replicas``. Values in any one unit (percent utilization, millicores,
    requests per second). Example: 3 pods at 90 % CPU with a 60 % target → ceil(3 × 1.5) = 5.
    Raises ValueError for a target ≤ 0 or negative replicas. It ignores rate limits: the HPA's
    ``behavior`` then caps a scale-up per 15 s period (:func:`scale_up_limit` for the default policies)
    and holds a scale-down to the highest count of the last 300 s; the controller also ignores pods not
    yet ready or without a metric in some cases. None of that is applied here."""
    if target_value <= 0:
        raise ValueError(f"the target must be above 0, got {target_value}")
    if current_replicas < 0:
        raise ValueError(f"replicas cannot be negative, got {current_replicas}")
    ratio = current_value / target_value
    wanted = current_replicas if abs(ratio - 1.0) <= tolerance else math.ceil(current_replicas * ratio)
    wanted = max(wanted, min_replicas)
    return min(wanted, max_replicas) if max_replicas is not None else wanted


def scale_up_limit(current_replicas: int, max_replicas: int | None = None) -> int:
    """The most replicas the HPA may write in one step up from ``current_replicas`` under the default
    ``behavior.scaleUp`` (no stabilization window; policies ``Percent 100`` and ``Pods 4``, each per
    15 s period, ``selectPolicy: Max``): the larger of twice the pods and 4 more pods, capped at
    ``max_replicas`` if given. Assumes no scale-up happened in the last 15 s (otherwise the controller
    counts from the replicas the period began with). Example: from 3 pods, max(6, 7) = 7; the next
    pass, at least 15 s later, may go from 7 to max(14, 11) = 14. Raises ValueError for negative
    replicas. Sources: kubernetes.io "Horizontal Pod Autoscaling", *Default Behavior*; the API server
    of v1.36.1 fills in exactly these ``scaleUp`` policies when an HPA sets ``behavior`` without them."""
    if current_replicas < 0:
        raise ValueError(f"replicas cannot be negative, got {current_replicas}")
    limit = max(2 * current_replicas, current_replicas + 4)
    return min(limit, max_replicas) if max_replicas is not None else limit


def wait_for_hpa(cluster: Cluster, name: str, timeout: float = 60) -> client.V2HorizontalPodAutoscaler:
    """Watch the HPA ``name`` in the course namespace until its controller has written conditions
    (``AbleToScale`` and ``ScalingActive``: the first pass comes within one 15 s sync period); return
    it. In a notebook a line below the cell says what it waits for and the seconds so far, updated
    every :data:`PROGRESS_EVERY` seconds (:class:`whyk8s.notebook.progress.Progress`). Raises
    WaitTimeoutError after ``timeout`` seconds. kubectl: ``kubectl get hpa <name> -n whyk8s -w``,
    then ``kubectl describe hpa <name> -n whyk8s``."""
    def written(objs) -> bool:
        h = objs.get(name)
        types = {c.type for c in (h.status.conditions or [])} if h is not None and h.status else set()
        return {"AbleToScale", "ScalingActive"} <= types

    from whyk8s.notebook.progress import Progress
    progress = Progress(f"Waiting for the HorizontalPodAutoscaler controller's first pass over {name} "
                        f"(it runs every 15 s and writes the conditions AbleToScale and ScalingActive)")
    started = time.monotonic()
    deadline = started + timeout
    objs: dict = {}
    while time.monotonic() < deadline:  # watch in slices of a second, to update the line in between
        objs = watch_until(cluster.autoscaling.list_namespaced_horizontal_pod_autoscaler, cluster.namespace,
                           field_selector=f"metadata.name={name}", done=written,
                           deadline=min(deadline, time.monotonic() + PROGRESS_EVERY))
        if written(objs):
            progress.done(f"The HorizontalPodAutoscaler controller has made its first pass over {name}.")
            return objs[name]
        progress.update(time.monotonic() - started)
    progress.done(f"The HorizontalPodAutoscaler {name} wrote no conditions within {timeout:.0f} s.", ok=False)
    raise WaitTimeoutError(f"The HorizontalPodAutoscaler {name} wrote no conditions within {timeout:.0f} s.")


def conditions_table(hpa: client.V2HorizontalPodAutoscaler):
    """The HPA's conditions as a pandas DataFrame: ``type``, ``status``, ``reason``, ``message``
    (sorted by type), what ``kubectl describe hpa`` lists under *Conditions*."""
    import pandas as pd
    rows = [[c.type, c.status, c.reason, c.message] for c in sorted(hpa.status.conditions or [], key=lambda c: c.type)]
    return pd.DataFrame(rows, columns=["type", "status", "reason", "message"])
