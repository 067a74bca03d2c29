"""Where a workshop participant's lab checks leave their results for the instructor to read.

(In ``k8s``, below the labs and the dashboard, so that both may use it: :func:`whyk8s.labs.checks.check`
and :func:`~whyk8s.labs.checks.cluster_check` call :func:`record_check`; the instructor's view,
:mod:`whyk8s.cluster.dashboard`, reads the entries.)

When a check runs with a workshop participant's connection (kubeconfig context
``whyk8s-workshop-<participant>``), :func:`record_check` writes its result into one ConfigMap,
:data:`CONFIGMAP` (``whyk8s-lab-progress``), in the participant's own namespace: one key per check
(``<lab>.<check function>``, e.g. ``lab2.check_pod``), whose value is a JSON object (:func:`merged`):

- ``lab`` (``lab2``), ``step`` (the check function's name), ``title`` (the check's title);
- ``passed`` (bool), ``sentence`` (the first wrong finding, or the verdict when it passed);
- ``time`` (RFC 3339, UTC, when it ran), ``failing_since`` (when the current run of failures began,
  None when it passed), ``runs`` (how many times it ran);
- ``passed_at``: when it last passed (kept when a later run fails: a check once passed stays in the
  participant's history, with the failure as its current state), None if it never passed.

The ConfigMap carries the labels ``app.kubernetes.io/part-of=whyk8s``, ``whyk8s.io/participant=<p>``
and ``app.kubernetes.io/component=lab-progress`` (:data:`SELECTOR` finds every participant's), so
the instructor's dashboard (:mod:`whyk8s.cluster.dashboard`) watches them across namespaces, the
labs' ``reset()`` leaves it alone (it keeps what carries the participant label), and ``whyk8s workshop
down`` removes it with the namespace. The participant's Role already grants ConfigMaps in their own
namespace (:func:`whyk8s.cluster.workshop.learner_rules`); the write is an update with the
resourceVersion read just before (optimistic concurrency: two kernels of one participant that write
at once retry instead of losing a result).

On the normal route (one learner, their own cluster, context ``kwok-whyk8s`` / ``kind-whyk8s``)
nothing is recorded: nobody else reads it; a ConfigMap in the namespace ``whyk8s`` would show up in the
chapters' listings and recorded outputs, and each check would cost two more API calls.

Recording never changes a check's verdict: if it fails (the API server refuses or does not answer),
the result gets one hint sentence saying the instructor will not see this result, and nothing else.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from kubernetes import client

from whyk8s import PART_OF_LABEL, PARTICIPANT_LABEL
from whyk8s.errors import explain
from whyk8s.k8s.guard import WORKSHOP_CONTEXT_PREFIX, Cluster, connect, current_context, is_workshop_context

__all__ = ["CONFIGMAP", "COMPONENT", "SELECTOR", "LAB_OF_MODULE", "lab_of", "entry_key", "sentence_of",
           "merged", "entries", "participant_of", "record", "record_check"]

log = logging.getLogger(__name__)

#: The ConfigMap holding a participant's check results, in their namespace.
CONFIGMAP = "whyk8s-lab-progress"
#: Its ``app.kubernetes.io/component`` label.
COMPONENT = ("app.kubernetes.io/component", "lab-progress")
#: Selects every participant's progress ConfigMap.
SELECTOR = f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]},{PARTICIPANT_LABEL},{COMPONENT[0]}={COMPONENT[1]}"
#: The lab each check module belongs to (the notebooks' numbers: ``labs/labN-….ipynb``).
LAB_OF_MODULE = {"images_lab": "lab1", "pod_lab": "lab2", "healing_lab": "lab3", "gpu_lab": "lab4",
                 "fairness_lab": "lab5", "survey_lab": "lab6", "queue_lab": "lab7"}
#: Attempts of the read-then-update when another writer got in between (409 Conflict).
ATTEMPTS = 4


def lab_of(module: str) -> str:
    """``"whyk8s.labs.pod_lab"`` → ``"lab2"``; a module not in :data:`LAB_OF_MODULE` gives its last part."""
    short = module.rsplit(".", 1)[-1]
    return LAB_OF_MODULE.get(short, short)


def entry_key(lab: str, step: str) -> str:
    """The ConfigMap data key of one check: ``"<lab>.<step>"`` (letters, digits, ``-``, ``_``, ``.`` only,
    as ConfigMap keys must be)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{lab}.{step}")


