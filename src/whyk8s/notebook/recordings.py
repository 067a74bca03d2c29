"""Recorded runs: what a live cell showed on the course's kwok cluster, kept as data and redrawn.

The rendered site (and a reader without a cluster) cannot run live cells. Next to each live
demonstration, a notebook shows a *recorded run*: a table or an event timeline that the course's own
code captured on the kwok-backed cluster (kept in ``data/recordings/<name>.json``) and redraws
deterministically (:func:`show`), clearly labelled as recorded.

Two kinds:

- ``"table"``: ``{"columns": [...], "rows": [[...], ...]}``, shown as an HTML table;
- ``"events"``: ``{"events": [{"t": seconds since start, "object": "pod/x", "what": "Scheduled",
  "detail": "..."}]}`` (``what`` from :data:`whyk8s.lessons.events.STEPS`), shown as a matplotlib
  timeline (one row per object, time in seconds).

**Regenerating them.** Each recording has a small scenario (:data:`SCENARIOS`) that does, with the
package's own code, what its chapter's live cell does, on a clean course cluster (cleaned and its
nodes restored before and after). :func:`record` runs scenarios and returns the recordings;
:func:`refresh` writes them; :func:`differences` compares two recordings as the test
``tests/test_recordings.py`` does: tables (columns, rows, caption) exactly, timelines by
:func:`timeline_structure` (each object's sequence of steps; times ignored)::

    python -m whyk8s.notebook.recordings refresh              # all of them (about 2 minutes)
    python -m whyk8s.notebook.recordings refresh ch3-self-healing start-here-nodes
    python -m whyk8s.notebook.recordings check                # compare, write nothing

The scenarios act only on a course cluster (:func:`whyk8s.k8s.guard.connect`) and refuse one whose
nodes are not kwok's, since every recording says it was made on kwok.
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

__all__ = ["recordings_dir", "save", "load", "show", "table_html", "SCENARIOS", "record", "refresh",
           "timeline_structure", "differences", "main"]


def recordings_dir() -> Path:
    """``data/recordings`` of the checkout."""
    return repo_root() / "data" / "recordings"


def save(name: str, kind: str, data: dict, caption: str, provider: str = "kwok") -> Path:
    """Write recording ``name`` (``kind`` "table" or "events"; ``data`` as in the module doc) with a
    caption. Raises ValueError for an unknown kind or malformed data."""
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
    path.write_text(json.dumps({"name": name, "kind": kind, "caption": caption, "provider": provider,
                                **data}, indent=1, sort_keys=True) + "\n")
    return path


def load(name: str) -> dict:
    """Read recording ``name``. Raises FileNotFoundError naming the file."""
    path = recordings_dir() / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"No recording {name!r} in data/recordings/.")
    return json.loads(path.read_text())


def _label(rec: dict) -> str:
    return (f"Recorded run on the course's {rec.get('provider', 'kwok')} cluster "
            f"(kwok simulates the nodes: no container ran). In JupyterLab, the live cell above shows your "
            f"own cluster instead.")


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


def show(name: str) -> None:
    """Display recording ``name``: a labelled HTML table, or a labelled timeline chart."""
    from IPython.display import Markdown, display
    rec = load(name)
    if rec["kind"] == "table":
        display(_Table(rec))
        return
    display(Markdown(f"*{_label(rec)}*"))
    ax = plot_timeline(rec["events"], rec["caption"])
    ax.figure.tight_layout()
    plt.show()


# -- regenerating recordings -----------------------------------------------------------------------
def _plain(value):
    """A pandas/numpy cell as a JSON value (``numpy.int64(4)`` → 4, ``numpy.bool_`` → bool)."""
    return value.item() if hasattr(value, "item") else value


def _table(name: str, caption: str, df) -> dict:
    return {"name": name, "kind": "table", "caption": caption, "provider": "kwok",
            "columns": [str(c) for c in df.columns],
            "rows": [[_plain(v) for v in row] for row in df.itertuples(index=False)]}


def _events(name: str, caption: str, events: list[dict]) -> dict:
    return {"name": name, "kind": "events", "caption": caption, "provider": "kwok", "events": events}


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
    """Chapter 4: the GPU training Job and the 96 GiB preprocessing pod, where they landed."""
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
    """Chapter 4: an 8-GPU training Job, and the scheduler's reasons, one row per reason."""
    from whyk8s.k8s import objects
    from whyk8s.lessons import placement
    objects.create(cluster, placement.training_job("train-huge", gpus=8))
    reasons = placement.reasons_table(placement.why_pending(cluster, "train-huge"))
    return [_table("ch4-pending", "Why an 8-GPU training Job stays Pending: the scheduler's reasons, one row "
                   "per reason.", reasons)]


