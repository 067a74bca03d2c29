"""``whyk8s cluster doctor``'s checks, one at a time, with the machine's facts given by the test.
(Its context check against the real kubectl: tests/test_guard.py; its exit code: tests/test_cli.py.)"""

import inspect

from whyk8s.cluster import doctor
from whyk8s.cluster.doctor import Check


def proc(**values):
    """A /proc reader giving the named inotify limits."""
    return lambda path: f"{values[path.rsplit('/', 1)[1]]}\n"


def test_every_check_has_a_docstring_naming_its_statuses():
    checks = [f for name, f in inspect.getmembers(doctor, inspect.isfunction) if name.startswith("check_")]
    assert len(checks) == 9
    for check in checks:
        assert check.__doc__ and "``ok``" in check.__doc__, check.__name__
    assert {f.__name__ for f in checks} <= set(doctor.__all__)


def test_low_inotify_limits_give_the_sysctl_line_when_kind_could_run():
    check = doctor.check_inotify(read=proc(max_user_watches=524288, max_user_instances=128), docker=lambda: True,
                                 context="kind-whyk8s")
    assert check.status == "warn"
    assert check.found == "max_user_watches=524288, max_user_instances=128"
    assert check.fix.endswith("sudo sysctl fs.inotify.max_user_instances=512")


def test_low_inotify_limits_do_not_matter_without_docker():
    check = doctor.check_inotify(read=proc(max_user_watches=8192, max_user_instances=128), docker=lambda: False)
    assert check.status == "ok" and "only kind needs more" in check.found


def test_low_inotify_limits_do_not_matter_when_the_course_cluster_is_kwok():
    """learner-ux #17: Docker answers, but the cluster in use is kwok: no sudo advice."""
    check = doctor.check_inotify(read=proc(max_user_watches=8192, max_user_instances=128), docker=lambda: True,
                                 context="kwok-whyk8s")
    assert check.status == "ok" and "runs on kwok" in check.found and not check.fix


def test_unreadable_inotify_limits_are_a_warning():
    def unreadable(path):
        raise FileNotFoundError(path)
    assert doctor.check_inotify(read=unreadable, docker=lambda: True).status == "warn"


def test_memory_thresholds(tmp_path):
    meminfo = tmp_path / "meminfo"
    for kib, status in ((512 * 1024, "fail"), (2 * 2**20, "warn"), (8 * 2**20, "ok")):
        meminfo.write_text(f"MemTotal: 99999999 kB\nMemAvailable: {kib} kB\n")
        assert doctor.check_memory(str(meminfo)).status == status
    assert doctor.check_memory(str(tmp_path / "none")).status == "warn"


def test_no_kubeconfig_yet_is_a_warning_not_a_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    check = doctor.check_context()
    assert check.status == "warn" and "whyk8s cluster up" in check.fix


def test_only_fail_counts_as_failed():
    checks = [Check("a", "ok", "x"), Check("b", "warn", "y", "fix b"), Check("c", "fail", "z", "fix c")]
    assert doctor.failed(checks) == [checks[2]]
    assert doctor.failed(checks[:2]) == []
    assert doctor.format_checks(checks).splitlines() == [
        "[  ok] a: x", "[warn] b: y", "       → fix b", "[fail] c: z", "       → fix c"]


def test_the_controllers_line_names_what_runs_and_how_to_stop_it():
    from whyk8s.cluster.doctor import check_controllers
    none = check_controllers({"Kueue": None, "Karpenter": None})
    assert none.status == "ok" and none.found.startswith("none running")
    one = check_controllers({"Kueue": 4242, "Karpenter": None})
    assert one.found == ("running: Kueue (pid 4242); `whyk8s kueue down` stops it, `whyk8s cluster down` too")
    both = check_controllers({"Kueue": 1, "Karpenter": 2})
    assert "Kueue (pid 1), Karpenter (pid 2)" in both.found and "stops them" in both.found
