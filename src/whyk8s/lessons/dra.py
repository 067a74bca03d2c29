"""Dynamic Resource Allocation (DRA) live on the kwok cluster: course-published devices, the real
scheduler's allocation, read back from the ResourceClaim.

DRA (``resource.k8s.io/v1``, GA since v1.34) has four kinds of objects. A DRA *driver* publishes each
node's devices, with attributes and capacities, in **ResourceSlices**; a **DeviceClass** selects a
driver's devices; a **ResourceClaim** (or a **ResourceClaimTemplate**, one claim per pod) asks for
devices of a class, filtered by CEL expressions; the **kube-scheduler** picks particular devices,
writes them into the claim's ``status.allocation`` and lists the pod in ``status.reservedFor``.

The course has no DRA driver, so this module plays the driver's *publishing* half for the GPU
worker of the layout (``whyk8s-worker3``): :func:`publish` writes one ResourceSlice with four
simulated GPUs (:data:`DEVICES`: two 80 GiB, two 40 GiB) and the DeviceClass :data:`DEVICE_CLASS`.
Everything else is the real control plane of the course cluster (v1.36.1): the API server validates
the objects and the CEL selectors, the resourceclaim controller makes a claim from a template for
each pod, the scheduler allocates.

**The driver name** is :data:`DRIVER`, ``gpu.whyk8s.example``, not NVIDIA's ``gpu.nvidia.com``: a
driver name is a DNS subdomain that should end in a domain its vendor owns (API reference,
``ResourceSlice.spec.driver``), and ``.example`` is reserved (RFC 2606), so these simulated devices
can never be mistaken for a real driver's, match a real DeviceClass written for NVIDIA's driver, or
be handed to NVIDIA's kubelet plugin on a cluster that runs it.

**What a real DRA driver adds, which the course does not run.** A driver also has a *kubelet
plugin* on every node. It publishes the slices from what it finds on the machine (and republishes
them, with a new pool generation, when that changes); before the kubelet starts a pod's containers
it calls the plugin's ``NodePrepareResources`` (gRPC), which sets the device up and returns CDI
(Container Device Interface) device names that the container runtime uses to put the device nodes,
mounts and environment into the container; ``NodeUnprepareResources`` undoes it when the pod is
gone. A driver may also report device status into the claim (``status.devices``) and, where it
supports it, device health into the pod's status.
On kwok there is no kubelet: kwok marks the pod Running without any preparation, so no container
ever sees a device, and ``status.devices`` stays empty. On kind the real kubelet would need the
driver's plugin to prepare the device before starting the containers, and none runs there: the live
part is for the kwok route (:func:`runs_here`), the manifests are the same on both.

**Facts from runs on the course's kwok cluster** (``tests/test_dra.py``): the scheduler allocates a
device whose memory satisfies the claim's CEL selector, on the node that publishes it, and lists the
pod in ``status.reservedFor``; kwok then marks the pod Running; the allocator takes the first
device that fits, in the slice's order (a 40 GiB request took an 80 GiB GPU while those were listed
first); a claim no device satisfies stays unallocated and its pod Pending with "cannot allocate all
claims"; a Job's pod on kwok succeeds at once, and the claim made for it is then deallocated and
deleted within a fraction of a second, so :func:`wait_for_allocation` reads the allocation from a
watch while it exists.

One function per act; the ``*_spec`` functions are pure and return the manifest as a dict
(:func:`whyk8s.k8s.specs.manifest` shows it as YAML, ``kubectl apply -f`` takes it). Every object
carries ``app.kubernetes.io/part-of=whyk8s``; :func:`clean_up` deletes only objects that carry it.
Sources: kubernetes.io, "Dynamic Resource Allocation" and "Set Up DRA in a Cluster"; API reference
``resource.k8s.io/v1`` (ResourceSlice, DeviceClass, ResourceClaimTemplate, CELDeviceSelector);
github.com/kubernetes/enhancements KEP-4381 (DRA with structured parameters, the kubelet plugin's
gRPC API) and KEP-4680 (device health in the pod's status).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
from kubernetes import client

from whyk8s import PART_OF_LABEL
from whyk8s.cluster.layout import load_layout
from whyk8s.cluster.workers import is_kwok_cluster
from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s import specs
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.informer import ListWatch
from whyk8s.k8s.pods import generated_base
from whyk8s.k8s.quantities import parse_memory
from whyk8s.k8s.rights import Access, InstructorDemonstration, can, require
from whyk8s.k8s.specs import Quantity, validate_name
from whyk8s.k8s.waits import wait_until_gone

__all__ = ["DRIVER", "DEVICE_CLASS", "ON_KIND", "Device", "DEVICES", "CLAIM_NAME", "KwokOnlyError", "gpu_node",
           "slice_name", "resource_slice_spec", "device_class_spec", "memory_selector", "claim_template_spec",
           "training_job", "claiming_pod", "runs_here", "publish", "create_claim_template", "published_devices",
           "allocation_of", "claims", "wait_for_allocation", "submit", "clean_up", "KINDS", "left",
           "workshop_is_up", "kept_for_the_room", "tidy"]

#: The course's DRA driver name (a DNS subdomain under the reserved ``.example``; see the module doc).
DRIVER = "gpu.whyk8s.example"
#: The DeviceClass selecting the devices of :data:`DRIVER` (named after it, as drivers name theirs).
DEVICE_CLASS = DRIVER
#: The four DRA kinds the course makes (the claims are made by the resourceclaim controller from the
#: course's templates, labelled from the template's ``spec.metadata``).
KINDS = ("ResourceClaim", "ResourceClaimTemplate", "DeviceClass", "ResourceSlice")
#: The name of the claim in the pods this module builds (``spec.resourceClaims[].name``).
CLAIM_NAME = "gpu"
#: What the chapter says in place of the live run on kind.
ON_KIND = ("This cluster runs real kubelets (kind). The live DRA run is for the kwok route (`whyk8s cluster up "
           "--provider kwok`): here each kubelet would need the driver's kubelet plugin to prepare the device "
           "before starting the container, and the course runs no DRA driver. The manifests above are the same "
           "on both.")
_LABELS = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
_SELECTOR = f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]}"


@dataclass(frozen=True)
class Device:
    """One simulated GPU: ``name`` (unique in its pool, a DNS label), ``model`` (an attribute, a
    string) and ``memory`` (a capacity, a quantity such as ``"80Gi"``)."""

    name: str
    model: str
    memory: str


#: The GPUs published for the GPU node: the 80 GB and the 40 GB A100 (81920 and 40960 MiB each).
DEVICES = (Device("gpu-0", "A100-SXM4-80GB", "80Gi"), Device("gpu-1", "A100-SXM4-80GB", "80Gi"),
           Device("gpu-2", "A100-SXM4-40GB", "40Gi"), Device("gpu-3", "A100-SXM4-40GB", "40Gi"))


class KwokOnlyError(CourseError):
    """The live DRA demonstration needs the kwok route (see the module docstring)."""


def gpu_node() -> str:
    """The name of the layout's GPU worker (``whyk8s-worker3``), whose devices the course publishes."""
    return load_layout().pool("gpu")[0].name


