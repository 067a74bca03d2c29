"""Karpenter, the node autoscaler of Kubernetes SIG Autoscaling, with its kwok cloud provider, run by the
course as a local process against the kwok cluster's API server.

Karpenter watches for Pods the scheduler cannot place, picks an instance type that fits them from
its cloud provider, and creates a NodeClaim; the cloud provider turns the claim into a machine that
joins as a Node. When a Node it made is empty (or underused) it removes it ("consolidation"). The
kwok provider (``sigs.k8s.io/karpenter/kwok``) is Karpenter's reference provider: its "machine" is a
Node object it creates itself (providerID ``kwok://<name>``), which kwokctl's kwok controller (run
with ``--manage-all-nodes=true``) then makes Ready like any other simulated node.

Built like the control plane (:mod:`whyk8s.cluster.controlplane`): the version is pinned in
``clusters/controlplane/versions.env`` (``KARPENTER_VERSION``) and the wrapper module
``clusters/controlplane/karpenter/`` (committed ``go.mod``/``go.sum``) requires ``sigs.k8s.io/karpenter``.
Karpenter v1.15.0's ``go.mod`` says ``go 1.26.9``; so :func:`build` runs go with
``GOTOOLCHAIN=<KARPENTER_GO_TOOLCHAIN>`` (``go1.26.11``), which makes the machine's go fetch that
toolchain once from the Go module proxy (``golang.org/toolchain``, about 12 s here). It runs ``go build
sigs.k8s.io/karpenter/kwok`` once and caches the binary, with the module's CRDs, in
``<cache>/bin/karpenter-<version>/``.

:func:`start` installs and starts it; :func:`stop` removes exactly what :func:`start` made and every
NodeClaim and Node Karpenter made. Both act only on the course's kwok cluster (the guard,
:func:`whyk8s.k8s.guard.check_provider_context`). Karpenter v1.15.0 serves no webhooks (its
operator starts no webhook server and its CRDs name no conversion webhook), so nothing on the
cluster has to call back into the process.

What :func:`start` makes, every object labelled ``app.kubernetes.io/part-of=whyk8s``:

- Karpenter's 5 CustomResourceDefinitions from the module: ``nodepools`` and ``nodeclaims``
  (``karpenter.sh``), ``nodeoverlays`` (``karpenter.sh``), ``capacitybuffers``
  (``autoscaling.x-k8s.io``, which Karpenter's controllers watch) and ``kwoknodeclasses``
  (``karpenter.kwok.sh``, the provider's NodeClass);
- the process, with the environment Karpenter's options read: ``DISABLE_LEADER_ELECTION=true``, free
  ``METRICS_PORT`` and ``HEALTH_PROBE_PORT`` (Karpenter binds them on every interface: it takes a port,
  not an address), ``INSTANCE_TYPES_FILE_PATH`` = the course's instance types
  (``clusters/controlplane/karpenter/instance-types.json``, :func:`instance_type_table`) and
  ``KUBECONFIG`` = a kubeconfig holding only the course context; its log and pid in
  ``~/.kwok/clusters/<cluster>/whyk8s-karpenter/`` (deleted with the cluster).

The NodePools and the KWOKNodeClass are the lesson's (:mod:`whyk8s.lessons.gpu_pools`).

Start it: ``whyk8s karpenter up`` (or :func:`start`; the first time it builds, 6 to 9 minutes on 2
busy cores), see it with ``whyk8s karpenter status``, remove it with ``whyk8s karpenter down``; ``whyk8s cluster
stop`` and ``down`` stop it too.

Sources: Karpenter v1.15.0, ``kwok/main.go``, ``kwok/cloudprovider/{cloudprovider,helpers}.go``,
``kwok/options/options.go``, ``pkg/operator/{operator.go,options/options.go}``; karpenter.sh,
"NodePools" and "Disruption".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml
from kubernetes import client

from whyk8s import PART_OF_LABEL
from whyk8s.cluster import controlplane
from whyk8s.cluster.kueue import _free_port, _ignore, _kubeconfig, _labelled, _selector, _terminate
from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s.guard import Cluster, check_provider_context, connect

__all__ = ["GROUP", "VERSION", "NODECLASS_GROUP", "NODECLASS_VERSION", "CRD_GROUPS", "NODEPOOL_LABEL",
           "FINALIZER_PREFIX", "KarpenterStatus", "karpenter_version", "go_toolchain", "instance_types_path",
           "instance_type_table", "instance_types", "cache_dir", "binary_path", "built", "build", "state_dir",
           "pid", "environment", "crd_manifests", "start", "stop", "status", "karpenter_nodes",
           "remove_if_stopped", "kill"]

#: Karpenter's API group and version (NodePool, NodeClaim).
GROUP = "karpenter.sh"
VERSION = "v1"
#: The kwok provider's NodeClass (KWOKNodeClass).
NODECLASS_GROUP = "karpenter.kwok.sh"
NODECLASS_VERSION = "v1alpha1"
#: The groups of the CRDs the course installs from the module.
CRD_GROUPS = (GROUP, NODECLASS_GROUP, "autoscaling.x-k8s.io")
#: The label Karpenter puts on every NodeClaim and Node it makes: the NodePool's name.
NODEPOOL_LABEL = "karpenter.sh/nodepool"
#: Karpenter's finalizers (``karpenter.sh/termination``, ...; the kwok provider's under
#: ``karpenter.kwok.sh/``): released by Karpenter itself, so removed by :func:`stop` once it is gone.
FINALIZER_PREFIX = ("karpenter.sh/", "karpenter.kwok.sh/")
_LABELS = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
_INSTANCE_TYPES_FILE = "instance-types.json"


def karpenter_version() -> str:
    """``KARPENTER_VERSION`` from ``clusters/controlplane/versions.env`` (e.g. ``"v1.15.0"``)."""
    return controlplane.versions()["KARPENTER_VERSION"]


def go_toolchain() -> str:
    """``KARPENTER_GO_TOOLCHAIN`` from ``versions.env`` (e.g. ``"go1.26.11"``): the toolchain go fetches
    from the module proxy to build Karpenter (whose go.mod needs a newer go than the machine's)."""
    return controlplane.versions()["KARPENTER_GO_TOOLCHAIN"]


def instance_types_path() -> Path:
    """``clusters/controlplane/karpenter/instance-types.json``: the instance types the course's
    Karpenter offers."""
    return controlplane.module_dir("karpenter") / _INSTANCE_TYPES_FILE


def instance_types() -> list[dict]:
    """The course's instance types, as Karpenter's kwok provider reads them: a list of ``{"name",
    "offerings": [{"Price" (dollars per hour), "Available", "Requirements"}], "architecture",
    "operatingSystems", "resources"}``. Made up by the course (three types: ``cpu-4x``, ``gpu-1x``
    with one ``nvidia.com/gpu``, ``gpu-4x`` with four; one zone ``whyk8s-zone-a``, on-demand only);
    the prices are round figures of the course's, not any cloud's list prices."""
    return json.loads(instance_types_path().read_text())


def instance_type_table() -> dict[str, dict]:
    """The course's instance types by name: ``{"cpu", "memory"}`` (quantities as written),
    ``"gpus"`` (whole ``nvidia.com/gpu``), ``"price_per_hour"`` (dollars, the cheapest offering), e.g.
    ``{"gpu-4x": {"cpu": "32", "memory": "256Gi", "gpus": 4, "price_per_hour": 6.0}, ...}``."""
    return {t["name"]: {"cpu": t["resources"]["cpu"], "memory": t["resources"]["memory"],
                        "gpus": int(t["resources"].get("nvidia.com/gpu", 0)),
                        "price_per_hour": min(o["Price"] for o in t["offerings"])}
            for t in instance_types()}


def cache_dir() -> Path:
    """``<cache>/bin/karpenter-<version>``: the binary (Karpenter with the kwok provider) and the CRDs."""
    return controlplane.cache_root() / "bin" / f"karpenter-{karpenter_version()}"


def binary_path() -> Path:
    """Where the binary lives once built."""
    return cache_dir() / "karpenter-kwok"


def built() -> bool:
    """True when the binary and the CRDs are in the cache."""
    return os.access(binary_path(), os.X_OK) and any(cache_dir().glob("crd-*.yaml"))


def build(force: bool = False, log: Callable = print) -> Path:
    """Build Karpenter with its kwok provider into :func:`cache_dir` (unless it is there) and copy the
    CRDs from the module (``pkg/apis/crds/*.yaml``, ``kwok/apis/crds/*.yaml``); return the binary's path.

    250 s of CPU cold, downloads included: 6 to 9 minutes measured on 2 cores shared with a CI run
    (``benchmarks/RESULTS.md``); instant when cached. Raises RuntimeError with go's message when the
    build fails, when the module or the toolchain cannot be downloaded (saying what to check), or
    when a go command runs longer than :func:`whyk8s.cluster.controlplane.go_timeout`; nothing is
    left in the cache."""
    if built() and not force:
        return binary_path()
    with controlplane.build_lock("karpenter", log=log):
        if built() and not force:  # built by another process while this one waited
            return binary_path()
        return _build(log)


def _build(log: Callable) -> Path:
    v = karpenter_version()
    mdir = controlplane.module_dir("karpenter")
    env = {"GOTOOLCHAIN": go_toolchain()}
    target = cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"Building Karpenter {v} with its kwok provider from the Go module proxy, with Go {go_toolchain()} "
        f"(once per machine, 250 s of CPU: 6 to 9 minutes on 2 busy cores).")
    started = time.monotonic()
    try:
        info = json.loads(controlplane.go(["mod", "download", "-json", f"sigs.k8s.io/karpenter@{v}"], mdir,
                                          env=env, log=log))
    except RuntimeError as exc:
        if "did not finish within" in str(exc):
            raise
        raise RuntimeError(
            f"Karpenter {v} (or the Go toolchain {go_toolchain()}) could not be downloaded from the Go module "
            f"proxy. {exc}\nCheck that this machine reaches the proxy (`go env GOPROXY`; behind a proxy set "
            f"HTTPS_PROXY; offline, point GOPROXY at a mirror that serves golang.org/toolchain too), then run "
            f"`whyk8s karpenter build` again.") from None
    module = Path(info["Dir"])
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-karpenter-") as tmp:
        out = Path(tmp)
        ld = f"-s -w -X sigs.k8s.io/karpenter/pkg/operator.Version={v}"
        controlplane.go(["build", "-trimpath", "-ldflags", ld, "-o", str(out / "karpenter-kwok"),
                         "sigs.k8s.io/karpenter/kwok"], mdir, env=env, log=log)
        for crd in sorted([*(module / "pkg" / "apis" / "crds").glob("*.yaml"),
                           *(module / "kwok" / "apis" / "crds").glob("*.yaml")]):
            shutil.copyfile(crd, out / f"crd-{crd.name}")
        target.mkdir(parents=True, exist_ok=True)
        for f in out.iterdir():
            os.replace(f, target / f.name)
    log(f"Built Karpenter in {time.monotonic() - started:.0f} s into {target}")
    return binary_path()