def _ch4_node_failures(cluster) -> list[dict]:
    """Chapter 4: a 4-pod Deployment on the CPU pool; drain one worker, uncordon it, then delete the
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
    """Chapter 4: namespace ``research`` with a quota; one 2-CPU pod; a 16-CPU pod refused."""
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
    """Chapter 4: four low-priority sweeps hold the GPUs; an urgent high-priority Job preempts one."""
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


#: Recording name → the scenario that makes it (one function may make several recordings).
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
}


def _clean(cluster) -> None:
    from whyk8s.cluster.workers import restore_nodes
    from whyk8s.k8s.objects import cleanup
    cleanup(cluster)
    restore_nodes(cluster, log=lambda *_: None)


def record(names: list[str] | None = None, cluster=None, log: Callable[[str], None] = print) -> dict[str, dict]:
    """Run the scenarios for ``names`` (default: all of :data:`SCENARIOS`) on the course cluster and
    return the fresh recordings by name (nothing is written). ``cluster`` defaults to
    :func:`whyk8s.k8s.guard.connect`. The cluster is cleaned and its nodes restored before and after
    each scenario. Raises ValueError for an unknown name, CourseError on a cluster whose nodes kwok
    does not simulate, and what a scenario raises (WaitTimeoutError, ApiException …)."""
    from whyk8s.cluster.workers import is_kwok_cluster
    from whyk8s.errors import CourseError
    from whyk8s.k8s.guard import connect
    names = list(SCENARIOS) if not names else list(names)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"No scenario for {', '.join(unknown)}; the recordings are: {', '.join(SCENARIOS)}.")
    cluster = cluster or connect(create_namespace=True)
    if not is_kwok_cluster(cluster):
        raise CourseError(f"Context {cluster.context} is not a kwok cluster: every recording says it was made on "
                          f"the course's kwok cluster; bring that up with `whyk8s cluster up --provider kwok`.")
    fresh: dict[str, dict] = {}
    for scenario in dict.fromkeys(SCENARIOS[n] for n in names):
        started = time.monotonic()
        _clean(cluster)
        try:
            made = scenario(cluster)
        finally:
            _clean(cluster)
        for rec in made:
            fresh[rec["name"]] = rec
        log(f"recorded {', '.join(r['name'] for r in made)} in {time.monotonic() - started:.0f} s")
    return {n: fresh[n] for n in names}


def refresh(names: list[str] | None = None, cluster=None, log: Callable[[str], None] = print) -> list[Path]:
    """Regenerate recordings ``names`` (default: all) with :func:`record` and write them to
    ``data/recordings/``. Returns the paths written. Raises what :func:`record` raises."""
    paths = []
    for name, rec in record(names, cluster, log).items():
        data = {k: v for k, v in rec.items() if k not in ("name", "kind", "caption", "provider")}
        paths.append(save(name, rec["kind"], data, rec["caption"], rec["provider"]))
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
    Tables: columns, rows and caption exactly. Timelines: :func:`timeline_structure`, and the caption
    with its numbers left out (they are measured times)."""
    import re
    name = committed.get("name", fresh.get("name"))
    if fresh["kind"] != committed["kind"]:
        return [f"{name}: a {fresh['kind']} now, a {committed['kind']} in the committed file"]
    out = []
    if fresh["kind"] == "table":
        for key in ("columns", "rows", "caption"):
            if fresh[key] != committed[key]:
                out.append(f"{name}: {key} now {fresh[key]!r}, committed {committed[key]!r}")
        return out

    def digits(text: str) -> str:
        return re.sub(r"\d+(\.\d+)?", "N", text)

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
                                     description="Regenerate the recorded runs in data/recordings on the course's "
                                                 "kwok cluster, or compare them with a fresh run.")
    parser.add_argument("action", choices=["refresh", "check"])
    parser.add_argument("names", nargs="*", help=f"recordings (default: all): {', '.join(SCENARIOS)}")
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
