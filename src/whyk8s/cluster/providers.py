"""Bring the course cluster up and down: kind (a learner with Docker) or kwok (no Docker).

Both providers build the same layout (:mod:`whyk8s.cluster.layout`): a control plane and four workers, two
CPU workers, a tainted GPU worker advertising ``nvidia.com/gpu: 4`` and a high-memory worker.

- **kind** runs real nodes as Docker containers: ``kind create cluster --name whyk8s --config
  clusters/kind.yaml``; context ``kind-whyk8s``.
- **kwok** runs a real control plane (etcd, kube-apiserver, kube-controller-manager,
  kube-scheduler) as local processes with ``kwokctl create cluster --runtime binary``; kwok simulates
  the nodes, so pods are really scheduled and reach Running, but **no container ever runs**.
  Context ``kwok-whyk8s``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass

from kubernetes import client

from whyk8s.errors import ClusterUnreachableError
from whyk8s.k8s.guard import Cluster, check_provider_context, connect
from whyk8s.cluster.layout import load_layout
from whyk8s.paths import repo_root
from whyk8s.k8s.waits import wait_for_leases, wait_for_nodes
from whyk8s.cluster.workers import advertise_extended_resources, restore_nodes

__all__ = ["KindProvider", "KwokProvider", "get_provider", "hand_over_node_leases", "kwok_controller_pid",
           "kwok_controller_identity", "node_leases_need_hand_over",
           "CommandError"]



def cluster_name() -> str:
    """The cluster's name: ``whyk8s``, or ``$WHYK8S_CLUSTER`` (for developers running several test
    clusters side by side; their contexts must then be opted in with ``WHYK8S_ALLOW_CONTEXT``)."""
    return os.environ.get("WHYK8S_CLUSTER", "whyk8s")


def kubeconfig_flags() -> list[str]:
    """``["--kubeconfig", <file>]`` when ``$KUBECONFIG`` names a file (its first), so that kind and
    kwokctl write the course's context where kubectl and the course read it; else ``[]`` (they then
    write ``~/.kube/config``, kubectl's default). Either way they make that context current."""
    first = (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0].strip()
    return ["--kubeconfig", os.path.expanduser(first)] if first else []


def guard(provider) -> None:
    """The guard of every provider act: the context it would create, start, stop or delete must be a
    course context (or opted in by name, :func:`whyk8s.k8s.guard.check_provider_context`)."""
    check_provider_context(provider.context)


class CommandError(RuntimeError):
    """An external command (kind, kwokctl, docker) failed; the message holds its output."""


def _run(cmd: list[str], env: dict | None = None, log=print, check: bool = True,
         timeout: float = 900) -> subprocess.CompletedProcess:
    log("+ " + " ".join(cmd))
    try:
        proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, text=True, capture_output=True,
                              timeout=timeout)
    except FileNotFoundError:
        raise CommandError(f"`{cmd[0]}` is not installed or not on PATH.") from None
    if check and proc.returncode != 0:
        raise CommandError(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{(proc.stderr or proc.stdout)[-3000:]}")
    return proc


def _wait_for_api(context: str, timeout: float = 60) -> Cluster:
    """Connect to ``context`` once its API server answers; retry every second (no watch can run
    before the API server does). Raises ClusterUnreachableError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect(context=context)
        except (ClusterUnreachableError, client.ApiException) as exc:  # not up, or still starting
            if time.monotonic() > deadline:
                raise ClusterUnreachableError(f"The API server of {context} did not become ready: {exc}") from exc
            time.sleep(1)


NODE_LEASE_NAMESPACE = "kube-node-lease"


def kwok_cluster_dir() -> "os.PathLike":
    """kwokctl's folder for the course cluster: ``$KWOK_WORKDIR/clusters/<name>`` (``~/.kwok`` by
    default), holding its kubeconfig, logs and the ``pids/`` of its processes."""
    from pathlib import Path
    return Path(os.environ.get("KWOK_WORKDIR") or "~/.kwok").expanduser() / "clusters" / cluster_name()


def kwok_controller_pid() -> int | None:
    """The process id of the course cluster's running kwok controller, or None if it is not running.
    Only a live process whose executable is kwokctl's own ``bin/kwok-controller`` for this cluster
    counts, so a stale pid file never names somebody else's process."""
    folder = kwok_cluster_dir()
    try:
        pid = int((folder / "pids" / "kwok-controller.pid").read_text().strip())
        exe = os.path.realpath(f"/proc/{pid}/exe")
    except (OSError, ValueError):
        return None
    expected = os.path.realpath(folder / "bin" / "kwok-controller")
    return pid if exe == expected else None


