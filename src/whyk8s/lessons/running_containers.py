"""What only running containers show: a crash loop, an image that cannot be pulled, logs, readiness,
and a Service spreading requests over its pods.

On kind each of these really happens (the kubelet starts containers, restarts them, pulls images;
kube-proxy sends traffic). kwok runs no container: it reports pods Running without starting anything,
so there are no logs, no restarts and no traffic; each function that needs a container raises
:class:`NoContainersError` there, and the chapter shows what a recorded kind run saw instead
(:mod:`whyk8s.notebook.recordings`).

One function per API act, as in the ``kubernetes`` client's examples; each docstring gives the
``kubectl`` line that does the same (``-n whyk8s``: everything created carries the course label and
lives in the course namespace). Times are seconds.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from kubernetes import client
from kubernetes.stream import stream

from whyk8s.cluster.workers import is_kwok_cluster
from whyk8s.errors import CourseError
from whyk8s.k8s import objects
from whyk8s.k8s import pods as podfacts
from whyk8s.k8s import specs
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.waits import WaitTimeoutError, watch_until

__all__ = ["IMAGE", "SERVER_PORT", "NoContainersError", "has_containers", "crashing_pod", "create",
           "watch_restarts", "RestartStep", "RestartHistory", "steps_table", "crash_loop", "pod_logs",
           "unpullable_pod", "watch_image_pull", "pull_failure_message", "PullHistory", "image_pull",
           "web_server", "web_service", "endpoints",
           "wait_for_endpoints", "ready_pods", "set_ready", "send_requests", "scale", "requests_table",
           "serve_and_count", "not_ready_and_count", "scale_and_count", "MOMENTS"]

#: The image of every container here: busybox has a shell, ``httpd`` and ``wget``.
IMAGE = "busybox:1.36"
#: The port the web server's containers listen on (the Service's port is 80).
SERVER_PORT = 8080


class NoContainersError(CourseError):
    """The cluster runs no containers (kwok simulates its nodes), so this cannot be shown on it."""


def has_containers(cluster: Cluster) -> bool:
    """True when the cluster's nodes run containers (kind), False on kwok's simulated nodes."""
    return not is_kwok_cluster(cluster)


def _need_containers(cluster: Cluster, what: str) -> None:
    if not has_containers(cluster):
        raise NoContainersError(f"{what} needs a container that really runs; kwok simulates the nodes and "
                                f"runs none. On kind (`whyk8s cluster up --provider kind`) it happens for real.")


def crashing_pod(name: str = "crasher", message: str = "loading model weights from /models/bert.bin",
                 error: str = "No such file or directory") -> client.V1Pod:
    """A Pod whose container prints the time (``date +%T``, so each run's log differs), then two lines,
    and exits with code 1, restartPolicy Always: the kubelet restarts it, with a growing back-off
    (CrashLoopBackOff). kubectl: ``kubectl apply -n whyk8s -f crasher.yaml`` (the chapter shows the
    manifest)."""
    pod = specs.pod(name, image=IMAGE, cpu="50m", memory="32Mi",
                    command=["sh", "-c", f'date +%T; echo "{message}"; echo "error: {error}" >&2; exit 1'])
    return pod


def create(cluster: Cluster, obj):
    """Create a Pod, Deployment or Service of this module in the course namespace, labelled
    (:func:`whyk8s.k8s.objects.create`). kubectl: ``kubectl apply -n whyk8s -f <file>.yaml``."""
    return objects.create(cluster, obj)


@dataclass
class RestartStep:
    """One change of a Pod as ``kubectl get pod -w`` prints it: seconds since the watch began, the
    STATUS column (e.g. ``CrashLoopBackOff``) and the RESTARTS count; with the Pod's ``uid`` (the same
    for as long as it is the same Pod object) and ``node`` (``spec.nodeName``, empty before it is
    scheduled)."""

    t: float
    status: str
    restarts: int
    uid: str = ""
    node: str = ""


@dataclass
class RestartHistory:
    """What :func:`watch_restarts` saw: the steps, and the seconds between one start of the container
    and the next (the kubelet's back-off, growing)."""

    pod: str
    steps: list[RestartStep] = field(default_factory=list)
    #: The namespace the Pod is in (named in the kubectl line shown beside the table).
    namespace: str = "whyk8s"

    @property
    def gaps(self) -> list[float]:
        """Seconds between successive restarts (from the times the count went up)."""
        ups, last = [], None
        for step in self.steps:
            if last is not None and step.restarts > last.restarts:
                ups.append(step.t)
            last = step
        return [round(b - a, 1) for a, b in zip(ups, ups[1:], strict=False)]

    def __str__(self) -> str:
        rows = "\n".join(f"  {s.t:6.1f} s  {s.status:<18} restarts {s.restarts}" for s in self.steps)
        return f"Pod {self.pod}:\n{rows}"

    @property
    def uids(self) -> set[str]:
        """The Pod uids seen (one: the same Pod object throughout)."""
        return {s.uid for s in self.steps if s.uid}

    @property
    def nodes(self) -> set[str]:
        """The nodes seen once the Pod was scheduled (one: it never moved)."""
        return {s.node for s in self.steps if s.node}

    def table(self):
        """The steps as a pandas DataFrame: columns ``t`` (s), ``status``, ``restarts``, ``uid`` (its
        first 8 characters) and ``node``."""
        return steps_table(self.steps, identity=True)

    def _repr_html_(self) -> str:
        return (f"<p>Pod <code>{self.pod}</code>, as <code>kubectl get pod {self.pod} -n {self.namespace} -w "
                f"-o wide</code> "
                f"would print it, with the Pod's uid (t: seconds since the watch began):</p>"
                f"{self.table().to_html(index=False)}"
                f"<p>Seconds between one restart and the next (measured on this run): {self.gaps}</p>")


def steps_table(steps: list[RestartStep], restarts: bool = True, identity: bool = False):
    """``steps`` as a pandas DataFrame, one row per step: ``t`` (s), ``status``, (``restarts``)
    ``restarts`` and (``identity``) ``uid`` (its first 8 characters) and ``node``."""
    import pandas as pd
    columns = ["t", "status", "restarts"] if restarts else ["t", "status"]
    if identity:
        columns += ["uid", "node"]
    return pd.DataFrame([[getattr(s, c)[:8] if c == "uid" else getattr(s, c) for c in columns] for s in steps],
                        columns=columns)


def watch_restarts(cluster: Cluster, name: str, restarts: int = 3, timeout: float = 150) -> RestartHistory:
    """Watch Pod ``name`` until its container has restarted ``restarts`` times; return every change of
    STATUS or RESTARTS with its time, the Pod's uid and its node. Raises NoContainersError on kwok,
    WaitTimeoutError after ``timeout`` seconds. kubectl: ``kubectl get pod crasher -n whyk8s -w -o wide``
    (the uid: ``kubectl get pod crasher -n whyk8s -o jsonpath='{.metadata.uid}'``)."""
    _need_containers(cluster, "A container restart")
    history = RestartHistory(name, namespace=cluster.namespace)
    start = time.monotonic()

    def seen(kind: str, pod) -> None:
        if kind == "DELETED":
            return
        step = RestartStep(round(time.monotonic() - start, 1), podfacts.status(pod), podfacts.restarts(pod),
                           pod.metadata.uid or "", pod.spec.node_name or "")
        if not history.steps or (history.steps[-1].status, history.steps[-1].restarts) != (step.status, step.restarts):
            history.steps.append(step)

    pods = watch_until(cluster.core.list_namespaced_pod, cluster.namespace, field_selector=f"metadata.name={name}",
                       done=lambda objs: any(podfacts.restarts(p) >= restarts for p in objs.values()),
                       on_change=seen, timeout=timeout)
    if not any(podfacts.restarts(p) >= restarts for p in pods.values()):
        raise WaitTimeoutError(f"Pod {name} restarted fewer than {restarts} times in {timeout:.0f} s.")
    return history


def crash_loop(cluster: Cluster, name: str = "crasher", restarts: int = 3, timeout: float = 150) -> RestartHistory:
    """Create :func:`crashing_pod` ``name`` and :func:`watch_restarts` it until it has restarted
    ``restarts`` times (the kubelet's back-off sets how long that takes). Raises NoContainersError on
    kwok, WaitTimeoutError after ``timeout`` seconds. kubectl: ``kubectl apply -n whyk8s -f crasher.yaml``
    then ``kubectl get pod crasher -n whyk8s -w -o wide``."""
    _need_containers(cluster, "A container restart")
    create(cluster, crashing_pod(name))
    return watch_restarts(cluster, name, restarts=restarts, timeout=timeout)


def pod_logs(cluster: Cluster, name: str, previous: bool = False) -> str:
    """The log of Pod ``name``'s container (``previous``: of the run before the last restart, the one
    that crashed; only that one previous run is kept). Raises NoContainersError on kwok. kubectl:
    ``kubectl logs crasher -n whyk8s [--previous]``."""
    _need_containers(cluster, "A container's log")
    return cluster.core.read_namespaced_pod_log(name, cluster.namespace, previous=previous)


def unpullable_pod(name: str = "typo", image: str = "busybox:1.36-typo") -> client.V1Pod:
    """A Pod whose image is a mistyped tag (``busybox:1.36-typo``): its pull fails. kubectl: ``kubectl
    apply -n whyk8s -f typo.yaml`` (the chapter shows the manifest)."""
    return specs.pod(name, image=image, cpu="50m", memory="32Mi", command=["sleep", "3600"])


def watch_image_pull(cluster: Cluster, name: str, timeout: float = 90) -> list[RestartStep]:
    """Watch Pod ``name`` until its STATUS has been both ``ErrImagePull`` and ``ImagePullBackOff``;
    return the changes seen. Raises NoContainersError on kwok, WaitTimeoutError after ``timeout``.
    kubectl: ``kubectl get pod typo -n whyk8s -w``, then ``kubectl describe pod typo -n whyk8s`` for the
    kubelet's Events (:func:`pull_failure_message`)."""
    _need_containers(cluster, "An image pull")
    steps: list[RestartStep] = []
    start = time.monotonic()
    wanted = {"ErrImagePull", "ImagePullBackOff"}

    def seen(kind: str, pod) -> None:
        if kind != "DELETED":
            step = RestartStep(round(time.monotonic() - start, 1), podfacts.status(pod), podfacts.restarts(pod))
            if not steps or steps[-1].status != step.status:
                steps.append(step)

    watch_until(cluster.core.list_namespaced_pod, cluster.namespace, field_selector=f"metadata.name={name}",
                done=lambda _objs: wanted <= {s.status for s in steps}, on_change=seen, timeout=timeout)
    if not wanted <= {s.status for s in steps}:
        raise WaitTimeoutError(f"Pod {name} did not show {' and '.join(sorted(wanted))} within {timeout:.0f} s.")
    return steps


def pull_failure_message(cluster: Cluster, name: str) -> str:
    """The message of the first ``Failed`` Event the kubelet wrote for Pod ``name`` (for a failed pull,
    it says why: no such tag, no credentials, no network…); empty when there is none. kubectl:
    ``kubectl get events -n whyk8s --field-selector involvedObject.name=typo,reason=Failed``."""
    events = cluster.core.list_namespaced_event(
        cluster.namespace, field_selector=f"involvedObject.kind=Pod,involvedObject.name={name},reason=Failed").items

    def when(e):
        return (e.first_timestamp or e.event_time or e.metadata.creation_timestamp, e.metadata.name or "")

    events = [e for e in events if e.message]
    return min(events, key=when).message if events else ""


@dataclass
class PullHistory:
    """What :func:`image_pull` saw: the STATUS changes of Pod ``pod`` and the message of the kubelet's
    first ``Failed`` Event for it."""

    pod: str
    steps: list[RestartStep] = field(default_factory=list)
    message: str = ""
    #: The namespace the Pod is in (named in the kubectl lines shown beside the table).
    namespace: str = "whyk8s"

    def table(self):
        """The steps as a pandas DataFrame: columns ``t`` (s) and ``status``."""
        return steps_table(self.steps, restarts=False)

    def __str__(self) -> str:
        rows = "\n".join(f"  {s.t:6.1f} s  {s.status}" for s in self.steps)
        return f"Pod {self.pod}:\n{rows}\nThe kubelet's first Failed Event: {self.message or '(none)'}"

    def _repr_html_(self) -> str:
        import html
        return (f"<p>Pod <code>{self.pod}</code>, as <code>kubectl get pod {self.pod} -n {self.namespace} "
                f"-w</code> would print "
                f"it (t: seconds since the watch began):</p>{self.table().to_html(index=False)}"
                f"<p>The kubelet's first <code>Failed</code> Event for it (<code>kubectl describe pod {self.pod} "
                f"-n {self.namespace}</code>): <code>{html.escape(self.message or '(none)')}</code></p>")


def image_pull(cluster: Cluster, name: str = "typo", timeout: float = 90) -> PullHistory:
    """Create :func:`unpullable_pod` ``name``, :func:`watch_image_pull` it and read
    :func:`pull_failure_message`; return a :class:`PullHistory` (``.table()``: columns ``t`` in seconds
    since the watch began, ``status``). Raises NoContainersError on kwok, WaitTimeoutError after
    ``timeout``. kubectl: ``kubectl apply -n whyk8s -f typo.yaml``, ``kubectl get pod typo -n whyk8s -w``,
    then ``kubectl describe pod typo -n whyk8s``."""
    _need_containers(cluster, "An image pull")
    create(cluster, unpullable_pod(name))
    steps = watch_image_pull(cluster, name, timeout=timeout)
    return PullHistory(name, steps, pull_failure_message(cluster, name), namespace=cluster.namespace)


def web_server(name: str = "model-server", replicas: int = 3) -> client.V1Deployment:
    """A Deployment of ``replicas`` small web servers (busybox ``httpd`` on :data:`SERVER_PORT`), each
    answering with its own Pod name, and a readiness probe on ``/ready`` (a file each container creates
    at start; :func:`set_ready` removes or restores it). ``trap 'exit 0' TERM``: the shell is PID 1,
    which ignores SIGTERM unless it handles it, so without the trap the container would wait out the
    grace period and be killed; with it, it stops at once. kubectl: ``kubectl apply -n whyk8s -f
    model-server.yaml`` (the manifest: ``kubectl get deploy model-server -n whyk8s -o yaml``)."""
    dep = specs.deployment(name, replicas=replicas, image=IMAGE, cpu="50m", memory="32Mi")
    container = dep.spec.template.spec.containers[0]
    container.command = ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www && echo \"$HOSTNAME\" > /www/index.html "
                         "&& echo ok > /www/ready && httpd -f -p 8080 -h /www & wait"]
    container.ports = [client.V1ContainerPort(container_port=SERVER_PORT, name="http")]
    container.readiness_probe = client.V1Probe(
        http_get=client.V1HTTPGetAction(path="/ready", port=SERVER_PORT), period_seconds=1, failure_threshold=1)
    return dep


