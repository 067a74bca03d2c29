"""Kueue, the job-queueing controller of Kubernetes SIG Scheduling, run by the course as a local process
against the kwok cluster's API server.

Built like the control plane (:mod:`whyk8s.cluster.controlplane`): the version is pinned in
``clusters/controlplane/versions.env`` (``KUEUE_VERSION``) and the wrapper module
``clusters/controlplane/kueue/`` (committed ``go.mod``/``go.sum``) requires ``sigs.k8s.io/kueue``;
:func:`build` runs ``go build sigs.k8s.io/kueue/cmd/kueue`` once and caches the manager, with the
module's CRDs (``config/components/crd/bases/*.yaml``) and webhook manifest
(``config/components/webhook/manifests.yaml``), in ``<cache>/bin/kueue-<version>/``.

:func:`start` installs and starts it; :func:`stop` removes exactly what :func:`start` made. Both act only
on the course's kwok cluster (the guard, :func:`whyk8s.k8s.guard.check_provider_context`): the kwok
API server is a process of this machine, so it can call Kueue's webhooks at
``https://127.0.0.1:<port>/<path>``, which a kind cluster's API server (inside a container) cannot.

What :func:`start` makes, every object labelled ``app.kubernetes.io/part-of=whyk8s``:

- Kueue's 11 CustomResourceDefinitions, from the module; the five served in two versions
  (``localqueues``, ``clusterqueues``, ``cohorts``, ``workloads``, ``multikueueclusters``) convert
  through Kueue's ``/convert`` webhook, as Kueue's own kustomization patches them;
- a CA and a serving certificate for ``127.0.0.1`` (``openssl``), kept in the Secret
  ``kueue-webhook-server-cert`` in the course namespace (Kueue's internal certificate management
  checks it there, finds it valid and keeps it) and in the files the webhook server reads;
- ``kueue-mutating-webhook-configuration`` and ``kueue-validating-webhook-configuration``: the
  module's webhooks for Kueue's own kinds and for ``batch/v1`` Jobs (the only integration enabled),
  each with ``clientConfig.url`` on 127.0.0.1, the CA bundle, and a ``namespaceSelector`` limiting
  them to the course's namespaces (label ``app.kubernetes.io/part-of=whyk8s``);
- the manager process, with a configuration file (``manageJobsWithoutQueueName: false``, leader
  election off, ports chosen free on this machine), its log and pid in
  ``~/.kwok/clusters/<cluster>/whyk8s-kueue/`` (deleted with the cluster).

Why internal certificate management stays on: with it off, Kueue v0.17.0's ``cmd/kueue`` reads the
metrics server's certificate from the fixed path ``/etc/kueue/metrics/certs`` and exits when it is not
there, even with metrics off (``bindAddress: "0"``; seen in a run: "Unable to initialize metrics
certificate watcher ... open /etc/kueue/metrics/certs/tls.crt: no such file or directory"); with it
on, the metrics server makes its own, and the webhook certificate is the one the course wrote into
the Secret. Sources: Kueue's ``cmd/kueue/main.go`` and ``pkg/util/cert/cert.go``
(v0.17.0); kubernetes.io, "Dynamic Admission Control" (``clientConfig.url``, ``caBundle``).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import signal
import socket
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
from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s.guard import Cluster, check_provider_context, connect, kubeconfig_files

__all__ = ["GROUP", "VERSION", "CONVERTED_CRDS", "WEBHOOK_CONFIGURATIONS", "SECRET_NAME",
           "SERVICE_NAME", "QUEUE_LABEL", "KueueStatus", "kueue_version", "cache_dir", "binary_path",
           "built", "build", "state_dir", "pid", "start", "stop", "status", "webhook_configurations",
           "crd_manifests", "manager_config", "delete_course_objects",
           "remove_if_stopped", "kill"]

#: Kueue's API group and the version the course uses.
GROUP = "kueue.x-k8s.io"
VERSION = "v1beta2"
#: The label that sends a Job to a LocalQueue.
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
#: The CRDs that Kueue's kustomization switches to webhook conversion (``config/components/crd/
#: kustomization.yaml``): they serve v1beta1 and v1beta2, and Kueue's ``/convert`` converts.
CONVERTED_CRDS = ("localqueues", "clusterqueues", "cohorts", "workloads", "multikueueclusters")
#: The Secret holding the CA and the serving certificate, and the Service name Kueue's certificate
#: management puts in the DNS name it checks (``<service>.<namespace>.svc``); no Service exists.
SECRET_NAME = "kueue-webhook-server-cert"
SERVICE_NAME = "kueue-webhook-service"
#: The names Kueue's certificate management injects the CA into (derived from :data:`SERVICE_NAME`).
WEBHOOK_CONFIGURATIONS = {"MutatingWebhookConfiguration": "kueue-mutating-webhook-configuration",
                          "ValidatingWebhookConfiguration": "kueue-validating-webhook-configuration"}
#: API groups whose webhooks are registered: Kueue's own kinds, and batch for the Job integration.
WEBHOOK_GROUPS = {GROUP, "batch"}
#: The CA's name, which Kueue's certificate management checks as the CA certificate's DNS name.
CA_NAME = "kueue-ca"
#: Validity of the generated certificates, in days (Kueue renews any that expire within 90 days).
CERT_DAYS = 3650
_LABELS = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}
_FINALIZER_PREFIX = "kueue.x-k8s.io/"


def kueue_version() -> str:
    """``KUEUE_VERSION`` from ``clusters/controlplane/versions.env`` (e.g. ``"v0.17.0"``)."""
    return controlplane.versions()["KUEUE_VERSION"]


def cache_dir() -> Path:
    """``<cache>/bin/kueue-<version>``: the manager binary and the module's manifests."""
    return controlplane.cache_root() / "bin" / f"kueue-{kueue_version()}"


