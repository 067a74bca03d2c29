"""Lab 7, "Share a GPU pool with Kueue": two teams, one cohort, a borrowing limit, an urgent job.

The GPU node of the course layout advertises 4 ``nvidia.com/gpu``. The task:

1. a ResourceFlavor :data:`FLAVOR` (course-labelled) whose ``spec.nodeLabels`` select the GPU node
   and whose ``spec.tolerations`` tolerate its taint ``nvidia.com/gpu=present:NoSchedule``;
2. two ClusterQueues, :data:`CLUSTER_QUEUES` (course-labelled), both in cohort :data:`COHORT`, each
   admitting every namespace (``namespaceSelector: {}``), covering ``nvidia.com/gpu`` with flavor
   :data:`FLAVOR`, nominal quota :data:`NOMINAL` each, and for team B a ``borrowingLimit`` of
   :data:`BORROWING_LIMIT`, so that team B may use at most 3 of the 4 GPUs while team A is idle;
3. in each team namespace (:data:`TEAMS`, course-labelled) a LocalQueue :data:`LOCAL_QUEUE`
   pointing at that team's ClusterQueue;
4. team B's backlog (:func:`submit_backlog`: :data:`BACKLOG` Jobs of 1 GPU each, which keep their
   GPU until the check lets them finish), then the learner's urgent Job :data:`URGENT` (1 GPU,
   queue label ``kueue.x-k8s.io/queue-name: team-queue``): Kueue must admit it within
   :data:`WITHIN` seconds of its creation, while the backlog drains (:func:`check_sharing` lets
   team B's Jobs finish one after the other and watches them all end).

Why team B's Jobs are *held*: on kwok a Job's pod succeeds the moment it runs, so a backlog would
give its GPUs back at once. Each backlog Job's pod carries the scheduling gate
:data:`whyk8s.lessons.queueing.HOLD_GATE` (its quota stays taken while it waits, as a long training
run's would) until :func:`check_sharing` removes it.

Kueue runs as a local process against the kwok cluster's API server (:mod:`whyk8s.cluster.kueue`);
:func:`start` starts it if it is not running. On kind it cannot run (its webhooks are on
127.0.0.1, which a kind API server inside a container cannot reach): :func:`start` and the checks
say so in one sentence.

Sources: kueue.sigs.k8s.io, "Cluster Queue" (cohort, nominalQuota, borrowingLimit,
namespaceSelector), "Resource Flavor" (nodeLabels, tolerations), "Local Queue", "Run a Kubernetes
Job" (the queue-name label); the v1beta2 API of Kueue v0.17.0 (``apis/kueue/v1beta2/
clusterqueue_types.go``: a null ``namespaceSelector`` admits no namespace; ``borrowingLimit`` must be
null without a cohort).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from kubernetes import client, watch

from whyk8s import GPU_RESOURCE, PART_OF_LABEL
from whyk8s.cluster import kueue
from whyk8s.errors import CourseError, explain
from whyk8s.k8s import objects
from whyk8s.k8s.guard import Cluster, connect
from whyk8s.k8s.rights import Access, InstructorDemonstration, require
from whyk8s.k8s.waits import watch_until
from whyk8s.labs.checks import cluster_check, never_raise
from whyk8s.labs.common import find_elsewhere, lab_cluster, label_finding, read, workshop_line
from whyk8s.labs.common import start as lab_start
from whyk8s.labs.feedback import CheckResult, ResetResult
from whyk8s.labs.reset import reset_lab
from whyk8s.lessons import queueing

__all__ = ["start", "RIGHTS", "gpu_nodes", "created", "FLAVOR", "COHORT", "TEAMS", "CLUSTER_QUEUES", "NOMINAL", "BORROWING_LIMIT", "LOCAL_QUEUE",
           "BACKLOG", "URGENT", "WITHIN", "QUEUE_LABEL", "check_flavor", "check_cluster_queues",
           "check_local_queues", "submit_backlog", "board", "check_sharing", "kept_flavors", "delete_kueue_objects", "reset", "finish"]

GROUP, VERSION = kueue.GROUP, kueue.VERSION
QUEUE_LABEL = kueue.QUEUE_LABEL
#: The ResourceFlavor of the GPU pool.
FLAVOR = "gpu"
#: The cohort both ClusterQueues belong to.
COHORT = "gpu-pool"
#: The team namespaces.
TEAMS = ("team-a", "team-b")
#: Each team's ClusterQueue, by namespace.
CLUSTER_QUEUES = {"team-a": "team-a-gpus", "team-b": "team-b-gpus"}
#: The nominal quota of each ClusterQueue, in GPUs (whole ``nvidia.com/gpu``).
NOMINAL = {"team-a-gpus": 2, "team-b-gpus": 2}
#: The borrowing limits, in GPUs: team B may borrow at most 1 GPU of team A's unused quota; team A,
#: whose work is urgent, has none (it may borrow all of team B's unused quota).
BORROWING_LIMIT = {"team-b-gpus": 1}
#: The LocalQueue's name in each team namespace.
LOCAL_QUEUE = "team-queue"
#: Team B's backlog: this many Jobs named ``backlog-1`` … of 1 GPU each.
BACKLOG = 6
#: The urgent Job: (namespace, name), 1 GPU.
URGENT = ("team-a", "urgent-train")
#: Kueue must admit the urgent Job within this many seconds of its creation. Measured on the course's
#: kwok cluster (2 shared cores, other clusters running): 0.08 to 0.26 s from the create call to the
#: Job un-suspended (seen by a watch) in 5 runs of the right answer; the check compares the Job's
#: creationTimestamp with the Workload's Admitted condition, both to the second (0 s in every run).
#: 10 s leaves room for a loaded laptop. Without a borrowing limit the urgent Job waits until a Job
#: of team B ends, i.e. as long as team B's training runs (here: until the check lets them finish).
WITHIN = 10
_LABELS = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
_KUEUE_KINDS = {"ResourceFlavor": "resourceflavors", "ClusterQueue": "clusterqueues", "LocalQueue": "localqueues"}
#: Whether :func:`start` started Kueue in this kernel (then :func:`finish` stops it).
_started_here = False
#: Whether :func:`start` found a user without :data:`RIGHTS` (a workshop participant).
_demonstration = False
#: What the task needs beyond the learner's own namespace: creating namespaces, ClusterQueues and
#: ResourceFlavors (and running Kueue). A workshop participant lacks them: the lab is the
#: instructor's demonstration.
RIGHTS = (Access("create", "namespaces"), Access("create", "clusterqueues", GROUP),
          Access("create", "resourceflavors", GROUP))


def _gpus(text) -> int:
    return int(str(text)) if str(text).isdigit() else int(float(str(text)))


# -- set-up -------------------------------------------------------------------------------------------

def start(lab: str = "Lab 7") -> str:
    """The set-up cell: :func:`whyk8s.labs.common.start` (the guard, the namespace, one line), then make
    sure Kueue runs on the course's kwok cluster, starting it if needed (about 15 to 25 s; the
    binary is built first if it is not cached, about 3 minutes once per machine). Returns the
    context name to load. Never raises: on kind, or when Kueue cannot start, it prints one sentence
    saying why and what to do. A user without :data:`RIGHTS` (a workshop participant) gets one line
    saying the lab is the instructor's demonstration, and Kueue is left as it is."""
    global _started_here, _demonstration
    context = lab_start(lab)
    try:
        cluster = connect(create_namespace=False)
    except Exception:  # noqa: BLE001 - lab_start already said why there is no cluster
        return context
    if workshop_line(lab, RIGHTS, "runs Kueue and creates namespaces, ClusterQueues and ResourceFlavors, which "
                                  "are cluster-wide"):
        _demonstration = True  # a participant neither starts nor stops Kueue
        return context
    try:
        if kueue.pid() is not None and kueue.status(cluster).running:
            print(f"{lab}: Kueue {kueue.kueue_version()} is running.")
            return context
        print(f"{lab}: starting Kueue {kueue.kueue_version()} on the course cluster; wait about 20 s "
              f"(the first time on this machine it is built first: about 3 minutes)...", flush=True)
        kueue.start(cluster, log=lambda *_: None)
        _started_here = True
        print(f"{lab}: Kueue {kueue.kueue_version()} is running.")
    except CourseError as exc:
        print(f"⚠ {lab} needs Kueue, which the course runs only on the kwok cluster (its webhooks listen on "
              f"127.0.0.1, which the API server of a kind cluster, inside a container, cannot reach). "
              f"Run this lab on the kwok route: `whyk8s cluster up --provider kwok`. ({explain(exc)})")
    except Exception as exc:  # noqa: BLE001 - the set-up cell must not raise
        print(f"⚠ Kueue did not start: {explain(exc)} Run `whyk8s kueue up` in a terminal to see its log.")
    return context


