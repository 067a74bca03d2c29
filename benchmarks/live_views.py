"""The live views against ``kubectl get -w``, side by side in one run, on a private kwok cluster.

Run (about 20 minutes; the machine should be otherwise quiet)::

    .venv/bin/python benchmarks/live_views.py              # every experiment
    .venv/bin/python benchmarks/live_views.py --only small --reps 8

It brings up its own kwok cluster ``perf`` (context ``kwok-perf``, its own kubeconfig in a temporary
folder, so the course cluster and ``~/.kube/config`` are untouched), runs the experiments, prints
Markdown tables for ``benchmarks/RESULTS.md`` and writes the raw figures to ``--out`` (JSON). It
deletes the cluster at the end (``--keep`` keeps it). Figures, not assertions: no test times anything.

How "shown" is measured. Every widget runs headless in this process with a comm that serialises
each message as ipykernel would (JSON plus an HMAC-SHA256 signature) and records its time and size
(``comm.create_comm`` is the comm package's documented hook for this). What a view *shows* is read
back from the HTML it sent: the PodBoard's "N Running" summary, the PlacementBoard's pods in node
columns, ScaleControl's "running N", RollingUpdate's newest ReplicaSet's ready count; the
EventRecorder's records (its timeline) are timed when recorded. kubectl runs in a child process that
timestamps every line it prints; every timestamp is ``time.monotonic()`` (one clock for all
processes). For the k-th pod to reach Running (or a node), latency = time shown − time of the API
call that started the burst; a view's ratio is median(view latency) / median(kubectl latency) and
its lag at k is time shown − time kubectl printed it.

Experiments:

- ``small``: a Deployment scaled 0 → 20 (1m CPU, 1Mi each), repeated ``--reps`` times;
- ``scale``: 100 extra simulated nodes, the Deployment scaled 0 → 1,000, then to 0: time until the
  1,000th pod is shown Running (and placed) and until 0 are shown; lag by k; bytes per update; draws;
  CPU of this process against the control plane's;
- ``idle``: the five widgets on a quiet namespace for ``--idle`` seconds, then one ``kubectl get
  pods -w`` for as long: watch and list requests counted by the API server
  (``apiserver_request_total``) and by the widgets' own informers.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NS = "whyk8s"
APP = "bench"


# -- kubectl in a child process, every line timestamped --------------------------------------------
def stamp_main(out: str, cmd: list[str]) -> None:
    """Child process: run ``cmd`` and write ``<monotonic seconds> <line>`` for every line it prints."""
    with open(out, "w", buffering=1) as f:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        f.write(f"{time.monotonic():.6f} #started\n")
        for line in proc.stdout:
            f.write(f"{time.monotonic():.6f} {line}")


class KubectlWatch:
    """``kubectl get <what> -w`` in a stamping child process; :meth:`lines` reads what it printed."""

    def __init__(self, kubectl: str, kubeconfig: str, args: list[str]):
        self.path = tempfile.mktemp(prefix="whyk8s-kubectl-", suffix=".txt")
        cmd = [kubectl, "--kubeconfig", kubeconfig, "--context", "kwok-perf", "-n", NS, *args]
        self.proc = subprocess.Popen([sys.executable, __file__, "--stamp", self.path, "--", *cmd])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if Path(self.path).exists() and Path(self.path).stat().st_size:
                break
            time.sleep(0.05)
        time.sleep(1.0)  # kubectl lists, prints the current objects and opens its watch

    def lines(self) -> list[tuple[float, str]]:
        out = []
        for raw in Path(self.path).read_text().splitlines():
            t, _, line = raw.partition(" ")
            if line and not line.startswith("#"):
                out.append((float(t), line))
        return out

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        subprocess.run(["pkill", "-f", self.path], capture_output=True)


POD_WATCH = ["get", "pods", "-l", f"app={APP}", "-w", "--output-watch-events", "-o",
             'jsonpath={.type} {.object.metadata.name} {.object.status.phase} {.object.spec.nodeName} '
             '{.object.metadata.deletionTimestamp}{"\\n"}']
RS_WATCH = ["get", "rs", "-l", f"app={APP}", "-w", "--output-watch-events", "-o",
            'jsonpath={.type} {.object.metadata.name} {.object.status.readyReplicas}{"\\n"}']


def kubectl_pod_times(lines, since: float) -> dict[str, list[float]]:
    """From kubectl's pod lines after ``since``: times of the k-th pod seen Running, placed, deleted."""
    running, placed, deleted = {}, {}, {}
    for t, line in lines:
        if t < since:
            continue
        parts = line.split(" ")
        kind, name = parts[0], parts[1]
        phase = parts[2] if len(parts) > 2 else ""
        node = parts[3] if len(parts) > 3 else ""
        if kind == "DELETED":
            deleted.setdefault(name, t)
            continue
        if node:
            placed.setdefault(name, t)
        if phase == "Running":
            running.setdefault(name, t)
    return {"running": sorted(running.values()), "placed": sorted(placed.values()),
            "deleted": sorted(deleted.values())}


