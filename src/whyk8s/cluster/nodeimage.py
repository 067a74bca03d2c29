"""The kind route without a registry: build a kind node image and the course's images on this machine.

Learners with Docker use kind's published node image (``KIND_NODE_IMAGE`` in
``clusters/controlplane/versions.env``, pinned by digest) and pull the course's public images. A
machine that reaches no container registry (this project's CI) builds the equivalent here, every
piece from Debian packages, the Go module proxy and one C file:

- **root file system**: ``debootstrap`` of Debian ``DEBIAN_SUITE`` (systemd, containerd, runc, the
  CNI plugins, iptables), then the files and steps of kind's base image (``images/base/files`` and
  ``images/base/Dockerfile`` of the ``sigs.k8s.io/kind`` module at ``KIND_VERSION``);
- **binaries**: kubelet, kubeadm, kube-proxy and kubectl from ``k8s.io/kubernetes`` (built as the kwok
  route's control plane is, :mod:`whyk8s.cluster.controlplane`, whose kube-apiserver,
  kube-controller-manager, kube-scheduler and etcd are reused), crictl, CoreDNS and kind itself with
  ``go install``; pause compiled from the ``build/pause/linux/pause.c`` of the kubernetes module;
- **images**: each binary in a one-layer image (``docker import``), tagged as ``kubeadm config images
  list`` asks; busybox (Debian's build) and pause under the names the course uses;
- **the node image**: the root file system with the binaries, and the images imported and pinned in
  containerd's ``k8s.io`` namespace, as ``kind build node-image`` does (which cannot run offline: it
  fetches etcd, CoreDNS, pause and its CNI image from a registry unconditionally).

What differs from kind's own node image, and why: no kindnetd (its Go module is not on the proxy): the
kind provider gives each node the ``ptp`` CNI plugin and routes to the other nodes' pod ranges, which
is what kindnetd does (:func:`whyk8s.cluster.kind.configure_pod_network`); no local-path-provisioner
(kind falls back to its legacy host-path StorageClass; the course uses no volumes); Debian's
containerd 1.6 and runc 1.1 instead of kind's newer builds; etcd ``ETCD_VERSION`` wears the tag kubeadm
asks for (a label on the node image records the real versions); busybox is Debian's 1.35 build (with
the C library it links) under the ``busybox:1.36`` name the course uses.

Everything is cached per machine under ``<cache>/kind/<key>/`` (:func:`cache_dir`; the key joins the
pinned versions and :data:`RECIPE`), and the node image is tagged :func:`node_image_name`, so only the
first build on a machine takes minutes. Needs root (debootstrap, chroot), Docker, Go, gcc with static
libc (``libc6-dev``) and debootstrap.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from whyk8s.cluster import controlplane, providers
from whyk8s.errors import CourseError

__all__ = ["RECIPE", "PACKAGES", "COURSE_IMAGES", "versions", "bin_dir", "cache_dir", "node_image_name",
           "published_node_image", "image_exists", "kind_binary", "build_kind", "build", "debian_mirror",
           "NodeImageError"]

#: Bump when the recipe below changes: it is part of the cache key and of the node image's tag.
RECIPE = "3"

#: Debian packages of the node's root file system (kind's base image list, with Debian's
#: containerd, runc and CNI plugins instead of kind's own builds, and busybox for the course's busybox
#: image: the dynamically linked build, since a static glibc program cannot look up host names).
PACKAGES = ("systemd", "conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux", "mount",
            "kmod", "libseccomp2", "pigz", "fuse-overlayfs", "bash", "ca-certificates", "curl", "jq",
            "procps", "runc", "containerd", "containernetworking-plugins", "busybox")

#: The images the course's chapters, labs and tests run, by the name they use; on the kind route
#: without a registry they are built here and ``kind load``-ed into the nodes.
COURSE_IMAGES = ("busybox:1.36", "registry.k8s.io/pause:3.10.1", "registry.k8s.io/pause:3.10",
                 "registry.k8s.io/pause:3.9")

ENTRYPOINT = '["/usr/local/bin/entrypoint", "/sbin/init"]'


class NodeImageError(CourseError):
    """A step of the node-image build failed; the message names the step and the end of its output."""


def versions() -> dict[str, str]:
    """The pinned versions (``clusters/controlplane/versions.env``)."""
    return controlplane.versions()


def _key() -> str:
    v = versions()
    return (f"k8s-{v['KUBERNETES_VERSION']}_kind-{v['KIND_VERSION']}_crictl-{v['CRICTL_VERSION']}"
            f"_coredns-{v['COREDNS_VERSION']}_{v['DEBIAN_SUITE']}")


def bin_dir() -> Path:
    """``<cache>/kind/bin/<versions>``: the binaries (kind, kubelet, ..., pause), kept across recipes."""
    return controlplane.cache_root() / "kind" / "bin" / _key()


def cache_dir() -> Path:
    """``<cache>/kind/<versions>_r<RECIPE>``: the root file system and image folders of this recipe."""
    return controlplane.cache_root() / "kind" / f"{_key()}_r{RECIPE}"


def node_image_name() -> str:
    """The locally built node image, e.g. ``whyk8s.local/kind-node:v1.36.1-r1`` (never pushed)."""
    return f"whyk8s.local/kind-node:{versions()['KUBERNETES_VERSION']}-r{RECIPE}"


def published_node_image() -> str:
    """kind's published node image for the course's Kubernetes minor, pinned by digest (from the
    release notes of ``KIND_VERSION``)."""
    return versions()["KIND_NODE_IMAGE"]


def _run(cmd: list[str], step: str, log: Callable = print, timeout: float = 3600) -> subprocess.CompletedProcess:
    """:func:`whyk8s.cluster.providers.run` for one build step: its failure becomes a
    :class:`NodeImageError` that names ``step`` (and, for a missing program, what to install)."""
    try:
        return providers.run(cmd, log=log, timeout=timeout)
    except providers.CommandError as e:
        hint = (" (as root: apt-get install docker.io debootstrap gcc libc6-dev)"
                if shutil.which(cmd[0]) is None and os.sep not in cmd[0] else "")
        raise NodeImageError(f"{step}: {e}{hint}") from None


def image_exists(name: str) -> bool:
    """True when the Docker engine has an image ``name``."""
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


def kind_binary() -> str | None:
    """The ``kind`` command: the one on PATH, else the one :func:`build_kind` left in the cache."""
    found = shutil.which("kind")
    if found:
        return found
    cached = bin_dir() / "kind"
    return str(cached) if os.access(cached, os.X_OK) else None


def _go_install(package: str, gobin: Path, log: Callable) -> None:
    with tempfile.TemporaryDirectory() as tmp:  # outside any module: the package's own go.mod counts
        controlplane.go(["install", "-trimpath", "-ldflags", "-s -w", package], Path(tmp),
                        env={"GOBIN": str(gobin), "GOFLAGS": "-buildvcs=false"}, log=log)


def build_kind(log: Callable = print) -> str:
    """``go install sigs.k8s.io/kind@KIND_VERSION`` into the cache (unless there) and return its path."""
    target = bin_dir()
    if not os.access(target / "kind", os.X_OK):
        target.mkdir(parents=True, exist_ok=True)
        _go_install(f"sigs.k8s.io/kind@{versions()['KIND_VERSION']}", target, log)
    return str(target / "kind")


def _module_dir(module: str, log: Callable) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        info = json.loads(controlplane.go(["mod", "download", "-json", module], Path(tmp),
                                          env={"GOFLAGS": ""}, log=log))
    return Path(info["Dir"])


def _build_binaries(log: Callable) -> Path:
    """Every binary of the node image and its images, in :func:`bin_dir`."""
    v = versions()
    out = bin_dir()
    out.mkdir(parents=True, exist_ok=True)
    node_cmds = ("kubelet", "kubeadm", "kube-proxy", "kubectl")
    if any(not os.access(out / c, os.X_OK) for c in node_cmds):
        controlplane.go(["build", "-trimpath", "-ldflags", controlplane.version_ldflags(v["KUBERNETES_VERSION"]),
                         "-o", str(out) + "/", *[f"k8s.io/kubernetes/cmd/{c}" for c in node_cmds]],
                        controlplane.module_dir("kubernetes"), log=log)
    if not os.access(out / "crictl", os.X_OK):
        _go_install(f"sigs.k8s.io/cri-tools/cmd/crictl@{v['CRICTL_VERSION']}", out, log)
    if not os.access(out / "coredns", os.X_OK):
        _go_install(f"github.com/coredns/coredns@{v['COREDNS_VERSION']}", out, log)
    build_kind(log)
    if not os.access(out / "pause", os.X_OK):
        source = _module_dir(f"k8s.io/kubernetes@{v['KUBERNETES_VERSION']}", log) / "build/pause/linux/pause.c"
        _run(["gcc", "-Os", "-Wall", "-Werror", "-static", f"-DVERSION={v['KUBERNETES_VERSION']}-whyk8s",
              "-o", str(out / "pause"), str(source)], "pause (gcc -static)", log)
    for name, path in controlplane.build(log=log).items():  # kube-apiserver, ..., etcd
        if name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
            if not (out / name).exists():
                shutil.copy2(path, out / name)
    return out


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine: the first ``URIs:`` (deb822 ``.sources``) or
    ``deb <uri>`` (``.list``) entry that names a ``debian`` archive other than the security one, in an
    enabled file; else ``http://deb.debian.org/debian``."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.sources")),
             *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for path in files:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if words[0] == "URIs:" or (words[0] == "deb" and len(words) > 1):
                for uri in words[1:]:
                    if uri.startswith(("http://", "https://")) and uri.rstrip("/").endswith("/debian"):
                        return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def _rootfs(log: Callable) -> Path:
    """The Debian root file system with kind's base-image files and steps applied (cached)."""
    root = cache_dir() / "rootfs"
    if (root / ".whyk8s-complete").exists():
        return root
    if os.geteuid() != 0:
        raise NodeImageError("Building the kind node image needs root (debootstrap and chroot). Run it "
                             "as root, or use kind's published node image (unset WHYK8S_KIND_NODE_IMAGE).")
    shutil.rmtree(root, ignore_errors=True)
    tmp = cache_dir() / ".rootfs-build"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    _run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), versions()["DEBIAN_SUITE"],
          str(tmp), debian_mirror()], "debootstrap", log)
    shutil.rmtree(tmp / "var/cache/apt/archives", ignore_errors=True)
    _apply_kind_base(tmp, log)
    (tmp / ".whyk8s-complete").write_text("")
    os.replace(tmp, root)
    return root


