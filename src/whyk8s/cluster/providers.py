"""What the kind and kwok providers share, and the choice between them.

Both providers build the same layout (:mod:`whyk8s.cluster.layout`): a control plane and four workers,
two CPU workers, a tainted GPU worker advertising ``nvidia.com/gpu: 4`` and a high-memory worker.

- **kind** (:mod:`whyk8s.cluster.kind`) runs real nodes as Docker containers: ``kind create cluster
  --name whyk8s --config clusters/kind.yaml``; context ``kind-whyk8s``.
- **kwok** (:mod:`whyk8s.cluster.kwok`) runs a real control plane (etcd, kube-apiserver,
  kube-controller-manager, kube-scheduler) as local processes with ``kwokctl create cluster --runtime
  binary``; kwok simulates the nodes, so pods are really scheduled and reach Running, but **no
  container ever runs**. Context ``kwok-whyk8s``.

Here: the cluster's name (:func:`cluster_name`), where kind and kwokctl write the kubeconfig
(:func:`kubeconfig_flags`), running their commands (:func:`run`, :class:`CommandError`), **the guard of
every provider act** (:func:`guard`; :func:`act` = guard, then run a command that changes something),
making the course's context current as ``kubectl config use-context`` does (:func:`make_current`),
waiting for a new API server (:func:`wait_for_api`), whether Docker answers (:func:`docker_available`)
and :func:`get_provider`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from typing import Callable, Protocol

import yaml
from kubernetes import client

from whyk8s.errors import ClusterUnreachableError, CourseError
from whyk8s.k8s.guard import Cluster, check_provider_context, connect, current_context, kubeconfig_files

__all__ = ["Provider", "CommandError", "run", "act", "cluster_name", "kubeconfig_flags", "guard",
           "make_current", "wait_for_api", "wait_for_authorization", "docker_available", "get_provider", "quiet",
           "ClusterInUseError", "hold_for_tests", "lock_path_for_tests", "TEST_LOCK_ENV"]


def quiet(*_args) -> None:
    """A ``log`` that prints nothing."""


class Provider(Protocol):
    """What :func:`get_provider` returns: ``name`` (``"kind"`` or ``"kwok"``), ``context`` (the
    kubeconfig context it writes), ``up``/``stop``/``down`` (each refused by :func:`guard` unless the
    context is the course's or opted in) and ``exists``."""

    name: str

    @property
    def context(self) -> str: ...

    def exists(self) -> bool: ...

    def up(self, log: Callable = print) -> Cluster: ...

    def stop(self, log: Callable = print) -> None: ...

    def down(self, log: Callable = print) -> None: ...


def cluster_name() -> str:
    """The cluster's name: ``whyk8s``, or ``$WHYK8S_CLUSTER`` (for developers running several test
    clusters side by side; their contexts, ``kind-<name>`` or ``kwok-<name>``, must then be opted in
    with ``WHYK8S_ALLOW_CONTEXT``, or every provider act is refused)."""
    return os.environ.get("WHYK8S_CLUSTER", "whyk8s")


def kubeconfig_flags() -> list[str]:
    """``["--kubeconfig", <file>]`` when ``$KUBECONFIG`` names a file (its first), so that kind and
    kwokctl write the course's context where kubectl and the course read it; else ``[]`` (they then
    write ``~/.kube/config``, kubectl's default). Either way they make that context current."""
    first = (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0].strip()
    return ["--kubeconfig", os.path.expanduser(first)] if first else []


def guard(provider: Provider) -> None:
    """The guard of every provider act: the context the provider would create, start, stop or delete
    must be a course context or opted in by name, and where the kubeconfig already defines it, its
    API server must be on this machine (:func:`whyk8s.k8s.guard.check_provider_context`). Raises
    :class:`~whyk8s.errors.NotCourseClusterError` before anything runs."""
    check_provider_context(provider.context)


class CommandError(CourseError):
    """An external command (kind, kwokctl, docker, go) failed or is missing; the message holds the
    command, its exit code and the end of its output, and where one is known, the fix."""


def run(cmd: list[str], env: dict | None = None, log: Callable = print, check: bool = True,
        timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``cmd`` (an argument list, never a shell) with ``env`` added to the environment and its
    output captured; ``log`` gets ``+ <command>`` first. Returns the CompletedProcess.

    Raises :class:`CommandError` when the program is not on PATH, when it runs longer than
    ``timeout`` seconds, or (with ``check``) when it exits non-zero. Use :func:`act` for a command
    that changes a cluster: it passes the guard first."""
    log("+ " + " ".join(cmd))
    try:
        proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, text=True, capture_output=True,
                              timeout=timeout)
    except FileNotFoundError:
        raise CommandError(f"`{cmd[0]}` is not installed or not on PATH.") from None
    except subprocess.TimeoutExpired:
        raise CommandError(f"`{' '.join(cmd)}` did not finish within {timeout:.0f} s.") from None
    if check and proc.returncode != 0:
        raise CommandError(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{(proc.stderr or proc.stdout)[-3000:]}")
    return proc


def act(provider: Provider, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd``, a command that creates, starts, stops or deletes the provider's cluster (``kind
    create``, ``docker stop``, ``kwokctl delete``, ...), after :func:`guard`: refused, and nothing run,
    unless the provider's context is the course's or opted in. Arguments as :func:`run`."""
    guard(provider)
    return run(cmd, **kwargs)


def _write_yaml(path: str, data: dict) -> None:
    """Replace ``path`` by ``data`` as YAML in one step, keeping the file's permission bits."""
    folder = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o600
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".kubeconfig-")
    try:
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(data, f, sort_keys=False, default_flow_style=False)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def make_current(context: str) -> str | None:
    """Make ``context`` the kubeconfig's current context, as ``kubectl config use-context <context>``
    does, and return the context that was current before (None if none was). Nothing is written when
    it is current already.

    kubectl takes the current context from the first file of ``$KUBECONFIG`` that sets one
    (:func:`whyk8s.k8s.guard.current_context`) and writes ``use-context`` into the first file of the
    list that exists (``~/.kube/config`` without ``$KUBECONFIG``); so does this. Raises CourseError
    when no kubeconfig file defines ``context``."""
    before = current_context()
    if before == context:
        return before
    files = kubeconfig_files()
    defined = set()
    for path in files:
        try:
            with open(path) as f:
                data = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError):
            continue
        defined |= {c.get("name") for c in data.get("contexts") or [] if isinstance(c, dict)}
    if context not in defined:
        raise CourseError(f"No kubeconfig file ({os.pathsep.join(files) or 'none found'}) defines the "
                          f"context {context!r}; run `whyk8s cluster down`, then `whyk8s cluster up`.")
    target = files[0]
    with open(target) as f:
        data = yaml.safe_load(f) or {}
    data["current-context"] = context
    _write_yaml(target, data)
    return before


