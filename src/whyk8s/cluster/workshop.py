"""Workshop mode: one cluster, many learners, each fenced in by RBAC and a quota.

``whyk8s workshop up --participants N`` prepares, for each participant ``p01`` … ``pNN``, on the
course cluster (``kwok-<name>`` / ``kind-<name>``) or on a cluster the instructor opted in to by
context name (``WHYK8S_ALLOW_CONTEXT``, as :mod:`whyk8s.k8s.guard` asks):

- a Namespace ``whyk8s-pNN``;
- a ServiceAccount ``learner`` in it, a Role ``whyk8s-learner`` (the namespaced objects the chapters
  and labs use: :func:`learner_rules`) and a RoleBinding granting it;
- a ClusterRoleBinding ``whyk8s-workshop-pNN`` to the shared, read-only ClusterRole
  ``whyk8s-workshop-viewer`` (nodes, PriorityClasses, RuntimeClasses, DeviceClasses: what the
  chapters only look at; :func:`viewer_rules`);
- a ResourceQuota and a LimitRange ``whyk8s-participant`` (:func:`share` states the sizing rule);
- a RoleBinding ``whyk8s-workshop-pNN`` in the instructor's demonstration namespace (the course namespace
  ``whyk8s``, where the instructor runs the notebooks) to the shared, read-only Role
  ``whyk8s-workshop-watch`` there (get, list, watch: :func:`watch_rules`), so that a step that is the
  instructor's demonstration shows the participant a live read-only view of what the instructor does
  (:class:`whyk8s.notebook.widgets.workshop.DemonstrationView`);
- a kubeconfig file whose context ``whyk8s-workshop-pNN`` (which the guard accepts) names the
  participant's namespace and holds a ServiceAccount token from the TokenRequest API, valid for the
  workshop's length (``--hours``; kubernetes.io, "Managing Service Accounts": bound tokens).

Every object carries the course label ``app.kubernetes.io/part-of=whyk8s`` and
``whyk8s.io/participant=<participant>`` (the shared ClusterRole, the shared Role and the extra GPU nodes
``app.kubernetes.io/component=workshop`` instead), so :func:`down` deletes exactly what :func:`up` made,
and :func:`up` run twice changes nothing
(each object is created when missing and replaced only when it differs from what ``up`` wants).

Sizing rule (:func:`share`): each of N participants gets an equal share of 90 % of the workers'
CPU, memory and pod slots (10 % is kept for the instructor's demonstrations and the cluster's own
pods), and :data:`GPUS_PER_PARTICIPANT` (9) ``requests.nvidia.com/gpu``: the most a participant's
chapter or lab asks for at once (chapter 3's ``gpu-trainer`` beside its 8-GPU ``greedy``, lab 4's
Job beside its 8-GPU ``gpu-greedy``), so those 8-GPU pods are admitted and wait ``Pending`` with the
scheduler's reason, as the chapters teach (a line below 9 would refuse them and fail lab 4's second
check); no node has 8 GPUs, so a participant who follows the course holds one GPU at a time, and one
who tries cannot hold more than 9 (before: every GPU of the room). On the kwok course cluster the
memory line is at least :data:`MEMORY_NEED` (104 GiB: chapter 4a's 96 GiB preprocessing pod beside an
8 GiB training pod),
and ``up`` adds high-memory nodes so that every participant's preprocessing pod is placed at once
(:func:`highmem_nodes_for`). DRA
ResourceClaims (``count/resourceclaims.resource.k8s.io``) are capped at :data:`CLAIMS_PER_PARTICIPANT`
(4) each, never more than the participant's pods: chapter 4a holds 2 at once (one allocated, one
that cannot be), and 4 leaves room to run it again while the old claims are being deleted; a claim
ties up a device as long as it exists, so the cap keeps a loop of claims from holding the room's
devices. On the
course cluster the workers are the ones in ``clusters/layout.yaml`` (:mod:`whyk8s.cluster.layout`:
24 CPUs, 352 GiB, 440 pods, so 20 participants get 1080m CPU, 15.8 GiB and 19 pods each, and share
its 4 GPUs); on another cluster, the allocatable resources of its schedulable worker nodes. The
LimitRange gives a container that states no requests 100m CPU and 128 MiB, so the quota can count it.

Big rooms on kwok (``whyk8s workshop up``; ``--gpu-nodes K``, ``--highmem-nodes H`` override the
rule): K simulated GPU nodes ``whyk8s-workshop-gpu1`` … like the layout's GPU worker (pool label
``whyk8s.io/pool=gpu``, taint ``nvidia.com/gpu=present:NoSchedule``, 8 CPUs, 64 GiB, 4 GPUs each), so
the room has 4·(K+1) GPUs, and H high-memory nodes ``whyk8s-workshop-highmem1`` … like the layout's
(pool label ``whyk8s.io/pool=highmem``, 8 CPUs, 256 GiB: two 96 GiB preprocessing pods each).
Sizing rule (:func:`gpu_nodes_for`, :func:`highmem_nodes_for`), for the N participants and the
instructor's demonstration to hold their largest demands at the same moment: K = ceil((N + 1) / 4) − 1
and H = ceil((N + 1) / 2) − 1 (20 participants: 5 GPU nodes, 24 GPUs; 10 high-memory nodes, 11
preprocessing-pod places). The quota's CPU and pod shares stay those of the layout's workers (the
extra nodes are for GPU and high-memory work). The GPU nodes
advertise ``nvidia.com/gpu`` only: chapter 4a's DRA devices are published for the layout's GPU node
alone (:func:`whyk8s.lessons.dra.gpu_node`). Only on
the kwok course cluster: on kind each node is a container of the machine, and on an existing cluster
the nodes are machines the course cannot add. :func:`down` deletes them.

Files (kubeconfigs, cards) go to ``~/.whyk8s/workshop/<context>/`` unless told otherwise; the folder
is readable by its owner only (tokens are passwords).
"""

from __future__ import annotations

import base64
import html
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml
from kubernetes import client
from kubernetes.utils.quantity import parse_quantity

from whyk8s import DEFAULT_NAMESPACE, GPU_RESOURCE, PART_OF_LABEL, PARTICIPANT_LABEL, POOL_LABEL
from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s.guard import WORKSHOP_CONTEXT_PREFIX, Cluster, connect

__all__ = ["PARTICIPANT_LABEL", "COMPONENT_LABEL", "SERVICE_ACCOUNT", "ROLE", "VIEWER_ROLE", "QUOTA",
           "Share", "share", "layout_capacities", "node_capacities", "participant_names", "namespace_of",
           "context_of", "user_of", "learner_rules", "viewer_rules", "desired_objects", "up", "down", "reset",
           "status", "cards_html", "write_cards", "kubeconfig", "kubeconfig_path", "workshop_objects", "files_dir",
           "participant_rights", "WorkshopResult", "WATCH_ROLE", "CLAIMS_PER_PARTICIPANT", "watch_rules",
           "demonstration_namespace", "gpu_nodes_for", "gpu_node_names", "GPU_NODE_PREFIX", "highmem_nodes_for",
           "highmem_node_names", "HIGHMEM_NODE_PREFIX", "GPUS_PER_PARTICIPANT", "MEMORY_NEED", "misfits"]