def _apply_kind_base(root: Path, log: Callable) -> None:
    """What kind's ``images/base/Dockerfile`` does to its Debian image, done to ``root``."""
    files = _module_dir(f"sigs.k8s.io/kind@{versions()['KIND_VERSION']}", log) / "images/base/files"
    shutil.copytree(files, root, dirs_exist_ok=True, symlinks=True)
    for path in root.joinpath("kind").rglob("*"):
        path.chmod(0o755 if path.is_dir() or path.parent.name == "bin" else 0o644)
    for rel in ("etc/systemd/system", "etc/containerd", "etc/default", "etc/sysctl.d"):
        for path in (files / rel).rglob("*"):
            if path.is_file():
                (root / path.relative_to(files)).chmod(0o644)
    for path in (files / "usr/local/bin").iterdir():
        (root / "usr/local/bin" / path.name).chmod(0o755)
    for pattern in ("lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
                    "lib/systemd/system/multi-user.target.wants/*", "etc/systemd/system/*.wants/*",
                    "lib/systemd/system/local-fs.target.wants/*", "lib/systemd/system/sockets.target.wants/*udev*",
                    "lib/systemd/system/sockets.target.wants/*initctl*", "lib/systemd/system/basic.target.wants/*"):
        for path in root.glob(pattern):
            path.unlink()
    with open(root / "etc/systemd/journald.conf", "a") as f:
        f.write("ReadKMsg=no\n")
    init = root / "sbin/init"
    if not init.exists() and not init.is_symlink():
        init.symlink_to("/usr/lib/systemd/systemd")
    _run(["chroot", str(root), "systemctl", "enable", "kubelet.service", "containerd.service",
          "undo-mount-hacks.service"], "systemctl enable", log)
    _run(["chroot", str(root), "systemctl", "mask", "systemd-binfmt.service"], "systemctl mask", log)
    (root / "etc/kubernetes/manifests").mkdir(parents=True, exist_ok=True)
    # kind's units run containerd from /usr/local/bin and its config runc from PATH
    for name in ("containerd", "ctr", "containerd-shim-runc-v2"):
        link = root / "usr/local/bin" / name
        if not link.is_symlink():
            link.symlink_to(f"/usr/bin/{name}")
    cni = root / "opt/cni/bin"
    cni.mkdir(parents=True, exist_ok=True)
    for plugin in ("host-local", "loopback", "ptp", "portmap", "bridge"):
        shutil.copy2(root / "usr/lib/cni" / plugin, cni / plugin)
    spec = json.loads(_run(["chroot", str(root), "ctr", "oci", "spec"], "ctr oci spec", log).stdout)
    spec.setdefault("hooks", {}).setdefault("createContainer", []).append({"path": "/kind/bin/mount-product-files.sh"})
    spec["process"].pop("rlimits", None)
    (root / "etc/containerd/cri-base.json").write_text(json.dumps(spec, indent=2))