# -- where the running process keeps its files ---------------------------------------------------------

def state_dir() -> Path:
    """``~/.kwok/clusters/<cluster>/whyk8s-karpenter``: kubeconfig, ports, log, pid."""
    from whyk8s.cluster.kwok import kwok_cluster_dir
    return kwok_cluster_dir() / "whyk8s-karpenter"


def pid() -> int | None:
    """The pid of this cluster's running Karpenter, or None. Only a live process whose executable is the
    course's cached binary counts, so a stale pid file never names another process."""
    try:
        p = int((state_dir() / "karpenter.pid").read_text().strip())
        exe = os.path.realpath(f"/proc/{p}/exe")
    except (OSError, ValueError):
        return None
    return p if exe == os.path.realpath(binary_path()) else None


def _kwok_cluster(cluster: Cluster | None) -> Cluster:
    """The guarded connection, refused unless it is the course's kwok cluster (whose kwok controller
    makes the Nodes Karpenter's kwok provider creates Ready)."""
    from whyk8s.cluster.kwok import kwok_cluster_dir
    from whyk8s.cluster.providers import cluster_name
    cluster = cluster if cluster is not None else connect()
    check_provider_context(cluster.context)
    if cluster.context != f"kwok-{cluster_name()}" or not kwok_cluster_dir().is_dir():
        raise CourseError(
            f"Karpenter's kwok provider runs only against the course's kwok cluster (context "
            f"kwok-{cluster_name()}), whose kwok controller brings the Nodes it creates to life; the current "
            f"context is {cluster.context}. Start it with `whyk8s cluster up --provider kwok`.")
    return cluster


