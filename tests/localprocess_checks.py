"""Shared checks for the tests of the controllers the course runs as local processes against the kwok
API server (Kueue, Karpenter: :mod:`whyk8s.cluster.localprocess`): one start-to-nothing cycle, the
kill that the starting process's reaper must reap, the kwok provider's ``up`` removing what a dead
one left, and the module-scoped fixture that keeps one running."""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from typing import Callable

import pytest
from kubernetes import client

from whyk8s.cluster.providers import get_provider


def quiet(*_) -> None:
    """A ``log`` that says nothing."""


def process_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie (a zombie has exited)."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def wait_for(what: str, check: Callable, timeout: float = 60, interval: float = 0.3):
    """Poll ``check()`` until it returns something true, and return that; AssertionError naming
    ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def crds(cluster, groups) -> list[str]:
    """``crd/<name>`` of every CRD of ``groups`` on the cluster, labelled or not."""
    ext = client.ApiextensionsV1Api(cluster.api)
    return [f"crd/{c.metadata.name}" for c in ext.list_custom_resource_definition().items if c.spec.group in groups]


def process_leftovers(controller) -> list[str]:
    """The controller's process (if its pid file names a live one) and its state folder, if there."""
    left = []
    if controller.pid() is not None:
        left.append(f"process {controller.pid()}")
    if controller.state_dir().exists():
        left.append(str(controller.state_dir()))
    return left


@contextmanager
def started_from_nothing(controller, cluster, leftovers: Callable):
    """Stop whatever a previous run left, check ``leftovers(cluster)`` is empty, start the controller and
    yield its status (its process alive); afterwards check that a second start changes nothing, stop it
    and check its process is gone and nothing is left."""
    controller.stop(cluster, log=quiet)  # in case a previous run left it up
    assert leftovers(cluster) == []
    st = controller.start(cluster, log=quiet)
    try:
        assert st.running and process_alive(st.pid)
        yield st
        assert controller.start(cluster, log=quiet).pid == st.pid  # a second start changes nothing
    finally:
        controller.stop(cluster, log=quiet)
    assert not process_alive(st.pid)
    assert leftovers(cluster) == []


def kill_and_wait_reaped(pid: int, timeout: float = 10) -> None:
    """SIGKILL ``pid`` and wait until it is gone from /proc: the process that started it (this one)
    reaps it through its reaper thread, or it would stay a zombie."""
    os.kill(pid, signal.SIGKILL)
    wait_until_gone(pid, timeout)


def wait_until_gone(pid: int, timeout: float = 10) -> None:
    """Wait until ``pid`` is gone from /proc (exited and reaped); fail naming the zombie otherwise."""
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}"), f"process {pid} is still there (a zombie: nobody reaped it)"


def up_removes_leftovers(cluster, leftovers: Callable, message: str) -> None:
    """The kwok provider's ``up`` removes what a dead controller left (``leftovers(cluster)`` empty
    after it) and says so (a log line containing ``message``)."""
    messages = []
    get_provider("kwok").up(log=messages.append)
    assert leftovers(cluster) == []
    assert any(message in m for m in messages), messages


def running_fixture(controller, leftovers: Callable | None = None):
    """A module-scoped fixture that starts ``controller`` on the course cluster for the module's tests,
    stops it afterwards and, given ``leftovers``, checks nothing of it is left."""

    @pytest.fixture(scope="module")
    def running(course_cluster):
        controller.start(course_cluster, log=quiet)
        yield
        controller.stop(course_cluster, log=quiet)
        if leftovers is not None:
            assert leftovers(course_cluster) == []

    return running


def stale_pid_file_is_ignored(controller, cluster) -> None:
    """A pid file naming a live process that is not the course's binary (here: this test's own Python,
    as after a reboot that reused the pid) counts as not running: ``pid()`` is None, and ``kill()``
    signals nothing (this process lives on) and removes the state folder."""
    controller.stop(cluster, log=quiet)
    controller.state_dir().mkdir(parents=True)
    (controller.state_dir() / f"{controller.CONTROLLER.slug}.pid").write_text(str(os.getpid()))
    assert controller.pid() is None
    assert controller.status(cluster).running is False
    controller.kill(log=quiet)
    assert not controller.state_dir().exists()
