"""Lab 3, "A model server that heals itself": a Deployment keeps its Pods alive.

The task: a Deployment :data:`DEPLOYMENT` in the namespace ``whyk8s`` (labelled
``app.kubernetes.io/part-of=whyk8s``) with 3 replicas whose container (:data:`IMAGE` running
:data:`COMMAND`) has a ``readinessProbe`` (:data:`PROBE`); then delete one of its Pods and see a new
one replace it; then scale to 5. (A Deployment keeps a long-running server alive; training, which
ends, is a Job: lab 4.)

The checks follow the owner chain the controllers write: each Pod's ``metadata.ownerReferences``
names (by ``uid``) a ReplicaSet, whose own ``ownerReferences`` name the Deployment. Replica counts
are read from ``spec.replicas`` and ``status.readyReplicas``.

On the kwok cluster no container runs, so probes are **not executed** and images are never pulled:
kwok marks every Pod Ready itself. The check verifies that a probe is declared, not that it passes.
On kind the kubelet runs the ``exec`` probe (``true`` inside the busybox container) and it passes.
"""

from __future__ import annotations

from kubernetes import client

from whyk8s.k8s.pods import controller_of, is_ready, is_terminating
from whyk8s.k8s.specs import JOB_IMAGE
from whyk8s.labs.checks import cluster_check, not_answered, recreate_hint, unanswered
from whyk8s.labs.common import NAMESPACE, find_elsewhere, label_finding, read, start, wait_for
from whyk8s.labs.feedback import CheckResult, ResetResult
from whyk8s.labs.reset import reset_lab
from whyk8s.notebook.display import failed_cell

__all__ = ["start", "DEPLOYMENT", "IMAGE", "COMMAND", "PROBE", "REPLICAS", "SCALED_REPLICAS", "check_deployment",
           "check_healed", "check_scaled", "owned_replica_sets", "owned_pods", "owner_chain", "reset"]

#: The Deployment's name; its Pods carry ``app=model-server``.
DEPLOYMENT = "model-server"
#: The container image: a small image with a shell, so that the probe and the command run on kind.
IMAGE = JOB_IMAGE
#: The container's command: a stand-in server that stays up for an hour.
COMMAND = ["sh", "-c", "sleep 3600"]
#: The readinessProbe: an ``exec`` probe that runs ``true`` in the container (passes on a real node).
PROBE = {"exec": {"command": ["true"]}, "periodSeconds": 5}
#: Replicas asked for in step 1.
REPLICAS = 3
#: Replicas asked for in step 3.
SCALED_REPLICAS = 5


def owned_replica_sets(cluster, deployment) -> list:
    """The ReplicaSets whose controller ``ownerReference`` names ``deployment`` by uid (one LIST).
    kubectl: ``kubectl get rs -n whyk8s -o wide`` (the CONTROLLED BY column of ``kubectl describe rs``)."""
    uid = deployment.metadata.uid
    return [rs for rs in cluster.apps.list_namespaced_replica_set(NAMESPACE).items
            if (controller_of(rs) is not None and controller_of(rs).uid == uid)]


def owned_pods(pods, replica_sets) -> list:
    """Of ``pods`` (client objects), those whose controller ``ownerReference`` names one of
    ``replica_sets`` by uid and that are not being deleted. Pure: no API call."""
    uids = {rs.metadata.uid for rs in replica_sets}
    return [p for p in pods
            if controller_of(p) is not None and controller_of(p).uid in uids and not is_terminating(p)]


def owner_chain(cluster, deployment) -> tuple[list, list]:
    """The ReplicaSets owned (by uid) by ``deployment`` and the Pods owned by those ReplicaSets, as
    two lists of client objects (two LISTs). Pods being deleted are left out."""
    sets = owned_replica_sets(cluster, deployment)
    return sets, owned_pods(cluster.core.list_namespaced_pod(NAMESPACE).items, sets)