# -- the manifests ------------------------------------------------------------------------------------

def crd_manifests() -> list[dict]:
    """Karpenter's CRDs from the cached module (``karpenter.sh``: nodepools, nodeclaims, nodeoverlays;
    ``autoscaling.x-k8s.io``: capacitybuffers; ``karpenter.kwok.sh``: kwoknodeclasses), labelled."""
    out = []
    for path in sorted(cache_dir().glob("crd-*.yaml")):
        crd = yaml.safe_load(path.read_text())
        crd["metadata"].setdefault("labels", {}).update(_LABELS)
        crd["metadata"].pop("annotations", None)
        out.append(crd)
    return out


def environment(ports: dict[str, int], kubeconfig: Path, instance_types_file: Path) -> dict[str, str]:
    """The environment variables Karpenter's options read (``pkg/operator/options/options.go``,
    ``kwok/options/options.go``): leader election off (one process), the metrics and health-probe
    ports, the kubeconfig, the instance-types file, info-level logs, a memory limit of 1 GiB
    (Karpenter sets Go's soft limit to 90 % of it)."""
    return {"KUBECONFIG": str(kubeconfig), "DISABLE_LEADER_ELECTION": "true",
            "METRICS_PORT": str(ports["metrics"]), "HEALTH_PROBE_PORT": str(ports["health"]),
            "INSTANCE_TYPES_FILE_PATH": str(instance_types_file), "LOG_LEVEL": "info",
            "MEMORY_LIMIT": str(1 << 30)}


