"""Stand-in ``kind``, ``docker``, ``kwokctl`` and ``go`` executables for the providers' tests.

Our machines have no Docker, and a test must never create, stop or delete a real cluster by accident:
these scripts append each call (``<name> <args>``) to ``$STANDIN_RECORD`` and keep a pretend cluster's
state in files. Only the command-line tools are stood in for: the API server behind them is real.

``standins(tmp_path, monkeypatch, *names)`` puts them first on PATH, points ``KWOK_WORKDIR`` into
``tmp_path`` (so no real kwokctl could find a real cluster there) and returns a :class:`Record`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

KIND = """#!/usr/bin/env bash
echo "kind $*" >> "$STANDIN_RECORD"
case "$1 $2" in
  "get clusters") [ -f "$STANDIN_STATE" ] && echo "${WHYK8S_CLUSTER:-whyk8s}"; exit 0 ;;
  "get nodes") [ -f "$STANDIN_STATE" ] && printf 'whyk8s-control-plane\\nwhyk8s-worker\\n'; exit 0 ;;
  "create cluster")
    if [ -n "$STANDIN_FAIL" ]; then
      echo "ERROR: failed to create cluster: failed to join node with kubeadm: command" \\
           "\\"docker exec --privileged whyk8s-worker3 kubeadm join\\" failed with error: exit status 1" >&2
      exit 1
    fi
    cp "$STANDIN_KUBECONFIG" "$KUBECONFIG"; touch "$STANDIN_STATE"; exit 0 ;;
  "delete cluster") rm -f "$STANDIN_STATE"; exit 0 ;;
esac
exit 0
"""

DOCKER = """#!/usr/bin/env bash
echo "docker $*" >> "$STANDIN_RECORD"
case "$1" in
  info) [ -z "$STANDIN_NO_ENGINE" ] || exit 1 ;;
  image) [ -z "$STANDIN_NO_REGISTRY" ] || exit 1 ;;
  pull)
    if [ -n "$STANDIN_NO_REGISTRY" ]; then
      echo "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp:" \
           "lookup registry-1.docker.io: no such host" >&2
      exit 1
    fi ;;
  stop) touch "$STANDIN_STATE.stopped" ;;
  start) rm -f "$STANDIN_STATE.stopped" ;;
  ps) [ -f "$STANDIN_STATE.stopped" ] && printf 'whyk8s-control-plane\\nwhyk8s-worker\\n' ;;
esac
exit 0
"""

# fails as kwokctl does on a machine that cannot reach dl.k8s.io: nothing downloaded, no bin/ made
KWOKCTL = """#!/usr/bin/env bash
echo "kwokctl $*" >> "$STANDIN_RECORD"
case "$1 $2" in
  "get clusters") [ -f "$STANDIN_STATE" ] && echo "${WHYK8S_CLUSTER:-whyk8s}"; exit 0 ;;
  "create cluster")
    if [ -n "$STANDIN_OFFLINE" ]; then
      url=https://dl.k8s.io/release/v1.36.1/bin/linux/amd64/kube-apiserver
      echo "level=ERROR msg=\\"Failed to download\\" url=$url" \\
           "err=\\"Get \\\\\\"$url\\\\\\": dial tcp: lookup dl.k8s.io: no such host\\"" >&2
      exit 1
    fi
    touch "$STANDIN_STATE"; exit 0 ;;
  "delete cluster") rm -f "$STANDIN_STATE"; exit 0 ;;
esac
exit 0
"""

# fails as `go build` does when the module proxy cannot be reached
GO_OFFLINE = """#!/usr/bin/env bash
echo "go $*" >> "$STANDIN_RECORD"
echo 'go: k8s.io/kubernetes@v1.36.1: Get "https://proxy.golang.org/k8s.io/kubernetes/@v/v1.36.1.mod":' \\
     'dial tcp: lookup proxy.golang.org: no such host' >&2
exit 1
"""

# hangs as a module download behind a silent proxy does (exec: the killed process is the sleeper)
GO_HANGS = """#!/usr/bin/env bash
echo "go $*" >> "$STANDIN_RECORD"
exec sleep 300
"""

SCRIPTS = {"kind": KIND, "docker": DOCKER, "kwokctl": KWOKCTL, "go": GO_OFFLINE}


@dataclass
class Record:
    """The calls the stand-ins received, and their folder."""

    path: Path
    bin_dir: Path

    def calls(self) -> list[str]:
        """Every call so far, one ``<name> <args>`` string each, in order."""
        return self.path.read_text().splitlines() if self.path.exists() else []


def install(bin_dir: Path, name: str, text: str) -> Path:
    """Write an executable script ``bin_dir/name``."""
    path = bin_dir / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def path_without(*programs: str) -> str:
    """``$PATH`` without the folders that hold one of ``programs`` (e.g. the real ``go``)."""
    keep = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and not any(os.access(os.path.join(d, p), os.X_OK) for p in programs)]
    return os.pathsep.join(keep)


def standins(tmp_path: Path, monkeypatch, *names: str, scripts: dict | None = None,
             hide: tuple[str, ...] = ()) -> Record:
    """Install the stand-ins ``names`` (from :data:`SCRIPTS`, or ``scripts``) first on PATH, hide the
    real ``hide`` programs, and set the variables they read. Returns the :class:`Record`."""
    bin_dir = tmp_path / "standin-bin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        install(bin_dir, name, (scripts or {}).get(name) or SCRIPTS[name])
    base = path_without(*hide) if hide else os.environ["PATH"]
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{base}")
    record = Record(tmp_path / "standin-record", bin_dir)
    monkeypatch.setenv("STANDIN_RECORD", str(record.path))
    monkeypatch.setenv("STANDIN_STATE", str(tmp_path / "standin-state"))
    monkeypatch.setenv("KWOK_WORKDIR", str(tmp_path / "kwok-workdir"))
    return record
