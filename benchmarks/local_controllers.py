"""What ``benchmarks/kueue.py`` and ``benchmarks/karpenter.py`` share: a build with an empty Go build
cache, a process's resident memory, a bounded wait, the medians they print, and one watch of a
namespace's Jobs and pods that timestamps each Job's steps on one monotonic clock.

Not a script: the two benchmarks import it (it sits beside them on ``sys.path``).
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
from contextlib import contextmanager
from pathlib import Path

from kubernetes import watch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from whyk8s.cluster import controlplane  # noqa: E402
from whyk8s.k8s import objects  # noqa: E402
from whyk8s.k8s.guard import connect  # noqa: E402


def build_cold(controller) -> dict:
    """Build ``controller``'s binary (a :class:`whyk8s.cluster.localprocess.LocalController`) once with
    an empty Go build cache, at nice 19, into a temporary file (the cached binary is not touched); the
    module cache is left as it is. Returns ``wall_s``, ``cpu_s`` (user + system of the go processes)
    and ``peak_rss_mib``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix=f"{controller.slug}-bench-") as tmp:
        env = {**os.environ, "GOCACHE": str(Path(tmp) / "gocache"), "CGO_ENABLED": "0",
               "GOFLAGS": "-mod=mod -buildvcs=false", **controller.build_env()}
        started = time.monotonic()
        subprocess.run(["nice", "-n", "19", "go", "build", "-trimpath", "-ldflags", "-s -w", "-o",
                        str(Path(tmp) / controller.binary), controller.main_package],
                       cwd=controlplane.module_dir(controller.slug), env=env, check=True)
        wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_rss_mib": after.ru_maxrss / 1024}


def rss_mib(pid: int) -> float:
    """VmRSS of ``pid`` in MiB (NaN when /proc does not say)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load() -> str:
    """The 1-minute load average and the core count, for the rows' notes: ``"load 2.3 on 2 cores"``."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def wait(what: str, check, timeout: float = 180) -> None:
    """Poll ``check()`` every 50 ms until true; TimeoutError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def spread(values: list[float], unit: str = "s", scale: float = 1.0, digits: int = 1) -> str:
    """``median X (min Y, max Z)`` of ``values`` times ``scale``, in ``unit``."""
    v = [x * scale for x in values]
    return (f"median {statistics.median(v):.{digits}f} {unit} (min {min(v):.{digits}f}, "
            f"max {max(v):.{digits}f})")


class JobSteps:
    """Watches the Jobs and pods of ``namespace`` and records, on the ``time.monotonic()`` clock, the
    first time each Job is seen un-suspended (``unsuspended``), complete (``complete``), its first pod
    seen at all (``pod_created``) and bound and Running or already Succeeded (``running``: ``(t,
    node)``; on kwok a Job's pod succeeds as soon as it runs). Each dict is keyed by the Job's name (a
    pod's ``job-name`` label). Ready once both watches have listed."""

    def __init__(self, cluster, namespace: str):
        self.cluster, self.namespace = cluster, namespace
        self.unsuspended: dict[str, float] = {}
        self.complete: dict[str, float] = {}
        self.pod_created: dict[str, float] = {}
        self.running: dict[str, tuple[float, str]] = {}
        self._ws = [watch.Watch(), watch.Watch()]
        ready = [threading.Event(), threading.Event()]
        threading.Thread(target=self._run, args=(self._ws[0], cluster.batch.list_namespaced_job, self._job,
                                                 ready[0]), daemon=True).start()
        threading.Thread(target=self._run, args=(self._ws[1], cluster.core.list_namespaced_pod, self._pod,
                                                 ready[1]), daemon=True).start()
        for r in ready:
            r.wait(10)

    def _run(self, w, list_fn, record, ready):
        rv = list_fn(self.namespace).metadata.resource_version
        ready.set()
        try:
            for ev in w.stream(list_fn, self.namespace, resource_version=rv):
                record(ev["object"], time.monotonic())
        except Exception:  # noqa: BLE001 - the stream ends with an error when stopped
            pass

    def _job(self, job, now: float) -> None:
        name = job.metadata.name
        if job.spec.suspend is False:
            self.unsuspended.setdefault(name, now)
        if (job.status.succeeded or 0) >= 1:
            self.complete.setdefault(name, now)

    def _pod(self, pod, now: float) -> None:
        job = (pod.metadata.labels or {}).get("job-name")
        if not job:
            return
        self.pod_created.setdefault(job, now)
        if pod.spec.node_name and pod.status.phase in ("Running", "Succeeded") and job not in self.running:
            self.running[job] = (now, pod.spec.node_name)

    def wait_for(self, names, steps=("running",), timeout: float = 300) -> None:
        """Wait until every Job of ``names`` has each of ``steps`` recorded; TimeoutError otherwise."""
        def done():
            return all(set(names) <= set(getattr(self, s)) for s in steps)
        wait(f"{len(names)} Jobs to reach {', '.join(steps)}", done, timeout)

    def at(self, step: str, name: str) -> float:
        """When Job ``name`` reached ``step``."""
        value = getattr(self, step)[name]
        return value[0] if isinstance(value, tuple) else value

    def stop(self) -> None:
        for w in self._ws:
            w.stop()


class Rows:
    """The Markdown rows a benchmark prints for ``benchmarks/RESULTS.md``, each dated today and printed
    as soon as it is measured (a long run shows its figures as it goes)."""

    def __init__(self):
        self.today = datetime.date.today().isoformat()
        self.rows: list[str] = []

    def add(self, what: str, figure: str) -> None:
        self.rows.append(f"| {self.today} | {what} | {figure} |")
        print(self.rows[-1], flush=True)

    def __str__(self) -> str:
        return "\n".join(self.rows)


def begin(controller, doc: str, build_what: str, default_runs: int):
    """What both benchmarks do first: parse ``--build`` and ``--runs``; with ``--build`` time
    :func:`build_cold`; build the binary if it is not cached; connect (the guarded course cluster) and
    stop the controller if it runs. Returns ``(args, rows, cluster)``."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--build", action="store_true", help="also time a build with an empty Go build cache")
    parser.add_argument("--runs", type=int, default=default_runs,
                        help=f"runs of each single-Job measurement (default {default_runs})")
    args = parser.parse_args()
    rows = Rows()
    if args.build:
        b = build_cold(controller)
        rows.add(f"build of {build_what}, empty Go build cache, module cache warm, nice 19",
                 f"{b['wall_s']:.0f} s wall, {b['cpu_s']:.0f} s CPU, peak RSS {b['peak_rss_mib']:.0f} MiB")
    controller.build(log=quiet)
    cluster = connect()
    controller.stop(cluster, log=quiet)
    return args, rows, cluster


def quiet(*_) -> None:
    """A ``log`` that says nothing."""


@contextmanager
def watching(controller, cluster, namespace: str):
    """Yield a :class:`JobSteps` of ``namespace``; afterwards, whatever happened, stop it, delete the
    course's objects and stop the controller (which removes what it installed and made)."""
    steps = JobSteps(cluster, namespace)
    try:
        yield steps
    finally:
        steps.stop()
        objects.cleanup(cluster)
        controller.stop(cluster, log=quiet)