def kwok_controller_identity() -> str | None:
    """The holder identity (``<hostname>_<uuid>``) that the running kwok controller writes into the
    node Leases it holds, read from the ``"id"`` field of its JSON log (kwokctl starts a fresh log with
    each process). None if no controller runs or its log names none."""
    import json
    if kwok_controller_pid() is None:
        return None
    try:
        with open(kwok_cluster_dir() / "logs" / "kwok-controller.log") as f:
            for line in f:  # every line of one process's log carries the same id: take the first
                try:
                    identity = json.loads(line).get("id")
                except (ValueError, AttributeError):
                    continue
                if identity:
                    return identity
    except OSError:
        return None
    return None


def node_leases_need_hand_over(cluster: Cluster) -> bool:
    """True when a layout worker's Lease is missing or held by another holder than the running kwok
    controller (so that controller manages no pods there until the Lease expires). False when all
    are held by it, or when its identity cannot be read (nothing is touched then)."""
    identity = kwok_controller_identity()
    if identity is None:
        return False
    holders = {l.metadata.name: l.spec.holder_identity for l in
               client.CoordinationV1Api(cluster.api).list_namespaced_lease(NODE_LEASE_NAMESPACE).items}
    return any(holders.get(w.name) != identity for w in load_layout().workers)


def _stop_process(pid: int, grace: float = 10) -> bool:
    """SIGTERM ``pid``, SIGKILL it after ``grace`` seconds, and return True once its pid is free
    (False if it still exists ``grace`` seconds after SIGKILL, e.g. a zombie nobody reaps). kwokctl
    starts a component again only when its pid no longer answers signal 0, as a zombie's does."""
    import signal

    def exists() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:  # a process's exit can be neither watched nor waited on
            if not exists():
                return True
            time.sleep(0.1)
    return not exists()


def hand_over_node_leases(cluster: Cluster, start: list[str], env: dict | None = None,
                          timeout: float = 60, log=print) -> None:
    """(kwok) After a restart, give the simulated nodes to the new kwok controller at once.

    kwok manages a node only while it holds the node's Lease in ``kube-node-lease``. A controller
    that was killed (a reboot, an ended session) leaves its Leases behind, and kwokctl's default
    lease lasts 200 s; until they expire, the new controller manages no node and every new pod stays
    Pending. So: stop the new controller, delete the layout workers' Leases (course cluster only),
    start it again with ``start`` (kwokctl starts only what is not running) and watch until each
    worker has a fresh Lease. Raises TimeoutError after ``timeout`` seconds.
    """
    names = {w.name for w in load_layout().workers} & {n.metadata.name for n in cluster.core.list_node().items}
    pid = kwok_controller_pid()
    if pid is not None:
        _stop_process(pid)
    leases = client.CoordinationV1Api(cluster.api)
    t0 = time.time()
    for lease in leases.list_namespaced_lease(NODE_LEASE_NAMESPACE).items:
        if lease.metadata.name in names:
            try:
                leases.delete_namespaced_lease(lease.metadata.name, NODE_LEASE_NAMESPACE)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
    log("handing the simulated nodes to the restarted kwok controller")
    _run(start, env=env, log=lambda *_: None, check=False)

    wait_for_leases(cluster, {(NODE_LEASE_NAMESPACE, n) for n in names}, since=t0, timeout=timeout)


