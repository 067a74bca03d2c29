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

The machinery (build under the lock, state folder, pid, start in a session of its own with a reaper
thread, stop, CRDs, the guard) is :mod:`whyk8s.cluster.localprocess`; this module is its
configuration for Kueue (:data:`CONTROLLER`).
"""

from __future__ import annotations

import base64
import copy
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml
from kubernetes import client

from whyk8s.cluster.localprocess import LABELS as _LABELS
from whyk8s.cluster.localprocess import Launch, LocalController, ProcessStatus, free_port
from whyk8s.cluster.localprocess import ignore as _ignore
from whyk8s.cluster.localprocess import labelled as _labelled
from whyk8s.cluster.localprocess import selector as _selector
from whyk8s.errors import CourseError, WaitTimeoutError
from whyk8s.k8s.guard import Cluster

__all__ = ["GROUP", "VERSION", "CONVERTED_CRDS", "WEBHOOK_CONFIGURATIONS", "SECRET_NAME",
           "SERVICE_NAME", "QUEUE_LABEL", "KueueStatus", "CONTROLLER", "kueue_version", "cache_dir",
           "binary_path", "built", "build", "state_dir", "pid", "start", "stop", "status",
           "webhook_configurations", "crd_manifests", "manager_config", "delete_course_objects",
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
#: The ResourceFlavor whose finalizer shows Kueue's controllers reconcile (see :meth:`_Kueue.settle`).
PROBE_FLAVOR = "whyk8s-readiness-probe"


class _Kueue(LocalController):
    """Kueue as a :class:`~whyk8s.cluster.localprocess.LocalController`: ``cmd/kueue`` with a
    configuration file, webhooks on 127.0.0.1 with the course's certificate, 11 CRDs."""

    name = "Kueue"
    slug = "kueue"
    process_name = "Kueue's manager"
    version_key = "KUEUE_VERSION"
    module = "sigs.k8s.io/kueue"
    main_package = "sigs.k8s.io/kueue/cmd/kueue"
    version_variable = "sigs.k8s.io/kueue/pkg/version.GitVersion"
    binary = "kueue"
    required_files = ("webhooks.yaml",)
    crd_groups = (GROUP,)
    finalizer_prefixes = ("kueue.x-k8s.io/",)
    only_on_kwok = "Kueue runs as a local process only against the course's kwok cluster"
    why_kwok = "whose API server can call its webhooks on 127.0.0.1"
    removed_message = ("Kueue's manager was not running: removed what it had installed (`whyk8s kueue up` "
                       "starts it again).")

    @property
    def build_note(self) -> str:
        return (f"Building Kueue {self.version()} from the Go module proxy (once per machine, about 3 minutes "
                f"on 2 cores).")

    def build_files(self, module: Path) -> list[tuple[Path, str]]:
        crds = sorted((module / "config" / "components" / "crd" / "bases").glob("*.yaml"))
        return [(crd, f"crd-{crd.name}") for crd in crds] + [
            (module / "config" / "components" / "webhook" / "manifests.yaml", "webhooks.yaml")]

    def refuse_foreign(self, cluster: Cluster) -> None:
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

    def prepare(self, cluster: Cluster, folder: Path, kubeconfig: Path) -> Launch:
        namespace = cluster.ensure_namespace()
        cert_dir = folder / "certs"
        certs = _make_certificates(cert_dir, namespace)
        ports = {"webhook": free_port(), "health": free_port(), "metrics": free_port()}
        config_path = folder / "config.yaml"
        config_path.write_text(yaml.safe_dump(manager_config(namespace, ports, cert_dir), sort_keys=False))
        return Launch(ports, [f"--config={config_path}", f"--kubeconfig={kubeconfig}"], {},
                      f"Starting Kueue {self.version()} (webhooks on 127.0.0.1:{ports['webhook']}; log "
                      f"{self.log_path()})", {"certs": certs, "namespace": namespace})

    def install(self, cluster: Cluster, launch: Launch, timeout: float) -> None:
        ca = launch.extra["certs"]["ca.crt"]
        self.apply_crds(cluster, crd_manifests(launch.ports["webhook"], ca), timeout=timeout)
        _apply_secret(cluster, launch.extra["namespace"], launch.extra["certs"])
        _apply_webhooks(cluster, webhook_configurations(launch.ports["webhook"], ca))

    def answers(self, cluster: Cluster, ports: dict[str, int]) -> bool:
        """The readiness probe answers and the API server reaches Kueue's webhooks."""
        return self.ready_probe(ports) and _webhook_answers(cluster)

    def settle(self, cluster: Cluster, proc: subprocess.Popen, deadline: float) -> None:
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
            self.check_alive(proc, deadline, "Kueue's controllers did not start within the time given")
            if not gone:
                time.sleep(0.1)

    def remove_while_running(self, cluster: Cluster, crds: dict, timeout: float) -> None:
        try:
            delete_course_objects(cluster, timeout=min(timeout, 20))
        except (WaitTimeoutError, client.ApiException):
            pass  # what is left goes with the CRDs

    def remove_after_process(self, cluster: Cluster) -> None:
        """The webhook configurations (with no manager they would refuse every Job in the course's
        namespaces) and the certificate Secret, each only if the course labelled it."""
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

    def installed(self, cluster: Cluster) -> bool:
        st = self.status(cluster)
        return bool(st.crds or st.webhook_configurations)

    def status(self, cluster: Cluster | None = None) -> KueueStatus:
        cluster = self.guard(cluster)
        adm = client.AdmissionregistrationV1Api(cluster.api)
        hooks = [o.metadata.name for o in adm.list_mutating_webhook_configuration(label_selector=_selector()).items]
        hooks += [o.metadata.name for o in adm.list_validating_webhook_configuration(label_selector=_selector()).items]
        return KueueStatus(**self.process_status(cluster), webhook_configurations=tuple(
            sorted(h for h in hooks if h in WEBHOOK_CONFIGURATIONS.values())))


