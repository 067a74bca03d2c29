"""Workshop mode under load: 30 participants at once on one kwok cluster (figures in RESULTS.md).

Run against your own kwok cluster (never the shared one), with the instructor's kubeconfig::

    WHYK8S_CLUSTER=<name> KUBECONFIG=~/.kube/<name> WHYK8S_ALLOW_CONTEXT=kwok-<name> \\
        .venv/bin/python benchmarks/workshop_load.py [--participants 30] [--pods 2]

What it does, in one run:

1. ``workshop up --participants N`` (tokens of 1 h; kubeconfigs in a temporary folder);
2. single user: participants p01 … p05 (``--single``), one after the other, each alone, run the
   participant flow below; then ``workshop reset`` empties their namespaces;
3. the room: N participants at once, one process each (its own ``KUBECONFIG``, so its own guarded
   connection, the lab's namespace constant and all, as in a participant's kernel), started together
   when every process has imported the course and connected;
4. ``workshop down``, then every object with the workshop's labels is counted (must be 0).

The participant flow, through the package: chapter 3's launcher (:class:`PodLauncher`, headless:
fields set, ``deploy()`` with its defaults: 250m CPU, 256 MiB), ``--pods`` times (2: with 30 participants on
the course layout each quota holds 720m CPU, so a third 250m pod would be refused), each time timing
create → Running as the course's wait sees it (:func:`whyk8s.k8s.waits.wait_for_pods`: a watch);
then lab 2 as its solution notebook runs it: ``pod_lab.reset()``, the right answer (the Pod of the
solution, created with the official client in the participant's namespace), ``pod_lab.check_pod()``
and ``pod_lab.check_read_back()`` (which record their results in the participant's progress
ConfigMap).

Memory: VmRSS of this cluster's kube-apiserver process (found by its kwokctl cluster folder in its
command line), sampled every 0.25 s: before ``up``, peak during the room, peak during the status
and ``down`` that follow, 5 s after ``down``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def apiserver_pid(cluster: str) -> int | None:
    """The pid of the kube-apiserver of kwokctl cluster ``cluster`` (its command line names its folder)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if os.path.basename(cmd[0].decode()) == "kube-apiserver" and \
                any(f"/clusters/{cluster}/".encode() in part for part in cmd):
            return int(pid)
    return None


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


class Sampler(threading.Thread):
    """Samples the RSS of ``pid`` every ``every`` seconds; ``peak`` (MiB) since the last :meth:`reset`."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.running = pid, every, 0.0, True

    def reset(self) -> None:
        self.peak = rss_mib(self.pid)

    def run(self) -> None:
        while self.running:
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except (OSError, StopIteration):
                pass
            time.sleep(self.every)


# -- one participant (a process of its own) ----------------------------------------------------------
def participant(name: str, pods: int, go_file: str | None) -> dict:
    """The participant flow (see the module docstring). ``KUBECONFIG`` is the participant's; the
    course is imported only now, as in a participant's kernel. Returns what it measured."""
    from kubernetes import client

    from whyk8s.k8s.guard import connect
    from whyk8s.k8s.waits import wait_for_pods
    from whyk8s.labs import pod_lab
    from whyk8s.notebook.widgets import PodLauncher

    out: dict = {"participant": name, "latencies": [], "errors": []}
    launcher = PodLauncher()  # connects with the participant's kubeconfig: their namespace
    cluster = connect()
    out["namespace"] = cluster.namespace
    if launcher.cluster is None:
        out["errors"].append("the launcher has no cluster")
        return out
    if go_file:
        Path(go_file + f".{name}.ready").touch()
        while not os.path.exists(go_file):
            time.sleep(0.02)
    started = time.monotonic()
    for i in range(pods):
        pod = f"ch3-pod-{i + 1}"
        launcher.name.value = pod
        t0 = time.monotonic()
        sentence = launcher.deploy()
        try:
            wait_for_pods(cluster, lambda ps, pod=pod: pod in ps and ps[pod].status.phase == "Running",
                          timeout=120)
            out["latencies"].append(time.monotonic() - t0)
        except Exception as exc:  # noqa: BLE001 - measured, reported
            out["errors"].append(f"{pod}: {sentence} / {exc}")
    # lab 2 as its solution notebook runs it: reset() (it deletes the chapter's pods too), the right Pod
    # with the official client as the learner's cell does, then the two checks
    core = client.CoreV1Api(cluster.api)
    labels = {"app": "first-pod", "app.kubernetes.io/part-of": "whyk8s"}
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_lab.POD_NAME, "labels": labels},
            "spec": {"containers": [{"name": "main", "image": pod_lab.IMAGE,
                                     "resources": {"requests": {"cpu": pod_lab.CPU, "memory": pod_lab.MEMORY}}}]}}
    t0 = time.monotonic()
    try:
        reset = pod_lab.reset()
        if not reset.passed:
            out["errors"].append(f"lab 2 reset: {reset}")
        core.create_namespaced_pod(pod_lab.NAMESPACE, body)
        first = pod_lab.check_pod(timeout=60)
        stored = core.read_namespaced_pod(pod_lab.POD_NAME, pod_lab.NAMESPACE)
        second = pod_lab.check_read_back(stored)
        out["lab2_passed"] = bool(first.passed and second.passed)
        out["lab2_hints"] = first.hints + second.hints
        if not out["lab2_passed"]:
            out["errors"].append(f"lab 2: {first.problems + second.problems}")
    except Exception as exc:  # noqa: BLE001
        out["lab2_passed"] = False
        out["errors"].append(f"lab 2: {exc}")
    out["lab2_seconds"] = time.monotonic() - t0
    out["flow_seconds"] = time.monotonic() - started
    launcher.close()
    return out