def binary_path() -> Path:
    """Where the manager binary lives once built."""
    return cache_dir() / "kueue"


def built() -> bool:
    """True when the binary and the manifests are in the cache."""
    d = cache_dir()
    return os.access(binary_path(), os.X_OK) and (d / "webhooks.yaml").is_file() and any(d.glob("crd-*.yaml"))


def build(force: bool = False, log: Callable = print) -> Path:
    """Build Kueue's manager into :func:`cache_dir` (unless it is there) and copy the CRDs and the
    webhook manifest from the module; return the binary's path.

    About 3 minutes cold on 2 cores (150–200 s, see ``benchmarks/RESULTS.md``); instant when cached. Raises
    RuntimeError with go's message when the build fails, when the module cannot be downloaded (saying
    what to check), or when a go command runs longer than
    :func:`whyk8s.cluster.controlplane.go_timeout` (a hung download); nothing is left in the cache."""
    if built() and not force:
        return binary_path()
    with controlplane.build_lock("kueue", log=log):
        if built() and not force:  # built by another process while this one waited
            return binary_path()
        return _build(log)


def _build(log: Callable) -> Path:
    v = kueue_version()
    mdir = controlplane.module_dir("kueue")
    target = cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"Building Kueue {v} from the Go module proxy (once per machine, about 3 minutes on 2 cores).")
    started = time.monotonic()
    try:
        info = json.loads(controlplane.go(["mod", "download", "-json", f"sigs.k8s.io/kueue@{v}"], mdir, log=log))
    except RuntimeError as exc:
        if "did not finish within" in str(exc):  # the timeout's message says what to check
            raise
        raise RuntimeError(
            f"Kueue {v} could not be downloaded from the Go module proxy. {exc}\nCheck that this machine "
            f"reaches the proxy (`go env GOPROXY`; behind a proxy set HTTPS_PROXY; offline, point GOPROXY at "
            f"a mirror), then run `whyk8s kueue build` again.") from None
    module = Path(info["Dir"])
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-kueue-") as tmp:
        out = Path(tmp)
        ld = f"-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion={v}"
        controlplane.go(["build", "-trimpath", "-ldflags", ld, "-o", str(out / "kueue"), "sigs.k8s.io/kueue/cmd/kueue"],
                        mdir, log=log)
        for crd in sorted((module / "config" / "components" / "crd" / "bases").glob("*.yaml")):
            shutil.copyfile(crd, out / f"crd-{crd.name}")
        shutil.copyfile(module / "config" / "components" / "webhook" / "manifests.yaml", out / "webhooks.yaml")
        target.mkdir(parents=True, exist_ok=True)
        for f in out.iterdir():
            os.replace(f, target / f.name)
    log(f"Built Kueue in {time.monotonic() - started:.0f} s into {target}")
    return binary_path()


# -- where the running manager keeps its files ---------------------------------------------------------

def state_dir() -> Path:
    """``~/.kwok/clusters/<cluster>/whyk8s-kueue``: configuration, certificates, log, pid."""
    from whyk8s.cluster.kwok import kwok_cluster_dir
    return kwok_cluster_dir() / "whyk8s-kueue"