def slice_name(node: str | None = None) -> str:
    """The ResourceSlice's name for ``node``: ``<node>-gpu.whyk8s.example``."""
    return f"{node or gpu_node()}-{DRIVER}"


def resource_slice_spec(node: str | None = None, devices: tuple[Device, ...] = DEVICES,
                        generation: int = 1) -> dict:
    """The ResourceSlice publishing ``devices`` of ``node`` (default: the GPU worker) for :data:`DRIVER`.

    One pool per node, named after the node, made of this one slice (``resourceSliceCount: 1``), at
    ``generation`` (a whole number ≥ 1; a driver raises it each time it rewrites the pool, and the
    scheduler ignores slices of an older generation). ``nodeName`` ties the devices to the node: the
    scheduler puts a pod whose claim gets one of them on that node. Each device has the attribute
    ``model`` (a string) and the capacity ``memory`` (a quantity). Raises ValueError for a bad
    generation, device name or memory.

    YAML (``specs.manifest(resource_slice_spec())``)::

        apiVersion: resource.k8s.io/v1
        kind: ResourceSlice
        metadata: {name: whyk8s-worker3-gpu.whyk8s.example, labels: {app.kubernetes.io/part-of: whyk8s}}
        spec:
          driver: gpu.whyk8s.example
          nodeName: whyk8s-worker3
          pool: {name: whyk8s-worker3, generation: 1, resourceSliceCount: 1}
          devices:
          - name: gpu-0
            attributes: {model: {string: A100-SXM4-80GB}}
            capacity: {memory: {value: 80Gi}}
          ...

    kubectl: ``kubectl apply -f slice.yaml``; ``kubectl get resourceslices``.
    """
    node = node or gpu_node()
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 1:
        raise ValueError(f"A pool's generation is a whole number, 1 or more; got {generation!r}.")
    names = [validate_name(d.name, "device", max_length=63) for d in devices]
    if any("." in n for n in names):
        raise ValueError(f"A device name is a DNS label (no '.'); got {', '.join(names)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"Device names must be unique in a pool; got {', '.join(names)}.")
    for d in devices:
        parse_memory(d.memory)
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
            "metadata": {"name": slice_name(node), "labels": dict(_LABELS)},
            "spec": {"driver": DRIVER, "nodeName": node,
                     "pool": {"name": node, "generation": generation, "resourceSliceCount": 1},
                     "devices": [{"name": d.name, "attributes": {"model": {"string": d.model}},
                                  "capacity": {"memory": {"value": d.memory}}} for d in devices]}}


