"""Recorded runs: what a live cell showed on the course cluster, kept as data and redrawn.

The rendered site (and a reader without a cluster) cannot run live cells. Next to each live
demonstration, a notebook shows a *recorded run*: a table or an event timeline that the course's own
code captured on the course cluster (kept in ``data/recordings/<name>.json``) and redraws
deterministically (:func:`show`), clearly labelled as recorded and with the provider it was made on.

Each scenario is made on one provider (:data:`PROVIDERS`): most on **kwok** (a real control plane,
simulated nodes), those named ``kind-…`` on **kind**, because what they show needs containers that
really run (a crash loop, logs, an image pull, a Service answering requests). On kwok, the chapter
"What running containers show" displays the kind recordings in place of its live cells
(:func:`live_or_recorded`).

Two kinds:

- ``"table"``: ``{"columns": [...], "rows": [[...], ...]}``, shown as an HTML table; a table may
  also carry ``"facts"`` (a JSON object: what the lesson claims of the run, e.g. "the back-off
  grew"), and then two runs are compared by their facts, not their rows (rows of times, generated
  pod names and request counts differ from run to run);
- ``"events"``: ``{"events": [{"t": seconds since start, "object": "pod/x", "what": "Scheduled",
  "detail": "..."}]}`` (``what`` from :data:`whyk8s.lessons.events.STEPS`), shown as a matplotlib
  timeline (one row per object, time in seconds).

**Regenerating them.** Each recording has a small scenario (:data:`SCENARIOS`) that does, with the
package's own code, what its chapter's live cell does, on a clean course cluster (cleaned and its
nodes restored before and after). :func:`record` runs scenarios and returns the recordings;
:func:`refresh` writes them; :func:`differences` compares two recordings as the test
``tests/test_recordings.py`` does: tables (columns, rows, caption) exactly, or by their facts when
they have some, timelines by :func:`timeline_structure` (each object's sequence of steps; times
ignored)::

    python -m whyk8s.notebook.recordings refresh              # all of the cluster's provider's (kwok: about 2 minutes)
    python -m whyk8s.notebook.recordings refresh ch3-self-healing start-here-nodes
    python -m whyk8s.notebook.recordings refresh kind-crash-loop kind-image-pull kind-service-requests  # on kind
    python -m whyk8s.notebook.recordings check                # compare, write nothing

The scenarios act only on a course cluster (:func:`whyk8s.k8s.guard.connect`); a scenario runs only
on a cluster of its own provider (a kwok one on kwok, a kind one on a cluster whose containers run),
since its recording says where it was made.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt

from whyk8s.notebook.charts import plot_timeline
from whyk8s.paths import repo_root

__all__ = ["recordings_dir", "save", "load", "select", "show", "table_html", "live_or_recorded", "SCENARIOS",
           "PROVIDERS", "provider_of", "record", "refresh", "timeline_structure", "differences", "main"]


def recordings_dir() -> Path:
    """``data/recordings`` of the checkout."""
    return repo_root() / "data" / "recordings"


def save(name: str, kind: str, data: dict, caption: str, provider: str = "kwok",
         kubernetes: str | None = None) -> Path:
    """Write recording ``name`` (``kind`` "table" or "events"; ``data`` as in the module doc) with a
    caption, the provider it was made on (``"kwok"`` or ``"kind"``) and, when given, the Kubernetes
    version of the API server that made it (``"v1.36.1"``, from ``GET /version``), which the label
    names. Raises ValueError for an unknown kind or provider, or malformed data."""
    if provider not in ("kwok", "kind"):
        raise ValueError(f"Unknown provider {provider!r}: a recording is made on 'kwok' or 'kind'.")
    if kind == "table":
        if not isinstance(data.get("columns"), list) or not isinstance(data.get("rows"), list):
            raise ValueError("A table recording needs 'columns' (list) and 'rows' (list of lists).")
    elif kind == "events":
        if not isinstance(data.get("events"), list):
            raise ValueError("An events recording needs 'events' (a list of {t, object, what, detail}).")
    else:
        raise ValueError(f"Unknown recording kind {kind!r}: use 'table' or 'events'.")
    path = recordings_dir() / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    made_by = {"kubernetes": kubernetes} if kubernetes else {}
    path.write_text(json.dumps({"name": name, "kind": kind, "caption": caption, "provider": provider,
                                **made_by, **data}, indent=1, sort_keys=True) + "\n")
    return path


def load(name: str) -> dict:
    """Read recording ``name``. Raises FileNotFoundError naming the file (and, for a scenario that is
    made on kind, the command that makes it)."""
    path = recordings_dir() / f"{name}.json"
    if not path.is_file():
        how = ""
        if name in SCENARIOS:
            provider = provider_of(name)
            how = (f" It is made on {provider} by `python -m whyk8s.notebook.recordings refresh {name}`"
                   + (" on a course cluster brought up with `whyk8s cluster up --provider kind` (its containers "
                      "must run); until it is committed, what it shows can be seen only live, on kind."
                      if provider == "kind" else "."))
        raise FileNotFoundError(f"No recording {name!r} in data/recordings/.{how}")
    return json.loads(path.read_text())


def _label(rec: dict) -> str:
    """The "recorded" label: the provider, and the Kubernetes version when the recording has it
    (recordings made before versions were recorded do not)."""
    version = f"Kubernetes {rec['kubernetes']}" if rec.get("kubernetes") else ""
    if rec.get("provider", "kwok") == "kind":
        return (f"Recorded run on the course's kind cluster{f' ({version})' if version else ''}: real containers "
                "ran, started by a real kubelet. On a kind cluster the live cell runs instead; on kwok, which runs "
                "no container, this recording stands in for it.")
    return (f"Recorded run on the course's kwok cluster ({f'{version}; ' if version else ''}kwok simulates the "
            "nodes: no container ran). In JupyterLab, the live cell above shows your own cluster instead.")


def table_html(rec: dict) -> str:
    """HTML for a table recording, with the caption and the "recorded" label."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rec["columns"])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rec["rows"])
    return (f"<figure class='whyk8s-recording'><figcaption><b>{html.escape(rec['caption'])}</b><br>"
            f"<i>{html.escape(_label(rec))}</i></figcaption>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></figure>")