#: Label of the workshop's shared objects (the viewer ClusterRole).
COMPONENT_LABEL = ("app.kubernetes.io/component", "workshop")
#: The participant's ServiceAccount, in their namespace.
SERVICE_ACCOUNT = "learner"
#: The Role (and RoleBinding) of a participant in their namespace.
ROLE = "whyk8s-learner"
#: The shared read-only ClusterRole.
VIEWER_ROLE = "whyk8s-workshop-viewer"
#: The ResourceQuota and LimitRange of a participant's namespace.
QUOTA = "whyk8s-participant"
#: The shared read-only Role in the instructor's demonstration namespace (:func:`watch_rules`).
WATCH_ROLE = "whyk8s-workshop-watch"
#: DRA ResourceClaims a participant may hold at once (module docstring, "Sizing rule").
CLAIMS_PER_PARTICIPANT = 4
#: The quota line that counts DRA ResourceClaims (kubernetes.io, "Resource Quotas": object count quota).
CLAIMS_QUOTA = "count/resourceclaims.resource.k8s.io"
#: Names of the extra simulated GPU nodes (``up(gpu_nodes=K)``): ``whyk8s-workshop-gpu1`` …
GPU_NODE_PREFIX = "whyk8s-workshop-gpu"
#: GPUs each GPU node of the layout advertises (the extra ones copy it).
GPUS_PER_NODE = 4
#: Names of the extra simulated high-memory nodes: ``whyk8s-workshop-highmem1`` …
HIGHMEM_NODE_PREFIX = "whyk8s-workshop-highmem"
#: Each participant's ``requests.nvidia.com/gpu`` quota line (module docstring, "Sizing rule"): an
#: 8-GPU pod (chapter 3's ``greedy``, chapter 4a's ``train-huge``, lab 4's ``gpu-greedy``) beside one GPU pod.
GPUS_PER_PARTICIPANT = 9
#: GPUs a participant's chapter or lab holds at once (the 8-GPU pods fit no node): the GPU-node rule's unit.
GPUS_HELD = 1
#: Chapter 4a's preprocessing pod's memory request (``placement.preprocessing_pod``), bytes.
PREPROCESS_MEMORY = 96 * 2 ** 30
#: A participant's largest memory demand at once: the preprocessing pod and one 8 GiB training pod, bytes.
MEMORY_NEED = PREPROCESS_MEMORY + 8 * 2 ** 30
#: The quota line of GPUs (kubernetes.io, "Resource Quotas": extended resources, requests only).
GPU_QUOTA = f"requests.{GPU_RESOURCE}"
#: Namespace annotations: when the participant's token expires (RFC 3339), and the hub's URL.
EXPIRES_ANNOTATION = "whyk8s.io/token-expires"
HUB_ANNOTATION = "whyk8s.io/hub-url"
#: Share of the workers' CPU, memory and pods handed to participants (the rest: instructor, system).
PARTICIPANTS_FRACTION = 0.9
#: What a container that states no requests is given (LimitRange ``defaultRequest``).
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
_ALL = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
_READ = ["get", "list", "watch"]
_MI = 2 ** 20


def _labels(participant: str | None = None) -> dict[str, str]:
    labels = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
    if participant:
        labels[PARTICIPANT_LABEL] = participant
    else:
        labels[COMPONENT_LABEL[0]] = COMPONENT_LABEL[1]
    return labels


#: Selects every participant's objects.
PARTICIPANTS_SELECTOR = f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]},{PARTICIPANT_LABEL}"
#: Selects the workshop's shared objects.
SHARED_SELECTOR = f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]},{COMPONENT_LABEL[0]}={COMPONENT_LABEL[1]}"


def participant_names(count: int) -> list[str]:
    """``p01`` … ``pNN`` (two digits, more when ``count`` ≥ 100). Raises ValueError unless 1 ≤ count ≤ 500."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 500:
        raise ValueError(f"The number of participants must be a whole number from 1 to 500, not {count!r}.")
    width = max(2, len(str(count)))
    return [f"p{i:0{width}d}" for i in range(1, count + 1)]


def namespace_of(participant: str) -> str:
    """The participant's namespace: ``whyk8s-<participant>``."""
    return f"whyk8s-{participant}"


def context_of(participant: str) -> str:
    """The participant's kubeconfig context: ``whyk8s-workshop-<participant>`` (the guard accepts it)."""
    return f"{WORKSHOP_CONTEXT_PREFIX}{participant}"


def user_of(participant: str) -> str:
    """The participant's user name as the API server sees it (their ServiceAccount's)."""
    return f"system:serviceaccount:{namespace_of(participant)}:{SERVICE_ACCOUNT}"


# -- sizing --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Share:
    """One participant's quota: ``cpu_millis`` (millicores), ``memory_bytes``, ``pods``, ``claims``
    (DRA ResourceClaims), ``gpus`` (whole ``nvidia.com/gpu``; module docstring, "Sizing rule")."""

    cpu_millis: int
    memory_bytes: int
    pods: int
    claims: int = CLAIMS_PER_PARTICIPANT
    gpus: int = GPUS_PER_PARTICIPANT

    def hard(self) -> dict[str, str]:
        """The ResourceQuota's ``spec.hard``: ``requests.cpu``, ``requests.memory``, ``pods``,
        ``count/resourceclaims.resource.k8s.io``, ``requests.nvidia.com/gpu``."""
        return {"requests.cpu": f"{self.cpu_millis}m", "requests.memory": f"{self.memory_bytes // _MI}Mi",
                "pods": str(self.pods), CLAIMS_QUOTA: str(self.claims), GPU_QUOTA: str(self.gpus)}


