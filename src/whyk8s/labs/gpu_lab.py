"""Lab 4, "Put the GPU job on the GPU node": extended resources, taints and tolerations, events.

The course cluster has one GPU node (label ``whyk8s.io/pool=gpu``, taint
``nvidia.com/gpu=present:NoSchedule``, advertising ``nvidia.com/gpu: 4``). The task:

1. a Job :data:`JOB` in ``whyk8s`` (course-labelled) whose Pod requests one ``nvidia.com/gpu`` and
   tolerates the taint; its container runs :data:`IMAGE` with :data:`COMMAND` (``sleep 5``, so it
   ends on kind, where containers really run); it must run on the GPU node and complete (on kwok a
   Job's Pod is marked Succeeded as soon as it runs: no container runs, images are never pulled);
2. a Job :data:`GREEDY_JOB` asking for more GPUs than the node has (more than 4); it stays Pending,
   and the learner explains why from the scheduler's ``FailedScheduling`` event, either by quoting
   it (``"Insufficient nvidia.com/gpu"``) or by choosing among :data:`CHOICES`.

In a shared cluster (a workshop: one GPU node for the whole room, unless the instructor added GPU
nodes with ``whyk8s workshop up --gpu-nodes K``) other people's pods may hold every GPU while the
learner's Job is checked. A right Job then waits ``Pending`` and the scheduler says only
``Insufficient nvidia.com/gpu``: step 1 accepts that (:func:`waits_only_for_a_gpu`) and says why,
instead of failing a correct answer; it still fails a Pod that waits for any other reason.

Sources: kubernetes.io, "Schedule GPUs", "Taints and Tolerations", "Jobs".
"""

from __future__ import annotations

from kubernetes.utils.quantity import parse_quantity

from whyk8s import GPU_RESOURCE, POOL_LABEL
from whyk8s.labs.checks import MultipleChoice, cluster_check, not_answered, recreate_hint, unanswered
from whyk8s.labs.common import (JOB_COMMAND, JOB_IMAGE, NAMESPACE, find_elsewhere, job_never_ends_hint,
                                label_finding, read, start, wait_for)
from whyk8s.labs.feedback import CheckResult, ResetResult
from whyk8s.labs.reset import reset_lab

__all__ = ["start", "JOB", "GREEDY_JOB", "IMAGE", "COMMAND", "GPU_CAPACITY", "CHOICES", "QUESTION",
           "check_gpu_job", "check_greedy_job", "reset", "waits_only_for_a_gpu"]

#: The Job that should run on the GPU node.
JOB = "gpu-train"
#: The Job that asks for too many GPUs.
GREEDY_JOB = "gpu-greedy"
#: The Jobs' container image and command (a stand-in for training that ends after 5 seconds).
IMAGE = JOB_IMAGE
COMMAND = JOB_COMMAND
#: GPUs the course's GPU node advertises.
GPU_CAPACITY = 4
#: The taint on the GPU node: (key, value, effect).
TAINT = (GPU_RESOURCE, "present", "NoSchedule")
#: The evidence the scheduler gives for the greedy Job (from its FailedScheduling event).
EVIDENCE = "Insufficient nvidia.com/gpu"

#: Step 2's multiple choice: why does the greedy Job's Pod stay Pending?
QUESTION = MultipleChoice(
    choices={
        "a": "The image is still being pulled on the GPU node.",
        "b": "No node has that many nvidia.com/gpu free: the scheduler reports Insufficient nvidia.com/gpu.",
        "c": "The Pod does not tolerate the GPU node's taint.",
        "d": "A Job only starts its Pod after a previous Job has finished.",
    },
    right="b",
    why={
        "a": "an image pull happens after scheduling, on the node; this Pod was never given a node",
        "b": f"the scheduler found no node with enough free {GPU_RESOURCE}",
        "c": "the Pod does tolerate the taint (the Job's spec has it); the event names another reason",
        "d": "Jobs do not wait for each other; each Job's Pods are scheduled on their own",
    },
)
#: The choices of :data:`QUESTION`, letter → statement (shown in the notebook).
CHOICES: dict[str, str] = dict(QUESTION.choices)


def _tolerates(tolerations) -> bool:
    key, value, effect = TAINT
    for t in tolerations or []:
        if t.effect not in (None, "", effect):
            continue
        if t.operator == "Exists" and t.key in (None, "", key):
            return True
        if t.key == key and (t.operator in (None, "Equal")) and t.value == value:
            return True
    return False


def _gpus(container) -> int:
    res = container.resources
    value = ((res.limits or {}).get(GPU_RESOURCE) if res else None) or \
        ((res.requests or {}).get(GPU_RESOURCE) if res else None)
    return int(parse_quantity(value)) if value is not None else 0