class _Table:
    def __init__(self, rec: dict):
        self.rec = rec

    def _repr_html_(self) -> str:
        return table_html(self.rec)

    def __repr__(self) -> str:
        widths = [max(len(str(c)), *(len(str(r[i])) for r in self.rec["rows"])) if self.rec["rows"] else len(str(c))
                  for i, c in enumerate(self.rec["columns"])]

        def line(vals) -> str:
            return "  ".join(str(v).ljust(w) for v, w in zip(vals, widths, strict=True)).rstrip()

        return "\n".join([self.rec["caption"], _label(self.rec), line(self.rec["columns"])] +
                         [line(r) for r in self.rec["rows"]])


def select(rec: dict, where: dict | None = None, caption: str | None = None) -> dict:
    """Table recording ``rec`` with only the rows whose columns have the values of ``where`` (e.g.
    ``{"moment": "after scaling to 1"}``), and, when ``caption`` is given, that caption in place of the
    recording's (for a part of a recording shown on its own). Raises KeyError for a column the table
    lacks."""
    if where:
        index = {col: rec["columns"].index(col) for col in where}
        rec = {**rec, "rows": [r for r in rec["rows"] if all(r[i] == where[c] for c, i in index.items())]}
    if caption:
        rec = {**rec, "caption": caption}
    return rec


def show(name: str, where: dict | None = None, caption: str | None = None) -> None:
    """Display recording ``name``: a labelled HTML table, or a labelled timeline chart. ``where`` and
    ``caption`` (tables only): see :func:`select`, e.g. one moment of a recording with a caption of its
    own. Raises FileNotFoundError when the recording is not committed, KeyError for a column the
    table lacks."""
    from IPython.display import Markdown, display
    rec = load(name)
    if rec["kind"] == "table":
        display(_Table(select(rec, where, caption)))
        return
    display(Markdown(f"*{_label(rec)}*"))
    ax = plot_timeline(rec["events"], rec["caption"])
    ax.figure.tight_layout()
    plt.show()


def live_or_recorded(cluster, name: str, live: Callable, *args, where: dict | None = None,
                     caption: str | None = None, **kwargs):
    """What a chapter cell about running containers does: on a cluster whose containers run (kind),
    call ``live(cluster, *args, **kwargs)``, display its result (a string is printed) and return it;
    on kwok, which runs none, show the recording ``name`` made on kind (:func:`show`, with
    ``where`` and ``caption``) and return None. Raises what ``live`` raises, or FileNotFoundError on kwok when the
    recording is not committed yet (its message gives the command that makes it)."""
    from IPython.display import display

    from whyk8s.lessons.running_containers import has_containers
    if has_containers(cluster):
        result = live(cluster, *args, **kwargs)
        if isinstance(result, str):
            print(result)
        else:
            display(result)
        return result
    show(name, where, caption)
    return None


# -- regenerating recordings -----------------------------------------------------------------------
def _plain(value):
    """A pandas/numpy cell as a JSON value (``numpy.int64(4)`` → 4, ``numpy.bool_`` → bool)."""
    return value.item() if hasattr(value, "item") else value


