"""Benchmark Karpenter (kwok provider) on the kwok cluster: the build, the start, its memory, the time from a
pending GPU Job to its pod running on a new Node, and the time to consolidate the pool back to zero.

Run against a running kwok cluster (``whyk8s cluster up --provider kwok``; the four variables of a
developer's own cluster exported where needed)::

    .venv/bin/python benchmarks/karpenter.py            # the binary as cached (built first if missing)
    .venv/bin/python benchmarks/karpenter.py --build    # also: build it once with an EMPTY Go build cache
                                                        # (module cache as it is), at nice 19
    .venv/bin/python benchmarks/karpenter.py --runs 3   # how many pending-job runs (default 3)

Prints Markdown for ``benchmarks/RESULTS.md``. Figures, not assertions.

- build: ``go build sigs.k8s.io/karpenter/kwok`` in ``clusters/controlplane/karpenter`` with
  ``GOTOOLCHAIN`` as pinned and ``GOCACHE`` a fresh empty folder; wall clock, CPU time, peak RSS;
- start: :func:`whyk8s.cluster.karpenter.start` with the binary cached (CRDs, process, readiness);
- RSS: VmRSS of the process, idle after start and after the runs;
- one GPU Job into the empty pool (``lessons.gpu_pools``, ``consolidateAfter: 10s``): from the create
  call's return to a watch seeing its pod bound to a new Karpenter Node and Running (or already
  Succeeded: on kwok a Job's pod succeeds as soon as it runs); the Node's "joined" and "ready" times
  on the same clock; then from the Job's completion (seen by the watch) to no Karpenter Node and no
  NodeClaim left. ``--runs`` times, each from an empty pool;
- three 1-GPU Jobs at once: which instance types Karpenter chose.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kubernetes import client, watch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from whyk8s.cluster import controlplane, karpenter  # noqa: E402
from whyk8s.k8s import objects  # noqa: E402
from whyk8s.k8s.guard import connect  # noqa: E402
from whyk8s.lessons import gpu_pools  # noqa: E402


def build_cold() -> dict:
    """Build Karpenter's kwok binary once with an empty Go build cache; the module cache is left as it is."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="karpenter-bench-") as tmp:
        env = {**os.environ, "GOCACHE": str(Path(tmp) / "gocache"), "CGO_ENABLED": "0",
               "GOFLAGS": "-mod=mod -buildvcs=false", "GOTOOLCHAIN": karpenter.go_toolchain()}
        started = time.monotonic()
        subprocess.run(["nice", "-n", "19", "go", "build", "-trimpath", "-ldflags", "-s -w", "-o",
                        str(Path(tmp) / "karpenter-kwok"), "sigs.k8s.io/karpenter/kwok"],
                       cwd=controlplane.module_dir("karpenter"), env=env, check=True)
        wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_rss_mib": after.ru_maxrss / 1024}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PodsAndJobs:
    """Watches the course namespace's pods and Jobs: when each pod is first seen bound and Running (or
    Succeeded), and when each Job is first seen complete."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.running: dict[str, tuple[float, str]] = {}
        self.complete: dict[str, float] = {}
        self._ws = [watch.Watch(), watch.Watch()]
        ready = [threading.Event(), threading.Event()]
        threading.Thread(target=self._pods, args=(ready[0],), daemon=True).start()
        threading.Thread(target=self._jobs, args=(ready[1],), daemon=True).start()
        for r in ready:
            r.wait(10)

    def _pods(self, ready):
        ns = self.cluster.namespace
        rv = self.cluster.core.list_namespaced_pod(ns).metadata.resource_version
        ready.set()
        try:
            for ev in self._ws[0].stream(self.cluster.core.list_namespaced_pod, ns, resource_version=rv):
                pod = ev["object"]
                job = (pod.metadata.labels or {}).get("job-name")
                if job and pod.spec.node_name and pod.status.phase in ("Running", "Succeeded") \
                        and job not in self.running:
                    self.running[job] = (time.monotonic(), pod.spec.node_name)
        except Exception:  # noqa: BLE001 - the stream ends with an error when stopped
            pass

    def _jobs(self, ready):
        ns = self.cluster.namespace
        rv = self.cluster.batch.list_namespaced_job(ns).metadata.resource_version
        ready.set()
        try:
            for ev in self._ws[1].stream(self.cluster.batch.list_namespaced_job, ns, resource_version=rv):
                job = ev["object"]
                if (job.status.succeeded or 0) >= 1 and job.metadata.name not in self.complete:
                    self.complete[job.metadata.name] = time.monotonic()
        except Exception:  # noqa: BLE001
            pass

    def stop(self):
        for w in self._ws:
            w.stop()


def wait(what, check, timeout=180):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def nodeclaims(cluster) -> list:
    return client.CustomObjectsApi(cluster.api).list_cluster_custom_object(
        karpenter.GROUP, karpenter.VERSION, "nodeclaims")["items"]


def one_run(cluster, watcher, name) -> dict:
    nw = gpu_pools.NodeWatch(cluster).start()
    objects.create(cluster, gpu_pools.gpu_job(name, gpus=1))
    created = time.monotonic()
    wait(f"{name} running", lambda: name in watcher.running)
    wait(f"{name} complete", lambda: name in watcher.complete)
    wait("pool at zero", lambda: not karpenter.karpenter_nodes(cluster) and not nodeclaims(cluster))
    zero = time.monotonic()
    nw.stop()
    t0 = nw._started
    ours = [e for e in nw.events if e.get("karpenter")]
    joined = next(e["t_s"] for e in ours if e["event"] == "joined") + t0 - created
    ready = next(e["t_s"] for e in ours if e["event"] == "ready") + t0 - created
    running_at, node = watcher.running[name]
    objects.cleanup(cluster, delete_namespaces=False)
    return {"running_s": running_at - created, "joined_s": joined, "ready_s": ready,
            "type": next(e["instance_type"] for e in ours if e["event"] == "joined"),
            "on_new_node": node in {e["node"] for e in ours},
            "zero_s": zero - watcher.complete[name]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", action="store_true", help="also time a build with an empty Go build cache")
    parser.add_argument("--runs", type=int, default=3, help="pending-job runs (default 3)")
    args = parser.parse_args()
    today = datetime.date.today().isoformat()
    rows = []
    if args.build:
        b = build_cold()
        rows.append(f"| {today} | build of Karpenter's kwok binary, empty Go build cache, module cache warm, "
                    f"nice 19 | {b['wall_s']:.0f} s wall, {b['cpu_s']:.0f} s CPU, "
                    f"peak RSS {b['peak_rss_mib']:.0f} MiB |")
        print(rows[-1], flush=True)
    karpenter.build(log=lambda *_: None)
    rows.append(f"| {today} | binary size (`-s -w`) | {karpenter.binary_path().stat().st_size / 2**20:.0f} MiB |")
    cluster = connect()
    karpenter.stop(cluster, log=lambda *_: None)
    started = time.monotonic()
    st = karpenter.start(cluster, log=lambda *_: None)
    rows.append(f"| {today} | `karpenter.start()`, binary cached (5 CRDs, process, until its readiness probe "
                f"answers) | {time.monotonic() - started:.1f} s |")
    time.sleep(5)
    idle = rss_mib(st.pid)
    try:
        gpu_pools.create_gpu_pool(cluster)  # consolidateAfter 10s, as the lesson
        watcher = PodsAndJobs(cluster)
        runs = [one_run(cluster, watcher, f"bench-{i}") for i in range(args.runs)]
        for r in runs:
            print(r, flush=True)

        def med(key):
            values = [r[key] for r in runs]
            return f"median {statistics.median(values):.1f} s (min {min(values):.1f}, max {max(values):.1f})"

        rows.append(f"| {today} | one 1-GPU Job into the empty pool, create → its pod Running on a new Karpenter "
                    f"Node ({len(runs)} runs; Node types {sorted({r['type'] for r in runs})}) | {med('running_s')}; "
                    f"the Node joined at {med('joined_s')}, Ready at {med('ready_s')} |")
        rows.append(f"| {today} | the Job complete → no Karpenter Node and no NodeClaim (`consolidateAfter: 10s`, "
                    f"{len(runs)} runs) | {med('zero_s')} |")
        nw = gpu_pools.NodeWatch(cluster).start()
        for i in range(3):
            objects.create(cluster, gpu_pools.gpu_job(f"three-{i}", gpus=1))
        wait("three complete", lambda: all(f"three-{i}" in watcher.complete for i in range(3)))
        wait("pool at zero", lambda: not karpenter.karpenter_nodes(cluster) and not nodeclaims(cluster))
        nw.stop()
        types = sorted(e["instance_type"] for e in nw.events if e.get("karpenter") and e["event"] == "joined")
        rows.append(f"| {today} | three 1-GPU Jobs created at once: the Nodes Karpenter made | {', '.join(types)} |")
        watcher.stop()
        rows.append(f"| {today} | Karpenter RSS, idle / after the runs | {idle:.0f} MiB / {rss_mib(st.pid):.0f} MiB |")
    finally:
        objects.cleanup(cluster)
        gpu_pools.delete_gpu_pool(cluster)
        karpenter.stop(cluster, log=lambda *_: None)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