def kubectl_rs_times(lines, since: float) -> list[float]:
    """Times at which kubectl first printed a ReplicaSet ready count of k (k = 1, 2, ...)."""
    times: list[float] = []
    for t, line in lines:
        parts = line.split(" ")
        if t < since or len(parts) < 3 or not parts[2].isdigit():
            continue
        while len(times) < int(parts[2]):
            times.append(t)
    return times


# -- a comm that serialises and records like ipykernel ---------------------------------------------
class Recorder:
    """Every widget message: (time, model_id, bytes, new value)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[float, str, int, str | None]] = []
        self.key = os.urandom(32)

    def install(self) -> None:
        import comm
        from comm.base_comm import BaseComm

        recorder = self

        class RecordingComm(BaseComm):
            def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
                msg = {"header": {"msg_id": os.urandom(16).hex(), "msg_type": msg_type, "username": "bench",
                                  "session": "bench", "date": time.time(), "version": "5.3"},
                       "parent_header": {}, "metadata": metadata or {},
                       "content": {"comm_id": self.comm_id, "data": data or {}, **keys}}
                parts = [json.dumps(msg[k], default=str).encode()
                         for k in ("header", "parent_header", "metadata", "content")]
                sig = hmac.new(recorder.key, b"".join(parts), hashlib.sha256).hexdigest().encode()
                size = sum(map(len, parts)) + len(sig)
                value = ((data or {}).get("state") or {}).get("value")
                with recorder.lock:
                    recorder.messages.append((time.monotonic(), self.comm_id, size,
                                              value if isinstance(value, str) else None))

        comm.create_comm = RecordingComm

    def mark(self) -> int:
        with self.lock:
            return len(self.messages)

    def since(self, index: int, model_ids: set[str] | None = None) -> list[tuple[float, str, int, str | None]]:
        """Messages from ``index`` on (of the widgets ``model_ids``; all if None)."""
        with self.lock:
            return [m for m in self.messages[index:] if model_ids is None or m[1] in model_ids]


# -- what each view shows, read back from its HTML ---------------------------------------------------
_SUMMARY_RUNNING = re.compile(r"<b>([\d,]+)</b> Running")
_SUMMARY_TOTAL = re.compile(r"^<div class='whyk8s-summary'><b>([\d,]+)</b> pod")
_SCALE_RUNNING = re.compile(r"running <b>(\d+)</b>")
_CHIP = re.compile(r"<div class='whyk8s-chip'")
_MORE = re.compile(r"\+ ([\d,]+) more pods")
_OTHERS = re.compile(r"<b>([\d,]+)</b> course pods")
_RS_ROWS = re.compile(r"<tr><td>(old|new)</td><td><code>[^<]*</code></td><td><code>[^<]*</code></td>"
                      r"<td>(\d+)</td><td>(\d+)</td>")


def _n(text: str) -> int:
    return int(text.replace(",", ""))


def series(messages, count) -> list[tuple[float, int]]:
    """(time, value) each time ``count(html)`` of a widget's newest value changes."""
    out: list[tuple[float, int]] = []
    for t, _, _, value in messages:
        if value is None:
            continue
        n = count(value)
        if n is not None and (not out or out[-1][1] != n):
            out.append((t, n))
    return out


