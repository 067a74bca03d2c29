"""``whyk8s cluster doctor``: check what the course cluster needs, one line each with the fix.

Eight checks (:func:`run_checks`), each a :class:`Check` with status ``ok``, ``warn`` (the course can
still run, e.g. no Docker: the kwok route needs none) or ``fail`` (it cannot, until the fix is
applied). ``whyk8s cluster doctor`` prints them (:func:`format_checks`) and exits 1 when one fails
(:func:`failed`), 0 otherwise. Chapter 0 shows the same table.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from whyk8s.cluster import controlplane
from whyk8s.cluster.kind import inotify_limits, inotify_shortfall, read_proc, sysctl_fix
from whyk8s.cluster.providers import docker_available
from whyk8s.errors import CourseError, explain
from whyk8s.k8s import guard

__all__ = ["Check", "run_checks", "format_checks", "failed", "check_docker", "check_kind", "check_kubectl",
           "check_memory", "check_inotify", "check_go", "check_context", "check_cluster",
           "check_controllers"]


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


def check_docker() -> Check:
    """Docker for the kind provider: ``ok`` when an engine answers ``docker info``; ``warn`` when
    Docker is missing or its engine does not answer (the kwok provider needs no Docker)."""
    if not shutil.which("docker"):
        return Check("Docker", "warn", "not installed",
                     "Install Docker for the kind provider, or use the kwok provider (no Docker needed).")
    if not docker_available():
        return Check("Docker", "warn", "client found, but no engine answers `docker info`",
                     "Start Docker (Docker Desktop, `sudo systemctl start docker`, or as root `whyk8s kind docker`), "
                     "or use the kwok provider.")
    return Check("Docker", "ok", "engine answers")


def check_kind() -> Check:
    """The ``kind`` command for the kind provider: ``ok`` with ``kind version``'s line (the one on
    PATH, else the one ``whyk8s kind node-image`` built into the course's cache), ``warn`` when there
    is none (the kwok provider does without)."""
    from whyk8s.cluster.nodeimage import kind_binary
    found = kind_binary()
    v = _version([found, "version"]) if found else None
    if v is None:
        return Check("kind", "warn", "not installed",
                     "Install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), "
                     "or use the kwok provider.")
    # the cache's path is not shown: it names the learner's home folder (and would land in chapter 0's output)
    return Check("kind", "ok", v if shutil.which("kind") else f"{v} (built into the course's cache by "
                 "`whyk8s kind node-image`)")


def check_kubectl() -> Check:
    """kubectl, for the learner's terminal: ``ok`` when the course built one with the control plane
    (:func:`whyk8s.cluster.controlplane.binary_paths`) or ``kubectl version --client`` answers on
    PATH; ``warn`` otherwise (the course itself talks to the API server through the Python client)."""
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
    """Free memory (``MemAvailable`` of ``meminfo``, shown in GiB): ``fail`` below 1 GiB (the kwok
    control plane needs about that), ``warn`` below 4 GiB (kind's five nodes want about 4 GiB),
    ``warn`` when it cannot be read (not Linux), else ``ok``."""
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


def check_inotify(read=read_proc, docker=docker_available, context=None) -> Check:
    """The inotify limits a multi-node kind cluster needs (:data:`whyk8s.cluster.kind.INOTIFY_MINIMUMS`,
    read with ``read(path)`` from /proc): ``ok`` when high enough, or low while Docker does not answer
    or the course cluster in use is kwok (``context``, default the kubeconfig's current context:
    only kind needs them); ``warn`` with the exact ``sysctl`` line when low and the kind route is the
    one in use or open (``whyk8s cluster up --provider kind`` would stop there); ``warn`` when they
    cannot be read."""
    limits = inotify_limits(read)
    if any(v is None for v in limits.values()):
        return Check("inotify limits", "warn", "unknown (not Linux?)", "")
    found = ", ".join(f"{name.rsplit('.', 1)[1]}={value}" for name, value in limits.items())
    short = inotify_shortfall(limits)
    if short:
        context = context if context is not None else (guard.current_context() or "")
        if context.startswith("kwok-"):
            return Check("inotify limits", "ok", found + " (low, but the course cluster runs on kwok: only kind "
                                                         "needs more)")
        if not docker():
            return Check("inotify limits", "ok", found + " (low, but only kind needs more)")
        return Check("inotify limits", "warn", found,
                     f"kind's known issue 'Pod errors due to too many open files': {sysctl_fix(short)}")
    return Check("inotify limits", "ok", found)


def check_go() -> Check:
    """The Go toolchain, needed only to build the kwok control plane (once per machine): ``ok`` with
    ``go version``'s line when ≥ 1.26; ``warn`` when missing or older."""
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
    """The kubeconfig's current context as kubectl picks it (:func:`whyk8s.k8s.guard.current_context`:
    the first non-empty ``current-context`` in ``$KUBECONFIG`` order), judged by the course's guard
    (:func:`whyk8s.k8s.guard.check_context`): ``ok`` for a course context (or the one opted in with
    ``WHYK8S_ALLOW_CONTEXT``) on this machine; ``warn`` when there is no kubeconfig yet (``whyk8s
    cluster up`` writes it); ``fail`` with the guard's sentence for no current context, a foreign
    context, or a course-named context whose API server is elsewhere."""
    ctx = guard.current_context()
    files = guard.kubeconfig_files()
    if ctx is None and not files:
        return Check("kubeconfig context", "warn", "no kubeconfig yet", "Run `whyk8s cluster up`, which writes it.")
    try:
        guard.check_context(ctx)
    except CourseError as exc:
        return Check("kubeconfig context", "fail", f"{ctx or 'none'} (not the course's)", str(exc))
    return Check("kubeconfig context", "ok", ctx)


def check_cluster() -> Check:
    """The course cluster itself: ``ok`` with the node count when the guard lets the course connect
    and the API server lists the nodes within 5 s; ``fail`` with the reason in one sentence
    (:func:`whyk8s.errors.explain`) otherwise."""
    try:
        cluster = guard.connect(create_namespace=False)
        nodes = cluster.core.list_node(_request_timeout=5).items
    except Exception as exc:  # noqa: BLE001 - any failure is this check's finding
        return Check("course cluster", "fail", explain(exc), "whyk8s cluster up")
    return Check("course cluster", "ok", f"{cluster.context}: {len(nodes)} nodes")


def check_controllers(pids: dict | None = None) -> Check:
    """Kueue and Karpenter, when the course started them as processes on this machine (chapters 4c,
    4d, lab 7): they keep running after a kernel restart or a lab stopped by an error, so say which
    run and how to stop them. ``ok`` either way; ``pids`` (name → pid or None) is for tests."""
    if pids is None:
        from whyk8s.cluster import karpenter, kueue
        pids = {"Kueue": kueue.pid(), "Karpenter": karpenter.pid()}
    running = [f"{name} (pid {pid})" for name, pid in pids.items() if pid is not None]
    if not running:
        return Check("course controllers", "ok",
                     "none running (Kueue and Karpenter start with chapters 4c, 4d and lab 7)")
    stops = " and ".join(f"`whyk8s {name.lower()} down`" for name, pid in pids.items() if pid is not None)
    return Check("course controllers", "ok", f"running: {', '.join(running)}; {stops} stops "
                 f"{'it' if len(running) == 1 else 'them'}, `whyk8s cluster down` too")


def run_checks() -> list[Check]:
    """Every check, in the order they are shown."""
    return [check_docker(), check_kind(), check_kubectl(), check_memory(), check_inotify(),
            check_go(), check_context(), check_cluster(), check_controllers()]


def format_checks(checks: list[Check]) -> str:
    """One line per check: ``[ok]  name: found`` and, when not ok, ``→ fix`` on the next line."""
    lines = []
    for c in checks:
        lines.append(f"[{c.status:>4}] {c.name}: {c.found}")
        if c.status != "ok" and c.fix:
            lines.append(f"       → {c.fix}")
    return "\n".join(lines)


def failed(checks: list[Check]) -> list[Check]:
    """The checks whose status is ``fail`` (``warn`` does not count): ``whyk8s cluster doctor``
    exits 1 when there is one."""
    return [c for c in checks if c.status == "fail"]
