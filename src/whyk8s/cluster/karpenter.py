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

The machinery (build under the lock, state folder, pid, start in a session of its own with a reaper
thread, stop, CRDs, the guard) is :mod:`whyk8s.cluster.localprocess`; this module is its
configuration for Karpenter (:data:`CONTROLLER`).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kubernetes import client

from whyk8s.cluster import controlplane
from whyk8s.cluster.localprocess import Launch, LocalController, ProcessStatus, free_port, kept
from whyk8s.cluster.localprocess import ignore as _ignore
from whyk8s.cluster.localprocess import labelled as _labelled
from whyk8s.cluster.localprocess import selector as _selector
from whyk8s.errors import CourseError
from whyk8s.k8s.guard import Cluster

__all__ = ["GROUP", "VERSION", "NODECLASS_GROUP", "NODECLASS_VERSION", "CRD_GROUPS", "NODEPOOL_LABEL",
           "FINALIZER_PREFIX", "KarpenterStatus", "CONTROLLER", "karpenter_version", "go_toolchain",
           "instance_types_path", "instance_type_table", "instance_types", "cache_dir", "binary_path", "built",
           "build", "state_dir", "pid", "environment", "crd_manifests", "start", "stop", "status",
           "karpenter_nodes", "remove_if_stopped", "kill"]

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
_INSTANCE_TYPES_FILE = "instance-types.json"


class _Karpenter(LocalController):
    """Karpenter with its kwok provider as a :class:`~whyk8s.cluster.localprocess.LocalController`:
    ``sigs.k8s.io/karpenter/kwok`` configured by environment variables, no webhooks, 5 CRDs; what it
    leaves behind is its NodeClaims and the Nodes it made."""

    name = "Karpenter"
    slug = "karpenter"
    process_name = "Karpenter"
    version_key = "KARPENTER_VERSION"
    module = "sigs.k8s.io/karpenter"
    main_package = "sigs.k8s.io/karpenter/kwok"
    version_variable = "sigs.k8s.io/karpenter/pkg/operator.Version"
    binary = "karpenter-kwok"
    crd_groups = CRD_GROUPS
    finalizer_prefixes = FINALIZER_PREFIX
    only_on_kwok = "Karpenter's kwok provider runs only against the course's kwok cluster"
    why_kwok = "whose kwok controller brings the Nodes it creates to life"
    mirror_note = " that serves golang.org/toolchain too"
    leftover_words = "CRDs or Nodes"
    removed_message = ("Karpenter was not running: removed what it had installed and the Nodes it had made "
                       "(`whyk8s karpenter up` starts it again).")

    @property
    def build_note(self) -> str:
        return (f"Building Karpenter {self.version()} with its kwok provider from the Go module proxy, with Go "
                f"{go_toolchain()} (once per machine, 250 s of CPU: 6 to 9 minutes on 2 busy cores).")

    def build_env(self) -> dict[str, str]:
        return {"GOTOOLCHAIN": go_toolchain()}

    def download_what(self) -> str:
        return f"Karpenter {self.version()} (or the Go toolchain {go_toolchain()})"

    def build_files(self, module: Path) -> list[tuple[Path, str]]:
        crds = sorted([*(module / "pkg" / "apis" / "crds").glob("*.yaml"),
                       *(module / "kwok" / "apis" / "crds").glob("*.yaml")])
        return [(crd, f"crd-{crd.name}") for crd in crds]

    def refuse_foreign(self, cluster: Cluster) -> None:
        """Raise if a CRD of Karpenter's exists without the course label (another installation of
        Karpenter, or of the cluster autoscaler's CapacityBuffer: the course does not touch it)."""
        names = {c["metadata"]["name"] for c in self.crd_manifests()}
        ext = client.ApiextensionsV1Api(cluster.api)
        for crd in ext.list_custom_resource_definition().items:
            if crd.metadata.name in names and not _labelled(crd):
                raise CourseError(f"CRD {crd.metadata.name} is on this cluster and was not made by the course "
                                  f"(another Karpenter?); the course leaves it alone.")

    def prepare(self, cluster: Cluster, folder: Path, kubeconfig: Path) -> Launch:
        ports = {"metrics": free_port(), "health": free_port()}
        types_path = folder / _INSTANCE_TYPES_FILE
        shutil.copyfile(instance_types_path(), types_path)
        return Launch(ports, [], environment(ports, kubeconfig, types_path),
                      f"Starting Karpenter {self.version()} with the kwok provider (log {self.log_path()})", {})

    def remove_while_running(self, cluster: Cluster, crds: dict, timeout: float) -> None:
        """Delete the course-labelled NodePools while Karpenter runs and wait (at most 30 s) until
        Karpenter has drained and removed their NodeClaims and Nodes."""
        if f"nodepools.{GROUP}" not in crds:
            return
        try:
            _delete_nodepools(cluster, timeout=min(timeout, 30))
        except client.ApiException:
            pass  # what is left goes below

    def remove_after_process(self, cluster: Cluster) -> None:
        """Any Karpenter-made course Node left: deleted, Karpenter's finalizer removed."""
        for node in karpenter_nodes(cluster):
            _release_node(cluster, node)

    def leftovers(self, cluster: Cluster) -> list[str]:
        return [n.metadata.name for n in karpenter_nodes(cluster)]

    def status(self, cluster: Cluster | None = None) -> KarpenterStatus:
        cluster = self.guard(cluster)
        crds = self.our_crds(cluster)
        return KarpenterStatus(**self.process_status(cluster),
                               nodepools=_names(cluster, "nodepools", crds),
                               nodeclaims=_names(cluster, "nodeclaims", crds),
                               nodes=tuple(sorted(n.metadata.name for n in karpenter_nodes(cluster))))