def _ldd_closure(root: Path, pattern: str, log: Callable) -> set[str]:
    """The shared libraries (and loader) that the files ``pattern`` (a shell glob inside ``root``) need,
    as paths inside ``root``."""
    out = _run(["chroot", str(root), "sh", "-c", f"ldd {pattern}"], f"ldd {pattern}", log).stdout
    libs = set()
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) > parts.index("=>") + 1 and parts[parts.index("=>") + 1].startswith("/"):
            libs.add(parts[parts.index("=>") + 1])
        elif parts and parts[0].startswith("/") and not parts[0].endswith(":"):  # the loader
            libs.add(parts[0])
    return libs


def _resolve_in(root: Path, path: str) -> Path:
    """``path`` inside ``root`` with every symlink followed as the root's own programs see it
    (absolute targets are read relative to ``root``)."""
    parts = [p for p in path.split("/") if p]
    current = root
    hops = 0
    while parts:
        part = parts.pop(0)
        candidate = current / part
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                raise NodeImageError(f"too many symlinks resolving {path} in {root}")
            target = os.readlink(candidate)
            parts = [p for p in target.split("/") if p] + parts
            current = root if target.startswith("/") else current
        elif part == "..":
            current = current.parent if current != root else root
        else:
            current = candidate
    return current