def _table(name: str, caption: str, df, provider: str = "kwok", facts: dict | None = None) -> dict:
    rec = {"name": name, "kind": "table", "caption": caption, "provider": provider,
           "columns": [str(c) for c in df.columns],
           "rows": [[_plain(v) for v in row] for row in df.itertuples(index=False)]}
    if facts is not None:
        rec["facts"] = json.loads(json.dumps(facts, default=_plain))
    return rec


def _events(name: str, caption: str, events: list[dict], provider: str = "kwok") -> dict:
    return {"name": name, "kind": "events", "caption": caption, "provider": provider, "events": events}


class _Recorder:
    """An :class:`~whyk8s.lessons.events.EventRecorder` whose records can be waited for (woken by
    each record, not by polling): a scenario stops recording only once the last step it expects has
    been recorded, so that no recording is cut short by the recorder's watch being a moment behind."""

    def __init__(self, cluster, **kwargs):
        from whyk8s.lessons.events import EventRecorder
        self._cond = threading.Condition()
        self.recorder = EventRecorder(cluster, on_record=self._notify, **kwargs)

    def _notify(self, _rec) -> None:
        with self._cond:
            self._cond.notify_all()

    def start(self) -> "_Recorder":
        self.recorder.start()
        return self

    def wait_for(self, wanted: set[tuple[str, str]], timeout: float = 60) -> None:
        """Wait until every ``(object, step)`` in ``wanted`` has been recorded (raw object names, e.g.
        ``("pod/web-7c9d-x2b4q", "Deleted")``). Raises WaitTimeoutError naming what is missing."""
        from whyk8s.errors import WaitTimeoutError
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                missing = wanted - {(r["object"], r["what"]) for r in list(self.recorder.events)}
                if not missing:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeoutError(f"The recorder never saw: {sorted(missing)}.")
                self._cond.wait(left)

    def stop(self) -> list[dict]:
        self.recorder.stop()
        return self.recorder.timeline_records()


def _start_here_nodes(cluster) -> list[dict]:
    from whyk8s.k8s.nodes import node_table
    return [_table("start-here-nodes", "The course cluster's nodes (whyk8s.k8s.nodes.node_table): CPU in cores, "
                   "memory in GiB, GPUs = allocatable nvidia.com/gpu.", node_table(cluster))]


def _ch3_pod_board(cluster) -> list[dict]:
    """Chapter 3: three pods created, then the PodBoard's rows (kubectl's columns; AGE left out)."""
    import pandas as pd

    from whyk8s.k8s import objects, specs
    from whyk8s.k8s.pods import pending_reason
    from whyk8s.k8s.waits import wait_for_pods
    from whyk8s.notebook.html import pod_record
    objects.create(cluster, specs.pod("trainer-1", cpu="500m", memory="1Gi"))
    objects.create(cluster, specs.pod("gpu-trainer", cpu="1", memory="4Gi", gpus=1))
    objects.create(cluster, specs.pod("greedy", gpus=8))
    pods = wait_for_pods(cluster, lambda ps: len(ps) == 3 and pending_reason(ps["greedy"]) != "" and all(
        ps[n].status.phase == "Running" for n in ("trainer-1", "gpu-trainer")))
    records = [pod_record(pods[n]) for n in sorted(pods)]
    df = pd.DataFrame([(r.name, r.ready, r.status, r.restarts, r.node or "") for r in records],
                      columns=["NAME", "READY", "STATUS", "RESTARTS", "NODE"])
    return [_table("ch3-pod-board", "The PodBoard after creating three pods (kubectl's NAME, READY, STATUS and "
                   "RESTARTS, and the NODE; AGE left out): the GPU pod runs on the GPU node, the 8-GPU pod "
                   "stays Pending.", df)]


def _ch3_self_healing(cluster) -> list[dict]:
    """Chapter 3: a Deployment of 3 pods; once all run, the first pod created is deleted."""
    from whyk8s.k8s import objects, specs
    from whyk8s.k8s.waits import wait_for_pods
    web = cluster.selector + ",app=web"

    def running(n):
        return lambda ps: len(ps) == n and all(p.status.phase == "Running" for p in ps.values())

    rec = _Recorder(cluster).start()
    try:
        objects.create(cluster, specs.deployment("web", replicas=3))
        pods = wait_for_pods(cluster, running(3), web)
        victim = next(r["object"].split("/")[-1] for r in list(rec.recorder.events)
                      if r["what"] == "Created" and r["object"].split("/")[-1] in pods)
        objects.delete_pod(cluster, victim)
        after = wait_for_pods(cluster, lambda ps: victim not in ps and running(3)(ps), web)
        replacement = sorted(set(after) - set(pods))[0]
        rec.wait_for({(f"pod/{victim}", "Deleted"), (f"pod/{replacement}", "Running")})
    finally:
        events = rec.stop()
    gone = next(e["object"] for e in events if e["what"] == "Deleted").removeprefix("pod/")
    new = [e["object"] for e in events if e["what"] == "Created" and e["object"].startswith("pod/")][-1]
    return [_events("ch3-self-healing", f"Self-healing: a Deployment of 3 pods; once all three run, pod "
                    f"{gone} is deleted and its ReplicaSet creates {new.removeprefix('pod/')} to replace it.",
                    events)]