def web_service(name: str = "model-server") -> client.V1Service:
    """A ClusterIP Service on port 80 in front of the pods labelled ``app=<name>`` (port 8080).
    kubectl: ``kubectl apply -n whyk8s -f model-server.yaml`` (its second document; or ``kubectl expose
    deployment model-server -n whyk8s --port=80 --target-port=8080``)."""
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1ServiceSpec(selector={"app": name},
                                  ports=[client.V1ServicePort(port=80, target_port=SERVER_PORT, name="http")]))


def _endpoint_rows(slices) -> list[dict]:
    rows = []
    for s in slices:
        for e in s.endpoints or []:
            rows.append({"pod": e.target_ref.name if e.target_ref else "", "node": e.node_name or "",
                         "address": (e.addresses or [""])[0], "ready": bool(e.conditions and e.conditions.ready)})
    return sorted(rows, key=lambda r: r["pod"])


def endpoints(cluster: Cluster, service: str) -> list[dict]:
    """The Service's endpoints from its EndpointSlices: one dict per pod, ``{"pod", "node", "address",
    "ready"}``, sorted by pod name. kubectl: ``kubectl get endpointslices -n whyk8s -l
    kubernetes.io/service-name=model-server -o wide``."""
    return _endpoint_rows(client.DiscoveryV1Api(cluster.api).list_namespaced_endpoint_slice(
        cluster.namespace, label_selector=f"kubernetes.io/service-name={service}").items)


