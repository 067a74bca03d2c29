"""Benchmark Kueue on the kwok cluster: the build, the start, the manager's memory, admission latency.

Run against a running kwok cluster (``whyk8s cluster up --provider kwok``; the four variables of a
developer's own cluster exported where needed)::

    .venv/bin/python benchmarks/kueue.py            # Kueue's binary as cached (built first if missing)
    .venv/bin/python benchmarks/kueue.py --build    # also: build cmd/kueue once with an EMPTY Go build
                                                    # cache (module cache as it is), at nice 19
    .venv/bin/python benchmarks/kueue.py --runs 5   # single-Job runs of each kind (default 5)

Prints Markdown for ``benchmarks/RESULTS.md``. Figures, not assertions.

- build: ``go build sigs.k8s.io/kueue/cmd/kueue`` in ``clusters/controlplane/kueue`` with ``GOCACHE``
  a fresh empty folder, into a temporary file (the cached binary is not touched); wall clock, CPU
  time and peak RSS of the go processes;
- start: :func:`whyk8s.cluster.kueue.start` with the binary cached (CRDs, Secret, webhooks, process,
  until its readiness probe answers, a dry-run create passes its webhooks and its ResourceFlavor
  controller has put its finalizer on a probe flavor);
- RSS: VmRSS of the manager, idle after start and after the 100-job runs;
- the anchor, in the same run, before Kueue is installed: the same Job with no queue (plain
  Kubernetes: the job controller makes its pod at once) — create → its pod created, → its pod bound
  and Running (or already Succeeded: on kwok a Job's pod succeeds as soon as it runs); ``--runs``
  runs, then 100 such Jobs created back to back;
- one job: create a queued Job (1 CPU) in a LocalQueue with free quota; latency = from the create
  call's return to the watch seeing the Job un-suspended by Kueue, and to its pod created and Running
  (``--runs`` runs, each Job deleted after); then the anchor Job again with Kueue running (no queue
  label: Kueue leaves it alone, but its Job webhooks are still called in the course's namespaces);
- 100 jobs at once: 100 queued Jobs (50m CPU each) created back to back, quota for all of them: time
  from the first create to the last Job un-suspended and to the last pod Running, and the per-Job
  latencies;
- 100 jobs through a quota of 10: the same 100 Jobs, quota for 10 at a time; on kwok each Job's pod
  succeeds as soon as it runs, so this is the time Kueue takes to admit, see finish and admit the
  next, down the whole queue.
"""

from __future__ import annotations

import statistics
import sys
import time

from local_controllers import JobSteps, begin, load, quiet, rss_mib, spread, watching

from whyk8s.cluster import kueue
from whyk8s.k8s import objects, specs
from whyk8s.lessons import queueing

NS = "bench-kueue"


def queued(name: str, cpu) -> object:
    """The benchmark's Job, sent to the LocalQueue ``bench``."""
    return queueing.queued_job(name, "bench", cpu=cpu, memory="64Mi")


def plain(name: str, cpu) -> object:
    """The same Job with no queue: no queue label, not suspended (the anchor)."""
    return specs.job(name, cpu=cpu, memory="64Mi")


def delete_jobs(cluster):
    objects.cleanup(cluster, delete_namespaces=False)
    deadline = time.monotonic() + 120
    while cluster.batch.list_namespaced_job(NS).items and time.monotonic() < deadline:
        time.sleep(0.5)


def run_jobs(cluster, steps: JobSteps, names, make, wait_steps=("running",)) -> dict:
    """Create the Jobs ``make(name)`` back to back and wait for ``wait_steps``; return, per step, the
    latencies (s) from each create call's return, sorted, and ``create_s`` / ``first`` / ``created``."""
    created = {}
    first = time.monotonic()
    for name in names:
        objects.create(cluster, make(name), namespace=NS)
        created[name] = time.monotonic()
    create_s = time.monotonic() - first
    steps.wait_for(names, wait_steps)
    out = {"create_s": create_s, "first": first}
    for step in wait_steps:
        out[step] = sorted(steps.at(step, n) - created[n] for n in names)
        out[step + "_last"] = max(steps.at(step, n) for n in names) - first
    return out


def singles(cluster, steps, prefix, make, runs, wait_steps) -> dict[str, list[float]]:
    """``runs`` single Jobs, each deleted before the next; latencies per step."""
    out: dict[str, list[float]] = {s: [] for s in wait_steps}
    for i in range(runs):
        r = run_jobs(cluster, steps, [f"{prefix}-{i}"], make, wait_steps)
        for s in wait_steps:
            out[s].append(r[s][0])
        delete_jobs(cluster)
    return out


