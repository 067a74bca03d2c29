"""An upstream controller run as a local process against the course's kwok API server: what Kueue
(:mod:`whyk8s.cluster.kueue`) and Karpenter with its kwok provider (:mod:`whyk8s.cluster.karpenter`)
share.

Each is a :class:`LocalController`: one configuration (its name, its Go module and main package, the
files its build keeps beside the binary, the CRD groups it installs, the sentences it says) and a
few hooks the configuration fills in (what it writes before the process starts, what it installs,
when it is ready, what it leaves behind and how that goes). The machinery is here once:

- the build (:meth:`LocalController.build`): ``go mod download`` then ``go build`` of the pinned
  version in ``clusters/controlplane/<slug>/``, under :func:`whyk8s.cluster.controlplane.build_lock`
  (two kernels starting it at once build it once), into ``<cache>/bin/<slug>-<version>/`` with the
  module's manifests, through a temporary folder, so a failed build leaves nothing in the cache;
- the state folder ``~/.kwok/clusters/<cluster>/whyk8s-<slug>/`` (kubeconfig holding only the course
  context, ports, log, pid; deleted with the cluster), and :meth:`LocalController.pid`, which counts
  only a live process whose executable is the course's cached binary;
- the guard (:meth:`LocalController.guard`): the course's kwok cluster only;
- the start: the process runs in a session of its own (``start_new_session``), so it is outside the
  kernel's process group, which Jupyter signals to interrupt, restart or shut down a kernel
  (jupyter_client's ``LocalProvisioner.send_signal`` uses ``os.killpg``): a kernel restart or
  interrupt does not stop it, and it keeps running
  until :meth:`LocalController.stop`, ``whyk8s <slug> down`` or ``whyk8s cluster stop``/``down``; a
  reaper thread waits on it, so whoever stops it, it never stays a zombie of the process that
  started it; when it does not become ready, everything it made is removed and the end of its log
  is in the error;
- the stop: the course's objects first (while the process still runs, so it releases its own
  finalizers), SIGTERM then SIGKILL, then what the process cannot release any more, the course's
  CRDs (after dropping the controller's finalizers from what is left in them) and the state folder.

Every object made carries ``app.kubernetes.io/part-of=whyk8s``; nothing without that label is deleted,
but objects inside the course's CRDs go with them. Sources: kubernetes.io, "Extend the Kubernetes API
with CustomResourceDefinitions" (deleting a CRD deletes its objects; finalizers);
``setsid(2)`` (a new session has no controlling terminal and its own process group).
"""

from __future__ import annotations

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

__all__ = ["LABELS", "selector", "labelled", "ignore", "free_port", "kubeconfig_for", "terminate", "kept",
           "Launch", "ProcessStatus", "LocalController"]

#: The course label, as a dict for an object's ``metadata.labels``.
LABELS = {PART_OF_LABEL[0]: PART_OF_LABEL[1]}


def selector() -> str:
    """The course label as a label selector: ``app.kubernetes.io/part-of=whyk8s``."""
    return f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]}"


def labelled(obj) -> bool:
    """True when the API object (a kubernetes-client model) carries the course label."""
    labels = (obj.metadata.labels if obj.metadata else None) or {}
    return labels.get(PART_OF_LABEL[0]) == PART_OF_LABEL[1]


