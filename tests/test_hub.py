"""The workshop hub's configuration, without starting it: who may log in, what each server is given,
where things go (the hub itself is tested end to end in tests/test_hub_browser.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from traitlets.config import Config

from whyk8s.cluster import hub
from whyk8s.errors import CourseError


def _settings(tmp_path, **kw):
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    for p in ("p01", "p02"):
        (ws / f"{p}.kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    (ws / "cards.html").write_text("")
    values = {"participants_dir": ws, "state_dir": tmp_path / "state", "homes_dir": tmp_path / "homes",
              "password": "a-shared-one", **kw}
    return hub.HubSettings(**values)


def test_participants_are_the_kubeconfigs_workshop_up_wrote(tmp_path):
    s = _settings(tmp_path)
    (s.participants_dir / "notes.kubeconfig").write_text("")  # not a participant's name
    assert hub.participants(s.participants_dir) == ["p01", "p02"]
    assert hub.participant_kubeconfig(s.participants_dir, "p02") == s.participants_dir / "p02.kubeconfig"


def test_no_participant_is_a_sentence_saying_to_run_workshop_up(tmp_path):
    with pytest.raises(CourseError, match="workshop up"):
        hub.participants(tmp_path / "nothing-here")


def test_system_users_are_named_after_participants_only():
    assert hub.system_user("p07") == "whyk8s-p07"
    for bad in ("root", "p1", "p01; rm -rf /", "../p01"):
        with pytest.raises(ValueError):
            hub.system_user(bad)


def test_settings_travel_to_the_config_file_through_the_environment(tmp_path):
    s = _settings(tmp_path, port=18000, lab_args="--LabApp.expose_app_in_browser=True")
    back = hub.HubSettings.from_env(s.to_env())
    assert back == s and back.port == 18000 and back.lab_args == s.lab_args and back.url == "http://127.0.0.1:18000"
    with pytest.raises(CourseError, match="make hub"):
        hub.HubSettings.from_env({})


def test_configure_lets_in_the_participants_only_with_the_shared_password(tmp_path, monkeypatch):
    s = _settings(tmp_path)
    proxy = tmp_path / "chp"
    monkeypatch.setattr(hub, "proxy_command", lambda checkout=None: proxy)
    monkeypatch.setattr(hub, "participant_python", lambda settings: tmp_path / "python")
    c = Config()
    hub.configure(c, s)
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "a-shared-one"
    assert c.Authenticator.allowed_users == {"p01", "p02"}
    assert c.Authenticator.allow_existing_users is False
    assert c.JupyterHub.spawner_class == "whyk8s.cluster.hubspawner.WorkshopSpawner"
    assert c.Spawner.cmd == [str(tmp_path / "python"), "-m", "jupyterhub.singleuser"]
    assert c.ConfigurableHTTPProxy.command == [str(proxy)]
    assert not {"KUBECONFIG", "WHYK8S_ALLOW_CONTEXT", "PYTHONPATH", "PATH"} & set(c.Spawner.env_keep)
    assert str(s.state_dir) in c.JupyterHub.db_url and c.JupyterHub.hub_ip == "127.0.0.1"
    with pytest.raises(CourseError, match="8 characters"):
        hub.configure(Config(), _settings(tmp_path, password="short"))


def test_a_participants_server_gets_their_kubeconfig_and_the_checkouts_course(tmp_path, monkeypatch):
    s = _settings(tmp_path)
    monkeypatch.setattr(hub, "participant_python", lambda settings: tmp_path / "pv" / "bin" / "python")
    env = hub.participant_env("p01", tmp_path / "homes" / "whyk8s-p01", s)
    assert env["KUBECONFIG"] == str(tmp_path / "homes" / "whyk8s-p01" / ".kube" / "config")
    assert env["PYTHONPATH"] == str(s.checkout / "src") and env["WHYK8S_PARTICIPANT"] == "p01"
    assert env["PATH"].startswith(str(tmp_path / "pv" / "bin") + ":")


def test_start_refuses_without_root(tmp_path, monkeypatch):
    monkeypatch.setattr(hub.os, "geteuid", lambda: 1000)
    with pytest.raises(CourseError, match="root"):
        hub.start(_settings(tmp_path))


def test_a_second_workshops_hub_on_the_machine_is_refused(tmp_path, monkeypatch):
    # the system users whyk8s-pNN are per machine: a hub of another context running means one workshop already
    monkeypatch.setattr(hub.os, "geteuid", lambda: 0)
    s = _settings(tmp_path, state_dir=tmp_path / "hub" / "kwok-mine")
    other = tmp_path / "hub" / "kind-other"
    other.mkdir(parents=True)
    (other / "hub.pid").write_text(f"{os.getpid()}\n")  # a live process
    assert hub.other_hubs(s) == [(other, os.getpid())]
    with pytest.raises(CourseError, match="one machine serves one workshop at a time"):
        hub.start(s)
    (other / "hub.pid").write_text("999999999\n")  # gone: no longer in the way
    assert hub.other_hubs(s) == []


@pytest.mark.hub  # not a unit test: it creates a system user (make unit runs in a user namespace)
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: it creates a system user")
def test_a_link_planted_in_a_participants_home_never_makes_root_write_through_it(tmp_path):
    """A participant owns their home: a ``~/.kube/config`` link to a root file must not let the hub
    (root) overwrite or chown that file at the next start (it once did: root wrote and chowned
    through the link)."""
    from whyk8s.cluster.hub import HubSettings, ensure_system_user, prepare_home, system_user
    import shutil
    import tempfile
    participants = tmp_path / "participants"
    participants.mkdir()
    homes = Path(tempfile.mkdtemp(prefix="whyk8s-homes-"))  # the participant must reach their home
    homes.chmod(0o755)
    (participants / "p98.kubeconfig").write_text("apiVersion: v1\\nkind: Config\\n")
    victim = tmp_path / "root-only"
    victim.write_text("root's\\n")
    victim.chmod(0o644)
    settings = HubSettings(participants_dir=participants, state_dir=tmp_path / "state", homes_dir=homes)
    subprocess.run(["userdel", system_user("p98")], capture_output=True)  # left by an interrupted run
    user = ensure_system_user("p98", homes)
    try:
        home = Path(user.pw_dir)
        (home / ".kube").mkdir()
        os.chown(home / ".kube", user.pw_uid, user.pw_gid)
        (home / ".kube" / "config").symlink_to(victim)
        config = prepare_home("p98", settings)
        assert victim.read_text() == "root's\\n" and victim.stat().st_uid == 0
        assert not config.is_symlink() and config.read_text() == "apiVersion: v1\\nkind: Config\\n"
        assert config.stat().st_uid == user.pw_uid and (config.stat().st_mode & 0o777) == 0o600
    finally:
        subprocess.run(["userdel", system_user("p98")], capture_output=True)
        shutil.rmtree(homes)


def test_no_secret_goes_on_a_servers_command_line(tmp_path, monkeypatch):
    """Every participant's `ps` shows every server's command line (LocalProcessSpawner, one machine):
    the command and arguments the hub gives hold no password or token, and extra arguments naming
    one are refused. (JupyterHub ≥ 2 builds no arguments but ``Spawner.cmd`` and ``Spawner.args``, and
    hands the server its API token in ``JUPYTERHUB_API_TOKEN``, the proxy its token in
    ``CONFIGPROXY_AUTH_TOKEN``.)"""
    monkeypatch.setattr(hub, "proxy_command", lambda checkout=None: tmp_path / "chp")
    monkeypatch.setattr(hub, "participant_python", lambda settings: tmp_path / "python")
    s = _settings(tmp_path, lab_args="--LabApp.expose_app_in_browser=True")
    c = Config()
    hub.configure(c, s)
    line = " ".join([*c.Spawner.cmd, *c.Spawner.args, *c.ConfigurableHTTPProxy.command])
    assert s.password not in line and "token" not in line.lower(), line
    with pytest.raises(CourseError, match="token, password or secret"):
        hub.configure(Config(), _settings(tmp_path, lab_args="--ServerApp.token=abc"))
