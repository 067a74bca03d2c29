"""Lab 2, "Your first Pod": the learner creates one Pod with the official client; the check reads it
back and names each field that differs from the task.

The task: a Pod named :data:`POD_NAME` in the namespace ``whyk8s``, labelled ``app=first-pod`` and
``app.kubernetes.io/part-of=whyk8s``, one container named :data:`CONTAINER` running :data:`IMAGE`, requesting
:data:`CPU` (250 millicores) and :data:`MEMORY` (64 MiB = 67,108,864 bytes).

CPU is compared in millicores (``0.25`` and ``250m`` are the same request); memory in bytes, so
``64M`` (64,000,000 bytes) is not ``64Mi`` (67,108,864 bytes) and the finding says so. Source for
the units: kubernetes.io, "Resource Management for Pods and Containers".
"""

from __future__ import annotations

from kubernetes.utils.quantity import parse_quantity

from whyk8s.k8s.quantities import canonical_cpu, format_memory
from whyk8s.k8s.specs import DEFAULT_IMAGE
from whyk8s.labs.checks import cluster_check, not_answered, recreate_hint, unanswered
from whyk8s.labs.common import NAMESPACE, find_elsewhere, label_finding, read, start, wait_for
from whyk8s.labs.feedback import CheckResult, ResetResult
from whyk8s.labs.reset import reset_lab
from whyk8s.notebook.display import failed_cell

__all__ = ["start", "POD_NAME", "CONTAINER", "IMAGE", "CPU", "MEMORY", "APP_LABEL", "check_pod", "check_read_back", "reset"]

#: The Pod's name.
POD_NAME = "first-pod"
#: The container's name.
CONTAINER = "main"
#: The container image. It sleeps forever, so on kind (real containers) the Pod stays Running; kwok
#: never pulls it: no container runs on simulated nodes.
IMAGE = DEFAULT_IMAGE
#: The CPU request asked for (250 millicores).
CPU = "250m"
#: The memory request asked for (64 MiB).
MEMORY = "64Mi"
#: The ``app`` label the Pod must carry.
APP_LABEL = ("app", "first-pod")


@cluster_check("Lab 2: your first Pod")
def check_pod(result: CheckResult, cluster, timeout: float = 15) -> None:
    """Read the Pod :data:`POD_NAME` back from the namespace ``whyk8s`` and compare it with the task.

    Findings name each wrong field: missing Pod (and where a same-named object is instead: another
    kind or another namespace; or, when the cell that calls ``create_namespaced_pod`` failed, that it
    did and with what message: :func:`whyk8s.notebook.display.failed_cell`), labels, container name, image, CPU request (millicores), memory request (bytes), and
    whether the scheduler placed it on a node (watched for up to ``timeout`` seconds). When a field is
    wrong, a last finding says how to create the Pod again (reset, then the create cell). Never raises.
    kubectl: ``kubectl get pod first-pod -n whyk8s -o yaml``.
    """
    pod = read(cluster, "Pod", POD_NAME, NAMESPACE)
    if pod is None:
        elsewhere = find_elsewhere(cluster, POD_NAME, NAMESPACE)
        if elsewhere:
            result.wrong(f"there is no Pod {POD_NAME} in namespace {NAMESPACE}, but there is {elsewhere}; "
                         f"the task asks for a Pod (kind Pod) in namespace {NAMESPACE}")
        elif (failure := failed_cell("create_namespaced_pod")) is not None:
            result.wrong(f"there is no Pod named {POD_NAME} in namespace {NAMESPACE}: the cell that creates it "
                         f"failed, so nothing was created. Read its message (\"{failure}\"), fix that cell "
                         f"and run it again")
        else:
            result.wrong(f"there is no Pod named {POD_NAME} in namespace {NAMESPACE} yet: uncomment the "
                         f"core.create_namespaced_pod line in the cell that builds it, then run that cell")
        return
    result.ok(f"the Pod {POD_NAME} exists in namespace {NAMESPACE}")

    with recreate_hint(result, "Pod", pod):
        labels = pod.metadata.labels or {}
        label_finding(result, "the Pod", labels)
        key, value = APP_LABEL
        if labels.get(key) == value:
            result.ok(f"the Pod carries the label {key}={value}")
        elif key in labels:
            result.wrong(f"the Pod's label {key} is {labels[key]!r}; the task asks for {key}={value}")
        else:
            result.wrong(f"the Pod has no label {key}={value}")

        containers = pod.spec.containers or []
        if len(containers) != 1:
            result.wrong(f"the Pod has {len(containers)} containers; the task asks for exactly one")
        container = containers[0]
        if container.name == CONTAINER:
            result.ok(f"the container is named {CONTAINER}")
        else:
            result.wrong(f"the container is named {container.name!r}; the task asks for {CONTAINER!r} "
                         f"(spec.containers[0].name; the Pod's own name is metadata.name)")
        if container.image == IMAGE:
            result.ok(f"the container runs {IMAGE}")
        else:
            result.wrong(f"the container's image is {container.image!r}; the task asks for {IMAGE!r}")

        requests = (container.resources.requests if container.resources else None) or {}
        _check_cpu(result, requests.get("cpu"))
        _check_memory(result, requests.get("memory"))

    # The scheduler places the Pod within a moment; watch for it rather than polling.
    items = wait_for(cluster.core.list_namespaced_pod, lambda ps: bool(ps and ps[0].spec.node_name),
                     timeout=timeout, namespace=NAMESPACE, field_selector=f"metadata.name={POD_NAME}")
    pod = items[0] if items else pod
    if pod.spec.node_name:
        result.ok("the scheduler placed the Pod on a node")
    else:
        result.wrong(f"the Pod is not scheduled to any node yet (phase {pod.status.phase}); look at its "
                     f"events: core.list_namespaced_event('{NAMESPACE}', "
                     f"field_selector='involvedObject.name={POD_NAME}')")