def finish(lab: str = "Lab 7") -> None:
    """The last cell: stop Kueue if :func:`start` started it in this kernel (it was not running
    before), so the cluster is left as the lab found it; otherwise leave it running. Never raises."""
    global _started_here
    if _demonstration:
        print(f"{lab}: Kueue is the instructor's to run; this lab left it as it was.")
        return
    if not _started_here:
        print(f"{lab}: Kueue was already running when this lab began; it stays running (`whyk8s kueue down` stops it).")
        return
    try:
        kueue.stop(connect(create_namespace=False), log=lambda *_: None)
        _started_here = False
        print(f"{lab}: Kueue stopped (this lab had started it).")
    except Exception as exc:  # noqa: BLE001
        print(f"⚠ Kueue was not stopped: {explain(exc)} Run `whyk8s kueue down` in a terminal.")


def created(obj) -> str:
    """The one line ``kubectl create`` prints for what a create call returned (a dict from
    ``CustomObjectsApi``, or a client model such as ``V1Job``): ``resourceflavor.kueue.x-k8s.io/gpu
    created``, ``namespace/team-a created``, ``job.batch/urgent-train created``. Print it instead of
    the returned object, which fills the cell. See :func:`whyk8s.k8s.objects.created`."""
    return objects.created(obj)


def gpu_nodes() -> str:
    """What a ResourceFlavor for the GPU pool must match: each node advertising ``nvidia.com/gpu``
    with its pool label, its GPUs (``status.allocatable``) and its taints, one line each. Never
    raises: without a cluster it shows the start-the-cluster panel and returns an empty string.
    kubectl: ``kubectl get nodes -L whyk8s.io/pool -o custom-columns=...`` or ``kubectl describe node``."""
    from whyk8s import POOL_LABEL
    from whyk8s.notebook.display import notebook_cluster
    try:
        cluster = notebook_cluster()
        if not cluster:
            return ""
        lines = []
        for node in _gpu_nodes(cluster):
            taints = ", ".join(f"{t.key}={t.value or ''}:{t.effect}" for t in node.spec.taints or []) or "none"
            lines.append(f"{node.metadata.name}: label {POOL_LABEL}={(node.metadata.labels or {}).get(POOL_LABEL)}, "
                         f"{node.status.allocatable.get(GPU_RESOURCE)} {GPU_RESOURCE} allocatable, taints: {taints}")
        return "\n".join(lines) or "no node advertises nvidia.com/gpu"
    except Exception as exc:  # noqa: BLE001
        return f"⚠ {explain(exc)}"


# -- reading Kueue's objects --------------------------------------------------------------------------

def _custom(cluster: Cluster) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(cluster.api)


def _kueue_installed(cluster: Cluster) -> bool:
    try:
        client.ApiextensionsV1Api(cluster.api).read_custom_resource_definition(f"clusterqueues.{GROUP}")
        return True
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise


def _read_kueue(cluster: Cluster, kind: str, name: str, namespace: str | None = None) -> dict | None:
    """The Kueue object as a dict, or None (404)."""
    api, plural = _custom(cluster), _KUEUE_KINDS[kind]
    try:
        if namespace:
            return api.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        return api.get_cluster_custom_object(GROUP, VERSION, plural, name)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _list_kueue(cluster: Cluster, kind: str) -> list[dict]:
    return _custom(cluster).list_cluster_custom_object(GROUP, VERSION, _KUEUE_KINDS[kind])["items"]


