"""The kwok provider: a real control plane as local processes, nodes simulated by kwok, through ``kwokctl``.

``kwokctl create cluster --runtime binary`` runs etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and the kwok controller as processes of this machine; context ``kwok-whyk8s``. The
course then creates the layout's workers as Node objects that kwok simulates
(:func:`whyk8s.cluster.workers.restore_nodes`): pods are really scheduled and reach Running, but no
container ever runs.

Where the binaries come from (``WHYK8S_KWOK_BINARIES``): ``build`` builds them from the Go module proxy
into the course's cache (:mod:`whyk8s.cluster.controlplane`); ``download`` lets a kwokctl on PATH
download release binaries. Without the variable: the cache when it is complete, else ``download`` when
kwokctl is on PATH, falling back to ``build`` when kwokctl cannot download (offline, behind a proxy).

Restarts: the kwok controller manages a node only while it holds the node's Lease; one that was killed
leaves its Leases behind for 200 s. :func:`hand_over_node_leases` gives the nodes to the new controller
at once; :func:`kwok_controller_pid`, :func:`kwok_controller_identity` and :func:`stop_process` read and
stop the controller's process (only one whose executable is this cluster's own kwok controller).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kubernetes import client

from whyk8s.cluster import controlplane, karpenter, kueue
from whyk8s.cluster.layout import load_layout
from whyk8s.cluster.providers import (CommandError, act, cluster_name, guard, kubeconfig_flags, make_current,
                                      quiet, run, wait_for_api)
from whyk8s.cluster.workers import restore_nodes
from whyk8s.errors import ClusterUnreachableError
from whyk8s.k8s.guard import Cluster, check_provider_context
from whyk8s.k8s.waits import wait_for_leases, wait_for_nodes

__all__ = ["KwokProvider", "NODE_LEASE_NAMESPACE", "BINARIES_ENV", "kwok_cluster_dir", "kwok_controller_pid",
           "kwok_controller_identity", "node_leases_need_hand_over", "hand_over_node_leases", "stop_process",
           "COMPONENTS"]

NODE_LEASE_NAMESPACE = "kube-node-lease"
#: Environment variable choosing where the control plane's binaries come from: ``build`` or ``download``.
BINARIES_ENV = "WHYK8S_KWOK_BINARIES"
#: The processes kwokctl runs, as named in the cluster's ``bin/`` and ``pids/`` folders.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller")


def kwok_cluster_dir() -> Path:
    """kwokctl's folder for the course cluster: ``$KWOK_WORKDIR/clusters/<name>`` (``~/.kwok`` by
    default), holding its kubeconfig, logs, the ``bin/`` of its components and their ``pids/``."""
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


def kwok_controller_identity(wait: float = 10) -> str | None:
    """The holder identity (``<hostname>_<uuid>``) that the running kwok controller writes into the
    node Leases it holds, read from the ``"id"`` field of its JSON log (kwokctl starts a fresh log with
    each process). A controller started a moment ago may not have written its first line yet: wait up
    to ``wait`` seconds for it. None if no controller runs or its log names none by then."""
    deadline = time.monotonic() + wait
    while kwok_controller_pid() is not None:
        identity = _identity_in_log(kwok_cluster_dir() / "logs" / "kwok-controller.log")
        if identity or time.monotonic() >= deadline:
            return identity
        time.sleep(0.1)
    return None


def _identity_in_log(path: Path) -> str | None:
    """The first ``"id"`` in a kwok controller's JSON log (every line of one process carries the same)."""
    try:
        with open(path) as f:
            for line in f:
                try:
                    identity = json.loads(line).get("id")
                except (ValueError, AttributeError):
                    continue
                if identity:
                    return identity
    except OSError:
        return None
    return None


def _existing_workers(cluster: Cluster) -> set[str]:
    """The layout's workers that have a Node object now."""
    return {w.name for w in load_layout().workers} & {n.metadata.name for n in cluster.core.list_node().items}