def placement_series(messages, column_ids: set[str]) -> list[tuple[float, int]]:
    """(time, pods shown in node columns) for the PlacementBoard: each column's chips, "+N more" and
    summed "course pods", added over the columns' latest values."""
    latest: dict[str, int] = {}
    out: list[tuple[float, int]] = []
    for t, mid, _, value in messages:
        if value is None or mid not in column_ids:
            continue
        latest[mid] = (len(_CHIP.findall(value)) + sum(_n(m) for m in _MORE.findall(value))
                       + sum(_n(m) for m in _OTHERS.findall(value)))
        total = sum(latest.values())
        if not out or out[-1][1] != total:
            out.append((t, total))
    return out


def first_times(points: list[tuple[float, int]], n: int) -> list[float | None]:
    """For k = 1..n: the first time the shown count reached k (None if never)."""
    times: list[float | None] = [None] * n
    k = 0
    for t, value in points:
        while k < n and value >= k + 1:
            times[k] = t
            k += 1
    return times


def anchor_of(name: str, pod_times: dict, rs_times: list[float]) -> list[float]:
    """What kubectl printed that a view's count is compared with: pods placed (PlacementBoard), the
    ReplicaSet's ready count (RollingUpdate), else pods Running."""
    if name == "PlacementBoard":
        return pod_times["placed"]
    return rs_times if name == "RollingUpdate" else pod_times["running"]


def compare(view_times, kubectl_times, t0: float) -> dict:
    """Ratio of median latencies (view / kubectl) and lags (view − kubectl) over k."""
    n = min(len(view_times), len(kubectl_times))
    pairs = [(v, k) for v, k in zip(view_times[:n], kubectl_times[:n], strict=True) if v is not None]
    if not pairs:
        return {"ratio": None, "shown": 0}
    lags = sorted(v - k for v, k in pairs)
    return {"ratio": statistics.median(v - t0 for v, _ in pairs) / statistics.median(k - t0 for _, k in pairs),
            "lag_p50": statistics.median(lags), "lag_p95": lags[int(0.95 * (len(lags) - 1))],
            "lag_max": lags[-1], "shown": len(pairs), "of": len(kubectl_times),
            "end_ratio": (pairs[-1][0] - t0) / (pairs[-1][1] - t0) if len(pairs) == len(kubectl_times) else None,
            "end_lag": pairs[-1][0] - pairs[-1][1]}


