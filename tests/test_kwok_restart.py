"""The kwok provider after the control plane's processes were killed (a reboot, or an ended session:
what CI meets on a machine where a course cluster already exists).

A killed kwok controller leaves its node Leases behind (200 s each with kwokctl's defaults); until
they expire, a new controller manages no node and every new pod stays Pending. ``cluster up`` must
hand the nodes over at once, and must recover too when the session died before the simulated Nodes
were created."""

import os
import signal
import subprocess
import threading
import time

import pytest

from whyk8s.cluster.kwok import (NODE_LEASE_NAMESPACE, KwokProvider, _identity_in_log, kwok_controller_identity,
                                 kwok_controller_pid, node_leases_need_hand_over, stop_process)
from whyk8s.cluster.layout import load_layout
from whyk8s.cluster.providers import cluster_name, quiet, run, wait_for_api
from whyk8s.k8s import objects, specs
from whyk8s.k8s.guard import connect
from whyk8s.k8s.waits import wait_for_pods, watch_until


def test_a_pid_file_naming_another_process_is_not_the_kwok_controller(tmp_path, monkeypatch):
    monkeypatch.setenv("KWOK_WORKDIR", str(tmp_path))
    pids = tmp_path / "clusters" / cluster_name() / "pids"
    assert kwok_controller_pid() is None  # no pid file
    pids.mkdir(parents=True)
    (pids / "kwok-controller.pid").write_text(str(os.getpid()))  # this Python, not kwok
    assert kwok_controller_pid() is None
    (pids / "kwok-controller.pid").write_text("not a number")
    assert kwok_controller_pid() is None


def test_the_identity_is_the_first_id_in_the_controllers_log(tmp_path):
    log = tmp_path / "kwok-controller.log"
    assert _identity_in_log(log) is None  # no log yet: a controller started a moment ago
    log.write_text("")
    assert _identity_in_log(log) is None  # an empty log: it has not written its first line
    log.write_text('not json\n{"msg": "no id"}\n{"msg": "Watch all nodes", "id": "vm_1"}\n{"id": "vm_2"}\n')
    assert _identity_in_log(log) == "vm_1"


def test_stop_process_returns_once_the_process_is_gone():
    # a grandchild (re-parented to init, which reaps it), like the kwok controller kwokctl forks
    pid = int(subprocess.run(["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True, check=True).stdout)
    assert os.path.exists(f"/proc/{pid}")
    assert stop_process(pid) is True
    assert not os.path.exists(f"/proc/{pid}")


def test_stop_process_kills_a_process_that_ignores_sigterm():
    # the shell ignores TERM, says so, and becomes `sleep` (an ignored signal stays ignored across
    # exec): one process, nothing left behind
    proc = subprocess.Popen(["sh", "-c", "trap '' TERM; echo ready; exec sleep 300"], stdout=subprocess.PIPE,
                            text=True)
    reaper = threading.Thread(target=proc.wait, daemon=True)  # as init reaps kwokctl's orphans
    try:
        assert proc.stdout.readline().strip() == "ready"  # the trap is installed: no race with SIGTERM
        reaper.start()
        assert stop_process(proc.pid, grace=1) is True
        reaper.join(timeout=5)
        assert proc.returncode == -signal.SIGKILL  # SIGTERM was ignored; SIGKILL ended it
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _pod_runs(cluster, name: str):
    """Create pod ``name`` and return it once Running (the nodes are managed by a live controller)."""
    objects.create(cluster, specs.pod(name))
    pods = wait_for_pods(cluster, lambda ps: ps.get(name) is not None and ps[name].status.phase == "Running",
                         timeout=30)
    return pods[name]


@pytest.mark.kwok
def test_pods_run_at_once_after_the_control_plane_was_killed(course_cluster):
    provider = KwokProvider()
    old_controller = kwok_controller_pid()
    assert old_controller is not None, "the course cluster's kwok controller should be running"
    provider.stop(log=quiet)  # `whyk8s cluster stop`: what a reboot does to the processes
    assert kwok_controller_pid() is None
    assert provider.exists()
    killed_at = time.time()

    cluster = provider.up(log=quiet)
    assert kwok_controller_pid() not in (None, old_controller)

    # every worker's Lease is held by one live controller, renewed since the restart
    leases = {lease.metadata.name: lease for lease in
              cluster.coordination.list_namespaced_lease(NODE_LEASE_NAMESPACE).items}
    workers = [w.name for w in load_layout().workers]
    assert set(workers) <= set(leases)
    assert len({leases[w].spec.holder_identity for w in workers}) == 1
    assert all(leases[w].spec.renew_time.timestamp() >= killed_at - 1 for w in workers)

    # and the nodes are managed: a pod is scheduled and reaches Running well before the old
    # Leases (200 s) would have expired
    try:
        assert _pod_runs(cluster, "after-restart").spec.node_name in workers
    finally:
        objects.cleanup(cluster)


@pytest.mark.kwok
def test_cluster_up_repairs_a_cluster_restarted_without_it(course_cluster):
    """``kwokctl start`` run by hand (or by an older course) leaves the new controller without its
    nodes; ``cluster up`` notices that the Leases name another holder and hands them over."""
    provider = KwokProvider()
    exe, env, _ = provider.kwokctl(log=quiet)
    run([exe, "stop", "cluster", "--name", cluster_name()], env=env, log=quiet)
    run([exe, "start", "cluster", "--name", cluster_name()], env=env, log=quiet)
    stale_since = time.time()
    assert node_leases_need_hand_over(wait_for_api(provider.context))

    cluster = provider.up(log=quiet)
    assert not node_leases_need_hand_over(cluster)
    try:
        assert _pod_runs(cluster, "after-repair").status.start_time.timestamp() >= stale_since - 1
    finally:
        objects.cleanup(connect(context=provider.context))


@pytest.mark.kwok
@pytest.mark.parametrize("controller", ["killed", "restarted"])
def test_cluster_up_recovers_when_the_worker_nodes_were_never_created(course_cluster, controller):
    """A session that died between ``kwokctl create cluster`` and the creation of the simulated
    Nodes: the control plane runs, no worker Node exists, and the kwok controller was killed (``up``
    restarts it and hands over the Leases) or already restarted by hand. ``up`` must hand over only
    the workers that exist (none) and then create them: it once waited 60 s for the Leases of Nodes
    that did not exist and failed ("No live holder for these leases")."""
    provider = KwokProvider()
    exe, env, _ = provider.kwokctl(log=quiet)
    cluster = connect(context=provider.context)
    workers = {w.name for w in load_layout().workers}
    for name in workers:
        cluster.core.delete_node(name)
    left = watch_until(cluster.core.list_node, done=lambda nodes: not workers & set(nodes), timeout=30)
    assert not workers & set(left)
    old = kwok_controller_pid()
    assert old is not None and stop_process(old)
    if controller == "restarted":
        run([exe, "start", "cluster", "--name", cluster_name()], env=env, log=quiet)
        assert kwok_controller_pid() not in (None, old)

    cluster = provider.up(log=quiet)
    assert workers <= {n.metadata.name for n in cluster.core.list_node().items}
    identity = kwok_controller_identity()
    holders = watch_until(cluster.coordination.list_namespaced_lease, NODE_LEASE_NAMESPACE,
                          done=lambda ls: all(n in ls and ls[n].spec.holder_identity == identity for n in workers),
                          timeout=30)
    assert {holders[n].spec.holder_identity for n in workers} == {identity}
    try:
        assert _pod_runs(cluster, "after-recovery").spec.node_name in workers
    finally:
        objects.cleanup(cluster)
