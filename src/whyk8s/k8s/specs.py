"""Builders for the Pod, Deployment and Job specs the course creates.

Each returns an object of the official client (``V1Pod``, ``V1Deployment``, ``V1Job``) carrying the
course label, with CPU (millicores), memory (bytes) and GPU (``nvidia.com/gpu``, whole GPUs) requests
checked first. Names are validated against RFC 1123 before anything is sent to the API server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kubernetes import client

from whyk8s import GPU_RESOURCE, PART_OF_LABEL, POOL_LABEL
from whyk8s.k8s.quantities import parse_cpu, parse_gpus, parse_memory

__all__ = ["validate_name", "resources", "pod", "deployment", "job", "gpu_toleration", "to_yaml", "DEFAULT_IMAGE",
           "JOB_IMAGE", "JOB_COMMAND", "Quantity"]

#: A small image that every cluster can pull, for Pods and Deployments. Its process sleeps forever, so
#: on kind (where containers really run) the Pods stay Running. kwok nodes never pull it: they run no
#: containers.
DEFAULT_IMAGE = "registry.k8s.io/pause:3.10"
#: The image of the course's Jobs. ``pause`` never exits, so a Job running it would never succeed on
#: kind; busybox has a shell and ``sleep``. (kwok ignores images and commands and marks the Pod
#: Succeeded itself.)
JOB_IMAGE = "busybox:1.36"
#: The command of the course's Jobs: stand-in "training" that ends successfully after 5 seconds.
JOB_COMMAND = ("sh", "-c", "sleep 5")
#: A CPU or memory quantity as a learner writes it: ``"250m"``, ``"0.5"``, ``2`` (CPU: cores or
#: millicores), ``"512Mi"``, ``"1G"`` (memory: bytes with a unit); GPUs: a whole number.
Quantity = str | int | float
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def validate_name(name: str, kind: str = "Pod", max_length: int | None = None) -> str:
    """Return ``name`` if it is a valid object name, else raise ValueError saying what is wrong.

    Pods, Jobs and Deployments use RFC 1123 subdomain names (lower-case letters, digits, ``-`` and ``.``;
    start and end alphanumeric; at most 253 characters). Namespaces use RFC 1123 labels (no ``.``,
    at most 63). Source: kubernetes.io, "Object Names and IDs".
    """
    label_only = kind.lower() == "namespace"
    limit = max_length or (63 if label_only else 253)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"The {kind} name is empty: give a name such as 'trainer-1'.")
    if name != name.strip():
        raise ValueError(f"The {kind} name {name!r} has spaces around it; remove them.")
    if len(name) > limit:
        raise ValueError(f"The {kind} name is {len(name)} characters long; at most {limit} are allowed.")
    pattern = _DNS1123_LABEL if label_only else _DNS1123_SUBDOMAIN
    if not pattern.match(name):
        hints = []
        if name != name.lower():
            hints.append("use lower-case letters only")
        if re.search(r"[^a-z0-9.\-]", name.lower()):
            bad = sorted(set(re.findall(r"[^a-z0-9.\-]", name.lower())))
            hints.append("remove " + " ".join(repr(c) for c in bad))
        if label_only and "." in name:
            hints.append("namespaces cannot contain '.'")
        if name[0] in "-." or name[-1] in "-.":
            hints.append("start and end with a letter or digit")
        hint = "; ".join(hints) or "use lower-case letters, digits and '-'"
        suggestion = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "trainer-1"
        raise ValueError(
            f"The {kind} name {name!r} is not a valid Kubernetes name (RFC 1123): {hint}. "
            f"For example: {suggestion!r}."
        )
    return name


#: The least memory a course container may ask for, in bytes (1 MiB): less is a missing unit.
MIN_MEMORY = 2**20


def resources(cpu: Quantity = "100m", memory: Quantity = "128Mi", gpus: Quantity = 0,
              limits: bool = True) -> client.V1ResourceRequirements:
    """Requests (and, if ``limits``, equal limits) for CPU, memory and GPUs.

    ``cpu`` is a CPU quantity (``"250m"``, ``"0.5"``, ``2``), ``memory`` a memory quantity (``"512Mi"``,
    ``"1Gi"``), ``gpus`` a whole number of ``nvidia.com/gpu``. Extended resources such as GPUs must have
    limit = request, so GPUs always appear in both. Raises ValueError for bad quantities, and for memory
    under :data:`MIN_MEMORY` (1 MiB; a bare ``512`` is 512 *bytes*, almost surely meant as ``512Mi``).
    """
    milli = parse_cpu(cpu)
    mem = parse_memory(memory)
    if 0 < mem < MIN_MEMORY:
        text = str(memory).strip()
        hint = f" Did you mean {text}Mi (mebibytes)?" if text.isdigit() else ""
        raise ValueError(f"Memory {text!r} is {mem} bytes, far too little for any container (a quantity "
                         f"without a unit counts bytes).{hint}")
    n_gpus = parse_gpus(gpus)
    requests = {"cpu": f"{milli}m", "memory": str(mem)}
    lims = dict(requests) if limits else {}
    if n_gpus:
        requests[GPU_RESOURCE] = str(n_gpus)
        lims[GPU_RESOURCE] = str(n_gpus)
    return client.V1ResourceRequirements(requests=requests, limits=lims or None)


def gpu_toleration() -> client.V1Toleration:
    """Toleration for the GPU node's taint ``nvidia.com/gpu=present:NoSchedule``."""
    return client.V1Toleration(key=GPU_RESOURCE, operator="Equal", value="present", effect="NoSchedule")


