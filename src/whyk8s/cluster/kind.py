"""The kind provider: the course cluster's nodes as Docker containers, through the ``kind`` command.

``kind create cluster --name whyk8s --config clusters/kind.yaml`` builds the layout (a control plane
and four workers, :mod:`whyk8s.cluster.layout`); context ``kind-whyk8s``. Containers really run.

Before creating (or starting) the cluster, :func:`preflight` checks what a multi-node kind cluster
needs on Linux (kind's "Known Issues", *Pod errors due to "too many open files"*): inotify limits
``fs.inotify.max_user_watches`` ≥ 524288 and ``fs.inotify.max_user_instances`` ≥ 512, and a Docker
engine that answers. It stops with the exact ``sysctl`` line that fixes the limits; a failure of
``kind create`` itself carries the same hint when the limits are low or could not be read.

**The node image** (``$WHYK8S_KIND_NODE_IMAGE``): unset, kind's published image for the course's
Kubernetes minor, pinned by digest (``KIND_NODE_IMAGE`` in ``clusters/controlplane/versions.env``);
``local``, the image :mod:`whyk8s.cluster.nodeimage` builds on this machine without a registry (what CI
uses), after which the course's images are ``kind load``-ed into the nodes; any other value, that image.
An image that is not in Docker's store is pulled before ``kind create`` (:func:`ensure_node_image`); when
that fails (no registry) the error says how to build one here, and ``cluster up --provider auto`` falls
back to kwok.

**What the machine needs** is added to the committed ``clusters/kind.yaml`` at creation
(:func:`cluster_config`), each only where it is needed: on a cgroup v1 host the kubelet must be told
``failCgroupV1: false`` (v1.35+ refuses cgroup v1 otherwise); where the capability bounding set lacks
CAP_SYS_RESOURCE, containerd must not lower ``oom_score_adj`` (``restrict_oom_score_adj = true``); the
locally built image has no kindnetd, so kind's default CNI is off and :func:`configure_pod_network`
gives each node the ``ptp`` CNI plugin with its pod range and a route to every other node's range (what
kindnetd does), again after every restart, since Docker may give a node a new address.

**Node memory from the layout**: each worker's kubelet reads its memory from a ``/proc/meminfo`` the
course writes and mounts (:func:`write_node_sizes`), so the scheduler sees the layout's 16/16/64/256 GiB
on kind as on kwok; CPUs stay the machine's.

``up`` returns when every node is Ready (kind's own ``--wait`` covers only the control plane).
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from whyk8s.cluster.providers import (CommandError, act, cluster_name, docker_available, guard,
                                      kubeconfig_flags, make_current, quiet, run, wait_for_api,
                                      wait_for_authorization)
from whyk8s.cluster import docker, nodeimage
from whyk8s.cluster.layout import load_layout
from whyk8s.cluster.workers import advertise_extended_resources
from whyk8s.errors import CourseError
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.waits import wait_for_nodes
from whyk8s.paths import repo_root

__all__ = ["KindProvider", "INOTIFY_MINIMUMS", "inotify_limits", "inotify_shortfall", "sysctl_fix",
           "preflight", "read_proc", "NODE_IMAGE_ENV", "node_image", "cluster_config", "cni_config",
           "configure_pod_network", "kind_command", "wait_for_system_pods"]

#: Environment variable choosing the node image: unset (kind's published image), ``local`` or a name.
NODE_IMAGE_ENV = "WHYK8S_KIND_NODE_IMAGE"
#: The pod network's CNI configuration file on each node of the locally built image.
CNI_FILE = "/etc/cni/net.d/10-whyk8s-ptp.conflist"

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
                          "as Docker containers. Start Docker (Docker Desktop, `sudo systemctl start "
                          "docker`, or as root `whyk8s kind docker`, which also works without systemd), "
                          "or use `whyk8s cluster up --provider kwok`, which needs no Docker.")
    limits = inotify_limits(read)
    if inotify_shortfall(limits):
        raise CourseError("Not starting kind. " + _limits_hint(limits))


def kind_command() -> str:
    """The ``kind`` program: on PATH, else the one ``whyk8s kind node-image`` built into the cache."""
    return nodeimage.kind_binary() or "kind"


def node_image(log: Callable = print) -> str:
    """The node image to create the cluster from (see the module's text); ``local`` builds it first."""
    choice = os.environ.get(NODE_IMAGE_ENV, "").strip()
    if not choice:
        return nodeimage.published_node_image()
    if choice == "local":
        return nodeimage.build(log=log)
    return choice


class NodeImageUnavailable(CourseError):
    """kind's node image is not in Docker's store and cannot be pulled (e.g. no registry reachable)."""


def ensure_node_image(image: str, log: Callable = print, timeout: float = 1800) -> None:
    """Make sure Docker has ``image`` (a reference, tag or digest): nothing when it is there, else
    ``docker pull``. Raises :class:`NodeImageUnavailable` with the two ways on (build the image on
    this machine, or use kwok) when the pull fails or takes longer than ``timeout`` seconds."""
    if nodeimage.image_exists(image):
        return
    try:
        run(["docker", "pull", image], log=log, timeout=timeout)
    except CommandError as exc:
        reason = str(exc).strip().splitlines()[-1][:300]
        raise NodeImageUnavailable(
            f"kind's node image {image} is not in Docker's store and could not be pulled ({reason}). "
            f"Without a registry, build one on this machine as root: `WHYK8S_KIND_NODE_IMAGE=local whyk8s "
            f"cluster up --provider kind` (about 8 minutes the first time on 2 cores); or use the kwok cluster: "
            f"`whyk8s cluster up --provider kwok`.") from None


def cluster_config(base: dict, *, cgroup_v1: bool, restrict_oom_score_adj: bool, own_cni: bool) -> dict:
    """``base`` (the parsed ``clusters/kind.yaml``) with what this machine needs added (a copy):
    ``cgroup_v1`` → KubeletConfiguration ``failCgroupV1: false``; ``restrict_oom_score_adj`` →
    containerd's CRI setting of that name; ``own_cni`` → ``networking.disableDefaultCNI: true``."""
    config = copy.deepcopy(base)
    if cgroup_v1:
        config.setdefault("kubeadmConfigPatches", []).append(
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailCgroupV1: false\n")
    if restrict_oom_score_adj:
        config.setdefault("containerdConfigPatches", []).append(
            '[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n')
    if own_cni:
        config.setdefault("networking", {})["disableDefaultCNI"] = True
    return config


#: Where, inside a node container, the kubelet (through cAdvisor) reads the machine's memory.
MEMINFO = "/proc/meminfo"
#: The lines written where the host has no ``/proc/meminfo`` to start from (macOS: Docker's VM runs
#: the nodes, the course runs on the Mac); the sizes are replaced by :func:`meminfo_of_size`.
MEMINFO_TEMPLATE = "".join(f"{key}:{0:>16} kB\n" for key in (
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active", "Inactive",
    "SwapTotal", "SwapFree", "Dirty", "Shmem", "Hugepagesize"))


def host_meminfo(path: str = MEMINFO) -> str:
    """The text of this machine's ``/proc/meminfo``, or :data:`MEMINFO_TEMPLATE` where there is none."""
    try:
        return Path(path).read_text()
    except OSError:
        return MEMINFO_TEMPLATE


def meminfo_of_size(memory_bytes: int, host_meminfo: str) -> str:
    """``host_meminfo`` (the text of ``/proc/meminfo``) with ``MemTotal``, ``MemFree`` and
    ``MemAvailable`` set to ``memory_bytes`` (written in KiB, as the kernel does). Raises ValueError
    below 1 MiB or when the text has no ``MemTotal`` line."""
    if memory_bytes < 2**20:
        raise ValueError(f"a node needs at least 1 MiB of memory (got {memory_bytes} bytes)")
    if not re.search(r"^MemTotal:", host_meminfo, re.M):
        raise ValueError("not the text of /proc/meminfo: no MemTotal line")
    kib = memory_bytes // 1024
    return "".join(f"{key}:{kib:>16} kB\n" if key in ("MemTotal", "MemFree", "MemAvailable") else line + "\n"
                   for line in host_meminfo.splitlines() for key in [line.split(":", 1)[0]])


def sized_workers(config: dict, meminfo_files: list[str]) -> dict:
    """``config`` (kind's cluster config, its workers in layout order) with each worker's
    ``/proc/meminfo`` replaced by the file of the same position in ``meminfo_files`` (read-only
    ``extraMounts``). Raises ValueError when the counts differ."""
    config = copy.deepcopy(config)
    workers = [n for n in config["nodes"] if n.get("role") == "worker"]
    if len(workers) != len(meminfo_files):
        raise ValueError(f"{len(workers)} workers in kind's config, {len(meminfo_files)} sizes")
    for node, path in zip(workers, meminfo_files, strict=True):
        node.setdefault("extraMounts", []).append({"hostPath": path, "containerPath": MEMINFO, "readOnly": True})
    return config


def write_node_sizes(layout=None) -> list[str]:
    """Each worker's memory from the layout as a ``meminfo`` file in the course's cache
    (``kind/node-sizes/<node>/meminfo``, :func:`meminfo_of_size`); the paths, in layout order.

    Why: on kind every node would report the machine's memory, so chapter 4's 96 GiB preprocessing
    job would fit nowhere. The kubelet takes a node's memory capacity from ``MemTotal`` in
    ``/proc/meminfo`` (cAdvisor, ``machine/machine.go``: ``GetMachineMemoryCapacity``), and runc lets
    a file be mounted over that path (as lxcfs does); pods get their own ``/proc`` and see the real
    machine. CPUs are not declared this way: the kubelet writes the CPU numbers it finds into the pods'
    cpuset cgroup, so every kind node has the machine's CPUs."""
    from whyk8s.cluster.controlplane import cache_root
    from whyk8s.k8s.quantities import parse_memory
    layout = layout or load_layout()
    host = host_meminfo()
    files = []
    for w in layout.workers:
        path = cache_root() / "kind" / "node-sizes" / w.name / "meminfo"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(meminfo_of_size(parse_memory(w.capacity["memory"]), host))
        files.append(str(path))
    return files


def cni_config(pod_cidr: str) -> dict:
    """The CNI configuration of one node: the ``ptp`` plugin (a veth pair per pod, the host side routed)
    with ``host-local`` addresses from the node's ``pod_cidr`` (e.g. ``10.244.1.0/24``), and
    ``portmap`` for hostPort."""
    return {"cniVersion": "0.4.0", "name": "whyk8s-ptp", "plugins": [
        {"type": "ptp", "mtu": 1500, "ipMasq": False,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": pod_cidr}]], "routes": [{"dst": "0.0.0.0/0"}]}},
        {"type": "portmap", "capabilities": {"portMappings": True}}]}


def _docker_exec(provider, node: str, script: str, log: Callable) -> None:
    act(provider, ["docker", "exec", node, "sh", "-c", script], log=log)


def configure_pod_network(provider, cluster: Cluster, log: Callable = print, timeout: float = 120) -> None:
    """Give every node of the cluster its CNI configuration (:func:`cni_config`, its ``spec.podCIDR``)
    and a route to every other node's pod range through that node's address: what kindnetd does, for
    the node image built here (which has no kindnetd). Idempotent; run after every start. Waits up to
    ``timeout`` s for the controller-manager to give each node a pod range."""
    import time as _time
    deadline = _time.monotonic() + timeout
    while True:
        nodes = cluster.core.list_node().items
        ranges = {n.metadata.name: (n.spec.pod_cidr, next((a.address for a in n.status.addresses or []
                                                           if a.type == "InternalIP"), None)) for n in nodes}
        if ranges and all(cidr and ip for cidr, ip in ranges.values()) and set(ranges) >= set(provider.nodes()):
            break
        if _time.monotonic() > deadline:
            raise CourseError(f"Nodes without a pod range or an address after {timeout:.0f} s: "
                              f"{sorted(n for n, (c, i) in ranges.items() if not (c and i))}.")
        _time.sleep(1)
    listed = ", ".join(f"{n} {c}" for n, (c, _) in sorted(ranges.items()))
    log(f"Pod network: ptp on each node, routes between nodes ({listed})")
    for node, (cidr, _) in ranges.items():
        routes = " && ".join(f"ip route replace {other_cidr} via {other_ip}"
                             for other, (other_cidr, other_ip) in sorted(ranges.items()) if other != node)
        text = json.dumps(cni_config(cidr))
        _docker_exec(provider, node, f"mkdir -p /etc/cni/net.d && printf '%s' '{text}' > {CNI_FILE}"
                     + (f" && {routes}" if routes else ""), log=quiet)


def _uses_own_cni(provider) -> bool:
    """True when the cluster's nodes run the node image built here (no kindnetd)."""
    return provider.uses_own_cni()


def _node_image_of(provider) -> str:
    nodes = provider.nodes()
    if not nodes:
        return ""
    proc = run(["docker", "inspect", "--format", "{{.Config.Image}}", nodes[0]], log=quiet, check=False)
    return proc.stdout.strip()


def wait_for_system_pods(cluster: Cluster, timeout: float = 180) -> None:
    """Watch ``kube-system`` until every Pod there is Ready (CoreDNS above all: after a restart, name
    lookups fail until it is; kubeadm creates them before any node is Ready, so they are listed by
    then). Raises WaitTimeoutError naming the Pods that are not."""
    from whyk8s.k8s.pods import is_ready
    from whyk8s.k8s.waits import WaitTimeoutError, watch_until
    pods = watch_until(cluster.core.list_namespaced_pod, "kube-system",
                       done=lambda objs: all(is_ready(p) for p in objs.values()), timeout=timeout)
    waiting = sorted(n for n, p in pods.items() if not is_ready(p))
    if waiting:
        raise WaitTimeoutError(f"kube-system Pods not Ready after {timeout:.0f} s: {', '.join(waiting)}.")


def _cgroup_v1() -> bool:
    proc = run(["docker", "info", "--format", "{{.CgroupVersion}}"], log=quiet, check=False)
    return proc.stdout.strip() == "1"


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
        proc = run([kind_command(), "get", "clusters"], log=quiet, check=False)
        return cluster_name() in proc.stdout.split()

    def nodes(self) -> list[str]:
        """The names of the cluster's node containers (``kind get nodes``)."""
        proc = run([kind_command(), "get", "nodes", "--name", cluster_name()], log=quiet, check=False)
        return proc.stdout.split()

    def uses_own_cni(self) -> bool:
        """True when the cluster's nodes run the node image built on this machine (no kindnetd: the
        provider configures the pod network, :func:`configure_pod_network`)."""
        return _node_image_of(self) == nodeimage.node_image_name()

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
            image = node_image(log)
            ensure_node_image(image, log)
            own_cni = image == nodeimage.node_image_name()
            with open(repo_root() / "clusters" / "kind.yaml") as f:
                base = yaml.safe_load(f)
            config = cluster_config(base, cgroup_v1=_cgroup_v1(), own_cni=own_cni,
                                    restrict_oom_score_adj=not docker.bounding_set_has(docker.CAP_SYS_RESOURCE))
            config = sized_workers(config, write_node_sizes())
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="whyk8s-kind-") as f:
                yaml.safe_dump(config, f, sort_keys=False)
                f.flush()
                try:
                    act(self, [kind_command(), "create", "cluster", "--name", cluster_name(), "--config", f.name,
                               "--image", image, *kubeconfig_flags()], log=log)
                except CommandError as exc:
                    hint = _limits_hint(inotify_limits(self.read_proc))
                    raise CommandError(f"{exc}\n{hint}" if hint else str(exc)) from None
        elif stopped:
            write_node_sizes()  # the files the workers' mounts name, in case the cache was cleaned
            act(self, ["docker", "start", *stopped], log=log)
        previous = make_current(self.context)
        if previous != self.context:
            log(f"kubeconfig: current context is now {self.context}"
                + (f" (was {previous}: `kubectl config use-context {previous}` switches back)." if previous else "."))
        cluster = wait_for_api(self.context, timeout=120)
        wait_for_authorization(cluster)
        if _uses_own_cni(self):
            configure_pod_network(self, cluster, log=log)
            if not exists:
                act(self, [kind_command(), "load", "docker-image", "--name", cluster_name(),
                           *nodeimage.COURSE_IMAGES], log=log)
        wait_for_nodes(cluster, [w.name for w in load_layout().workers], timeout=180)
        wait_for_system_pods(cluster)
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
        act(self, [kind_command(), "delete", "cluster", "--name", cluster_name(), *kubeconfig_flags()], log=log)
