"""Lab 5, "Share the cluster: quotas, priority and preemption": namespaces with ResourceQuotas, PriorityClasses, preemption.

The task:

1. two team namespaces, :data:`TEAMS` (course-labelled), each with a ResourceQuota named
   :data:`QUOTA` whose ``spec.hard`` is :data:`HARD` for that team (CPU compared in millicores,
   memory in bytes, GPUs as a count);
2. two PriorityClasses (course-labelled) with the values of :data:`PRIORITIES`: the high one higher;
3. in ``team-b`` a low-priority Deployment :data:`LOW` holding all 4 GPUs of the GPU node, then in
   ``team-a`` a high-priority Job :data:`HIGH` asking for 4 GPUs: the scheduler evicts the
   low-priority Pod to make room (event reason ``Preempted`` on the victim Pod, message
   "Preempted by pod <uid> on node <node>").

Why a Deployment for the low-priority work: on kwok no container runs and a Job's Pod is marked
Succeeded the moment it runs, so a low-priority *Job* would free its GPUs at once and never be in
the way. A Deployment's Pods stay Running, as a long batch job on a real cluster would. The
Deployment's container runs :data:`LOW_IMAGE` (``pause``: sleeps forever, also on kind); the Job's
runs :data:`JOB_IMAGE` with :data:`JOB_COMMAND` (``sleep 5``), so it ends on kind as well.

Sources: kubernetes.io, "Resource Quotas" and "Pod Priority and Preemption".
"""

from __future__ import annotations

from contextlib import nullcontext

from kubernetes.utils.quantity import parse_quantity

from whyk8s import GPU_RESOURCE
from whyk8s.k8s.rights import Access
from whyk8s.labs.checks import cluster_check, recreate_hint
from whyk8s.labs.common import (DEFAULT_IMAGE, JOB_COMMAND, JOB_IMAGE, find_elsewhere, job_never_ends_hint,
                                label_finding, read, wait_for)
from whyk8s.labs.common import start as lab_start
from whyk8s.labs.common import workshop_line
from whyk8s.labs.feedback import CheckResult, ResetResult
from whyk8s.labs.reset import reset_lab

__all__ = ["start", "RIGHTS", "LOW_IMAGE", "JOB_IMAGE", "JOB_COMMAND", "TEAMS", "QUOTA", "HARD", "PRIORITIES", "LOW", "HIGH",
           "check_teams", "check_priorities", "check_preemption", "reset"]

#: The low-priority Deployment's image: never exits, like a long batch job.
LOW_IMAGE = DEFAULT_IMAGE
#: The team namespaces.
TEAMS = ("team-a", "team-b")
#: The ResourceQuota's name in each team namespace.
QUOTA = "compute"
#: ``spec.hard`` asked for in each team namespace (CPU in cores, memory in bytes via Gi, GPUs).
HARD = {
    "team-a": {"requests.cpu": "2", "requests.memory": "4Gi", f"requests.{GPU_RESOURCE}": "4"},
    "team-b": {"requests.cpu": "1", "requests.memory": "2Gi", f"requests.{GPU_RESOURCE}": "4"},
}
#: PriorityClass name → value (a higher value is more important).
PRIORITIES = {"whyk8s-low": 1000, "whyk8s-high": 100000}
#: The low-priority Deployment: (namespace, name).
LOW = ("team-b", "batch-low")
#: The high-priority Job: (namespace, name).
HIGH = ("team-a", "urgent-train")
#: The cells a learner runs again after a reset in step 3 (its objects need those of steps 1 and 2).
_STEP3_CELLS = "the create cells of steps 1, 2 and 3"
#: What the task needs beyond the learner's own namespace: creating namespaces (with their quotas)
#: and PriorityClasses. A workshop participant lacks them: the lab is the instructor's demonstration.
RIGHTS = (Access("create", "namespaces"), Access("create", "priorityclasses", "scheduling.k8s.io"))


def start(lab: str = "Lab 5") -> str:
    """The set-up cell: :func:`whyk8s.labs.common.start`, plus one line when the kubeconfig's user
    lacks :data:`RIGHTS` (a workshop participant): this lab creates cluster-wide objects, so it is
    the instructor's demonstration, and its checks say so. Returns the context name. Never raises."""
    context = lab_start(lab)
    workshop_line(lab, RIGHTS, "creates namespaces and PriorityClasses, which are cluster-wide")
    return context


def _unit(resource: str) -> str:
    if resource.endswith("cpu"):
        return "millicores"
    if resource.endswith("memory"):
        return "bytes"
    return ""


def _number(resource: str, value) -> int:
    n = parse_quantity(str(value))
    return int(n * 1000) if resource.endswith("cpu") else int(n)


