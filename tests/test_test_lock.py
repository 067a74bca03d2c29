"""One test run per course cluster: a second ``pytest`` that would use the same cluster stops before
any test (two runs on one cluster clean up each other's objects mid-test), a run on another cluster
name or one that needs no cluster is not stopped, and what a run starts (a nested pytest) does not
lock itself out."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from whyk8s.cluster.providers import TEST_LOCK_ENV, ClusterInUseError, hold_for_tests, lock_path_for_tests

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in (TEST_LOCK_ENV, "WHYK8S_CLUSTER", "WHYK8S_ALLOW_CONTEXT")}
    env.update(extra)
    return env


def _hold_in_child(name: str):
    """A child process that holds ``name``'s lock until its stdin closes; returns it once it holds."""
    code = ("import sys; from whyk8s.cluster.providers import hold_for_tests; "
            f"lock = hold_for_tests({name!r}, what='pytest notebooks'); print('held', flush=True); sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=_env(PYTHONPATH=str(ROOT / "src")))
    assert child.stdout.readline().strip() == "held"
    return child


@pytest.fixture
def name():
    name = f"locktest-{uuid.uuid4().hex[:8]}"
    yield name
    Path(lock_path_for_tests(name)).unlink(missing_ok=True)


def test_a_second_holder_is_refused_with_the_first_holder_named(name, monkeypatch):
    monkeypatch.delenv(TEST_LOCK_ENV, raising=False)
    child = _hold_in_child(name)
    try:
        with pytest.raises(ClusterInUseError, match=rf"{name}.*pid {child.pid}: pytest notebooks"):
            hold_for_tests(name)
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    monkeypatch.delenv(TEST_LOCK_ENV, raising=False)
    lock = hold_for_tests(name)     # released when the holder ended
    assert lock is not None and os.environ[TEST_LOCK_ENV] == str(os.getpid())
    lock.close()


def test_another_cluster_name_is_not_held(name, monkeypatch):
    monkeypatch.delenv(TEST_LOCK_ENV, raising=False)
    child = _hold_in_child(name)
    try:
        lock = hold_for_tests(name + "-other")
        assert lock is not None
        lock.close()
        Path(lock_path_for_tests(name + "-other")).unlink(missing_ok=True)
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def test_a_descendant_of_the_holder_takes_nothing(name, monkeypatch):
    monkeypatch.setenv(TEST_LOCK_ENV, "1")
    assert hold_for_tests(name) is None


def _pytest(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=_env(WHYK8S_CLUSTER=name))


def test_a_pytest_run_that_needs_the_held_cluster_stops_before_any_test(name):
    child = _hold_in_child(name)
    try:
        run = _pytest(name, "tests/test_guard.py", "-m", "cluster")
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert f"Another test run is using the course cluster {name!r} (pid {child.pid}" in run.stdout + run.stderr
    assert " passed" not in run.stdout and " failed" not in run.stdout


def test_a_pytest_run_that_needs_no_cluster_is_not_stopped(name):
    child = _hold_in_child(name)
    try:
        run = _pytest(name, "tests/test_quantities.py", "-m", "not cluster")
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    assert run.returncode == 0, run.stdout + run.stderr
