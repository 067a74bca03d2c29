"""Shared helpers for the cluster labs (2 to 5): connecting, reading objects back, waiting, resetting.

Every check and every reset goes through :func:`whyk8s.k8s.guard.connect`, so it acts only on the course
cluster. The learner's own cells use the official client (``kubernetes.config.load_kube_config``);
:func:`start` gives them the guarded context name to load.

Nothing here raises at the learner: a check wrapped with :func:`never_raise` turns an unreachable
cluster, a foreign context or an unexpected error into one :class:`~whyk8s.labs.feedback.CheckResult`
finding.
"""

from __future__ import annotations

import functools
import time

from kubernetes import client
from kubernetes.utils.quantity import parse_quantity

from whyk8s import COURSE_SELECTOR, DEFAULT_NAMESPACE, PART_OF_LABEL
from whyk8s.notebook.display import install_error_handler
from whyk8s.errors import ClusterUnreachableError, CourseError, NotCourseClusterError, explain
from whyk8s.k8s.informer import object_key
from whyk8s.k8s.waits import watch_until
from whyk8s.k8s.guard import COURSE_CONTEXTS, Cluster, check_context, connect, current_context
from whyk8s.labs.feedback import CheckResult
from whyk8s.k8s import specs
from whyk8s.k8s.specs import DEFAULT_IMAGE

__all__ = ["NAMESPACE", "COURSE_LABEL", "start", "lab_cluster", "never_raise", "unanswered",
           "label_finding", "read", "find_elsewhere", "wait_for", "delete_quietly", "reset_lab",
           "cpu_text", "memory_text", "NOT_ANSWERED", "DEFAULT_IMAGE", "JOB_IMAGE", "JOB_COMMAND",
           "job_never_ends_hint"]

#: The namespace the labs ask learners to use.
NAMESPACE = DEFAULT_NAMESPACE
#: The course label every lab object must carry: ``{"app.kubernetes.io/part-of": "whyk8s"}``.
COURSE_LABEL = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
#: Image and command the labs' Jobs use: they finish after 5 s on kind (where containers really run)
#: and on kwok (which ignores both and marks the Pod Succeeded itself). Same as :mod:`whyk8s.k8s.specs`.
JOB_IMAGE = specs.JOB_IMAGE
JOB_COMMAND = list(specs.JOB_COMMAND)
NOT_ANSWERED = "not answered yet: replace the ... with your answer and run the cell again"

_CONNECTION_ERRORS = {"MaxRetryError", "NewConnectionError", "ProtocolError", "ReadTimeoutError",
                      "ConnectTimeoutError", "SSLError"}


def start(lab: str = "this lab") -> str:
    """Set-up cell of a cluster lab: check that the kubeconfig's current context is the course
    cluster and that it answers, make sure the namespace ``whyk8s`` exists, print one line, and
    return the context name to pass to ``config.load_kube_config(context=...)``.

    Never raises. On a foreign context it prints why and returns ``"kwok-whyk8s"`` (so the learner's
    client loads the course context or fails, never production); on an unreachable cluster it prints
    the command that starts the cluster and returns the context name.
    """
    install_error_handler()  # later cells that need the cluster show the panel, not a traceback
    try:
        context = check_context(current_context())
    except CourseError as exc:
        print(f"⚠ {explain(exc)}")
        return COURSE_CONTEXTS[1]
    try:
        cluster = connect(context=context)
        ready = sum(1 for n in cluster.core.list_node().items
                    if any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or [])))
    except Exception as exc:  # noqa: BLE001 - the set-up cell must not raise
        print(f"⚠ {explain(exc)}")
        return context
    print(f"{lab}: the course cluster answers ({ready} nodes Ready); namespace {NAMESPACE!r} is ready.")
    return context


def lab_cluster(result: CheckResult) -> Cluster | None:
    """A guarded connection for a check, or None after recording why there is none (cluster
    unreachable, foreign context) as a finding in ``result``. Does not create namespaces."""
    try:
        return connect(create_namespace=False)
    except CourseError as exc:
        result.wrong(explain(exc))
    except Exception as exc:  # noqa: BLE001
        result.wrong(explain(exc))
    return None