def _needs_kueue(result: CheckResult, cluster: Cluster) -> bool:
    """Record that Kueue is not installed (one sentence) and return False; True when it is."""
    if _kueue_installed(cluster):
        return True
    result.wrong("Kueue is not installed on this cluster (no ClusterQueue kind): run the set-up cell, which "
                 "starts it on the kwok cluster; on kind the course cannot run it")
    return False


def _labels_ok(result: CheckResult, what: str, obj: dict) -> bool:
    return label_finding(result, what, obj["metadata"].get("labels"))


def _recreate(result: CheckResult, before: int, kind: str, obj: dict, cells: str) -> None:
    """After the checks of one Kueue object: if any failed, how to create it again (a Kueue object is
    changed by deleting it and creating it again, or with ``replace``)."""
    if len(result.problems) == before:
        return
    meta = obj["metadata"]
    if (meta.get("labels") or {}).get(PART_OF_LABEL[0]) == PART_OF_LABEL[1]:
        message = (f"to change it, run the reset() cell, then {cells} again (creating an object whose name is "
                   f"taken fails with 409 AlreadyExists)")
    else:
        call, kubectl = _delete_lines(kind, meta["name"], meta.get("namespace"))
        message = (f"to change it, delete the {kind} {meta['name']} with {call} ({kubectl}), since reset() leaves "
                   f"objects without the course label alone, then run this step's create cell again")
    if message not in result.hints:
        result.hint(message)


def _delete_lines(kind: str, name: str, namespace: str | None = None) -> tuple[str, str]:
    """The official client's call (with the set-up cell's ``custom``) and the kubectl line that delete
    one Kueue object."""
    plural = _KUEUE_KINDS[kind]
    if namespace:
        return (f"custom.delete_namespaced_custom_object({GROUP!r}, {VERSION!r}, {namespace!r}, {plural!r}, "
                f"{name!r})", f"kubectl delete {kind.lower()} {name} -n {namespace}")
    return (f"custom.delete_cluster_custom_object({GROUP!r}, {VERSION!r}, {plural!r}, {name!r})",
            f"kubectl delete {kind.lower()} {name}")


def _gpu_nodes(cluster: Cluster) -> list:
    return [n for n in cluster.core.list_node().items if _gpus((n.status.allocatable or {}).get(GPU_RESOURCE, 0)) > 0]


def _tolerates(tolerations: list[dict], taint) -> bool:
    """Whether one of ``tolerations`` (dicts as in a manifest) tolerates ``taint`` (a V1Taint), as the
    scheduler matches them (operator Exists or Equal, empty key with Exists matches every key, empty
    effect matches every effect)."""
    for t in tolerations or []:
        if t.get("effect") and t["effect"] != taint.effect:
            continue
        op = t.get("operator") or "Equal"
        if op == "Exists" and (not t.get("key") or t["key"] == taint.key):
            return True
        if op == "Equal" and t.get("key") == taint.key and (t.get("value") or "") == (taint.value or ""):
            return True
    return False


def _condition(obj: dict, kind: str) -> dict | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


# -- step 1: the ResourceFlavor -----------------------------------------------------------------------

@cluster_check("Step 1: a ResourceFlavor for the GPU node", rights=RIGHTS[2:])
def check_flavor(result: CheckResult, cluster) -> None:
    """Step 1: the ResourceFlavor :data:`FLAVOR` exists with the course label; its ``spec.nodeLabels``
    select the GPU node (a node advertising ``nvidia.com/gpu``) and no other; its ``spec.tolerations``
    tolerate every NoSchedule/NoExecute taint of that node. kubectl: ``kubectl get resourceflavor gpu
    -o yaml``."""
    if not _needs_kueue(result, cluster):
        return
    flavor = _read_kueue(cluster, "ResourceFlavor", FLAVOR)
    if flavor is None:
        others = [f["metadata"]["name"] for f in _list_kueue(cluster, "ResourceFlavor")]
        result.wrong(f"there is no ResourceFlavor named {FLAVOR} yet (a cluster-wide object: {GROUP}/{VERSION}, "
                     f"plural resourceflavors)" + (f"; there is {', '.join(others)}" if others else ""))
        return
    before = len(result.problems)
    _labels_ok(result, f"the ResourceFlavor {FLAVOR}", flavor)
    spec = flavor.get("spec") or {}
    node_labels = spec.get("nodeLabels") or {}
    gpu_nodes = _gpu_nodes(cluster)
    gpu_names = ", ".join(n.metadata.name for n in gpu_nodes) or "none"
    if not node_labels:
        result.wrong(f"the ResourceFlavor {FLAVOR} has no spec.nodeLabels: Kueue would add no nodeSelector to the "
                     f"pods it admits, so nothing keeps them on the GPU node ({gpu_names})")
    else:
        nodes = cluster.core.list_node(label_selector=",".join(f"{k}={v}" for k, v in node_labels.items())).items
        shown = ", ".join(f"{k}={v}" for k, v in node_labels.items())
        with_gpus = [n for n in nodes if n in gpu_nodes or any(n.metadata.name == g.metadata.name for g in gpu_nodes)]
        if not nodes:
            have = "; ".join(f"{g.metadata.name} has {k}={g.metadata.labels.get(k)}" for g in gpu_nodes
                             for k in node_labels if k in (g.metadata.labels or {}))
            result.wrong(f"the ResourceFlavor {FLAVOR}'s spec.nodeLabels ({shown}) match no node, so pods admitted "
                         f"with it could never be scheduled" + (f" ({have})" if have else
                                                                f"; the GPU node is {gpu_names}"))
        elif len(with_gpus) < len(nodes):
            names = ", ".join(n.metadata.name for n in nodes if n not in with_gpus)
            result.wrong(f"the ResourceFlavor {FLAVOR}'s spec.nodeLabels ({shown}) also match {names}, which "
                         f"advertise no {GPU_RESOURCE}: select the GPU node alone")
        else:
            result.ok(f"spec.nodeLabels ({shown}) select the GPU node {gpu_names}")
    tolerations = spec.get("tolerations") or []
    for node in gpu_nodes:
        for taint in node.spec.taints or []:
            if taint.effect not in ("NoSchedule", "NoExecute"):
                continue
            shown = f"{taint.key}={taint.value or ''}:{taint.effect}"
            if _tolerates(tolerations, taint):
                result.ok(f"spec.tolerations tolerate the GPU node's taint {shown}")
            else:
                result.wrong(f"the ResourceFlavor {FLAVOR}'s spec.tolerations do not tolerate the GPU node's taint "
                             f"{shown}: the pods it admits would stay Pending; add {{key: {taint.key}, operator: "
                             f"Equal, value: {taint.value}, effect: {taint.effect}}}")
    _recreate(result, before, "ResourceFlavor", flavor, "the create cell of step 1")