def _labels(extra: dict | None) -> dict:
    labels = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
    labels.update(extra or {})
    return labels


def _pod_spec(name: str, image: str | None, cpu: Quantity, memory: Quantity, gpus: Quantity, pool: str | None,
              tolerate_gpu: bool, priority_class: str | None, restart_policy: str,
              command: list[str] | None) -> client.V1PodSpec:
    container = client.V1Container(
        name=name.replace(".", "-")[:63].strip("-") or "main", image=image or DEFAULT_IMAGE,
        resources=resources(cpu, memory, gpus), command=command,
    )
    tolerations = [gpu_toleration()] if (tolerate_gpu or parse_gpus(gpus) > 0) else None
    return client.V1PodSpec(
        containers=[container], restart_policy=restart_policy, tolerations=tolerations,
        node_selector={POOL_LABEL: pool} if pool else None,
        priority_class_name=priority_class, termination_grace_period_seconds=0,
    )


def pod(name: str, image: str = DEFAULT_IMAGE, cpu: Quantity = "100m", memory: Quantity = "128Mi",
        gpus: Quantity = 0, *, pool: str | None = None, tolerate_gpu: bool = False,
        labels: dict[str, str] | None = None, priority_class: str | None = None,
        command: Sequence[str] | None = None) -> client.V1Pod:
    """A course-labelled ``V1Pod`` with one container.

    ``pool`` adds a nodeSelector on ``whyk8s.io/pool`` (``"cpu"``, ``"gpu"``, ``"highmem"``); a GPU
    request (or ``tolerate_gpu``) adds the GPU toleration. Raises ValueError for a bad name or quantity.
    """
    name = validate_name(name, "Pod")
    spec = _pod_spec(name, image, cpu, memory, gpus, pool, tolerate_gpu, priority_class, "Always",
                     list(command) if command is not None else None)
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels=_labels(labels)), spec=spec)


def deployment(name: str, replicas: int = 1, image: str = DEFAULT_IMAGE, cpu: Quantity = "100m",
               memory: Quantity = "128Mi", gpus: Quantity = 0, *, pool: str | None = None,
               labels: dict[str, str] | None = None) -> client.V1Deployment:
    """A course-labelled ``V1Deployment`` whose pods carry ``app=<name>`` and the course label.

    ``replicas`` must be a whole number ≥ 0. Raises ValueError for bad input.
    """
    name = validate_name(name, "Deployment")
    if isinstance(replicas, bool) or not isinstance(replicas, int) and not str(replicas).isdigit():
        raise ValueError(f"Replicas {replicas!r} is not a whole number; give 0 or more.")
    replicas = int(replicas)
    if replicas < 0:
        raise ValueError(f"Replicas {replicas} is negative; give 0 or more.")
    pod_labels = _labels({"app": name, **(labels or {})})
    spec = _pod_spec(name, image, cpu, memory, gpus, pool, False, None, "Always", None)
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=_labels(labels)),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels={"app": name}),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=pod_labels), spec=spec),
        ),
    )


def job(name: str, image: str = JOB_IMAGE, cpu: Quantity = "100m", memory: Quantity = "128Mi",
        gpus: Quantity = 0, *, pool: str | None = None, labels: dict[str, str] | None = None,
        priority_class: str | None = None, backoff_limit: int = 0,
        command: Sequence[str] | None = JOB_COMMAND) -> client.V1Job:
    """A course-labelled ``V1Job`` running one pod to completion (restartPolicy Never).

    By default the container is :data:`JOB_IMAGE` running :data:`JOB_COMMAND` (``sleep 5``), so the Job
    succeeds on kind as well as on kwok; ``command`` is a list of strings (or None for the image's
    own entrypoint). A GPU request adds the GPU toleration. Raises ValueError for a bad name or quantity.
    """
    name = validate_name(name, "Job")
    if image is None:
        image = JOB_IMAGE
    command = list(command) if command is not None else None
    pod_labels = _labels({"job-name": name, **(labels or {})})
    spec = _pod_spec(name, image, cpu, memory, gpus, pool, False, priority_class, "Never", command)
    return client.V1Job(
        metadata=client.V1ObjectMeta(name=name, labels=_labels(labels)),
        spec=client.V1JobSpec(
            backoff_limit=backoff_limit,
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=pod_labels), spec=spec),
        ),
    )


#: apiVersion of each kind the course builds (the client's model objects leave it empty until sent).
_API_VERSIONS = {"V1Pod": ("v1", "Pod"), "V1Job": ("batch/v1", "Job"), "V1Deployment": ("apps/v1", "Deployment"),
                 "V1ResourceQuota": ("v1", "ResourceQuota"), "V1Namespace": ("v1", "Namespace"),
                 "V1PriorityClass": ("scheduling.k8s.io/v1", "PriorityClass")}


def to_yaml(obj) -> str:
    """The manifest of ``obj`` (a model object of the official client such as ``V1Job``, or a dict) as
    the YAML ``kubectl apply -f`` reads: camelCase field names, empty fields left out, ``apiVersion``
    and ``kind`` filled in for the kinds the course builds. Pure function: nothing is sent."""
    import yaml

    data = client.ApiClient().sanitize_for_serialization(obj)
    known = _API_VERSIONS.get(type(obj).__name__)
    if known and isinstance(data, dict):
        data = {"apiVersion": data.get("apiVersion") or known[0], "kind": data.get("kind") or known[1],
                **{k: v for k, v in data.items() if k not in ("apiVersion", "kind")}}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100).rstrip("\n")