def _copy_from_root(root: Path, paths, dest: Path) -> None:
    """Copy each absolute ``path`` of ``root`` to the same path under ``dest``, symlinks resolved."""
    for p in paths:
        real = _resolve_in(root, p)
        target = dest / p.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if real.is_dir():
            shutil.copytree(real, target, dirs_exist_ok=True)
        else:
            shutil.copy2(real, target)


def _import(folder: Path, tags: list[str], changes: list[str], log: Callable) -> None:
    """``tar -C folder . | docker import`` as ``tags[0]``, then ``docker tag`` the others."""
    cmd = ["docker", "import", *[a for c in changes for a in ("--change", c)], "-", tags[0]]
    log("+ tar -C " + str(folder) + " -c . | " + " ".join(cmd))
    tar = subprocess.Popen(["tar", "-C", str(folder), "--numeric-owner", "-cf", "-", "."], stdout=subprocess.PIPE)
    try:
        proc = subprocess.run(cmd, stdin=tar.stdout, capture_output=True, text=True)
    finally:
        tar.stdout.close()  # so that tar ends (SIGPIPE) if docker import stopped reading
        tar.wait()
    if proc.returncode != 0 or tar.returncode != 0:
        raise NodeImageError(f"docker import {tags[0]} failed:\n{proc.stderr[-2000:]}")
    for tag in tags[1:]:
        _run(["docker", "tag", tags[0], tag], "docker tag", log)


