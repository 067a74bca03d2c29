"""The workshop's hub, end to end: ``whyk8s workshop up`` prepares two participants on the course
cluster, the hub (JupyterHub, ``workshop/jupyterhub_config.py``) starts from a clean state, both log in
in a real browser (Debian's chromium through Playwright), each opens chapter 3, runs its cells up to the
launcher and the pod board, deploys a pod with the launcher and sees it Running on their board — and
never the other's pod, which the API server refuses to show them anyway. Then the hub stops and leaves
no process, no open port, no system user, no home. Meanwhile the instructor opens the dashboard as the
README and book/instructors.md say (``whyk8s workshop dashboard``: a JupyterLab of the instructor's on
127.0.0.1 with ``workshop/dashboard.ipynb``), runs it, and sees both participants' rows with their
Running pod. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest
from kubernetes import client, config

from browser import free_port, launch_chromium, listening, screenshot
from test_workshop_dashboard import expect_room, instructor_dashboard, open_dashboard

pytestmark = [pytest.mark.hub, pytest.mark.browser]
CHAPTER = "03-what-an-orchestrator-does.ipynb"
PASSWORD = "whyk8s-hub-test"
#: chapter 3's cells up to and including the pod board (the cell ids are the notebook's own)
BOARD_CELL = "8965e1ce"
PEOPLE = ("p01", "p02")


@pytest.fixture(scope="module")
def workshop_hub(course_cluster, tmp_path_factory):
    """Two participants from ``workshop.up`` and the hub serving them; yields (settings, kubeconfigs folder).
    Stops the hub with ``--purge`` and takes the workshop down afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the hub runs each participant's server as a system user of its own: it needs root")
    from whyk8s.cluster import hub, workshop

    try:
        hub.proxy_command()
    except Exception as exc:  # noqa: BLE001 - the reason is stated
        pytest.skip(f"{exc}")
    kubeconfigs = tmp_path_factory.mktemp("workshop-files")
    workshop.up(2, hours=1, out=kubeconfigs, context=course_cluster.context)
    homes = Path(tempfile.mkdtemp(prefix="whyk8s-hub-homes-"))
    homes.chmod(0o755)  # every participant's user passes through it to their own home
    settings = hub.HubSettings(participants_dir=kubeconfigs, state_dir=tmp_path_factory.mktemp("hub") / "state",
                               homes_dir=homes, password=PASSWORD, port=free_port(), hub_port=free_port(),
                               proxy_api_port=free_port(), lab_args="--LabApp.expose_app_in_browser=True")
    # a clean state: no user of an earlier hub, nothing listening where this one will
    assert hub.workshop_users() == []
    assert not any(listening(p) for p in (settings.port, settings.hub_port, settings.proxy_api_port))
    hub.start(settings, log=lambda *_: None)
    try:
        yield settings, kubeconfigs
    finally:
        try:
            hub.stop(settings, purge=True, log=lambda *_: None)
        finally:
            shutil.rmtree(homes, ignore_errors=True)
            workshop.down(out=kubeconfigs, context=course_cluster.context)


def _api(kubeconfigs: Path, participant: str) -> client.CoreV1Api:
    """The API as ``participant`` (their kubeconfig from ``workshop up``)."""
    return client.CoreV1Api(config.new_client_from_config(str(kubeconfigs / f"{participant}.kubeconfig")))


