"""What the cluster labs (2 to 5) share: their namespace and label, the set-up cell, a guarded
connection for checks, and reading the learner's objects back.

Every check and every reset goes through :func:`whyk8s.k8s.guard.connect`, so it acts only on the
course cluster. The learner's own cells use the official client (``kubernetes.config.load_kube_config``);
:func:`start` gives them the guarded context name to load. Objects are reached through the one
kind table of :data:`whyk8s.k8s.objects.KINDS`.

The check machinery (one preamble, answers not given yet, multiple choice) is in
:mod:`whyk8s.labs.checks`; resetting a lab in :mod:`whyk8s.labs.reset`.
"""

from __future__ import annotations

from kubernetes import client

from whyk8s import PART_OF_LABEL
from whyk8s.errors import CourseError, explain
from whyk8s.k8s import specs
from whyk8s.k8s.guard import COURSE_CONTEXTS, Cluster, check_context, connect, current_context, default_namespace
from whyk8s.k8s.informer import object_key
from whyk8s.k8s.nodes import is_ready as node_is_ready
from whyk8s.k8s.objects import KINDS
from whyk8s.k8s.specs import DEFAULT_IMAGE
from whyk8s.k8s.waits import watch_until
from whyk8s.labs.feedback import CheckResult
from whyk8s.notebook.display import install_error_handler, notebook_cluster

__all__ = ["NAMESPACE", "COURSE_LABEL", "DEFAULT_IMAGE", "JOB_IMAGE", "JOB_COMMAND", "start", "lab_cluster",
           "label_finding", "read", "find_elsewhere", "wait_for", "delete_commands", "job_never_ends_hint",
           "workshop_line"]

#: The namespace the labs ask learners to use: ``whyk8s``, or in a workshop the participant's own
#: (the namespace of the kubeconfig's workshop context when the lab starts).
NAMESPACE = default_namespace()
#: The course label every lab object must carry: ``{"app.kubernetes.io/part-of": "whyk8s"}``.
COURSE_LABEL = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
#: Image and command the labs' Jobs use: they finish after 5 s on kind (where containers really run)
#: and on kwok (which ignores both and marks the Pod Succeeded itself). Same as :mod:`whyk8s.k8s.specs`.
JOB_IMAGE = specs.JOB_IMAGE
JOB_COMMAND = list(specs.JOB_COMMAND)


def start(lab: str = "this lab") -> str:
    """Set-up cell of a cluster lab: check that the kubeconfig's current context is the course
    cluster and that it answers, make sure the namespace ``whyk8s`` exists (created with the course
    label if missing), print one line, and return the context name to pass to
    ``config.load_kube_config(context=...)``.

    It installs the notebook's error handler (:func:`whyk8s.notebook.display.install_error_handler`):
    afterwards an API refusal in any cell, the learner's own raw-client code included, reads as one
    sentence. When the cluster answers, earlier connection failures are forgotten, so a later typo
    is shown as the learner's own ``NameError``.

    Never raises. On a foreign context it prints why and returns ``"kwok-whyk8s"`` (so the learner's
    client loads the course context or fails, never production); on an unreachable cluster it shows
    the start-the-cluster panel and returns the context name.
    """
    install_error_handler()
    try:
        context = check_context(current_context())
    except CourseError as exc:
        print(f"⚠ {explain(exc)}")
        return COURSE_CONTEXTS[1]
    try:
        cluster = notebook_cluster(NAMESPACE)  # the panel if no cluster answers; creates the namespace
        if not cluster:
            return context
        ready = sum(1 for n in cluster.core.list_node().items if node_is_ready(n))
    except Exception as exc:  # noqa: BLE001 - the set-up cell must not raise
        print(f"⚠ {explain(exc)}")
        return context
    print(f"{lab}: the course cluster answers ({ready} nodes Ready); namespace {NAMESPACE!r} is ready.")
    return context


def workshop_line(lab: str, rights, what: str) -> bool:
    """For a lab whose task needs ``rights`` (:class:`whyk8s.k8s.rights.Access`) beyond the learner's
    namespace: when the kubeconfig's user lacks one of them (a workshop participant), print one line
    saying that ``lab`` ``what`` (e.g. "creates namespaces and PriorityClasses, which are
    cluster-wide"), so in a workshop it is the instructor's demonstration, and return True. Return
    False when the user has them all, or when no cluster answers (the set-up cell said so). Never raises."""
    from whyk8s.k8s.rights import can
    try:
        cluster = connect(create_namespace=False)
        if all(can(cluster, access) for access in rights):
            return False
    except Exception:  # noqa: BLE001 - the set-up cell already said why there is no cluster
        return False
    print(f"{lab} {what}: with your kubeconfig (a workshop account, whose rights end at namespace "
          f"{NAMESPACE}) it is the instructor's demonstration. Follow it on the instructor's screen; "
          f"its cells and checks say so instead of failing.")
    return True


