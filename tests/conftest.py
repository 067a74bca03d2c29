"""Shared fixtures. Cluster tests run against a real kube-apiserver (kwok simulates only nodes).

``WHYK8S_PROVIDER`` names the provider the cluster tests bring the course cluster up with: ``kwok``
(the default: a real control plane whose nodes kwok simulates) or ``kind`` (real nodes in Docker);
``make test`` runs the suite on kwok, then the kind part (``make test-kind``) with ``kind``. Tests
that need containers that really run carry the ``containers`` marker and are skipped, with the
reason, unless ``WHYK8S_PROVIDER=kind``. Tests that only make sense on kwok (they stop and restart kwokctl's
processes, or read its node Leases) carry the ``kwok`` marker and are skipped, with the reason, when
``WHYK8S_PROVIDER`` is anything else.

``course_cluster`` (session) brings the course cluster up through that provider: idempotent, seconds
when it is already up, and it restores nodes a previous test deleted. ``cluster`` (function) gives a
connection to the course namespace with no course object left before or after the test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from whyk8s.k8s.guard import connect
from whyk8s.k8s.objects import cleanup

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    provider = os.environ.get("WHYK8S_PROVIDER", "kwok")
    for item in items:
        if "course_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)
        if provider != "kwok" and item.get_closest_marker("kwok"):
            item.add_marker(pytest.mark.skip(reason=f"kwok only, and WHYK8S_PROVIDER={provider}"))
        if provider != "kind" and (item.get_closest_marker("containers") or item.get_closest_marker("kind")):
            item.add_marker(pytest.mark.skip(reason=f"needs kind (containers that run), and "
                                                    f"WHYK8S_PROVIDER={provider}"))


@pytest.fixture(scope="session")
def course_cluster():
    from whyk8s.cluster.providers import get_provider
    provider = get_provider(os.environ.get("WHYK8S_PROVIDER", "kwok"))
    cluster = provider.up(log=lambda *_: None)
    yield cluster
    cleanup(cluster)


@pytest.fixture
def cluster(course_cluster):
    from whyk8s.cluster.workers import restore_nodes
    c = connect(context=course_cluster.context)
    cleanup(c)
    restore_nodes(c, log=lambda *_: None)
    yield c
    cleanup(c)
    restore_nodes(c, log=lambda *_: None)


def _kubeconfig_for(context_name: str, source_context: str) -> dict:
    """A kubeconfig whose only context, ``context_name``, reaches the cluster of ``source_context``."""
    from kubernetes.config.kube_config import KUBE_CONFIG_DEFAULT_LOCATION
    path = os.path.expanduser(os.environ.get("KUBECONFIG", KUBE_CONFIG_DEFAULT_LOCATION).split(os.pathsep)[0])
    cfg = yaml.safe_load(Path(path).read_text())
    ctx = next(c for c in cfg["contexts"] if c["name"] == source_context)["context"]
    cl = next(c for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    us = next(u for u in cfg["users"] if u["name"] == ctx["user"])
    return {"apiVersion": "v1", "kind": "Config", "current-context": context_name,
            "clusters": [{"name": context_name, "cluster": cl["cluster"]}],
            "users": [{"name": context_name, "user": us["user"]}],
            "contexts": [{"name": context_name, "context": {"cluster": context_name, "user": context_name}}]}


@pytest.fixture
def foreign_kubeconfig(course_cluster, tmp_path, monkeypatch):
    """Path of a kubeconfig whose current context is ``production`` (pointing, harmlessly, at the
    course's API server), with ``KUBECONFIG`` set to it for the test."""
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(_kubeconfig_for("production", course_cluster.context)))
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    return path


@pytest.fixture
def make_kubeconfig(course_cluster):
    """``make_kubeconfig(context_name)`` → kubeconfig dict reaching the course API server."""
    return lambda name: _kubeconfig_for(name, course_cluster.context)


@pytest.fixture
def shell(tmp_path_factory, monkeypatch):
    """The process's IPython shell (history in memory) with the course's error handler installed the
    way a chapter's first cell installs it (in-process, no kernel); the handler and what it remembers
    (names left undefined, failed cells, demonstrations) are reset before and after."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from whyk8s.notebook import display
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    sh = InteractiveShell.instance(config=config)
    memories = (display._undefined, display._failed_cells, display._demonstration_names)
    for memory in memories:
        memory.clear()
    assert display.install_error_handler()
    before = set(sh.user_ns)
    yield sh
    sh.set_custom_exc((), None)
    for memory in memories:
        memory.clear()
    for name in set(sh.user_ns) - before:  # what the test's cells defined
        sh.user_ns.pop(name, None)