def share(capacities: list[dict], participants: int, fraction: float = PARTICIPANTS_FRACTION,
          memory_floor: int = 0, gpus: int = GPUS_PER_PARTICIPANT) -> Share:
    """Each participant's share of the workers ``capacities`` (dicts of quantities: ``cpu``,
    ``memory``, ``pods``; missing keys count 0, other keys such as ``nvidia.com/gpu`` are ignored):
    ``fraction`` (0.9) of the total CPU (rounded down to 10m), memory (to 1 MiB) and pods, divided by
    ``participants``; memory at least ``memory_floor`` bytes (:data:`MEMORY_NEED` on the kwok course
    cluster, whose extra high-memory nodes hold it); ResourceClaims: :data:`CLAIMS_PER_PARTICIPANT`,
    at most the pods; GPUs: ``gpus`` (module docstring, "Sizing rule"). Raises ValueError when a participant
    would get less than 100m CPU, 256 MiB or 2 pods
    (the chapters need at least that: fewer participants, or a bigger cluster)."""
    participant_names(participants)  # validates the count
    total = {"cpu": 0.0, "memory": 0.0, "pods": 0.0}
    for cap in capacities:
        for key in total:
            total[key] += float(parse_quantity(str(cap.get(key, 0))))
    cpu = int(total["cpu"] * fraction * 1000 / participants) // 10 * 10
    memory = int(total["memory"] * fraction / participants) // _MI * _MI
    pods = int(total["pods"] * fraction / participants)
    if cpu < 100 or memory < 256 * _MI or pods < 2:
        raise ValueError(
            f"{participants} participants do not fit this cluster: each would get {cpu}m CPU, "
            f"{memory // _MI} MiB and {pods} pods (at least 100m, 256 MiB and 2 pods are needed). "
            f"Invite fewer, or add workers.")
    return Share(cpu, max(memory, memory_floor // _MI * _MI), pods, min(CLAIMS_PER_PARTICIPANT, pods), gpus)


def gpu_nodes_for(participants: int, gpus_per_participant: int = GPUS_HELD,
                  gpus_now: int = GPUS_PER_NODE) -> int:
    """The extra GPU nodes (4 GPUs each) a room of ``participants`` and the instructor needs for each
    to hold ``gpus_per_participant`` GPUs at the same moment, beside the ``gpus_now`` the cluster has
    (the layout's 4): ceil(((N + 1)·g − gpus_now) / 4), at least 0. 3 participants → 0, 20 → 5."""
    participant_names(participants)
    short = (participants + 1) * gpus_per_participant - gpus_now
    return max(0, -(-short // GPUS_PER_NODE))


#: Chapter 4a's preprocessing pods one layout high-memory node (256 GiB) holds: 2.
PREPROCESS_PER_HIGHMEM_NODE = 2


def highmem_nodes_for(participants: int) -> int:
    """The extra high-memory nodes (256 GiB, two 96 GiB preprocessing pods each) a room of
    ``participants`` and the instructor needs for each to run chapter 4a's preprocessing pod at the
    same moment, beside the layout's one: ceil((N + 1) / 2) − 1. 1 participant → 0, 3 → 1, 20 → 10."""
    participant_names(participants)
    return max(0, -(-(participants + 1) // PREPROCESS_PER_HIGHMEM_NODE) - 1)


def highmem_node_names(count: int) -> list[str]:
    """``whyk8s-workshop-highmem1`` … ``whyk8s-workshop-highmem<count>``."""
    return [f"{HIGHMEM_NODE_PREFIX}{i}" for i in range(1, count + 1)]


def misfits(capacities: list[dict], participants: int, quota: Share) -> list[str]:
    """Sentences naming what of the chapters and labs does not fit a room of ``participants`` (and
    the instructor) at once on workers of ``capacities`` (allocatable quantities, ``nvidia.com/gpu``
    included) with the quota ``quota``; empty when everything fits. For kind and existing clusters,
    whose nodes ``up`` cannot add."""
    out = []
    gpus = sum(int(parse_quantity(str(c.get(GPU_RESOURCE, 0)))) for c in capacities)
    seats = participants + 1
    if gpus < seats * GPUS_HELD:
        out.append(f"GPUs: the workers have {gpus} nvidia.com/gpu for {participants} participants and you "
                   f"({seats * GPUS_HELD} wanted at once): some GPU pods (chapter 3's gpu-trainer, chapter 4a's "
                   f"training pod, lab 4's Job) will wait Pending for a free GPU.")
    places = sum(int(parse_quantity(str(c.get("memory", 0)))) // PREPROCESS_MEMORY for c in capacities)
    if quota.memory_bytes < PREPROCESS_MEMORY:
        out.append(f"Memory: each participant's quota is {quota.memory_bytes / 2**30:.1f} GiB, below chapter 4a's "
                   f"96 GiB preprocessing pod, so the quota refuses it in every participant's namespace.")
    elif places < seats:
        out.append(f"Memory: the workers hold {places} of chapter 4a's 96 GiB preprocessing pods at once, for "
                   f"{seats} wanted: the others wait Pending.")
    return out


def gpu_node_names(count: int) -> list[str]:
    """``whyk8s-workshop-gpu1`` … ``whyk8s-workshop-gpu<count>``."""
    return [f"{GPU_NODE_PREFIX}{i}" for i in range(1, count + 1)]


def layout_capacities(layout=None) -> list[dict]:
    """The workers' capacities in ``clusters/layout.yaml``, GPUs included (:mod:`whyk8s.cluster.layout`)."""
    from whyk8s.cluster.layout import load_layout
    layout = layout or load_layout()
    return [{**w.capacity, **w.extended_resources} for w in layout.workers]


def node_capacities(cluster: Cluster) -> list[dict]:
    """The allocatable resources of the cluster's schedulable nodes that are not control planes."""
    out = []
    for node in cluster.core.list_node().items:
        labels = node.metadata.labels or {}
        if "node-role.kubernetes.io/control-plane" in labels or (node.spec and node.spec.unschedulable):
            continue
        out.append(dict((node.status.allocatable or {}) if node.status else {}))
    return out


def _is_course_cluster(context: str) -> bool:
    from whyk8s.cluster.providers import cluster_name
    return context in (f"kind-{cluster_name()}", f"kwok-{cluster_name()}")


# -- RBAC ----------------------------------------------------------------------------------------
def learner_rules(simulated_nodes: bool = True) -> list[dict]:
    """The Role's rules in the participant's namespace: full rights on the objects the chapters and
    labs create (pods and their eviction, log and exec, Services, Deployments and their scale, ReplicaSets,
    Jobs, HorizontalPodAutoscalers, ConfigMaps, DRA ResourceClaims and templates), read rights on
    events, endpoints, the quota and the LimitRange (the fence itself stays the instructor's), on Kueue's
    LocalQueues and Workloads (which the instructor's ClusterQueues admit: a participant's own LocalQueue
    or Workload could reserve the cohort's quota), and ``get`` of the namespace itself (its name only:
    a Role can grant that on the namespace it lives in).

    ``simulated_nodes`` (the kwok course cluster): pods' status may be written too, as chapter 3 does to
    show a pod leaving a Service's endpoints where no kubelet runs. Elsewhere it may only be read: a
    participant who wrote ``phase: Succeeded`` on a running pod would take it out of their quota
    while its containers still ran."""
    status_verbs = ["get", "patch", "update"] if simulated_nodes else ["get"]
    return [
        {"apiGroups": [""], "resources": ["pods", "services", "configmaps"], "verbs": _ALL},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
        # chapter 3 on kind runs a command in a pod (load balancing); the Python client opens it with a
        # websocket GET, which v1.36 authorizes as get and as create on pods/exec
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["pods/status"], "verbs": status_verbs},
        {"apiGroups": [""], "resources": ["events", "endpoints", "resourcequotas", "limitranges"],
         "verbs": _READ},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": _READ},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": _READ},
        {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale", "replicasets"], "verbs": _ALL},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _ALL},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": _ALL},
        {"apiGroups": ["resource.k8s.io"], "resources": ["resourceclaims", "resourceclaimtemplates"],
         "verbs": _ALL},
        {"apiGroups": ["kueue.x-k8s.io"], "resources": ["localqueues", "workloads"], "verbs": _READ},
    ]


def viewer_rules() -> list[dict]:
    """The shared ClusterRole's rules: read-only (get, list, watch) on the cluster-scoped objects the
    chapters show: nodes, PriorityClasses, RuntimeClasses, DeviceClasses and ResourceSlices, Kueue's
    ClusterQueues and ResourceFlavors. Nothing namespaced: a ClusterRoleBinding to a rule on pods would
    open every namespace."""
    return [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": _READ},
        {"apiGroups": ["scheduling.k8s.io"], "resources": ["priorityclasses"], "verbs": _READ},
        {"apiGroups": ["node.k8s.io"], "resources": ["runtimeclasses"], "verbs": _READ},
        {"apiGroups": ["resource.k8s.io"], "resources": ["deviceclasses", "resourceslices"], "verbs": _READ},
        {"apiGroups": ["kueue.x-k8s.io"], "resources": ["clusterqueues", "resourceflavors"], "verbs": _READ},
    ]


def watch_rules() -> list[dict]:
    """The shared Role's rules in the instructor's demonstration namespace: read-only (get, list,
    watch) on what the chapters' boards show there: pods, events, Services and endpoints, Deployments,
    ReplicaSets, Jobs, DRA ResourceClaims. No writes, no exec, no logs, no Secrets or ConfigMaps: a
    participant watches the instructor's demonstration and cannot change it."""
    return [
        {"apiGroups": [""], "resources": ["pods", "events", "services", "endpoints"], "verbs": _READ},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": _READ},
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": _READ},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _READ},
        {"apiGroups": ["resource.k8s.io"], "resources": ["resourceclaims"], "verbs": _READ},
    ]


def demonstration_namespace() -> str:
    """The namespace where the instructor runs the notebooks and so the demonstrations: the course
    namespace ``whyk8s`` (the instructor's kubeconfig is the cluster's admin one, whose course
    namespace is always ``whyk8s``: :func:`whyk8s.k8s.guard.default_namespace`)."""
    return DEFAULT_NAMESPACE


#: Pod Security Admission on every participant's namespace: the "baseline" level refuses privileged
#: pods, host namespaces, hostPath volumes and host ports, which on a cluster with real nodes (kind, or
#: an instructor's managed cluster) would be root on the node, beside everyone else's pods. The course's
#: own pods need none of them. kubernetes.io, "Pod Security Admission" and "Pod Security Standards".
POD_SECURITY = {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "baseline"}


def desired_objects(participant: str, quota: Share, simulated_nodes: bool = True) -> list[dict]:
    """The objects ``up`` makes for one participant, as manifests (kind, metadata, and the rest), in
    creation order; the last is the RoleBinding in the instructor's demonstration namespace. The shared
    ClusterRole and Role are not among them (:func:`up` makes them once). ``simulated_nodes``: see
    :func:`learner_rules`."""
    ns, labels = namespace_of(participant), _labels(participant)
    meta = {"labels": labels}
    subject = [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": ns}]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {**labels, **POD_SECURITY}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": SERVICE_ACCOUNT, "namespace": ns, **meta}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": ROLE, "namespace": ns, **meta}, "rules": learner_rules(simulated_nodes)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": ROLE, "namespace": ns, **meta}, "subjects": subject,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"whyk8s-workshop-{participant}", **meta}, "subjects": subject,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": VIEWER_ROLE}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": QUOTA, "namespace": ns, **meta},
         "spec": {"hard": quota.hard()}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": QUOTA, "namespace": ns, **meta},
         "spec": {"limits": [{"type": "Container", "defaultRequest": dict(DEFAULT_REQUEST)}]}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": f"whyk8s-workshop-{participant}", "namespace": demonstration_namespace(), **meta},
         "subjects": subject, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": WATCH_ROLE}},
    ]


def _viewer_role() -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": VIEWER_ROLE, "labels": _labels()}, "rules": viewer_rules()}


def _watch_role() -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": WATCH_ROLE, "namespace": demonstration_namespace(), "labels": _labels()},
            "rules": watch_rules()}