def lab_cluster(result: CheckResult) -> Cluster | None:
    """A guarded connection for a check, or None after recording why there is none (cluster
    unreachable, foreign context, unusable kubeconfig: :func:`whyk8s.errors.explain`) as a finding
    in ``result``. Does not create namespaces."""
    try:
        return connect(create_namespace=False)
    except Exception as exc:  # noqa: BLE001 - explained, whatever it is (errors.classify decides how)
        result.wrong(explain(exc))
    return None


def label_finding(result: CheckResult, what: str, labels: dict | None) -> bool:
    """Record whether ``labels`` carry the course label ``app.kubernetes.io/part-of=whyk8s``;
    return True when they do."""
    key, value = PART_OF_LABEL
    have = (labels or {}).get(key)
    if have == value:
        result.ok(f"{what} carries the label {key}={value}")
        return True
    if have is None:
        result.wrong(f"{what} has no label {key}={value}: add it under metadata.labels so the course "
                     f"can find and clean up what you made")
    else:
        result.wrong(f"{what} has the label {key}={have}; the task asks for {key}={value}")
    return False


def read(cluster: Cluster, kind: str, name: str, namespace: str | None = None):
    """Read the ``kind`` object ``name`` (in ``namespace`` for a namespaced kind); the client object,
    or None when it does not exist (404). Other refusals raise ApiException.
    kubectl: ``kubectl get <kind> <name> -n <namespace>``."""
    entry = KINDS[kind]
    try:
        return entry.fn(cluster, "read")(name, namespace) if entry.namespaced else entry.fn(cluster, "read")(name)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def find_elsewhere(cluster: Cluster, name: str, namespace: str,
                   kinds=("Pod", "Deployment", "ReplicaSet", "Job")) -> str | None:
    """Where an object named ``name`` exists when it is not where the task asked: another kind in
    ``namespace`` or the same name in another namespace (kinds from :data:`whyk8s.k8s.objects.KINDS`).
    Returns a phrase such as ``"a Deployment named x in namespace whyk8s"``, or None."""
    found = []
    for kind in kinds:
        entry = KINDS[kind]
        try:
            if read(cluster, kind, name, namespace) is not None:
                found.append(f"a {kind} named {name} in namespace {namespace}")
            for item in entry.list_all(cluster)(field_selector=f"metadata.name={name}").items:
                if item.metadata.namespace != namespace:
                    found.append(f"a {kind} named {name} in namespace {item.metadata.namespace}")
        except client.ApiException:
            continue
    return ", ".join(found) or None


def wait_for(list_fn, predicate, timeout: float = 10, **list_kwargs) -> list:
    """Watch ``list_fn`` (a ``list_*`` API function, with ``list_kwargs`` such as ``namespace`` or
    ``field_selector``) until ``predicate(items)`` is true for the current list of objects, or
    ``timeout`` seconds pass: a thin wrapper over :func:`whyk8s.k8s.waits.watch_until` (a watch,
    never a polling loop; ``predicate`` sees only the watched objects). Returns the last list of
    items (client objects), whether the predicate held or not."""
    items = watch_until(list_fn, done=lambda objs: predicate(list(objs.values())), timeout=timeout,
                        key=object_key, **list_kwargs)
    return list(items.values())


def delete_commands(kind: str, name: str, namespace: str | None = None) -> tuple[str, str]:
    """The two lines that delete one object by hand: the official client's call, written with the
    API variables of the labs' set-up cell (``core``, ``apps``, ``batch``, ``scheduling``), and the
    ``kubectl delete`` line. A Job is deleted with its Pods (``propagation_policy='Background'``,
    which kubectl uses; the API's default for Jobs would orphan them).

    Example: ``("core.delete_namespaced_pod('first-pod', 'whyk8s')", "kubectl delete pod first-pod -n whyk8s")``.
    """
    entry = KINDS[kind]
    scope = "namespaced_" if entry.namespaced else ""
    args = [repr(name)] + ([repr(namespace)] if entry.namespaced else [])
    if kind == "Job":
        args.append("propagation_policy='Background'")
    call = f"{entry.api}.delete_{scope}{entry.method}({', '.join(args)})"
    kubectl = f"kubectl delete {kind.lower()} {name}" + (f" -n {namespace}" if entry.namespaced else "")
    return call, kubectl


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