def _ch3_rolling_update(cluster) -> list[dict]:
    """Chapter 3: a 3-pod Deployment rolled out to a new image (``objects.rollout``)."""
    from whyk8s.k8s import objects, specs
    from whyk8s.k8s.waits import wait_for_pods
    web = cluster.selector + ",app=web"
    objects.create(cluster, specs.deployment("web", replicas=3))
    old = wait_for_pods(cluster, lambda ps: len(ps) == 3 and all(p.status.phase == "Running" for p in ps.values()),
                        web)
    rec = _Recorder(cluster).start()
    try:
        objects.rollout(cluster, "web", "registry.k8s.io/pause:3.10.1")
        new = wait_for_pods(cluster, lambda ps: len(ps) == 3 and not set(ps) & set(old), web)
        rec.wait_for({(f"pod/{n}", "Deleted") for n in old} | {(f"pod/{n}", "Running") for n in new})
    finally:
        events = rec.stop()
    return [_events("ch3-rolling-update", "A rolling update of a 3-pod Deployment to a new image: the "
                    "Deployment creates a new ReplicaSet and scales it up while it scales the old one down, "
                    "one pod at a time, so that 3 pods serve throughout.", events)]


def _ch4_placement(cluster) -> list[dict]:
    """Chapter 4a: the GPU training Job and the 96 GiB preprocessing pod, where they landed."""
    from whyk8s.k8s import objects
    from whyk8s.lessons import placement
    objects.create(cluster, placement.training_job("train-resnet", gpus=1))
    placed = placement.wait_placed(cluster, "train-resnet", 1)
    objects.create(cluster, placement.preprocessing_pod("preprocess", memory="96Gi"))
    both = [placed, placement.wait_placed(cluster, "preprocess", 1, running=True)]
    import pandas as pd
    df = pd.concat(both)[["workload", "node", "pool"]].sort_values("workload")
    return [_table("ch4-placement", "Where the scheduler put the GPU training Job and the 96 GiB "
                   "preprocessing pod.", df)]


def _ch4_pending(cluster) -> list[dict]:
    """Chapter 4a: an 8-GPU training Job, and the scheduler's reasons, one row per reason."""
    from whyk8s.k8s import objects
    from whyk8s.lessons import placement
    objects.create(cluster, placement.training_job("train-huge", gpus=8))
    reasons = placement.reasons_table(placement.why_pending(cluster, "train-huge"))
    return [_table("ch4-pending", "Why an 8-GPU training Job stays Pending: the scheduler's reasons, one row "
                   "per reason.", reasons)]


def _ch4_node_failures(cluster) -> list[dict]:
    """Chapter 4a: a 4-pod Deployment on the CPU pool; drain one worker, uncordon it, then delete the
    other (``failures.fail_node``, 40 to 80 s on kwok). Gives the table ``ch4-drain`` and the
    timeline ``ch4-fail-node``."""
    import pandas as pd

    from whyk8s.k8s import objects, specs
    from whyk8s.lessons import failures, placement
    from whyk8s.lessons.events import normalise_names
    objects.create(cluster, specs.deployment("serve", replicas=4, pool="cpu"))
    placement.wait_placed(cluster, "serve", 4)
    counts = [placement.count_by_node(cluster, "serve").assign(moment="before")]
    failures.drain(cluster, "whyk8s-worker")
    placement.wait_placed(cluster, "serve", 4)
    counts.append(placement.count_by_node(cluster, "serve").assign(moment="after draining whyk8s-worker"))
    failures.uncordon(cluster, "whyk8s-worker")
    failure = failures.fail_node(cluster, "whyk8s-worker2")
    counts.append(placement.count_by_node(cluster, "serve").assign(moment="after deleting whyk8s-worker2"))
    if not failure.complete:
        raise RuntimeError(f"The node failure did not finish in time: {failure}")
    table = pd.concat(counts)[["moment", "node", "pool", "pods"]]
    nodes = ", ".join(sorted(set(failure.replacements.values())))
    return [
        _table("ch4-drain", "Pods of the Deployment 'serve' per node: before, after a drain, after a node "
               "failure.", table),
        _events("ch4-fail-node", f"Node {failure.node} deleted with {len(failure.lost)} pods on it: the pod "
                f"garbage collector removed them after about {failure.gone_after:.0f} s and their ReplicaSet's "
                f"replacements were scheduled to {nodes} (kwok).",
                normalise_names(failure.timeline, existing=[("pod", name) for name in failure.lost])),
    ]