# -- step 2: the ClusterQueues ------------------------------------------------------------------------

def _gpu_entry(cq: dict) -> tuple[str | None, dict | None, list[str]]:
    """The (flavor name, resource entry) of ``nvidia.com/gpu`` in a ClusterQueue's spec, and the
    resources its groups cover."""
    covered: list[str] = []
    for group in (cq.get("spec") or {}).get("resourceGroups") or []:
        covered += group.get("coveredResources") or []
        for flavor in group.get("flavors") or []:
            for res in flavor.get("resources") or []:
                if res.get("name") == GPU_RESOURCE:
                    return flavor.get("name"), res, covered
    return None, None, covered


@cluster_check("Step 2: two ClusterQueues in one cohort", rights=RIGHTS[1:2])
def check_cluster_queues(result: CheckResult, cluster) -> None:
    """Step 2: the ClusterQueues of :data:`CLUSTER_QUEUES` exist with the course label, both with
    ``spec.cohortName`` :data:`COHORT`, ``namespaceSelector: {}``, flavor :data:`FLAVOR` (an existing
    ResourceFlavor) for ``nvidia.com/gpu`` with the nominal quota of :data:`NOMINAL`, and the
    ``borrowingLimit`` of :data:`BORROWING_LIMIT` (none for team A); the nominal quotas add up to no
    more than the GPU node's GPUs; Kueue reports each queue Active. kubectl: ``kubectl get
    clusterqueues -o wide``; ``kubectl get clusterqueue team-b-gpus -o yaml``."""
    if not _needs_kueue(result, cluster):
        return
    node_gpus = sum(_gpus(n.status.allocatable.get(GPU_RESOURCE, 0)) for n in _gpu_nodes(cluster))
    found: dict[str, dict] = {}
    others = [q["metadata"]["name"] for q in _list_kueue(cluster, "ClusterQueue")]
    for name in CLUSTER_QUEUES.values():
        cq = _read_kueue(cluster, "ClusterQueue", name)
        if cq is None:
            extra = [o for o in others if o not in CLUSTER_QUEUES.values()]
            result.wrong(f"there is no ClusterQueue named {name} yet (a cluster-wide object)"
                         + (f"; there is {', '.join(extra)}" if extra else ""))
            continue
        found[name] = cq
        before = len(result.problems)
        _labels_ok(result, f"the ClusterQueue {name}", cq)
        spec = cq.get("spec") or {}
        cohort = spec.get("cohortName") or spec.get("cohort")
        if cohort == COHORT:
            result.ok(f"{name} is in the cohort {COHORT}")
        elif not cohort:
            result.wrong(f"the ClusterQueue {name} is not in a cohort (no spec.cohortName): it can neither lend its "
                         f"unused GPUs nor borrow; the task asks for cohortName: {COHORT}")
        else:
            result.wrong(f"the ClusterQueue {name} has spec.cohortName {cohort!r}; the task asks for {COHORT!r} "
                         f"(queues borrow only from queues of the same cohort)")
        if spec.get("namespaceSelector") is None:
            result.wrong(f"the ClusterQueue {name} has no spec.namespaceSelector, so it admits no namespace at all; "
                         f"set namespaceSelector: {{}} (every namespace)")
        flavor, entry, covered = _gpu_entry(cq)
        if entry is None:
            result.wrong(f"the ClusterQueue {name} gives no quota for {GPU_RESOURCE}: list it under "
                         f"resourceGroups[0].coveredResources and give the flavor {FLAVOR} a resource of that name"
                         + (f" (it covers {', '.join(covered)})" if covered else ""))
        else:
            if GPU_RESOURCE not in covered:
                result.wrong(f"the ClusterQueue {name} gives a quota for {GPU_RESOURCE} but its resource group's "
                             f"coveredResources ({', '.join(covered) or 'empty'}) do not list it")
            if flavor != FLAVOR:
                exists = _read_kueue(cluster, "ResourceFlavor", flavor) is not None if flavor else False
                result.wrong(f"the ClusterQueue {name} gives its GPUs under flavor {flavor!r}"
                             + ("" if exists else ", and no ResourceFlavor of that name exists")
                             + f"; the task asks for the flavor {FLAVOR} of step 1")
            elif _read_kueue(cluster, "ResourceFlavor", FLAVOR) is None:
                result.wrong(f"the ClusterQueue {name} uses the flavor {FLAVOR}, which does not exist yet "
                             f"(step 1): Kueue keeps the queue inactive")
            want = NOMINAL[name]
            have = _gpus(entry.get("nominalQuota", 0))
            if have == want:
                result.ok(f"{name}: nominalQuota {want} GPUs")
            elif node_gpus and have > node_gpus:
                result.wrong(f"the ClusterQueue {name} has nominalQuota {have} GPUs, more than the GPU node's "
                             f"{node_gpus}: quota is a promise the pool cannot keep; the task asks for {want}")
            else:
                result.wrong(f"the ClusterQueue {name} has nominalQuota {have} GPUs; the task asks for {want}")
            limit = BORROWING_LIMIT.get(name)
            have_limit = entry.get("borrowingLimit")
            if limit is None:
                if have_limit is not None:
                    result.wrong(f"the ClusterQueue {name} has borrowingLimit {have_limit}; team A's urgent work "
                                 f"may borrow all of team B's unused GPUs: leave borrowingLimit out")
            elif have_limit is None:
                result.wrong(f"the ClusterQueue {name} has no borrowingLimit for {GPU_RESOURCE}: it may borrow every "
                             f"GPU team A leaves unused and take the whole pool ({node_gpus or 4} GPUs), so team A's "
                             f"urgent job would wait until one of team B's jobs ends; set borrowingLimit: {limit}")
            elif _gpus(have_limit) != limit:
                result.wrong(f"the ClusterQueue {name} has borrowingLimit {have_limit}; the task asks for {limit} (at "
                             f"most {NOMINAL[name] + limit} GPUs for team B, so one stays free for team A)")
            else:
                result.ok(f"{name}: borrowingLimit {limit} GPU (team B uses at most {NOMINAL[name] + limit} of "
                          f"{node_gpus or 4} GPUs)")
        active = _condition(cq, "Active")
        if active is not None and active.get("status") != "True" and len(result.problems) == before:
            result.wrong(f"Kueue reports the ClusterQueue {name} inactive: {active.get('message')}")
        _recreate(result, before, "ClusterQueue", cq, "the create cells of steps 1 and 2")
    if len(found) == len(CLUSTER_QUEUES) and node_gpus:
        total = sum(_gpus((_gpu_entry(cq)[1] or {}).get("nominalQuota", 0)) for cq in found.values())
        if total > node_gpus:
            result.wrong(f"the nominal quotas add up to {total} GPUs, but the GPU node has {node_gpus}: the cohort "
                         f"promises GPUs that do not exist, and admitted jobs would wait Pending for them")