def device_class_spec() -> dict:
    """The DeviceClass :data:`DEVICE_CLASS`: every device :data:`DRIVER` publishes (a CEL selector on
    ``device.driver``).

    YAML::

        apiVersion: resource.k8s.io/v1
        kind: DeviceClass
        metadata: {name: gpu.whyk8s.example, labels: {app.kubernetes.io/part-of: whyk8s}}
        spec:
          selectors:
          - cel: {expression: device.driver == "gpu.whyk8s.example"}

    kubectl: ``kubectl apply -f class.yaml``; ``kubectl get deviceclasses``.
    """
    return {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
            "metadata": {"name": DEVICE_CLASS, "labels": dict(_LABELS)},
            "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{DRIVER}"'}}]}}


def memory_selector(min_memory: Quantity) -> str:
    """The CEL expression "the device has at least ``min_memory`` of memory":
    ``device.capacity['gpu.whyk8s.example'].memory.compareTo(quantity('40Gi')) >= 0``. Capacities are
    grouped by the driver's name and are Kubernetes quantities, so they are compared with
    ``compareTo`` (−1, 0, 1), not ``>=`` (kubernetes.io, "Dynamic Resource Allocation"; the CEL
    ``quantity`` library of Kubernetes). ``min_memory`` is a quantity (``"40Gi"``) or a number of
    bytes. Raises ValueError for anything else (e.g. ``"40m"``)."""
    value = parse_memory(min_memory)
    text = str(min_memory).strip() if isinstance(min_memory, str) else str(value)
    return f"device.capacity['{DRIVER}'].memory.compareTo(quantity('{text}')) >= 0"


def claim_template_spec(name: str, min_memory: Quantity = "40Gi") -> dict:
    """A ResourceClaimTemplate ``name`` asking for exactly one device of :data:`DEVICE_CLASS` with at
    least ``min_memory`` (:func:`memory_selector`). Each pod that names it gets its own
    ResourceClaim, made by the resourceclaim controller, owned by the pod (deleted when the pod is
    done) and carrying the labels of ``spec.metadata`` (the course label). Raises ValueError for a
    bad name or quantity.

    YAML (``specs.manifest(claim_template_spec("gpu-40gi"))``)::

        apiVersion: resource.k8s.io/v1
        kind: ResourceClaimTemplate
        metadata: {name: gpu-40gi, labels: {app.kubernetes.io/part-of: whyk8s}}
        spec:
          metadata: {labels: {app.kubernetes.io/part-of: whyk8s}}
          spec:
            devices:
              requests:
              - name: gpu
                exactly:
                  deviceClassName: gpu.whyk8s.example
                  count: 1
                  selectors:
                  - cel:
                      expression: device.capacity['gpu.whyk8s.example'].memory.compareTo(quantity('40Gi')) >= 0

    kubectl: ``kubectl apply -f template.yaml -n whyk8s``.
    """
    name = validate_name(name, "ResourceClaimTemplate")
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
            "metadata": {"name": name, "labels": dict(_LABELS)},
            "spec": {"metadata": {"labels": dict(_LABELS)},
                     "spec": {"devices": {"requests": [{"name": CLAIM_NAME, "exactly": {
                         "deviceClassName": DEVICE_CLASS, "count": 1,
                         "selectors": [{"cel": {"expression": memory_selector(min_memory)}}]}}]}}}}


def _claim_pod_spec(spec: client.V1PodSpec, claim_template: str) -> None:
    """Give ``spec`` the claim ``gpu`` made from ``claim_template``, used by its first container, and
    the GPU node's toleration (the devices are on the tainted GPU worker)."""
    validate_name(claim_template, "ResourceClaimTemplate")
    spec.resource_claims = [client.V1PodResourceClaim(name=CLAIM_NAME, resource_claim_template_name=claim_template)]
    spec.containers[0].resources.claims = [client.CoreV1ResourceClaim(name=CLAIM_NAME)]
    spec.tolerations = [specs.gpu_toleration()]