def node_leases_need_hand_over(cluster: Cluster) -> bool:
    """True when the Lease of a layout worker that exists is missing or held by another holder than
    the running kwok controller (so that controller manages no pods there until the Lease expires).
    False when all are held by it, or when its identity cannot be read (nothing is touched then)."""
    identity = kwok_controller_identity()
    if identity is None:
        return False
    holders = {lease.metadata.name: lease.spec.holder_identity for lease in
               cluster.coordination.list_namespaced_lease(NODE_LEASE_NAMESPACE).items}
    return any(holders.get(name) != identity for name in _existing_workers(cluster))


def stop_process(pid: int, grace: float = 10) -> bool:
    """SIGTERM ``pid``, SIGKILL it after ``grace`` seconds, and return True once its pid is free
    (False if it still exists ``grace`` seconds after SIGKILL, e.g. a zombie nobody reaps). kwokctl
    starts a component again only when its pid no longer answers signal 0, as a zombie's does.
    Give it only a pid checked to be the course's own (:func:`kwok_controller_pid`)."""

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
        while time.monotonic() < deadline:  # another process's exit can be neither watched nor waited on
            if not exists():
                return True
            time.sleep(0.1)
    return not exists()


def hand_over_node_leases(cluster: Cluster, start: list[str], env: dict | None = None,
                          timeout: float = 60, log: Callable = print) -> None:
    """(kwok) After a restart, give the simulated nodes to the new kwok controller at once.

    kwok manages a node only while it holds the node's Lease in ``kube-node-lease``. A controller
    that was killed (a reboot, an ended session) leaves its Leases behind, and kwokctl's default
    lease lasts 200 s; until they expire, the new controller manages no node and every new pod stays
    Pending. So: stop the new controller, delete the Leases of the layout's workers that exist
    (course cluster only: the guard checks ``cluster.context``), start it again with ``start``
    (kwokctl starts only what is not running) and watch until each of those workers has a fresh
    Lease. Workers without a Node (a session that died before creating them) are left to
    :func:`~whyk8s.cluster.workers.restore_nodes`. Raises WaitTimeoutError after ``timeout`` seconds.
    """
    check_provider_context(cluster.context)
    names = _existing_workers(cluster)
    pid = kwok_controller_pid()
    if pid is not None:
        stop_process(pid)
    t0 = time.time()
    for lease in cluster.coordination.list_namespaced_lease(NODE_LEASE_NAMESPACE).items:
        if lease.metadata.name in names:
            try:
                cluster.coordination.delete_namespaced_lease(lease.metadata.name, NODE_LEASE_NAMESPACE)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
    log("handing the simulated nodes to the restarted kwok controller")
    run(start, env=env, log=quiet, check=False)
    wait_for_leases(cluster, {(NODE_LEASE_NAMESPACE, n) for n in names}, since=t0, timeout=timeout)


BUILD_HINT = (f"To build the control plane from the Go module proxy instead (Go ≥ 1.26; about 10-15 "
              f"minutes once per machine), run `{BINARIES_ENV}=build whyk8s cluster up --provider kwok`.")