# -- step 3: the LocalQueues --------------------------------------------------------------------------

@cluster_check("Step 3: a LocalQueue in each team namespace", rights=RIGHTS[:1])
def check_local_queues(result: CheckResult, cluster) -> None:
    """Step 3: each namespace of :data:`TEAMS` exists with the course label and holds a LocalQueue
    :data:`LOCAL_QUEUE` (course-labelled) whose ``spec.clusterQueue`` is that team's ClusterQueue,
    which exists. kubectl: ``kubectl get localqueues -A``."""
    if not _needs_kueue(result, cluster):
        return
    existing = {q["metadata"]["name"] for q in _list_kueue(cluster, "ClusterQueue")}
    for team in TEAMS:
        ns = read(cluster, "Namespace", team)
        if ns is None:
            result.wrong(f"there is no namespace {team} yet: create it, with the course label")
            continue
        if not label_finding(result, f"the namespace {team}", ns.metadata.labels):
            hint = (f"to change it, delete the namespace {team} with core.delete_namespace({team!r}) (kubectl "
                    f"delete namespace {team}), since reset() leaves namespaces without the course label alone; "
                    f"once it is gone (a few seconds, with what is in it), run the create cells of steps 1 to 3 again")
            if hint not in result.hints:
                result.hint(hint)
        lq = _read_kueue(cluster, "LocalQueue", LOCAL_QUEUE, team)
        if lq is None:
            elsewhere = [f"{q['metadata']['namespace']}/{q['metadata']['name']}" for q in _list_kueue(cluster, "LocalQueue")
                         if q["metadata"]["name"] == LOCAL_QUEUE or q["metadata"]["namespace"] == team]
            result.wrong(f"there is no LocalQueue named {LOCAL_QUEUE} in namespace {team} yet"
                         + (f"; there is {', '.join(elsewhere)}" if elsewhere else ""))
            continue
        before = len(result.problems)
        _labels_ok(result, f"the LocalQueue {team}/{LOCAL_QUEUE}", lq)
        target = (lq.get("spec") or {}).get("clusterQueue")
        want = CLUSTER_QUEUES[team]
        if target == want and target in existing:
            result.ok(f"{team}/{LOCAL_QUEUE} points at the ClusterQueue {want}")
        elif target not in existing:
            result.wrong(f"the LocalQueue {team}/{LOCAL_QUEUE} points at the ClusterQueue {target!r} (spec.clusterQueue), "
                         f"which does not exist" + (f"; the task asks for {want}" if target != want else
                                                    ": create it (step 2)"))
        else:
            result.wrong(f"the LocalQueue {team}/{LOCAL_QUEUE} points at the ClusterQueue {target} (spec.clusterQueue); "
                         f"{team}'s jobs must go to {want}")
        _recreate(result, before, "LocalQueue", lq, "the create cells of steps 1 to 3")


# -- step 4: the backlog and the urgent job -----------------------------------------------------------

def _backlog_names() -> list[str]:
    return [f"backlog-{i}" for i in range(1, BACKLOG + 1)]


def _watch_custom(cluster: Cluster, plural: str, namespace: str | None, done, timeout: float) -> list[dict]:
    """Watch Kueue's ``plural`` (in ``namespace``, or cluster-wide when None): a list, then a watch from
    its resourceVersion, until ``done(objects)`` holds or ``timeout`` seconds pass; return the last
    list of objects (dicts)."""
    api = _custom(cluster)
    args = (GROUP, VERSION, namespace, plural) if namespace else (GROUP, VERSION, plural)
    list_fn = api.list_namespaced_custom_object if namespace else api.list_cluster_custom_object

    def relist():
        listing = list_fn(*args)
        return {o["metadata"]["name"]: o for o in listing["items"]}, listing["metadata"]["resourceVersion"]

    items, rv = relist()
    deadline = time.monotonic() + timeout
    while not done(list(items.values())):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        w = watch.Watch()
        try:
            for event in w.stream(list_fn, *args, resource_version=rv, timeout_seconds=max(1, int(left + 0.999))):
                obj = event["object"]
                if event["type"] == "ERROR":
                    raise client.ApiException(status=(obj or {}).get("code", 500), reason=(obj or {}).get("message"))
                rv = obj["metadata"]["resourceVersion"]
                if event["type"] == "BOOKMARK":
                    continue
                if event["type"] == "DELETED":
                    items.pop(obj["metadata"]["name"], None)
                else:
                    items[obj["metadata"]["name"]] = obj
                if done(list(items.values())) or time.monotonic() > deadline:
                    break
        except client.ApiException as exc:
            if exc.status != 410:
                raise
            items, rv = relist()
        finally:
            w.stop()
    return list(items.values())