# -- applying ------------------------------------------------------------------------------------
_KINDS = {  # kind: (API attribute, method stem, namespaced, fields compared)
    "Namespace": ("core", "namespace", False, ()),
    "ServiceAccount": ("core", "service_account", True, ()),
    "Role": ("rbac", "role", True, ("rules",)),
    "RoleBinding": ("rbac", "role_binding", True, ("subjects", "roleRef")),
    "ClusterRole": ("rbac", "cluster_role", False, ("rules",)),
    "ClusterRoleBinding": ("rbac", "cluster_role_binding", False, ("subjects", "roleRef")),
    "ResourceQuota": ("core", "resource_quota", True, ("spec",)),
    "LimitRange": ("core", "limit_range", True, ("spec",)),
}


def _fn(cluster: Cluster, kind: str, verb: str):
    api, stem, namespaced, _ = _KINDS[kind]
    target = client.RbacAuthorizationV1Api(cluster.api) if api == "rbac" else getattr(cluster, api)
    return getattr(target, f"{verb}_{'namespaced_' if namespaced else ''}{stem}")


def _call(cluster: Cluster, kind: str, verb: str, manifest: dict, *args, **kw):
    meta = manifest["metadata"]
    if _KINDS[kind][2]:  # create_namespaced_x(ns, body); the others (name, ns, ...)
        args = (meta["namespace"], *args) if verb == "create" else (args[0], meta["namespace"], *args[1:])
    return _fn(cluster, kind, verb)(*args, **kw)


def _normal(value):
    """Quantities compared by value ("1" == "1000m"), lists and dicts recursively, None dropped."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str):
        try:
            return parse_quantity(value)
        except ValueError:
            return value
    return value


def _differs(cluster: Cluster, current, manifest: dict) -> bool:
    cur = cluster.api.sanitize_for_serialization(current)
    labels = (cur.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in manifest["metadata"]["labels"].items()):
        return True
    for key in _KINDS[manifest["kind"]][3]:
        want, have = _normal(manifest.get(key)), _normal(cur.get(key))
        if key == "spec":  # the API server adds nothing we compare, but may add fields we did not set
            have = {k: v for k, v in (have or {}).items() if k in (want or {})}
        if want != have:
            return True
    return False


def _apply(cluster: Cluster, manifest: dict) -> str:
    """Create ``manifest`` if missing; replace it if it differs from what it should be; return
    ``"created"``, ``"updated"`` or ``"unchanged"``. An existing object without the course label
    is refused (CourseError): ``up`` never takes over what it did not make."""
    kind, name = manifest["kind"], manifest["metadata"]["name"]
    try:
        current = _call(cluster, kind, "read", manifest, name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        _call(cluster, kind, "create", manifest, manifest)
        return "created"
    labels = current.metadata.labels or {}
    if labels.get(PART_OF_LABEL[0]) != PART_OF_LABEL[1]:
        raise CourseError(f"{kind} {name!r} already exists and was not made by the course (it lacks the "
                          f"label {PART_OF_LABEL[0]}={PART_OF_LABEL[1]}): the workshop leaves it alone. "
                          f"Remove it, or run the workshop on another cluster.")
    if not _differs(cluster, current, manifest):
        return "unchanged"
    body = {**manifest, "metadata": {**manifest["metadata"], "labels": {**labels, **manifest["metadata"]["labels"]},
                                      "resourceVersion": current.metadata.resource_version}}
    if kind in ("Namespace", "ServiceAccount"):  # only labels are ours
        _call(cluster, kind, "patch", manifest, name, {"metadata": {"labels": body["metadata"]["labels"]}})
    elif kind in ("RoleBinding", "ClusterRoleBinding") and _normal(
            cluster.api.sanitize_for_serialization(current).get("roleRef")) != _normal(manifest["roleRef"]):
        _call(cluster, kind, "delete", manifest, name)  # roleRef is immutable
        _call(cluster, kind, "create", manifest, manifest)
    else:
        _call(cluster, kind, "replace", manifest, name, body)
    return "updated"


# -- kubeconfig ----------------------------------------------------------------------------------
def files_dir(context: str, out: str | Path | None = None) -> Path:
    """Where the workshop's files for ``context`` go: ``out``, else ``~/.whyk8s/workshop/<context>``."""
    return Path(out) if out else Path.home() / ".whyk8s" / "workshop" / context


