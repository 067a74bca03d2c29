"""The instructor's view of a workshop: one row per participant, from the objects the API server holds.

:func:`participant_rows` is pure data: given the participants' namespaces, pods, ResourceQuotas and
progress ConfigMaps (:mod:`whyk8s.k8s.progress`) as the official client returns them, it gives per
participant the pods by phase, the quota used of hard (CPU in millicores, memory in MiB, pods),
which lab checks have passed (at any time: a check passed once and failing after a reset stays
passed, and shows as failing too), and whether they are **stuck** on a check: its latest result
fails, it has failed since more than ``stuck_after`` seconds ago (default :data:`STUCK_AFTER`, 300 s),
it never passed, and the participant ran no other check since it began to fail (a participant who
moved on to other work, or who had passed it before a reset, is not stuck; one whose check passes
again is not stuck any more).

:class:`Room` keeps those objects up to date from four of the kernel's shared watches (list then
watch, :mod:`whyk8s.k8s.informer`; never polling): namespaces and ResourceQuotas with the participant
label, progress ConfigMaps (:data:`whyk8s.k8s.progress.SELECTOR`) and pods with the course label
across all namespaces (``kubectl get pods -A -l app.kubernetes.io/part-of=whyk8s -w``: a pod made
without the course label is not counted by phase, but the quota's ``pods`` used counts every pod of
the namespace). The widget :class:`whyk8s.notebook.widgets.workshop.WorkshopBoard` and ``whyk8s
workshop status --watch`` show a Room; ``whyk8s workshop status`` lists the same rows once.

:func:`serve` is how the instructor opens the dashboard in a browser: ``whyk8s workshop dashboard``
starts a JupyterLab of the instructor's own (the instructor's kubeconfig, never a participant's; on
``127.0.0.1`` with a token, beside the hub, not through it) on a copy of ``workshop/dashboard.ipynb`` in
``~/.whyk8s/dashboard/<context>/``, whose one code cell shows the
:class:`~whyk8s.notebook.widgets.workshop.WorkshopBoard`, and prints its address. The folder also
links the checkout's ``notebooks/`` and ``labs/`` (:func:`prepare_folder`): the same JupyterLab is
where the instructor runs the demonstrations (one route for both).

Times: check times are written by the participants' kernels (their clock), "stuck" is judged with
the instructor's; on one workshop machine they are the same clock.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Callable

from kubernetes.utils.quantity import parse_quantity

from whyk8s import COURSE_SELECTOR, PARTICIPANT_LABEL
from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.informer import Informer, Subscription, object_key, shared_informer
from whyk8s.k8s import progress

__all__ = ["STUCK_AFTER", "COLUMNS", "NARROW_COLUMNS", "participant_rows", "rows_frame", "narrow_frame",
           "short_time", "Room", "DASHBOARD_NOTEBOOK",
           "DASHBOARD_PORT", "dashboard_command", "dashboard_folder", "serve", "prepare_folder",
           "DEMONSTRATION_FOLDERS"]

#: Seconds a check may fail before its participant counts as stuck.
STUCK_AFTER = 300.0
#: Columns of :func:`rows_frame` (and of ``whyk8s workshop status``).
COLUMNS = ["participant", "namespace", "token_expires", "running", "pending", "succeeded", "failed", "cpu",
           "memory", "pods", "passed", "failing", "stuck", "stuck_on", "last_check"]
_QUOTA = "whyk8s-participant"  # whyk8s.cluster.workshop.QUOTA (not imported: that module imports this one)
_EXPIRES = "whyk8s.io/token-expires"


def _when(text) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _used(quota, resource: str) -> str:
    if quota is None or quota.status is None:
        return "-"
    used = (quota.status.used or {}).get(resource, "0")
    hard = (quota.status.hard or (quota.spec.hard if quota.spec else None) or {}).get(resource)
    if resource == "requests.cpu":  # millicores, as `workshop up` writes the quota
        used = f"{int(parse_quantity(str(used)) * 1000)}m"
        hard = f"{int(parse_quantity(str(hard)) * 1000)}m" if hard is not None else None
    elif resource == "requests.memory":  # MiB, as `workshop up` writes the quota (the API says bytes)
        used = f"{int(parse_quantity(str(used)) / 2**20)}Mi"
        hard = f"{int(parse_quantity(str(hard)) / 2**20)}Mi" if hard is not None else None
    return f"{used}/{hard if hard is not None else '?'}"


def _checks(configmap, now: datetime, stuck_after: float) -> dict:
    found = progress.entries(configmap)
    passed = sorted(k for k, e in found.items() if e.get("passed") is True or e.get("passed_at"))
    failing = sorted(k for k, e in found.items() if e.get("passed") is False)
    stuck, soon = [], []
    for key in failing:
        since = _when(found[key].get("failing_since"))
        if since is None or found[key].get("passed_at"):
            continue  # passed before (then reset, say): not stuck on it
        if any((t := _when(e.get("time"))) and t > since for k, e in found.items() if k != key):
            continue  # moved on: another check of theirs ran after this one began to fail
        if (now - since).total_seconds() <= stuck_after:
            soon.append(stuck_after - (now - since).total_seconds())
            continue
        stuck.append((since, key))
    times = [t for e in found.values() if (t := _when(e.get("time")))]
    return {"passed": passed, "failing": failing, "stuck": bool(stuck),
            "stuck_on": min(stuck)[1] if stuck else "",
            "stuck_minutes": round((now - min(stuck)[0]).total_seconds() / 60, 1) if stuck else 0.0,
            "stuck_in": None if stuck or not soon else round(min(soon), 3),
            "last_check": max(times).isoformat(timespec="seconds") if times else "-",
            "sentences": {k: found[k].get("sentence", "") for k in failing}}


def participant_rows(namespaces: list, pods: list, quotas: list, configmaps: list, now: datetime | None = None,
                     stuck_after: float = STUCK_AFTER) -> list[dict]:
    """One dict per participant (the namespaces carrying ``whyk8s.io/participant``, sorted by
    participant): ``participant``, ``namespace``, ``token_expires``; pods by phase ``running``,
    ``pending``, ``succeeded``, ``failed`` (of ``pods`` in that namespace); ``cpu``, ``memory``,
    ``pods`` as ``used/hard`` from the ResourceQuota ``whyk8s-participant`` (CPU in millicores,
    memory in MiB, ``"-"`` without one); ``passed``: the check keys (``lab2.check_pod``) that passed at any time;
    ``failing``: those whose latest result fails (a key may be in both); ``stuck`` (bool), ``stuck_on`` (the
    key failing longest), ``stuck_minutes``,
    ``stuck_in`` (seconds until a failing check would make a participant not yet stuck stuck, or None),
    ``last_check`` (RFC 3339) and ``sentences`` (key → the failing check's sentence). ``now``
    defaults to the current time (UTC); ``stuck_after`` is in seconds."""
    now = now or datetime.now(timezone.utc)
    by_ns: dict[str, dict] = {}
    for ns in namespaces:
        labels = ns.metadata.labels or {}
        if PARTICIPANT_LABEL not in labels or ns.metadata.deletion_timestamp is not None:
            continue
        by_ns[ns.metadata.name] = {"participant": labels[PARTICIPANT_LABEL], "namespace": ns.metadata.name,
                                   "token_expires": (ns.metadata.annotations or {}).get(_EXPIRES, "-"),
                                   "running": 0, "pending": 0, "succeeded": 0, "failed": 0}
    for pod in pods:
        row = by_ns.get(pod.metadata.namespace)
        phase = (pod.status.phase if pod.status else None) or "Pending"
        if row is not None and phase.lower() in row:
            row[phase.lower()] += 1
    quota_of = {q.metadata.namespace: q for q in quotas if q.metadata.name == _QUOTA}
    cm_of = {c.metadata.namespace: c for c in configmaps if c.metadata.name == progress.CONFIGMAP}
    rows = []
    for name, row in by_ns.items():
        q = quota_of.get(name)
        row.update(cpu=_used(q, "requests.cpu"), memory=_used(q, "requests.memory"), pods=_used(q, "pods"))
        row.update(_checks(cm_of.get(name), now, stuck_after))
        rows.append(row)
    return sorted(rows, key=lambda r: r["participant"])


def short_time(text) -> str:
    """An RFC 3339 time as ``HH:MM`` UTC (``"-"`` when missing or not a time), for narrow tables."""
    t = _when(text)
    return t.astimezone(timezone.utc).strftime("%H:%M") if t else "-"


#: Columns of :func:`narrow_frame` (``whyk8s workshop status``): a table for a projector.
NARROW_COLUMNS = ["who", "until", "R/P/S/F", "cpu m", "mem MiB", "pods", "done", "failing", "stuck", "last"]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def narrow_frame(rows: list[dict], width: int = 22):
    """The rows as a narrow pandas DataFrame for a terminal or projector (:data:`NARROW_COLUMNS`):
    the participant (``who``), token expiry (``until``) and last check as ``HH:MM`` UTC, pods by phase
    as running/pending/succeeded/failed, CPU used/hard in millicores and memory used/hard in MiB
    (numbers only), how many checks have passed (``done``), the failing ones and the check stuck on
    (with minutes), each cut to ``width`` characters."""
    import pandas as pd

    def number(used: str) -> str:
        return used.replace("Mi", "").replace("m", "")
    flat = [{"who": r["participant"], "until": short_time(r.get("token_expires")),
             "R/P/S/F": f"{r['running']}/{r['pending']}/{r['succeeded']}/{r['failed']}",
             "cpu m": number(r["cpu"]), "mem MiB": number(r["memory"]), "pods": r["pods"],
             "done": len(r["passed"]), "failing": _fit(" ".join(r["failing"]), width) or "-",
             "stuck": _fit(f"{r['stuck_on']} {r['stuck_minutes']:g}m", width) if r["stuck"] else "-",
             "last": short_time(r.get("last_check"))} for r in rows]
    return pd.DataFrame(flat, columns=NARROW_COLUMNS)


def rows_frame(rows: list[dict]):
    """The rows as a pandas DataFrame with :data:`COLUMNS` (lists of checks joined by spaces)."""
    import pandas as pd
    flat = [{**r, "passed": " ".join(r["passed"]), "failing": " ".join(r["failing"])} for r in rows]
    return pd.DataFrame(flat, columns=COLUMNS)


class Room:
    """The objects of :func:`participant_rows`, kept up to date from the kernel's shared watches.

    ``Room(cluster, on_change=fn)`` (the instructor's connection) lists and starts the four watches
    on this thread (raising if the API server does not answer), then calls ``on_change()`` from the
    watch threads after every change; ``on_error(sentence)`` once per outage (each watch resyncs by
    itself when the server is back), ``on_sync(count)`` after every list of one collection.
    :meth:`rows` gives the rows now; :meth:`stop` ends the watches (each shared watch ends when its
    last subscriber leaves)."""

    def __init__(self, cluster: Cluster, on_change: Callable[[], None] = lambda: None,
                 on_error: Callable[[str], None] = lambda s: None, on_sync: Callable[[int], None] = lambda n: None,
                 stuck_after: float = STUCK_AFTER) -> None:
        from whyk8s.cluster.workshop import PARTICIPANTS_SELECTOR
        self.cluster, self.on_change, self.on_error, self.on_sync = cluster, on_change, on_error, on_sync
        self.stuck_after = stuck_after
        self.lock = threading.RLock()
        self.objects: dict[str, dict] = {"namespaces": {}, "pods": {}, "quotas": {}, "configmaps": {}}
        self._subs: list[Subscription] = []
        core = cluster.core
        collections = {
            "namespaces": (core.list_namespace, PARTICIPANTS_SELECTOR),
            "pods": (core.list_pod_for_all_namespaces, COURSE_SELECTOR),
            "quotas": (core.list_resource_quota_for_all_namespaces, PARTICIPANTS_SELECTOR),
            "configmaps": (core.list_config_map_for_all_namespaces, progress.SELECTOR),
        }
        try:
            for name, (fn, selector) in collections.items():
                self._watch(name, fn, selector)
        except Exception:
            self.stop()
            raise

    def _watch(self, name: str, fn, selector: str) -> Informer:
        informer = shared_informer(fn, label_selector=selector)

        def on_event(kind, obj):
            with self.lock:
                if kind == "DELETED":
                    self.objects[name].pop(object_key(obj), None)
                else:
                    self.objects[name][object_key(obj)] = obj
            self.on_change()

        def on_sync(objs):
            with self.lock:
                self.objects[name] = {object_key(o): o for o in objs}
            self.on_sync(len(objs))
            self.on_change()

        self._subs.append(informer.subscribe(on_event=on_event, on_sync=on_sync, on_error=self.on_error))
        if not informer.running:
            informer.prime()
            informer.start()
        elif not informer.synced.wait(10):
            raise TimeoutError("The shared watch did not list its objects within 10 s.")
        return informer

    def rows(self, now: datetime | None = None) -> list[dict]:
        """:func:`participant_rows` of the watched objects."""
        with self.lock:
            lists = [list(self.objects[n].values()) for n in ("namespaces", "pods", "quotas", "configmaps")]
        return participant_rows(*lists, now=now, stuck_after=self.stuck_after)

    def stop(self) -> None:
        subs, self._subs = self._subs, []
        for sub in subs:
            sub.close()


# -- the instructor's dashboard in a browser -------------------------------------------------------
#: The dashboard's notebook, in the checkout's ``workshop/`` folder.
DASHBOARD_NOTEBOOK = "dashboard.ipynb"
#: Where :func:`serve` listens by default (the hub has 8000).
DASHBOARD_PORT = 8890


def dashboard_folder(context: str):
    """Where :func:`serve` puts its copy of the dashboard's notebook and roots JupyterLab:
    ``~/.whyk8s/dashboard/<context>`` (so running it never writes outputs into the checkout)."""
    from pathlib import Path
    return Path.home() / ".whyk8s" / "dashboard" / context


#: The checkout's folders :func:`prepare_folder` links into the dashboard's folder: the instructor
#: runs the demonstrations from the same JupyterLab.
DEMONSTRATION_FOLDERS = ("notebooks", "labs")


def prepare_folder(folder, checkout):
    """Make ``folder`` (mode 0700) hold a fresh copy of ``checkout/workshop/dashboard.ipynb`` and links
    ``notebooks`` and ``labs`` to the checkout's (:data:`DEMONSTRATION_FOLDERS`), so the one JupyterLab
    of :func:`serve` shows the dashboard and the chapters the instructor demonstrates, with the
    instructor's kubeconfig. An existing entry of those names that is not such a link is left alone.
    Returns ``folder`` (a Path)."""
    import shutil
    from pathlib import Path
    folder, checkout = Path(folder), Path(checkout)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    shutil.copyfile(checkout / "workshop" / DASHBOARD_NOTEBOOK, folder / DASHBOARD_NOTEBOOK)  # fresh each start
    for name in DEMONSTRATION_FOLDERS:
        link = folder / name
        if link.is_symlink() and link.resolve() != (checkout / name).resolve():
            link.unlink()
        if not link.exists() and not link.is_symlink():
            link.symlink_to(checkout / name, target_is_directory=True)
    return folder


def dashboard_command(folder, port: int = DASHBOARD_PORT, token: str = "", ip: str = "127.0.0.1",
                      lab_args: tuple[str, ...] = ()) -> list[str]:
    """The JupyterLab command :func:`serve` runs: the course venv's ``jupyter lab`` on ``ip:port``,
    rooted at ``folder``, opening :data:`DASHBOARD_NOTEBOOK`, with ``token`` as its
    password-in-the-URL (JupyterLab's token authentication), no browser of its own; ``--allow-root``
    when run as root (the hub's machine is run as root); then ``lab_args``."""
    import os
    import sys
    from pathlib import Path

    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ip={ip}", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
           f"--LabApp.default_url=/lab/tree/{DASHBOARD_NOTEBOOK}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + list(lab_args)


def serve(port: int = DASHBOARD_PORT, context: str | None = None, ip: str = "127.0.0.1",
          lab_args: tuple[str, ...] = (), log=print) -> int:
    """Run the instructor's dashboard until Ctrl-C (or SIGTERM): check the context with the guard (a
    participant's context is refused: the dashboard needs the instructor's rights across the
    participants' namespaces), then run :func:`dashboard_command` with a fresh random token, the
    instructor's environment (``KUBECONFIG``, ``WHYK8S_*``) and ``WHYK8S_DASHBOARD_CONTEXT`` (the
    checked context, which the notebook's cell connects to), and once it answers, print the address
    to open (token included). Returns JupyterLab's exit code. Raises CourseError for a participant's context or a
    port already in use. kubectl's equivalent: ``whyk8s workshop status --watch``."""
    import os
    import secrets
    import socket
    import subprocess
    import time
    from whyk8s.cluster.workshop import _connect
    from whyk8s.errors import CourseError
    cluster = _connect(context)
    with socket.socket() as sock:
        sock.settimeout(1)
        if sock.connect_ex((ip if ip != "0.0.0.0" else "127.0.0.1", port)) == 0:
            raise CourseError(f"Port {port} is in use: choose another with --port.")
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "WHYK8S_DASHBOARD_CONTEXT": cluster.context}  # the notebook's cell connects to it
    host = "127.0.0.1" if ip in ("0.0.0.0", "127.0.0.1") else ip
    from whyk8s.paths import repo_root
    folder = prepare_folder(dashboard_folder(cluster.context), repo_root())
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(  # the course's JupyterLab settings, as `make lab`
        p for p in (str(repo_root() / "etc" / "jupyter"), os.environ.get("JUPYTER_CONFIG_PATH")) if p)
    with subprocess.Popen(dashboard_command(folder, port, token, ip, lab_args), env=env) as proc:
        try:
            deadline = time.monotonic() + 90  # JupyterLab imports for a few seconds on a busy machine
            while proc.poll() is None and time.monotonic() < deadline:
                with socket.socket() as sock:
                    sock.settimeout(1)
                    if sock.connect_ex((host, port)) == 0:
                        break
                time.sleep(0.3)
            else:
                if proc.poll() is None:
                    proc.terminate()
                proc.wait()
                raise CourseError(f"JupyterLab did not start on {host}:{port} within 90 s (exit code "
                                  f"{proc.returncode}); its messages are above.")
            log(f"The instructor's dashboard ({cluster.context}): http://{host}:{port}/lab/tree/"
                f"{DASHBOARD_NOTEBOOK}?token={token}  (open it, then Run > Run All Cells; Ctrl-C here stops it)",
                flush=True)
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            return proc.wait()
