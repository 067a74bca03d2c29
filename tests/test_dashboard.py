"""The instructor's view of a workshop: check results recorded in the participant's namespace, and the
dashboard's rows (pods by phase, quota, checks passed, who is stuck) from the objects.

Unit tests build the objects the official client returns (no API server, nothing mocked about its
behaviour: the rows are a pure function of the objects). The ``course_cluster`` tests run the real
path: a participant's lab 2 check, with the participant's kubeconfig, writes its result through the
participant's own rights; the instructor's widget sees it from its watches within seconds, shows the
participant stuck once the (short) threshold passes, and not stuck once the check passes.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from kubernetes import client

from whyk8s.cluster import dashboard, workshop
from whyk8s.k8s import progress
from whyk8s.labs.checks import check

from livewait import text, wait_until

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


# -- pure data ---------------------------------------------------------------------------------------
def _ns(p):
    return client.V1Namespace(metadata=client.V1ObjectMeta(
        name=workshop.namespace_of(p), labels={"app.kubernetes.io/part-of": "whyk8s", "whyk8s.io/participant": p},
        annotations={"whyk8s.io/token-expires": "2026-12-01T13:00:00+00:00"}))


def _pod(p, name, phase):
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, namespace=workshop.namespace_of(p)),
                        status=client.V1PodStatus(phase=phase))


def _quota(p, used_cpu="250m", used_pods="1"):
    return client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name=workshop.QUOTA, namespace=workshop.namespace_of(p)),
        status=client.V1ResourceQuotaStatus(hard={"requests.cpu": "10800m", "requests.memory": "158Gi", "pods": "198"},
                                            used={"requests.cpu": used_cpu, "requests.memory": "64Mi",
                                                  "pods": used_pods}))


def _progress(p, *entries):
    data = {progress.entry_key(e["lab"], e["step"]): json.dumps(e) for e in entries}
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=progress.CONFIGMAP, namespace=workshop.namespace_of(p)),
                              data=data)


def _entry(step, passed, at, since=None, lab="lab2"):
    return {"lab": lab, "step": step, "title": step, "passed": passed, "sentence": f"{step} says why",
            "time": at.isoformat(), "failing_since": None if passed else (since or at).isoformat(), "runs": 1}


def test_rows_count_pods_by_phase_and_quota_per_participant():
    rows = dashboard.participant_rows(
        [_ns("p02"), _ns("p01")],
        [_pod("p01", "a", "Running"), _pod("p01", "b", "Pending"), _pod("p02", "c", "Succeeded"),
         _pod("p09", "elsewhere", "Running")],
        [_quota("p01", used_cpu="0.25"), _quota("p02", used_cpu="0", used_pods="0")], [], now=T0)
    assert [r["participant"] for r in rows] == ["p01", "p02"]
    a, b = rows
    assert (a["running"], a["pending"], a["succeeded"], b["succeeded"], b["running"]) == (1, 1, 0, 1, 0)
    assert a["cpu"] == "250m/10800m" and a["pods"] == "1/198" and a["memory"] == "64Mi/161792Mi"
    assert b["cpu"] == "0m/10800m" and a["passed"] == [] and not a["stuck"] and a["last_check"] == "-"


def test_a_participant_without_quota_shows_a_dash():
    (row,) = dashboard.participant_rows([_ns("p01")], [], [], [], now=T0)
    assert row["cpu"] == row["memory"] == row["pods"] == "-"


def test_stuck_after_the_threshold_not_before():
    cm = _progress("p01", _entry("check_pod", False, T0, since=T0 - timedelta(minutes=4)))
    (row,) = dashboard.participant_rows([_ns("p01")], [], [], [cm], now=T0, stuck_after=300)
    assert row["failing"] == ["lab2.check_pod"] and not row["stuck"] and row["stuck_in"] == 60
    (row,) = dashboard.participant_rows([_ns("p01")], [], [], [cm], now=T0 + timedelta(minutes=2), stuck_after=300)
    assert row["stuck"] and row["stuck_on"] == "lab2.check_pod" and row["stuck_minutes"] == 6.0
    assert row["sentences"]["lab2.check_pod"] == "check_pod says why"


def test_a_later_pass_of_another_check_means_moved_on():
    failing = _entry("check_pod", False, T0, since=T0 - timedelta(minutes=20))
    moved_on = _entry("check_read_back", True, T0 - timedelta(minutes=5))
    (row,) = dashboard.participant_rows([_ns("p01")], [], [], [_progress("p01", failing, moved_on)], now=T0)
    assert not row["stuck"] and row["passed"] == ["lab2.check_read_back"] and row["failing"] == ["lab2.check_pod"]
    assert row["stuck_in"] is None  # after 15 min it is already past the threshold: moved on, not soon stuck
    earlier_pass = _entry("check_read_back", True, T0 - timedelta(minutes=30))
    (row,) = dashboard.participant_rows([_ns("p01")], [], [], [_progress("p01", failing, earlier_pass)], now=T0)
    assert row["stuck"]


def test_a_check_passed_then_failing_after_a_reset_is_history_not_stuck():
    # lab 4 passed, reset, re-run: fails; the participant then works elsewhere and finishes
    e = progress.merged(None, "lab4", "check_greedy_job", "Lab 4", True, "all checks pass", T0 - timedelta(minutes=40))
    e = progress.merged(e, "lab4", "check_greedy_job", "Lab 4", False, "no Job", T0 - timedelta(minutes=30))
    assert e["passed_at"] == (T0 - timedelta(minutes=40)).isoformat() and not e["passed"]
    cm = _progress("p02", e)
    (row,) = dashboard.participant_rows([_ns("p02")], [], [], [cm], now=T0)
    assert row["passed"] == ["lab4.check_greedy_job"] and row["failing"] == ["lab4.check_greedy_job"]
    assert not row["stuck"] and row["stuck_in"] is None
    # never passed, failing 30 min, but another check of theirs ran since: moved on, not stuck
    never = _entry("check_pod", False, T0 - timedelta(minutes=30))
    elsewhere = _entry("check_job", False, T0 - timedelta(minutes=2), lab="lab3")
    (row,) = dashboard.participant_rows([_ns("p02")], [], [], [_progress("p02", never, elsewhere)], now=T0)
    assert not row["stuck"]
    (row,) = dashboard.participant_rows([_ns("p02")], [], [], [_progress("p02", never)], now=T0)
    assert row["stuck"] and row["stuck_on"] == "lab2.check_pod"


def test_narrow_table_for_a_projector():
    cm = _progress("p01", _entry("check_pod", False, T0, since=T0 - timedelta(minutes=9)))
    rows = dashboard.participant_rows([_ns("p01")], [_pod("p01", "a", "Running")], [_quota("p01")], [cm], now=T0)
    table = dashboard.narrow_frame(rows)
    assert list(table.columns) == dashboard.NARROW_COLUMNS
    text = table.to_string(index=False)
    assert max(len(line) for line in text.splitlines()) <= 100, text
    assert "64/161792" in text and "Mi" not in text.replace("mem MiB", "") and "lab2.check_pod 9m" in text


def test_merged_keeps_the_start_of_a_run_of_failures():
    first = progress.merged(None, "lab2", "check_pod", "Lab 2", False, "no Pod", T0)
    again = progress.merged(first, "lab2", "check_pod", "Lab 2", False, "wrong image", T0 + timedelta(minutes=3))
    assert again["failing_since"] == first["failing_since"] == T0.isoformat() and again["runs"] == 2
    passed = progress.merged(again, "lab2", "check_pod", "Lab 2", True, "all checks pass", T0 + timedelta(minutes=4))
    assert passed["failing_since"] is None and passed["passed"]
    fails_again = progress.merged(passed, "lab2", "check_pod", "Lab 2", False, "no Pod", T0 + timedelta(minutes=9))
    assert fails_again["failing_since"] == (T0 + timedelta(minutes=9)).isoformat()


def test_entries_skip_what_is_not_a_json_object():
    cm = client.V1ConfigMap(data={"lab2.check_pod": "{not json", "lab2.x": "[1]",
                                  "lab2.y": json.dumps({"passed": True})})
    assert list(progress.entries(cm)) == ["lab2.y"] and progress.entries(None) == {}


def test_lab_of_a_check_module_and_keys():
    assert progress.lab_of("whyk8s.labs.pod_lab") == "lab2" and progress.lab_of("whyk8s.labs.queue_lab") == "lab7"
    assert progress.entry_key("lab2", "check pod/x") == "lab2.check_pod_x"
    assert progress.participant_of("whyk8s-workshop-p07") == "p07" and progress.participant_of("kwok-whyk8s") is None


def test_board_html_puts_the_stuck_first_with_the_sentence():
    from whyk8s.notebook.widgets.workshop import board_html
    cms = [_progress("p01", _entry("check_pod", True, T0)),
           _progress("p02", _entry("check_pod", False, T0, since=T0 - timedelta(minutes=9)))]
    rows = dashboard.participant_rows([_ns("p01"), _ns("p02")], [], [], cms, now=T0)
    page = text(board_html(rows))
    assert "2 participants, 1 stuck" in page
    assert page.index("p02") < page.index("p01") and "stuck 9 min on lab2.check_pod check_pod says why" in page
    assert "No workshop participant" in board_html([])
    assert "token expires (UTC)" in page and "13:00" in page and "memory used/hard (MiB)" in page


def test_recording_failure_never_changes_a_check(tmp_path, monkeypatch):
    """A participant's kubeconfig whose API server does not answer: the check's verdict is its own,
    and one hint says the instructor will not see it."""
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "whyk8s-workshop-p01",
           "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
           "users": [{"name": "u", "user": {"token": "x"}}],
           "contexts": [{"name": "whyk8s-workshop-p01", "context": {"cluster": "c", "user": "u",
                                                                     "namespace": "whyk8s-p01"}}]}
    (tmp_path / "kc").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kc"))

    @check("Question 1")
    def check_answer(result, answer):
        result.ok("right") if answer == 42 else result.wrong("not 42")

    good = check_answer(42)
    assert good.passed and len(good.hints) == 1 and "could not be recorded" in good.hints[0]
    assert not check_answer(41).passed


def test_the_normal_route_records_nothing_and_asks_nothing(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/whyk8s")

    @check("Question 1")
    def check_answer(result):
        result.ok("right")

    res = check_answer()
    assert res.passed and res.hints == []


# -- on the real API server --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def room(course_cluster, tmp_path_factory):
    from whyk8s.k8s.guard import connect
    instructor = connect(context=course_cluster.context)
    out = tmp_path_factory.mktemp("workshop")
    workshop.down(cluster=instructor, out=out)
    result = workshop.up(2, hours=1, out=out, cluster=instructor)
    yield instructor, result
    workshop.down(cluster=instructor, out=out)


def _row(board, p):
    return next((r for r in board.rows() if r["participant"] == p), None)


def test_a_failing_check_shows_then_stuck_then_cleared(room, monkeypatch):
    from whyk8s.k8s import objects, specs
    from whyk8s.labs import pod_lab
    from whyk8s.notebook.widgets.workshop import WorkshopBoard
    instructor, result = room
    ns = workshop.namespace_of("p01")
    board = WorkshopBoard(cluster=instructor, stuck_after=3)
    try:
        assert {r["participant"] for r in board.rows()} == {"p01", "p02"}
        # the participant's own kernel: their kubeconfig, their namespace (as the set-up cell finds it)
        monkeypatch.setenv("KUBECONFIG", str(workshop.kubeconfig_path(result.context, "p01", result.folder)))
        monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
        monkeypatch.setattr(pod_lab, "NAMESPACE", ns)
        started = time.monotonic()
        failed = pod_lab.check_pod(timeout=1)
        assert not failed.passed and failed.hints == [], failed  # recorded without a word to the learner
        assert wait_until(board, lambda: (_row(board, "p01") or {}).get("failing") == ["lab2.check_pod"], 10)
        seen = time.monotonic() - started
        assert not _row(board, "p01")["stuck"] and _row(board, "p02")["failing"] == []
        # nothing changes in the cluster; the threshold passes: the next draw says stuck
        assert wait_until(board, lambda: "1 stuck" in text(board.table.value), 10)
        assert _row(board, "p01")["stuck"] and "no Pod named first-pod" in text(board.table.value)
        # the participant fixes it through the package (their own connection) and checks again
        from whyk8s.k8s.guard import connect
        mine = connect()
        assert mine.namespace == ns
        pod = specs.pod(pod_lab.POD_NAME, image=pod_lab.IMAGE, cpu=pod_lab.CPU, memory=pod_lab.MEMORY,
                        labels=dict([pod_lab.APP_LABEL]))
        pod.spec.containers[0].name = pod_lab.CONTAINER  # as the task asks (lab 2 checks the name)
        objects.create(mine, pod)
        assert pod_lab.check_pod(timeout=15).passed
        assert wait_until(board, lambda: not _row(board, "p01")["stuck"]
                          and _row(board, "p01")["passed"] == ["lab2.check_pod"], 10)
        assert _row(board, "p01")["running"] + _row(board, "p01")["pending"] == 1
        cm = instructor.core.read_namespaced_config_map(progress.CONFIGMAP, ns)
        assert cm.metadata.labels["whyk8s.io/participant"] == "p01"
        entry = json.loads(cm.data["lab2.check_pod"])
        assert entry["passed"] and entry["runs"] == 2 and entry["failing_since"] is None
        print(f"failure seen on the dashboard {seen:.2f} s after the check started")
    finally:
        board.close()
    # the status table says the same, from one list of each
    table = workshop.status(cluster=instructor)
    assert table.set_index("participant").loc["p01", "passed"] == "lab2.check_pod"


def test_the_normal_route_records_nothing(room, course_cluster):
    from whyk8s.k8s.guard import connect
    from whyk8s.labs import pod_lab
    instructor, _ = room
    assert not pod_lab.check_pod(timeout=1).passed  # the course context: no workshop participant
    found = instructor.core.list_config_map_for_all_namespaces(label_selector=progress.SELECTOR).items
    assert all(c.metadata.namespace.startswith("whyk8s-p") for c in found)
    with pytest.raises(client.ApiException) as info:
        connect(context=course_cluster.context).core.read_namespaced_config_map(progress.CONFIGMAP, "whyk8s")
    assert info.value.status == 404


def test_dashboard_folder_links_the_chapters_for_the_demonstrations(tmp_path):
    # one JupyterLab of the instructor's for the dashboard and the demonstrations
    checkout = tmp_path / "checkout"
    for name in ("workshop", "notebooks", "labs"):
        (checkout / name).mkdir(parents=True)
    (checkout / "workshop" / "dashboard.ipynb").write_text("{}")
    (checkout / "notebooks" / "03.ipynb").write_text("{}")
    folder = dashboard.prepare_folder(tmp_path / "dash", checkout)
    assert (folder / "notebooks" / "03.ipynb").is_file() and (folder / "labs").is_dir()
    assert (folder / "dashboard.ipynb").read_text() == "{}" and folder.stat().st_mode & 0o077 == 0
    assert dashboard.prepare_folder(folder, checkout) == folder  # again: no error, same links


def test_status_command_takes_watch_and_seconds():
    # seconds, as the widget's stuck_after
    from whyk8s.cli import _ws_status, build_parser
    args = build_parser().parse_args(["workshop", "status", "--watch", "--stuck-after", "150"])
    assert args.func is _ws_status and args.watch and args.stuck_after == 150
    assert build_parser().parse_args(["workshop", "status"]).stuck_after == dashboard.STUCK_AFTER == 300
