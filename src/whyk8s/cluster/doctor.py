"""``whyk8s cluster doctor``: check what the course cluster needs, one line each with the fix."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Check", "run_checks", "format_checks"]


@dataclass(frozen=True)
class Check:
    """One check: ``name``, ``status`` ("ok", "warn" or "fail"), what was found, and the fix."""

    name: str
    status: str
    found: str
    fix: str = ""


def _version(cmd: list[str]) -> str | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if (proc.stdout or proc.stderr) else ""


def _meminfo_kib(key: str, path: str = "/proc/meminfo") -> int | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _sysctl(name: str) -> int | None:
    try:
        return int(Path("/proc/sys/" + name.replace(".", "/")).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def check_docker() -> Check:
    from whyk8s.cluster.providers import docker_available
    if not shutil.which("docker"):
        return Check("Docker", "warn", "not installed",
                     "Install Docker for the kind provider, or use the kwok provider (no Docker needed).")
    if not docker_available():
        return Check("Docker", "warn", "client found, but no engine answers `docker info`",
                     "Start Docker (Docker Desktop or `sudo systemctl start docker`), or use the kwok provider.")
    return Check("Docker", "ok", "engine answers")


def check_kind() -> Check:
    v = _version(["kind", "version"]) if shutil.which("kind") else None
    if v is None:
        return Check("kind", "warn", "not installed",
                     "Install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), "
                     "or use the kwok provider.")
    return Check("kind", "ok", v)


def check_kubectl() -> Check:
    from whyk8s.cluster import controlplane
    built = controlplane.binary_paths()["kubectl"]
    if built.exists():
        return Check("kubectl", "ok", "built with the control plane (course cache)")
    v = _version(["kubectl", "version", "--client"]) if shutil.which("kubectl") else None
    if v is None:
        return Check("kubectl", "warn", "not installed",
                     "Install kubectl (conda: kubernetes-client), or run `whyk8s cluster up --provider kwok`, "
                     "which builds one.")
    return Check("kubectl", "ok", v)


def check_memory(meminfo: str = "/proc/meminfo") -> Check:
    avail = _meminfo_kib("MemAvailable", meminfo)
    if avail is None:
        return Check("free memory", "warn", "unknown (no /proc/meminfo)", "kind needs about 4 GiB free.")
    gib = avail / 2**20
    if gib < 1:
        return Check("free memory", "fail", f"{gib:.1f} GiB available",
                     "Close programs: the kwok control plane needs about 1 GiB, kind about 4 GiB.")
    if gib < 4:
        return Check("free memory", "warn", f"{gib:.1f} GiB available",
                     "Enough for kwok; kind with five nodes wants about 4 GiB.")
    return Check("free memory", "ok", f"{gib:.1f} GiB available")


def check_inotify() -> Check:
    watches = _sysctl("fs.inotify.max_user_watches")
    instances = _sysctl("fs.inotify.max_user_instances")
    if watches is None or instances is None:
        return Check("inotify limits", "warn", "unknown (not Linux?)", "")
    found = f"max_user_watches={watches}, max_user_instances={instances}"
    if watches < 524288 or instances < 512:
        from whyk8s.cluster.providers import docker_available
        if not docker_available():
            return Check("inotify limits", "ok", found + " (low, but only kind needs more)")
        return Check("inotify limits", "warn", found,
                     "kind's known issue 'Pod errors due to too many open files': "
                     "sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512")
    return Check("inotify limits", "ok", found)


def check_go() -> Check:
    v = _version(["go", "version"]) if shutil.which("go") else None
    if v is None:
        return Check("Go toolchain", "warn", "not installed",
                     "Needed only to build the kwok control plane offline; install Go ≥ 1.26 "
                     "(https://go.dev/doc/install) or let kwokctl download binaries.")
    m = re.search(r"go(\d+)\.(\d+)", v)
    if m and (int(m.group(1)), int(m.group(2))) < (1, 26):
        return Check("Go toolchain", "warn", v, "The pinned Kubernetes needs Go ≥ 1.26.")
    return Check("Go toolchain", "ok", v)


def check_context() -> Check:
    from whyk8s.k8s.guard import allowed_contexts, current_context
    ctx = current_context()
    if ctx is None:
        return Check("kubeconfig context", "warn", "none", "Run `whyk8s cluster up`.")
    if ctx not in allowed_contexts():
        return Check("kubeconfig context", "fail", f"{ctx} (not the course's)",
                     "kubectl config use-context kwok-whyk8s   (or kind-whyk8s)")
    return Check("kubeconfig context", "ok", ctx)


def check_cluster() -> Check:
    from whyk8s.errors import explain
    from whyk8s.k8s.guard import connect
    try:
        cluster = connect(create_namespace=False)
        nodes = cluster.core.list_node(_request_timeout=5).items
    except Exception as exc:
        return Check("course cluster", "fail", explain(exc), "whyk8s cluster up")
    return Check("course cluster", "ok", f"{cluster.context}: {len(nodes)} nodes")


def run_checks() -> list[Check]:
    """Every check, in the order they are shown."""
    return [check_docker(), check_kind(), check_kubectl(), check_memory(), check_inotify(),
            check_go(), check_context(), check_cluster()]


def format_checks(checks: list[Check]) -> str:
    """One line per check: ``[ok]  name: found`` and, when not ok, ``→ fix`` on the next line."""
    lines = []
    for c in checks:
        lines.append(f"[{c.status:>4}] {c.name}: {c.found}")
        if c.status != "ok" and c.fix:
            lines.append(f"       → {c.fix}")
    return "\n".join(lines)