def pid() -> int | None:
    """The pid of this cluster's running Kueue manager, or None. Only a live process whose executable is
    the course's cached binary counts, so a stale pid file never names another process."""
    try:
        p = int((state_dir() / "kueue.pid").read_text().strip())
        exe = os.path.realpath(f"/proc/{p}/exe")
    except (OSError, ValueError):
        return None
    return p if exe == os.path.realpath(binary_path()) else None


def _kwok_cluster(cluster: Cluster | None) -> Cluster:
    """The guarded connection, refused unless it is the course's kwok cluster (whose API server runs
    on this machine and so can reach a webhook on 127.0.0.1)."""
    from whyk8s.cluster.kwok import kwok_cluster_dir
    from whyk8s.cluster.providers import cluster_name
    cluster = cluster if cluster is not None else connect()
    check_provider_context(cluster.context)
    if cluster.context != f"kwok-{cluster_name()}" or not kwok_cluster_dir().is_dir():
        raise CourseError(
            f"Kueue runs as a local process only against the course's kwok cluster (context "
            f"kwok-{cluster_name()}), whose API server can call its webhooks on 127.0.0.1; the current "
            f"context is {cluster.context}. Start it with `whyk8s cluster up --provider kwok`.")
    return cluster


# -- certificates -------------------------------------------------------------------------------------

def _openssl(args: list[str], cwd: Path) -> None:
    if shutil.which("openssl") is None:
        raise CourseError("The openssl command is needed to make Kueue's webhook certificate; install it.")
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise CourseError(f"`openssl {args[0]}` failed: {proc.stderr.strip()[-500:]}")


def _make_certificates(folder: Path, namespace: str) -> dict[str, bytes]:
    """A self-signed CA (DNS name :data:`CA_NAME`) and a serving certificate it signs for IP 127.0.0.1
    and ``<service>.<namespace>.svc`` (the name Kueue's certificate management verifies), each RSA
    2048, valid :data:`CERT_DAYS` days, keys in PKCS #1. Returns the four PEM files by the Secret's
    keys (``ca.crt``, ``ca.key``, ``tls.crt``, ``tls.key``)."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
              "-days", str(CERT_DAYS), "-subj", f"/O=whyk8s/CN={CA_NAME}",
              "-addext", f"subjectAltName=DNS:{CA_NAME}",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,digitalSignature,keyEncipherment"], folder)
    _openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr",
              "-subj", f"/O=whyk8s/CN={SERVICE_NAME}.{namespace}.svc"], folder)
    (folder / "tls.ext").write_text(
        f"subjectAltName=IP:127.0.0.1,DNS:{SERVICE_NAME}.{namespace}.svc\n"
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n")
    _openssl(["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
              "-out", "tls.crt", "-days", str(CERT_DAYS), "-extfile", "tls.ext"], folder)
    for f in ("ca.key", "tls.key"):
        # PKCS #1 ("RSA PRIVATE KEY"): the form Kueue's certificate management parses the CA key in
        _openssl(["rsa", "-in", f, "-out", f, "-traditional"], folder)
        os.chmod(folder / f, 0o600)
    return {name: (folder / name).read_bytes() for name in ("ca.crt", "ca.key", "tls.crt", "tls.key")}


# -- the manifests ------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def crd_manifests(webhook_port: int, ca_bundle: bytes) -> list[dict]:
    """Kueue's CRDs from the cached module, labelled, the :data:`CONVERTED_CRDS` with webhook conversion
    at ``https://127.0.0.1:<webhook_port>/convert`` (``ca_bundle``: the CA's PEM)."""
    out = []
    for path in sorted(cache_dir().glob("crd-*.yaml")):
        crd = yaml.safe_load(path.read_text())
        crd["metadata"].setdefault("labels", {}).update(_LABELS)
        crd["metadata"].pop("annotations", None)
        if crd["spec"]["names"]["plural"] in CONVERTED_CRDS:
            crd["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {
                "clientConfig": {"url": f"https://127.0.0.1:{webhook_port}/convert",
                                 "caBundle": base64.b64encode(ca_bundle).decode()},
                "conversionReviewVersions": ["v1"]}}
        out.append(crd)
    return out