@dataclass
class KindProvider:
    """Real nodes in Docker containers, through the ``kind`` command."""

    name: str = "kind"

    @property
    def context(self) -> str:
        return f"kind-{cluster_name()}"

    def exists(self) -> bool:
        proc = _run(["kind", "get", "clusters"], log=lambda *_: None, check=False)
        return cluster_name() in proc.stdout.split()

    def nodes(self) -> list[str]:
        """The names of the cluster's node containers (``kind get nodes``)."""
        proc = _run(["kind", "get", "nodes", "--name", cluster_name()], log=lambda *_: None, check=False)
        return proc.stdout.split()

    def _stopped_nodes(self) -> list[str]:
        proc = _run(["docker", "ps", "--all", "--filter", f"label=io.x-k8s.kind.cluster={cluster_name()}",
                     "--filter", "status=exited", "--format", "{{.Names}}"], log=lambda *_: None, check=False)
        return proc.stdout.split()

    def up(self, log=print) -> Cluster:
        """Create the cluster (if it does not exist) or start its stopped node containers, advertise
        the GPUs, return a connection."""
        guard(self)
        if not self.exists():
            _run(["kind", "create", "cluster", "--name", cluster_name(), "--config",
                  str(repo_root() / "clusters" / "kind.yaml"), "--wait", "120s", *kubeconfig_flags()], log=log)
        else:
            stopped = self._stopped_nodes()
            if stopped:
                _run(["docker", "start", *stopped], log=log)
        cluster = _wait_for_api(self.context, timeout=120)
        advertise_extended_resources(cluster, log=log)
        return cluster

    def stop(self, log=print) -> None:
        """Stop the node containers (``docker stop``), keeping the cluster; ``up`` starts them again."""
        guard(self)
        nodes = self.nodes()
        if nodes:
            _run(["docker", "stop", *nodes], log=log)
        else:
            log(f"There is no kind cluster {cluster_name()} to stop.")

    def down(self, log=print) -> None:
        """Delete the kind cluster (``kind delete cluster``) and its kubeconfig entries. Refused by the
        guard unless its context is a course context or opted in."""
        guard(self)
        _run(["kind", "delete", "cluster", "--name", cluster_name(), *kubeconfig_flags()], log=log)