def sentence_of(result) -> str:
    """One sentence for the instructor: the first wrong finding of a failing result (at most 200
    characters), or ``"all checks pass"``."""
    if result.passed:
        return result.verdict()
    text = result.problems[0] if result.problems else result.verdict()
    return text if len(text) <= 200 else text[:197] + "..."


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def merged(old: dict | None, lab: str, step: str, title: str, passed: bool, sentence: str,
           now: datetime) -> dict:
    """The new entry of one check given the one stored before (``old``, or None): ``failing_since``
    keeps the start of the current run of failures (``now`` for the first failure after a pass or
    for the first run), None once it passes; ``runs`` counts the runs; ``passed_at`` is ``now`` when
    it passes and the old one otherwise (the history of passes survives later failures)."""
    old = old if isinstance(old, dict) else {}
    earlier = old.get("passed_at") or (old.get("time") if old.get("passed") is True else None)
    if passed:
        since = None
    elif old.get("passed") is False and old.get("failing_since"):
        since = old["failing_since"]
    else:
        since = _iso(now)
    return {"lab": lab, "step": step, "title": title, "passed": bool(passed), "sentence": sentence,
            "time": _iso(now), "failing_since": since, "runs": int(old.get("runs") or 0) + 1,
            "passed_at": _iso(now) if passed else earlier}


def entries(configmap) -> dict[str, dict]:
    """The entries of a progress ConfigMap (a ``V1ConfigMap`` or None) by key; values that are not
    JSON objects are left out."""
    out = {}
    data = (configmap.data if configmap is not None else None) or {}
    for key, raw in data.items():
        try:
            value = json.loads(raw)
        except (TypeError, ValueError):
            continue
        if isinstance(value, dict):
            out[key] = value
    return out


def participant_of(context: str | None) -> str | None:
    """``"whyk8s-workshop-p07"`` → ``"p07"``; None for a context that is not a participant's."""
    return context[len(WORKSHOP_CONTEXT_PREFIX):] if is_workshop_context(context) else None


def record(cluster: Cluster, lab: str, step: str, result, now: datetime | None = None) -> dict | None:
    """Write ``result`` (a :class:`~whyk8s.labs.feedback.CheckResult`) as the entry ``<lab>.<step>`` of
    the participant's progress ConfigMap, creating it (labelled) if missing. Returns the entry
    written, or None when ``cluster`` is not a participant's connection (nothing is written). Raises
    ApiException when the API server refuses, after :data:`ATTEMPTS` conflicts."""
    participant = participant_of(cluster.context)
    if participant is None:
        return None
    now = now or datetime.now(timezone.utc)
    ns, key = cluster.namespace, entry_key(lab, step)
    labels = {PART_OF_LABEL[0]: PART_OF_LABEL[1], PARTICIPANT_LABEL: participant, COMPONENT[0]: COMPONENT[1]}
    for attempt in range(ATTEMPTS):
        try:
            cm = cluster.core.read_namespaced_config_map(CONFIGMAP, ns)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
            cm = None
        entry = merged(entries(cm).get(key), lab, step, result.title, result.passed, sentence_of(result), now)
        value = json.dumps(entry, sort_keys=True)
        try:
            if cm is None:
                body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=CONFIGMAP, namespace=ns, labels=labels),
                                          data={key: value})
                cluster.core.create_namespaced_config_map(ns, body)
            else:
                cm.data = {**(cm.data or {}), key: value}
                cm.metadata.labels = {**(cm.metadata.labels or {}), **labels}
                cluster.core.replace_namespaced_config_map(CONFIGMAP, ns, cm)  # carries the resourceVersion read
            return entry
        except client.ApiException as exc:
            if exc.status != 409 or attempt == ATTEMPTS - 1:  # 409: created or changed meanwhile; again
                raise
    return None  # not reached


def record_check(result, fn, cluster: Cluster | None = None) -> None:
    """After a check ran: record ``result`` (of check function ``fn``) when the connection is a workshop
    participant's. ``cluster`` is the check's connection, or None for a check that needs no cluster
    (a connection is then made only when the current kubeconfig context is a participant's). Never
    raises: a failure adds one hint to ``result`` and is logged."""
    try:
        if cluster is None:
            if not is_workshop_context(current_context()):
                return
            cluster = connect(create_namespace=False)
        elif not is_workshop_context(cluster.context):
            return
        record(cluster, lab_of(getattr(fn, "__module__", "") or ""), getattr(fn, "__name__", "check"), result)
    except Exception as exc:  # noqa: BLE001 - recording must never break a check
        log.warning("recording a check result failed: %s", exc)
        result.hint(f"this result could not be recorded for your instructor's dashboard ({explain(exc)}); "
                    f"your check itself is not affected")
