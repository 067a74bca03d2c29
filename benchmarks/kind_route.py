"""Benchmark the kind route: building the node image, `cluster up` on kind, and the cluster's memory.

Run as root (it builds images and starts Docker if needed; it deletes and re-creates the course's kind
cluster)::

    .venv/bin/python benchmarks/kind_route.py            # warm: Go caches and binaries as they are
    .venv/bin/python benchmarks/kind_route.py --cold     # empty Go caches and course cache (as a new
                                                         # machine): everything downloaded and compiled

Prints Markdown table rows for ``benchmarks/RESULTS.md``. Figures, not assertions.

- node image: ``whyk8s kind node-image --force`` (warm: binaries cached, so debootstrap, the images and
  the assembly; cold: also the Go builds, including the control plane's binaries it reuses);
- create: ``WHYK8S_KIND_NODE_IMAGE=local whyk8s cluster up --provider kind`` with no cluster (kind create,
  pod network, images loaded, every node Ready, kube-system Ready, GPUs advertised);
- the anchor, in the same run: ``kind create cluster`` alone with the same image and the same config
  (cluster ``whyk8s-anchor``, deleted again), i.e. what kind does before the course's own steps;
- again: ``cluster up`` on the running cluster; restart: ``cluster stop`` then ``cluster up``;
- memory: ``docker stats`` of the node containers (MiB), idle and with 20 course pods Running
  (busybox ``sleep``, spread over the CPU workers) and a 3-replica web server behind a Service.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict | None = None) -> float:
    started = time.monotonic()
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)
    took = time.monotonic() - started
    print(f"{' '.join(cmd[1:])}: {took:.1f} s", flush=True)
    return took


def node_memory_mib() -> dict[str, float]:
    names = subprocess.run(["docker", "ps", "--filter", "label=io.x-k8s.kind.cluster=whyk8s", "--format",
                            "{{.Names}}"], capture_output=True, text=True, check=True).stdout.split()
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", *names],
                         capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        name, usage = line.split(" ", 1)
        m = re.match(r"([\d.]+)\s*(KiB|MiB|GiB|B)", usage.split("/")[0].strip())
        if m:
            found[name] = float(m.group(1)) * {"B": 2**-20, "KiB": 2**-10, "MiB": 1, "GiB": 1024}[m.group(2)]
    return found


def load_pods() -> None:
    from whyk8s.k8s import objects, specs
    from whyk8s.k8s.guard import connect
    from whyk8s.k8s.waits import wait_for_pods
    from whyk8s.lessons import running_containers as rc
    cluster = connect(context="kind-whyk8s")
    for i in range(20):
        objects.create(cluster, specs.pod(f"bench-{i}", image="busybox:1.36", cpu="10m", memory="16Mi",
                                          command=["sleep", "3600"], pool="cpu"))
    rc.create(cluster, rc.web_server("model-server", replicas=3))
    rc.create(cluster, rc.web_service("model-server"))
    wait_for_pods(cluster, lambda ps: sum(p.status.phase == "Running" for p in ps.values()) >= 23, timeout=180)


def kind_alone(env: dict) -> float:
    """Seconds for ``kind create cluster`` with the course's image and config (as ``cluster up`` would
    write it), under the name ``whyk8s-anchor``; the cluster is deleted afterwards."""
    import yaml
    os.environ.update(env)
    from whyk8s.cluster import docker, kind, nodeimage
    with open(ROOT / "clusters" / "kind.yaml") as f:
        base = yaml.safe_load(f)
    image = kind.node_image(log=lambda _: None)
    config = kind.cluster_config(base, cgroup_v1=kind._cgroup_v1(), own_cni=image == nodeimage.node_image_name(),
                                 restrict_oom_score_adj=not docker.bounding_set_has(docker.CAP_SYS_RESOURCE))
    config = kind.sized_workers(config, kind.write_node_sizes())
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f, tempfile.NamedTemporaryFile() as kubeconfig:
        yaml.safe_dump(config, f)
        f.flush()
        cmd = [kind.kind_command(), "create", "cluster", "--name", "whyk8s-anchor", "--config", f.name,
               "--image", image, "--kubeconfig", kubeconfig.name]
        try:
            return timed(cmd)
        finally:
            subprocess.run([kind.kind_command(), "delete", "cluster", "--name", "whyk8s-anchor",
                            "--kubeconfig", kubeconfig.name], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="empty Go caches and course cache")
    args = parser.parse_args()
    whyk8s = str(BIN / "whyk8s")
    env = {"WHYK8S_KIND_NODE_IMAGE": "local"}
    tmp = None
    if args.cold:
        tmp = tempfile.mkdtemp(prefix="whyk8s-cold-")
        env.update(GOCACHE=f"{tmp}/gocache", GOMODCACHE=f"{tmp}/gomod", WHYK8S_CACHE=f"{tmp}/cache")
    subprocess.run([whyk8s, "cluster", "down", "--provider", "kind"], cwd=ROOT, capture_output=True)
    build = timed([whyk8s, "kind", "node-image", "--force"], env)
    anchor = kind_alone(env)
    create = timed([whyk8s, "cluster", "up", "--provider", "kind"], env)
    again = timed([whyk8s, "cluster", "up", "--provider", "kind"], env)
    stop = timed([whyk8s, "cluster", "stop", "--provider", "kind"], env)
    restart = timed([whyk8s, "cluster", "up", "--provider", "kind"], env)
    idle = node_memory_mib()
    load_pods()
    time.sleep(5)
    loaded = node_memory_mib()
    subprocess.run([whyk8s, "cluster", "clean"], cwd=ROOT, capture_output=True)
    if tmp:
        subprocess.run(["chmod", "-R", "u+w", tmp])
        subprocess.run(["rm", "-rf", tmp])
    today = datetime.date.today().isoformat()
    print("| date | caches | node image | `kind create` alone (anchor) | create | again | stop | up after stop |")
    print(f"| {today} | {'cold' if args.cold else 'warm'} | {build:.0f} s | {anchor:.0f} s | {create:.0f} s | "
          f"{again:.1f} s | {stop:.0f} s | {restart:.0f} s |")
    print()
    print("| date | memory idle (MiB, all nodes) | with 23 course pods | per node, idle |")
    print(f"| {today} | {sum(idle.values()):.0f} | {sum(loaded.values()):.0f} | "
          + ", ".join(f"{k.replace('whyk8s-', '')} {v:.0f}" for k, v in sorted(idle.items())) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