@cluster_check("Step 2: read it back")
def check_read_back(result: CheckResult, cluster, stored) -> None:
    """Step 2: ``stored`` is what the learner read back with ``core.read_namespaced_pod`` (a
    ``V1Pod``). Passes when it is the Pod :data:`POD_NAME` as the API server holds it now: same uid,
    placed on a node (``spec.node_name``, compared with the live Pod) and with the task's requests
    (CPU 250 millicores, memory 67,108,864 bytes), compared as values. The API server keeps the
    value, not the notation: it writes each quantity back in its canonical form (``0.25`` CPU comes
    back as ``250m``, ``1.5Gi`` as ``1536Mi``; plain bytes stay plain bytes), and the finding shows
    what came back. Source: kubernetes.io, API reference, "Quantity". Never raises."""
    if unanswered(stored):
        result.wrong(not_answered("stored"))
        return
    if not hasattr(stored, "spec") or not hasattr(stored, "metadata") or isinstance(stored, dict):
        result.wrong(f"stored is a {type(stored).__name__}; read the Pod with "
                     f"core.read_namespaced_pod({POD_NAME!r}, {NAMESPACE!r}), which returns a V1Pod")
        return
    if stored.metadata.name != POD_NAME:
        result.wrong(f"stored is the Pod {stored.metadata.name!r}; the task reads back {POD_NAME!r}")
        return
    live = read(cluster, "Pod", POD_NAME, NAMESPACE)
    if live is None:
        result.wrong(f"the Pod {POD_NAME} no longer exists in namespace {NAMESPACE}: create it again (step 1)")
        return
    if live.metadata.uid != stored.metadata.uid:
        result.wrong(f"stored comes from an earlier {POD_NAME} (its uid differs from the Pod that exists now): "
                     f"read it again")
        return
    result.ok(f"stored is the Pod {POD_NAME} as the API server holds it (same uid)")
    if stored.spec.node_name:
        result.ok(f"the scheduler wrote its decision into spec.node_name: {stored.spec.node_name}")
    else:
        result.wrong("stored.spec.node_name is empty: you read the Pod before the scheduler placed it; read it again")
    requests = (stored.spec.containers[0].resources.requests or {}) if stored.spec.containers else {}
    cpu, memory = requests.get("cpu"), requests.get("memory")
    cpu_m = _millicores(cpu)
    mem_b = _bytes(memory)
    if cpu_m == int(parse_quantity(CPU) * 1000) and mem_b == int(parse_quantity(MEMORY)):
        result.ok(f"the API server stored the requests you asked for: cpu {cpu} ({cpu_m} millicores), memory "
                  f"{memory} ({mem_b:,} bytes). It keeps the value and writes it in its canonical notation "
                  f"(0.25 CPU comes back as 250m, 1.5Gi as 1536Mi); the scheduler compares millicores and bytes")
    else:
        result.wrong(f"the stored requests are {requests}; the task asks for cpu {CPU} and memory {MEMORY} (step 1)")


def _millicores(raw) -> int | None:
    try:
        return int(parse_quantity(str(raw)) * 1000) if raw is not None else None
    except ValueError:
        return None


def _bytes(raw) -> int | None:
    try:
        return int(parse_quantity(str(raw))) if raw is not None else None
    except ValueError:
        return None


def _check_cpu(result: CheckResult, raw) -> None:
    want = int(parse_quantity(CPU) * 1000)
    if raw is None:
        result.wrong(f"the container requests no CPU; the task asks for {CPU} (resources.requests['cpu'])")
        return
    have = int(parse_quantity(str(raw)) * 1000)
    if have == want:
        result.ok(f"the Pod requests {canonical_cpu(have)} CPU ({have / 1000:g} of a core)")
    else:
        result.wrong(f"the Pod requests {raw} CPU ({have} millicores); the task asks for {CPU} "
                     f"({want} millicores = {want / 1000:g} CPU)")


def _check_memory(result: CheckResult, raw) -> None:
    want = int(parse_quantity(MEMORY))
    if raw is None:
        result.wrong(f"the container requests no memory; the task asks for {MEMORY} "
                     f"(resources.requests['memory'])")
        return
    have = parse_quantity(str(raw))
    if have == want:
        result.ok(f"the Pod requests {format_memory(int(have))} of memory")
        return
    message = (f"the Pod requests {raw} memory ({int(have):,} bytes); the task asks for {MEMORY} "
               f"({want:,} bytes)")
    if have == 64 * 10**6:
        message += ": M is a million bytes (10**6), Mi is a mebibyte (2**20 = 1,048,576 bytes); write 64Mi"
    elif str(raw).endswith("m"):
        message += ": a trailing m means milli, thousandths of a byte; write 64Mi"
    result.wrong(message)


def reset(timeout: float = 90) -> ResetResult:
    """Delete every course-labelled object (the Pod :data:`POD_NAME` among them) and wait until they
    are gone. A Pod :data:`POD_NAME` without the course label is left alone and named, with the lines
    that delete it. Returns what was removed ("Lab 2 reset: done")."""
    return reset_lab("Lab 2 reset", [("Pod", NAMESPACE, POD_NAME)], timeout=timeout)