def _open_chapter_and_deploy(page, base: str, participant: str, pod: str):
    from playwright.sync_api import expect

    page.goto(f"{base}/hub/login")
    page.fill("input#username_input", participant)
    page.fill("input#password_input", PASSWORD)
    page.click("#login_submit")
    # the hub spawns their server and sends them to it
    page.wait_for_url(f"**/user/{participant}/lab/**", timeout=120_000)
    page.goto(f"{base}/user/{participant}/lab/tree/notebooks/{CHAPTER}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                           timeout=120_000)
    # run the cells above the one after the board (the launcher's and the board's included)
    page.evaluate(f"""() => {{
        const panel = window.jupyterapp.shell.currentWidget;
        const cells = panel.content.widgets;
        const board = cells.findIndex(c => c.model.id === '{BOARD_CELL}');
        panel.content.activeCellIndex = board + 1;
        return window.jupyterapp.commands.execute('notebook:run-all-above');
    }}""")
    deploy = page.locator("button.whyk8s-deploy").first
    expect(deploy).to_be_visible(timeout=180_000)
    board = page.locator(".whyk8s-board").first
    expect(board).to_be_visible(timeout=120_000)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=300_000)
    page.locator(".whyk8s-pod-name input").first.fill(pod)
    deploy.click()
    expect(board.locator("tr", has_text=pod).first).to_contain_text("Running", timeout=60_000)
    return board


def test_two_participants_each_see_only_their_own_pods(workshop_hub, course_cluster):
    from playwright.sync_api import expect, sync_playwright

    from whyk8s.cluster import hub
    from whyk8s.cluster.workshop import namespace_of
    from whyk8s.k8s.guard import connect

    settings, kubeconfigs = workshop_hub
    pods = {p: f"pod-of-{p}" for p in PEOPLE}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        boards, pages = {}, {}
        for p in PEOPLE:  # one browser context each: their own cookies, as two laptops
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(60_000)
            pages[p] = page
            boards[p] = _open_chapter_and_deploy(page, settings.url, p, pods[p])
        for p, other in (PEOPLE, PEOPLE[::-1]):
            # the other's pod exists (created after p01's board started watching) and is not on p's board
            expect(boards[p]).to_contain_text(pods[p])
            expect(boards[p]).not_to_contain_text(pods[other])
            boards[p].scroll_into_view_if_needed()
            screenshot(pages[p], f"hub-{p}-pod-board")
        # the instructor's dashboard, opened the documented way, shows both participants' Running pod
        with instructor_dashboard(course_cluster.context) as url:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            table = open_dashboard(page, url)
            expect_room(table, {p: 1 for p in PEOPLE})
            screenshot(page, "hub-instructor-dashboard")
        browser.close()

    # what the instructor sees: each pod in its participant's namespace, run by that participant's server
    instructor = connect(context=course_cluster.context, create_namespace=False)
    for p in PEOPLE:
        names = [o.metadata.name for o in instructor.core.list_namespaced_pod(namespace_of(p)).items]
        assert names == [pods[p]], (p, names)
    # each server ran as its participant's own system user
    users = {u.pw_name for u in hub.workshop_users()}
    assert users == {hub.system_user(p) for p in PEOPLE}
    # and the API server refuses a participant the other's namespace
    for p, other in (PEOPLE, PEOPLE[::-1]):
        api = _api(kubeconfigs, p)
        assert [o.metadata.name for o in api.list_namespaced_pod(namespace_of(p)).items] == [pods[p]]
        with pytest.raises(client.ApiException) as refused:
            api.list_namespaced_pod(namespace_of(other))
        assert refused.value.status == 403
        with pytest.raises(client.ApiException) as refused:
            api.delete_namespaced_pod(pods[other], namespace_of(other))
        assert refused.value.status == 403


def test_the_hub_stops_leaving_nothing(workshop_hub):
    """Runs after the browser test (file order): stopping with --purge leaves no process, port, user or home."""
    from whyk8s.cluster import hub

    settings, _ = workshop_hub
    homes = [Path(u.pw_dir) for u in hub.workshop_users()]
    assert hub.running(settings) and homes
    result = hub.stop(settings, purge=True, log=lambda *_: None)
    assert result["killed"] == [], result  # the hub stopped its servers and its proxy itself
    assert hub.hub_processes(settings) == []
    assert not any(listening(p) for p in (settings.port, settings.hub_port, settings.proxy_api_port))
    assert hub.workshop_users() == []
    for name in (hub.system_user(p) for p in PEOPLE):
        with pytest.raises(KeyError):
            pwd.getpwnam(name)
    assert not any(h.exists() for h in homes)
    assert not settings.state_dir.exists()
    assert not any(settings.homes_dir.iterdir())
