"""The kind provider: the course cluster's nodes as Docker containers, through the ``kind`` command.

``kind create cluster --name whyk8s --config clusters/kind.yaml`` builds the layout (a control plane
and four workers, :mod:`whyk8s.cluster.layout`); context ``kind-whyk8s``. Containers really run.

Before creating (or starting) the cluster, :func:`preflight` checks what a multi-node kind cluster
needs on Linux (kind's "Known Issues", *Pod errors due to "too many open files"*): inotify limits
``fs.inotify.max_user_watches`` ≥ 524288 and ``fs.inotify.max_user_instances`` ≥ 512, and a Docker
engine that answers. It stops with the exact ``sysctl`` line that fixes the limits; a failure of
``kind create`` itself carries the same hint when the limits are low or could not be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from whyk8s.cluster.providers import (CommandError, act, cluster_name, docker_available, guard,
                                      kubeconfig_flags, make_current, quiet, run, wait_for_api)
from whyk8s.cluster.workers import advertise_extended_resources
from whyk8s.errors import CourseError
from whyk8s.k8s.guard import Cluster
from whyk8s.paths import repo_root

__all__ = ["KindProvider", "INOTIFY_MINIMUMS", "inotify_limits", "inotify_shortfall", "sysctl_fix",
           "preflight", "read_proc"]

#: What a multi-node kind cluster needs (kind's Known Issues page), by sysctl name.
INOTIFY_MINIMUMS = {"fs.inotify.max_user_watches": 524288, "fs.inotify.max_user_instances": 512}
KNOWN_ISSUES = "https://kind.sigs.k8s.io/docs/user/known-issues/#pod-errors-due-to-too-many-open-files"


def read_proc(path: str) -> str:
    """The text of a file under ``/proc`` (the default reader of :func:`inotify_limits`)."""
    return Path(path).read_text()


def inotify_limits(read: Callable[[str], str] = read_proc) -> dict[str, int | None]:
    """The current value of each of :data:`INOTIFY_MINIMUMS`, read by ``read(path)`` from
    ``/proc/sys/fs/inotify/<name>``; None where it cannot be read (not Linux, or no /proc)."""
    found: dict[str, int | None] = {}
    for name in INOTIFY_MINIMUMS:
        try:
            found[name] = int(read("/proc/sys/" + name.replace(".", "/")).split()[0])
        except (OSError, ValueError, IndexError):
            found[name] = None
    return found


def inotify_shortfall(limits: dict[str, int | None]) -> dict[str, int]:
    """The limits of ``limits`` known to be below what kind needs: sysctl name → the value needed."""
    return {name: need for name, need in INOTIFY_MINIMUMS.items()
            if limits.get(name) is not None and limits[name] < need}


def sysctl_fix(names) -> str:
    """The command that raises the named limits to what kind needs (only those: a higher value
    already set is never lowered), e.g. ``sudo sysctl fs.inotify.max_user_instances=512``."""
    return "sudo sysctl " + " ".join(f"{n}={INOTIFY_MINIMUMS[n]}" for n in INOTIFY_MINIMUMS if n in names)


def _limits_hint(limits: dict[str, int | None]) -> str:
    short = inotify_shortfall(limits)
    if short:
        found = ", ".join(f"{n}={limits[n]} (kind needs ≥ {need})" for n, need in short.items())
        return (f"This machine's inotify limits are too low for a multi-node kind cluster: {found}; its "
                f"nodes then fail with \"too many open files\" ({KNOWN_ISSUES}). Raise them with "
                f"`{sysctl_fix(short)}` (to keep them after a reboot, put the same settings in "
                f"/etc/sysctl.d/99-kind.conf), or use `whyk8s cluster up --provider kwok`.")
    unknown = [n for n, v in limits.items() if v is None]
    if unknown:
        return (f"The inotify limits could not be read; if kind's nodes fail with \"too many open "
                f"files\", raise them with `{sysctl_fix(INOTIFY_MINIMUMS)}` ({KNOWN_ISSUES}).")
    return ""


def preflight(read: Callable[[str], str] = read_proc, docker: Callable[[], bool] = docker_available) -> None:
    """Check what ``kind create cluster`` needs for the course's five nodes, before calling it: a
    Docker engine that answers (``docker()``), and inotify limits (read with ``read(path)``) at least
    :data:`INOTIFY_MINIMUMS`. Raises CourseError with the fix (the exact ``sysctl`` line). Limits
    that cannot be read (macOS, where they live in Docker's VM) are not held against it."""
    if not docker():
        raise CourseError("Docker does not answer (`docker info` failed): kind runs the course's nodes "
                          "as Docker containers. Start Docker (Docker Desktop, or `sudo systemctl start "
                          "docker`), or use `whyk8s cluster up --provider kwok`, which needs no Docker.")
    limits = inotify_limits(read)
    if inotify_shortfall(limits):
        raise CourseError("Not starting kind. " + _limits_hint(limits))


@dataclass
class KindProvider:
    """Real nodes in Docker containers, through the ``kind`` command (context ``kind-<name>``).

    ``read_proc(path)`` reads the inotify limits for :func:`preflight` (a test gives its own)."""

    name: str = "kind"
    read_proc: Callable[[str], str] = field(default=read_proc, repr=False)

    @property
    def context(self) -> str:
        """``kind-whyk8s`` (``kind-$WHYK8S_CLUSTER``): the context kind writes."""
        return f"kind-{cluster_name()}"

    def exists(self) -> bool:
        """True when ``kind get clusters`` lists the course cluster."""
        proc = run(["kind", "get", "clusters"], log=quiet, check=False)
        return cluster_name() in proc.stdout.split()

    def nodes(self) -> list[str]:
        """The names of the cluster's node containers (``kind get nodes``)."""
        proc = run(["kind", "get", "nodes", "--name", cluster_name()], log=quiet, check=False)
        return proc.stdout.split()

    def stopped_nodes(self) -> list[str]:
        """The node containers of the cluster that are stopped (``docker ps --filter status=exited``)."""
        proc = run(["docker", "ps", "--all", "--filter", f"label=io.x-k8s.kind.cluster={cluster_name()}",
                    "--filter", "status=exited", "--format", "{{.Names}}"], log=quiet, check=False)
        return proc.stdout.split()

    def up(self, log: Callable = print) -> Cluster:
        """Create the cluster (``kind create cluster``) if it does not exist, or start its stopped node
        containers (``docker start``); advertise the GPUs; make ``kind-whyk8s`` the kubeconfig's
        current context; return a connection. Refused by the guard unless the context is a course
        context or opted in; stops before kind with the fix when :func:`preflight` fails. Raises
        CommandError (with the inotify hint where it may be the cause) when kind or docker fails."""
        guard(self)
        exists = self.exists()
        stopped = self.stopped_nodes() if exists else []
        if not exists or stopped:
            preflight(self.read_proc)
        if not exists:
            try:
                act(self, ["kind", "create", "cluster", "--name", cluster_name(), "--config",
                           str(repo_root() / "clusters" / "kind.yaml"), "--wait", "120s", *kubeconfig_flags()],
                    log=log)
            except CommandError as exc:
                hint = _limits_hint(inotify_limits(self.read_proc))
                raise CommandError(f"{exc}\n{hint}" if hint else str(exc)) from None
        elif stopped:
            act(self, ["docker", "start", *stopped], log=log)
        previous = make_current(self.context)
        if previous != self.context:
            log(f"kubeconfig: current context is now {self.context}"
                + (f" (was {previous}: `kubectl config use-context {previous}` switches back)." if previous else "."))
        cluster = wait_for_api(self.context, timeout=120)
        advertise_extended_resources(cluster, log=log)
        return cluster

    def stop(self, log: Callable = print) -> None:
        """Stop the node containers (``docker stop``), keeping the cluster; ``up`` starts them again.
        Refused by the guard unless the context is a course context or opted in."""
        guard(self)
        nodes = self.nodes()
        if nodes:
            act(self, ["docker", "stop", *nodes], log=log)
        else:
            log(f"There is no kind cluster {cluster_name()} to stop.")

    def down(self, log: Callable = print) -> None:
        """Delete the kind cluster (``kind delete cluster``: its node containers and its kubeconfig
        entries). Refused by the guard, with nothing run, unless the context is a course context or
        opted in."""
        act(self, ["kind", "delete", "cluster", "--name", cluster_name(), *kubeconfig_flags()], log=log)