def webhook_configurations(webhook_port: int, ca_bundle: bytes) -> list[dict]:
    """The module's Mutating- and ValidatingWebhookConfiguration, kept to the webhooks of
    :data:`WEBHOOK_GROUPS`, each calling ``https://127.0.0.1:<webhook_port><path>`` with
    ``ca_bundle``, limited to namespaces labelled ``app.kubernetes.io/part-of=whyk8s`` (cluster-scoped
    kinds such as ClusterQueue are not filtered by a namespaceSelector), named
    :data:`WEBHOOK_CONFIGURATIONS`, labelled."""
    out = []
    for doc in yaml.safe_load_all((cache_dir() / "webhooks.yaml").read_text()):
        if not doc:
            continue
        doc = copy.deepcopy(doc)
        hooks = []
        for hook in doc.get("webhooks") or []:
            groups = {g for rule in hook.get("rules") or [] for g in rule.get("apiGroups") or []}
            if not groups or not groups <= WEBHOOK_GROUPS:
                continue
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {"url": f"https://127.0.0.1:{webhook_port}{path}",
                                    "caBundle": base64.b64encode(ca_bundle).decode()}
            hook["namespaceSelector"] = {"matchLabels": dict(_LABELS)}
            hook.setdefault("timeoutSeconds", 10)
            hooks.append(hook)
        doc["metadata"] = {"name": WEBHOOK_CONFIGURATIONS[doc["kind"]], "labels": dict(_LABELS)}
        doc["webhooks"] = hooks
        out.append(doc)
    return out


def manager_config(namespace: str, ports: dict[str, int], cert_dir: Path) -> dict:
    """Kueue's ``Configuration`` (``config.kueue.x-k8s.io/v1beta2``): namespace = the course namespace
    (where the certificate Secret is), webhook on 127.0.0.1, health probes and metrics on free ports,
    leader election off, client rate limits as in Kueue's shipped configuration (50 requests/s, burst
    100), only the ``batch/job`` integration, ``manageJobsWithoutQueueName: false``
    (a Job without the queue label is left alone), the visibility API server off (it would need an
    APIService)."""
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2", "kind": "Configuration",
        "namespace": namespace,
        "health": {"healthProbeBindAddress": f"127.0.0.1:{ports['health']}"},
        "metrics": {"bindAddress": f"127.0.0.1:{ports['metrics']}"},
        "webhook": {"port": ports["webhook"], "host": "127.0.0.1", "certDir": str(cert_dir)},
        "leaderElection": {"leaderElect": False},
        # the client rate limits of Kueue's shipped config/components/manager/controller_manager_config.yaml
        # (without them the manager allows itself 20 requests/s, burst 30)
        "clientConnection": {"qps": 50, "burst": 100},
        "internalCertManagement": {"enable": True, "webhookServiceName": SERVICE_NAME,
                                   "webhookSecretName": SECRET_NAME},
        "manageJobsWithoutQueueName": False,
        "integrations": {"frameworks": ["batch/job"]},
        "featureGates": {"VisibilityOnDemand": False},
    }


def _kubeconfig(context: str) -> dict:
    """A kubeconfig whose only context is ``context`` (entries copied from the user's files), so the
    manager can reach no other cluster."""
    files = [yaml.safe_load(Path(p).read_text()) or {} for p in kubeconfig_files()]

    def find(section: str, name: str) -> dict:
        for data in files:
            for entry in data.get(section) or []:
                if entry.get("name") == name:
                    return entry
        raise CourseError(f"The kubeconfig defines no {section[:-1]} {name!r}.")

    ctx = find("contexts", context)
    return {"apiVersion": "v1", "kind": "Config", "current-context": context, "contexts": [ctx],
            "clusters": [find("clusters", ctx["context"]["cluster"])],
            "users": [find("users", ctx["context"]["user"])]}


# -- the API acts -------------------------------------------------------------------------------------

def _ignore(status: int | tuple, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except client.ApiException as exc:
        if exc.status not in ((status,) if isinstance(status, int) else status):
            raise
        return None


def _labelled(obj) -> bool:
    labels = (obj.metadata.labels if obj.metadata else None) or {}
    return labels.get(PART_OF_LABEL[0]) == PART_OF_LABEL[1]


def _refuse_foreign(cluster: Cluster) -> None:
    """Raise if Kueue's CRDs or webhook configurations exist without the course label (another
    installation of Kueue: the course does not touch it)."""
    ext = client.ApiextensionsV1Api(cluster.api)
    for crd in ext.list_custom_resource_definition().items:
        if crd.spec.group == GROUP and not _labelled(crd):
            raise CourseError(f"Kueue is already installed on this cluster (CRD {crd.metadata.name} was not "
                              f"made by the course); the course leaves it alone.")
    adm = client.AdmissionregistrationV1Api(cluster.api)
    for kind, name in WEBHOOK_CONFIGURATIONS.items():
        read = adm.read_mutating_webhook_configuration if kind.startswith("M") else \
            adm.read_validating_webhook_configuration
        obj = _ignore(404, read, name)
        if obj is not None and not _labelled(obj):
            raise CourseError(f"{kind} {name} exists and was not made by the course; the course leaves it alone.")


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
        established = set()
        for crd in ext.list_custom_resource_definition(label_selector=_selector()).items:
            if any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])):
                established.add(crd.metadata.name)
        if names <= established:
            return
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"Kueue's CRDs were not Established within {timeout:.0f} s: "
                                   f"{sorted(names - established)}")
        time.sleep(0.2)