def _deployment(result: CheckResult, cluster):
    """Read the Deployment, or record what is there instead and return None."""
    dep = read(cluster, "Deployment", DEPLOYMENT, NAMESPACE)
    if dep is None:
        elsewhere = find_elsewhere(cluster, DEPLOYMENT, NAMESPACE)
        if elsewhere:
            result.wrong(f"there is no Deployment {DEPLOYMENT} in namespace {NAMESPACE}, but there is "
                         f"{elsewhere}; the task asks for a Deployment (kind Deployment, apiVersion "
                         f"apps/v1) in namespace {NAMESPACE}")
        elif (failure := failed_cell("create_namespaced_deployment")) is not None:
            result.wrong(f"there is no Deployment named {DEPLOYMENT} in namespace {NAMESPACE}: the cell that "
                         f"creates it failed, so nothing was created. Read its message (\"{failure}\"), fix "
                         f"that cell and run it again")
        else:
            result.wrong(f"there is no Deployment named {DEPLOYMENT} in namespace {NAMESPACE} yet: "
                         f"uncomment the apps.create_namespaced_deployment line in the cell that builds it, "
                         f"then run that cell")
        return None
    result.ok(f"the Deployment {DEPLOYMENT} exists in namespace {NAMESPACE}")
    return dep


def _spec_replicas(result: CheckResult, dep, want: int) -> bool:
    """Record whether the Deployment asks for ``want`` replicas (``spec.replicas``); True if it does."""
    have = dep.spec.replicas
    if have != want:
        result.wrong(f"the Deployment asks for {have} replicas (spec.replicas); the task asks for {want}")
        return False
    result.ok(f"spec.replicas is {want}")
    return True


def _ready_and_owned(result: CheckResult, cluster, dep, want: int, timeout: float) -> None:
    """Wait (watching the Deployment) for ``want`` ready replicas; then check the owner chain."""
    def settled(deps):
        d = deps[0] if deps else None
        return bool(d) and (d.status.ready_replicas or 0) == want and (d.status.replicas or 0) == want \
            and (d.status.observed_generation or 0) >= d.metadata.generation

    items = wait_for(cluster.apps.list_namespaced_deployment, settled, timeout=timeout,
                     namespace=NAMESPACE, field_selector=f"metadata.name={DEPLOYMENT}")
    dep = items[0] if items else dep
    ready = dep.status.ready_replicas or 0
    if ready == want:
        result.ok(f"{ready} of {want} replicas are ready (status.readyReplicas)")
    else:
        result.wrong(f"{ready} of {want} replicas are ready (status.readyReplicas) after {timeout:g} s; "
                     f"look at the Pods' events to see what holds them back")

    sets, pods = owner_chain(cluster, dep)
    active = [rs for rs in sets if (rs.spec.replicas or 0) > 0]
    if not sets:
        result.wrong("no ReplicaSet names the Deployment (by uid) in its ownerReferences")
        return
    if len(active) != 1:
        result.wrong(f"{len(active)} ReplicaSets of the Deployment want Pods; wait for the rollout to finish "
                     f"and check again")
        return
    mine = owned_pods(pods, active)
    if len(mine) == want:
        result.ok(f"owner chain: {want} Pods → one ReplicaSet → the Deployment "
                  f"(each ownerReference matches its owner's uid)")
    else:
        result.wrong(f"owner chain: the Deployment's ReplicaSet owns {len(mine)} Pods; it should own {want}")


@cluster_check("Step 1: a Deployment with 3 replicas")
def check_deployment(result: CheckResult, cluster, timeout: float = 20) -> None:
    """Step 1: the Deployment exists in ``whyk8s`` with the course label, 3 replicas, a container
    with a ``readinessProbe``, 3 ready replicas (watched for up to ``timeout`` seconds) and an owner
    chain Deployment → ReplicaSet → 3 Pods. Never raises.
    kubectl: ``kubectl get deployment model-server -n whyk8s``; ``kubectl get rs,pods -n whyk8s``."""
    dep = _deployment(result, cluster)
    if dep is None:
        return
    with recreate_hint(result, "Deployment", dep):
        label_finding(result, "the Deployment", dep.metadata.labels)
        containers = dep.spec.template.spec.containers or []
        probed = [c.name for c in containers if c.readiness_probe]
        if probed:
            result.ok(f"the container {probed[0]} declares a readinessProbe (on kwok it is not run: kwok "
                      f"marks Pods Ready itself)")
        else:
            result.wrong("no container in the Pod template declares a readinessProbe "
                         "(spec.template.spec.containers[0].readinessProbe)")
        replicas_ok = _spec_replicas(result, dep, REPLICAS)
    if replicas_ok:
        _ready_and_owned(result, cluster, dep, REPLICAS, timeout)