def training_job(name: str, claim_template: str, cpu: Quantity = "2", memory: Quantity = "8Gi") -> client.V1Job:
    """A course-labelled training Job (:func:`whyk8s.k8s.specs.job`: ``sleep 5`` in busybox) whose pod
    claims one device through ``claim_template`` (``spec.resourceClaims``, and the container's
    ``resources.claims``) instead of counting ``nvidia.com/gpu``; it tolerates the GPU node's taint.
    No nodeSelector: the claim decides the node. Raises ValueError for bad names or quantities.

    YAML (``specs.manifest(training_job("train-llm", "gpu-40gi"))``), the parts DRA adds::

        spec:
          template:
            spec:
              resourceClaims:
              - {name: gpu, resourceClaimTemplateName: gpu-40gi}
              containers:
              - name: train-llm
                resources:
                  claims:
                  - {name: gpu}
              tolerations:
              - {key: nvidia.com/gpu, operator: Equal, value: present, effect: NoSchedule}

    kubectl: ``kubectl apply -f train-llm.yaml -n whyk8s``.
    """
    job = specs.job(name, cpu=cpu, memory=memory)
    _claim_pod_spec(job.spec.template.spec, claim_template)
    return job


def claiming_pod(name: str, claim_template: str) -> client.V1Pod:
    """A course-labelled pod (a long-running one, e.g. a model server: kwok keeps it Running) whose
    container claims one device through ``claim_template``, as :func:`training_job` does. Raises
    ValueError for bad names. kubectl: ``kubectl apply -f pod.yaml -n whyk8s``."""
    pod = specs.pod(name)
    _claim_pod_spec(pod.spec, claim_template)
    return pod


# -- acts on the cluster ------------------------------------------------------------------------------

def runs_here(cluster: Cluster) -> bool:
    """True on the kwok route, where the live DRA demonstration runs (no kubelet waits for a driver's
    plugin); False on kind (see the module docstring)."""
    return is_kwok_cluster(cluster)


def _resource(cluster: Cluster) -> client.ResourceV1Api:
    return client.ResourceV1Api(cluster.api)


def _labelled(obj) -> bool:
    return (obj.metadata.labels or {}).get(PART_OF_LABEL[0]) == PART_OF_LABEL[1]


#: The right to publish devices (a DRA driver's, cluster-wide; in a workshop, the instructor's).
PUBLISH = Access("create", "resourceslices", "resource.k8s.io")