def _ch4_quota(cluster) -> list[dict]:
    """Chapter 4b: namespace ``research`` with a quota; one 2-CPU pod; a 16-CPU pod refused."""
    from kubernetes.client import ApiException

    from whyk8s.errors import explain
    from whyk8s.k8s import objects, specs
    from whyk8s.lessons import tenancy
    research = tenancy.team_namespace(cluster, "research", cpu="16", memory="64Gi", gpus=4)
    objects.create(cluster, specs.pod("notebook", cpu="2", memory="8Gi"), namespace=research)
    usage = tenancy.quota_usage(cluster, research)[["resource", "used", "hard", "unit"]]
    try:
        objects.create(cluster, specs.pod("big-sweep", cpu="16", memory="8Gi"), namespace=research)
    except ApiException as refusal:
        refused = explain(refusal, research)
    else:
        raise RuntimeError("The 16-CPU pod was admitted: the quota did not refuse it.")
    return [_table("ch4-quota", f"Quota of namespace {research} after one 2-CPU pod; a further 16-CPU pod was "
                   f"refused: {refused}", usage)]


def _ch4_preemption(cluster) -> list[dict]:
    """Chapter 4b: four low-priority sweeps hold the GPUs; an urgent high-priority Job preempts one."""
    from whyk8s.k8s import objects
    from whyk8s.k8s.waits import wait_for_pods
    from whyk8s.lessons import placement, tenancy
    research = tenancy.team_namespace(cluster, "research", cpu="16", memory="64Gi", gpus=4)
    production = tenancy.team_namespace(cluster, "production", cpu="8", memory="32Gi", gpus=2)
    tenancy.priority_classes(cluster)
    sweeps = [f"sweep-{i}" for i in range(1, 5)]
    for name in sweeps:
        objects.create(cluster, placement.training_pod(name, gpus=1, priority_class="whyk8s-low"), namespace=research)
    placement.wait_placed(cluster, sweeps, 4, namespace=research, running=True)
    rec = _Recorder(cluster, namespaces=[research, production]).start()
    try:
        objects.create(cluster, placement.training_job("urgent-fix", gpus=1, priority_class="whyk8s-high"),
                       namespace=production)
        done = wait_for_pods(cluster, lambda ps: any(p.status.phase == "Succeeded" for p in ps.values()),
                             f"{cluster.selector},job-name=urgent-fix", namespace=production)
        survivors = set(placement.where(cluster, sweeps, research)["pod"])
        victims = sorted(set(sweeps) - survivors)
        rec.wait_for({(f"{production}/pod/{n}", "Succeeded") for n in done}
                     | {(f"{research}/pod/{v}", "Deleted") for v in victims})
    finally:
        events = rec.stop()
    return [_events("ch4-preemption", f"An urgent production Job preempts a low-priority research sweep (kwok): "
                    f"the scheduler marks {', '.join(victims)} for preemption, deletes it, and binds the urgent "
                    f"pod to the GPU node it freed.", events)]


# -- made on kind: what only running containers show (chapter 3b) -----------------------------------
def _kind_crash_loop(cluster) -> list[dict]:
    """Chapter 3b: a container that prints the time, two lines, and exits with code 1, restarted 3
    times; then the crashed run's log. Gives the tables ``kind-crash-loop`` and ``kind-logs`` (both
    compared by their facts: times, uids and node names differ from run to run)."""
    import re

    import pandas as pd

    from whyk8s.lessons import running_containers as rc
    history = rc.crash_loop(cluster, "crasher", restarts=3)
    log = rc.pod_logs(cluster, "crasher", previous=True)
    lines = log.splitlines()
    gaps = history.gaps
    statuses = [s.status for s in history.steps]
    facts = {"CrashLoopBackOff seen": "CrashLoopBackOff" in statuses,
             "Error seen": "Error" in statuses,
             "restarts reached 3": history.steps[-1].restarts >= 3,
             "back-off grew": len(gaps) >= 2 and gaps[-1] > gaps[0],
             "one pod uid throughout": len(history.uids) == 1,
             "one node throughout": len(history.nodes) == 1}
    # kubectl logs merges the container's stdout and stderr as the runtime read them: the order of
    # lines from the two streams is not guaranteed (the stderr line came first in one CI run)
    times = [line for line in lines if re.fullmatch(r"\d\d:\d\d:\d\d", line)]
    log_facts = {"one line is a time (date +%T)": len(times) == 1,
                 "the other lines (sorted)": sorted(line for line in lines if line not in times)}
    return [
        _table("kind-crash-loop", f"Pod crasher, whose container exits with code 1, as `kubectl get pod crasher -n "
               f"whyk8s -w -o wide` showed it until its third restart, with the Pod's uid (first 8 characters) "
               f"and node (t: seconds since the watch began). Seconds between restarts, measured on this run: "
               f"{', '.join(f'{g:.0f}' for g in gaps)}.", history.table(), "kind", facts),
        _table("kind-logs", "`kubectl logs crasher -n whyk8s --previous`: the log of the run that crashed, one row "
               "per line: the time that run started (from `date +%T`, on stdout), the message (stdout) and the error "
               "(stderr); kubectl shows both streams merged, and lines of the two may come in either order.",
               pd.DataFrame({"line": lines}), "kind", log_facts),
    ]