def per_job(lat: list[float]) -> str:
    return (f"per Job p50 {statistics.median(lat):.2f} s, p95 {lat[int(0.95 * (len(lat) - 1))]:.2f} s, "
            f"max {lat[-1]:.2f} s")


def main() -> int:
    args, rows, cluster = begin(kueue.CONTROLLER, __doc__, "cmd/kueue", default_runs=5)
    n = args.runs
    cluster.ensure_namespace(NS)
    ms = {"unit": "ms", "scale": 1000, "digits": 0}
    with watching(kueue.CONTROLLER, cluster, NS) as steps:
        # the anchor: plain Kubernetes, Kueue not installed
        a = singles(cluster, steps, "plain", lambda name: plain(name, 1), n, ("pod_created", "running"))
        rows.add(f"anchor: the same Job with no queue, Kueue not installed, create → its pod created / Running "
                 f"({n} runs; {load()})", f"{spread(a['pod_created'], **ms)} / {spread(a['running'], **ms)}")
        a100 = run_jobs(cluster, steps, [f"plain-many-{i}" for i in range(100)], lambda name: plain(name, "50m"),
                        ("pod_created", "running"))
        rows.add(f"anchor: 100 such Jobs (50m CPU) created back to back, no queue, Kueue not installed ({load()})",
                 f"created in {a100['create_s']:.1f} s; last pod created {a100['pod_created_last']:.1f} s, last "
                 f"Running {a100['running_last']:.1f} s after the first create; Running {per_job(a100['running'])}")
        delete_jobs(cluster)

        started = time.monotonic()
        st = kueue.start(cluster, log=quiet)
        rows.add("`kueue.start()`, binary cached (install, process, webhooks and controllers answer)",
                 f"{time.monotonic() - started:.1f} s")
        time.sleep(5)
        rows.add("manager RSS, idle", f"{rss_mib(st.pid):.0f} MiB")
        queueing.resource_flavors(cluster, ["cpu"])
        queueing.cluster_queue(cluster, "bench", {"cpu": {"cpu": 100, "memory": "100Gi"}}, cohort=None)
        queueing.local_queue(cluster, NS, "bench", name="bench")
        q = singles(cluster, steps, "one", lambda name: queued(name, 1), n, ("unsuspended", "pod_created", "running"))
        rows.add(f"one queued Job, create → un-suspended / its pod created / Running ({n} runs; {load()})",
                 f"{spread(q['unsuspended'], **ms)} / {spread(q['pod_created'], **ms)} / {spread(q['running'], **ms)}; "
                 f"anchor (same run, no queue, no Kueue): pod created {statistics.median(a['pod_created']) * 1000:.0f} "
                 f"ms, Running {statistics.median(a['running']) * 1000:.0f} ms")
        b = singles(cluster, steps, "plain-k", lambda name: plain(name, 1), n, ("pod_created", "running"))
        rows.add(f"the anchor Job again with Kueue running (no queue label: left alone, its Job webhooks still "
                 f"called), create → its pod created / Running ({n} runs)",
                 f"{spread(b['pod_created'], **ms)} / {spread(b['running'], **ms)}")
        r = run_jobs(cluster, steps, [f"many-{i}" for i in range(100)], lambda name: queued(name, "50m"),
                     ("unsuspended", "running"))
        rows.add(f"100 queued Jobs at once, quota for all ({load()})",
                 f"created in {r['create_s']:.1f} s; last admitted {r['unsuspended_last']:.1f} s, last pod Running "
                 f"{r['running_last']:.1f} s after the first create; un-suspended {per_job(r['unsuspended'])}; "
                 f"anchor (same run, no queue, no Kueue): last pod Running {a100['running_last']:.1f} s")
        delete_jobs(cluster)
        queueing.cluster_queue(cluster, "bench", {"cpu": {"cpu": "500m", "memory": "100Gi"}}, cohort=None)
        r = run_jobs(cluster, steps, [f"drain-{i}" for i in range(100)], lambda name: queued(name, "50m"),
                     ("unsuspended",))
        rows.add("100 queued Jobs, quota for 10 at a time (kwok finishes each at once)",
                 f"created in {r['create_s']:.1f} s; last admitted {r['unsuspended_last']:.1f} s after the first "
                 f"create; per Job p50 {statistics.median(r['unsuspended']):.2f} s, max {r['unsuspended'][-1]:.2f} s")
        rows.add("manager RSS after the 200 Jobs", f"{rss_mib(st.pid):.0f} MiB")
        delete_jobs(cluster)
    print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
