"""Build the test control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
kubectl, kwok, kwokctl) from the Go module proxy, and cache the binaries per user.

Used where kwokctl cannot download release binaries (our machines and CI reach only package
registries). Versions are pinned in ``clusters/controlplane/versions.env`` and the three wrapper Go
modules beside it (their ``go.mod``/``go.sum`` are committed):

- ``kubernetes/``: requires ``k8s.io/kubernetes`` and replaces each staging module (``k8s.io/api``,
  ``k8s.io/apimachinery``, ...) with its published ``v0.X.Y`` twin; the list is generated from the
  kubernetes ``go.mod`` served by the proxy (:func:`staging_replacements`, ``whyk8s controlplane pin``);
- ``etcd/``: a ``main`` around ``go.etcd.io/etcd/server/v3/etcdmain``;
- ``kwok/``: requires ``sigs.k8s.io/kwok`` for ``cmd/kwok`` and ``cmd/kwokctl``.

The cache folder is ``$WHYK8S_CACHE`` or ``$XDG_CACHE_HOME/whyk8s`` (default ``~/.cache/whyk8s``),
then ``bin/<key>`` where the key joins the three versions, so only the first ``cluster up`` on a
machine builds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from whyk8s.paths import repo_root

__all__ = ["BINARIES", "versions", "cache_root", "cache_dir", "binary_paths", "missing", "build",
           "go", "staging_replacements", "pin_kubernetes", "version_ldflags", "go_timeout", "GO_TIMEOUT",
           "GO_TIMEOUT_ENV", "build_lock"]

#: Every binary the kwok provider needs, by name.
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl",
            "kwok", "kwokctl")
_KUBE_CMDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")


def module_dir(name: str = "") -> Path:
    """``clusters/controlplane/<name>`` of the checkout."""
    return repo_root() / "clusters" / "controlplane" / name


def versions() -> dict[str, str]:
    """Pinned versions: ``{"KUBERNETES_VERSION": "v1.36.1", "ETCD_VERSION": ..., "KWOK_VERSION": ...}``."""
    out = {}
    for line in (module_dir() / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def cache_root() -> Path:
    """The course's cache folder: ``$WHYK8S_CACHE``, else ``$XDG_CACHE_HOME/whyk8s`` (default
    ``~/.cache/whyk8s``); not created here."""
    return Path(os.environ.get("WHYK8S_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "whyk8s"))


def cache_dir() -> Path:
    """Folder holding the binaries for the pinned versions (not created here)."""
    v = versions()
    key = f"k8s-{v['KUBERNETES_VERSION']}_etcd-{v['ETCD_VERSION']}_kwok-{v['KWOK_VERSION']}"
    return cache_root() / "bin" / key


def binary_paths() -> dict[str, Path]:
    """Where each of :data:`BINARIES` lives in the cache."""
    return {name: cache_dir() / name for name in BINARIES}


def missing() -> list[str]:
    """Names of the binaries not yet in the cache."""
    return [n for n, p in binary_paths().items() if not os.access(p, os.X_OK)]


def staging_replacements(kubernetes_gomod: str, kubernetes_version: str) -> dict[str, str]:
    """From the text of ``k8s.io/kubernetes``'s ``go.mod``, the staging replacements to use outside
    the kubernetes tree: ``{"k8s.io/api": "k8s.io/api@v0.36.1", ...}`` (``v1.X.Y`` → ``v0.X.Y``).

    Raises ValueError if the version is not ``v1.X.Y`` or the file names no staging module.
    """
    m = re.fullmatch(r"v1\.(\d+)\.(\d+)", kubernetes_version)
    if not m:
        raise ValueError(f"Kubernetes version {kubernetes_version!r} is not of the form v1.X.Y.")
    twin = f"v0.{m.group(1)}.{m.group(2)}"
    found = re.findall(r"^\s*(?:replace\s+)?(k8s\.io/[A-Za-z0-9._/-]+)\s+=>\s+\./staging/src/\1\s*$",
                       kubernetes_gomod, flags=re.M)
    if not found:
        raise ValueError("The kubernetes go.mod names no ./staging/src replacement.")
    return {mod: f"{mod}@{twin}" for mod in sorted(set(found))}


#: Environment variable: the most seconds one ``go`` command may take (default :data:`GO_TIMEOUT`).
GO_TIMEOUT_ENV = "WHYK8S_GO_TIMEOUT"
#: Default limit of one ``go`` command, in seconds: a cold build of the kube binaries takes 10-15
#: minutes on 2 cores; a module download that hangs (no network, a proxy that never answers) must not
#: block ``cluster up`` forever.
GO_TIMEOUT = 2700


def go_timeout() -> float:
    """Seconds one ``go`` command may take: ``$WHYK8S_GO_TIMEOUT`` or :data:`GO_TIMEOUT`. Raises
    ValueError for a value that is not a positive number."""
    text = os.environ.get(GO_TIMEOUT_ENV, "").strip()
    if not text:
        return GO_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{GO_TIMEOUT_ENV}={text!r}: give the most seconds one go command may take, e.g. 3600.")
    return value


def go(args: list[str], cwd: Path, env: dict | None = None, log=print, timeout: float | None = None) -> str:
    """Run ``go <args>`` in ``cwd`` (CGO off, ``-mod=mod``) and return its output. Raises RuntimeError
    when Go is missing, when go fails (with the end of its message), or when it runs longer than
    ``timeout`` seconds (default :func:`go_timeout`): then go and every process it started are killed
    and the message says what to check."""
    if shutil.which("go") is None:
        raise RuntimeError("The Go toolchain is not installed; it is needed to build the test control "
                           "plane (or install kind and Docker and use `whyk8s cluster up --provider kind`).")
    timeout = go_timeout() if timeout is None else timeout
    full_env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod -buildvcs=false", **(env or {})}
    log("+ go " + " ".join(args))
    # a session of its own, so that a timeout kills go's compilers and downloads with it
    proc = subprocess.Popen(["go", *args], cwd=cwd, env=full_env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise RuntimeError(
            f"`go {' '.join(args[:2])} …` did not finish within {timeout / 60:.0f} min and was stopped. "
            f"If it hangs downloading modules, check that this machine reaches the Go module proxy "
            f"(`go env GOPROXY`; behind a proxy set HTTPS_PROXY, offline point GOPROXY at a mirror). On a "
            f"slow machine, allow more time with {GO_TIMEOUT_ENV}=<seconds>. Or use kind with Docker: "
            f"`whyk8s cluster up --provider kind`.") from None
    if proc.returncode != 0:
        raise RuntimeError(f"`go {' '.join(args)}` failed in {cwd}:\n{stderr[-4000:]}")
    return stdout


def pin_kubernetes(log=print) -> dict[str, str]:
    """Rewrite ``kubernetes/go.mod`` for the pinned version: require it, replace every staging module
    (generated from the proxy's go.mod), tidy. A maintainer's step; commit the result."""
    version = versions()["KUBERNETES_VERSION"]
    mdir = module_dir("kubernetes")
    info = json.loads(go(["mod", "download", "-json", f"k8s.io/kubernetes@{version}"], mdir, log=log))
    replacements = staging_replacements(Path(info["GoMod"]).read_text(), version)
    args = ["mod", "edit", f"-require=k8s.io/kubernetes@{version}"]
    args += [f"-replace={mod}={target}" for mod, target in replacements.items()]
    go(args, mdir, log=log)
    go(["mod", "tidy"], mdir, log=log)
    return replacements


def version_ldflags(kubernetes_version: str) -> str:
    """``-X`` flags that stamp the real version into the kube binaries, so that ``--version`` (which
    kwokctl reads) prints it."""
    m = re.fullmatch(r"v1\.(\d+)\.(\d+)", kubernetes_version)
    if not m:
        raise ValueError(f"Kubernetes version {kubernetes_version!r} is not of the form v1.X.Y.")
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.gitVersion={kubernetes_version}", f"-X {pkg}.gitMajor=1",
                  f"-X {pkg}.gitMinor={m.group(1)}", f"-X {pkg}.gitTreeState=clean"]
    return "-s -w " + " ".join(flags)


@contextlib.contextmanager
def build_lock(name: str, log=print):
    """Hold ``<cache>/bin/.<name>.lock`` (an exclusive ``flock``) for the duration of one build, so two
    processes building the same thing (``make test``'s background builds and a test that needs the
    binary now) build it once: the second waits, then finds it built. Released when the block ends,
    or when the process dies (the kernel drops the lock)."""
    folder = cache_root() / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{name}.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"Another process is building {name}; waiting for it to finish.")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build(force: bool = False, log=print) -> dict[str, Path]:
    """Build every missing binary into :func:`cache_dir` and return their paths.

    Builds into a temporary folder beside the cache and moves the results in, so an interrupted
    build leaves no half binary. Takes tens of minutes cold on 2 cores (see the README's figures);
    seconds when cached. Raises RuntimeError with go's message if a build fails, or when one go
    command runs longer than :func:`go_timeout` (``$WHYK8S_GO_TIMEOUT``, default 45 min).
    """
    if not force and not missing():
        return binary_paths()
    with build_lock("control-plane", log=log):
        if not force and not missing():
            return binary_paths()
        return _build(force, log)


def _build(force: bool, log) -> dict[str, Path]:
    target = cache_dir()
    v = versions()
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"Building the test control plane (Kubernetes {v['KUBERNETES_VERSION']}, etcd {v['ETCD_VERSION']}, "
        f"kwok {v['KWOK_VERSION']}) from the Go module proxy. This happens once per machine and takes "
        f"about 10-15 minutes on 2 cores; later runs start the cluster in seconds.")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        out = Path(tmp)
        if force or any(n in missing() for n in _KUBE_CMDS):
            go(["build", "-trimpath", "-ldflags", version_ldflags(v["KUBERNETES_VERSION"]),
                 "-o", str(out) + "/", *[f"k8s.io/kubernetes/cmd/{c}" for c in _KUBE_CMDS]],
                module_dir("kubernetes"), log=log)
        if force or "etcd" in missing():
            go(["build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "etcd"), "."],
                module_dir("etcd"), log=log)
        if force or {"kwok", "kwokctl"} & set(missing()):
            kv = v["KWOK_VERSION"]
            ld = (f"-s -w -X sigs.k8s.io/kwok/pkg/consts.Version={kv} "
                  f"-X sigs.k8s.io/kwok/pkg/consts.KubeVersion={v['KUBERNETES_VERSION']}")
            go(["build", "-trimpath", "-ldflags", ld, "-o", str(out) + "/",
                 "sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/kwok/cmd/kwokctl"],
                module_dir("kwok"), log=log)
        target.mkdir(parents=True, exist_ok=True)
        for built in out.iterdir():
            os.replace(built, target / built.name)
    log(f"Built the control plane in {time.monotonic() - started:.0f} s into {target}")
    return binary_paths()
