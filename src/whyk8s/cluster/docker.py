"""The Docker engine for the kind route: is it there, and (as root) start it the way this machine needs.

kind runs every node as a ``--privileged`` container. Some machines (this project's CI VMs among them)
start every process, root included, without ``CAP_SYS_RESOURCE`` in its capability bounding set; Docker
still asks runc for every capability and runc fails with "unable to apply caps: operation not
permitted". :func:`ensure_docker` then registers ``clusters/docker/runc-without-sys-resource`` (runc,
minus that one capability) as the engine's default runtime, in ``/etc/docker/daemon.json`` (keys
``runtimes`` and ``default-runtime``, the rest of the file kept), and starts ``dockerd`` or asks a running
one to reload its configuration (SIGHUP). On a machine with the capability nothing is changed.

Learners do not need this module: they start Docker Desktop or their distribution's Docker service.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

from whyk8s.cluster.providers import docker_available
from whyk8s.errors import CourseError
from whyk8s.paths import repo_root

__all__ = ["CAP_SYS_RESOURCE", "RUNTIME", "RUNTIME_PATH", "DAEMON_JSON", "bounding_set_has",
           "engine_runtimes", "merged_daemon_config", "ensure_docker"]

#: Capability number of CAP_SYS_RESOURCE (linux/capability.h).
CAP_SYS_RESOURCE = 24
#: The runtime's name in dockerd's configuration.
RUNTIME = "whyk8s-runc"
#: Where the runtime is installed (outside any clone, which may be deleted while dockerd runs).
RUNTIME_PATH = Path("/usr/local/libexec/whyk8s/runc-without-sys-resource")
DAEMON_JSON = Path("/etc/docker/daemon.json")
DOCKERD_LOG = Path("/var/log/whyk8s-dockerd.log")


def bounding_set_has(cap: int, status: str | None = None) -> bool:
    """True when capability number ``cap`` is in this process's bounding set (``CapBnd`` of
    ``/proc/self/status``, or of the text ``status``); True where it cannot be read."""
    if status is None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return True
    for line in status.splitlines():
        if line.startswith("CapBnd:"):
            return bool(int(line.split()[1], 16) & (1 << cap))
    return True


def engine_runtimes() -> tuple[list[str], str]:
    """The engine's runtimes and its default runtime (``docker info``)."""
    proc = subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}|{{.DefaultRuntime}}"],
                          capture_output=True, text=True, timeout=20)
    runtimes, _, default = proc.stdout.strip().partition("|")
    try:
        names = sorted(json.loads(runtimes or "{}"))
    except ValueError:
        names = []
    return names, default


def merged_daemon_config(existing: dict) -> dict:
    """``existing`` (the parsed daemon.json) with the course's runtime added and made the default;
    every other key kept."""
    config = dict(existing)
    runtimes = dict(config.get("runtimes") or {})
    runtimes[RUNTIME] = {"path": str(RUNTIME_PATH)}
    config["runtimes"] = runtimes
    config["default-runtime"] = RUNTIME
    return config


def _install_runtime() -> bool:
    """Install the runtime and register it in daemon.json; True when daemon.json changed."""
    RUNTIME_PATH.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(repo_root() / "clusters" / "docker" / "runc-without-sys-resource", RUNTIME_PATH)
    RUNTIME_PATH.chmod(0o755)
    try:
        existing = json.loads(DAEMON_JSON.read_text()) if DAEMON_JSON.exists() else {}
    except ValueError as exc:
        raise CourseError(f"{DAEMON_JSON} is not valid JSON ({exc}); fix it, then try again.") from None
    wanted = merged_daemon_config(existing)
    if wanted == existing:
        return False
    DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
    DAEMON_JSON.write_text(json.dumps(wanted, indent=2) + "\n")
    return True


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def ensure_docker(log: Callable = print) -> None:
    """Make sure a Docker engine answers and can run kind's privileged nodes.

    As root: start ``dockerd`` (log in ``/var/log/whyk8s-dockerd.log``) when none answers, and on a
    machine without CAP_SYS_RESOURCE install and select the course's runtime first (a running engine is
    told to reload). Not root: only check, and say what to do. Raises CourseError with the fix when
    Docker is missing, cannot start, or cannot be configured."""
    needs_runtime = not bounding_set_has(CAP_SYS_RESOURCE)
    root = os.geteuid() == 0
    answers = docker_available()
    if needs_runtime:
        if not root:
            if answers and engine_runtimes()[1] == RUNTIME:
                return
            raise CourseError("This machine withholds CAP_SYS_RESOURCE, so Docker cannot start kind's "
                              "privileged nodes; as root, `whyk8s kind docker` configures Docker for it.")
        changed = _install_runtime()
        if changed:
            log(f"Docker: runtime {RUNTIME} ({RUNTIME_PATH}) is now the default in {DAEMON_JSON}: this "
                f"machine withholds CAP_SYS_RESOURCE, which kind's privileged nodes would otherwise ask for.")
        if answers and engine_runtimes()[1] != RUNTIME:
            pid = int(Path("/var/run/docker.pid").read_text().strip())
            os.kill(pid, signal.SIGHUP)
            if not _wait(lambda: engine_runtimes()[1] == RUNTIME, 20):
                raise CourseError(f"dockerd did not take {RUNTIME} as its default runtime after a reload; "
                                  f"restart Docker (`systemctl restart docker`).")
    if answers:
        return
    if not root:
        raise CourseError("Docker does not answer (`docker info` failed). Start it (Docker Desktop, or "
                          "`sudo systemctl start docker`), or use the kwok provider.")
    if not shutil.which("dockerd"):
        raise CourseError("Docker is not installed: `apt-get install docker.io` (Debian/Ubuntu), or use the "
                          "kwok provider.")
    log(f"Starting dockerd (log: {DOCKERD_LOG})")
    with open(DOCKERD_LOG, "ab") as out:
        subprocess.Popen(["dockerd"], stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
    if not _wait(docker_available, 60):
        raise CourseError(f"dockerd did not answer within 60 s; read {DOCKERD_LOG}.")