def _selector() -> str:
    return f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]}"


def _apply_webhooks(cluster: Cluster, docs: list[dict]) -> None:
    adm = client.AdmissionregistrationV1Api(cluster.api)
    for doc in docs:
        mutating = doc["kind"] == "MutatingWebhookConfiguration"
        name = doc["metadata"]["name"]
        read = adm.read_mutating_webhook_configuration if mutating else adm.read_validating_webhook_configuration
        old = _ignore(404, read, name)
        if old is None:
            (adm.create_mutating_webhook_configuration if mutating else
             adm.create_validating_webhook_configuration)(doc)
        else:
            doc["metadata"]["resourceVersion"] = old.metadata.resource_version
            (adm.replace_mutating_webhook_configuration if mutating else
             adm.replace_validating_webhook_configuration)(name, doc)


def _apply_secret(cluster: Cluster, namespace: str, certs: dict[str, bytes]) -> None:
    body = client.V1Secret(metadata=client.V1ObjectMeta(name=SECRET_NAME, labels=dict(_LABELS)),
                           data={k: base64.b64encode(v).decode() for k, v in certs.items()})
    old = _ignore(404, cluster.core.read_namespaced_secret, SECRET_NAME, namespace)
    if old is None:
        cluster.core.create_namespaced_secret(namespace, body)
    elif not _labelled(old):
        raise CourseError(f"Secret {namespace}/{SECRET_NAME} exists and was not made by the course.")
    else:
        cluster.core.replace_namespaced_secret(SECRET_NAME, namespace, body)


def _log_tail(lines: int = 15) -> str:
    try:
        text = (state_dir() / "kueue.log").read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _ready(ports: dict[str, int]) -> bool:
    """True when the manager's readiness probe answers 200 (asked directly: never through an HTTP proxy
    that the environment may name)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{ports['health']}/readyz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _webhook_answers(cluster: Cluster) -> bool:
    """True once the API server reaches Kueue's webhooks: a dry-run create of a ResourceFlavor (the
    mutating and validating webhooks of resourceflavors are called; nothing is stored)."""
    api = client.CustomObjectsApi(cluster.api)
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ResourceFlavor",
            "metadata": {"name": "whyk8s-webhook-probe", "labels": dict(_LABELS)}, "spec": {}}
    try:
        api.create_cluster_custom_object(GROUP, VERSION, "resourceflavors", body, dry_run="All")
        return True
    except client.ApiException as exc:
        if exc.status == 409:
            return True
        return False


PROBE_FLAVOR = "whyk8s-readiness-probe"


def _controllers_running(cluster: Cluster, proc: subprocess.Popen, deadline: float) -> None:
    """Wait until Kueue's controllers reconcile: a labelled ResourceFlavor :data:`PROBE_FLAVOR` gets
    the finalizer ``kueue.x-k8s.io/resource-in-use`` from the ResourceFlavor controller; then delete
    it and wait until it is gone. (The readiness probe and the webhooks answer a moment before the
    controllers' caches have synced: a Job created then waits a second or two for its Workload.)"""
    api = client.CustomObjectsApi(cluster.api)
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ResourceFlavor",
            "metadata": {"name": PROBE_FLAVOR, "labels": dict(_LABELS)}, "spec": {}}
    _ignore(409, api.create_cluster_custom_object, GROUP, VERSION, "resourceflavors", body)
    gone = False
    while not gone:
        obj = _ignore(404, api.get_cluster_custom_object, GROUP, VERSION, "resourceflavors", PROBE_FLAVOR)
        if obj is None:
            gone = True
        elif "kueue.x-k8s.io/resource-in-use" in (obj["metadata"].get("finalizers") or []) and \
                not obj["metadata"].get("deletionTimestamp"):
            _ignore(404, api.delete_cluster_custom_object, GROUP, VERSION, "resourceflavors", PROBE_FLAVOR)
        if proc.poll() is not None:
            raise CourseError(f"Kueue's manager exited (code {proc.returncode}). End of its log:\n{_log_tail()}")
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"Kueue's controllers did not start within the time given. End of its "
                                   f"log:\n{_log_tail()}")
        if not gone:
            time.sleep(0.1)