@dataclass
class KwokProvider:
    """A real control plane as local processes, nodes simulated by kwok, through ``kwokctl``
    (context ``kwok-<name>``).

    ``binaries``: ``"build"`` or ``"download"`` (see the module docstring); None reads
    ``$WHYK8S_KWOK_BINARIES``, and without it chooses (:meth:`binaries_mode`).
    """

    name: str = "kwok"
    binaries: str | None = None

    @property
    def context(self) -> str:
        """``kwok-whyk8s`` (``kwok-$WHYK8S_CLUSTER``): the context kwokctl writes."""
        return f"kwok-{cluster_name()}"

    def binaries_mode(self) -> tuple[str, bool]:
        """``(mode, chosen)``: where the binaries come from (``"build"`` or ``"download"``), and
        whether the course chose it (True: neither ``binaries`` nor ``$WHYK8S_KWOK_BINARIES`` said)
        rather than the user. Chosen: ``build`` when the cache is complete or kwokctl is not on PATH,
        else ``download``. Raises ValueError for another value."""
        mode = self.binaries or os.environ.get(BINARIES_ENV)
        if mode:
            if mode not in ("build", "download"):
                raise ValueError(f"{BINARIES_ENV}={mode!r}: use 'build' or 'download'.")
            return mode, False
        if not controlplane.missing():
            return "build", True  # already built: use the cache
        return ("download" if shutil.which("kwokctl") else "build"), True

    def kwokctl(self, mode: str | None = None, log: Callable = print) -> tuple[str, dict, list[str]]:
        """``(executable, environment, flags)`` to run kwokctl with the binaries of ``mode`` (default
        :meth:`binaries_mode`): for ``download``, the kwokctl on PATH as it is; for ``build``, the
        cached kwokctl with every component's binary named by a flag (building what is missing,
        which raises RuntimeError with go's message if it fails)."""
        mode = mode or self.binaries_mode()[0]
        if mode == "download":
            return "kwokctl", {}, []
        paths = controlplane.build(log=log)
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
        """True when ``kwokctl get clusters`` lists the course cluster (False when kwokctl cannot run)."""
        try:
            exe, env, _ = self.kwokctl(log=quiet)
        except (CommandError, RuntimeError, ValueError):
            return False
        return cluster_name() in run([exe, "get", "clusters"], env=env, log=quiet, check=False).stdout.split()

    def _create_command(self, exe: str, flags: list[str]) -> list[str]:
        return [exe, "create", "cluster", "--name", cluster_name(), "--runtime", "binary",
                "--wait", "3m", *kubeconfig_flags(), *flags]

    def _binaries_obtained(self) -> bool:
        folder = kwok_cluster_dir() / "bin"
        return all((folder / name).exists() for name in COMPONENTS)

    def _create(self, exe: str, env: dict, flags: list[str], log: Callable) -> None:
        """``kwokctl create cluster``; where kwokctl was left to download release binaries and could
        not, delete the half-made cluster and build them instead (or, if the user chose
        ``download`` or Go is missing, say how to build)."""
        mode, chosen = self.binaries_mode()
        try:
            act(self, self._create_command(exe, flags), env=env, log=log)
            return
        except CommandError as exc:
            if mode != "download" or self._binaries_obtained():
                raise
            failure = exc
        # kwokctl could not get the release binaries (offline, or a proxy it cannot pass)
        act(self, [exe, "delete", "cluster", "--name", cluster_name(), *kubeconfig_flags()], env=env,
            log=quiet, check=False)
        reason = f"{failure}\nkwokctl could not download the control plane's release binaries."
        if not chosen:
            raise CommandError(f"{reason} {BUILD_HINT}")
        if shutil.which("go") is None:
            raise CommandError(f"{reason} Building them needs the Go toolchain (≥ 1.26, "
                               f"https://go.dev/doc/install), which is not installed; install it, then run "
                               f"`{BINARIES_ENV}=build whyk8s cluster up --provider kwok` (or use kind with Docker).")
        log(f"kwokctl could not download the control plane's release binaries; building them from the Go "
            f"module proxy instead ({BINARIES_ENV}=build).")
        try:
            exe, env, flags = self.kwokctl("build", log=log)
        except RuntimeError as exc:
            raise CommandError(f"{reason} Building them instead ({BINARIES_ENV}=build) failed too: {exc}") from None
        act(self, self._create_command(exe, flags), env=env, log=log)

    def up(self, log: Callable = print) -> Cluster:
        """Start the control plane (create the cluster, or start its processes after a reboot or a
        killed session), hand the simulated nodes to the kwok controller, create the layout's workers
        that are missing, advertise the GPUs, wait for every worker to be Ready, make ``kwok-whyk8s``
        the kubeconfig's current context, remove what Kueue and Karpenter installed if their processes no
        longer run (:func:`whyk8s.cluster.kueue.remove_if_stopped`,
        :func:`whyk8s.cluster.karpenter.remove_if_stopped`), and return a connection.

        Refused by the guard unless the context is a course context or opted in. Raises CommandError
        when kwokctl fails (saying how to build the binaries when it could not download them), and
        WaitTimeoutError when the control plane's leader leases or the nodes do not come."""
        guard(self)
        exe, env, flags = self.kwokctl(log=log)
        running = cluster_name() in run([exe, "get", "clusters"], env=env, log=quiet, check=False).stdout.split()
        t0 = time.time()
        if running:
            # kwokctl keeps the cluster's files; (re)start its processes (after a reboot, or when a
            # session ended and its processes were killed). If the API server still does not
            # answer, the cluster is created afresh: it holds nothing but course objects.
            controller_was_running = kwok_controller_pid() is not None
            start = [exe, "start", "cluster", "--name", cluster_name()]
            act(self, start, env=env, log=log, check=False)
            try:
                cluster = wait_for_api(self.context, timeout=60)
            except ClusterUnreachableError:
                log(f"The kwok cluster {cluster_name()} did not come back; creating it afresh.")
                act(self, [exe, "delete", "cluster", "--name", cluster_name(), *kubeconfig_flags()], env=env,
                    log=log, check=False)
                self._create(exe, env, flags, log)
                cluster = wait_for_api(self.context, timeout=60)
            else:
                if not controller_was_running or node_leases_need_hand_over(cluster):
                    hand_over_node_leases(cluster, start, env, log=log)
        else:
            self._create(exe, env, flags, log)
            cluster = wait_for_api(self.context, timeout=60)
        previous = make_current(self.context)
        if previous != self.context:
            log(f"kubeconfig: current context is now {self.context}"
                + (f" (was {previous}: `kubectl config use-context {previous}` switches back)." if previous else "."))
        # nothing is scheduled until the scheduler and the controller manager hold their leader
        # leases (renewed every 2 s by a live instance)
        wait_for_leases(cluster, {("kube-system", "kube-scheduler"),
                                  ("kube-system", "kube-controller-manager")}, since=t0, log=log)
        restore_nodes(cluster, log=log)
        wait_for_nodes(cluster, [w.name for w in load_layout().workers])
        kueue.remove_if_stopped(cluster, log=log)
        karpenter.remove_if_stopped(cluster, log=log)
        return cluster

    def stop(self, log: Callable = print) -> None:
        """Stop the control plane's processes (``kwokctl stop cluster``), keeping the cluster and its
        objects; ``up`` starts them again (about 20 s, see :func:`hand_over_node_leases`). Kueue and
        Karpenter, if the course started them, are stopped and removed first
        (:func:`whyk8s.cluster.kueue.stop`, :func:`whyk8s.cluster.karpenter.stop`). Refused by
        the guard unless the context is a course context or opted in."""
        guard(self)
        if not self.exists():
            log(f"There is no kwok cluster {cluster_name()} to stop.")
            return
        if kueue.pid() is not None:  # its webhooks would outlive it and refuse Jobs after a restart
            kueue.stop(wait_for_api(self.context, timeout=10), log=log)
        if karpenter.pid() is not None:  # its Nodes would keep its finalizer with nobody to release it
            karpenter.stop(wait_for_api(self.context, timeout=10), log=log)
        exe, env, _ = self.kwokctl(log=log)
        act(self, [exe, "stop", "cluster", "--name", cluster_name()], env=env, log=log)

    def down(self, log: Callable = print) -> None:
        """Delete the kwok cluster (``kwokctl delete cluster``: its processes, files and kubeconfig
        entries), and stop Kueue's manager and Karpenter if the course started them. Refused by the
        guard, with nothing run, unless the context is a course context or opted in."""
        guard(self)
        kueue.kill(log=log)  # its objects go with the cluster
        karpenter.kill(log=log)
        exe, env, _ = self.kwokctl(log=log)
        act(self, [exe, "delete", "cluster", "--name", cluster_name(), *kubeconfig_flags()], env=env, log=log)