def wait_for_api(context: str, timeout: float = 60) -> Cluster:
    """Connect to ``context`` (through the guard) once its API server answers: a cluster that is
    starting has no API to watch yet, so this retries every second. Raises ClusterUnreachableError
    after ``timeout`` seconds, and NotCourseClusterError at once for a context the course may not use."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect(context=context)
        except (ClusterUnreachableError, client.ApiException) as exc:  # not up, or still starting
            if time.monotonic() > deadline:
                raise ClusterUnreachableError(f"The API server of {context} did not become ready within "
                                              f"{timeout:.0f} s: {exc}") from exc
            time.sleep(1)


def wait_for_authorization(cluster: Cluster, timeout: float = 60) -> None:
    """After an API server restarts it answers before its authorizer has loaded the RBAC rules, and
    refuses even the cluster admin for a few seconds (403 "cannot list resource nodes"): retry a
    list of Nodes every second until it is allowed. Raises the last ApiException after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            cluster.core.list_node(limit=1)
            return
        except client.ApiException as exc:
            if exc.status not in (403, 429, 500, 503) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def docker_available() -> bool:
    """True when a Docker engine answers (``docker info`` within 20 s), not just the client."""
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def get_provider(name: str = "auto") -> Provider:
    """``"kind"`` (:class:`~whyk8s.cluster.kind.KindProvider`), ``"kwok"``
    (:class:`~whyk8s.cluster.kwok.KwokProvider`) or ``"auto"`` (kind when the ``kind`` command is on
    PATH and a Docker engine answers, else kwok). Raises ValueError for another name."""
    # imported here: kind.py and kwok.py import this module
    from whyk8s.cluster.kind import KindProvider
    from whyk8s.cluster.kwok import KwokProvider

    if name == "auto":
        name = "kind" if shutil.which("kind") and docker_available() else "kwok"
    if name == "kind":
        return KindProvider()
    if name == "kwok":
        return KwokProvider()
    raise ValueError(f"Unknown provider {name!r}: use kind, kwok or auto.")


#: Environment variable a test run sets once it holds :func:`hold_for_tests`' lock, so that what it
#: starts (kernels, a nested pytest) does not try to take the lock again.
TEST_LOCK_ENV = "WHYK8S_TEST_RUN"


class ClusterInUseError(CourseError):
    """Another test run holds the course cluster (see :func:`hold_for_tests`)."""


def lock_path_for_tests(name: str | None = None) -> str:
    """``<tmp>/whyk8s-tests-<cluster name>.lock``: one lock per course cluster name, in the system's
    temporary folder (not the course cache, which a cold run may point elsewhere)."""
    return os.path.join(tempfile.gettempdir(), f"whyk8s-tests-{name or cluster_name()}.lock")


def hold_for_tests(name: str | None = None, what: str = "") -> object | None:
    """Take the course cluster ``name`` (default :func:`cluster_name`) for one test run: an exclusive,
    non-blocking ``flock`` on :func:`lock_path_for_tests`, held until the returned file object is closed or
    the process ends (the kernel drops it). Two test runs on one cluster clean each other's objects
    and restore each other's nodes, so the second is refused instead: raises :class:`ClusterInUseError`
    naming the holder's pid and command (``what``, written into the file). Returns None (and takes
    nothing) when :data:`TEST_LOCK_ENV` says this process descends from the holder."""
    import fcntl
    if os.environ.get(TEST_LOCK_ENV):
        return None
    name = name or cluster_name()
    path = lock_path_for_tests(name)
    f = open(path, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise ClusterInUseError(
            f"Another test run is using the course cluster {name!r} ({holder}); two runs on one cluster "
            f"clean up each other's objects. Wait for it to end, or give this run a cluster of its own "
            f"(WHYK8S_CLUSTER=<name>, with WHYK8S_ALLOW_CONTEXT=kwok-<name> and a KUBECONFIG of its own).") from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}{': ' + what if what else ''}\n")
    f.flush()
    os.environ[TEST_LOCK_ENV] = str(os.getpid())
    return f