def wait_for_endpoints(cluster: Cluster, service: str, done, timeout: float = 60) -> list[dict]:
    """Watch the Service's EndpointSlices until ``done(rows)`` holds for the rows of :func:`endpoints`;
    return the rows. Raises WaitTimeoutError after ``timeout`` seconds. kubectl: ``kubectl get
    endpointslices -n whyk8s -l kubernetes.io/service-name=model-server -w``."""
    objs = watch_until(client.DiscoveryV1Api(cluster.api).list_namespaced_endpoint_slice, cluster.namespace,
                       label_selector=f"kubernetes.io/service-name={service}",
                       done=lambda objs: done(_endpoint_rows(objs.values())), timeout=timeout)
    rows = _endpoint_rows(objs.values())
    if not done(rows):
        raise WaitTimeoutError(f"The endpoints of Service {service} did not reach the expected state within "
                               f"{timeout:.0f} s: {rows}")
    return rows


def ready_pods(rows: list[dict]) -> set[str]:
    """The pods of endpoint ``rows`` that are ready (traffic goes only to them)."""
    return {r["pod"] for r in rows if r["ready"]}


def set_ready(cluster: Cluster, pod: str, ready: bool) -> None:
    """Make Pod ``pod``'s readiness probe fail (``ready=False``: remove ``/www/ready``) or pass again,
    by running a command in its container. Raises NoContainersError on kwok. kubectl: ``kubectl exec
    -n whyk8s <pod> -- rm /www/ready``, and back: ``kubectl exec -n whyk8s <pod> -- sh -c 'echo ok >
    /www/ready'``."""
    _need_containers(cluster, "Running a command in a container")
    command = ["sh", "-c", "echo ok > /www/ready" if ready else "rm -f /www/ready"]
    stream(cluster.core.connect_get_namespaced_pod_exec, pod, cluster.namespace, command=command,
           stderr=True, stdin=False, stdout=True, tty=False)


