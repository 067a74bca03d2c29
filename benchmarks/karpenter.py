"""Benchmark Karpenter (kwok provider) on the kwok cluster: the build, the start, its memory, the time from a
pending GPU Job to its pod running on a new Node, and the time to consolidate the pool back to zero.

Run against a running kwok cluster (``whyk8s cluster up --provider kwok``; the four variables of a
developer's own cluster exported where needed)::

    .venv/bin/python benchmarks/karpenter.py            # the binary as cached (built first if missing)
    .venv/bin/python benchmarks/karpenter.py --build    # also: build it once with an EMPTY Go build cache
                                                        # (module cache as it is), at nice 19
    .venv/bin/python benchmarks/karpenter.py --runs 3   # pending-job runs, and anchor runs (default 3)

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
- the anchor, in the same run: the same 1-GPU Job on an existing GPU Node of the same instance type
  (the pool set to ``consolidateAfter: 10m``, one Job run first so that Karpenter makes a ``gpu-1x``
  and keeps it empty): from the create call's return to its pod Running on that Node, ``--runs``
  times; no Node is made meanwhile (checked);
- three 1-GPU Jobs at once: which instance types Karpenter chose.
"""

from __future__ import annotations

import sys
import time

from kubernetes import client
from local_controllers import JobSteps, begin, load, quiet, rss_mib, spread, wait, watching

from whyk8s.cluster import karpenter
from whyk8s.k8s import objects
from whyk8s.lessons import gpu_pools


def nodeclaims(cluster) -> list:
    return client.CustomObjectsApi(cluster.api).list_cluster_custom_object(
        karpenter.GROUP, karpenter.VERSION, "nodeclaims")["items"]


def pool_empty(cluster) -> bool:
    return not karpenter.karpenter_nodes(cluster) and not nodeclaims(cluster)


def one_run(cluster, steps: JobSteps, name: str) -> dict:
    """One 1-GPU Job into the empty pool; its pod on a new Node; then the pool back to zero."""
    nw = gpu_pools.NodeWatch(cluster).start()
    objects.create(cluster, gpu_pools.gpu_job(name, gpus=1))
    created = time.monotonic()
    steps.wait_for([name], ("pod_created", "running", "complete"))
    wait("pool at zero", lambda: pool_empty(cluster))
    zero = time.monotonic()
    nw.stop()
    t0 = nw._started
    ours = [e for e in nw.events if e.get("karpenter")]
    joined = next(e["t_s"] for e in ours if e["event"] == "joined") + t0 - created
    ready = next(e["t_s"] for e in ours if e["event"] == "ready") + t0 - created
    running_at, node = steps.running[name]
    objects.cleanup(cluster, delete_namespaces=False)
    return {"pod_created_s": steps.pod_created[name] - created, "running_s": running_at - created,
            "joined_s": joined, "ready_s": ready,
            "type": next(e["instance_type"] for e in ours if e["event"] == "joined"),
            "on_new_node": node in {e["node"] for e in ours},
            "zero_s": zero - steps.complete[name]}


def anchor_runs(cluster, steps: JobSteps, runs: int) -> dict:
    """The same Job on an existing Node: the pool kept (``consolidateAfter: 10m``), one Job run first so
    Karpenter makes a Node, then ``runs`` Jobs timed onto it; checks no other Node joined."""
    gpu_pools.create_gpu_pool(cluster, consolidate_after="10m")
    objects.create(cluster, gpu_pools.gpu_job("warm", gpus=1))
    steps.wait_for(["warm"], ("running", "complete"))
    node = steps.running["warm"][1]
    n = cluster.core.read_node(node)
    itype = n.metadata.labels.get("node.kubernetes.io/instance-type")
    objects.cleanup(cluster, delete_namespaces=False)
    nw = gpu_pools.NodeWatch(cluster).start()
    lat, created_lat = [], []
    for i in range(runs):
        name = f"anchor-{i}"
        objects.create(cluster, gpu_pools.gpu_job(name, gpus=1))
        created = time.monotonic()
        steps.wait_for([name], ("pod_created", "running", "complete"))
        at, on = steps.running[name]
        assert on == node, f"{name} ran on {on}, not on the existing Node {node}"
        lat.append(at - created)
        created_lat.append(steps.pod_created[name] - created)
        objects.cleanup(cluster, delete_namespaces=False)
    nw.stop()
    joined = [e["node"] for e in nw.events if e.get("karpenter") and e["event"] == "joined" and e["node"] != node]
    assert not joined, f"Karpenter made Nodes during the anchor runs: {joined}"
    return {"running_s": lat, "pod_created_s": created_lat, "type": itype}


def main() -> int:
    args, rows, cluster = begin(karpenter.CONTROLLER, __doc__, "Karpenter's kwok binary", default_runs=3)
    rows.add("binary size (`-s -w`)", f"{karpenter.binary_path().stat().st_size / 2**20:.0f} MiB")
    started = time.monotonic()
    st = karpenter.start(cluster, log=quiet)
    rows.add("`karpenter.start()`, binary cached (5 CRDs, process, until its readiness probe answers)",
             f"{time.monotonic() - started:.1f} s")
    time.sleep(5)
    idle = rss_mib(st.pid)
    with watching(karpenter.CONTROLLER, cluster, cluster.namespace) as steps:
        gpu_pools.create_gpu_pool(cluster)  # consolidateAfter 10s, as the lesson
        runs = []
        for i in range(args.runs):
            runs.append(one_run(cluster, steps, f"bench-{i}"))
            print(runs[-1], flush=True)
        load_runs = load()
        anchor = anchor_runs(cluster, steps, args.runs)
        print(anchor, flush=True)

        def med(key):
            return spread([r[key] for r in runs])

        rows.add(f"one 1-GPU Job into the empty pool, create → its pod Running on a new Karpenter Node "
                 f"({len(runs)} runs; Node types {sorted({r['type'] for r in runs})}; {load_runs})",
                 f"{med('running_s')}; the Node joined at {med('joined_s')}, Ready at {med('ready_s')}; anchor "
                 f"(same run, the same Job on an existing `{anchor['type']}` Node): "
                 f"{spread(anchor['running_s'], 'ms', 1000, 0)}")
        rows.add(f"anchor: the same 1-GPU Job on an existing Node of the same type (made by Karpenter before, kept "
                 f"by `consolidateAfter: 10m`), create → its pod created / Running ({len(anchor['running_s'])} "
                 f"runs, no Node made meanwhile; {load()})",
                 f"{spread(anchor['pod_created_s'], 'ms', 1000, 0)} / {spread(anchor['running_s'], 'ms', 1000, 0)}")
        rows.add(f"the Job complete → no Karpenter Node and no NodeClaim (`consolidateAfter: 10s`, {len(runs)} runs)",
                 med("zero_s"))
        gpu_pools.delete_gpu_pool(cluster)
        gpu_pools.create_gpu_pool(cluster)
        nw = gpu_pools.NodeWatch(cluster).start()
        for i in range(3):
            objects.create(cluster, gpu_pools.gpu_job(f"three-{i}", gpus=1))
        steps.wait_for([f"three-{i}" for i in range(3)], ("complete",))
        wait("pool at zero", lambda: pool_empty(cluster))
        nw.stop()
        types = sorted(e["instance_type"] for e in nw.events if e.get("karpenter") and e["event"] == "joined")
        rows.add("three 1-GPU Jobs created at once: the Nodes Karpenter made", ", ".join(types))
        rows.add("Karpenter RSS, idle / after the runs", f"{idle:.0f} MiB / {rss_mib(st.pid):.0f} MiB")
    print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