@cluster_check("Step 2: delete a Pod and watch it come back")
def check_healed(result: CheckResult, cluster, before, deleted, timeout: float = 20) -> None:
    """Step 2: ``before`` is the list of Pod names the learner saw, ``deleted`` the name of the Pod
    they deleted. Passes when that Pod is gone, a Pod not in ``before`` owned by the same Deployment
    has replaced it (created after it), and the replicas are ready again. Never raises.

    Decided from watched objects: one watch until the deleted Pod is gone, one LIST of the
    Deployment's ReplicaSets (by owner uid), then one watch on the namespace's Pods whose predicate
    reads only the Pods it is given (their ``ownerReferences`` and Ready condition).
    kubectl: ``kubectl get pods -n whyk8s -l app=model-server -w``."""
    if unanswered(before) or unanswered(deleted):
        result.wrong(not_answered("before / deleted"))
        return
    if isinstance(before, str) or not all(isinstance(n, str) for n in before):
        result.wrong("before should be a list of Pod names (strings), e.g. [p.metadata.name for p in pods.items]")
        return
    if not isinstance(deleted, str):
        result.wrong(f"deleted should be one Pod name (a string), got {type(deleted).__name__}")
        return
    if deleted not in before:
        result.wrong(f"{deleted!r} is not one of the Pods you listed in before; delete one of those")
        return
    dep = _deployment(result, cluster)
    if dep is None:
        return

    # A Pod being deleted keeps running until its container stops or its grace period ends (on kind,
    # `sh -c "sleep 3600"` ignores SIGTERM, so that is the full 30 s): wait at least that long.
    grace = 0
    try:
        pod = cluster.core.read_namespaced_pod(deleted, NAMESPACE)
        grace = pod.metadata.deletion_grace_period_seconds or 0
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    gone = wait_for(cluster.core.list_namespaced_pod, lambda ps: not ps, timeout=max(timeout, grace + 15),
                    namespace=NAMESPACE, field_selector=f"metadata.name={deleted}")
    if gone:
        result.wrong(f"the Pod {deleted} still exists: delete it with "
                     f"core.delete_namespaced_pod({deleted!r}, {NAMESPACE!r})")
        return
    result.ok("the Pod you deleted is gone")

    want = dep.spec.replicas or 0
    sets = owned_replica_sets(cluster, dep)

    def replaced(pods) -> bool:
        mine = owned_pods(pods, sets)
        return sum(1 for p in mine if is_ready(p)) >= want and any(p.metadata.name not in before for p in mine)

    pods = owned_pods(wait_for(cluster.core.list_namespaced_pod, replaced, timeout=timeout, namespace=NAMESPACE),
                      sets)
    new = [p for p in pods if p.metadata.name not in before]
    old = [p for p in pods if p.metadata.name in before]
    if not new:
        result.wrong("no new Pod has appeared yet; wait a few seconds and run the check again")
        return
    newest_old = max((p.metadata.creation_timestamp for p in old), default=None)
    if newest_old is None or max(p.metadata.creation_timestamp for p in new) >= newest_old:
        result.ok("a new Pod, owned by the same Deployment's ReplicaSet, was created after the ones you "
                  "listed: the ReplicaSet controller replaced the Pod you deleted")
    else:
        result.wrong("the Pods not in your list are older than those in it; list the Pods again, then delete one")
    ready = sum(1 for p in pods if is_ready(p))
    if ready >= want:
        result.ok(f"{want} Pods are Ready again")
    else:
        result.wrong(f"{ready} of {want} Pods are Ready; wait a few seconds and check again")


@cluster_check("Step 3: scale to 5")
def check_scaled(result: CheckResult, cluster, timeout: float = 20) -> None:
    """Step 3: the Deployment asks for 5 replicas, 5 are ready, and the owner chain holds 5 Pods.
    kubectl: ``kubectl scale deployment model-server --replicas=5 -n whyk8s``."""
    dep = _deployment(result, cluster)
    if dep is None:
        return
    if _spec_replicas(result, dep, SCALED_REPLICAS):
        _ready_and_owned(result, cluster, dep, SCALED_REPLICAS, timeout)


def reset(timeout: float = 90) -> ResetResult:
    """Delete every course-labelled object (the Deployment :data:`DEPLOYMENT` with its ReplicaSets
    and Pods among them) and wait until they are gone. An object named :data:`DEPLOYMENT` without
    the course label (a Deployment, or a Pod or ReplicaSet made instead) is left alone and named,
    with the lines that delete it. Returns what was removed ("Lab 3 reset: done")."""
    return reset_lab("Lab 3 reset", [("Deployment", NAMESPACE, DEPLOYMENT), ("ReplicaSet", NAMESPACE, DEPLOYMENT),
                                     ("Pod", NAMESPACE, DEPLOYMENT)], timeout=timeout)