@cluster_check("Step 1: team namespaces with quotas", rights=RIGHTS[:1])
def check_teams(result: CheckResult, cluster) -> None:
    """Step 1: each namespace of :data:`TEAMS` exists with the course label and holds a ResourceQuota
    :data:`QUOTA` (course-labelled) whose ``spec.hard`` equals :data:`HARD` (CPU compared in
    millicores, memory in bytes). A quota found in another namespace, or a LimitRange instead of a
    ResourceQuota, is named. kubectl: ``kubectl get namespace team-a --show-labels``;
    ``kubectl get resourcequota compute -n team-a -o yaml``."""
    for team in TEAMS:
        ns = read(cluster, "Namespace", team)
        if ns is None:
            result.wrong(f"there is no namespace {team} yet: create it (core.create_namespace)")
            continue
        with recreate_hint(result, "Namespace", ns):
            ns_labelled = label_finding(result, f"the namespace {team}", ns.metadata.labels)
        quota = read(cluster, "ResourceQuota", QUOTA, team)
        if quota is None:
            elsewhere = find_elsewhere(cluster, QUOTA, team, kinds=("ResourceQuota", "LimitRange"))
            if elsewhere:
                result.wrong(f"there is no ResourceQuota {QUOTA} in namespace {team}, but there is "
                             f"{elsewhere}; the task asks for a ResourceQuota in namespace {team}")
            else:
                result.wrong(f"there is no ResourceQuota named {QUOTA} in namespace {team} yet")
            continue
        # in a namespace without the course label, the namespace's hint (delete it by hand) covers the quota
        with recreate_hint(result, "ResourceQuota", quota) if ns_labelled else nullcontext():
            label_finding(result, f"the ResourceQuota {team}/{QUOTA}", quota.metadata.labels)
            _hard(result, team, quota.spec.hard or {})


def _hard(result: CheckResult, team: str, hard: dict) -> None:
    """Compare a quota's ``spec.hard`` with :data:`HARD` for ``team``, in millicores and bytes."""
    for resource, want_text in HARD[team].items():
        if resource not in hard:
            result.wrong(f"the quota in {team} sets no {resource}; the task asks for {want_text}")
            continue
        have, want = _number(resource, hard[resource]), _number(resource, want_text)
        unit = _unit(resource)
        if have == want:
            result.ok(f"{team}: {resource} = {want_text}")
        else:
            result.wrong(f"{team}: the quota's {resource} is {hard[resource]} ({have:,} {unit}".rstrip()
                         + f"); the task asks for {want_text} ({want:,} {unit}".rstrip() + ")")
    extra = sorted(set(hard) - set(HARD[team]))
    if extra:
        result.wrong(f"{team}: the quota also limits {', '.join(extra)}, which the task does not ask for")


@cluster_check("Step 2: two PriorityClasses", rights=RIGHTS[1:])
def check_priorities(result: CheckResult, cluster) -> None:
    """Step 2: the PriorityClasses of :data:`PRIORITIES` exist with the course label and their
    values; the high one's value is larger, and it may preempt (``preemptionPolicy`` not Never).
    kubectl: ``kubectl get priorityclass whyk8s-low whyk8s-high --show-labels``."""
    found = {}
    for name, want in PRIORITIES.items():
        pc = read(cluster, "PriorityClass", name)
        if pc is None:
            result.wrong(f"there is no PriorityClass named {name} yet (a cluster-wide object: "
                         f"scheduling.k8s.io/v1, no namespace)")
            continue
        found[name] = pc
        with recreate_hint(result, "PriorityClass", pc, "the create cells of steps 1 and 2"):
            label_finding(result, f"the PriorityClass {name}", pc.metadata.labels)
            if pc.value == want:
                result.ok(f"{name} has value {want:,}")
            else:
                result.wrong(f"{name} has value {pc.value:,}; the task asks for {want:,}")
            if pc.global_default:
                result.wrong(f"{name} is globalDefault: every Pod without a priority class would get it; "
                             f"set globalDefault to False")
            if name == "whyk8s-high" and pc.preemption_policy == "Never":
                result.wrong("whyk8s-high has preemptionPolicy Never, so it will never preempt; leave it at "
                             "PreemptLowerPriority")
    low, high = (found.get(n) for n in PRIORITIES)
    if low is not None and high is not None:
        if high.value > low.value:
            result.ok(f"whyk8s-high ({high.value:,}) is higher than whyk8s-low ({low.value:,}): the scheduler "
                      f"may evict whyk8s-low Pods to place whyk8s-high ones")
        else:
            result.wrong(f"whyk8s-high ({high.value:,}) is not higher than whyk8s-low ({low.value:,})")


