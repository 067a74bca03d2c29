"""Benchmark the kwok course cluster: warm `cluster up` time and the control plane's memory.

Run: ``.venv/bin/python benchmarks/cluster.py`` (takes the cluster down and up again).
Prints a Markdown table row to add to ``benchmarks/RESULTS.md``. Figures, not assertions: the test
suite never times anything.

- warm up: seconds for ``whyk8s cluster up --provider kwok`` when the binaries are cached and the
  cluster does not exist (kwokctl create + 4 simulated nodes Ready + GPUs advertised);
- again: seconds when the cluster already runs (what every `make test` after the first pays);
- after a kill: seconds when the cluster exists but its processes were killed (`kwokctl stop`, as
  a reboot or an ended session does): restart, hand the nodes' Leases to the new kwok controller,
  and wait for kube-scheduler and kube-controller-manager to take their leader Leases (15 s);
- RSS: resident memory (MiB, from /proc/<pid>/status VmRSS) of etcd, kube-apiserver,
  kube-controller-manager, kube-scheduler and the kwok controller, idle and after 100 pods.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
PROCESSES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwok-controller")


def rss_mib() -> dict[str, float]:
    """Resident memory (MiB) of each control-plane process, by command name."""
    out: dict[str, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        name = os.path.basename(cmd)
        if name in PROCESSES:
            kib = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
            out[name] = out.get(name, 0) + kib / 1024
    return out


def timed(args: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(args, check=True, capture_output=True)
    return time.monotonic() - start


def main() -> None:
    whyk8s = str(BIN / "whyk8s")
    subprocess.run([whyk8s, "cluster", "down", "--provider", "kwok"], capture_output=True)
    warm = timed([whyk8s, "cluster", "up", "--provider", "kwok"])
    again = timed([whyk8s, "cluster", "up", "--provider", "kwok"])
    from whyk8s.cluster.kwok import KwokProvider
    from whyk8s.cluster.providers import cluster_name
    exe, env, _ = KwokProvider().kwokctl()
    subprocess.run([exe, "stop", "cluster", "--name", cluster_name()], env={**os.environ, **env},
                   capture_output=True, check=True)
    after_kill = timed([whyk8s, "cluster", "up", "--provider", "kwok"])
    time.sleep(5)
    idle = rss_mib()
    from whyk8s.k8s import objects, specs
    from whyk8s.k8s.waits import wait_for_pods
    from whyk8s.k8s.guard import connect
    cluster = connect()
    objects.create(cluster, specs.deployment("bench", replicas=100, cpu="10m", memory="16Mi"))
    wait_for_pods(cluster, lambda pods: sum(p.status.phase == "Running" for p in pods.values()) == 100,
                  label_selector="app=bench", timeout=180)
    loaded = rss_mib()
    objects.cleanup(cluster)
    per_process = ", ".join(f"{k} {v:.0f}" for k, v in sorted(idle.items()))
    print(f"| {datetime.date.today()} | {platform.node()} ({os.cpu_count()} cores) | {warm:.1f} s | {again:.1f} s "
          f"| {after_kill:.1f} s | {sum(idle.values()):.0f} MiB ({per_process}) "
          f"| {sum(loaded.values()):.0f} MiB |")


if __name__ == "__main__":
    main()
