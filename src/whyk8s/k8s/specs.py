"""Builders for the Pod, Deployment, Job and HorizontalPodAutoscaler specs the course creates, and
:func:`manifest`, the YAML of any of them as ``kubectl apply -f`` would take it.

Each builder returns an object of the official client (``V1Pod``, ``V1Deployment``, ``V1Job``,
``V2HorizontalPodAutoscaler``) carrying the course label, with CPU (millicores), memory (bytes) and
GPU (``nvidia.com/gpu``, whole GPUs) requests checked first. Names are validated against RFC 1123
before anything is sent to the API server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kubernetes import client

from whyk8s import GPU_RESOURCE, PART_OF_LABEL, POOL_LABEL
from whyk8s.k8s.quantities import canonical_memory, parse_cpu, parse_gpus, parse_memory

__all__ = ["validate_name", "resources", "pod", "deployment", "job", "hpa", "manifest", "readable_memory",
           "gpu_toleration",
           "DEFAULT_IMAGE",
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


def hpa(target: str, min_replicas: int = 1, max_replicas: int = 10, cpu_utilization: int = 60,
        name: str | None = None) -> client.V2HorizontalPodAutoscaler:
    """A course-labelled ``autoscaling/v2`` HorizontalPodAutoscaler (named ``name``, default
    ``target``) that keeps the Deployment ``target``'s average CPU use at ``cpu_utilization`` percent
    of the pods' CPU *requests*, between ``min_replicas`` and ``max_replicas`` replicas. It reads the
    metric from the resource metrics API (``metrics.k8s.io``, served by metrics-server) and writes
    the Deployment's ``scale`` subresource (``spec.replicas``). Raises ValueError for a bad name or
    bounds. kubectl: ``kubectl autoscale deployment <target> --cpu=60% --min=1 --max=10``. Source:
    kubernetes.io, "Horizontal Pod Autoscaling"."""
    validate_name(target, "Deployment")
    name = validate_name(name or target, "HorizontalPodAutoscaler")
    if not 1 <= int(min_replicas) <= int(max_replicas):
        raise ValueError(f"need 1 <= min_replicas <= max_replicas, got {min_replicas} and {max_replicas}")
    if int(cpu_utilization) <= 0:
        raise ValueError(f"cpu_utilization is a percentage of the CPU request above 0, got {cpu_utilization}")
    return client.V2HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name=name, labels=_labels(None)),
        spec=client.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V2CrossVersionObjectReference(api_version="apps/v1", kind="Deployment",
                                                                  name=target),
            min_replicas=int(min_replicas), max_replicas=int(max_replicas),
            metrics=[client.V2MetricSpec(type="Resource", resource=client.V2ResourceMetricSource(
                name="cpu", target=client.V2MetricTarget(type="Utilization",
                                                         average_utilization=int(cpu_utilization))))]))


#: apiVersion and kind of each client type the course sends, for :func:`manifest`.
_API_KINDS = {client.V1Pod: ("v1", "Pod"), client.V1Service: ("v1", "Service"),
              client.V1Deployment: ("apps/v1", "Deployment"), client.V1ReplicaSet: ("apps/v1", "ReplicaSet"),
              client.V1Job: ("batch/v1", "Job"),
              client.V2HorizontalPodAutoscaler: ("autoscaling/v2", "HorizontalPodAutoscaler"),
              client.V1ResourceQuota: ("v1", "ResourceQuota"), client.V1LimitRange: ("v1", "LimitRange"),
              client.V1PriorityClass: ("scheduling.k8s.io/v1", "PriorityClass"),
              client.V1Namespace: ("v1", "Namespace")}


def manifest(obj) -> str:
    """The YAML manifest of ``obj`` (a client object such as the builders above return, or a dict),
    exactly the fields a course helper sends: ``apiVersion`` and ``kind`` first, then ``metadata``
    and ``spec``; unset fields left out, keys in the API's camelCase (``nodeSelector``,
    ``terminationGracePeriodSeconds``). Save it as ``x.yaml`` and ``kubectl apply -f x.yaml -n whyk8s``
    creates the same object, with the course label :func:`whyk8s.k8s.objects.create` adds (shown even
    when the builder left it out). Memory is printed as a person writes it (:func:`readable_memory`):
    ``memory: 80Gi``, not the byte count ``85899345920`` the course's builders send (the same
    quantity to the API server). Raises TypeError for a type the course does not send."""
    import yaml
    if isinstance(obj, dict):
        body = dict(obj)
    else:
        if type(obj) not in _API_KINDS:
            raise TypeError(f"manifest() does not know the kind of a {type(obj).__name__}")
        body = client.ApiClient().sanitize_for_serialization(obj)
        api_version, kind = _API_KINDS[type(obj)]
        body.setdefault("apiVersion", api_version)
        body.setdefault("kind", kind)
    head = {k: body.pop(k) for k in ("apiVersion", "kind", "metadata") if k in body}
    if isinstance(head.get("metadata"), dict):  # objects.create adds the course label: show it
        meta = dict(head["metadata"])
        meta["labels"] = {**(meta.get("labels") or {}), PART_OF_LABEL[0]: PART_OF_LABEL[1]}
        head["metadata"] = meta
    # width: a long string (a CEL selector) stays on one line, as a person would copy it
    return yaml.safe_dump(readable_memory({**head, **body}), sort_keys=False, default_flow_style=False,
                          width=10_000)


#: Keys of a Kueue resource entry (``{"name": "memory", "nominalQuota": …}``) that hold its quantity.
_QUOTA_KEYS = ("nominalQuota", "borrowingLimit", "lendingLimit")


def _is_memory(key) -> bool:
    return isinstance(key, str) and (key == "memory" or key.endswith(".memory"))


def _readable(value):
    """A memory quantity given as a byte count (an int, or a string of digits) → its canonical text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) or isinstance(value, str) and value.isdigit():
        return canonical_memory(int(value))
    return value


def readable_memory(body):
    """A copy of the manifest ``body`` (dicts and lists) with every memory quantity written as a byte
    count put the way a person writes it (:func:`whyk8s.k8s.quantities.canonical_memory`:
    ``85899345920`` → ``80Gi``): the values of keys ``memory`` and ``*.memory`` (requests, limits,
    a quota's ``requests.memory``, a NodePool's ``limits``), a DRA capacity's ``{memory: {value: …}}``
    and the ``nominalQuota``, ``borrowingLimit`` and ``lendingLimit`` of a Kueue resource entry named
    ``memory``. Quantities with a unit (``"1G"``, ``"512Mi"``) are left as they are."""
    if isinstance(body, list):
        return [readable_memory(v) for v in body]
    if not isinstance(body, dict):
        return body
    out = {}
    memory_entry = _is_memory(body.get("name"))
    for key, value in body.items():
        if _is_memory(key) and isinstance(value, dict) and "value" in value:
            out[key] = {**value, "value": _readable(value["value"])}
        elif _is_memory(key) and not isinstance(value, (dict, list)):
            out[key] = _readable(value)
        elif memory_entry and key in _QUOTA_KEYS:
            out[key] = _readable(value)
        else:
            out[key] = readable_memory(value)
    return out