def _watch_workloads(cluster: Cluster, namespace: str, done, timeout: float) -> list[dict]:
    """:func:`_watch_custom` over the Workloads of ``namespace``."""
    return _watch_custom(cluster, "workloads", namespace, done, timeout)


def _owner(workload: dict) -> str:
    return next((o["name"] for o in workload["metadata"].get("ownerReferences") or [] if o.get("kind") == "Job"), "")


def _decided(workload: dict) -> bool:
    """Kueue has looked at it: quota reserved, or a QuotaReserved=False condition saying why not."""
    return _condition(workload, "QuotaReserved") is not None or queueing.workload_state(workload) != "pending"


def submit_backlog(timeout: float = 30) -> str:
    """Create team B's backlog: :data:`BACKLOG` Jobs ``backlog-1`` … in ``team-b``, each sent to the
    LocalQueue :data:`LOCAL_QUEUE` and asking for 1 GPU, *held* (their pods wait behind a
    scheduling gate, so each keeps its GPU until :func:`check_sharing` lets it finish). Waits (at
    most ``timeout`` s) until Kueue has decided about each one and the ClusterQueues' status counts
    them, then returns the queue board as text (:func:`board`). Creates nothing while the LocalQueue
    of step 3 is missing in ``team-b``. Never raises: a problem is one sentence. kubectl:
    ``kubectl create -f backlog.yaml -n team-b``."""
    try:
        cluster = connect(create_namespace=False)
        namespace = TEAMS[1]
        require(cluster, "Submitting team B's backlog", *RIGHTS[:1])
        if not _kueue_installed(cluster):
            return "⚠ Kueue is not installed on this cluster: run the set-up cell (on the kwok cluster)."
        if read(cluster, "Namespace", namespace) is None or \
                _read_kueue(cluster, "LocalQueue", LOCAL_QUEUE, namespace) is None:
            return (f"⚠ There is no LocalQueue {LOCAL_QUEUE} in namespace {namespace} yet (step 3): the backlog was "
                    f"not submitted.")
        namespace = cluster.check_namespace(namespace)
        for name in _backlog_names():
            job = queueing.queued_job(name, LOCAL_QUEUE, cpu=0, memory=0, gpus=1, held=True)
            try:
                objects.create(cluster, job, namespace)
            except client.ApiException as exc:
                if exc.status != 409:
                    raise
        names = set(_backlog_names())
        ws = _watch_workloads(cluster, namespace, lambda ws: names <= {_owner(w) for w in ws if _decided(w)},
                              timeout=timeout)
        reserved = sum(1 for w in ws if _owner(w) in names and queueing.workload_state(w) != "pending")
        pending = sum(1 for w in ws if _owner(w) in names and queueing.workload_state(w) == "pending")

        def counted(queues: list[dict]) -> bool:  # the ClusterQueue's status has caught up with the Workloads
            for q in queues:
                if q["metadata"]["name"] == CLUSTER_QUEUES[namespace]:
                    status = q.get("status") or {}
                    used = sum(_gpus(r.get("total", 0)) for f in status.get("flavorsUsage") or []
                               for r in f.get("resources") or [] if r.get("name") == GPU_RESOURCE)
                    return used == reserved and status.get("pendingWorkloads", 0) == pending
            return True  # no such ClusterQueue: nothing to wait for

        _watch_custom(cluster, "clusterqueues", None, counted, timeout=10)
        return board(cluster)
    except InstructorDemonstration as exc:
        return f"⚠ {exc}"
    except Exception as exc:  # noqa: BLE001 - a lab helper never raises at the learner
        return f"⚠ The backlog was not submitted: {explain(exc)}"


def board(cluster: Cluster | None = None) -> str:
    """The two ClusterQueues as a small table: Workloads pending, admitted and finished, GPUs in use
    and borrowed (``kubectl get clusterqueues -o wide``). Built on
    :func:`whyk8s.lessons.queueing.queue_board`."""
    try:
        df = queueing.queue_board(cluster if cluster is not None else connect(create_namespace=False))
    except Exception as exc:  # noqa: BLE001
        return f"⚠ {explain(exc)}"
    df = df[(df["resource"] == GPU_RESOURCE) & df["cluster_queue"].isin(list(CLUSTER_QUEUES.values()))]
    if df.empty:
        return "no ClusterQueue of this lab yet"
    cols = ["cluster_queue", "cohort", "pending", "admitted", "finished", "nominal", "used", "borrowed"]
    df = df[cols].sort_values("cluster_queue").astype({"nominal": int, "used": int, "borrowed": int})
    return df.rename(columns={"nominal": "nominal GPUs", "used": "GPUs used", "borrowed": "GPUs borrowed"}) \
        .to_string(index=False)


def _stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _drain(cluster: Cluster, namespace: str, timeout: float) -> tuple[int, int]:
    """Let team B's backlog finish: remove the hold of each backlog pod as it appears (its training
    "ends"; kwok then marks the pod Succeeded and Kueue admits the next Job), watching the pods until
    one pod of every backlog Job succeeded or ``timeout`` s pass. Returns (backlog Jobs whose pod
    succeeded, the most backlog pods that existed unfinished at once: the GPUs team B held)."""
    names = set(_backlog_names())
    peak = 0

    def release(kind: str, pod) -> None:
        job = (pod.metadata.labels or {}).get("job-name")
        if kind != "DELETED" and job in names and \
                queueing.HOLD_GATE in [g.name for g in pod.spec.scheduling_gates or []]:
            queueing.release(cluster, job, namespace)

    def finished(pods: dict) -> bool:
        nonlocal peak
        mine = [p for p in pods.values() if (p.metadata.labels or {}).get("job-name") in names]
        peak = max(peak, sum(1 for p in mine if p.status.phase not in ("Succeeded", "Failed")))
        return {p.metadata.labels["job-name"] for p in mine if p.status.phase == "Succeeded"} >= names

    pods = watch_until(cluster.core.list_namespaced_pod, namespace, label_selector=cluster.selector,
                       done=finished, on_change=release, timeout=timeout)
    done = {p.metadata.labels.get("job-name") for p in pods.values() if p.status.phase == "Succeeded"}
    return len(done & names), peak