def _kind_image_pull(cluster) -> list[dict]:
    """Chapter 3b: a pod whose image tag is mistyped (``busybox:1.36-typo``); the caption quotes the
    kubelet's first ``Failed`` Event for it (what this run saw, whatever the cause: no such tag, no
    network…)."""
    from whyk8s.lessons import running_containers as rc
    pulls = rc.image_pull(cluster, "typo")
    table = pulls.table()
    seen = [s for s in dict.fromkeys(table["status"]) if s in ("ErrImagePull", "ImagePullBackOff")]
    said = (f"The kubelet's first Failed Event for the pod said: {pulls.message}" if pulls.message
            else "The kubelet wrote no Failed Event for the pod.")
    return [_table("kind-image-pull", "Pod typo, image busybox:1.36-typo, as `kubectl get pod typo -n whyk8s -w` "
                   f"showed it (t: seconds since the watch began). {said}", table, "kind",
                   {"ErrImagePull and ImagePullBackOff, first seen in this order": seen,
                    "a Failed Event was recorded": bool(pulls.message)})]


def _service_facts(table) -> dict:
    """Per moment: pods listed, ready, that answered, requests in all, requests answered by a pod not
    ready (what the chapter claims; pod names, nodes and the spread vary from run to run)."""
    facts = {}
    for moment, rows in table.groupby("moment", sort=False):
        pods = rows[rows["node"] != ""]
        facts[moment] = {"pods": len(pods), "ready": int((pods["ready"] == True).sum()),  # noqa: E712
                         "pods that answered": int((pods["requests"] > 0).sum()),
                         "requests": int(rows["requests"].sum()),
                         "requests answered by a pod not ready": int(pods[pods["ready"] == False]["requests"].sum()),  # noqa: E712
                         "answers from no pod listed": int(rows[rows["node"] == ""]["requests"].sum())}
    return facts


def _kind_service_requests(cluster) -> list[dict]:
    """Chapter 3b: a Service in front of 3 web servers; 30 requests; one pod made not ready, 20
    requests; scaled to 1, 10 requests. Pod names are made stable (``model-server-1`` …, in order of
    name at the start)."""
    import pandas as pd

    from whyk8s.lessons import running_containers as rc
    parts = [rc.serve_and_count(cluster, "model-server", replicas=3, count=30)]
    parts.append(rc.not_ready_and_count(cluster, "model-server", count=20))
    parts.append(rc.scale_and_count(cluster, "model-server", 1, count=10))
    table = pd.concat(parts, ignore_index=True)
    names = {pod: f"model-server-{i}" for i, pod in enumerate(sorted(parts[0]["pod"]), start=1)}
    table["pod"] = table["pod"].map(lambda p: names.get(p, p))
    return [_table("kind-service-requests", "Requests sent to Service model-server, and which pod answered them: "
                   "30 with 3 ready pods, 20 with one pod's readiness probe failing, 10 after scaling to 1 pod. "
                   "Pod names are shortened to model-server-N.", table, "kind", _service_facts(table))]


#: Recording name → the scenario that makes it (one function may make several recordings).
def _kind_node_loss(cluster) -> list[dict]:
    """Chapter 3b: a 4-pod Deployment on the CPU pool tolerating an unreachable node for 10 s; the
    container of the worker with most of its pods is stopped (``failures.lose_node``), then the node is
    started again (``failures.restore``). Gives the timeline ``kind-node-loss``."""
    from whyk8s.lessons import failures
    from whyk8s.lessons.events import normalise_names
    loss = failures.lose_a_worker(cluster, "web", replicas=4, seconds=10)
    node = loss.node
    if not loss.complete:
        raise RuntimeError(f"The node loss did not finish in time: {loss}")
    return [_events("kind-node-loss", f"The container of node {node} stopped with {len(loss.lost)} pods on it: "
                    f"NotReady after {loss.not_ready_after:.0f} s, tainted unreachable after "
                    f"{loss.tainted_after:.0f} s, its pods evicted after {loss.evicted_after:.0f} s (they "
                    f"tolerate the taint for 10 s), replacements Running after {loss.replaced_after:.0f} s "
                    f"(kind, one run).",
                    normalise_names(loss.timeline, existing=[("pod", name) for name in loss.lost]), provider="kind")]