def publish(cluster: Cluster, node: str | None = None, devices: tuple[Device, ...] = DEVICES) -> dict:
    """Publish ``devices`` for ``node`` (default: the GPU worker) as the course's driver would: create
    the DeviceClass (:func:`device_class_spec`) if missing, and the ResourceSlice
    (:func:`resource_slice_spec`), or replace the course's slice with the pool's generation raised
    by one. Returns ``{"device_class": name, "slice": name, "node": node, "generation": n,
    "devices": count}``.

    A user who may not create ResourceSlices (a workshop participant) publishes nothing: when the
    course's slice of ``node`` is already there (the instructor published it) the same dict describes
    that slice; otherwise :class:`~whyk8s.k8s.rights.InstructorDemonstration` says the instructor
    publishes them.

    Raises :class:`KwokOnlyError` on a cluster that is not kwok's; CourseError if an object of
    that name exists without the course label (it is not the course's to replace); ApiException
    from the API server (422 for an invalid slice). kubectl: ``kubectl apply -f class.yaml -f
    slice.yaml``.
    """
    if not runs_here(cluster):
        raise KwokOnlyError(ON_KIND)
    api = _resource(cluster)
    node = node or gpu_node()
    if not can(cluster, PUBLISH):  # a workshop participant: the instructor publishes, everyone uses
        published = [s for s in api.list_resource_slice(label_selector=_SELECTOR).items
                     if s.spec.node_name == node and _labelled(s)]
        if published:
            return {"device_class": DEVICE_CLASS, "slice": published[0].metadata.name, "node": node,
                    "generation": published[0].spec.pool.generation, "devices": len(published[0].spec.devices or [])}
        require(cluster, "Publishing the GPU worker's devices (the DRA driver's half)", PUBLISH)
    try:
        api.create_device_class(device_class_spec())
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        if not _labelled(api.read_device_class(DEVICE_CLASS)):
            raise CourseError(f"DeviceClass {DEVICE_CLASS} exists and was not created by the course; "
                              f"the course leaves it alone.") from None
    body = resource_slice_spec(node, devices)
    try:
        api.create_resource_slice(body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        old = api.read_resource_slice(body["metadata"]["name"])
        if not _labelled(old):
            raise CourseError(f"ResourceSlice {body['metadata']['name']} exists and was not created by the "
                              f"course; the course leaves it alone.") from None
        body = resource_slice_spec(node, devices, generation=old.spec.pool.generation + 1)
        body["metadata"]["resourceVersion"] = old.metadata.resource_version
        api.replace_resource_slice(body["metadata"]["name"], body)
    return {"device_class": DEVICE_CLASS, "slice": body["metadata"]["name"], "node": node,
            "generation": body["spec"]["pool"]["generation"], "devices": len(devices)}


def create_claim_template(cluster: Cluster, name: str, min_memory: Quantity = "40Gi",
                          namespace: str | None = None) -> str:
    """Create the ResourceClaimTemplate :func:`claim_template_spec` in ``namespace`` (default: the
    course's; a course namespace, made labelled if missing). Returns its name. Raises ValueError for
    bad input, NamespaceRefused outside the course's namespaces, ApiException (409 if it exists, 422
    if the API server refuses the CEL expression). kubectl: ``kubectl apply -f template.yaml -n whyk8s``."""
    body = claim_template_spec(name, min_memory)
    ns = cluster.ensure_namespace(namespace or cluster.namespace)
    _resource(cluster).create_namespaced_resource_claim_template(ns, body)
    return body["metadata"]["name"]


def published_devices(cluster: Cluster) -> pd.DataFrame:
    """The devices of the course's ResourceSlices, one row each: ``node``, ``pool``, ``generation``,
    ``device``, ``model``, ``memory`` (as kubectl prints quantities, e.g. ``80Gi``) and
    ``memory_gib`` (float). kubectl: ``kubectl get resourceslices -o yaml``."""
    rows = []
    for s in _resource(cluster).list_resource_slice(label_selector=_SELECTOR).items:
        for d in s.spec.devices or []:
            memory = ((d.capacity or {}).get("memory"))
            memory = memory.value if memory is not None else None
            model = (d.attributes or {}).get("model")
            rows.append({"node": s.spec.node_name, "pool": s.spec.pool.name, "generation": s.spec.pool.generation,
                         "device": d.name, "model": model.string if model is not None else None,
                         "memory": memory, "memory_gib": parse_memory(memory) / 2**30 if memory else None})
    columns = ["node", "pool", "generation", "device", "model", "memory", "memory_gib"]
    return pd.DataFrame(rows, columns=columns).sort_values(["node", "device"], ignore_index=True)


def _owner_pod(claim) -> str | None:
    return next((o.name for o in claim.metadata.owner_references or [] if o.kind == "Pod"), None)


def allocation_of(claim, devices: pd.DataFrame | None = None) -> dict:
    """What the scheduler wrote into one ResourceClaim (a ``ResourceV1ResourceClaim``), as plain data:
    ``claim``, ``pod`` (the pod that owns it, for a claim made from a template), ``allocated``
    (bool), ``driver``, ``pool``, ``device``, ``node`` (from the allocation's node selector),
    ``reserved_for`` (names of the pods the claim is reserved for), and, when ``devices``
    (:func:`published_devices`) is given, the device's ``model`` and ``memory``. The fields of an
    unallocated claim are None. kubectl: ``kubectl get resourceclaim <name> -o
    jsonpath='{.status}'``."""
    status = claim.status
    alloc = status.allocation if status is not None else None
    result = alloc.devices.results[0] if alloc is not None and alloc.devices and alloc.devices.results else None
    node = None
    if alloc is not None and alloc.node_selector is not None:
        for term in alloc.node_selector.node_selector_terms or []:
            for f in term.match_fields or []:
                if f.key == "metadata.name" and f.operator == "In" and f.values:
                    node = f.values[0]
    facts = {"claim": claim.metadata.name, "pod": _owner_pod(claim), "allocated": result is not None,
             "driver": result.driver if result else None, "pool": result.pool if result else None,
             "device": result.device if result else None, "node": node,
             "reserved_for": [r.name for r in (status.reserved_for if status is not None else None) or []]}
    if devices is not None:
        row = devices[(devices["pool"] == facts["pool"]) & (devices["device"] == facts["device"])]
        facts["model"] = row["model"].iloc[0] if len(row) else None
        facts["memory"] = row["memory"].iloc[0] if len(row) else None
    return facts


def _claim_lister(cluster: Cluster, namespace: str):
    """``list_namespaced_resource_claim`` for :func:`whyk8s.k8s.waits.watch_until`. The official
    client's watch names the type of each event's object after the list type (``V1ResourceClaimList``
    → ``V1ResourceClaim``), but for ``resource.k8s.io/v1`` that model is ``ResourceV1ResourceClaim``
    (``V1ResourceClaim`` would clash with the container field of the core API); the return annotation
    set here tells the watch the right type."""
    api = _resource(cluster)

    def list_claims(*args, **kwargs):
        return api.list_namespaced_resource_claim(*args, **kwargs)

    list_claims.__annotations__["return"] = client.ResourceV1ResourceClaim
    return list_claims


def claims(cluster: Cluster, namespace: str | None = None) -> list[dict]:
    """Every course-labelled ResourceClaim in ``namespace`` (default: the course's) now, as
    :func:`allocation_of` gives it (with the device's model and memory). kubectl: ``kubectl get
    resourceclaims -n whyk8s``."""
    devices = published_devices(cluster)
    items = _resource(cluster).list_namespaced_resource_claim(namespace or cluster.namespace,
                                                              label_selector=_SELECTOR).items
    return [allocation_of(c, devices) for c in sorted(items, key=lambda c: c.metadata.name)]


def _allocation_watch(cluster: Cluster, ns: str, pod: str | None, job: str | None, timeout: float,
                      lw: ListWatch | None = None) -> dict:
    """Watch the course's claims in ``ns`` (from ``lw``'s list, if given, else from a new list) until
    the claim owned by ``pod`` (or by ``job``'s pod) is allocated and reserved for it."""
    if (pod is None) == (job is None):
        raise ValueError("Give exactly one of pod= (a pod name) or job= (a Job name).")
    devices = published_devices(cluster)
    seen: dict = {}

    def mine(claim) -> bool:
        owner = _owner_pod(claim)
        return owner is not None and (owner == pod if pod is not None else generated_base(owner) == job)

    def record(kind: str, claim) -> None:
        if kind != "DELETED" and "done" not in seen and mine(claim):
            facts = allocation_of(claim, devices)
            if facts["allocated"] and facts["pod"] in facts["reserved_for"]:
                seen["done"] = facts

    if lw is None:
        lw = ListWatch(_claim_lister(cluster, ns), ns, label_selector=_SELECTOR)
    else:
        for claim in lw.items.values():
            record("ADDED", claim)
    lw.run(on_change=record, done=lambda: "done" in seen, deadline=time.monotonic() + timeout)
    if "done" not in seen:
        who = f"pod {pod}" if pod is not None else f"Job {job}'s pod"
        raise WaitTimeoutError(f"Waited {timeout:.0f} s; the claim of {who} was not allocated (no published "
                               f"device satisfies it, or they are all taken): see the pod's PodScheduled "
                               f"condition (kubectl describe pod).")
    return seen["done"]


def wait_for_allocation(cluster: Cluster, *, pod: str | None = None, job: str | None = None,
                        timeout: float = 30, namespace: str | None = None) -> dict:
    """Watch the course's ResourceClaims until the claim of ``pod`` (a pod name) or of ``job``'s pod
    (a Job name), already created, is allocated and reserved for its pod; return
    :func:`allocation_of` for it, with the device's model and memory. For a Job on kwok use
    :func:`submit`, which starts watching before the Job exists (its claim may be gone a fraction
    of a second after its pod was scheduled). Raises ValueError unless exactly one of ``pod``,
    ``job`` is given, :class:`WaitTimeoutError` after ``timeout`` seconds (e.g. no device satisfies
    the claim: the reason is in the pod's ``PodScheduled`` condition,
    :func:`whyk8s.lessons.placement.why_pending`). kubectl: ``kubectl get resourceclaims -n whyk8s -o
    yaml``."""
    return _allocation_watch(cluster, namespace or cluster.namespace, pod, job, timeout)


def submit(cluster: Cluster, obj: client.V1Job | client.V1Pod, timeout: float = 30) -> dict:
    """Create ``obj`` (:func:`training_job` or :func:`claiming_pod`) in the course namespace and return
    the allocation the scheduler made for its pod's claim (:func:`allocation_of`, with the device's
    model and memory), read from a watch on the ResourceClaims that starts *before* the object is
    created: on kwok a Job's pod succeeds at once and its claim is deallocated and deleted a moment
    later. For a user who may not publish devices (a workshop participant) while none is published,
    raises :class:`~whyk8s.k8s.rights.InstructorDemonstration` before creating anything. Raises
    :class:`WaitTimeoutError` after ``timeout`` seconds when the claim is not
    allocated (the object stays: the pod waits, Pending), ValueError, ApiException as
    :func:`whyk8s.k8s.objects.create`. kubectl: ``kubectl apply -f train-llm.yaml -n whyk8s`` then
    ``kubectl get resourceclaims -n whyk8s -o yaml``."""
    from whyk8s.k8s.objects import create

    ns = cluster.ensure_namespace(cluster.namespace)
    if not can(cluster, PUBLISH) and not _resource(cluster).list_resource_slice(label_selector=_SELECTOR).items:
        raise InstructorDemonstration(
            "Allocating a GPU through DRA: the devices are published by the instructor's demonstration (the "
            "cell above), and none is published yet, so the claim could not be allocated. Watch it on the "
            "instructor's screen, or run this cell again once the instructor has published them.")
    lw = ListWatch(_claim_lister(cluster, ns), ns, label_selector=_SELECTOR)
    lw.relist()
    create(cluster, obj)
    name = obj.metadata.name
    if isinstance(obj, client.V1Job):
        return _allocation_watch(cluster, ns, None, name, timeout, lw)
    return _allocation_watch(cluster, ns, name, None, timeout, lw)


def clean_up(cluster: Cluster, timeout: float = 30) -> dict[str, int]:
    """Delete the course-labelled DRA objects, and only those: ResourceClaims and
    ResourceClaimTemplates in the course's namespaces, the DeviceClass and the ResourceSlices; wait
    until they are gone (a user who may not publish devices, a workshop participant, leaves the
    DeviceClass and ResourceSlices to the instructor). Returns how many of each kind were deleted.
    Delete the pods that use claims first (:func:`whyk8s.k8s.objects.cleanup`): a claim reserved for
    a pod is kept (its finalizer) until the pod is gone. Raises :class:`WaitTimeoutError` naming what
    is left after ``timeout`` seconds. kubectl: ``kubectl delete resourceclaims,resourceclaimtemplates -l
    app.kubernetes.io/part-of=whyk8s -n whyk8s`` and ``kubectl delete deviceclasses,resourceslices -l
    app.kubernetes.io/part-of=whyk8s``."""
    from whyk8s.k8s.objects import course_namespaces

    api = _resource(cluster)
    counts: dict[str, int] = {}
    namespaced = (("ResourceClaim", api.list_namespaced_resource_claim, api.delete_namespaced_resource_claim),
                  ("ResourceClaimTemplate", api.list_namespaced_resource_claim_template,
                   api.delete_namespaced_resource_claim_template))
    scoped = (("DeviceClass", api.list_device_class, api.delete_device_class),
              ("ResourceSlice", api.list_resource_slice, api.delete_resource_slice))

    def gone(kind: str, delete, *args) -> None:
        try:
            delete(*args)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
            return
        counts[kind] = counts.get(kind, 0) + 1

    namespaces = course_namespaces(cluster)
    for ns in namespaces:
        for kind, list_fn, delete in namespaced:
            for obj in list_fn(ns, label_selector=_SELECTOR).items:
                if _labelled(obj) and obj.metadata.deletion_timestamp is None:
                    gone(kind, delete, obj.metadata.name, ns)
    if not can(cluster, PUBLISH):  # a workshop participant: the class and slices are the instructor's
        scoped = ()
    for kind, list_fn, delete in scoped:
        for obj in list_fn(label_selector=_SELECTOR).items:
            if _labelled(obj):
                gone(kind, delete, obj.metadata.name)
    deadline = time.monotonic() + timeout
    left = []
    for ns in namespaces:
        left += [f"ResourceClaim {ns}/{n}" for n in
                 wait_until_gone(_claim_lister(cluster, ns), ns, label_selector=_SELECTOR, deadline=deadline)]
        left += [f"ResourceClaimTemplate {ns}/{o.metadata.name}" for o in
                 api.list_namespaced_resource_claim_template(ns, label_selector=_SELECTOR).items]
    for kind, list_fn, _ in scoped:
        left += [f"{kind} {o.metadata.name}" for o in list_fn(label_selector=_SELECTOR).items]
    if left:
        raise WaitTimeoutError(f"Waited {timeout:.0f} s; still there: {', '.join(left)}.")
    return counts


def left(cluster: Cluster) -> list:
    """The course-labelled DRA objects still on the cluster, of each of :data:`KINDS` (ResourceClaims and
    ResourceClaimTemplates in the course's namespaces, DeviceClasses and ResourceSlices), as
    :class:`whyk8s.k8s.objects.ObjectRef` (``"ResourceSlice whyk8s-worker3-gpu.whyk8s.example"``).
    kubectl: ``kubectl get resourceclaims,resourceclaimtemplates -A -l app.kubernetes.io/part-of=whyk8s``
    and ``kubectl get deviceclasses,resourceslices -l app.kubernetes.io/part-of=whyk8s``."""
    from whyk8s.k8s.objects import course_objects

    return course_objects(cluster, kinds=KINDS)


def workshop_is_up(cluster: Cluster) -> bool:
    """True when namespaces of workshop participants exist (labelled ``whyk8s.io/participant``, made by
    ``whyk8s workshop up``). A connection that may not list namespaces is a workshop participant's:
    True. kubectl: ``kubectl get ns -l whyk8s.io/participant``."""
    from whyk8s import PARTICIPANT_LABEL
    try:
        return bool(cluster.core.list_namespace(label_selector=PARTICIPANT_LABEL, limit=1).items)
    except client.ApiException as exc:
        if exc.status != 403:
            raise
        return True


def kept_for_the_room(cluster: Cluster) -> set[str]:
    """The uids of the published devices (the course-labelled DeviceClass and ResourceSlices) to keep
    while a workshop is up (:func:`workshop_is_up`): participants' claims use them. Empty otherwise.
    Give it to :func:`whyk8s.k8s.objects.cleanup` as ``keep``. Empty for a connection that may not
    publish devices (a participant: its clean-up cannot delete them anyway)."""
    if not can(cluster, PUBLISH) or not workshop_is_up(cluster):
        return set()
    api = _resource(cluster)
    return {o.metadata.uid for fn in (api.list_device_class, api.list_resource_slice)
            for o in fn(label_selector=_SELECTOR).items if _labelled(o)}


def tidy(cluster: Cluster, remove_devices: bool | None = None) -> str:
    """Chapter 4a's clean-up after the DRA section: delete the course's objects
    (:func:`whyk8s.k8s.objects.cleanup`) and say, in one sentence, what DRA objects are left and whose
    they are. The published devices (DeviceClass, ResourceSlices) are the cluster's, made by whoever
    ran :func:`publish` (the instructor, in a workshop): a participant may not delete them, and while a
    workshop is up the instructor's clean-up leaves them too, unless ``remove_devices=True`` (after
    ``whyk8s workshop down`` the next clean-up removes them). ``remove_devices=None``: keep them exactly while a
    workshop is up. Returns the sentence."""
    from whyk8s.k8s.objects import cleanup
    keep = kept_for_the_room(cluster) if remove_devices is None else set()
    may_publish = can(cluster, PUBLISH)
    cleanup(cluster, keep=keep)
    remaining = [str(r) for r in left(cluster)]  # a participant's: their namespace's claims and templates only
    if not may_publish:
        api = _resource(cluster)
        for kind, list_fn in (("DeviceClass", api.list_device_class), ("ResourceSlice", api.list_resource_slice)):
            try:
                remaining += [f"{kind} {o.metadata.name}" for o in list_fn(label_selector=_SELECTOR).items
                              if _labelled(o) and f"{kind} {o.metadata.name}" not in remaining]
            except client.ApiException as exc:
                if exc.status != 403:
                    raise
    devices = [r for r in remaining if r.split()[0] in ("DeviceClass", "ResourceSlice")]
    others = [r for r in remaining if r not in devices]
    text = f"DRA objects of the course left: {len(remaining)}"
    if not remaining:
        return text + "."
    text += f" ({', '.join(remaining)})."
    if devices and not may_publish:
        text += (f" The {len(devices)} published device object(s) are the cluster's, not your namespace's: "
                 "in a workshop the instructor published them for the whole room, you may not delete them, "
                 "and the instructor removes them after the workshop.")
    elif devices:
        text += (f" The {len(devices)} published device object(s) stay because a workshop is up: "
                 "participants' claims use them. The same clean-up removes them once "
                 "`whyk8s workshop down` has run, or dra.tidy(cluster, remove_devices=True) does now.")
    if others:
        text += " The others are still being deleted (a claim waits for its pod to go)."
    return text