@cluster_check("Step 4: the urgent job is admitted while team B's backlog drains", rights=RIGHTS)
def check_sharing(result: CheckResult, cluster, timeout: float = 60) -> None:
    """Step 4: the Job :data:`URGENT` exists with the course label and the queue label
    ``kueue.x-k8s.io/queue-name: team-queue``, it was created after team B's backlog
    (:func:`submit_backlog`), and Kueue admitted it within :data:`WITHIN` s of its creation
    (its Workload's Admitted condition; waited for until then). Then team B's backlog drains: the
    check lets each backlog Job finish (removes its pod's hold) and watches, at most ``timeout`` s,
    until all :data:`BACKLOG` succeeded, counting the most that held GPUs at once. kubectl:
    ``kubectl get workloads -n team-a``; ``kubectl get clusterqueues``."""
    if not _needs_kueue(result, cluster):
        return
    ns, name = URGENT
    job = read(cluster, "Job", name, ns)
    if job is None:
        elsewhere = find_elsewhere(cluster, name, ns, kinds=("Job",))
        result.wrong(f"there is no Job {name} in namespace {ns}" + (f", but there is {elsewhere}" if elsewhere else " yet"))
        return
    label_finding(result, f"the Job {name}", job.metadata.labels)
    queue = (job.metadata.labels or {}).get(QUEUE_LABEL)
    if queue is None:
        on_template = QUEUE_LABEL in ((job.spec.template.metadata.labels or {}) if job.spec.template.metadata else {})
        result.wrong(f"the Job {name} has no label {QUEUE_LABEL}: Kueue leaves it alone (the course's Kueue manages "
                     f"only Jobs that name a LocalQueue), so no queue and no quota govern it; add "
                     f"{QUEUE_LABEL}: {LOCAL_QUEUE} under the Job's metadata.labels"
                     + (" (it is on the Pod template, where Kueue does not read it)" if on_template else ""))
        return
    if queue != LOCAL_QUEUE:
        result.wrong(f"the Job {name}'s label {QUEUE_LABEL} is {queue!r}; the LocalQueue in {ns} is {LOCAL_QUEUE!r}")
        return
    result.ok(f"the Job {name} is sent to the LocalQueue {LOCAL_QUEUE} (label {QUEUE_LABEL})")
    gpus = sum(_gpus(((c.resources.limits or {}) if c.resources else {}).get(GPU_RESOURCE, 0))
               for c in job.spec.template.spec.containers)
    if gpus != 1:
        result.wrong(f"the Job {name}'s container asks for {gpus} {GPU_RESOURCE} (resources.limits); the task asks for 1")
    backlog_ns = TEAMS[1]
    backlog = [w for w in _custom(cluster).list_namespaced_custom_object(GROUP, VERSION, backlog_ns,
                                                                         "workloads")["items"]
               if _owner(w) in set(_backlog_names())]
    created = job.metadata.creation_timestamp
    if len(backlog) < BACKLOG or any(_stamp(w["metadata"]["creationTimestamp"]) > created for w in backlog):
        result.wrong(f"team B's backlog was not waiting when {name} was created: run the submit_backlog() cell "
                     f"first, then (after the reset() cell and steps 1 to 3) create {name} again")
        return
    # the urgent Workload: wait until it is admitted, at most until WITHIN s after the Job's creation
    left = WITHIN - (datetime.now(timezone.utc) - created).total_seconds()

    def urgent(ws):
        return [w for w in ws if _owner(w) == name]

    ws = urgent(_watch_workloads(cluster, ns, lambda ws: any(queueing.workload_state(w) in ("admitted", "finished")
                                                              for w in urgent(ws)), timeout=max(0.0, left)))
    admitted = _condition(ws[0], "Admitted") if ws else None
    if admitted is not None and admitted.get("status") == "True":
        seconds = (_stamp(admitted["lastTransitionTime"]) - created).total_seconds()
        if seconds <= WITHIN:
            result.ok(f"Kueue admitted {name} {seconds:.0f} s after it was created (the task: within {WITHIN} s)")
        else:
            result.wrong(f"Kueue admitted {name} only {seconds:.0f} s after it was created; the task asks for "
                         f"{WITHIN} s: team B held the GPUs team A needed")
    else:
        why = (_condition(ws[0], "QuotaReserved") or {}).get("message") if ws else None
        result.wrong(f"Kueue had not admitted {name} {WITHIN} s after it was created"
                     + (f"; Kueue says: {why}" if why else "; Kueue made no Workload for it")
                     + ". Does team B borrow the GPU team A needs? (step 2, borrowingLimit)")
    succeeded, peak = _drain(cluster, backlog_ns, timeout)
    limit = NOMINAL[CLUSTER_QUEUES[backlog_ns]] + BORROWING_LIMIT[CLUSTER_QUEUES[backlog_ns]]
    if succeeded == BACKLOG:
        result.ok(f"team B's backlog drained: all {BACKLOG} jobs finished")
    else:
        result.wrong(f"team B's backlog did not drain within {timeout:g} s: {succeeded} of {BACKLOG} jobs finished "
                     f"(board() shows where the others wait)")
    if peak > limit:
        result.wrong(f"team B held {peak} GPUs at once while draining; with the borrowing limit it may hold at most "
                     f"{limit}")


# -- reset --------------------------------------------------------------------------------------------

def _left_alone_kueue(cluster: Cluster) -> list[str]:
    """The Kueue objects of the task that exist without the course label: one sentence each, with the
    lines that delete them by hand."""
    refs = [("ResourceFlavor", FLAVOR, None)] + [("ClusterQueue", q, None) for q in CLUSTER_QUEUES.values()]
    refs += [("LocalQueue", LOCAL_QUEUE, team) for team in TEAMS]
    out = []
    for kind, name, namespace in refs:
        obj = _read_kueue(cluster, kind, name, namespace)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            continue
        if namespace is not None:
            ns = read(cluster, "Namespace", namespace)
            if ns is not None and (ns.metadata.labels or {}).get(PART_OF_LABEL[0]) == PART_OF_LABEL[1]:
                continue  # goes with its namespace
        if (obj["metadata"].get("labels") or {}).get(PART_OF_LABEL[0]) == PART_OF_LABEL[1]:
            continue
        call, kubectl = _delete_lines(kind, name, namespace)
        where = f"{namespace}/" if namespace else ""
        out.append(f"{kind} {where}{name} has no label {cluster.selector}, so the reset left it alone; if it is "
                   f"yours to delete, run {call} ({kubectl})")
    return out