@cluster_check("Step 3: preemption", rights=RIGHTS)
def check_preemption(result: CheckResult, cluster, timeout: float = 30) -> None:
    """Step 3: the Deployment :data:`LOW` uses ``whyk8s-low``, the Job :data:`HIGH` uses
    ``whyk8s-high`` and succeeded, and the scheduler's ``Preempted`` event (watched for up to
    ``timeout`` s) shows a Pod of :data:`LOW` evicted by a Pod of :data:`HIGH` (matched by uid).
    kubectl: ``kubectl get events -n team-b --field-selector reason=Preempted``."""
    low_ns, low_name = LOW
    high_ns, high_name = HIGH
    dep = read(cluster, "Deployment", low_name, low_ns)
    if dep is None:
        elsewhere = find_elsewhere(cluster, low_name, low_ns)
        result.wrong(f"there is no Deployment {low_name} in namespace {low_ns}"
                     + (f", but there is {elsewhere}" if elsewhere else " yet"))
    else:
        with recreate_hint(result, "Deployment", dep, _STEP3_CELLS):
            label_finding(result, f"the Deployment {low_name}", dep.metadata.labels)
            pcn = dep.spec.template.spec.priority_class_name
            if pcn == "whyk8s-low":
                result.ok(f"{low_name}'s Pods use the PriorityClass whyk8s-low")
            else:
                result.wrong(f"{low_name}'s Pod template has priorityClassName {pcn!r}; the task asks for "
                             f"'whyk8s-low'")
    job = read(cluster, "Job", high_name, high_ns)
    if job is None:
        elsewhere = find_elsewhere(cluster, high_name, high_ns)
        result.wrong(f"there is no Job {high_name} in namespace {high_ns}"
                     + (f", but there is {elsewhere}" if elsewhere else " yet"))
        return
    with recreate_hint(result, "Job", job, _STEP3_CELLS):
        label_finding(result, f"the Job {high_name}", job.metadata.labels)
        pcn = job.spec.template.spec.priority_class_name
        if pcn == "whyk8s-high":
            result.ok(f"{high_name}'s Pod uses the PriorityClass whyk8s-high")
        else:
            result.wrong(f"{high_name}'s Pod template has priorityClassName {pcn!r}; the task asks for "
                         f"'whyk8s-high'")

    jobs = wait_for(cluster.batch.list_namespaced_job, lambda js: bool(js) and (js[0].status.succeeded or 0) >= 1,
                    timeout=timeout, namespace=high_ns, field_selector=f"metadata.name={high_name}")
    job = jobs[0] if jobs else job
    high_pods = {p.metadata.uid for p in cluster.core.list_namespaced_pod(high_ns).items
                 if any(r.uid == job.metadata.uid for r in (p.metadata.owner_references or []))}
    if (job.status.succeeded or 0) >= 1:
        result.ok(f"the Job {high_name} succeeded")
    else:
        result.wrong(f"the Job {high_name} has not succeeded after {timeout:g} s; read its Pod's events"
                     f"{job_never_ends_hint(job)}")

    events = wait_for(cluster.core.list_namespaced_event,
                      lambda es: any(e.reason == "Preempted" for e in es), timeout=timeout if high_pods else 0,
                      namespace=low_ns, field_selector="reason=Preempted")
    victims = [e for e in events if e.reason == "Preempted" and e.involved_object.kind == "Pod"
               and e.involved_object.name.startswith(low_name + "-")]
    by_high = [e for e in victims if any(uid in (e.message or e.note or "") for uid in high_pods)]
    if by_high:
        result.ok(f"the scheduler preempted a Pod of {low_name} to place the Pod of {high_name} "
                  f"(event reason Preempted)")
    elif victims:
        result.wrong(f"a Pod of {low_name} was preempted, but not by a Pod of the Job {high_name}")
    else:
        result.wrong(f"no Preempted event in namespace {low_ns}: was {low_name} Running on the GPU node "
                     f"(holding all 4 GPUs) before {high_name} was created?")


def reset(timeout: float = 120) -> ResetResult:
    """Delete every course-labelled object and wait until they are gone: the team namespaces (with
    everything in them) and the two PriorityClasses when they carry the course label. A namespace,
    quota, PriorityClass, Deployment or Job of the task without the course label (or in a namespace
    the course did not create) is left alone and named, with the lines that delete it. Returns what
    was removed ("Lab 5 reset: done")."""
    named = [("Namespace", None, team) for team in TEAMS]
    named += [("ResourceQuota", team, QUOTA) for team in TEAMS]
    named += [("PriorityClass", None, name) for name in PRIORITIES]
    named += [("Deployment", *LOW), ("Job", *HIGH)]
    return reset_lab("Lab 5 reset", named, timeout=timeout, rights=RIGHTS)