def ignore(status: int | tuple, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or None when it raises an ApiException with HTTP ``status`` (one code
    or a tuple of them); any other error is raised."""
    try:
        return fn(*args, **kwargs)
    except client.ApiException as exc:
        if exc.status not in ((status,) if isinstance(status, int) else status):
            raise
        return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kubeconfig_for(context: str) -> dict:
    """A kubeconfig whose only context is ``context`` (entries copied from the user's files), so the
    process can reach no other cluster. Raises :class:`~whyk8s.errors.CourseError` when an entry is
    missing."""
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


def _gone(p: int) -> bool:
    """True when process ``p`` no longer exists or is a zombie (exited, not yet reaped)."""
    try:
        stat = Path(f"/proc/{p}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def terminate(p: int, grace: float = 10) -> None:
    """SIGTERM ``p`` (the controller shuts down cleanly), SIGKILL after ``grace`` seconds; reap it when
    it is this process's child (started in the same Python), so no zombie stays."""
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


def kept(finalizers: list | None, prefixes: tuple[str, ...]) -> list | None:
    """``finalizers`` without those starting with one of ``prefixes``, or None when none was dropped."""
    finalizers = finalizers or []
    out = [f for f in finalizers if not f.startswith(prefixes)]
    return None if out == finalizers else out


@dataclass(frozen=True)
class ProcessStatus:
    """What every controller's status says: ``running`` (the process lives), ``pid``, ``version``,
    ``ports`` (by use; empty when not running), ``log`` (the log's path), ``crds`` (names of the
    course's CRDs of the controller on the cluster). A configuration's status adds its own fields."""

    running: bool
    pid: int | None
    version: str
    ports: dict
    log: str
    crds: tuple[str, ...]

    @property
    def state(self) -> str:
        """``running (pid N)`` or ``not running``."""
        return f"running (pid {self.pid})" if self.running else "not running"

    @property
    def ports_text(self) -> str:
        """``webhook 4321, health 4322`` or ``none``."""
        return ", ".join(f"{k} {v}" for k, v in self.ports.items()) or "none"


@dataclass
class Launch:
    """What a configuration's :meth:`LocalController.prepare` gives the start: the ``ports`` it chose
    (written to ``ports.json``), the process's ``args`` and extra ``env``, the ``banner`` logged, and
    anything the install step needs (``extra``)."""

    ports: dict[str, int]
    args: list[str]
    env: dict[str, str]
    banner: str
    extra: dict


class LocalController:
    """One upstream controller run by the course as a local process (see the module docstring).

    A configuration sets the class attributes and fills in the hooks :meth:`prepare`,
    :meth:`install`, :meth:`answers`, :meth:`settle`, :meth:`remove_while_running`,
    :meth:`remove_after_process`, :meth:`leftovers`, :meth:`installed`, :meth:`refuse_foreign` and
    :meth:`status`."""

    #: "Kueue", "Karpenter": the name in every sentence.
    name: str
    #: "kueue", "karpenter": the cache and state folders, the pid and log files, the CLI group.
    slug: str
    #: What exited when the process ends early ("Kueue's manager").
    process_name: str
    #: The key of the version in ``clusters/controlplane/versions.env``.
    version_key: str
    #: The Go module, the main package built, and the variable its version is stamped into.
    module: str
    main_package: str
    version_variable: str
    #: The binary's file name in the cache.
    binary: str
    #: Files the cache must hold beside the binary and the ``crd-*.yaml`` for :meth:`built`.
    required_files: tuple[str, ...] = ()
    #: The groups of the CRDs the course installs (its CRDs are those, labelled).
    crd_groups: tuple[str, ...]
    #: The finalizer prefixes of the controller, dropped by :meth:`stop` once it no longer runs.
    finalizer_prefixes: tuple[str, ...]
    #: The guard's sentence: what runs where, and why only on kwok.
    only_on_kwok: str
    why_kwok: str
    #: The build's first log line (how long it takes) and what could not be downloaded.
    build_note: str
    mirror_note: str = ""
    #: What :meth:`stop` names when the CRDs (and :meth:`leftovers`) stay.
    leftover_words: str = "CRDs"
    #: What :meth:`remove_if_stopped` says it did.
    removed_message: str

    # -- the build -------------------------------------------------------------------------------------

    def version(self) -> str:
        """The pinned version, from ``clusters/controlplane/versions.env``."""
        return controlplane.versions()[self.version_key]

    def build_env(self) -> dict[str, str]:
        """Extra environment for the go commands (Karpenter: ``GOTOOLCHAIN``)."""
        return {}

    def download_what(self) -> str:
        """What the download failure names ("Kueue v0.17.0")."""
        return f"{self.name} {self.version()}"

    def build_files(self, module: Path) -> list[tuple[Path, str]]:
        """``(source in the module, name in the cache)`` of each manifest kept beside the binary."""
        raise NotImplementedError

    def cache_dir(self) -> Path:
        """``<cache>/bin/<slug>-<version>``: the binary and the module's manifests."""
        return controlplane.cache_root() / "bin" / f"{self.slug}-{self.version()}"

    def binary_path(self) -> Path:
        """Where the binary lives once built."""
        return self.cache_dir() / self.binary

    def built(self) -> bool:
        """True when the binary and the manifests are in the cache."""
        d = self.cache_dir()
        return (os.access(self.binary_path(), os.X_OK) and all((d / f).is_file() for f in self.required_files)
                and any(d.glob("crd-*.yaml")))

    def build(self, force: bool = False, log: Callable = print) -> Path:
        """Build the binary into :meth:`cache_dir` unless it is there (under the build lock: a second
        process waits, then finds it built) and copy the manifests; return the binary's path. Raises
        RuntimeError with go's message when the build fails, when the module cannot be downloaded
        (saying what to check), or when a go command runs longer than
        :func:`whyk8s.cluster.controlplane.go_timeout`; nothing is left in the cache."""
        if self.built() and not force:
            return self.binary_path()
        with controlplane.build_lock(self.slug, log=log):
            if self.built() and not force:  # built by another process while this one waited
                return self.binary_path()
            return self._build(log)

    def _build(self, log: Callable) -> Path:
        v = self.version()
        mdir = controlplane.module_dir(self.slug)
        env = self.build_env()
        target = self.cache_dir()
        target.parent.mkdir(parents=True, exist_ok=True)
        log(self.build_note)
        started = time.monotonic()
        try:
            info = json.loads(controlplane.go(["mod", "download", "-json", f"{self.module}@{v}"], mdir,
                                              env=env, log=log))
        except RuntimeError as exc:
            if "did not finish within" in str(exc):  # the timeout's message says what to check
                raise
            raise RuntimeError(
                f"{self.download_what()} could not be downloaded from the Go module proxy. {exc}\nCheck that "
                f"this machine reaches the proxy (`go env GOPROXY`; behind a proxy set HTTPS_PROXY; offline, "
                f"point GOPROXY at a mirror{self.mirror_note}), then run `whyk8s {self.slug} build` again."
            ) from None
        module = Path(info["Dir"])
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".build-{self.slug}-") as tmp:
            out = Path(tmp)
            ld = f"-s -w -X {self.version_variable}={v}"
            controlplane.go(["build", "-trimpath", "-ldflags", ld, "-o", str(out / self.binary), self.main_package],
                            mdir, env=env, log=log)
            for source, name in self.build_files(module):
                shutil.copyfile(source, out / name)
            target.mkdir(parents=True, exist_ok=True)
            for f in out.iterdir():
                os.replace(f, target / f.name)
        log(f"Built {self.name} in {time.monotonic() - started:.0f} s into {target}")
        return self.binary_path()

    # -- where the running process keeps its files -------------------------------------------------------

    def state_dir(self) -> Path:
        """``~/.kwok/clusters/<cluster>/whyk8s-<slug>``: kubeconfig, ports, configuration, log, pid."""
        from whyk8s.cluster.kwok import kwok_cluster_dir
        return kwok_cluster_dir() / f"whyk8s-{self.slug}"

    def log_path(self) -> Path:
        """The process's log (its stdout and stderr)."""
        return self.state_dir() / f"{self.slug}.log"

    def pid(self) -> int | None:
        """The pid of this cluster's running process, or None. Only a live process whose executable is
        the course's cached binary counts, so a stale pid file never names another process."""
        try:
            p = int((self.state_dir() / f"{self.slug}.pid").read_text().strip())
            exe = os.path.realpath(f"/proc/{p}/exe")
        except (OSError, ValueError):
            return None
        return p if exe == os.path.realpath(self.binary_path()) else None

    def ports(self) -> dict:
        """The ports the running process was given (``ports.json``), or ``{}``."""
        try:
            return json.loads((self.state_dir() / "ports.json").read_text())
        except (OSError, ValueError):
            return {}

    def log_tail(self, lines: int = 15) -> str:
        """The last ``lines`` lines of the log, or ``(no log)``."""
        try:
            text = self.log_path().read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    # -- the cluster -----------------------------------------------------------------------------------

    def guard(self, cluster: Cluster | None) -> Cluster:
        """The guarded connection, refused (:class:`~whyk8s.errors.CourseError`) unless it is the
        course's kwok cluster."""
        from whyk8s.cluster.kwok import kwok_cluster_dir
        from whyk8s.cluster.providers import cluster_name
        cluster = cluster if cluster is not None else connect()
        check_provider_context(cluster.context)
        if cluster.context != f"kwok-{cluster_name()}" or not kwok_cluster_dir().is_dir():
            raise CourseError(
                f"{self.only_on_kwok} (context kwok-{cluster_name()}), {self.why_kwok}; the current context is "
                f"{cluster.context}. Start it with `whyk8s cluster up --provider kwok`.")
        return cluster

    def our_crds(self, cluster: Cluster) -> dict:
        """The course-labelled CRDs of :attr:`crd_groups` on the cluster, by name."""
        ext = client.ApiextensionsV1Api(cluster.api)
        return {c.metadata.name: c for c in ext.list_custom_resource_definition(label_selector=selector()).items
                if c.spec.group in self.crd_groups}

    def crd_manifests(self) -> list[dict]:
        """The CRDs from the cached module, labelled, without their annotations."""
        out = []
        for path in sorted(self.cache_dir().glob("crd-*.yaml")):
            crd = yaml.safe_load(path.read_text())
            crd["metadata"].setdefault("labels", {}).update(LABELS)
            crd["metadata"].pop("annotations", None)
            out.append(crd)
        return out

    def apply_crds(self, cluster: Cluster, crds: list[dict], timeout: float) -> None:
        """Create or replace ``crds`` and wait until each is Established. Raises
        :class:`~whyk8s.errors.WaitTimeoutError` after ``timeout`` seconds naming those that are not."""
        ext = client.ApiextensionsV1Api(cluster.api)
        for crd in crds:
            name = crd["metadata"]["name"]
            old = ignore(404, ext.read_custom_resource_definition, name)
            if old is None:
                ext.create_custom_resource_definition(crd)
            else:
                crd["metadata"]["resourceVersion"] = old.metadata.resource_version
                ext.replace_custom_resource_definition(name, crd)
        deadline = time.monotonic() + timeout
        names = {c["metadata"]["name"] for c in crds}
        while True:
            established = {c.metadata.name for c in self.our_crds(cluster).values()
                           if any(x.type == "Established" and x.status == "True" for x in (c.status.conditions or []))}
            if names <= established:
                return
            if time.monotonic() > deadline:
                raise WaitTimeoutError(f"{self.name}'s CRDs were not Established within {timeout:.0f} s: "
                                       f"{sorted(names - established)}")
            time.sleep(0.2)

    def release_objects(self, cluster: Cluster, crd) -> None:
        """Drop the controller's finalizers from every object of ``crd`` (a V1CustomResourceDefinition;
        cluster or namespace scoped; read at its stored version, so no conversion webhook is called),
        so that deleting the CRD deletes them."""
        api = client.CustomObjectsApi(cluster.api)
        group, plural = crd.spec.group, crd.spec.names.plural
        version = next((v.name for v in crd.spec.versions if v.served and v.storage), None)
        if version is None:
            return
        for obj in (ignore(404, api.list_cluster_custom_object, group, version, plural) or {}).get("items", []):
            meta = obj["metadata"]
            left = kept(meta.get("finalizers"), self.finalizer_prefixes)
            if left is None:
                continue
            patch = {"metadata": {"finalizers": left or None}}
            if meta.get("namespace"):
                ignore(404, api.patch_namespaced_custom_object, group, version, meta["namespace"], plural,
                       meta["name"], patch)
            else:
                ignore(404, api.patch_cluster_custom_object, group, version, plural, meta["name"], patch)

    def ready_probe(self, ports: dict[str, int]) -> bool:
        """True when the process's readiness probe (``/readyz`` on the ``health`` port) answers 200
        (asked directly: never through an HTTP proxy the environment may name)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://127.0.0.1:{ports['health']}/readyz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def check_alive(self, proc: subprocess.Popen, deadline: float, late: str) -> None:
        """Raise :class:`~whyk8s.errors.CourseError` when ``proc`` has exited,
        :class:`~whyk8s.errors.WaitTimeoutError` (``late``) past ``deadline``; each with the end of the log."""
        if proc.poll() is not None:
            raise CourseError(f"{self.process_name} exited (code {proc.returncode}). End of its log:\n"
                              f"{self.log_tail()}")
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"{late}. End of its log:\n{self.log_tail()}")

    # -- the hooks a configuration fills in -----------------------------------------------------------

    def refuse_foreign(self, cluster: Cluster) -> None:
        """Raise :class:`~whyk8s.errors.CourseError` if another installation is on the cluster."""
        raise NotImplementedError

    def prepare(self, cluster: Cluster, folder: Path, kubeconfig: Path) -> Launch:
        """Choose the ports and write what the process reads into ``folder``."""
        raise NotImplementedError

    def install(self, cluster: Cluster, launch: Launch, timeout: float) -> None:
        """Put on the cluster what must be there before the process starts (the CRDs at least)."""
        self.apply_crds(cluster, self.crd_manifests(), timeout=timeout)

    def answers(self, cluster: Cluster, ports: dict[str, int]) -> bool:
        """True once the process is ready (its readiness probe, by default)."""
        return self.ready_probe(ports)

    def settle(self, cluster: Cluster, proc: subprocess.Popen, deadline: float) -> None:
        """Wait, after :meth:`answers`, until the controllers act (nothing by default)."""

    def remove_while_running(self, cluster: Cluster, crds: dict, timeout: float) -> None:
        """Delete the course's objects while the process runs, so it releases their finalizers."""

    def remove_after_process(self, cluster: Cluster) -> None:
        """Remove, once the process is gone, what it would have released (called again while the CRDs go)."""

    def leftovers(self, cluster: Cluster) -> list[str]:
        """Names of what :meth:`stop` must still see gone beside the CRDs."""
        return []

    def installed(self, cluster: Cluster) -> bool:
        """True when anything the course installed, or the process made, is on the cluster."""
        return bool(self.our_crds(cluster) or self.leftovers(cluster))

    def status(self, cluster: Cluster | None = None):
        """What runs and what of it is on the cluster (the configuration's status dataclass). Reads only."""
        raise NotImplementedError

    def process_status(self, cluster: Cluster) -> dict:
        """The fields of :class:`ProcessStatus`, read now."""
        p = self.pid()
        return {"running": p is not None, "pid": p, "version": self.version(), "ports": self.ports() if p else {},
                "log": str(self.log_path()), "crds": tuple(sorted(self.our_crds(cluster)))}

    # -- start and stop --------------------------------------------------------------------------------

    def start(self, cluster: Cluster | None = None, timeout: float = 120, log: Callable = print):
        """Install and start the controller on the course's kwok cluster (building it first when it is
        not cached); return its :meth:`status`. Does nothing but report when it already runs. Waits
        until :meth:`answers` and :meth:`settle`, at most ``timeout`` seconds; on any failure removes
        what it made (:meth:`stop`) and raises."""
        cluster = self.guard(cluster)
        if self.pid() is not None:
            return self.status(cluster)
        self.build(log=log)
        self.refuse_foreign(cluster)
        folder = self.state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        kubeconfig = folder / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(kubeconfig_for(cluster.context), sort_keys=False))
        os.chmod(kubeconfig, 0o600)
        launch = self.prepare(cluster, folder, kubeconfig)
        (folder / "ports.json").write_text(json.dumps(launch.ports))
        started = time.monotonic()
        log(launch.banner)
        try:
            self.install(cluster, launch, timeout)
            with open(self.log_path(), "wb") as out:
                # a session of its own: not stopped by a kernel restart or an interrupt (see the docstring)
                proc = subprocess.Popen([str(self.binary_path()), *launch.args], stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                        cwd=folder, env={**os.environ, **launch.env} if launch.env else None)
            (folder / f"{self.slug}.pid").write_text(str(proc.pid))
            deadline = started + timeout
            while not self.answers(cluster, launch.ports):
                self.check_alive(proc, deadline, f"{self.name} was not ready within {timeout:.0f} s")
                time.sleep(0.3)
            self.settle(cluster, proc, deadline)
        except BaseException:
            self.stop(cluster, log=lambda *_: None)
            raise
        # reap it when it ends, whoever stops it (`whyk8s cluster down` in a terminal while this kernel
        # lives): otherwise it stays a zombie of this process until the kernel exits
        threading.Thread(target=proc.wait, name=f"{self.slug}-reaper", daemon=True).start()
        log(f"{self.name} is ready in {time.monotonic() - started:.1f} s.")
        return self.status(cluster)

    def stop(self, cluster: Cluster | None = None, timeout: float = 60, log: Callable = print) -> None:
        """Remove exactly what :meth:`start` made (and what the process made), in an order that leaves
        nothing stuck (see the module docstring). Safe to call when nothing runs. Raises
        :class:`~whyk8s.errors.WaitTimeoutError` if the CRDs (or :meth:`leftovers`) are not gone after
        ``timeout`` seconds."""
        cluster = self.guard(cluster)
        ours = self.our_crds(cluster)
        if self.pid() is not None and ours:
            self.remove_while_running(cluster, ours, timeout)
        p = self.pid()
        if p is not None:
            log(f"Stopping {self.name} (pid {p})")
            terminate(p)
        self.remove_after_process(cluster)
        ext = client.ApiextensionsV1Api(cluster.api)
        for name, crd in ours.items():
            self.release_objects(cluster, crd)
            ignore(404, ext.delete_custom_resource_definition, name)
        deadline = time.monotonic() + timeout
        while True:
            left = self.our_crds(cluster)
            others = self.leftovers(cluster)
            if not left and not others:
                break
            if time.monotonic() > deadline:
                raise WaitTimeoutError(f"{self.name}'s {self.leftover_words} were not deleted within {timeout:.0f} s: "
                                       f"{sorted(left) + others}")
            self.remove_after_process(cluster)  # made meanwhile by a goroutine of the process
            for crd in left.values():  # objects that got a finalizer meanwhile
                self.release_objects(cluster, crd)
            time.sleep(0.3)
        shutil.rmtree(self.state_dir(), ignore_errors=True)
        if ours:
            log(f"{self.name} is stopped and removed.")

    def remove_if_stopped(self, cluster: Cluster, log: Callable = print) -> bool:
        """If what the course installed (or the process made) is on the cluster but the process is not
        running (the machine rebooted, the session that started it ended, ``cluster stop``), remove it
        with :meth:`stop` and return True. Returns False when it runs or nothing of it is there."""
        if self.pid() is not None:
            return False
        cluster = self.guard(cluster)
        if not self.installed(cluster):
            return False
        self.stop(cluster, log=lambda *_: None)
        log(self.removed_message)
        return True

    def kill(self, log: Callable = print) -> None:
        """Stop the process only and delete the state folder (used when the cluster itself is deleted:
        its objects go with it)."""
        p = self.pid()
        if p is not None:
            log(f"Stopping {self.name} (pid {p})")
            terminate(p)
        shutil.rmtree(self.state_dir(), ignore_errors=True)