def send_requests(cluster: Cluster, service: str, count: int = 30, timeout: float = 60) -> Counter:
    """Send ``count`` HTTP requests to the Service from a Pod in the cluster (busybox ``wget``, one
    after the other) and count which pod answered each. Raises NoContainersError on kwok,
    WaitTimeoutError when the client Pod has not finished within ``timeout``. kubectl: ``kubectl run
    client -n whyk8s --image=busybox:1.36 --rm -i --restart=Never -- sh -c 'for i in $(seq 30); do wget
    -qO- http://model-server; done' | sort | uniq -c``."""
    _need_containers(cluster, "Sending requests")
    name = f"client-{int(time.time() * 1000) % 10**8}"
    pod = specs.pod(name, image=IMAGE, cpu="50m", memory="32Mi",
                    command=["sh", "-c", f"for i in $(seq {int(count)}); do wget -qO- http://{service} || "
                                         f"echo failed; done"])
    pod.spec.restart_policy = "Never"
    objects.create(cluster, pod)
    try:
        pods = watch_until(cluster.core.list_namespaced_pod, cluster.namespace, field_selector=f"metadata.name={name}",
                           done=lambda objs: any(p.status.phase in ("Succeeded", "Failed") for p in objs.values()),
                           timeout=timeout)
        if not any(p.status.phase in ("Succeeded", "Failed") for p in pods.values()):
            raise WaitTimeoutError(f"The client Pod {name} did not finish within {timeout:.0f} s.")
        text = cluster.core.read_namespaced_pod_log(name, cluster.namespace)
    finally:
        objects.delete_pod(cluster, name)
    return Counter(line.strip() for line in text.splitlines() if line.strip())