@dataclass(frozen=True)
class KueueStatus:
    """What :func:`status` reports: ``running`` (the manager process lives), ``pid``, ``version``,
    ``ports`` (``webhook``, ``health``, ``metrics``; empty when not started), ``crds`` (names of the
    course's Kueue CRDs on the cluster), ``webhook_configurations`` (names on the cluster), ``log``
    (path of the manager's log)."""

    running: bool
    pid: int | None
    version: str
    ports: dict
    crds: tuple[str, ...]
    webhook_configurations: tuple[str, ...]
    log: str

    def __str__(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "not running"
        return (f"Kueue {self.version}: {state}; {len(self.crds)} CRDs, webhook configurations: "
                f"{', '.join(self.webhook_configurations) or 'none'}; ports: "
                f"{', '.join(f'{k} {v}' for k, v in self.ports.items()) or 'none'}; log: {self.log}")


def status(cluster: Cluster | None = None) -> KueueStatus:
    """Whether Kueue runs, and what of it is on the cluster (see :class:`KueueStatus`). Reads only."""
    cluster = _kwok_cluster(cluster)
    ext = client.ApiextensionsV1Api(cluster.api)
    crds = tuple(sorted(c.metadata.name for c in ext.list_custom_resource_definition(label_selector=_selector()).items
                        if c.spec.group == GROUP))
    adm = client.AdmissionregistrationV1Api(cluster.api)
    hooks = [o.metadata.name for o in adm.list_mutating_webhook_configuration(label_selector=_selector()).items]
    hooks += [o.metadata.name for o in adm.list_validating_webhook_configuration(label_selector=_selector()).items]
    try:
        ports = json.loads((state_dir() / "ports.json").read_text())
    except (OSError, ValueError):
        ports = {}
    p = pid()
    return KueueStatus(p is not None, p, kueue_version(), ports if p else {}, crds,
                       tuple(sorted(h for h in hooks if h in WEBHOOK_CONFIGURATIONS.values())),
                       str(state_dir() / "kueue.log"))


def start(cluster: Cluster | None = None, timeout: float = 120, log: Callable = print) -> KueueStatus:
    """Install Kueue on the course's kwok cluster and start its manager (see the module docstring for
    what is made); return its :func:`status`. Does nothing but report when it already runs.

    Builds the binary first if it is not cached (:func:`build`, minutes, once per machine). Waits until
    the manager is ready, the API server reaches its webhooks (a dry-run create answers) and its
    controllers reconcile (a probe ResourceFlavor gets Kueue's finalizer, then is deleted), at most
    ``timeout`` seconds; about 5 s in practice. Raises :class:`~whyk8s.errors.CourseError` off the kwok
    cluster or when another installation of Kueue is there, RuntimeError when the build fails,
    :class:`~whyk8s.errors.WaitTimeoutError` (with the end of the manager's log) when it does not
    become ready, after removing what it made.
    """
    cluster = _kwok_cluster(cluster)
    if pid() is not None:
        return status(cluster)
    build(log=log)
    _refuse_foreign(cluster)
    namespace = cluster.ensure_namespace()
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    cert_dir = folder / "certs"
    certs = _make_certificates(cert_dir, namespace)
    ports = {"webhook": _free_port(), "health": _free_port(), "metrics": _free_port()}
    (folder / "ports.json").write_text(json.dumps(ports))
    config_path = folder / "config.yaml"
    config_path.write_text(yaml.safe_dump(manager_config(namespace, ports, cert_dir), sort_keys=False))
    kubeconfig_path = folder / "kubeconfig"
    kubeconfig_path.write_text(yaml.safe_dump(_kubeconfig(cluster.context), sort_keys=False))
    os.chmod(kubeconfig_path, 0o600)
    started = time.monotonic()
    log(f"Starting Kueue {kueue_version()} (webhooks on 127.0.0.1:{ports['webhook']}; log {folder / 'kueue.log'})")
    try:
        _apply_crds(cluster, crd_manifests(ports["webhook"], certs["ca.crt"]), timeout=timeout)
        _apply_secret(cluster, namespace, certs)
        _apply_webhooks(cluster, webhook_configurations(ports["webhook"], certs["ca.crt"]))
        with open(folder / "kueue.log", "wb") as out:
            proc = subprocess.Popen([str(binary_path()), f"--config={config_path}", f"--kubeconfig={kubeconfig_path}"],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=folder)
        (folder / "kueue.pid").write_text(str(proc.pid))
        deadline = started + timeout
        while not (_ready(ports) and _webhook_answers(cluster)):
            if proc.poll() is not None:
                raise CourseError(f"Kueue's manager exited (code {proc.returncode}). End of its log:\n{_log_tail()}")
            if time.monotonic() > deadline:
                raise WaitTimeoutError(f"Kueue was not ready within {timeout:.0f} s. End of its log:\n{_log_tail()}")
            time.sleep(0.3)
        _controllers_running(cluster, proc, deadline)
    except BaseException:
        stop(cluster, log=lambda *_: None)
        raise
    # reap it when it ends, whoever stops it (`whyk8s cluster down` in a terminal while this kernel
    # lives): otherwise it stays a zombie of this process until the kernel exits
    threading.Thread(target=proc.wait, name="kueue-reaper", daemon=True).start()
    log(f"Kueue is ready in {time.monotonic() - started:.1f} s.")
    return status(cluster)


def delete_course_objects(cluster: Cluster, timeout: float = 30) -> dict[str, int]:
    """Delete the course-labelled LocalQueues (in every namespace), ClusterQueues and ResourceFlavors,
    and wait until they are gone (Kueue keeps a ClusterQueue or ResourceFlavor while Workloads use it,
    through its finalizer). Returns how many of each were deleted. Used by :func:`stop` and
    :func:`whyk8s.lessons.queueing.delete_queues`. Raises
    :class:`~whyk8s.errors.WaitTimeoutError` after ``timeout`` seconds naming what is left. kubectl:
    ``kubectl delete localqueues -A -l app.kubernetes.io/part-of=whyk8s`` then ``kubectl delete
    clusterqueues,resourceflavors -l app.kubernetes.io/part-of=whyk8s``."""
    api = client.CustomObjectsApi(cluster.api)
    counts: dict[str, int] = {}
    for plural in ("localqueues", "clusterqueues", "resourceflavors"):
        for obj in api.list_cluster_custom_object(GROUP, VERSION, plural, label_selector=_selector())["items"]:
            meta = obj["metadata"]
            try:
                if meta.get("namespace"):
                    api.delete_namespaced_custom_object(GROUP, VERSION, meta["namespace"], plural, meta["name"])
                else:
                    api.delete_cluster_custom_object(GROUP, VERSION, plural, meta["name"])
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
                continue
            counts[plural] = counts.get(plural, 0) + 1
    deadline = time.monotonic() + timeout
    while True:
        left = [f"{p}/{o['metadata']['name']}" for p in ("localqueues", "clusterqueues", "resourceflavors")
                for o in api.list_cluster_custom_object(GROUP, VERSION, p, label_selector=_selector())["items"]]
        if not left:
            return counts
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"Kueue objects not deleted within {timeout:.0f} s: {', '.join(left)}")
        time.sleep(0.2)