# -- the API acts -------------------------------------------------------------------------------------

def _our_crds(cluster: Cluster) -> dict:
    ext = client.ApiextensionsV1Api(cluster.api)
    return {c.metadata.name: c for c in ext.list_custom_resource_definition(label_selector=_selector()).items
            if c.spec.group in CRD_GROUPS}


def _refuse_foreign(cluster: Cluster) -> None:
    """Raise if a CRD of Karpenter's exists without the course label (another installation of
    Karpenter, or of the cluster autoscaler's CapacityBuffer: the course does not touch it)."""
    names = {c["metadata"]["name"] for c in crd_manifests()}
    ext = client.ApiextensionsV1Api(cluster.api)
    for crd in ext.list_custom_resource_definition().items:
        if crd.metadata.name in names and not _labelled(crd):
            raise CourseError(f"CRD {crd.metadata.name} is on this cluster and was not made by the course "
                              f"(another Karpenter?); the course leaves it alone.")


def _apply_crds(cluster: Cluster, crds: list[dict], timeout: float) -> None:
    ext = client.ApiextensionsV1Api(cluster.api)
    for crd in crds:
        name = crd["metadata"]["name"]
        old = _ignore(404, ext.read_custom_resource_definition, name)
        if old is None:
            ext.create_custom_resource_definition(crd)
        else:
            crd["metadata"]["resourceVersion"] = old.metadata.resource_version
            ext.replace_custom_resource_definition(name, crd)
    deadline = time.monotonic() + timeout
    names = {c["metadata"]["name"] for c in crds}
    while True:
        established = {c.metadata.name for c in _our_crds(cluster).values()
                       if any(x.type == "Established" and x.status == "True" for x in (c.status.conditions or []))}
        if names <= established:
            return
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"Karpenter's CRDs were not Established within {timeout:.0f} s: "
                                   f"{sorted(names - established)}")
        time.sleep(0.2)