def kubeconfig_path(context: str, participant: str, out: str | Path | None = None) -> Path:
    """The file ``up`` writes participant's kubeconfig to (for a hub's spawner, say):
    ``<files_dir>/<participant>.kubeconfig``. It may not exist (before ``up``, after ``down``)."""
    return files_dir(context, out) / f"{participant}.kubeconfig"


def _ca_data(cluster: Cluster) -> dict:
    conf = cluster.api.configuration
    if not conf.verify_ssl:
        return {"insecure-skip-tls-verify": True}
    if conf.ssl_ca_cert:
        return {"certificate-authority-data": base64.b64encode(Path(conf.ssl_ca_cert).read_bytes()).decode()}
    return {}


def kubeconfig(participant: str, server: str, token: str, cluster_fields: dict | None = None) -> dict:
    """A participant's kubeconfig (as a dict): one cluster (``server`` and its CA), one user (the
    ServiceAccount ``token``), one context ``whyk8s-workshop-<participant>`` naming the participant's
    namespace, made current."""
    ctx = context_of(participant)
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "whyk8s-workshop", "cluster": {"server": server, **(cluster_fields or {})}}],
            "users": [{"name": ctx, "user": {"token": token}}],
            "contexts": [{"name": ctx, "context": {"cluster": "whyk8s-workshop", "user": ctx,
                                                   "namespace": namespace_of(participant)}}],
            "current-context": ctx}


def _request_token(cluster: Cluster, participant: str, seconds: int) -> tuple[str, datetime]:
    body = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
        audiences=[], expiration_seconds=seconds))
    out = cluster.core.create_namespaced_service_account_token(SERVICE_ACCOUNT, namespace_of(participant), body)
    return out.status.token, out.status.expiration_timestamp


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


# -- the acts ------------------------------------------------------------------------------------
@dataclass
class WorkshopResult:
    """What :func:`up` did: ``context``, ``participants``, ``quota`` (:class:`Share`), ``changes``
    (``{"created": n, "updated": n, "unchanged": n}`` over all objects), ``tokens`` (participants
    given a new token), ``folder`` (the kubeconfigs and cards), ``gpu_nodes`` and ``highmem_nodes`` (the
    extra nodes now), ``misfits`` (sentences: what of the chapters does not fit this room at once,
    :func:`misfits`; empty on the kwok course cluster sized by the rule)."""

    context: str
    participants: list[str]
    quota: Share
    changes: dict
    tokens: list[str]
    folder: Path
    gpu_nodes: list[str] = field(default_factory=list)
    highmem_nodes: list[str] = field(default_factory=list)
    misfits: list[str] = field(default_factory=list)


def _connect(context: str | None) -> Cluster:
    cluster = connect(context=context, create_namespace=False)
    if cluster.context.startswith(WORKSHOP_CONTEXT_PREFIX):
        raise CourseError(f"The context {cluster.context} is a participant's: run the workshop's commands "
                          f"with the instructor's kubeconfig (the course cluster's, or --context).")
    return cluster


def up(participants: int, hours: float = 4.0, context: str | None = None, hub_url: str | None = None,
       server: str | None = None, out: str | Path | None = None, renew: bool = False,
       gpu_nodes: int | None = None, highmem_nodes: int | None = None,
       gpus_per_participant: int = GPUS_PER_PARTICIPANT, cluster: Cluster | None = None) -> WorkshopResult:
    """Prepare (or bring up to date) ``participants`` participants; return a :class:`WorkshopResult`.

    ``hours``: the workshop's length, the tokens' lifetime (``expirationSeconds``; at least 10 min,
    the API server's minimum, at most 48 h). ``context``: the instructor's kubeconfig context
    (default: the current one; it must pass the guard). ``hub_url``: printed and encoded on the cards.
    ``server``: the API server URL written in the participants' kubeconfigs (default: the
    instructor's, e.g. ``https://127.0.0.1:<port>`` for kwok, right when the participants' servers run on
    this machine). A new token is requested for a participant whose kubeconfig file is missing or whose
    token expires within 10 minutes, or for all with ``renew``; otherwise running ``up`` again changes
    nothing. Participants beyond ``participants`` left by an earlier, bigger ``up`` are kept (``down``
    or ``reset`` them). ``gpu_nodes``, ``highmem_nodes``: K extra simulated GPU nodes and H
    high-memory nodes on the kwok course cluster (module docstring, "Big rooms"); exactly that many
    are left (extra ones from an earlier, bigger number are deleted, with what ran on them); None
    gives the sizing rule's number (:func:`gpu_nodes_for`, :func:`highmem_nodes_for`) on the kwok
    course cluster and adds none elsewhere (``misfits`` of the result then says what does not fit).
    ``gpus_per_participant``: the quota's ``requests.nvidia.com/gpu`` line (9; 1 caps every
    participant at one GPU, but then the quota refuses chapter 3's ``greedy``, chapter 4a's
    ``train-huge`` and lab 4's ``gpu-greedy`` instead of leaving them ``Pending``, and lab 4's second
    check cannot pass).
    The instructor's demonstration namespace (``whyk8s``) is created, labelled, if missing.
    Raises ValueError for bad numbers, CourseError for an existing object the course did not make and
    for ``gpu_nodes`` on kind or on another cluster (the sentence says why), ApiException when the API
    server refuses.
    """
    seconds = int(round(hours * 3600))
    if not 600 <= seconds <= 48 * 3600:
        raise ValueError(f"The workshop's length must be from 10 minutes to 48 hours, not {hours} h.")
    names = participant_names(participants)
    for what, n in (("GPU", gpu_nodes), ("high-memory", highmem_nodes)):
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 100):
            raise ValueError(f"The number of extra {what} nodes must be a whole number from 0 to 100, not {n!r}.")
    cluster = cluster or _connect(context)
    if gpu_nodes or highmem_nodes:
        _check_gpu_nodes_possible(cluster)
    kwok = _kwok_course_cluster(cluster)
    if kwok:
        gpu_nodes = gpu_nodes_for(participants) if gpu_nodes is None else gpu_nodes
        highmem_nodes = highmem_nodes_for(participants) if highmem_nodes is None else highmem_nodes
    caps = layout_capacities() if _is_course_cluster(cluster.context) else node_capacities(cluster)
    if isinstance(gpus_per_participant, bool) or not isinstance(gpus_per_participant, int) \
            or not 0 <= gpus_per_participant <= 64:
        raise ValueError(f"GPUs per participant must be a whole number from 0 to 64, not {gpus_per_participant!r}.")
    quota = share(caps, participants, memory_floor=MEMORY_NEED if kwok else 0, gpus=gpus_per_participant)
    folder = files_dir(cluster.context, out)
    changes = {"created": 0, "updated": 0, "unchanged": 0}
    changes[_apply(cluster, _viewer_role())] += 1
    cluster.ensure_namespace(demonstration_namespace())
    changes[_apply(cluster, _watch_role())] += 1
    for pool, n in (("gpu", gpu_nodes), ("highmem", highmem_nodes)):
        if n is not None:
            for kind, k in _reconcile_extra_nodes(cluster, pool, n).items():
                changes[kind] += k
    server = server or cluster.api.configuration.host
    ca = _ca_data(cluster)
    tokens = []
    now = datetime.now(timezone.utc)
    for p in names:
        for manifest in desired_objects(p, quota, simulated_nodes=cluster.context.startswith("kwok-")
                                        and _is_course_cluster(cluster.context)):
            changes[_apply(cluster, manifest)] += 1
        ns = cluster.core.read_namespace(namespace_of(p))
        notes = ns.metadata.annotations or {}
        path = kubeconfig_path(cluster.context, p, out)
        expires = notes.get(EXPIRES_ANNOTATION)
        fresh = expires and (datetime.fromisoformat(expires) - now).total_seconds() > 600
        if renew or not fresh or not path.is_file():
            token, expiry = _request_token(cluster, p, seconds)
            _write_private(path, yaml.safe_dump(kubeconfig(p, server, token, ca), sort_keys=False))
            notes = {EXPIRES_ANNOTATION: expiry.isoformat()}
            tokens.append(p)
        else:
            notes = {}
        if hub_url is not None and (ns.metadata.annotations or {}).get(HUB_ANNOTATION) != hub_url:
            notes[HUB_ANNOTATION] = hub_url
        if notes:
            cluster.core.patch_namespace(namespace_of(p), {"metadata": {"annotations": notes}})
    room = caps + [{**w.capacity, **w.extended_resources} for pool in ("gpu", "highmem")
                   for w in (_worker_like(pool, n.metadata.name) for n in _extra_nodes(cluster, pool))]
    return WorkshopResult(cluster.context, names, quota, changes, tokens, folder,
                          gpu_node_names(len(_extra_nodes(cluster, "gpu"))),
                          highmem_node_names(len(_extra_nodes(cluster, "highmem"))),
                          misfits(room, participants, quota))