def scale(cluster: Cluster, deployment: str, replicas: int) -> None:
    """Set the Deployment's replicas (:func:`whyk8s.k8s.objects.scale`). kubectl: ``kubectl scale
    deployment model-server -n whyk8s --replicas=1``."""
    objects.scale(cluster, deployment, replicas)


#: The three moments of the Service demonstration, as the ``moment`` column of :func:`requests_table`.
MOMENTS = ("3 ready pods", "one pod not ready", "after scaling to 1")


def requests_table(rows: list[dict], counts: Counter, moment: str):
    """One row per endpoint of the Service (``rows`` from :func:`endpoints`) with the requests its pod
    answered (``counts`` from :func:`send_requests`), as a pandas DataFrame with columns ``moment``,
    ``pod``, ``node``, ``ready``, ``requests``. An answer from no listed pod (e.g. ``failed``: wget got
    no answer) gets a row of its own with an empty node."""
    import pandas as pd
    listed = {r["pod"] for r in rows}
    table = [[moment, r["pod"], r["node"], r["ready"], counts.get(r["pod"], 0)] for r in rows]
    table += [[moment, who, "", "", n] for who, n in sorted(counts.items()) if who not in listed]
    return pd.DataFrame(table, columns=["moment", "pod", "node", "ready", "requests"])