def _remove_finalizers(api: client.CustomObjectsApi, plural: str, obj: dict) -> None:
    meta = obj["metadata"]
    kept = [f for f in meta.get("finalizers") or [] if not f.startswith(_FINALIZER_PREFIX)]
    if kept == (meta.get("finalizers") or []):
        return
    patch = {"metadata": {"finalizers": kept or None}}
    if meta.get("namespace"):
        _ignore(404, api.patch_namespaced_custom_object, GROUP, VERSION, meta["namespace"], plural, meta["name"], patch)
    else:
        _ignore(404, api.patch_cluster_custom_object, GROUP, VERSION, plural, meta["name"], patch)


def _gone(p: int) -> bool:
    """True when process ``p`` no longer exists or is a zombie (exited, not yet reaped)."""
    try:
        stat = Path(f"/proc/{p}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _terminate(p: int, grace: float = 10) -> None:
    """SIGTERM ``p`` (the manager shuts down cleanly), SIGKILL after ``grace`` seconds; reap it when it
    is this process's child (started by :func:`start` in the same Python), so no zombie stays."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                if os.waitpid(p, os.WNOHANG)[0] == p:
                    return
            except ChildProcessError:  # not our child: its parent (or init) reaps it
                if _gone(p):
                    return
            time.sleep(0.1)


def stop(cluster: Cluster | None = None, timeout: float = 60, log: Callable = print) -> None:
    """Remove exactly what :func:`start` made, in an order that leaves nothing stuck: the course's
    queues and flavors (while the manager still runs, so it releases their finalizers), the manager
    process, the webhook configurations, the Secret, the CRDs (with any Kueue object left in them,
    after removing Kueue's finalizers, which no manager would release any more), and the files in
    :func:`state_dir`. Objects without the course label are never touched, but those inside the
    course's CRDs go with them. Safe to call when nothing runs. Raises
    :class:`~whyk8s.errors.WaitTimeoutError` if the CRDs are not gone after ``timeout`` seconds."""
    cluster = _kwok_cluster(cluster)
    ext = client.ApiextensionsV1Api(cluster.api)
    ours = {c.metadata.name: c for c in ext.list_custom_resource_definition(label_selector=_selector()).items
            if c.spec.group == GROUP}
    api = client.CustomObjectsApi(cluster.api)
    if pid() is not None and ours:
        try:
            delete_course_objects(cluster, timeout=min(timeout, 20))
        except (WaitTimeoutError, client.ApiException):
            pass  # what is left goes with the CRDs below
    p = pid()
    if p is not None:
        log(f"Stopping Kueue (pid {p})")
        _terminate(p)
    adm = client.AdmissionregistrationV1Api(cluster.api)
    for obj in adm.list_mutating_webhook_configuration(label_selector=_selector()).items:
        if obj.metadata.name in WEBHOOK_CONFIGURATIONS.values():
            _ignore(404, adm.delete_mutating_webhook_configuration, obj.metadata.name)
    for obj in adm.list_validating_webhook_configuration(label_selector=_selector()).items:
        if obj.metadata.name in WEBHOOK_CONFIGURATIONS.values():
            _ignore(404, adm.delete_validating_webhook_configuration, obj.metadata.name)
    secret = _ignore(404, cluster.core.read_namespaced_secret, SECRET_NAME, cluster.namespace)
    if secret is not None and _labelled(secret):
        _ignore(404, cluster.core.delete_namespaced_secret, SECRET_NAME, cluster.namespace)
    for name, crd in ours.items():
        plural = crd.spec.names.plural
        served = any(v.name == VERSION and v.served for v in crd.spec.versions)
        if served:
            for obj in api.list_cluster_custom_object(GROUP, VERSION, plural).get("items", []):
                _remove_finalizers(api, plural, obj)
        _ignore(404, ext.delete_custom_resource_definition, name)
    deadline = time.monotonic() + timeout
    while True:
        left = [c.metadata.name for c in ext.list_custom_resource_definition(label_selector=_selector()).items
                if c.spec.group == GROUP]
        if not left:
            break
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"Kueue's CRDs were not deleted within {timeout:.0f} s: {left}")
        for name in left:  # objects created meanwhile, with finalizers
            crd = _ignore(404, ext.read_custom_resource_definition, name)
            if crd is not None:
                for obj in (_ignore(404, api.list_cluster_custom_object, GROUP, VERSION, crd.spec.names.plural)
                            or {}).get("items", []):
                    _remove_finalizers(api, crd.spec.names.plural, obj)
        time.sleep(0.3)
    shutil.rmtree(state_dir(), ignore_errors=True)
    if ours:
        log("Kueue is stopped and removed.")


def remove_if_stopped(cluster: Cluster, log: Callable = print) -> bool:
    """If Kueue's CRDs or webhook configurations made by the course are on the cluster but its manager
    is not running (the machine rebooted, the session that started it ended, ``cluster stop``),
    remove them with :func:`stop` and return True: left behind, the webhooks (``failurePolicy:
    Fail``) would refuse every Job created in the course's namespaces. Returns False when Kueue runs
    or nothing of it is there. Called by the kwok provider's ``up``."""
    if pid() is not None:
        return False
    st = status(cluster)
    if not (st.crds or st.webhook_configurations):
        return False
    stop(cluster, log=lambda *_: None)
    log("Kueue's manager was not running: removed what it had installed (`whyk8s kueue up` starts it again).")
    return True


def kill(log: Callable = print) -> None:
    """Stop the manager process only (used when the cluster itself is deleted: its objects go with it)."""
    p = pid()
    if p is not None:
        log(f"Stopping Kueue (pid {p})")
        _terminate(p)
    shutil.rmtree(state_dir(), ignore_errors=True)