def _gpu_nodes(cluster: Cluster) -> list:
    """The workshop's extra Nodes now (labelled), GPU and high-memory."""
    return cluster.core.list_node(label_selector=SHARED_SELECTOR).items


def _extra_nodes(cluster: Cluster, pool: str) -> list:
    """The workshop's extra Nodes of one pool (``gpu``, ``highmem``) now."""
    return cluster.core.list_node(label_selector=f"{SHARED_SELECTOR},{POOL_LABEL}={pool}").items


def _kwok_course_cluster(cluster: Cluster) -> bool:
    return cluster.context.startswith("kwok-") and _is_course_cluster(cluster.context)


def _check_gpu_nodes_possible(cluster: Cluster) -> None:
    if _kwok_course_cluster(cluster):
        return
    if cluster.context.startswith("kind-") and _is_course_cluster(cluster.context):
        why = ("on kind each node is a container on this machine running a real kubelet, so GPU nodes for a "
               "room would cost a container each and have no GPUs to give; run the workshop on the kwok "
               "course cluster (`whyk8s cluster up --provider kwok`), whose nodes are simulated")
    else:
        why = (f"{cluster.context} is not the course's kwok cluster: its nodes are machines, which the course "
               f"cannot add; add GPU nodes with your provider's tools (a node pool with the label "
               f"{POOL_LABEL}=gpu and the taint {GPU_RESOURCE}=present:NoSchedule)")
    raise CourseError(f"--gpu-nodes and --highmem-nodes add simulated nodes, which only kwok can: {why}.")


def _worker_like(pool: str, name: str):
    from whyk8s.cluster.layout import Worker, load_layout
    like = load_layout().pool(pool)[0]
    return Worker(name=name, pool=like.pool, capacity=dict(like.capacity),
                  extended_resources=dict(like.extended_resources), taints=tuple(like.taints))


