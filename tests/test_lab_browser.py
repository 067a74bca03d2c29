"""JupyterLab in a real browser with the course cluster up: run the orchestration chapter, deploy a
pod with the PodLauncher, see it reach Running in the PodBoard, see an invalid name refused in
place, clean up and see the board empty; restart the kernel and see each old widget say it lost its
kernel. Screenshots go to artifacts/screenshots/ (printed)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser import ROOT, launch_chromium, screenshot

pytestmark = pytest.mark.browser
CHAPTER = "03-what-an-orchestrator-does.ipynb"
TOKEN = "whyk8s-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(course_cluster, tmp_path_factory):
    """JupyterLab serving a scratch copy of the chapters (so the run never rewrites committed
    notebooks), with the app exposed to the page for commands. Yields the base URL."""
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    settings = root / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    proc = subprocess.Popen(
        [str(bin_dir / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}",
         "--LabApp.expose_app_in_browser=True", "--ServerApp.allow_root=True",
         f"--LabApp.workspaces_dir={root / 'workspaces'}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1",
                                                   "JUPYTERLAB_SETTINGS_DIR": str(root / "user-settings")})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                proc.kill()
                pytest.fail(f"JupyterLab did not start:\n{out[-3000:]}")
            time.sleep(0.5)
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_orchestration_chapter_in_jupyterlab(jupyterlab, course_cluster):
    from playwright.sync_api import expect, sync_playwright

    from whyk8s.k8s.objects import course_objects

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{jupyterlab}/lab/tree/notebooks/{CHAPTER}?token={TOKEN}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

        launcher_name = page.locator(".whyk8s-pod-name input").first
        deploy = page.locator("button.whyk8s-deploy").first
        status = page.locator(".whyk8s-status").first
        board = page.locator(".whyk8s-board").first
        cleanup = page.locator("button.whyk8s-cleanup").first
        expect(deploy).to_be_visible(timeout=180_000)
        # let the chapter's own cells finish before driving the widgets
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=300_000)

        launcher_name.scroll_into_view_if_needed()
        launcher_name.fill("browser-pod")
        deploy.click()
        expect(board).to_contain_text("browser-pod", timeout=30_000)
        row = board.locator("tr", has_text="browser-pod").first
        expect(row).to_contain_text("Running", timeout=30_000)
        board.scroll_into_view_if_needed()
        screenshot(page, "jupyterlab-pod-running")

        launcher_name.fill("Bad_Name")
        deploy.click()
        expect(status).to_contain_text("not a valid Kubernetes name", timeout=10_000)
        status.scroll_into_view_if_needed()
        screenshot(page, "jupyterlab-invalid-name")

        cleanup.scroll_into_view_if_needed()
        cleanup.click()
        expect(board).not_to_contain_text("browser-pod", timeout=60_000)
        screenshot(page, "jupyterlab-after-cleanup")

        # learner-ux #8: after a kernel restart the old widgets say they lost their kernel
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
        stale = page.locator(".whyk8s-widget.jupyter-widgets-disconnected").first
        expect(stale).to_be_attached(timeout=60_000)
        note = stale.evaluate("el => getComputedStyle(el, '::after').content")
        assert "lost its kernel" in note and "Run this cell again" in note, note
        stale.scroll_into_view_if_needed()
        screenshot(page, "jupyterlab-widget-after-restart")
        browser.close()
    assert course_objects(course_cluster, include_namespaces=True) == []