SCENARIOS: dict[str, Callable] = {
    "start-here-nodes": _start_here_nodes,
    "ch3-pod-board": _ch3_pod_board,
    "ch3-self-healing": _ch3_self_healing,
    "ch3-rolling-update": _ch3_rolling_update,
    "ch4-placement": _ch4_placement,
    "ch4-pending": _ch4_pending,
    "ch4-drain": _ch4_node_failures,
    "ch4-fail-node": _ch4_node_failures,
    "ch4-quota": _ch4_quota,
    "ch4-preemption": _ch4_preemption,
    "kind-crash-loop": _kind_crash_loop,
    "kind-logs": _kind_crash_loop,
    "kind-image-pull": _kind_image_pull,
    "kind-service-requests": _kind_service_requests,
    "kind-node-loss": _kind_node_loss,
}

#: Recording name → the provider its scenario runs on (``"kwok"`` unless listed here).
PROVIDERS: dict[str, str] = {name: "kind" for name in SCENARIOS if name.startswith("kind-")}


def provider_of(name: str) -> str:
    """The provider recording ``name`` is made on: ``"kind"`` or ``"kwok"``. Raises KeyError for an
    unknown name."""
    if name not in SCENARIOS:
        raise KeyError(f"No scenario for {name}.")
    return PROVIDERS.get(name, "kwok")


def _cluster_provider(cluster) -> str:
    from whyk8s.lessons.running_containers import has_containers
    return "kind" if has_containers(cluster) else "kwok"


def _clean(cluster) -> None:
    from whyk8s.cluster.workers import restore_nodes
    from whyk8s.k8s.objects import cleanup
    cleanup(cluster)
    restore_nodes(cluster, log=lambda *_: None)


def record(names: list[str] | None = None, cluster=None, log: Callable[[str], None] = print) -> dict[str, dict]:
    """Run the scenarios for ``names`` (default: every scenario of the cluster's provider, see
    :data:`PROVIDERS`) on the course cluster and return the fresh recordings by name (nothing is
    written). ``cluster`` defaults to :func:`whyk8s.k8s.guard.connect`. The cluster is cleaned and its
    nodes restored before and after each scenario. Raises ValueError for an unknown name, CourseError
    when a scenario is made on another provider than the cluster's (a kind scenario needs containers
    that run; a kwok one needs kwok's simulated nodes), and what a scenario raises (WaitTimeoutError,
    NoContainersError, ApiException …)."""
    from whyk8s.errors import CourseError
    from whyk8s.k8s.guard import connect
    unknown = [n for n in names or [] if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"No scenario for {', '.join(unknown)}; the recordings are: {', '.join(SCENARIOS)}.")
    cluster = cluster or connect(create_namespace=True)
    here = _cluster_provider(cluster)
    from kubernetes import client
    version = client.VersionApi(cluster.api).get_code().git_version
    names = [n for n in SCENARIOS if provider_of(n) == here] if not names else list(names)
    elsewhere = [n for n in names if provider_of(n) != here]
    if elsewhere:
        up = " ".join(sorted({f"`whyk8s cluster up --provider {provider_of(n)}`" for n in elsewhere}))
        raise CourseError(f"Context {cluster.context} is a {here} cluster, but {', '.join(elsewhere)} "
                          f"{'is' if len(elsewhere) == 1 else 'are'} made on "
                          f"{' and '.join(sorted({provider_of(n) for n in elsewhere}))} (each recording says where "
                          f"it was made: kind for what needs containers that run, kwok for the rest). Bring that "
                          f"cluster up with {up} and run the command there.")
    fresh: dict[str, dict] = {}
    for scenario in dict.fromkeys(SCENARIOS[n] for n in names):
        started = time.monotonic()
        _clean(cluster)
        try:
            made = scenario(cluster)
        finally:
            _clean(cluster)
        for rec in made:
            fresh[rec["name"]] = {**rec, "kubernetes": version}
        log(f"recorded {', '.join(r['name'] for r in made)} in {time.monotonic() - started:.0f} s")
    return {n: fresh[n] for n in names}


def refresh(names: list[str] | None = None, cluster=None, log: Callable[[str], None] = print) -> list[Path]:
    """Regenerate recordings ``names`` (default: all of the cluster's provider) with :func:`record` and write them to
    ``data/recordings/``. Returns the paths written. Raises what :func:`record` raises."""
    paths = []
    for name, rec in record(names, cluster, log).items():
        data = {k: v for k, v in rec.items() if k not in ("name", "kind", "caption", "provider", "kubernetes")}
        paths.append(save(name, rec["kind"], data, rec["caption"], rec["provider"], rec.get("kubernetes")))
    return paths


