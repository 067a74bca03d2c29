"""Pure HTML renderers of the live widgets: data in, a string out, no cluster, no widget.

The widgets (:mod:`whyk8s.notebook.widgets`) keep small per-pod and per-node records up to date
from their watches and call these functions to draw only the part that changed. Markup carries one
set of CSS classes (``whyk8s-…``, styled by :data:`STYLE`), so that browser tests find the parts by
class and the look lives in one place. Every text is escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from whyk8s.k8s.pods import human_duration
from whyk8s.notebook.charts import PALETTE

__all__ = ["STYLE", "esc", "message_html", "info_html", "PodRecord", "NodeRecord", "status_colour",
           "pod_record", "node_record", "status_class", "pod_table_html", "pod_summary_html", "by_node_html", "node_column_html", "pending_column_html",
           "other_nodes_html", "replicasets_html", "rollout_steps_html", "scale_counts_html", "MAX_ROWS",
           "MAX_CHIPS", "queue_board_html", "waiting_html", "node_board_html", "node_changes_html"]

#: At most this many pod rows in a board's table: beyond it the table shows the most recently changed.
MAX_ROWS = 50
#: At most this many pod chips in one node column of the placement view.
MAX_CHIPS = 8

#: The widgets' style sheet, sent once per widget in a ``<style>`` element. It also tells the reader
#: of a widget whose kernel went away (a restart: ipywidgets marks the view
#: ``jupyter-widgets-disconnected``) that it no longer works and how to get a live one back.
STYLE = f"""<style>
.whyk8s-widget table.whyk8s-table {{border-collapse:collapse;font-size:90%}}
.whyk8s-widget table.whyk8s-table th {{text-align:left;padding:2px 8px;border-bottom:1px solid #ccc}}
.whyk8s-widget table.whyk8s-table td {{padding:2px 8px;vertical-align:top;white-space:normal;overflow-wrap:anywhere}}
.whyk8s-widget table.whyk8s-table td[class^="s-"] {{font-weight:bold}}
.whyk8s-widget td.s-ok {{color:{PALETTE['bluish_green']}}} .whyk8s-widget td.s-wait {{color:{PALETTE['orange']}}}
.whyk8s-widget td.s-done {{color:{PALETTE['blue']}}} .whyk8s-widget td.s-gone {{color:{PALETTE['reddish_purple']}}}
.whyk8s-widget td.s-bad {{color:{PALETTE['vermillion']}}}
.whyk8s-widget .whyk8s-why {{color:{PALETTE['vermillion']};font-size:85%;display:block;max-width:60em;white-space:normal;overflow-wrap:anywhere}}
.whyk8s-widget .whyk8s-note {{color:#555;font-size:85%}}
.whyk8s-widget .whyk8s-node {{flex:1 1 160px;min-width:150px;max-width:260px;border:1px solid #ccc;
  border-radius:6px;padding:6px;margin:3px;overflow-wrap:anywhere}}
.whyk8s-widget .whyk8s-node code {{overflow-wrap:anywhere;word-break:break-all;white-space:normal}}
.whyk8s-widget .whyk8s-pending {{background:#fff8e6}}
.whyk8s-widget .whyk8s-chip {{border:1px solid #999;border-left-width:5px;border-radius:4px;padding:2px 6px;
  margin:3px 0;font-size:90%}}
.whyk8s-widget.jupyter-widgets-disconnected::after {{content:"⚠ This widget lost its kernel (the kernel was \
restarted or stopped), so it shows an old state and its buttons do nothing. Run this cell again; after a \
restart, run the notebook from the top.";display:block;color:{PALETTE['vermillion']};font-weight:bold;margin:4px 0}}
.whyk8s-widget.jupyter-widgets-disconnected .whyk8s-status {{opacity:0.35}}
</style>"""


def esc(text) -> str:
    """``text`` as HTML text (``<``, ``>``, ``&`` and quotes escaped)."""
    return html.escape(str(text), quote=True)


def message_html(text: str, ok: bool = False) -> str:
    """One sentence with a tick (success) or a warning sign, in the palette's green or vermillion."""
    colour = PALETTE["bluish_green"] if ok else PALETTE["vermillion"]
    return f"<span style='color:{colour}'>{'✔' if ok else '⚠'} {esc(text)}</span>"


def info_html(text: str) -> str:
    """One neutral sentence."""
    return f"<span>{esc(text)}</span>"


_STATUS_COLOURS = {"Running": PALETTE["bluish_green"], "Pending": PALETTE["orange"],
                   "Succeeded": PALETTE["blue"], "Completed": PALETTE["blue"], "Terminating": PALETTE["reddish_purple"]}


def status_colour(status: str) -> str:
    """The colour of a kubectl STATUS: Running green, Pending orange, Completed blue, Terminating
    purple, anything else (an error such as CrashLoopBackOff) vermillion."""
    return _STATUS_COLOURS.get(status, PALETTE["vermillion"])


_STATUS_CLASSES = {"Running": "ok", "Pending": "wait", "Succeeded": "done", "Completed": "done", "Terminating": "gone"}


def status_class(status: str) -> str:
    """The table cell class of a kubectl STATUS (``ok``, ``wait``, ``done``, ``gone``, else ``bad``),
    coloured by :data:`STYLE` as :func:`status_colour` says: a class keeps each row short."""
    return _STATUS_CLASSES.get(status, "bad")


@dataclass
class PodRecord:
    """What a view shows of one pod, computed once per change: ``name``, ``namespace``, ``status``
    (kubectl's STATUS), ``ready`` (``"1/1"``), ``restarts`` (kubectl's RESTARTS text), ``node``
    (``""`` if not scheduled), ``created`` (a timezone-aware datetime or None), ``why`` (the
    scheduler's reason while unschedulable), ``cpu_m`` (millicores), ``mem`` (bytes), ``gpus``,
    ``app`` (the ``app`` label), ``terminating``."""

    name: str
    namespace: str = ""
    status: str = "Pending"
    ready: str = "0/1"
    restarts: str = "0"
    node: str = ""
    created: object = None
    why: str = ""
    cpu_m: int = 0
    mem: int = 0
    gpus: int = 0
    app: str = ""
    terminating: bool = False


@dataclass
class NodeRecord:
    """What a view shows of one node: ``name``, ``pool``, ``taints`` (kubectl's text, system taints
    left out), allocatable ``cpu_m`` (millicores), ``mem`` (bytes), ``gpus``, ``ready``,
    ``schedulable``, ``control_plane``."""

    name: str
    pool: str = ""
    taints: str = ""
    cpu_m: int = 0
    mem: int = 0
    gpus: int = 0
    ready: bool = True
    schedulable: bool = True
    control_plane: bool = False
    extra: dict = field(default_factory=dict)


def _row(r: PodRecord, age: str) -> str:
    # the scheduler's whole reason, wrapped (cut at 110 characters it read "preemption: 0/4 nodes ar…")
    why = f"<span class='whyk8s-why' title='{esc(r.why)}'>{esc(r.why)}</span>" if r.why else ""
    return (f"<tr><td><code>{esc(r.name)}</code>{why}</td><td>{esc(r.ready)}</td>"
            f"<td class='s-{status_class(r.status)}'>{esc(r.status)}</td>"
            f"<td>{esc(r.restarts)}</td><td>{esc(age)}</td><td>{esc(r.node or '—')}</td></tr>")


def pod_table_html(rows: list[tuple[PodRecord, str]], total: int, recent: bool = False) -> str:
    """The board's table, with kubectl's columns (NAME, READY, STATUS, RESTARTS, AGE) plus NODE; a
    pending pod's name carries the scheduler's reason. ``rows`` are ``(record, age text)`` pairs in
    display order; ``total`` is the number of pods; ``recent`` says that ``rows`` are only the most
    recently changed (the table then says so)."""
    if total == 0:
        return "<p class='whyk8s-note'><i>No course pods right now.</i></p>"
    head = "".join(f"<th>{c}</th>" for c in ("NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"))
    note = (f"<div class='whyk8s-note'>Showing the {len(rows)} most recently changed of {total:,} pods "
            f"(board.data() has them all).</div>" if recent else "")
    return (f"{note}<table class='whyk8s-table'><thead><tr>{head}</tr></thead><tbody>"
            + "".join(_row(r, age) for r, age in rows) + "</tbody></table>")


def pod_summary_html(by_status: dict[str, int], total: int) -> str:
    """One line: how many pods, and how many per STATUS (``by_status``), e.g. "12 pods: 10 Running ·
    2 Pending"."""
    if not total:
        return ""
    parts = " · ".join(f"<span style='color:{status_colour(s)}'><b>{n:,}</b> {esc(s)}</span>"
                       for s, n in sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0])) if n)
    return f"<div class='whyk8s-summary'><b>{total:,}</b> pod{'s' if total != 1 else ''}: {parts}</div>"


def by_node_html(nodes: list[NodeRecord], pods_on: dict[str, list[str]], pending: int,
                 max_names: int = 8, max_nodes: int = 12) -> str:
    """The board's per-node list: each worker with its pool and its pods (names if a few, else a
    count); ``pods_on`` maps node name → pod names. With more than ``max_nodes`` workers, the
    course's first ones are listed and the rest summed per pool. ``pending`` pods are not scheduled."""
    workers = [n for n in nodes if not n.control_plane]
    shown, rest = workers[:max_nodes], workers[max_nodes:]
    items = []
    for n in shown:
        names = sorted(pods_on.get(n.name, []))
        if not names:
            what = "<i>no course pods</i>"
        elif len(names) <= max_names:
            what = ", ".join(f"<code>{esc(p)}</code>" for p in names)
        else:
            what = f"<b>{len(names):,}</b> pods"
        pool = f" ({esc(n.pool)})" if n.pool else ""
        items.append(f"<li><b>{esc(n.name)}</b>{pool}: {what}</li>")
    if rest:
        pools: dict[str, list[int]] = {}
        for n in rest:
            agg = pools.setdefault(n.pool or "no pool", [0, 0])
            agg[0] += 1
            agg[1] += len(pods_on.get(n.name, []))
        for pool, (count, pods) in sorted(pools.items()):
            items.append(f"<li>{count:,} more {esc(pool)} nodes: <b>{pods:,}</b> pods</li>")
    if pending:
        items.append(f"<li><b>not scheduled</b>: {pending:,} pod{'s' if pending != 1 else ''}</li>")
    return f"<ul class='whyk8s-by-node' style='margin:4px 0'>{''.join(items)}</ul>"


def _chip(r: PodRecord, why: bool = False) -> str:
    gpus = f" · {r.gpus} GPU" if r.gpus else ""
    reason = f"<br><small class='whyk8s-why' title='{esc(r.why)}'>{esc(r.why)}</small>" \
        if why and r.why else ""
    return (f"<div class='whyk8s-chip' style='border-color:{status_colour(r.status)}'><code>{esc(r.name)}</code>"
            f"<br><small>{esc(r.status)} · {r.cpu_m}m CPU · {r.mem // 2**20} MiB{gpus}</small>{reason}</div>")


def _usage(cpu_m: int, mem: int, gpus: int, node_cpu: int, node_mem: int, node_gpus: int) -> str:
    gpu = f" · {gpus}/{node_gpus} GPU" if node_gpus else ""
    return (f"<small>requested {cpu_m}m/{node_cpu}m CPU · {mem / 2**30:.1f}/{node_mem / 2**30:.0f} GiB"
            f"{gpu}</small>")


def node_column_html(node: NodeRecord, pods: list[PodRecord], used: tuple[int, int, int]) -> str:
    """One node's column of the placement view: name, pool, taints (wrapped, never overflowing),
    allocatable capacity against what its course pods request (``used`` = CPU millicores, memory
    bytes, GPUs), and up to :data:`MAX_CHIPS` pods as chips (the rest counted)."""
    state = "" if node.ready else " <b style='color:#D55E00'>NotReady</b>"
    state += "" if node.schedulable else " <b style='color:#CC79A7'>cordoned</b>"
    taint = f"<br><small>taint: <code>{esc(node.taints)}</code></small>" if node.taints else ""
    chips = "".join(_chip(p) for p in pods[:MAX_CHIPS])
    more = f"<div class='whyk8s-note'>+ {len(pods) - MAX_CHIPS:,} more pods</div>" if len(pods) > MAX_CHIPS else ""
    return (f"<div class='whyk8s-node' data-node='{esc(node.name)}'><b>{esc(node.name)}</b>{state}<br>"
            f"pool <b>{esc(node.pool or '—')}</b>{taint}<br>"
            f"{_usage(*used, node.cpu_m, node.mem, node.gpus)}{chips}{more}</div>")


def other_nodes_html(pool: str, nodes: int, pods: int, used: tuple[int, int, int],
                     capacity: tuple[int, int, int]) -> str:
    """A column summing ``nodes`` further nodes of ``pool`` (beyond those drawn one by one)."""
    return (f"<div class='whyk8s-node whyk8s-others'><b>{nodes:,} more {esc(pool)} nodes</b><br>"
            f"{_usage(*used, *capacity)}<br><b>{pods:,}</b> course pods</div>")


def pending_column_html(pods: list[PodRecord]) -> str:
    """The column of pods no node was found for, each with the scheduler's reason."""
    chips = "".join(_chip(p, why=True) for p in pods[:MAX_CHIPS])
    more = f"<div class='whyk8s-note'>+ {len(pods) - MAX_CHIPS:,} more pending</div>" if len(pods) > MAX_CHIPS else ""
    return (f"<div class='whyk8s-node whyk8s-pending'><b>Pending</b><br><small>not placed on any node</small>"
            f"{chips or '<br><i>none</i>'}{more}</div>")


def replicasets_html(rows: list[dict]) -> str:
    """The rolling-update table: one row per ReplicaSet (dicts with ``replicaset``, ``image``,
    ``revision``, ``desired``, ``ready``), oldest first; the newest is labelled "new"."""
    if not rows:
        return "<p class='whyk8s-note'><i>No ReplicaSet yet.</i></p>"
    body = "".join(
        f"<tr><td>{'new' if i == len(rows) - 1 else 'old'}</td><td><code>{esc(r['replicaset'])}</code></td>"
        f"<td><code>{esc(r['image'])}</code></td><td>{r['desired']}</td><td>{r['ready']}</td>"
        f"<td>{'█' * min(r['ready'], 50)}{'░' * max(0, min(r['desired'], 50) - min(r['ready'], 50))}</td></tr>"
        for i, r in enumerate(rows))
    return ("<table class='whyk8s-table'><thead><tr><th></th><th>ReplicaSet</th><th>image</th><th>desired</th>"
            f"<th>ready</th><th></th></tr></thead><tbody>{body}</tbody></table>")


def rollout_steps_html(steps: list[tuple[float, int, int]]) -> str:
    """The rollout so far, step by step: ``steps`` are ``(seconds since the update, old ready, new
    ready)``; each step is drawn as ``0.3 s ███|█``, so a rollout that took half a second can still
    be read after it ended."""
    if not steps:
        return ""
    cells = "".join(f"<tr><td>{t:.1f} s</td><td>{'█' * min(o, 30)}</td><td>|</td><td>{'█' * min(n, 30)}</td>"
                    f"<td>{o} old · {n} new ready</td></tr>" for t, o, n in steps[-20:])
    return ("<div class='whyk8s-note'>Ready pods, old | new ReplicaSet, at each change:</div>"
            f"<table class='whyk8s-table whyk8s-steps'>{cells}</table>")


def scale_counts_html(desired, running: int, pending: int, terminating: int, gone: bool = False) -> str:
    """ScaleControl's live line: desired replicas against running, pending and terminating pods."""
    if gone:
        return "<span class='whyk8s-note'>(no Deployment)</span>"
    return (f"desired <b>{desired}</b> · running <b>{running}</b> · pending <b>{pending}</b> · "
            f"terminating <b>{terminating}</b>")


def pod_record(pod) -> PodRecord:
    """A V1Pod → the :class:`PodRecord` the views draw (kubectl's STATUS, READY and RESTARTS, the
    scheduler's reason while unschedulable, the requests in millicores and bytes)."""
    from whyk8s.k8s import pods as podfacts
    cpu, mem, gpus = podfacts.requests(pod)
    return PodRecord(name=pod.metadata.name, namespace=pod.metadata.namespace or "", status=podfacts.status(pod),
                     ready=podfacts.ready(pod), restarts=podfacts.restarts_text(pod), node=pod.spec.node_name or "",
                     created=pod.metadata.creation_timestamp, why=podfacts.pending_reason(pod), cpu_m=cpu,
                     mem=mem, gpus=gpus, app=(pod.metadata.labels or {}).get("app", ""),
                     terminating=podfacts.is_terminating(pod))


def node_record(node) -> NodeRecord:
    """A V1Node → the :class:`NodeRecord` the views draw."""
    from whyk8s.k8s import nodes as nodefacts
    cpu, mem, gpus = nodefacts.allocatable(node)
    labels = node.metadata.labels or {}
    return NodeRecord(name=node.metadata.name, pool=nodefacts.pool(node),
                      taints=nodefacts.taints_text(node, system=False), cpu_m=cpu, mem=mem, gpus=gpus,
                      ready=nodefacts.has_ready_condition(node), schedulable=not node.spec.unschedulable,
                      control_plane=nodefacts.CONTROL_PLANE_LABEL in labels)


def _amount_text(value: float, unit: str) -> str:
    return f"{value:g} {unit}".strip()


def queue_board_html(rows: list[dict], problems: list[str] | None = None) -> str:
    """The queue board's table: one row per ClusterQueue and flavor, with its Workloads pending /
    admitted / finished and, per resource, the quota used of the nominal quota and the part borrowed
    from the cohort. ``rows`` are :func:`whyk8s.lessons.queueing.board_from_objects` rows as dicts
    (one per ClusterQueue, flavor and resource); ``problems`` are sentences shown above the table (a
    ClusterQueue that is not active, ...). No rows: a one-line note that there is no ClusterQueue."""
    out = "".join(f"<div class='whyk8s-why'>⚠ {esc(p)}</div>" for p in problems or [])
    if not rows:
        return out + "<span class='whyk8s-note'>No ClusterQueue of the course yet.</span>"
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["cluster_queue"], r["flavor"]), []).append(r)
    body = []
    for (cq, flavor), rs in groups.items():
        first = rs[0]
        quota = []
        for r in rs:
            cell = f"{esc(r['resource'])}: {esc(_amount_text(r['used'], ''))} of {esc(_amount_text(r['nominal'], r['unit']))}"
            if r["borrowed"]:
                cell += f" <b class='whyk8s-borrowed'>(borrowed {esc(_amount_text(r['borrowed'], r['unit']))})</b>"
            quota.append(cell)
        cohort = f" <span class='whyk8s-note'>cohort {esc(first['cohort'])}</span>" if first["cohort"] else ""
        body.append(f"<tr><td><code>{esc(cq)}</code>{cohort}</td>"
                    f"<td class='s-wait'>{first['pending']}</td><td class='s-ok'>{first['admitted']}</td>"
                    f"<td class='s-done'>{first['finished']}</td><td><code>{esc(flavor)}</code></td>"
                    f"<td>{'<br>'.join(quota)}</td></tr>")
    return (out + "<table class='whyk8s-table whyk8s-queues'><thead><tr><th>ClusterQueue</th><th>pending</th>"
            "<th>admitted</th><th>finished</th><th>flavor</th><th>quota used (of nominal)</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def waiting_html(waiting: list[dict], limit: int = MAX_ROWS) -> str:
    """Why each pending Workload waits (:func:`whyk8s.lessons.queueing.waiting_reasons` dicts: its
    Job, namespace, LocalQueue, Kueue's reason and message), the oldest first, at most ``limit``."""
    if not waiting:
        return "<span class='whyk8s-note'>No Workload is waiting.</span>"
    items = []
    for w in waiting[:limit]:
        why = f"{w['reason']}: {w['message']}" if w["reason"] else "waiting for Kueue to consider it"
        items.append(f"<li><code>{esc(w['job'])}</code> <span class='whyk8s-note'>({esc(w['namespace'])}/"
                     f"{esc(w['queue'])})</span><div class='whyk8s-why'>{esc(why)}</div></li>")
    more = f"<li class='whyk8s-note'>… and {len(waiting) - limit} more</li>" if len(waiting) > limit else ""
    return f"<div><b>Waiting</b> ({len(waiting)})<ul class='whyk8s-waiting'>{''.join(items)}{more}</ul></div>"


def node_board_html(rows: list[dict]) -> str:
    """The node board's table: one row per Node (:func:`whyk8s.lessons.gpu_pools.node_row` dicts):
    name, pool, made by (the course's layout or Karpenter), instance type, GPUs, Ready, age. Nodes
    made by Karpenter are marked. No rows: a one-line note."""
    if not rows:
        return "<span class='whyk8s-note'>No worker node.</span>"
    body = []
    for r in rows:
        made = "<b class='whyk8s-karpenter'>Karpenter</b>" if r["made_by"] == "karpenter" else "layout"
        ready = "<td class='s-ok'>Ready</td>" if r["ready"] else "<td class='s-wait'>NotReady</td>"
        body.append(f"<tr><td><code>{esc(r['node'])}</code></td><td>{esc(r['pool']) or '-'}</td><td>{made}</td>"
                    f"<td>{esc(r['instance_type']) or '-'}</td><td>{int(r['gpus'])}</td>{ready}"
                    f"<td>{esc(human_duration(r['age_s']))}</td></tr>")
    return ("<table class='whyk8s-table whyk8s-nodes'><thead><tr><th>node</th><th>pool</th><th>made by</th>"
            "<th>instance type</th><th>GPUs</th><th>status</th><th>age</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


_CHANGE_CLASSES = {"joined": "s-wait", "ready": "s-ok", "left": "s-gone"}


def node_changes_html(changes: list[dict], now, limit: int = 12) -> str:
    """The node board's log: the last ``limit`` changes (:class:`whyk8s.lessons.gpu_pools.NodeTracker`
    ``changes``), newest first, each with how long ago it was seen (``now``: a timezone-aware datetime).
    None: a one-line note."""
    if not changes:
        return "<span class='whyk8s-note'>No node has joined or left since the board started.</span>"
    items = []
    for c in list(reversed(changes))[:limit]:
        ago = human_duration((now - c["at"]).total_seconds())
        what = f"{int(c['gpus'])} GPU {esc(c['instance_type'])}" if c["instance_type"] else "node"
        pool = f" of pool <code>{esc(c['pool'])}</code>" if c["pool"] else ""
        items.append(f"<tr><td class='{_CHANGE_CLASSES.get(c['event'], '')}'>{esc(c['event'])}</td>"
                     f"<td><code>{esc(c['node'])}</code> <span class='whyk8s-note'>({what}{pool})</span></td>"
                     f"<td class='whyk8s-note'>{esc(ago)} ago</td></tr>")
    return f"<table class='whyk8s-table whyk8s-node-changes'><tbody>{''.join(items)}</tbody></table>"