def _job(result: CheckResult, cluster, name: str):
    job = read(cluster, "Job", name, NAMESPACE)
    if job is None:
        elsewhere = find_elsewhere(cluster, name, NAMESPACE)
        if elsewhere:
            result.wrong(f"there is no Job {name} in namespace {NAMESPACE}, but there is {elsewhere}; the "
                         f"task asks for a Job (kind Job, apiVersion batch/v1) in namespace {NAMESPACE}")
        else:
            result.wrong(f"there is no Job named {name} in namespace {NAMESPACE} yet: uncomment the "
                         f"batch.create_namespaced_job line in the cell that builds it, then run that cell")
        return None
    result.ok(f"the Job {name} exists in namespace {NAMESPACE}")
    return job


def waits_only_for_a_gpu(pod) -> bool:
    """True when ``pod`` is not placed and the scheduler's only shortfall is GPUs: its
    ``PodScheduled=False`` message says ``Insufficient nvidia.com/gpu`` and no other resource is short
    (no ``Insufficient cpu``, ``memory``, ``pods``) and no node was left out for a taint it does not
    tolerate. A Pod asking for one GPU and tolerating the GPU taint waits so only while every GPU is
    taken. Example message: ``0/4 nodes are available: 4 Insufficient nvidia.com/gpu. preemption: …``."""
    from whyk8s.k8s.pods import pending_reason
    if pod.spec.node_name:
        return False
    reason = pending_reason(pod).split(" preemption:")[0]
    if EVIDENCE not in reason:
        return False
    others = reason.replace(EVIDENCE, "")
    return "Insufficient" not in others and "untolerated taint" not in others


def _job_pods(pods, job) -> list:
    return [p for p in pods if any(r.uid == job.metadata.uid for r in (p.metadata.owner_references or []))]


@cluster_check("Step 1: the GPU Job")
def check_gpu_job(result: CheckResult, cluster, timeout: float = 30) -> None:
    """Step 1: the Job :data:`JOB` requests exactly one ``nvidia.com/gpu``, tolerates
    ``nvidia.com/gpu=present:NoSchedule``, its Pod ran on the node labelled ``whyk8s.io/pool=gpu``,
    and the Job succeeded (``status.succeeded`` ≥ 1, watched for up to ``timeout`` seconds); or, in a
    shared cluster, the Job is right and its Pod waits only for a free GPU (:func:`waits_only_for_a_gpu`).
    kubectl: ``kubectl get job gpu-train -n whyk8s``; ``kubectl get pods -n whyk8s -o wide``."""
    job = _job(result, cluster, JOB)
    if job is None:
        return
    with recreate_hint(result, "Job", job):
        label_finding(result, f"the Job {JOB}", job.metadata.labels)
        spec = job.spec.template.spec
        gpus = sum(_gpus(c) for c in spec.containers or [])
        if gpus == 1:
            result.ok(f"the Pod template asks for 1 {GPU_RESOURCE}")
        elif gpus == 0:
            result.wrong(f"the Pod template asks for no {GPU_RESOURCE}; put {{'{GPU_RESOURCE}': '1'}} in the "
                         f"container's resources.limits")
        else:
            result.wrong(f"the Pod template asks for {gpus} {GPU_RESOURCE}; the task asks for 1")
        if _tolerates(spec.tolerations):
            result.ok("the Pod template tolerates nvidia.com/gpu=present:NoSchedule")
        else:
            result.wrong("the Pod template has no toleration for the GPU node's taint "
                         "nvidia.com/gpu=present:NoSchedule (key, operator Equal, value, effect)")

    # a Job already found wrong gets a short look, not the full wait (the learner is told at once)
    wait = timeout if not result.problems else min(timeout, 3)
    items = wait_for(cluster.batch.list_namespaced_job,
                     lambda js: bool(js) and (js[0].status.succeeded or 0) >= 1, timeout=wait,
                     namespace=NAMESPACE, field_selector=f"metadata.name={JOB}")
    job = items[0] if items else job
    pods = _job_pods(cluster.core.list_namespaced_pod(NAMESPACE, label_selector=f"job-name={JOB}").items, job)
    nodes = {p.spec.node_name for p in pods if p.spec.node_name}
    gpu_nodes = {n.metadata.name for n in cluster.core.list_node(label_selector=f"{POOL_LABEL}=gpu").items}
    if not nodes and pods and not result.problems and all(waits_only_for_a_gpu(p) for p in pods):
        result.ok(f"the Job is right, and its Pod waits Pending only because no GPU is free (the scheduler "
                  f"says {EVIDENCE}): in a shared cluster other people's pods may hold them all, and "
                  f"Kubernetes starts it as soon as one is freed (watch it: kubectl get job {JOB} -n "
                  f"{NAMESPACE} -w)")
        return
    if not nodes:
        result.wrong("the Job's Pod was not placed on any node; read its events "
                     "(core.list_namespaced_event) for the scheduler's reason")
    elif nodes <= gpu_nodes:
        result.ok(f"the Pod ran on the GPU node (label {POOL_LABEL}=gpu)")
    else:
        result.wrong(f"the Pod ran on {', '.join(sorted(nodes - gpu_nodes))}, which is not the node "
                     f"labelled {POOL_LABEL}=gpu")
    if (job.status.succeeded or 0) >= 1:
        result.ok("the Job succeeded (status.succeeded = 1)")
    else:
        result.wrong(f"the Job has not succeeded after {wait:g} s (status.succeeded = "
                     f"{job.status.succeeded or 0}, active = {job.status.active or 0})"
                     f"{job_never_ends_hint(job)}")


