"""Benchmark Kueue on the kwok cluster: the build, the start, the manager's memory, admission latency.

Run against a running kwok cluster (``whyk8s cluster up --provider kwok``; the four variables of a
developer's own cluster exported where needed)::

    .venv/bin/python benchmarks/kueue.py            # Kueue's binary as cached (built first if missing)
    .venv/bin/python benchmarks/kueue.py --build    # also: build cmd/kueue once with an EMPTY Go build
                                                    # cache (module cache as it is), at nice 19

Prints Markdown for ``benchmarks/RESULTS.md``. Figures, not assertions.

- build: ``go build sigs.k8s.io/kueue/cmd/kueue`` in ``clusters/controlplane/kueue`` with ``GOCACHE``
  a fresh empty folder, into a temporary file (the cached binary is not touched); wall clock, CPU
  time and peak RSS of the go processes;
- start: :func:`whyk8s.cluster.kueue.start` with the binary cached (CRDs, Secret, webhooks, process,
  until its readiness probe answers, a dry-run create passes its webhooks and its ResourceFlavor
  controller has put its finalizer on a probe flavor);
- RSS: VmRSS of the manager, idle after start and after the 100-job runs;
- one job: create a queued Job (1 CPU) in a LocalQueue with free quota; latency = from the create
  call's return to the watch seeing the Job un-suspended by Kueue (5 runs, each Job deleted after);
- 100 jobs at once: 100 queued Jobs (50m CPU each) created back to back, quota for all of them: time
  from the first create to the last Job un-suspended, and the per-Job latencies;
- 100 jobs through a quota of 10: the same 100 Jobs, quota for 10 at a time; on kwok each Job's pod
  succeeds as soon as it runs, so this is the time Kueue takes to admit, see finish and admit the
  next, down the whole queue.
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

from kubernetes import watch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from whyk8s.cluster import controlplane, kueue  # noqa: E402
from whyk8s.k8s import objects  # noqa: E402
from whyk8s.k8s.guard import connect  # noqa: E402
from whyk8s.lessons import queueing  # noqa: E402

NS = "bench-kueue"


def build_cold() -> dict:
    """Build cmd/kueue once with an empty Go build cache; the module cache is left as it is."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="kueue-bench-") as tmp:
        env = {**os.environ, "GOCACHE": str(Path(tmp) / "gocache"), "CGO_ENABLED": "0",
               "GOFLAGS": "-mod=mod -buildvcs=false"}
        started = time.monotonic()
        subprocess.run(["nice", "-n", "19", "go", "build", "-trimpath", "-ldflags", "-s -w", "-o",
                        str(Path(tmp) / "kueue"), "sigs.k8s.io/kueue/cmd/kueue"],
                       cwd=controlplane.module_dir("kueue"), env=env, check=True)
        wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_rss_mib": after.ru_maxrss / 1024}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Unsuspended:
    """Watches the Jobs of a namespace and records when each is first seen with ``suspend`` false."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.seen: dict[str, float] = {}
        self._w = watch.Watch()
        self._ready = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        self._ready.wait(10)

    def _run(self):
        rv = self.cluster.batch.list_namespaced_job(NS).metadata.resource_version
        self._ready.set()
        try:
            for ev in self._w.stream(self.cluster.batch.list_namespaced_job, NS, resource_version=rv):
                job = ev["object"]
                if job.spec.suspend is False and job.metadata.name not in self.seen:
                    self.seen[job.metadata.name] = time.monotonic()
        except Exception:  # noqa: BLE001 - the stream ends with an error when stopped
            pass

    def wait_for(self, names, timeout=300):
        deadline = time.monotonic() + timeout
        while not set(names) <= set(self.seen):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(set(names) - set(self.seen))} Jobs not admitted in {timeout} s")
            time.sleep(0.05)

    def stop(self):
        self._w.stop()


def delete_jobs(cluster):
    objects.cleanup(cluster, delete_namespaces=False)
    deadline = time.monotonic() + 120
    while cluster.batch.list_namespaced_job(NS).items and time.monotonic() < deadline:
        time.sleep(0.5)


def run_jobs(cluster, watcher, names, cpu):
    created = {}
    first = time.monotonic()
    for name in names:
        objects.create(cluster, queueing.queued_job(name, "bench", cpu=cpu, memory="64Mi"), namespace=NS)
        created[name] = time.monotonic()
    create_s = time.monotonic() - first
    watcher.wait_for(names)
    lat = sorted(watcher.seen[n] - created[n] for n in names)
    return {"create_s": create_s, "total_s": max(watcher.seen[n] for n in names) - first,
            "p50_s": statistics.median(lat), "p95_s": lat[int(0.95 * (len(lat) - 1))], "max_s": lat[-1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", action="store_true", help="also time a build with an empty Go build cache")
    args = parser.parse_args()
    today = datetime.date.today().isoformat()
    rows = []
    if args.build:
        b = build_cold()
        rows.append(f"| {today} | build of cmd/kueue, empty Go build cache, module cache warm, nice 19 | "
                    f"{b['wall_s']:.0f} s wall, {b['cpu_s']:.0f} s CPU, peak RSS {b['peak_rss_mib']:.0f} MiB |")
        print(rows[-1], flush=True)
    kueue.build(log=lambda *_: None)
    cluster = connect()
    kueue.stop(cluster, log=lambda *_: None)
    started = time.monotonic()
    st = kueue.start(cluster, log=lambda *_: None)
    rows.append(f"| {today} | `kueue.start()`, binary cached (install, process, webhooks and controllers answer) | "
                f"{time.monotonic() - started:.1f} s |")
    time.sleep(5)
    rows.append(f"| {today} | manager RSS, idle | {rss_mib(st.pid):.0f} MiB |")
    try:
        queueing.resource_flavors(cluster, ["cpu"])
        queueing.cluster_queue(cluster, "bench", {"cpu": {"cpu": 100, "memory": "100Gi"}}, cohort=None)
        queueing.local_queue(cluster, NS, "bench", name="bench")
        watcher = Unsuspended(cluster)
        singles = []
        for i in range(5):
            singles.append(run_jobs(cluster, watcher, [f"one-{i}"], cpu=1)["max_s"])
            delete_jobs(cluster)
        rows.append(f"| {today} | one queued Job, create → un-suspended (5 runs) | median "
                    f"{statistics.median(singles) * 1000:.0f} ms (min {min(singles) * 1000:.0f}, max "
                    f"{max(singles) * 1000:.0f}) |")
        r = run_jobs(cluster, watcher, [f"many-{i}" for i in range(100)], cpu="50m")
        rows.append(f"| {today} | 100 queued Jobs at once, quota for all | created in {r['create_s']:.1f} s; "
                    f"last admitted {r['total_s']:.1f} s after the first create; per Job p50 {r['p50_s']:.2f} s, "
                    f"p95 {r['p95_s']:.2f} s, max {r['max_s']:.2f} s |")
        delete_jobs(cluster)
        queueing.cluster_queue(cluster, "bench", {"cpu": {"cpu": "500m", "memory": "100Gi"}}, cohort=None)
        r = run_jobs(cluster, watcher, [f"drain-{i}" for i in range(100)], cpu="50m")
        rows.append(f"| {today} | 100 queued Jobs, quota for 10 at a time (kwok finishes each at once) | "
                    f"created in {r['create_s']:.1f} s; last admitted {r['total_s']:.1f} s after the first "
                    f"create; per Job p50 {r['p50_s']:.2f} s, max {r['max_s']:.2f} s |")
        rows.append(f"| {today} | manager RSS after the 200 Jobs | {rss_mib(st.pid):.0f} MiB |")
        watcher.stop()
        delete_jobs(cluster)
    finally:
        objects.cleanup(cluster)
        kueue.stop(cluster, log=lambda *_: None)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