def timeline_structure(events: list[dict]) -> dict[str, list[tuple[str, ...]]]:
    """What two runs of one scenario share: for each kind of object (``"pod"``, ``"research/pod"``,
    ``"deployment/web"`` …), the sorted sequences of steps of its objects, in the order they happened.
    Names a controller generated (``web-3``, ``web-rs2``) are left out, since which pod gets which
    number depends on timing; names a person chose (``deployment/web``, ``node/whyk8s-worker2``) are
    kept. Only steps of :data:`whyk8s.lessons.events.STEPS` count (Event reasons arrive when the
    controllers send them); times are ignored."""
    from whyk8s.k8s.pods import generated_base
    from whyk8s.lessons.events import STEPS
    per_object: dict[str, list[str]] = {}
    for e in events:
        if e["what"] in STEPS:
            per_object.setdefault(e["object"], []).append(e["what"])
    out: dict[str, list[tuple[str, ...]]] = {}
    for obj, steps in per_object.items():
        *prefix, kind, name = obj.split("/")
        numbered = kind in ("pod", "replicaset") and (generated_base(name, kind) is not None
                                                     or name.rsplit("-", 1)[-1].removeprefix("rs").isdigit())
        key = "/".join([*prefix, kind] if numbered else [*prefix, kind, name])
        out.setdefault(key, []).append(tuple(steps))
    return {k: sorted(v) for k, v in sorted(out.items())}


def differences(fresh: dict, committed: dict) -> list[str]:
    """How a fresh recording differs from the committed one, in sentences (empty: they agree).
    Tables: columns, rows and caption exactly; a table with ``facts`` (what the lesson claims of a run
    whose rows vary: times, generated names, the spread of requests): columns and facts exactly, the
    caption with its numbers left out. The provider must agree. Timelines: :func:`timeline_structure`, and the caption
    with its numbers left out (they are measured times)."""
    import re
    name = committed.get("name", fresh.get("name"))
    if fresh["kind"] != committed["kind"]:
        return [f"{name}: a {fresh['kind']} now, a {committed['kind']} in the committed file"]
    out = []

    def digits(text: str) -> str:
        return re.sub(r"\d+(\.\d+)?", "N", text)

    if fresh.get("provider", "kwok") != committed.get("provider", "kwok"):
        out.append(f"{name}: made on {fresh.get('provider', 'kwok')} now, on {committed.get('provider', 'kwok')} "
                   f"in the committed file")
    if fresh.get("kubernetes") and committed.get("kubernetes") and fresh["kubernetes"] != committed["kubernetes"]:
        out.append(f"{name}: made on Kubernetes {fresh['kubernetes']} now, on {committed['kubernetes']} in the "
                   f"committed file")
    if fresh["kind"] == "table":
        if "facts" in fresh or "facts" in committed:
            for key in ("columns", "facts"):
                if fresh.get(key) != committed.get(key):
                    out.append(f"{name}: {key} now {fresh.get(key)!r}, committed {committed.get(key)!r}")
            if digits(fresh["caption"]) != digits(committed["caption"]):
                out.append(f"{name}: caption now {fresh['caption']!r}, committed {committed['caption']!r}")
            return out
        for key in ("columns", "rows", "caption"):
            if fresh[key] != committed[key]:
                out.append(f"{name}: {key} now {fresh[key]!r}, committed {committed[key]!r}")
        return out

    if digits(fresh["caption"]) != digits(committed["caption"]):
        out.append(f"{name}: caption now {fresh['caption']!r}, committed {committed['caption']!r}")
    now, then = timeline_structure(fresh["events"]), timeline_structure(committed["events"])
    for key in sorted(set(now) | set(then)):
        if now.get(key) != then.get(key):
            out.append(f"{name}: {key} steps now {now.get(key)}, committed {then.get(key)}")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m whyk8s.notebook.recordings refresh|check [NAME...]``: write, or only compare, the
    recordings. Exit status 0, 1 when ``check`` finds a difference, 2 when a scenario cannot run."""
    parser = argparse.ArgumentParser(prog="python -m whyk8s.notebook.recordings",
                                     description="Regenerate the recorded runs in data/recordings on the course "
                                                 "cluster, or compare them with a fresh run. kind-... recordings "
                                                 "are made on kind, the others on kwok.")
    parser.add_argument("action", choices=["refresh", "check"])
    parser.add_argument("names", nargs="*",
                        help=f"recordings (default: all of the cluster's provider): {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    from whyk8s.errors import explain
    try:
        if args.action == "refresh":
            for path in refresh(args.names):
                print(f"wrote {path.relative_to(repo_root())}")
            return 0
        found = [d for name, rec in record(args.names).items() for d in differences(rec, load(name))]
    except Exception as exc:  # noqa: BLE001 - one sentence for the terminal
        print(explain(exc), file=sys.stderr)
        return 2
    print("\n".join(found) or "every recording matches a fresh run")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