def _reconcile_extra_nodes(cluster: Cluster, pool: str, count: int) -> dict[str, int]:
    """Make exactly ``count`` extra nodes of ``pool`` (``gpu``, ``highmem``) exist like the layout's
    (create the missing, delete the extra ones); GPU nodes advertise the layout's GPUs. Returns the changes."""
    from types import SimpleNamespace

    from whyk8s.cluster.layout import kwok_node_manifest
    from whyk8s.cluster.workers import advertise_extended_resources
    from whyk8s.k8s.waits import wait_for_nodes
    changes = {"created": 0, "updated": 0, "unchanged": 0}
    if count:
        _check_gpu_nodes_possible(cluster)
    want = gpu_node_names(count) if pool == "gpu" else highmem_node_names(count)
    have = {n.metadata.name: n for n in _extra_nodes(cluster, pool)}
    for name in sorted(set(have) - set(want)):
        _ignore((404,), cluster.core.delete_node, name)
        changes["updated"] += 1
    made = []
    for name in want:
        try:
            node = cluster.core.read_node(name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
            manifest = kwok_node_manifest(_worker_like(pool, name))
            manifest["metadata"]["labels"].update(_labels())
            cluster.core.create_node(manifest)
            made.append(name)
            changes["created"] += 1
            continue
        if (node.metadata.labels or {}).get(COMPONENT_LABEL[0]) != COMPONENT_LABEL[1]:
            raise CourseError(f"Node {name!r} exists and was not made by the workshop: it is left alone. "
                              f"Remove it, or ask for fewer extra nodes.")
        gpus = (node.status.allocatable or {}).get(GPU_RESOURCE) if node.status else None
        if pool == "gpu" and str(gpus) != str(GPUS_PER_NODE):
            made.append(name)
            changes["updated"] += 1
        else:
            changes["unchanged"] += 1
    if made:
        wait_for_nodes(cluster, made, timeout=60)
        if pool == "gpu":
            advertise_extended_resources(cluster, SimpleNamespace(workers=[_worker_like(pool, n) for n in made]),
                                         log=lambda *_: None)
    return changes


def workshop_objects(cluster: Cluster) -> list[str]:
    """Every object ``up`` makes that exists now, as ``Kind namespace/name`` strings, sorted: the
    participants' namespaces and what is in them with the participant label, their ClusterRoleBindings,
    the shared ClusterRole, the shared Role and the participants' RoleBindings in the instructor's
    demonstration namespace, the extra GPU Nodes."""
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    found = [f"ClusterRole {o.metadata.name}" for o in rbac.list_cluster_role(label_selector=SHARED_SELECTOR).items]
    found += [f"Node {o.metadata.name}" for o in _gpu_nodes(cluster)]
    demo = demonstration_namespace()
    found += [f"Role {demo}/{o.metadata.name}"
              for o in rbac.list_namespaced_role(demo, label_selector=SHARED_SELECTOR).items]
    found += [f"RoleBinding {demo}/{o.metadata.name}"
              for o in rbac.list_namespaced_role_binding(demo, label_selector=PARTICIPANTS_SELECTOR).items]
    found += [f"ClusterRoleBinding {o.metadata.name}"
              for o in rbac.list_cluster_role_binding(label_selector=PARTICIPANTS_SELECTOR).items]
    for ns in cluster.core.list_namespace(label_selector=PARTICIPANTS_SELECTOR).items:
        name = ns.metadata.name
        found.append(f"Namespace {name}")
        for kind in ("ServiceAccount", "Role", "RoleBinding", "ResourceQuota", "LimitRange"):
            items = _fn(cluster, kind, "list")(name, label_selector=PARTICIPANTS_SELECTOR).items
            found += [f"{kind} {name}/{o.metadata.name}" for o in items]
    return sorted(found)


def down(context: str | None = None, out: str | Path | None = None, timeout: float = 120,
         cluster: Cluster | None = None) -> list[str]:
    """Delete what :func:`up` made (found by its labels), wait until it is gone, and remove the
    participants' kubeconfigs and cards. Deleting a namespace deletes everything in it (the
    participants' work too); deleting a ServiceAccount makes its tokens invalid at once. The
    instructor's demonstration namespace stays (it is the course's own); only the workshop's Role and
    RoleBindings there go. The extra GPU nodes go, with what ran on them. Returns what
    was deleted (:func:`workshop_objects` before). Raises WaitTimeoutError after ``timeout`` seconds
    naming what is left."""
    cluster = cluster or _connect(context)
    before = workshop_objects(cluster)
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    gone = (404, 409)
    for o in rbac.list_cluster_role_binding(label_selector=PARTICIPANTS_SELECTOR).items:
        _ignore(gone, rbac.delete_cluster_role_binding, o.metadata.name)
    for ns in cluster.core.list_namespace(label_selector=PARTICIPANTS_SELECTOR).items:
        # the ServiceAccount first: its tokens stop working now, not when the namespace is emptied
        _ignore(gone, cluster.core.delete_namespaced_service_account, SERVICE_ACCOUNT, ns.metadata.name)
        if ns.metadata.deletion_timestamp is None:
            _ignore(gone, cluster.core.delete_namespace, ns.metadata.name)
    demo = demonstration_namespace()
    for o in rbac.list_namespaced_role_binding(demo, label_selector=PARTICIPANTS_SELECTOR).items:
        _ignore(gone, rbac.delete_namespaced_role_binding, o.metadata.name, demo)
    for o in rbac.list_namespaced_role(demo, label_selector=SHARED_SELECTOR).items:
        _ignore(gone, rbac.delete_namespaced_role, o.metadata.name, demo)
    for o in rbac.list_cluster_role(label_selector=SHARED_SELECTOR).items:
        _ignore(gone, rbac.delete_cluster_role, o.metadata.name)
    for o in _gpu_nodes(cluster):
        _ignore(gone, cluster.core.delete_node, o.metadata.name)
    deadline = time.monotonic() + timeout
    while True:
        left = workshop_objects(cluster)
        if not left:
            break
        if time.monotonic() > deadline:
            raise WaitTimeoutError("The workshop's objects are not all gone: " + ", ".join(left[:10]))
        time.sleep(1)
    folder = files_dir(cluster.context, out)
    if folder.is_dir():
        for path in list(folder.glob("*.kubeconfig")) + [folder / "cards.html"]:
            path.unlink(missing_ok=True)
        if not any(folder.iterdir()):
            shutil.rmtree(folder)
    return before


def _ignore(statuses, fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except client.ApiException as exc:
        if exc.status not in statuses:
            raise
    return None


def _check_participant(cluster: Cluster, participant: str):
    try:
        ns = cluster.core.read_namespace(namespace_of(participant))
    except client.ApiException as exc:
        if exc.status == 404:
            raise CourseError(f"There is no participant {participant!r} (no namespace "
                              f"{namespace_of(participant)}); `whyk8s workshop status` lists them.") from None
        raise
    if (ns.metadata.labels or {}).get(PARTICIPANT_LABEL) != participant:
        raise CourseError(f"Namespace {ns.metadata.name} is not a workshop participant's (no label "
                          f"{PARTICIPANT_LABEL}={participant}); the workshop leaves it alone.")
    return ns


#: What ``up`` (and the cluster) made in a participant's namespace, by kind: :func:`reset` keeps it.
#: (The progress ConfigMap too, unless ``reset(progress=True)``; ``kube-root-ca.crt`` is the
#: cluster's, published into every namespace.)
KEPT = {"ServiceAccount": {SERVICE_ACCOUNT, "default"}, "Role": {ROLE}, "RoleBinding": {ROLE},
        "ResourceQuota": {QUOTA}, "LimitRange": {QUOTA}, "ConfigMap": {"kube-root-ca.crt", "whyk8s-lab-progress"}}


def _reset_kinds(cluster: Cluster) -> dict:
    """Kind → (list function, delete function) of what a participant may create in their namespace
    (:func:`learner_rules`), owners before what they own."""
    apps, batch = client.AppsV1Api(cluster.api), client.BatchV1Api(cluster.api)
    hpa, dra = client.AutoscalingV2Api(cluster.api), client.ResourceV1Api(cluster.api)
    core = cluster.core
    return {
        "HorizontalPodAutoscaler": (hpa.list_namespaced_horizontal_pod_autoscaler,
                                    hpa.delete_namespaced_horizontal_pod_autoscaler),
        "Deployment": (apps.list_namespaced_deployment, apps.delete_namespaced_deployment),
        "ReplicaSet": (apps.list_namespaced_replica_set, apps.delete_namespaced_replica_set),
        "Job": (batch.list_namespaced_job, batch.delete_namespaced_job),
        "Pod": (core.list_namespaced_pod, core.delete_namespaced_pod),
        "Service": (core.list_namespaced_service, core.delete_namespaced_service),
        "ConfigMap": (core.list_namespaced_config_map, core.delete_namespaced_config_map),
        "ResourceClaim": (dra.list_namespaced_resource_claim, dra.delete_namespaced_resource_claim),
        "ResourceClaimTemplate": (dra.list_namespaced_resource_claim_template,
                                  dra.delete_namespaced_resource_claim_template),
    }


def reset(participant: str, context: str | None = None, timeout: float = 60, progress: bool = False,
          cluster: Cluster | None = None) -> dict[str, int]:
    """Empty one participant's namespace of what they made, labelled by the course or not (``kubectl
    delete deploy,rs,job,pod,svc,cm,hpa,resourceclaim,resourceclaimtemplate --all -n whyk8s-<p>`` but
    for :data:`KEPT`): every object of the kinds the participant may create (:func:`learner_rules`),
    keeping what ``up`` made there (its ServiceAccount, Role, RoleBinding, quota, LimitRange), the
    cluster's ``kube-root-ca.crt`` and, unless ``progress``, their lab-check record (the ConfigMap
    ``whyk8s-lab-progress``: with ``progress`` it goes, and the dashboard shows no check of theirs);
    wait until they are gone. Acts only on a namespace that carries the workshop's labels. Returns
    how many of each kind were deleted. Raises CourseError for an unknown participant or a namespace
    without the workshop's labels."""
    cluster = cluster or _connect(context)
    ns = _check_participant(cluster, participant).metadata.name
    kept = {k: set(v) for k, v in KEPT.items()}
    if progress:
        kept["ConfigMap"].discard("whyk8s-lab-progress")
    opts = client.V1DeleteOptions(propagation_policy="Background", grace_period_seconds=0)
    counts: dict[str, int] = {}
    kinds = _reset_kinds(cluster)
    deleted: set[tuple[str, str]] = set()
    deadline = time.monotonic() + timeout
    while True:  # again until nothing is left: a controller may re-create a pod while its owner goes
        left = []
        for kind, (list_fn, delete_fn) in kinds.items():
            for obj in list_fn(ns).items:
                name = obj.metadata.name
                if name in kept.get(kind, ()):
                    continue
                left.append(f"{kind} {name}")
                if obj.metadata.deletion_timestamp is None and \
                        _ignore((404, 409), delete_fn, name, ns, body=opts) is not None and (kind, name) not in deleted:
                    deleted.add((kind, name))
                    counts[kind] = counts.get(kind, 0) + 1
        if not left:
            return counts
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"{participant}'s namespace {ns} is not empty after {timeout:g} s: "
                                   + ", ".join(left[:10]))
        time.sleep(0.5)


def status_rows(context: str | None = None, cluster: Cluster | None = None,
                stuck_after: float | None = None) -> list[dict]:
    """The rows of :func:`status` as dicts (:func:`whyk8s.cluster.dashboard.participant_rows`);
    ``stuck_after`` in seconds (default 300)."""
    from whyk8s.cluster import dashboard
    from whyk8s.k8s import progress
    cluster = cluster or _connect(context)
    core = cluster.core
    return dashboard.participant_rows(
        core.list_namespace(label_selector=PARTICIPANTS_SELECTOR).items,
        core.list_pod_for_all_namespaces(label_selector=f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]}").items,
        core.list_resource_quota_for_all_namespaces(label_selector=PARTICIPANTS_SELECTOR).items,
        core.list_config_map_for_all_namespaces(label_selector=progress.SELECTOR).items,
        stuck_after=dashboard.STUCK_AFTER if stuck_after is None else stuck_after)