def spawn(name: str, kubeconfig: Path, pods: int, go_file: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "WHYK8S_ALLOW_CONTEXT"}
    env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.Popen([sys.executable, __file__, "--worker", name, "--pods", str(pods)]
                            + (["--go-file", go_file] if go_file else []),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def collect(proc: subprocess.Popen, name: str) -> dict:
    stdout, stderr = proc.communicate(timeout=900)
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"participant": name, "latencies": [], "errors": [f"exit {proc.returncode}: {stderr[-400:]}"]}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def leftovers(cluster) -> dict[str, int]:
    """Every object carrying the workshop's labels, cluster-wide, by kind (and pods and ConfigMaps
    left in participants' namespaces whatever their labels)."""
    from kubernetes import client

    from whyk8s.cluster import workshop
    from whyk8s.k8s import progress
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    sel = workshop.PARTICIPANTS_SELECTOR
    core = cluster.core
    counts = {
        "Namespace": len(core.list_namespace(label_selector=sel).items),
        "ServiceAccount": len(core.list_service_account_for_all_namespaces(label_selector=sel).items),
        "Role": len(rbac.list_role_for_all_namespaces(label_selector=sel).items),
        "RoleBinding": len(rbac.list_role_binding_for_all_namespaces(label_selector=sel).items),
        "ClusterRoleBinding": len(rbac.list_cluster_role_binding(label_selector=sel).items),
        "ClusterRole": len(rbac.list_cluster_role(label_selector=workshop.SHARED_SELECTOR).items),
        "ResourceQuota": len(core.list_resource_quota_for_all_namespaces(label_selector=sel).items),
        "LimitRange": len(core.list_limit_range_for_all_namespaces(label_selector=sel).items),
        "ConfigMap (progress)": len(core.list_config_map_for_all_namespaces(label_selector=progress.SELECTOR).items),
        "Pod in whyk8s-p*": sum(1 for p in core.list_pod_for_all_namespaces().items
                                if p.metadata.namespace.startswith("whyk8s-p")),
    }
    return counts