def _log_tail(lines: int = 15) -> str:
    try:
        text = (state_dir() / "karpenter.log").read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _ready(ports: dict[str, int]) -> bool:
    """True when Karpenter's readiness probe answers 200: its caches synced and its CRDs mapped (asked
    directly, never through an HTTP proxy the environment may name)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{ports['health']}/readyz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@dataclass(frozen=True)
class KarpenterStatus:
    """What :func:`status` reports: ``running`` (the process lives), ``pid``, ``version``, ``ports``
    (``metrics``, ``health``; empty when not running), ``crds`` (names of the course's Karpenter CRDs
    on the cluster), ``nodepools``, ``nodeclaims`` and ``nodes`` (names of the NodePools, NodeClaims
    and Karpenter-made Nodes on the cluster; empty when the CRDs are not there), ``log`` (its path)."""

    running: bool
    pid: int | None
    version: str
    ports: dict
    crds: tuple[str, ...]
    nodepools: tuple[str, ...]
    nodeclaims: tuple[str, ...]
    nodes: tuple[str, ...]
    log: str

    def __str__(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "not running"
        return (f"Karpenter {self.version} (kwok provider): {state}; {len(self.crds)} CRDs; NodePools: "
                f"{', '.join(self.nodepools) or 'none'}; {len(self.nodeclaims)} NodeClaims, {len(self.nodes)} "
                f"Nodes made by Karpenter; ports: {', '.join(f'{k} {v}' for k, v in self.ports.items()) or 'none'}; "
                f"log: {self.log}")


def _names(cluster: Cluster, plural: str, crds: dict) -> tuple[str, ...]:
    if f"{plural}.{GROUP}" not in crds:
        return ()
    items = client.CustomObjectsApi(cluster.api).list_cluster_custom_object(GROUP, VERSION, plural)["items"]
    return tuple(sorted(o["metadata"]["name"] for o in items))


def karpenter_nodes(cluster: Cluster) -> list[client.V1Node]:
    """The Nodes Karpenter made for the course: labelled ``karpenter.sh/nodepool`` (Karpenter's label)
    and ``app.kubernetes.io/part-of=whyk8s`` (the course's NodePools put it in their template)."""
    return cluster.core.list_node(label_selector=f"{NODEPOOL_LABEL},{_selector()}").items


def status(cluster: Cluster | None = None) -> KarpenterStatus:
    """Whether Karpenter runs, and what of it is on the cluster (see :class:`KarpenterStatus`). Reads only."""
    cluster = _kwok_cluster(cluster)
    crds = _our_crds(cluster)
    try:
        ports = json.loads((state_dir() / "ports.json").read_text())
    except (OSError, ValueError):
        ports = {}
    p = pid()
    return KarpenterStatus(p is not None, p, karpenter_version(), ports if p else {}, tuple(sorted(crds)),
                           _names(cluster, "nodepools", crds), _names(cluster, "nodeclaims", crds),
                           tuple(sorted(n.metadata.name for n in karpenter_nodes(cluster))),
                           str(state_dir() / "karpenter.log"))


def start(cluster: Cluster | None = None, timeout: float = 120, log: Callable = print) -> KarpenterStatus:
    """Install Karpenter's CRDs on the course's kwok cluster and start it with the kwok provider (see the
    module docstring); return its :func:`status`. Does nothing but report when it already runs.

    Builds the binary first if it is not cached (:func:`build`, minutes, once per machine). Waits until
    its readiness probe answers (caches synced, CRDs mapped), at most ``timeout`` seconds; a few
    seconds in practice. Raises :class:`~whyk8s.errors.CourseError` off the kwok cluster or when another
    installation's CRDs are there, RuntimeError when the build fails,
    :class:`~whyk8s.errors.WaitTimeoutError` (with the end of its log) when it does not become ready,
    after removing what it made."""
    cluster = _kwok_cluster(cluster)
    if pid() is not None:
        return status(cluster)
    build(log=log)
    _refuse_foreign(cluster)
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    ports = {"metrics": _free_port(), "health": _free_port()}
    (folder / "ports.json").write_text(json.dumps(ports))
    kubeconfig_path = folder / "kubeconfig"
    kubeconfig_path.write_text(yaml.safe_dump(_kubeconfig(cluster.context), sort_keys=False))
    os.chmod(kubeconfig_path, 0o600)
    types_path = folder / _INSTANCE_TYPES_FILE
    shutil.copyfile(instance_types_path(), types_path)
    started = time.monotonic()
    log(f"Starting Karpenter {karpenter_version()} with the kwok provider (log {folder / 'karpenter.log'})")
    try:
        _apply_crds(cluster, crd_manifests(), timeout=timeout)
        env = {**os.environ, **environment(ports, kubeconfig_path, types_path)}
        with open(folder / "karpenter.log", "wb") as out:
            proc = subprocess.Popen([str(binary_path())], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, cwd=folder, env=env)
        (folder / "karpenter.pid").write_text(str(proc.pid))
        deadline = started + timeout
        while not _ready(ports):
            if proc.poll() is not None:
                raise CourseError(f"Karpenter exited (code {proc.returncode}). End of its log:\n{_log_tail()}")
            if time.monotonic() > deadline:
                raise WaitTimeoutError(f"Karpenter was not ready within {timeout:.0f} s. End of its log:\n"
                                       f"{_log_tail()}")
            time.sleep(0.3)
    except BaseException:
        stop(cluster, log=lambda *_: None)
        raise
    # reap it when it ends, whoever stops it (`whyk8s cluster down` in a terminal while this kernel
    # lives): otherwise it stays a zombie of this process until the kernel exits
    threading.Thread(target=proc.wait, name="karpenter-reaper", daemon=True).start()
    log(f"Karpenter is ready in {time.monotonic() - started:.1f} s.")
    return status(cluster)


def _kept(finalizers: list | None) -> list | None:
    """``finalizers`` without Karpenter's, or None when they are unchanged."""
    finalizers = finalizers or []
    kept = [f for f in finalizers if not f.startswith(FINALIZER_PREFIX)]
    return None if kept == finalizers else kept


def _release_node(cluster: Cluster, node: client.V1Node) -> None:
    """Delete a Node Karpenter made and drop Karpenter's finalizer from it (nobody else would)."""
    _ignore(404, cluster.core.delete_node, node.metadata.name)
    kept = _kept(node.metadata.finalizers)
    if kept is not None:
        _ignore(404, cluster.core.patch_node, node.metadata.name, {"metadata": {"finalizers": kept or None}})


def _release_objects(cluster: Cluster, crd) -> None:
    """Drop Karpenter's finalizers from every object of ``crd`` (a V1CustomResourceDefinition; cluster
    or namespace scoped), so that deleting the CRD deletes them."""
    api = client.CustomObjectsApi(cluster.api)
    group, plural = crd.spec.group, crd.spec.names.plural
    version = next((v.name for v in crd.spec.versions if v.served and v.storage), None)
    if version is None:
        return
    for obj in (_ignore(404, api.list_cluster_custom_object, group, version, plural) or {}).get("items", []):
        meta = obj["metadata"]
        kept = _kept(meta.get("finalizers"))
        if kept is None:
            continue
        patch = {"metadata": {"finalizers": kept or None}}
        if meta.get("namespace"):
            _ignore(404, api.patch_namespaced_custom_object, group, version, meta["namespace"], plural,
                    meta["name"], patch)
        else:
            _ignore(404, api.patch_cluster_custom_object, group, version, plural, meta["name"], patch)


def _delete_nodepools(cluster: Cluster, timeout: float) -> None:
    """Delete the course-labelled NodePools while Karpenter runs and wait (at most ``timeout`` s) until
    Karpenter has drained and removed their NodeClaims and Nodes."""
    api = client.CustomObjectsApi(cluster.api)
    for pool in api.list_cluster_custom_object(GROUP, VERSION, "nodepools", label_selector=_selector())["items"]:
        _ignore(404, api.delete_cluster_custom_object, GROUP, VERSION, "nodepools", pool["metadata"]["name"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = api.list_cluster_custom_object(GROUP, VERSION, "nodepools", label_selector=_selector())["items"]
        claims = api.list_cluster_custom_object(GROUP, VERSION, "nodeclaims", label_selector=_selector())["items"]
        if not left and not claims and not karpenter_nodes(cluster):
            return
        time.sleep(0.3)


def stop(cluster: Cluster | None = None, timeout: float = 60, log: Callable = print) -> None:
    """Remove exactly what :func:`start` made and every Node Karpenter made for the course, in an order
    that leaves nothing stuck: the course's NodePools (while Karpenter still runs, so it drains and
    deletes their NodeClaims and Nodes itself), the process, then any Karpenter-made course Node left
    (deleted, Karpenter's finalizer removed), the CRDs (with any object left in them, after removing
    Karpenter's finalizers, which no process would release any more), and the files in
    :func:`state_dir`. Objects without the course label are never touched, but those inside the
    course's CRDs go with them. Safe to call when nothing runs. Raises
    :class:`~whyk8s.errors.WaitTimeoutError` if the CRDs are not gone after ``timeout`` seconds."""
    cluster = _kwok_cluster(cluster)
    ours = _our_crds(cluster)
    if pid() is not None and f"nodepools.{GROUP}" in ours:
        try:
            _delete_nodepools(cluster, timeout=min(timeout, 30))
        except client.ApiException:
            pass  # what is left goes below
    p = pid()
    if p is not None:
        log(f"Stopping Karpenter (pid {p})")
        _terminate(p)
    for node in karpenter_nodes(cluster):
        _release_node(cluster, node)
    ext = client.ApiextensionsV1Api(cluster.api)
    for name, crd in ours.items():
        _release_objects(cluster, crd)
        _ignore(404, ext.delete_custom_resource_definition, name)
    deadline = time.monotonic() + timeout
    while True:
        left = _our_crds(cluster)
        nodes = karpenter_nodes(cluster)
        if not left and not nodes:
            break
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"Karpenter's CRDs or Nodes were not deleted within {timeout:.0f} s: "
                                   f"{sorted(left) + [n.metadata.name for n in nodes]}")
        for node in nodes:  # a Node created meanwhile by a goroutine of the provider
            _release_node(cluster, node)
        for crd in left.values():  # objects that got a finalizer meanwhile
            _release_objects(cluster, crd)
        time.sleep(0.3)
    shutil.rmtree(state_dir(), ignore_errors=True)
    if ours:
        log("Karpenter is stopped and removed.")


def remove_if_stopped(cluster: Cluster, log: Callable = print) -> bool:
    """If Karpenter's CRDs or Nodes made by the course are on the cluster but the process is not running
    (the machine rebooted, the session that started it ended), remove them with :func:`stop` and return
    True: left behind, its Nodes would hold Karpenter's finalizer and its NodePools would provision
    nothing. Returns False when Karpenter runs or nothing of it is there. Called by the kwok provider's
    ``up``."""
    if pid() is not None:
        return False
    cluster = _kwok_cluster(cluster)
    if not (_our_crds(cluster) or karpenter_nodes(cluster)):
        return False
    stop(cluster, log=lambda *_: None)
    log("Karpenter was not running: removed what it had installed and the Nodes it had made "
        "(`whyk8s karpenter up` starts it again).")
    return True


def kill(log: Callable = print) -> None:
    """Stop the process only (used when the cluster itself is deleted: its objects go with it)."""
    p = pid()
    if p is not None:
        log(f"Stopping Karpenter (pid {p})")
        _terminate(p)
    shutil.rmtree(state_dir(), ignore_errors=True)
