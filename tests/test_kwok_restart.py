"""The kwok provider after the control plane's processes were killed (a reboot, or an ended session:
what CI meets on a machine where a course cluster already exists).

A killed kwok controller leaves its node Leases behind (200 s each with kwokctl's defaults); until
they expire, a new controller manages no node and every new pod stays Pending. ``cluster up`` must
hand the nodes over at once."""

import os
import subprocess
import time

from whyk8s.k8s import objects, specs
from whyk8s.lessons.events import wait_for_pods
from whyk8s.cluster.layout import load_layout
from whyk8s.cluster.providers import (NODE_LEASE_NAMESPACE, KwokProvider, _run, _stop_process, cluster_name,
                              kwok_controller_pid)


def test_a_pid_file_naming_another_process_is_not_the_kwok_controller(tmp_path, monkeypatch):
    monkeypatch.setenv("KWOK_WORKDIR", str(tmp_path))
    pids = tmp_path / "clusters" / cluster_name() / "pids"
    assert kwok_controller_pid() is None  # no pid file
    pids.mkdir(parents=True)
    (pids / "kwok-controller.pid").write_text(str(os.getpid()))  # this Python, not kwok
    assert kwok_controller_pid() is None
    (pids / "kwok-controller.pid").write_text("not a number")
    assert kwok_controller_pid() is None


def test_stop_process_returns_once_the_process_is_gone():
    # a grandchild (re-parented to init, which reaps it), like the kwok controller kwokctl forks
    pid = int(subprocess.run(["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True, check=True).stdout)
    assert os.path.exists(f"/proc/{pid}")
    assert _stop_process(pid) is True
    assert not os.path.exists(f"/proc/{pid}")


def test_stop_process_kills_a_process_that_ignores_sigterm():
    pid = int(subprocess.run(["sh", "-c", "sh -c 'trap \"\" TERM; sleep 300' >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True, check=True).stdout)
    time.sleep(0.2)  # let it install the trap
    assert _stop_process(pid, grace=5) is True
    assert not os.path.exists(f"/proc/{pid}")


def test_pods_run_at_once_after_the_control_plane_was_killed(course_cluster):
    provider = KwokProvider()
    exe, env, _ = provider._kwokctl()
    old_controller = kwok_controller_pid()
    assert old_controller is not None, "the course cluster's kwok controller should be running"
    provider.stop(log=lambda *_: None)  # `whyk8s cluster stop`: what a reboot does to the processes
    assert kwok_controller_pid() is None
    assert provider.exists()
    killed_at = time.time()

    cluster = provider.up(log=lambda *_: None)
    assert kwok_controller_pid() not in (None, old_controller)

    # every worker's Lease is held by one live controller, renewed since the restart
    from kubernetes import client
    leases = {l.metadata.name: l for l in
              client.CoordinationV1Api(cluster.api).list_namespaced_lease(NODE_LEASE_NAMESPACE).items}
    workers = [w.name for w in load_layout().workers]
    assert set(workers) <= set(leases)
    assert len({leases[w].spec.holder_identity for w in workers}) == 1
    assert all(leases[w].spec.renew_time.timestamp() >= killed_at - 1 for w in workers)

    # and the nodes are managed: a pod is scheduled and reaches Running well before the old
    # Leases (200 s) would have expired
    try:
        objects.create(cluster, specs.pod("after-restart"))
        pods = wait_for_pods(cluster, lambda ps: ps.get("after-restart") is not None
                             and ps["after-restart"].status.phase == "Running", timeout=30)
        assert pods["after-restart"].spec.node_name in workers
    finally:
        objects.cleanup(cluster)


def test_cluster_up_repairs_a_cluster_restarted_without_it(course_cluster):
    """``kwokctl start`` run by hand (or by an older course) leaves the new controller without its
    nodes; ``cluster up`` notices that the Leases name another holder and hands them over."""
    provider = KwokProvider()
    exe, env, _ = provider._kwokctl()
    _run([exe, "stop", "cluster", "--name", cluster_name()], env=env, log=lambda *_: None)
    _run([exe, "start", "cluster", "--name", cluster_name()], env=env, log=lambda *_: None)
    stale_since = time.time()
    from whyk8s.k8s.guard import connect
    from whyk8s.cluster.providers import _wait_for_api, node_leases_need_hand_over
    assert node_leases_need_hand_over(_wait_for_api(provider.context))

    cluster = provider.up(log=lambda *_: None)
    assert not node_leases_need_hand_over(cluster)
    try:
        objects.create(cluster, specs.pod("after-repair"))
        pods = wait_for_pods(cluster, lambda ps: ps.get("after-repair") is not None
                             and ps["after-repair"].status.phase == "Running", timeout=30)
        assert pods["after-repair"].status.start_time.timestamp() >= stale_since - 1
    finally:
        objects.cleanup(connect(context=provider.context))