@dataclass
class KwokProvider:
    """A real control plane as local processes, nodes simulated by kwok, through ``kwokctl``.

    ``binaries``: ``"build"`` (default where kwokctl is not on PATH) builds every binary from the Go
    module proxy into the cache (:mod:`whyk8s.cluster.controlplane`); ``"download"`` lets a kwokctl on PATH
    download release binaries itself (a learner's laptop with internet).
    """

    name: str = "kwok"
    binaries: str | None = None

    @property
    def context(self) -> str:
        return f"kwok-{cluster_name()}"

    def _mode(self) -> str:
        mode = self.binaries or os.environ.get("WHYK8S_KWOK_BINARIES")
        if mode:
            if mode not in ("build", "download"):
                raise ValueError(f"WHYK8S_KWOK_BINARIES={mode!r}: use 'build' or 'download'.")
            return mode
        from whyk8s.cluster import controlplane
        if not controlplane.missing():
            return "build"  # already built: use the cache
        return "download" if shutil.which("kwokctl") else "build"

    def _kwokctl(self) -> tuple[str, dict, list[str]]:
        from whyk8s.cluster import controlplane
        if self._mode() == "download":
            return "kwokctl", {}, []
        paths = controlplane.build()
        env = {"KWOK_KUBECTL_BINARY": str(paths["kubectl"]),
               "KWOK_KUBE_VERSION": controlplane.versions()["KUBERNETES_VERSION"],
               "PATH": f"{paths['kubectl'].parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        flags = ["--kube-apiserver-binary", str(paths["kube-apiserver"]),
                 "--kube-controller-manager-binary", str(paths["kube-controller-manager"]),
                 "--kube-scheduler-binary", str(paths["kube-scheduler"]),
                 "--etcd-binary", str(paths["etcd"]),
                 "--kwok-controller-binary", str(paths["kwok"])]
        return str(paths["kwokctl"]), env, flags

    def exists(self) -> bool:
        try:
            exe, env, _ = self._kwokctl()
        except Exception:
            return False
        proc = _run([exe, "get", "clusters"], env=env, log=lambda *_: None, check=False)
        return cluster_name() in proc.stdout.split()

    def up(self, log=print) -> Cluster:
        """Start the control plane (if not running), create the simulated nodes of the layout,
        advertise the GPUs, wait for Ready, and return a connection."""
        guard(self)
        exe, env, flags = self._kwokctl()
        running = cluster_name() in _run([exe, "get", "clusters"], env=env, log=lambda *_: None,
                                       check=False).stdout.split()
        create = [exe, "create", "cluster", "--name", cluster_name(), "--runtime", "binary",
                  "--wait", "3m", *kubeconfig_flags(), *flags]
        if running:
            # kwokctl keeps the cluster's files; (re)start its processes (after a reboot, or when a
            # session ended and its processes were killed). If the API server still does not
            # answer, the cluster is created afresh: it holds nothing but course objects.
            controller_was_running = kwok_controller_pid() is not None
            t0 = time.time()
            start = [exe, "start", "cluster", "--name", cluster_name()]
            _run(start, env=env, log=log, check=False)
            try:
                cluster = _wait_for_api(self.context, timeout=60)
            except ClusterUnreachableError:
                log(f"The kwok cluster {cluster_name()} did not come back; creating it afresh.")
                _run([exe, "delete", "cluster", "--name", cluster_name(), *kubeconfig_flags()], env=env,
                     log=log, check=False)
                _run(create, env=env, log=log)
                cluster = _wait_for_api(self.context, timeout=60)
            else:
                if not controller_was_running or node_leases_need_hand_over(cluster):
                    hand_over_node_leases(cluster, start, env, log=log)
        else:
            t0 = time.time()
            _run(create, env=env, log=log)
            cluster = _wait_for_api(self.context, timeout=60)
        # nothing is scheduled until the scheduler and the controller manager hold their leader
        # leases (renewed every 2 s by a live instance)
        wait_for_leases(cluster, {("kube-system", "kube-scheduler"),
                                  ("kube-system", "kube-controller-manager")}, since=t0, log=log)
        restore_nodes(cluster, log=log)
        wait_for_nodes(cluster, [w.name for w in load_layout().workers])
        return cluster

    def stop(self, log=print) -> None:
        """Stop the control plane's processes (``kwokctl stop cluster``), keeping the cluster and its
        objects; ``up`` starts them again (about 20 s, see :func:`hand_over_node_leases`)."""
        guard(self)
        if not self.exists():
            log(f"There is no kwok cluster {cluster_name()} to stop.")
            return
        exe, env, _ = self._kwokctl()
        _run([exe, "stop", "cluster", "--name", cluster_name()], env=env, log=log)

    def down(self, log=print) -> None:
        """Delete the kwok cluster (``kwokctl delete cluster``: its processes, files and kubeconfig
        entries). Refused by the guard unless its context is a course context or opted in."""
        guard(self)
        exe, env, _ = self._kwokctl()
        _run([exe, "delete", "cluster", "--name", cluster_name(), *kubeconfig_flags()], env=env, log=log)


def docker_available() -> bool:
    """True when a Docker engine answers (``docker info``), not just the client."""
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def get_provider(name: str = "auto"):
    """``"kind"``, ``"kwok"`` or ``"auto"`` (kind when Docker and kind are there, else kwok)."""
    if name == "auto":
        name = "kind" if shutil.which("kind") and docker_available() else "kwok"
    if name == "kind":
        return KindProvider()
    if name == "kwok":
        return KwokProvider()
    raise ValueError(f"Unknown provider {name!r}: use kind, kwok or auto.")