#: Karpenter's configuration of the local-process machinery; the functions below are its methods.
CONTROLLER = _Karpenter()
# The machinery's own acts under the names the course uses (see LocalController): the version
# (``KARPENTER_VERSION`` in ``clusters/controlplane/versions.env``, e.g. "v1.15.0"), the cache folder and
# binary, whether it is built, the state folder, the pid of the running process, what runs and is
# installed (:class:`KarpenterStatus`), the clean-up of what a dead process left (called by the kwok
# provider's ``up``), the kill of the process alone when the cluster itself is deleted.
(karpenter_version, cache_dir, binary_path, built, state_dir, pid, status, remove_if_stopped, kill) = (
    CONTROLLER.version, CONTROLLER.cache_dir, CONTROLLER.binary_path, CONTROLLER.built, CONTROLLER.state_dir,
    CONTROLLER.pid, CONTROLLER.status, CONTROLLER.remove_if_stopped, CONTROLLER.kill)


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





def build(force: bool = False, log: Callable = print) -> Path:
    """Build Karpenter with its kwok provider into :func:`cache_dir` (unless it is there) and copy the
    CRDs from the module (``pkg/apis/crds/*.yaml``, ``kwok/apis/crds/*.yaml``); return the binary's path.

    250 s of CPU cold, downloads included: 6 to 9 minutes measured on 2 cores shared with a CI run
    (``benchmarks/RESULTS.md``); instant when cached. Raises RuntimeError with go's message when the
    build fails, when the module or the toolchain cannot be downloaded (saying what to check), or
    when a go command runs longer than :func:`whyk8s.cluster.controlplane.go_timeout`; nothing is
    left in the cache."""
    return CONTROLLER.build(force=force, log=log)




def crd_manifests() -> list[dict]:
    """Karpenter's CRDs from the cached module (``karpenter.sh``: nodepools, nodeclaims, nodeoverlays;
    ``autoscaling.x-k8s.io``: capacitybuffers; ``karpenter.kwok.sh``: kwoknodeclasses), labelled."""
    return CONTROLLER.crd_manifests()