def kept_flavors(cluster: Cluster) -> dict[str, list[str]]:
    """The course-labelled ResourceFlavors that a ClusterQueue without the course label names:
    flavor → those ClusterQueues. A reset leaves them alone: Kueue keeps a flavor while a
    ClusterQueue uses it, so deleting it would only wait."""
    labelled = {f["metadata"]["name"] for f in _custom(cluster).list_cluster_custom_object(
        GROUP, VERSION, "resourceflavors", label_selector=cluster.selector)["items"]}
    out: dict[str, list[str]] = {}
    for cq in _list_kueue(cluster, "ClusterQueue"):
        if (cq["metadata"].get("labels") or {}).get(PART_OF_LABEL[0]) == PART_OF_LABEL[1]:
            continue
        for group in (cq.get("spec") or {}).get("resourceGroups") or []:
            for flavor in group.get("flavors") or []:
                if flavor.get("name") in labelled:
                    out.setdefault(flavor["name"], []).append(cq["metadata"]["name"])
    return out


def delete_kueue_objects(cluster: Cluster, timeout: float = 60) -> dict[str, int]:
    """Delete the course-labelled LocalQueues (in the course's namespaces only), ClusterQueues and
    ResourceFlavors, and wait until they are gone (Kueue removes a ClusterQueue's finalizer once no
    admitted Workload uses it, and a ResourceFlavor's once no ClusterQueue names it). A labelled
    ResourceFlavor that a ClusterQueue without the course label names is left alone (deleting it
    would wait forever): :func:`kept_flavors` says which. Returns how many of each kind were deleted
    (``{"ClusterQueue": 2, ...}``); nothing when Kueue is not installed. Raises
    :class:`~whyk8s.errors.WaitTimeoutError` naming what is left after ``timeout`` seconds. kubectl:
    ``kubectl delete localqueues -n <ns> -l app.kubernetes.io/part-of=whyk8s`` in each course
    namespace, then ``kubectl delete clusterqueues,resourceflavors -l app.kubernetes.io/part-of=whyk8s``."""
    from whyk8s.errors import WaitTimeoutError
    if not _kueue_installed(cluster):
        return {}
    api = _custom(cluster)
    counts: dict[str, int] = {}
    namespaces = set(objects.course_namespaces(cluster))
    kept = set(kept_flavors(cluster))

    def ours() -> list[tuple[str, dict]]:
        found = []
        for kind in ("LocalQueue", "ClusterQueue", "ResourceFlavor"):  # users before what they use
            for obj in api.list_cluster_custom_object(GROUP, VERSION, _KUEUE_KINDS[kind],
                                                      label_selector=cluster.selector)["items"]:
                ns = obj["metadata"].get("namespace")
                if kind == "ResourceFlavor" and obj["metadata"]["name"] in kept:
                    continue
                if ns is None or ns in namespaces:
                    found.append((kind, obj))
        return found

    for kind, obj in ours():
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            continue
        try:
            if meta.get("namespace"):
                api.delete_namespaced_custom_object(GROUP, VERSION, meta["namespace"], _KUEUE_KINDS[kind], meta["name"])
            else:
                api.delete_cluster_custom_object(GROUP, VERSION, _KUEUE_KINDS[kind], meta["name"])
        except client.ApiException as exc:
            if exc.status != 404:
                raise
            continue
        counts[kind] = counts.get(kind, 0) + 1
    deadline = time.monotonic() + timeout
    while (left := ours()):
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"Kueue objects not deleted within {timeout:.0f} s: "
                                   + ", ".join(f"{k} {o['metadata']['name']}" for k, o in left)
                                   + (" (is Kueue running? it releases their finalizers)" if kueue.pid() is None
                                      else ""))
        time.sleep(0.2)
    return counts


def reset(timeout: float = 120) -> ResetResult:
    """Delete every course-labelled object of this lab and wait until it is gone: the Jobs and the team
    namespaces (with their LocalQueues and Workloads), as every lab's reset does
    (:func:`whyk8s.labs.reset.reset_lab`), then the labelled Kueue objects:
    :func:`delete_kueue_objects`. A namespace, Job, ResourceFlavor, ClusterQueue or LocalQueue of the
    task without the course label is left alone and named, with the lines that delete it. Returns
    what was removed ("Lab 7 reset: done")."""
    named = [("Namespace", None, team) for team in TEAMS] + [("Job", *URGENT)]
    named += [("Job", TEAMS[1], n) for n in _backlog_names()]
    result = reset_lab("Lab 7 reset", named, timeout=timeout, rights=RIGHTS)
    if not result.ran:
        return result

    @never_raise("Lab 7 reset", ResetResult)
    def kueue_part() -> ResetResult:
        cluster = lab_cluster(result)
        if cluster is None or not _kueue_installed(cluster):
            return result
        left = _left_alone_kueue(cluster)
        left += [f"ResourceFlavor {flavor} is used by the ClusterQueue {', '.join(users)}, which has no label "
                 f"{cluster.selector}, so the reset left the flavor alone (Kueue keeps a flavor while a ClusterQueue "
                 f"names it); delete that ClusterQueue first, then run reset() again"
                 for flavor, users in kept_flavors(cluster).items()]
        counts = delete_kueue_objects(cluster, timeout=timeout)
        if counts:
            removed = ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in counts.items())
            result.findings[:] = [f for f in result.findings if not f.message.startswith("nothing to remove")]
            result.ok(f"removed the labelled Kueue objects: {removed}")
        for message in left:
            result.wrong(message)
        return result

    out = kueue_part()
    if out is not result:  # the Kueue part failed: keep what the first part found, add why
        result.findings.extend(out.findings)
        result.ran = False
    return result