def _judge_answer(result: CheckResult, answer) -> None:
    """A quote of the scheduler's reason, or one letter of :data:`QUESTION`."""
    if unanswered(answer):
        result.wrong(f"{not_answered('why_pending')} (a quote of the scheduler's reason, or one letter, "
                     f"{QUESTION.letters}, in quotes)")
        return
    if isinstance(answer, str) and EVIDENCE.lower() in answer.lower():
        result.ok(f"your answer quotes the scheduler's reason: {EVIDENCE}")
        return
    QUESTION.judge(result, "why_pending", answer, other=(
        f"your answer does not name the scheduler's reason; read the FailedScheduling event's message and "
        f"quote the part about {GPU_RESOURCE}, or answer with one letter of gpu_lab.CHOICES"))


@cluster_check("Step 2: a Job that asks for too much")
def check_greedy_job(result: CheckResult, cluster, why_pending, timeout: float = 20) -> None:
    """Step 2: the Job :data:`GREEDY_JOB` asks for more than :data:`GPU_CAPACITY` GPUs, its Pod is
    Pending with no node, a ``FailedScheduling`` event says ``Insufficient nvidia.com/gpu`` (watched
    for up to ``timeout`` s), and ``why_pending`` quotes that reason or picks the right letter of
    :data:`CHOICES`. kubectl: ``kubectl get events -n whyk8s --field-selector reason=FailedScheduling``."""
    job = _job(result, cluster, GREEDY_JOB)
    if job is not None:
        with recreate_hint(result, "Job", job):
            label_finding(result, f"the Job {GREEDY_JOB}", job.metadata.labels)
            gpus = sum(_gpus(c) for c in job.spec.template.spec.containers or [])
            if gpus > GPU_CAPACITY:
                result.ok(f"the Job asks for {gpus} {GPU_RESOURCE}, more than the GPU node's {GPU_CAPACITY}")
            else:
                result.wrong(f"the Job asks for {gpus} {GPU_RESOURCE}; ask for more than {GPU_CAPACITY} (the "
                             f"GPU node's capacity) to see what the scheduler does")
        pods = wait_for(cluster.core.list_namespaced_pod, lambda ps: bool(ps), timeout=timeout,
                        namespace=NAMESPACE, label_selector=f"job-name={GREEDY_JOB}")
        pending = [p for p in pods if p.status.phase == "Pending" and not p.spec.node_name]
        if pods and len(pending) == len(pods):
            result.ok("its Pod is Pending: no node was assigned")
            names = {p.metadata.name for p in pods}
            events = wait_for(
                cluster.core.list_namespaced_event,
                lambda es: any(e.reason == "FailedScheduling" and e.involved_object.name in names for e in es),
                timeout=timeout, namespace=NAMESPACE, field_selector="reason=FailedScheduling")
            failed = [e for e in events if e.involved_object.name in names]
            if any(EVIDENCE in (e.message or "") for e in failed):
                result.ok(f"the scheduler's FailedScheduling event says {EVIDENCE}")
            elif failed:
                result.wrong(f"the scheduler's event gives another reason: {failed[-1].message}")
            else:
                result.wrong("no FailedScheduling event yet; wait a few seconds and check again")
        elif pods:
            result.wrong("the Job's Pod was scheduled; with more GPUs than any node has it should stay Pending")
        else:
            result.wrong("the Job has no Pod yet; wait a moment and check again")
    _judge_answer(result, why_pending)


def reset(timeout: float = 90) -> ResetResult:
    """Delete every course-labelled object (the Jobs :data:`JOB` and :data:`GREEDY_JOB` with their
    Pods among them) and wait until they are gone. A Job (or Pod) of those names without the course
    label is left alone and named, with the lines that delete it. Returns what was removed
    ("Lab 4 reset: done")."""
    return reset_lab("Lab 4 reset", [("Job", NAMESPACE, JOB), ("Job", NAMESPACE, GREEDY_JOB),
                                     ("Pod", NAMESPACE, JOB), ("Pod", NAMESPACE, GREEDY_JOB)], timeout=timeout)