def environment(ports: dict[str, int], kubeconfig: Path, instance_types_file: Path) -> dict[str, str]:
    """The environment variables Karpenter's options read (``pkg/operator/options/options.go``,
    ``kwok/options/options.go``): leader election off (one process), the metrics and health-probe
    ports, the kubeconfig, the instance-types file, info-level logs, a memory limit of 1 GiB
    (Karpenter sets Go's soft limit to 90 % of it)."""
    return {"KUBECONFIG": str(kubeconfig), "DISABLE_LEADER_ELECTION": "true",
            "METRICS_PORT": str(ports["metrics"]), "HEALTH_PROBE_PORT": str(ports["health"]),
            "INSTANCE_TYPES_FILE_PATH": str(instance_types_file), "LOG_LEVEL": "info",
            "MEMORY_LIMIT": str(1 << 30)}


@dataclass(frozen=True)
class KarpenterStatus(ProcessStatus):
    """What :func:`status` reports: ``running`` (the process lives), ``pid``, ``version``, ``ports``
    (``metrics``, ``health``; empty when not running), ``log`` (its path), ``crds`` (names of the
    course's Karpenter CRDs on the cluster), ``nodepools``, ``nodeclaims`` and ``nodes`` (names of the
    NodePools, NodeClaims and Karpenter-made Nodes on the cluster; empty when the CRDs are not there)."""

    nodepools: tuple[str, ...]
    nodeclaims: tuple[str, ...]
    nodes: tuple[str, ...]

    def __str__(self) -> str:
        return (f"Karpenter {self.version} (kwok provider): {self.state}; {len(self.crds)} CRDs; NodePools: "
                f"{', '.join(self.nodepools) or 'none'}; {len(self.nodeclaims)} NodeClaims, {len(self.nodes)} "
                f"Nodes made by Karpenter; ports: {self.ports_text}; log: {self.log}")


# -- the API acts -------------------------------------------------------------------------------------

def _names(cluster: Cluster, plural: str, crds: dict) -> tuple[str, ...]:
    if f"{plural}.{GROUP}" not in crds:
        return ()
    items = client.CustomObjectsApi(cluster.api).list_cluster_custom_object(GROUP, VERSION, plural)["items"]
    return tuple(sorted(o["metadata"]["name"] for o in items))


def karpenter_nodes(cluster: Cluster) -> list[client.V1Node]:
    """The Nodes Karpenter made for the course: labelled ``karpenter.sh/nodepool`` (Karpenter's label)
    and ``app.kubernetes.io/part-of=whyk8s`` (the course's NodePools put it in their template)."""
    return cluster.core.list_node(label_selector=f"{NODEPOOL_LABEL},{_selector()}").items



def start(cluster: Cluster | None = None, timeout: float = 120, log: Callable = print) -> KarpenterStatus:
    """Install Karpenter's CRDs on the course's kwok cluster and start it with the kwok provider (see the
    module docstring); return its :func:`status`. Does nothing but report when it already runs.

    Builds the binary first if it is not cached (:func:`build`, minutes, once per machine). Waits until
    its readiness probe answers (caches synced, CRDs mapped), at most ``timeout`` seconds; a few
    seconds in practice. Raises :class:`~whyk8s.errors.CourseError` off the kwok cluster or when another
    installation's CRDs are there, RuntimeError when the build fails,
    :class:`~whyk8s.errors.WaitTimeoutError` (with the end of its log) when it does not become ready,
    after removing what it made. The process runs in a session of its own: it keeps running after a
    kernel restart, until :func:`stop` (:mod:`whyk8s.cluster.localprocess`)."""
    return CONTROLLER.start(cluster, timeout=timeout, log=log)


def _kept(finalizers: list | None) -> list | None:
    """``finalizers`` without Karpenter's, or None when they are unchanged."""
    return kept(finalizers, FINALIZER_PREFIX)


def _release_node(cluster: Cluster, node: client.V1Node) -> None:
    """Delete a Node Karpenter made and drop Karpenter's finalizer from it (nobody else would)."""
    _ignore(404, cluster.core.delete_node, node.metadata.name)
    left = _kept(node.metadata.finalizers)
    if left is not None:
        _ignore(404, cluster.core.patch_node, node.metadata.name, {"metadata": {"finalizers": left or None}})


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
    CONTROLLER.stop(cluster, timeout=timeout, log=log)
