"""The instructor's dashboard, opened the way the README and book/instructors.md say: ``whyk8s workshop
dashboard`` starts a JupyterLab of the instructor's (their kubeconfig) on 127.0.0.1 with
``workshop/dashboard.ipynb``; in a real browser (Debian's chromium through Playwright) the instructor
runs its cell and sees one row per participant, live: here two participants each create a pod with
their own kubeconfig, and the table shows each one's Running pod, then a third pod of p02's as it
comes. tests/test_hub_browser.py opens the same route beside the hub. A participant's context is
refused. Screenshot: artifacts/screenshots/instructor-dashboard.png."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from browser import free_port, launch_chromium, listening, screenshot

pytestmark = [pytest.mark.browser]


@contextlib.contextmanager
def instructor_dashboard(context: str):
    """``whyk8s workshop dashboard`` as the instructor runs it (their kubeconfig: this process's), on a
    free port, with the app exposed to the page for the test; yields the URL it printed. Stops it
    (SIGTERM to its process group) and checks its port is free again."""
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "whyk8s"), "workshop", "dashboard", "--context", context,
           "--port", str(port), "--lab-args=--LabApp.expose_app_in_browser=True"]
    log = tempfile.NamedTemporaryFile("w+", prefix="whyk8s-dashboard-", suffix=".log")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, (line, Path(log.name).read_text()[-2000:])
        url = next(w for w in line.split() if w.startswith("http://127.0.0.1:"))
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        assert not listening(port)


def open_dashboard(page, url: str):
    """Open the dashboard's URL, run its cell, and return the live table (a Playwright locator)."""
    from playwright.sync_api import expect
    page.goto(url)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                           timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    table = page.locator("table.whyk8s-workshop").first
    expect(table).to_be_visible(timeout=120_000)
    return table


def expect_room(table, running: dict[str, int]):
    """Each participant of ``running`` has a row whose running-pods cell says that number."""
    from playwright.sync_api import expect
    for p, n in running.items():
        row = table.locator("tr.whyk8s-participant", has_text=p).first
        expect(row).to_be_visible(timeout=60_000)
        expect(row.locator("td").nth(2)).to_have_text(str(n), timeout=60_000)


def test_instructor_dashboard_shows_every_participant_live(course_cluster, tmp_path):
    from playwright.sync_api import sync_playwright

    from whyk8s.cluster import workshop
    from whyk8s.k8s import specs
    from whyk8s.k8s.guard import connect
    instructor = connect(context=course_cluster.context)
    workshop.down(cluster=instructor, out=tmp_path)
    result = workshop.up(2, hours=1, out=tmp_path, cluster=instructor)
    people = {p: connect(kubeconfig=str(workshop.kubeconfig_path(result.context, p, result.folder)))
              for p in result.participants}
    try:
        for p, cluster in people.items():
            cluster.core.create_namespaced_pod(cluster.namespace, specs.pod(f"pod-of-{p}"))
        with sync_playwright() as pw, instructor_dashboard(course_cluster.context) as url:
            browser = launch_chromium(pw)
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            table = open_dashboard(page, url)
            expect_room(table, {"p01": 1, "p02": 1})
            people["p02"].core.create_namespaced_pod(people["p02"].namespace, specs.pod("another"))
            expect_room(table, {"p01": 1, "p02": 2})  # live: from the watch, no reload
            screenshot(page, "instructor-dashboard")
            browser.close()
    finally:
        workshop.down(cluster=instructor, out=tmp_path)


def test_dashboard_refuses_a_participants_context(course_cluster, tmp_path, monkeypatch):
    from whyk8s.cluster import dashboard, workshop
    from whyk8s.errors import CourseError
    from whyk8s.k8s.guard import connect
    instructor = connect(context=course_cluster.context)
    result = workshop.up(1, hours=1, out=tmp_path, cluster=instructor)
    try:
        monkeypatch.setenv("KUBECONFIG", str(workshop.kubeconfig_path(result.context, "p01", result.folder)))
        with pytest.raises(CourseError, match="participant's"):
            dashboard.serve(port=free_port(), log=lambda *_a, **_k: None)
    finally:
        workshop.down(cluster=instructor, out=tmp_path)