#: Kueue's configuration of the local-process machinery; the functions below are its methods.
CONTROLLER = _Kueue()
# The machinery's own acts under the names the course uses (see LocalController): the version
# (``KUEUE_VERSION`` in ``clusters/controlplane/versions.env``, e.g. "v0.17.0"), the cache folder and
# binary, whether it is built, the state folder, the pid of the running process, what runs and is
# installed (:class:`KueueStatus`), the clean-up of what a dead process left (called by the kwok
# provider's ``up``), the kill of the process alone when the cluster itself is deleted.
(kueue_version, cache_dir, binary_path, built, state_dir, pid, status, remove_if_stopped, kill) = (
    CONTROLLER.version, CONTROLLER.cache_dir, CONTROLLER.binary_path, CONTROLLER.built, CONTROLLER.state_dir,
    CONTROLLER.pid, CONTROLLER.status, CONTROLLER.remove_if_stopped, CONTROLLER.kill)





def build(force: bool = False, log: Callable = print) -> Path:
    """Build Kueue's manager into :func:`cache_dir` (unless it is there) and copy the CRDs
    (``config/components/crd/bases/*.yaml``) and the webhook manifest
    (``config/components/webhook/manifests.yaml``) from the module; return the binary's path.

    About 3 minutes cold on 2 cores (150–200 s, see ``benchmarks/RESULTS.md``); instant when cached. Raises
    RuntimeError with go's message when the build fails, when the module cannot be downloaded (saying
    what to check), or when a go command runs longer than
    :func:`whyk8s.cluster.controlplane.go_timeout` (a hung download); nothing is left in the cache."""
    return CONTROLLER.build(force=force, log=log)




def crd_manifests(webhook_port: int, ca_bundle: bytes) -> list[dict]:
    """Kueue's CRDs from the cached module, labelled, the :data:`CONVERTED_CRDS` with webhook conversion
    at ``https://127.0.0.1:<webhook_port>/convert`` (``ca_bundle``: the CA's PEM)."""
    out = []
    for crd in CONTROLLER.crd_manifests():
        if crd["spec"]["names"]["plural"] in CONVERTED_CRDS:
            crd["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {
                "clientConfig": {"url": f"https://127.0.0.1:{webhook_port}/convert",
                                 "caBundle": base64.b64encode(ca_bundle).decode()},
                "conversionReviewVersions": ["v1"]}}
        out.append(crd)
    return out


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


# -- the API acts -------------------------------------------------------------------------------------

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


@dataclass(frozen=True)
class KueueStatus(ProcessStatus):
    """What :func:`status` reports: ``running`` (the manager process lives), ``pid``, ``version``,
    ``ports`` (``webhook``, ``health``, ``metrics``; empty when not started), ``log`` (path of the
    manager's log), ``crds`` (names of the course's Kueue CRDs on the cluster),
    ``webhook_configurations`` (names on the cluster)."""

    webhook_configurations: tuple[str, ...]

    def __str__(self) -> str:
        return (f"Kueue {self.version}: {self.state}; {len(self.crds)} CRDs, webhook configurations: "
                f"{', '.join(self.webhook_configurations) or 'none'}; ports: {self.ports_text}; log: {self.log}")


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



def start(cluster: Cluster | None = None, timeout: float = 120, log: Callable = print) -> KueueStatus:
    """Install Kueue on the course's kwok cluster and start its manager (see the module docstring for
    what is made); return its :func:`status`. Does nothing but report when it already runs.

    Builds the binary first if it is not cached (:func:`build`, minutes, once per machine). Waits until
    the manager is ready, the API server reaches its webhooks (a dry-run create answers) and its
    controllers reconcile (a probe ResourceFlavor gets Kueue's finalizer, then is deleted), at most
    ``timeout`` seconds; about 5 s in practice. Raises :class:`~whyk8s.errors.CourseError` off the kwok
    cluster or when another installation of Kueue is there, RuntimeError when the build fails,
    :class:`~whyk8s.errors.WaitTimeoutError` (with the end of the manager's log) when it does not
    become ready, after removing what it made. The manager runs in a session of its own: it keeps
    running after a kernel restart, until :func:`stop` (:mod:`whyk8s.cluster.localprocess`).
    """
    return CONTROLLER.start(cluster, timeout=timeout, log=log)


def stop(cluster: Cluster | None = None, timeout: float = 60, log: Callable = print) -> None:
    """Remove exactly what :func:`start` made, in an order that leaves nothing stuck: the course's
    queues and flavors (while the manager still runs, so it releases their finalizers), the manager
    process, the webhook configurations, the Secret, the CRDs (with any Kueue object left in them,
    after removing Kueue's finalizers, which no manager would release any more), and the files in
    :func:`state_dir`. Objects without the course label are never touched, but those inside the
    course's CRDs go with them. Safe to call when nothing runs. Raises
    :class:`~whyk8s.errors.WaitTimeoutError` if the CRDs are not gone after ``timeout`` seconds."""
    CONTROLLER.stop(cluster, timeout=timeout, log=log)