def status(context: str | None = None, cluster: Cluster | None = None, stuck_after: float | None = None):
    """One row per participant (pandas DataFrame, :data:`whyk8s.cluster.dashboard.COLUMNS`):
    ``participant``, ``namespace``, ``token_expires``, pods by phase (``running``, ``pending``,
    ``succeeded``, ``failed``), the quota used (``cpu``, ``memory``, ``pods`` as ``used/hard``), the lab
    checks whose latest result passes / fails (``passed``, ``failing``: keys such as ``lab2.check_pod``),
    ``stuck`` and ``stuck_on`` (a check never passed, failing for more than ``stuck_after``
    seconds, default 300, with no other check of theirs run since) and ``last_check``:
    :func:`whyk8s.cluster.dashboard.participant_rows` of one
    list of each collection. Empty when no workshop is up. ``whyk8s workshop status --watch`` and the
    widget :class:`whyk8s.notebook.widgets.workshop.WorkshopBoard` show the same rows live."""
    from whyk8s.cluster import dashboard
    return dashboard.rows_frame(status_rows(context, cluster, stuck_after))


def participant_rights(participant: str, context: str | None = None, other: str | None = None,
                       cluster: Cluster | None = None):
    """``kubectl auth can-i --as=system:serviceaccount:whyk8s-<p>:learner`` for the course's objects:
    :func:`whyk8s.k8s.rights.rights_table` asked by the instructor (SubjectAccessReviews) about the
    participant's ServiceAccount, in their namespace and (``other``) another participant's."""
    from whyk8s.k8s.rights import rights_table
    cluster = cluster or _connect(context)
    return rights_table(cluster, namespace_of(participant), user=user_of(participant),
                        other_namespace=namespace_of(other) if other else None)


# -- cards ---------------------------------------------------------------------------------------
_CARD_CSS = """
body { font-family: system-ui, sans-serif; margin: 0; }
.card { page-break-after: always; break-after: page; padding: 2cm; }
.card:last-child { page-break-after: auto; break-after: auto; }
h1 { font-size: 28pt; margin: 0 0 0.5cm; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2cm 0.6cm; font-size: 14pt; }
dt { font-weight: bold; } dd { margin: 0; font-family: ui-monospace, monospace; }
.qr { width: 6cm; height: 6cm; } .qr svg { display: block; width: 100%; height: 100%; } .note { font-size:
11pt; color: #333; max-width: 16cm; }
"""


def _qr_svg(url: str) -> str:
    import segno
    # scale 1 and the quiet zone of 4 modules the QR standard asks for; the CSS stretches the SVG
    # (which then has a viewBox) to fill its 6 cm box, so no blank gap is left around the code
    return segno.make(url, error="m").svg_inline(scale=1, border=4, omitsize=True)


def cards_html(rows: list[dict], title: str = "whyk8s workshop") -> str:
    """Printable HTML, one card per page (CSS ``break-after: page``): for each row (``participant``,
    ``namespace``, ``token_expires``, ``hub_url`` or None), the user name (the participant), the hub
    URL, how to log in (that user name and the password the instructor gives), the hub's QR code
    (:mod:`segno`, an SVG filling a 6 cm box), the namespace and when the token expires."""
    cards = []
    for r in rows:
        hub = r.get("hub_url")
        qr = f'<div class="qr">{_qr_svg(hub)}</div>' if hub else ""
        cards.append(
            f'<section class="card"><h1>{html.escape(title)}: {html.escape(r["participant"])}</h1><dl>'
            f'<dt>User name</dt><dd>{html.escape(r["participant"])}</dd>'
            f'<dt>Hub</dt><dd>{html.escape(hub) if hub else "ask the instructor"}</dd>'
            f'<dt>Namespace</dt><dd>{html.escape(r["namespace"])}</dd>'
            f'<dt>Access until</dt><dd>{html.escape(r["token_expires"])}</dd></dl>'
            f'<p class="login">To log in: open the hub\'s address (or scan the code), enter the user name '
            f'<b>{html.escape(r["participant"])}</b> and the password the instructor gives the room. Your '
            f'JupyterLab opens with the course\'s notebooks.</p>{qr}'
            f'<p class="note">Your notebooks use your own namespace and may create pods, Deployments, '
            f'Jobs and Services there, within a quota; they may read nodes and PriorityClasses. '
            f'Steps that change the whole cluster (draining a node, creating PriorityClasses) are the '
            f'instructor\'s demonstrations.</p></section>')
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<style>{_CARD_CSS}</style></head><body>{"".join(cards)}</body></html>\n')


def write_cards(context: str | None = None, out: str | Path | None = None, hub_url: str | None = None,
                cluster: Cluster | None = None) -> Path:
    """Write ``cards.html`` for every participant now up into the workshop's folder; return its path.
    ``hub_url`` overrides the one ``up`` stored. Raises CourseError when no workshop is up."""
    cluster = cluster or _connect(context)
    rows = []
    for ns in sorted(cluster.core.list_namespace(label_selector=PARTICIPANTS_SELECTOR).items,
                     key=lambda n: n.metadata.name):
        notes = ns.metadata.annotations or {}
        expires = notes.get(EXPIRES_ANNOTATION)
        when = datetime.fromisoformat(expires).strftime("%Y-%m-%d %H:%M UTC") if expires else "-"
        rows.append({"participant": ns.metadata.labels[PARTICIPANT_LABEL], "namespace": ns.metadata.name,
                     "token_expires": when, "hub_url": hub_url or notes.get(HUB_ANNOTATION)})
    if not rows:
        raise CourseError("No workshop is up on this cluster: run `whyk8s workshop up --participants N` first.")
    path = files_dir(cluster.context, out) / "cards.html"
    _write_private(path, cards_html(rows))
    return path