# -- cluster ----------------------------------------------------------------------------------------
def cpu_seconds(names=("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok")) -> dict:
    """utime+stime (seconds) of the control-plane processes, by name, and of this process."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = os.path.basename(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode())
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if exe in names and any("clusters/perf" in a for a in
                                Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")):
            out[exe] = out.get(exe, 0) + (int(fields[11]) + int(fields[12])) / tick
    out["this process"] = time.process_time()
    return out


def metrics(cluster) -> dict[tuple[str, str], float]:
    """``apiserver_request_total`` by (verb, resource), from the API server's /metrics. The API server
    counts a request when it ends: a watch still open is not counted yet."""
    resp = cluster.api.call_api(*cluster.api.param_serialize(method="GET", resource_path="/metrics",
                                                              auth_settings=["BearerToken"]))
    resp.read()
    text = resp.data.decode()
    out: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if line.startswith("apiserver_request_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            key = (labels.get("verb", ""), labels.get("resource", ""))
            out[key] = out.get(key, 0) + float(line.rsplit(" ", 1)[1])
    return out


def add_nodes(cluster, count: int) -> None:
    from whyk8s.k8s.waits import wait_for_nodes
    names = [f"perf-node-{i:03d}" for i in range(count)]
    existing = {n.metadata.name for n in cluster.core.list_node().items}
    for name in names:
        if name in existing:
            continue
        cluster.core.create_node({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {"whyk8s.io/pool": "cpu", "kubernetes.io/hostname": name, "type": "kwok"}},
            "status": {"capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                       "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"}}})
    wait_for_nodes(cluster, names, timeout=300)


def remove_nodes(cluster) -> None:
    for n in cluster.core.list_node().items:
        if n.metadata.name.startswith("perf-node-"):
            cluster.core.delete_node(n.metadata.name)


# -- the experiments --------------------------------------------------------------------------------
class Views:
    """The five widgets and an EventRecorder on one cluster, headless (``only``: just those named)."""

    NAMES = ("PodBoard", "PlacementBoard", "ScaleControl", "RollingUpdate", "EventRecorder")

    def __init__(self, cluster, only: tuple[str, ...] = NAMES):
        from whyk8s.lessons.events import EventRecorder
        from whyk8s.notebook.widgets import PlacementBoard, PodBoard, PodLauncher, RollingUpdate, ScaleControl
        self.only = only
        self.widgets = {}
        makers = {"PodBoard": lambda: PodBoard(cluster), "PlacementBoard": lambda: PlacementBoard(cluster),
                  "ScaleControl": lambda: ScaleControl(APP, cluster),
                  "RollingUpdate": lambda: RollingUpdate(APP, cluster),
                  "PodLauncher": lambda: PodLauncher(cluster)}
        for name in only:
            if name in makers:
                self.widgets[name] = makers[name]()
        self.records: list[tuple[float, dict]] = []
        self.recorder = None
        if "EventRecorder" in only:
            self.recorder = EventRecorder(cluster, on_record=lambda r: self.records.append((time.monotonic(), r)))
            self.recorder.start()

    def ids(self) -> dict[str, set[str]]:
        w = self.widgets
        ids = {}
        if "PodBoard" in w:
            ids["PodBoard"] = {w["PodBoard"].summary.model_id}
        if "ScaleControl" in w:
            ids["ScaleControl"] = {w["ScaleControl"].counts.model_id}
        if "RollingUpdate" in w:
            ids["RollingUpdate"] = {w["RollingUpdate"].view.model_id}
        if "PlacementBoard" in w:
            ids["PlacementBoard"] = {c.model_id for c in w["PlacementBoard"].columns.values()}
        return ids

    def running_records(self, since: float) -> list[tuple[float, int]]:
        seen: set[str] = set()
        out = []
        for t, r in list(self.records):
            if t >= since and r["what"] == "Running" and r["object"] not in seen:
                seen.add(r["object"])
                out.append((t, len(seen)))
        return out

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
        for wdg in self.widgets.values():
            wdg.close()


def scale_to(cluster, n: int) -> float:
    from whyk8s.k8s import objects
    t0 = time.monotonic()
    objects.scale(cluster, APP, n)
    return t0


def wait_count(cluster, n: int, timeout: float) -> None:
    from whyk8s.k8s.waits import wait_for_pods
    wait_for_pods(cluster, lambda ps: len(ps) == n and all(p.status.phase == "Running" for p in ps.values()),
                  f"app={APP}", timeout=timeout)


def view_series(rec: Recorder, views: Views, mark: int, t0: float) -> dict[str, list[tuple[float, int]]]:
    ids = views.ids()
    msgs = rec.since(mark)
    out = {}
    if "PodBoard" in ids:
        out["PodBoard"] = series([m for m in msgs if m[1] in ids["PodBoard"]],
                                 lambda v: _n(m.group(1)) if (m := _SUMMARY_RUNNING.search(v)) else 0)
    if "PlacementBoard" in ids:
        out["PlacementBoard"] = placement_series(msgs, ids["PlacementBoard"])
    if "ScaleControl" in ids:
        out["ScaleControl"] = series([m for m in msgs if m[1] in ids["ScaleControl"]],
                                     lambda v: int(m.group(1)) if (m := _SCALE_RUNNING.search(v)) else None)
    if "RollingUpdate" in ids:
        out["RollingUpdate"] = series([m for m in msgs if m[1] in ids["RollingUpdate"]],
                                      lambda v: sum(int(r[2]) for r in _RS_ROWS.findall(v)) if "<table" in v else 0)
    if views.recorder is not None:
        out["EventRecorder"] = views.running_records(t0)
    return out


def bytes_per_update(rec: Recorder, views: Views, mark: int) -> dict:
    """Sizes of the widget messages sent since ``mark`` (bytes, as ipykernel would send them)."""
    msgs = rec.since(mark)
    sizes = [m[2] for m in msgs]
    return {"messages": len(sizes), "total_bytes": sum(sizes), "median_bytes": statistics.median(sizes) if sizes else 0,
            "max_bytes": max(sizes, default=0)}


def experiment_small(cluster, rec, kubectl, kubeconfig, reps: int) -> dict[str, list[dict]]:
    """Each view alone (as a learner has one or two on screen), then all five together."""
    out: dict[str, list[dict]] = {}
    for group in [(n,) for n in Views.NAMES] + [Views.NAMES]:
        label = group[0] if len(group) == 1 else "all five together"
        views = Views(cluster, group)
        rows = []
        for rep in range(reps):
            wait_count(cluster, 0, 120)
            time.sleep(1.0)
            pods_w = KubectlWatch(kubectl, kubeconfig, POD_WATCH)
            rs_w = KubectlWatch(kubectl, kubeconfig, RS_WATCH)
            mark = rec.mark()
            t0 = scale_to(cluster, 20)
            wait_count(cluster, 20, 120)
            time.sleep(2.0)  # let every view and kubectl catch up before reading
            k = kubectl_pod_times(pods_w.lines(), t0)
            rs_times = kubectl_rs_times(rs_w.lines(), t0)
            pods_w.stop()
            rs_w.stop()
            row = {"rep": rep + 1, "kubectl_median_s": statistics.median(x - t0 for x in k["running"])}
            for name, points in view_series(rec, views, mark, t0).items():
                anchor = anchor_of(name, k, rs_times)
                row[name] = compare(first_times(points, len(anchor)), anchor, t0)
            row["bytes"] = bytes_per_update(rec, views, mark)
            rows.append(row)
            scale_to(cluster, 0)
        views.close()
        out[label] = rows
        print(f"small, {label}: " + ", ".join(
            f"{n} {statistics.median(r[n]['ratio'] for r in rows if r[n].get('ratio')):.3f}"
            for n in Views.NAMES if any(r.get(n, {}).get("ratio") for r in rows)), flush=True)
    return out


def experiment_scale(cluster, rec, views, kubectl, kubeconfig, pods: int) -> dict:
    from whyk8s.notebook.widgets.base import RENDER_LOOP
    wait_count(cluster, 0, 300)
    time.sleep(2.0)
    pods_w = KubectlWatch(kubectl, kubeconfig, POD_WATCH)
    rs_w = KubectlWatch(kubectl, kubeconfig, RS_WATCH)
    mark, renders, cpu0 = rec.mark(), RENDER_LOOP.renders, cpu_seconds()
    t0 = scale_to(cluster, pods)
    wait_count(cluster, pods, 600)
    time.sleep(5.0)
    cpu1, renders_up = cpu_seconds(), RENDER_LOOP.renders - renders
    k = kubectl_pod_times(pods_w.lines(), t0)
    rs_times = kubectl_rs_times(rs_w.lines(), t0)
    s = view_series(rec, views, mark, t0)
    result: dict = {"pods": pods, "kubectl_all_running_s": k["running"][-1] - t0 if k["running"] else None,
                    "draws": renders_up, "cpu_s": {n: round(cpu1.get(n, 0) - cpu0.get(n, 0), 1) for n in cpu1}}
    for name, points in s.items():
        anchor = anchor_of(name, k, rs_times)
        times = first_times(points, len(anchor))
        result[name] = compare(times, anchor, t0)
        result[name]["lag_at"] = {str(q): round(times[q - 1] - anchor[q - 1], 3) if times[q - 1] else None
                                  for q in (100, 250, 500, 750, 900, pods) if q <= len(anchor)}
    burst = rec.since(mark)
    late = [m[2] for m in burst if m[0] >= (k["running"][int(0.9 * len(k["running"]))] if k["running"] else t0)]
    result["bytes"] = {**bytes_per_update(rec, views, mark),
                       "median_bytes_at_90pct": statistics.median(late) if late else 0,
                       "max_bytes_at_90pct": max(late, default=0)}
    # and back to zero
    mark = rec.mark()
    t1 = scale_to(cluster, 0)
    wait_count(cluster, 0, 600)
    time.sleep(5.0)
    kd = kubectl_pod_times(pods_w.lines(), t1)
    pods_w.stop()
    rs_w.stop()
    ids = views.ids()
    msgs = rec.since(mark)
    result["delete"] = {"kubectl_all_deleted_s": kd["deleted"][-1] - t1 if kd["deleted"] else None}
    if "PodBoard" in ids:  # the summary empties at 0 pods
        zero = next((t for t, mid, _, v in msgs if mid in ids["PodBoard"] and v == ""), None)
        result["delete"]["PodBoard_zero_s"] = zero - t1 if zero else None
    if "PlacementBoard" in ids:
        zero = next((t for t, n in placement_series(msgs, ids["PlacementBoard"]) if n == 0), None)
        result["delete"]["PlacementBoard_zero_s"] = zero - t1 if zero else None
    return result


WATCHED = ("pods", "replicasets", "deployments", "nodes", "events")


def experiment_idle(cluster, kubectl, kubeconfig, seconds: float) -> dict:
    """Three phases of ``seconds`` each on a quiet namespace: nothing (the control plane's own
    watches: the baseline), the five widgets, one ``kubectl get pods -w``. Server side: WATCH and
    LIST requests the API server counted for the resources the course watches (a watch is counted when
    it ends). Client side: the requests each shared informer sent and its reconnects."""
    from whyk8s.k8s.informer import _REGISTRY

    def delta(a, b):
        return {f"{verb} {res}": int(b.get((verb, res), 0) - a.get((verb, res), 0))
                for (verb, res) in b if verb in ("WATCH", "LIST") and res in WATCHED
                and b.get((verb, res), 0) - a.get((verb, res), 0)}

    m0 = metrics(cluster)
    time.sleep(seconds)
    m1 = metrics(cluster)
    views = Views(cluster, ("PodBoard", "PlacementBoard", "ScaleControl", "RollingUpdate", "PodLauncher"))
    time.sleep(seconds)
    informers = {inf.name + " " + " ".join(map(str, inf.lw.args)) + " " + str(inf.lw.kwargs.get("label_selector", "")):
                 {"requests": inf.lw.requests, "reconnects": inf.lw.reconnects, "relists": inf.lw.relists}
                 for inf in list(_REGISTRY.values())}
    views.close()
    m2 = metrics(cluster)
    pods_w = KubectlWatch(kubectl, kubeconfig, ["get", "pods", "-w"])
    time.sleep(seconds)
    pods_w.stop()
    m3 = metrics(cluster)
    return {"seconds": seconds, "baseline": delta(m0, m1), "widgets": delta(m1, m2), "kubectl": delta(m2, m3),
            "informers": informers}


# -- main -------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["small", "scale", "idle"], action="append")
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--idle", type=float, default=300)
    ap.add_argument("--keep", action="store_true", help="keep the perf cluster afterwards")
    ap.add_argument("--out", default=str(HERE / "out" / "live_views.json"))
    args = ap.parse_args()
    only = set(args.only or ["small", "scale", "idle"])

    workdir = Path(tempfile.mkdtemp(prefix="whyk8s-perf-"))
    kubeconfig = str(workdir / "kubeconfig")
    os.environ.update(WHYK8S_CLUSTER="perf", KUBECONFIG=kubeconfig, WHYK8S_ALLOW_CONTEXT="kwok-perf")
    rec = Recorder()
    rec.install()
    from whyk8s.cluster import controlplane
    from whyk8s.cluster.providers import get_provider
    from whyk8s.k8s import objects, specs
    provider = get_provider("kwok")
    print("bringing up the private kwok cluster 'perf' ...", flush=True)
    cluster = provider.up(log=lambda *_: None)
    kubectl = str(controlplane.build()["kubectl"])
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count()}
    try:
        objects.cleanup(cluster)
        objects.create(cluster, specs.deployment(APP, replicas=0, cpu="1m", memory="1Mi"))
        if "small" in only:
            results["small"] = experiment_small(cluster, rec, kubectl, kubeconfig, args.reps)
        if "scale" in only:
            add_nodes(cluster, args.nodes)
            results["scale"] = {}
            for group in (("PodBoard",), ("PlacementBoard",), Views.NAMES):
                label = group[0] if len(group) == 1 else "all five together"
                views = Views(cluster, group)
                results["scale"][label] = experiment_scale(cluster, rec, views, kubectl, kubeconfig, args.pods)
                views.close()
                print(f"scale, {label}: " + ", ".join(
                    f"{n} end ratio {r['end_ratio']:.3f}, end lag {r['end_lag']:.2f} s"
                    for n, r in results["scale"][label].items() if isinstance(r, dict) and r.get("end_ratio")),
                    flush=True)
            remove_nodes(cluster)
        if "idle" in only:
            results["idle"] = experiment_idle(cluster, kubectl, kubeconfig, args.idle)
    finally:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1, default=str))
        print(f"raw figures: {args.out}")
        if not args.keep:
            provider.down(log=lambda *_: None)
    report(results)


def report(results: dict) -> None:
    """Print Markdown tables of ``results``."""
    names = ["PodBoard", "PlacementBoard", "ScaleControl", "RollingUpdate", "EventRecorder"]
    if "small" in results:
        for label, reps in results["small"].items():
            print(f"\n### 20 pods (Deployment scaled 0 → 20), {label}: median over {len(reps)} reps (min–max)\n")
            print("| view | ratio to kubectl | lag p50 (s) | lag p95 (s) | pods shown |")
            print("|---|---|---|---|---|")
            for n in names:
                ok = [r[n] for r in reps if r.get(n, {}).get("ratio")]
                if ok:
                    ratios = [x["ratio"] for x in ok]
                    print(f"| {n} | {statistics.median(ratios):.3f} ({min(ratios):.3f}–{max(ratios):.3f}) | "
                          f"{statistics.median(x['lag_p50'] for x in ok):.3f} | "
                          f"{statistics.median(x['lag_p95'] for x in ok):.3f} | {ok[0]['shown']}/{ok[0]['of']} |")
            print(f"\nkubectl median time to Running: {statistics.median(r['kubectl_median_s'] for r in reps):.3f} s; "
                  f"bytes per update (median): {statistics.median(r['bytes']['median_bytes'] for r in reps):.0f}")
    if "scale" in results:
        for label, s in results["scale"].items():
            print(f"\n### {s['pods']:,} pods on the course layout plus 100 simulated nodes, {label}\n")
            print(f"kubectl shows all Running after {s['kubectl_all_running_s']:.1f} s; draws: {s['draws']}; "
                  f"CPU seconds: {s['cpu_s']}\n")
            print("| view | end ratio | lag at end (s) | lag p95 (s) | lag max (s) | lag at k (s) |")
            print("|---|---|---|---|---|---|")
            for n in names:
                r = s.get(n, {})
                if r.get("ratio") is not None:
                    end = "—" if r["end_ratio"] is None else f"{r['end_ratio']:.3f}"
                    print(f"| {n} | {end} | {r['end_lag']:.3f} | {r['lag_p95']:.3f} | {r['lag_max']:.3f} | "
                          f"{r['lag_at']} |")
            print(f"\nbytes: {s['bytes']}; delete: {s['delete']}")
    if "idle" in results:
        i = results["idle"]
        print(f"\n### idle, {i['seconds']:.0f} s per phase (requests the API server counted)\n")
        print("| phase | requests | per hour |")
        print("|---|---|---|")
        for phase in ("baseline", "widgets", "kubectl"):
            n = sum(i[phase].values())
            print(f"| {phase} | {n} {i[phase]} | {n * 3600 / i['seconds']:.0f} |")
        print("\nwidgets' informers (client side):", i["informers"])


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--stamp":
        stamp_main(sys.argv[2], sys.argv[sys.argv.index("--") + 1:])
    else:
        main()