def _build_images(root: Path, bins: Path, log: Callable) -> list[str]:
    """The component images kubeadm asks for and the course's images; returns the component tags."""
    v = versions()
    wanted = _run([str(bins / "kubeadm"), "config", "images", "list", "--kubernetes-version",
                   v["KUBERNETES_VERSION"]], "kubeadm config images list", log).stdout.split()
    label = (f'LABEL io.whyk8s.built="on this machine for an offline kind cluster: etcd {v["ETCD_VERSION"]}, '
             f'CoreDNS {v["COREDNS_VERSION"]}, Kubernetes {v["KUBERNETES_VERSION"]}"')
    path_env = "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin"
    tags: list[str] = []
    work = cache_dir() / "images"
    shutil.rmtree(work, ignore_errors=True)
    for image in wanted:
        repo = image.rsplit(":", 1)[0].rsplit("/", 1)[-1]
        folder = work / repo
        (folder / "usr/local/bin").mkdir(parents=True, exist_ok=True)
        (folder / "tmp").mkdir(exist_ok=True)
        if repo == "pause":
            shutil.copy2(bins / "pause", folder / "pause")
            entry = '["/pause"]'
            extra = ["registry.k8s.io/pause:3.10"]  # kind's containerd sandbox_image
        elif repo == "coredns":
            if not image.endswith(":" + v["COREDNS_VERSION"]):
                raise NodeImageError(f"kubeadm asks for {image}; set COREDNS_VERSION in versions.env to its tag.")
            shutil.copy2(bins / "coredns", folder / "coredns")
            entry, extra = '["/coredns"]', []
        elif repo in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"):
            shutil.copy2(bins / repo, folder / "usr/local/bin" / repo)
            entry, extra = f'["/usr/local/bin/{repo}"]', []
            if repo == "kube-proxy":
                _iptables_layer(root, folder, log)
        else:
            raise NodeImageError(f"kubeadm asks for an image this build does not know: {image}")
        _import(folder, [image, *extra], [f"ENTRYPOINT {entry}", path_env, label], log)
        tags += [image, *extra]
    # the course's images, under the names it uses
    busybox = work / "busybox"
    (busybox / "bin").mkdir(parents=True)
    for d in ("tmp", "etc", "root", "var/www"):
        (busybox / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "bin/busybox", busybox / "bin/busybox")
    _copy_from_root(root, sorted(_ldd_closure(root, "/bin/busybox", log)), busybox)
    (busybox / "etc/nsswitch.conf").write_text("hosts: files dns\npasswd: files\ngroup: files\n")
    applets = _run(["chroot", str(root), "/bin/busybox", "--list"], "busybox --list", log).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (busybox / "bin" / applet).symlink_to("busybox")
    (busybox / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (busybox / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    _import(busybox, ["busybox:1.36"], ['CMD ["sh"]', "ENV PATH=/bin",
                                        'LABEL io.whyk8s.built="Debian busybox under the name the course uses"'],
            log)
    _run(["docker", "tag", "registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10.1"], "docker tag", log)
    _run(["docker", "tag", "registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.9"], "docker tag", log)
    return tags


def _iptables_layer(root: Path, folder: Path, log: Callable) -> None:
    """iptables (nft) and conntrack with their libraries, for kube-proxy (the extension modules that
    iptables loads, e.g. ``libxt_statistic.so``, need libraries of their own, such as libm)."""
    multi = "/usr/sbin/xtables-nft-multi"
    paths = {multi, "/usr/sbin/conntrack", "/usr/lib/x86_64-linux-gnu/xtables"}
    paths |= _ldd_closure(root, f"{multi} /usr/sbin/conntrack /usr/lib/x86_64-linux-gnu/xtables/*.so", log)
    _copy_from_root(root, sorted(paths), folder)
    for name in ("iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save",
                 "ip6tables-restore", "iptables-nft", "iptables-nft-save", "iptables-nft-restore",
                 "ip6tables-nft", "ip6tables-nft-save", "ip6tables-nft-restore"):
        link = folder / "usr/sbin" / name
        if not link.exists():
            link.symlink_to("xtables-nft-multi")


def _assemble(root: Path, bins: Path, tags: list[str], log: Callable) -> str:
    """The node image: root file system + binaries, the component images pinned in containerd."""
    v = versions()
    for name in ("kubeadm", "kubelet", "kubectl"):
        shutil.copy2(bins / name, root / "usr/bin" / name)
    shutil.copy2(bins / "crictl", root / "usr/local/bin/crictl")
    (root / "kind/version").write_text(v["KUBERNETES_VERSION"] + "\n")
    raw = f"{node_image_name()}-raw"
    _import(root, [raw], ["ENV container=docker", f"ENTRYPOINT {ENTRYPOINT}"], log)
    name = f"whyk8s-node-build-{os.getpid()}"
    archive = cache_dir() / "images.tar"
    _run(["docker", "save", "-o", str(archive), *tags], "docker save", log)
    try:
        _run(["docker", "run", "-d", "--privileged", "--name", name, "--entrypoint", "sleep", raw, "infinity"],
             "build container", log)
        _run(["docker", "cp", str(archive), f"{name}:/kind/images.tar"], "docker cp", log)
        script = ("containerd >/tmp/containerd.log 2>&1 & "
                  "for i in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done; "
                  "ctr -n k8s.io images import --all-platforms --no-unpack --digests /kind/images.tar && "
                  "for i in $(ctr -n k8s.io images ls -q); do ctr -n k8s.io images label $i "
                  "io.cri-containerd.pinned=pinned >/dev/null; done && ctr -n k8s.io images ls -q && "
                  "rm /kind/images.tar && kill %1 && wait")
        _run(["docker", "exec", name, "bash", "-c", script], "import images into containerd", log)
        _run(["docker", "commit", "--change", f"ENTRYPOINT {ENTRYPOINT}", "--change", "ENV container=docker",
              name, f"{raw}-images"], "docker commit", log)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        archive.unlink(missing_ok=True)
    # docker commit/import cannot set STOPSIGNAL; systemd stops cleanly on SIGRTMIN+3 (kind's base)
    pinned = " ".join(f"{k}={val}" for k, val in sorted(v.items()) if k != "KIND_NODE_IMAGE")
    dockerfile = f'FROM {raw}-images\nSTOPSIGNAL SIGRTMIN+3\nLABEL io.whyk8s.versions="{pinned}"\n'

    log(f"+ docker build -t {node_image_name()} - (FROM {raw}-images, STOPSIGNAL SIGRTMIN+3)")
    proc = subprocess.run(["docker", "build", "-t", node_image_name(), "-"], input=dockerfile, text=True,
                          capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "0"})
    if proc.returncode != 0:
        raise NodeImageError(f"docker build of the node image failed:\n{proc.stderr[-2000:]}")
    subprocess.run(["docker", "rmi", raw, f"{raw}-images"], capture_output=True)
    return node_image_name()


def build(force: bool = False, log: Callable = print) -> str:
    """Build (unless cached) the course's kind node image and images; return the node image's name.

    Takes about 10-15 minutes cold on 2 cores (Go builds, debootstrap), seconds when the image exists.
    Raises NodeImageError naming the failed step (not root, a tool missing, a download failing), and
    RuntimeError from a failed ``go`` command."""
    if not force and image_exists(node_image_name()) and all(image_exists(i) for i in COURSE_IMAGES):
        return node_image_name()
    started = time.monotonic()
    log(f"Building the kind node image {node_image_name()} and the course's images on this machine (no "
        f"registry needed; once per machine, about 10-15 minutes cold).")
    bins = _build_binaries(log)
    root = _rootfs(log)
    tags = _build_images(root, bins, log)
    name = _assemble(root, bins, tags, log)
    log(f"Built {name} in {time.monotonic() - started:.0f} s.")
    return name