def never_raise(title: str):
    """Decorator: any exception inside a check becomes one finding of a ``CheckResult(title)``.

    Connection failures say the cluster did not answer; an API refusal gives the API server's
    sentence (:func:`whyk8s.errors.explain`); anything else names the error type."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - a check must never raise at the learner
                result = CheckResult(title)
                if isinstance(exc, (ClusterUnreachableError, NotCourseClusterError)) or \
                        type(exc).__name__ in _CONNECTION_ERRORS or isinstance(exc, (ConnectionError, OSError)):
                    result.wrong(explain(exc) if isinstance(exc, CourseError) else
                                 "The course cluster did not answer. Start it with `whyk8s cluster up` "
                                 "(or `make lab`), then run this cell again.")
                elif isinstance(exc, client.ApiException):
                    result.wrong(explain(exc))
                else:
                    result.wrong(f"the check could not finish ({type(exc).__name__}: {exc}); run this "
                                 f"step's cells again in order")
                return result

        return inner

    return wrap


def job_never_ends_hint(job) -> str:
    """For a Job that has not succeeded: a phrase (starting with ``"; "``) when its container could
    never end by itself on a real cluster: the ``pause`` image (it sleeps forever), or no command
    on an image whose default is a shell waiting for input. Empty string otherwise."""
    for c in (job.spec.template.spec.containers or []):
        image = c.image or ""
        if "/pause:" in image or image.startswith("pause:"):
            return (f"; its container runs {image}, which never exits, so on a real cluster the Job "
                    f"could never succeed: use image {JOB_IMAGE!r} with command {JOB_COMMAND!r}")
        if image.startswith("busybox") and not c.command and not c.args:
            return (f"; its container runs {image} without a command, so on a real cluster it starts a "
                    f"shell and never exits: add command {JOB_COMMAND!r}")
    return ""


def unanswered(value) -> bool:
    """True for the notebook placeholders ``...`` and ``None``."""
    return value is Ellipsis or value is None


def label_finding(result: CheckResult, what: str, labels: dict | None) -> None:
    """Record whether ``labels`` carry the course label ``app.kubernetes.io/part-of=whyk8s``."""
    key, value = PART_OF_LABEL
    have = (labels or {}).get(key)
    if have == value:
        result.ok(f"{what} carries the label {key}={value}")
    elif have is None:
        result.wrong(f"{what} has no label {key}={value}: add it under metadata.labels so the course "
                     f"can find and clean up what you made")
    else:
        result.wrong(f"{what} has the label {key}={have}; the task asks for {key}={value}")


def read(fn, *args):
    """Call a ``read_*`` API function; return the object, or None on 404."""
    try:
        return fn(*args)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def find_elsewhere(cluster: Cluster, name: str, namespace: str, kinds=("Pod", "Deployment", "ReplicaSet",
                                                                      "Job")) -> str | None:
    """Where an object named ``name`` exists when it is not where the task asked: another kind in
    ``namespace`` or the same name in another namespace. Returns a phrase such as
    ``"a Deployment named x in namespace whyk8s"``, or None."""
    readers = {
        "Pod": (cluster.core.read_namespaced_pod, cluster.core.list_pod_for_all_namespaces),
        "Deployment": (cluster.apps.read_namespaced_deployment, cluster.apps.list_deployment_for_all_namespaces),
        "ReplicaSet": (cluster.apps.read_namespaced_replica_set, cluster.apps.list_replica_set_for_all_namespaces),
        "Job": (cluster.batch.read_namespaced_job, cluster.batch.list_job_for_all_namespaces),
        "ResourceQuota": (cluster.core.read_namespaced_resource_quota,
                          cluster.core.list_resource_quota_for_all_namespaces),
        "LimitRange": (cluster.core.read_namespaced_limit_range, cluster.core.list_limit_range_for_all_namespaces),
    }
    found = []
    for kind in kinds:
        read_fn, list_fn = readers[kind]
        try:
            if read(read_fn, name, namespace) is not None:
                found.append(f"a {kind} named {name} in namespace {namespace}")
            for item in list_fn(field_selector=f"metadata.name={name}").items:
                if item.metadata.namespace != namespace:
                    found.append(f"a {kind} named {name} in namespace {item.metadata.namespace}")
        except client.ApiException:
            continue
    return ", ".join(found) or None


def wait_for(list_fn, predicate, timeout: float = 10, **list_kwargs):
    """Watch ``list_fn`` (a ``list_*`` API function, with ``list_kwargs`` such as ``namespace`` or
    ``field_selector``) until ``predicate(items)`` is true for the current list of objects, or
    ``timeout`` seconds pass (:func:`whyk8s.k8s.waits.watch_until`: a watch, never a polling loop).
    Returns the last list of items (client objects)."""
    items = watch_until(list_fn, done=lambda objs: predicate(list(objs.values())), timeout=timeout,
                        key=object_key, **list_kwargs)
    return list(items.values())


def delete_quietly(fn, *args, **kwargs) -> bool:
    """Call a ``delete_*`` API function; True if something was deleted, False on 404."""
    try:
        fn(*args, **kwargs)
        return True
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise


def reset_lab(title: str, names: dict, timeout: float = 90) -> CheckResult:
    """Delete a lab's objects by their known names (``names`` maps a kind to ``[(namespace, name)]``;
    ``namespace`` None for cluster-scoped kinds) whatever their labels, then every object carrying
    the course label (:func:`whyk8s.k8s.objects.cleanup`), and wait until they are gone.

    Returns a CheckResult listing what was removed; an unreachable cluster is one finding."""
    from whyk8s.k8s.objects import cleanup, wait_for_cleanup

    result = CheckResult(title)
    cluster = lab_cluster(result)
    if cluster is None:
        return result
    opts = client.V1DeleteOptions(propagation_policy="Background", grace_period_seconds=0)
    deleters = {
        "Pod": lambda ns, n: cluster.core.delete_namespaced_pod(n, ns, body=opts),
        "Deployment": lambda ns, n: cluster.apps.delete_namespaced_deployment(n, ns, body=opts),
        "ReplicaSet": lambda ns, n: cluster.apps.delete_namespaced_replica_set(n, ns, body=opts),
        "Job": lambda ns, n: cluster.batch.delete_namespaced_job(n, ns, body=opts),
        "ResourceQuota": lambda ns, n: cluster.core.delete_namespaced_resource_quota(n, ns),
        "LimitRange": lambda ns, n: cluster.core.delete_namespaced_limit_range(n, ns),
        "PriorityClass": lambda ns, n: cluster.scheduling.delete_priority_class(n),
        "Namespace": lambda ns, n: cluster.core.delete_namespace(n),
    }
    removed = []
    for kind, refs in names.items():
        for namespace, name in refs:
            if delete_quietly(deleters[kind], namespace, name):
                removed.append(f"{kind} {namespace + '/' if namespace else ''}{name}")
    # pods of unlabelled Deployments/Jobs named above: remove them by the labels their owners set
    for namespace, name in names.get("Deployment", []):
        _delete_pods(cluster, namespace, f"app={name}")
    for namespace, name in names.get("Job", []):
        _delete_pods(cluster, namespace, f"job-name={name}")
    counts = cleanup(cluster, wait=False)
    _wait_names_gone(cluster, names, timeout)
    wait_for_cleanup(cluster, timeout=timeout)
    n_labelled = sum(counts.values())
    if removed:
        result.ok("removed by name: " + ", ".join(removed))
    if n_labelled:
        result.ok(f"removed {n_labelled} course-labelled object(s)")
    if not removed and not n_labelled:
        result.ok("nothing to remove: the course namespace is clean")
    return result


def _delete_pods(cluster: Cluster, namespace: str, selector: str) -> None:
    try:
        cluster.core.delete_collection_namespaced_pod(namespace, label_selector=selector, grace_period_seconds=0)
    except client.ApiException as exc:
        if exc.status != 404:
            raise


def _wait_names_gone(cluster: Cluster, names: dict, timeout: float) -> None:
    readers = {
        "Pod": lambda ns, n: cluster.core.read_namespaced_pod(n, ns),
        "Deployment": lambda ns, n: cluster.apps.read_namespaced_deployment(n, ns),
        "ReplicaSet": lambda ns, n: cluster.apps.read_namespaced_replica_set(n, ns),
        "Job": lambda ns, n: cluster.batch.read_namespaced_job(n, ns),
        "ResourceQuota": lambda ns, n: cluster.core.read_namespaced_resource_quota(n, ns),
        "LimitRange": lambda ns, n: cluster.core.read_namespaced_limit_range(n, ns),
        "PriorityClass": lambda ns, n: cluster.scheduling.read_priority_class(n),
        "Namespace": lambda ns, n: cluster.core.read_namespace(n),
    }
    for kind, refs in names.items():
        for namespace, name in refs:
            if kind == "Namespace":
                wait_for(cluster.core.list_namespace, lambda items: not items, timeout=timeout,
                         field_selector=f"metadata.name={name}")
            elif read(readers[kind], namespace, name) is not None and kind == "Pod":
                wait_for(cluster.core.list_namespaced_pod, lambda items: not items, timeout=timeout,
                         namespace=namespace, field_selector=f"metadata.name={name}")


def cpu_text(millicores: int) -> str:
    """Millicores → ``"250m"`` (or ``"2"`` for whole cores)."""
    return f"{millicores // 1000}" if millicores % 1000 == 0 else f"{millicores}m"


def memory_text(n_bytes: int) -> str:
    """Bytes → ``"64Mi (67,108,864 bytes)"`` style text, binary unit when exact."""
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n_bytes and n_bytes % size == 0:
            return f"{n_bytes // size}{unit} ({n_bytes:,} bytes)"
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n_bytes and n_bytes % size == 0:
            return f"{n_bytes // size}{unit} ({n_bytes:,} bytes)"
    return f"{n_bytes:,} bytes"


def quantity(value) -> float | None:
    """A Kubernetes quantity as a number (cores, bytes, count), or None if it does not parse."""
    try:
        return parse_quantity(str(value))
    except Exception:  # noqa: BLE001
        return None


_ = COURSE_SELECTOR  # re-exported for lab modules