def serve_and_count(cluster: Cluster, name: str = "model-server", replicas: int = 3, count: int = 30):
    """Create :func:`web_server` (``replicas`` pods) and :func:`web_service` ``name``, wait until all
    its pods are ready endpoints, send ``count`` requests to the Service; return
    :func:`requests_table` (moment ``"3 ready pods"``). Raises NoContainersError on kwok,
    WaitTimeoutError. kubectl: ``kubectl apply -n whyk8s -f model-server.yaml`` (Deployment and Service),
    then the client of :func:`send_requests`."""
    _need_containers(cluster, "Sending requests")
    create(cluster, web_server(name, replicas=replicas))
    create(cluster, web_service(name))
    rows = wait_for_endpoints(cluster, name, lambda rows: len(ready_pods(rows)) == replicas)
    return requests_table(rows, send_requests(cluster, name, count=count), MOMENTS[0])


def not_ready_and_count(cluster: Cluster, name: str = "model-server", pod: str | None = None, count: int = 20):
    """Make ``pod`` (default: the first endpoint by name) fail its readiness probe (:func:`set_ready`),
    wait until the EndpointSlice marks it not ready, send ``count`` requests; then make it ready again
    and wait until it is a ready endpoint once more. Returns :func:`requests_table` of the moment it
    was not ready (``"one pod not ready"``). Raises NoContainersError on kwok, WaitTimeoutError.
    kubectl: ``kubectl exec -n whyk8s <pod> -- rm /www/ready``, the requests, ``kubectl exec -n whyk8s
    <pod> -- sh -c 'echo ok > /www/ready'``."""
    _need_containers(cluster, "Running a command in a container")
    pod = pod or endpoints(cluster, name)[0]["pod"]
    set_ready(cluster, pod, False)
    rows = wait_for_endpoints(cluster, name, lambda rows: pod not in ready_pods(rows), timeout=30)
    table = requests_table(rows, send_requests(cluster, name, count=count), MOMENTS[1])
    set_ready(cluster, pod, True)
    wait_for_endpoints(cluster, name, lambda rows: pod in ready_pods(rows), timeout=30)
    return table


def scale_and_count(cluster: Cluster, name: str = "model-server", replicas: int = 1, count: int = 10):
    """Scale the Deployment to ``replicas``, wait until the Service has exactly that many endpoints, all
    ready, send ``count`` requests; return :func:`requests_table` (moment ``"after scaling to 1"`` for
    1). Raises NoContainersError on kwok, WaitTimeoutError. kubectl: ``kubectl scale deployment
    model-server -n whyk8s --replicas=1``, then the requests."""
    _need_containers(cluster, "Sending requests")
    scale(cluster, name, replicas)
    rows = wait_for_endpoints(cluster, name, lambda rows: len(rows) == replicas and len(ready_pods(rows)) == replicas)
    return requests_table(rows, send_requests(cluster, name, count=count), f"after scaling to {replicas}")