def main(args: argparse.Namespace) -> None:
    from whyk8s.cluster import workshop
    from whyk8s.cluster.providers import cluster_name
    from whyk8s.k8s.guard import connect

    instructor = connect()
    pid = apiserver_pid(cluster_name())
    if pid is None:
        sys.exit(f"No kube-apiserver of kwok cluster {cluster_name()!r} on this machine.")
    sampler = Sampler(pid)
    sampler.start()
    report: dict = {"cluster": instructor.context, "participants": args.participants, "pods_each": args.pods,
                    "rss_before_mib": round(rss_mib(pid), 1)}
    out = Path(tempfile.mkdtemp(prefix="whyk8s-load-"))
    workshop.down(cluster=instructor, out=out)
    t0 = time.monotonic()
    res = workshop.up(args.participants, hours=1, out=out, cluster=instructor)
    report["up_seconds"] = round(time.monotonic() - t0, 2)
    report["rss_after_up_mib"] = round(rss_mib(pid), 1)
    kc = {p: workshop.kubeconfig_path(res.context, p, out) for p in res.participants}

    # single user: one participant at a time, nobody else working
    single = []
    for p in res.participants[:args.single]:
        r = collect(spawn(p, kc[p], args.pods, None), p)
        single.append(r)
        workshop.reset(p, cluster=instructor)
    lat1 = [x for r in single for x in r["latencies"]]

    # the room: every participant at once
    go = str(out / "go")
    sampler.reset()
    procs = {p: spawn(p, kc[p], args.pods, go) for p in res.participants}
    deadline = time.monotonic() + 600
    while sum(os.path.exists(f"{go}.{p}.ready") for p in res.participants) < len(procs) \
            and time.monotonic() < deadline and all(pr.poll() is None for pr in procs.values()):
        time.sleep(0.1)
    ready = sum(os.path.exists(f"{go}.{p}.ready") for p in res.participants)
    report["ready_before_go"] = ready
    sampler.reset()
    t0 = time.monotonic()
    Path(go).touch()
    room = [collect(pr, p) for p, pr in procs.items()]
    report["room_wall_seconds"] = round(time.monotonic() - t0, 2)
    report["rss_peak_room_mib"] = round(sampler.peak, 1)
    overall = Sampler(pid)
    overall.reset()
    overall.start()
    lat = [x for r in room for x in r["latencies"]]
    status = workshop.status(cluster=instructor)
    report["status_rows"] = len(status)
    report["status_lab2_passed"] = int(sum("lab2.check_pod" in str(v) for v in status.passed))

    t0 = time.monotonic()
    workshop.down(cluster=instructor, out=out, timeout=300)
    report["down_seconds"] = round(time.monotonic() - t0, 2)
    report["leftovers"] = leftovers(instructor)
    report["leftover_total"] = sum(report["leftovers"].values())
    report["kubeconfigs_left"] = len(list(out.glob("*.kubeconfig")))
    time.sleep(5)
    report["rss_after_down_mib"] = round(rss_mib(pid), 1)
    report["rss_peak_status_and_down_mib"] = round(overall.peak, 1)
    sampler.running = overall.running = False

    def summary(values):
        return {"n": len(values), "p50_s": round(pct(values, 0.5), 3), "p95_s": round(pct(values, 0.95), 3),
                "max_s": round(max(values), 3) if values else None,
                "mean_s": round(statistics.fmean(values), 3) if values else None}

    report["single_user"] = summary(lat1)
    report["room"] = summary(lat)
    report["room_lab2_passed"] = sum(bool(r.get("lab2_passed")) for r in room)
    report["room_lab2_seconds_p50"] = round(pct([r["lab2_seconds"] for r in room if "lab2_seconds" in r], 0.5), 2)
    report["single_lab2_seconds"] = [round(r.get("lab2_seconds", float("nan")), 2) for r in single]
    report["recording_hints"] = sorted({h for r in room + single for h in r.get("lab2_hints", [])})
    report["errors"] = [e for r in room + single for e in r["errors"]]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=30)
    parser.add_argument("--pods", type=int, default=2, help="chapter 3 launches per participant (2)")
    parser.add_argument("--single", type=int, default=5, help="participants timed alone, one after another (5)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--go-file", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.worker:
        print(json.dumps(participant(a.worker, a.pods, a.go_file)))
    else:
        main(a)
