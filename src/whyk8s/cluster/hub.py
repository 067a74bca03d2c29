"""The workshop's hub: JupyterHub on one machine, one single-user JupyterLab per participant.

``make hub`` (``python -m whyk8s.cluster.hub start``) starts JupyterHub 6 with the course's
configuration (``workshop/jupyterhub_config.py``, which calls :func:`configure`):

- **who may log in**: the participants ``whyk8s workshop up`` prepared (``p01`` … ``pNN``, read from
  the kubeconfig files it wrote: :func:`participants`) and no one else (``Authenticator.allowed_users``),
  each with the workshop's one shared password (JupyterHub's built-in ``SharedPasswordAuthenticator``,
  which checks the password in constant time and refuses one shorter than 8 characters). A
  per-participant password would have to be printed on each card and typed from it; the allow-list
  already stops a typo from creating a stray user without a kubeconfig;
- **what each gets**: their own JupyterLab (``jupyterhub-singleuser`` from the course's virtual
  environment) run by :class:`whyk8s.cluster.hubspawner.WorkshopSpawner` as a system user of their
  own (``whyk8s-p01`` …, :func:`system_user`) with a private home (mode 0700) holding a copy of the
  course's ``notebooks/`` and ``labs/`` and their kubeconfig (``~/.kube/config``, mode 0600, copied at
  every start, so a token renewed by ``workshop up --renew`` reaches them). One system user each is
  what makes the RBAC fence mean something on one machine: processes of one user cannot read another's
  token (the hub runs as root for that: JupyterHub's ``LocalProcessSpawner`` switches user);
- **the proxy**: configurable-http-proxy from npm, installed by ``make hub-proxy`` into
  ``workshop/node_modules`` (kept out of git).

``python -m whyk8s.cluster.hub stop`` stops the hub, which stops every participant's server and the
proxy (JupyterHub's ``cleanup_servers`` and ``cleanup_proxy``), then kills any process a participant's
user still runs, and checks that no process of the hub's is left and its ports are free;
``--purge`` also removes the participants' system users, their homes (their work) and the hub's state.

The hub's state (its database, cookie secret, password, log, pid files) goes to
``~/.whyk8s/hub/<context>/``; the participants' homes to ``/home/whyk8s-<p>`` (``--homes``: a folder every
participant can traverse, so not under ``/root``).
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from whyk8s.errors import CourseError
from whyk8s.paths import repo_root

__all__ = ["HubSettings", "SYSTEM_USER_PREFIX", "SYSTEM_USER_COMMENT", "participant_kubeconfig", "participants",
           "system_user", "configure", "proxy_command", "start", "stop", "running", "hub_processes",
           "workshop_users", "participant_python", "main"]

#: Prefix of the participants' system users (``whyk8s-p01``).
SYSTEM_USER_PREFIX = "whyk8s-"
#: The GECOS field of every system user the hub creates: how :func:`workshop_users` finds them (and
#: how the hub refuses to take over a user it did not create).
SYSTEM_USER_COMMENT = "whyk8s workshop participant"
#: Where a participant's JupyterLab opens.
DEFAULT_URL = "/lab/tree/notebooks/00-start-here.ipynb"
#: What a participant's home gets from the checkout (``labs/solutions`` left out).
COURSE_FOLDERS = ("notebooks", "labs")
#: The participants' venv, in the homes' folder, when the course's Python is private (:func:`participant_python`).
PARTICIPANT_VENV = "whyk8s-participant-venv"
_PARTICIPANT = re.compile(r"^p[0-9]{2,3}$")
_ENV_PREFIX = "WHYK8S_HUB_"


@dataclass
class HubSettings:
    """Where the hub finds and keeps things, and where it listens.

    ``participants_dir``: the folder ``whyk8s workshop up`` wrote the kubeconfigs to
    (``<participant>.kubeconfig``). ``state_dir``: the hub's own files. ``homes_dir``: the parent of the
    participants' homes. ``ip``/``port``: where participants' browsers reach the hub (``0.0.0.0`` to
    serve the room); ``hub_port`` and ``proxy_api_port``: the hub's and the proxy's internal ports, on
    127.0.0.1. ``password``: the shared password (at least 8 characters). ``checkout``: the course
    checkout whose ``src/``, ``notebooks/``, ``labs/`` the participants use. ``lab_args``: extra
    options for every participant's JupyterLab, space-separated (the browser test exposes the app)."""

    participants_dir: Path
    state_dir: Path
    homes_dir: Path = Path("/home")
    password: str = ""
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    checkout: Path = field(default_factory=repo_root)
    lab_args: str = ""

    def __post_init__(self):
        for f in fields(self):
            if f.type in ("Path", Path):
                setattr(self, f.name, Path(getattr(self, f.name)).resolve())
            elif f.type in ("int", int):
                setattr(self, f.name, int(getattr(self, f.name)))

    @property
    def url(self) -> str:
        """The hub's URL on this machine."""
        host = "127.0.0.1" if self.ip in ("", "0.0.0.0") else self.ip
        return f"http://{host}:{self.port}"

    def to_env(self) -> dict[str, str]:
        """The settings as ``WHYK8S_HUB_*`` variables, how :func:`start` hands them to the config file."""
        return {_ENV_PREFIX + k.upper(): str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_env(cls, env=None) -> HubSettings:
        """The settings :func:`start` put in the environment. Raises CourseError when they are missing
        (the config file was given to ``jupyterhub`` by hand)."""
        env = os.environ if env is None else env
        values = {f.name: env[_ENV_PREFIX + f.name.upper()] for f in fields(cls) if _ENV_PREFIX + f.name.upper() in env}
        if "participants_dir" not in values or "state_dir" not in values:
            raise CourseError("Start the workshop's hub with `make hub` (python -m whyk8s.cluster.hub start): "
                              "it finds the participants' kubeconfigs and sets WHYK8S_HUB_* for this file.")
        return cls(**values)


# -- participants ----------------------------------------------------------------------------------
def participant_kubeconfig(participants_dir: Path, participant: str) -> Path:
    """The kubeconfig ``whyk8s workshop up`` wrote for ``participant``: ``<participants_dir>/<p>.kubeconfig``
    (:func:`whyk8s.cluster.workshop.up`, ``files_dir``)."""
    return Path(participants_dir) / f"{participant}.kubeconfig"


def participants(participants_dir: Path) -> list[str]:
    """The participants with a kubeconfig in ``participants_dir`` (``p01`` …), sorted. Raises
    CourseError when there is none (``whyk8s workshop up`` has not run for this cluster)."""
    folder = Path(participants_dir)
    found = sorted(p.stem for p in folder.glob("*.kubeconfig") if _PARTICIPANT.match(p.stem)) if folder.is_dir() else []
    if not found:
        raise CourseError(f"No participant's kubeconfig in {folder}: run `whyk8s workshop up --participants N` "
                          f"first (the hub lets in the participants it prepared).")
    return found


def system_user(participant: str) -> str:
    """The system user that runs ``participant``'s server: ``whyk8s-<participant>``."""
    if not _PARTICIPANT.match(participant):
        raise ValueError(f"Not a workshop participant's name: {participant!r} (p01, p02, …).")
    return SYSTEM_USER_PREFIX + participant


def workshop_users() -> list[pwd.struct_passwd]:
    """The system users the hub created (found by :data:`SYSTEM_USER_COMMENT`)."""
    return sorted((u for u in pwd.getpwall()
                   if u.pw_name.startswith(SYSTEM_USER_PREFIX) and u.pw_gecos == SYSTEM_USER_COMMENT),
                  key=lambda u: u.pw_name)


def ensure_system_user(participant: str, homes_dir: Path) -> pwd.struct_passwd:
    """Create ``participant``'s system user (``useradd --system``, its own group, home
    ``<homes_dir>/whyk8s-<p>`` with mode 0700) unless it exists; return its passwd entry. Raises CourseError
    when a user of that name exists that the hub did not create."""
    name = system_user(participant)
    home = Path(homes_dir) / name
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", str(home),
                        "--shell", "/bin/bash", "--comment", SYSTEM_USER_COMMENT, name],
                       check=True, capture_output=True, text=True)
        user = pwd.getpwnam(name)
    if user.pw_gecos != SYSTEM_USER_COMMENT:
        raise CourseError(f"The system user {name} exists and was not made by the workshop's hub: "
                          f"the hub leaves it alone. Remove it, or run the hub on another machine.")
    home = Path(user.pw_dir)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, user.pw_uid, user.pw_gid)
    home.chmod(0o700)
    return user


def prepare_home(participant: str, settings: HubSettings) -> Path:
    """Make ``participant``'s home ready for a start: their system user (:func:`ensure_system_user`), the
    course's notebooks and labs copied in once (later starts keep the participant's edits), and their
    kubeconfig copied to ``~/.kube/config`` (mode 0600) every time. Returns the kubeconfig's path there.
    Raises CourseError when the participant has no kubeconfig."""
    source = participant_kubeconfig(settings.participants_dir, participant)
    if not source.is_file():
        raise CourseError(f"{participant} has no kubeconfig ({source}): run `whyk8s workshop up` again.")
    user = ensure_system_user(participant, settings.homes_dir)
    home = Path(user.pw_dir)

    def own(path: Path):
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)

    for folder in COURSE_FOLDERS:
        target = home / folder
        if not os.path.lexists(target):  # copied once, by root, into a fresh folder: no link of theirs in it
            shutil.copytree(settings.checkout / folder, target,
                            ignore=shutil.ignore_patterns("solutions", ".ipynb_checkpoints", "__pycache__"))
            own(target)
            for root, dirs, files in os.walk(target):
                for n in dirs + files:
                    own(Path(root) / n)
    # The home is the participant's: anything in it may be a link they planted (~/.kube/config ->
    # /etc/passwd). So the kubeconfig is written *as the participant*, never by root: a link then
    # leads only where they could write anyway, and `mv` replaces a link instead of following it.
    config = home / ".kube" / "config"
    script = ('umask 077 && mkdir -p "$HOME/.kube" && chmod 700 "$HOME/.kube" && '
              'cat > "$HOME/.kube/.config.new" && mv -f "$HOME/.kube/.config.new" "$HOME/.kube/config"')
    done = subprocess.run(["/bin/sh", "-c", script], input=source.read_bytes(), capture_output=True,
                          user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                          env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, cwd=home)
    if done.returncode != 0:
        raise CourseError(f"{participant}'s kubeconfig could not be written into {config}: "
                          f"{done.stderr.decode(errors='replace').strip()}")
    return config


def participant_env(participant: str, home: Path, settings: HubSettings) -> dict[str, str]:
    """What a participant's server gets beyond JupyterHub's own variables: ``KUBECONFIG`` (their
    kubeconfig, whose context ``whyk8s-workshop-<p>`` the course's guard accepts and whose namespace the
    course uses), the checkout (``WHYK8S_HOME``, ``PYTHONPATH``), the course's JupyterLab settings
    and the course venv's Jupyter files (``JUPYTER_CONFIG_PATH``, ``JUPYTER_PATH``),
    ``WHYK8S_PARTICIPANT``, and the participants' Python's folder, then the course venv's, first on ``PATH``.
    Of the instructor's environment only the locale is passed (``Spawner.env_keep``, :func:`configure`)."""
    venv_bin = Path(sys.executable).parent
    own_bin = participant_python(settings).parent
    return {"KUBECONFIG": str(home / ".kube" / "config"), "WHYK8S_HOME": str(settings.checkout),
            "PYTHONPATH": str(settings.checkout / "src"),
            # the course's JupyterLab settings, then the course venv's (which enable JupyterLab and the
            # widgets when the participants' Python is a venv of its own: participant_python)
            "JUPYTER_CONFIG_PATH": f"{settings.checkout / 'etc' / 'jupyter'}:{sys.prefix}/etc/jupyter",
            "JUPYTER_PATH": f"{sys.prefix}/share/jupyter",
            "WHYK8S_PARTICIPANT": participant,
            "PATH": f"{own_bin}:{venv_bin}:/usr/local/bin:/usr/bin:/bin"}



# -- the participants' Python ---------------------------------------------------------------------------
def _others_can_run(path: Path) -> bool:
    """True when a user other than the owner can execute ``path`` (every folder on the way searchable)."""
    path = Path(os.path.realpath(path))
    if not path.stat().st_mode & 0o001:
        return False
    return all(p.stat().st_mode & 0o001 for p in path.parents)


def participant_python(settings: HubSettings) -> Path:
    """The Python that runs the participants' servers and kernels, with the course's packages.

    The course's virtual environment's own interpreter when every user can run it. Otherwise (a venv
    made from a Python in a private folder, e.g. pyenv under ``/root``) a small venv beside the
    participants' homes (``<homes>/whyk8s-participant-venv``, which ``stop --purge`` removes), made from
    the system's Python of the same minor version, that adds the course venv's ``site-packages`` (a
    ``.pth`` file), so nothing is installed twice. Raises CourseError when no such Python is found."""
    venv_python = Path(sys.executable)
    if _others_can_run(venv_python):
        return venv_python
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [Path(f"/usr/bin/python{version}"), Path(f"/usr/local/bin/python{version}")]
    system = next((c for c in candidates if c.exists() and _others_can_run(c)), None)
    if system is None:
        raise CourseError(f"The course's Python ({os.path.realpath(venv_python)}) is in a folder the "
                          f"participants' users cannot enter, and no system Python {version} was found: make "
                          f"the course's venv from a Python every user can run (python{version} -m venv .venv).")
    target = settings.homes_dir / PARTICIPANT_VENV
    python = target / "bin" / "python"
    site = sysconfig_purelib(target, version)
    pth = site / "whyk8s-course-venv.pth"
    course_site = Path(sysconfig.get_paths()["purelib"])
    line = f"import site; site.addsitedir({str(course_site)!r})\n"
    if not python.exists():
        subprocess.run([str(system), "-m", "venv", "--without-pip", str(target)], check=True,
                       capture_output=True, text=True)
    if not pth.is_file() or pth.read_text() != line:
        pth.write_text(line)
    return python


def sysconfig_purelib(venv: Path, version: str) -> Path:
    """``site-packages`` of a venv at ``venv`` for Python ``version`` (POSIX layout)."""
    return venv / "lib" / f"python{version}" / "site-packages"

# -- the configuration -----------------------------------------------------------------------------
def proxy_command(checkout: Path | None = None) -> Path:
    """configurable-http-proxy as ``make hub-proxy`` installs it. Raises CourseError when it is missing."""
    path = Path(checkout or repo_root()) / "workshop" / "node_modules" / ".bin" / "configurable-http-proxy"
    if not path.exists():
        raise CourseError(f"configurable-http-proxy is not installed ({path}): run `make hub-proxy` "
                          f"(npm installs it into workshop/node_modules).")
    return path


def configure(c, settings: HubSettings) -> None:
    """Fill JupyterHub's config object ``c`` (``get_config()`` in ``workshop/jupyterhub_config.py``)."""
    state = settings.state_dir
    names = participants(settings.participants_dir)
    if len(settings.password) < 8:
        raise CourseError("The workshop's shared password must have at least 8 characters.")
    c.JupyterHub.ip = settings.ip
    c.JupyterHub.port = settings.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings.hub_port
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.cleanup_proxy = True
    c.ConfigurableHTTPProxy.command = [str(proxy_command(settings.checkout))]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = settings.password
    c.Authenticator.allowed_users = set(names)
    # a user removed from the workshop (a smaller `up` after `down`) must not log in from the database
    c.Authenticator.allow_existing_users = False
    c.JupyterHub.spawner_class = "whyk8s.cluster.hubspawner.WorkshopSpawner"
    c.WorkshopSpawner.participants_dir = str(settings.participants_dir)
    c.WorkshopSpawner.homes_dir = str(settings.homes_dir)
    c.WorkshopSpawner.checkout = str(settings.checkout)
    c.Spawner.cmd = [str(participant_python(settings)), "-m", "jupyterhub.singleuser"]
    # of the hub's (the instructor's) environment, only the locale: never their KUBECONFIG or WHYK8S_*
    c.Spawner.env_keep = ["LANG", "LC_ALL", "TZ"]
    # every participant's `ps` shows every server's command line (one machine): no secret may be there
    if re.search(r"token|password|secret", settings.lab_args, re.IGNORECASE):
        raise CourseError("The servers' extra arguments (HubSettings.lab_args) name a token, password or secret: every "
                          "participant's `ps` shows command lines on this machine; pass secrets another way.")
    c.Spawner.args = settings.lab_args.split()
    c.Spawner.default_url = DEFAULT_URL
    c.Spawner.notebook_dir = "~"
    # two cores shared by a room: a server may take a while to import JupyterLab
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120


# -- start and stop --------------------------------------------------------------------------------
def default_settings(context: str | None = None, **overrides) -> HubSettings:
    """Settings for the workshop on ``context`` (default: the current, guard-checked one): the
    participants' folder :func:`whyk8s.cluster.workshop.files_dir` of that context, the state in
    ``~/.whyk8s/hub/<context>``, the password kept there (made once, 12 random characters) unless given."""
    from whyk8s.cluster.workshop import _connect, files_dir
    context = _connect(context).context  # the guard's check, as `workshop up` made it
    state = Path.home() / ".whyk8s" / "hub" / context
    values = {"participants_dir": files_dir(context), "state_dir": state, **{k: v for k, v in overrides.items()
                                                                            if v is not None}}
    if not values.get("password"):
        values["password"] = _stored_password(Path(values["state_dir"]))
    return HubSettings(**values)


def _stored_password(state: Path) -> str:
    path = state / "password"
    if path.is_file():
        return path.read_text().strip()
    state.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(9)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return password


def _pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def running(settings: HubSettings) -> int | None:
    """The pid of the hub started with ``settings``, or None."""
    return _pid(settings.state_dir / "hub.pid")


def _responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(settings: HubSettings, timeout: float = 90, log=print) -> int:
    """Start the hub in the background (its own session; output to ``<state>/jupyterhub.log``) and wait
    until it answers on ``/hub/health``; return its pid. Raises CourseError when not root (each participant's
    server runs as their own system user), when it is already running, or when it does not answer within
    ``timeout`` seconds (the log's end is in the message)."""
    if os.geteuid() != 0:
        raise CourseError("The workshop's hub runs each participant's server as a system user of their own, "
                          "so it must be started as root (sudo make hub).")
    if running(settings):
        raise CourseError(f"The hub is already running (pid {running(settings)}, {settings.url}); "
                          f"`make hub-stop` stops it.")
    for other, pid in other_hubs(settings):
        raise CourseError(f"Another workshop's hub runs on this machine (state {other}, pid {pid}): the "
                          f"participants' system users (whyk8s-p01 …) have the same names in every workshop, so "
                          f"one machine serves one workshop at a time. Stop that hub first (`make hub-stop` "
                          f"with its context), or use another machine.")
    names = participants(settings.participants_dir)
    proxy_command(settings.checkout)
    for port in {settings.port, settings.hub_port, settings.proxy_api_port}:
        if _port_open(port):
            raise CourseError(f"Port {port} is taken on this machine: choose another (--port, --hub-port, "
                              f"--proxy-api-port).")
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    settings.state_dir.chmod(0o700)
    config = settings.checkout / "workshop" / "jupyterhub_config.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIX)}
    env.update(settings.to_env())
    env["PYTHONPATH"] = str(settings.checkout / "src")  # the checkout's course, whatever the venv points at
    logfile = open(settings.state_dir / "jupyterhub.log", "ab")  # noqa: SIM115 - handed to the child
    with logfile:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
                                cwd=settings.state_dir, env=env, stdout=logfile, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    (settings.state_dir / "hub.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while not _responds(f"{settings.url}/hub/health"):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                _stop_pid(proc.pid, 10)
            (settings.state_dir / "hub.pid").unlink(missing_ok=True)
            tail = (settings.state_dir / "jupyterhub.log").read_text(errors="replace")[-3000:]
            raise CourseError(f"The hub did not start (log {settings.state_dir / 'jupyterhub.log'}):\n{tail}")
        time.sleep(0.5)
    log(f"The hub is up: {settings.url} ({len(names)} participants: {', '.join(names)}; "
        f"shared password in {settings.state_dir / 'password'} unless you gave one).")
    return proc.pid


def other_hubs(settings: HubSettings) -> list[tuple[Path, int]]:
    """Hubs of other workshops running on this machine: ``(state folder, pid)`` for each sibling of
    ``settings.state_dir`` (``~/.whyk8s/hub/<other context>``) whose ``hub.pid`` names a live process.
    The system users ``whyk8s-pNN`` are per machine, not per workshop, so only one may run."""
    found = []
    parent = settings.state_dir.parent
    for pid_file in sorted(parent.glob("*/hub.pid")) if parent.is_dir() else []:
        if pid_file.parent.resolve() != settings.state_dir.resolve() and (pid := _pid(pid_file)):
            found.append((pid_file.parent, pid))
    return found


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def _stop_pid(pid: int, timeout: float) -> bool:
    """SIGTERM ``pid``, SIGKILL after ``timeout`` seconds; True when it is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done == pid:
                    return True
            except ChildProcessError:  # not our child: poll its existence
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return True
            time.sleep(0.2)
    return False


def hub_processes(settings: HubSettings, extra=()) -> list[tuple[int, str]]:
    """Processes of the hub now: the hub (its pid file), the proxy (its pid file), the ``extra`` pids and
    every process run by a participant's system user, as ``(pid, command line)``."""
    uids = {u.pw_uid for u in workshop_users()}
    pids = {p for p in (running(settings), _pid(settings.state_dir / "proxy.pid"), *extra) if p}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            uid = entry.stat().st_uid
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state = next((ln for ln in (entry / "status").read_text().splitlines() if ln.startswith("State:")), "")
        except OSError:
            continue
        if "zombie" in state:
            continue
        if pid in pids or uid in uids:
            found.append((pid, cmd))
    return sorted(found)


def stop(settings: HubSettings, purge: bool = False, timeout: float = 60, log=print) -> dict:
    """Stop the hub (SIGTERM: JupyterHub stops every participant's server and the proxy it started), kill
    what a participant's user still runs, and with ``purge`` remove the participants' system users, their
    homes and the hub's state folder. Returns ``{"killed": [(pid, cmd), …], "removed_users": [names]}``
    (``killed`` should be empty: the hub stops its own). Raises CourseError when a process or a port of the
    hub is still there at the end."""
    pid = running(settings)
    proxy = _pid(settings.state_dir / "proxy.pid")
    if pid:
        _stop_pid(pid, timeout)
        log(f"stopped the hub (pid {pid})")
    killed = []
    for p, cmd in hub_processes(settings, extra=(proxy,)):
        try:
            os.kill(p, signal.SIGKILL)
            killed.append((p, cmd))
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while hub_processes(settings, extra=(pid, proxy)) and time.monotonic() < deadline:
        time.sleep(0.2)
    (settings.state_dir / "hub.pid").unlink(missing_ok=True)
    removed = []
    if purge:
        for user in workshop_users():
            subprocess.run(["userdel", user.pw_name], check=True, capture_output=True, text=True)
            home = Path(user.pw_dir)
            if home.is_dir() and home.parent == settings.homes_dir:
                shutil.rmtree(home)
            removed.append(user.pw_name)
        if (settings.homes_dir / PARTICIPANT_VENV).is_dir():
            shutil.rmtree(settings.homes_dir / PARTICIPANT_VENV)
        if settings.state_dir.is_dir():
            shutil.rmtree(settings.state_dir)
        log(f"removed {len(removed)} participants' system users and homes, and the hub's state")
    left = hub_processes(settings, extra=(pid, proxy))
    ports = [p for p in (settings.port, settings.hub_port, settings.proxy_api_port) if _port_open(p)]
    if left or ports:
        raise CourseError(f"The hub left processes {left} and ports {ports} open.")
    return {"killed": killed, "removed_users": removed}


def main(argv=None) -> int:
    """``python -m whyk8s.cluster.hub start|stop|status``."""
    ap = argparse.ArgumentParser(prog="python -m whyk8s.cluster.hub", description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=["start", "stop", "status"])
    ap.add_argument("--context", help="the instructor's kubeconfig context of the workshop (default: current)")
    ap.add_argument("--participants-dir", help="where `workshop up` wrote the kubeconfigs (default: its folder)")
    ap.add_argument("--state-dir", help="the hub's own files (default: ~/.whyk8s/hub/<context>)")
    ap.add_argument("--homes", dest="homes_dir", help="parent of the participants' homes (default: /home)")
    ap.add_argument("--ip", help="where browsers reach the hub (default 127.0.0.1; 0.0.0.0 for the room)")
    ap.add_argument("--port", type=int, help="the hub's public port (default 8000)")
    ap.add_argument("--hub-port", type=int)
    ap.add_argument("--proxy-api-port", type=int)
    ap.add_argument("--purge", action="store_true",
                    help="stop: also remove the participants' system users, homes (their work) and the hub's state")
    args = ap.parse_args(argv)
    password = os.environ.get("WHYK8S_HUB_PASSWORD")  # the one setting not given on a command line
    try:
        settings = default_settings(args.context, participants_dir=args.participants_dir,
                                    state_dir=args.state_dir, homes_dir=args.homes_dir, ip=args.ip, port=args.port,
                                    hub_port=args.hub_port, proxy_api_port=args.proxy_api_port, password=password)
        if args.action == "start":
            start(settings)
            print(f"Participants log in at {settings.url} with their name (p01, …) and the password "
                  f"{settings.password!r}.")
        elif args.action == "stop":
            stop(settings, purge=args.purge)
        else:
            pid = running(settings)
            print(f"running: pid {pid}, {settings.url}" if pid else "not running")
            for p, cmd in hub_processes(settings):
                print(f"  {p} {cmd[:100]}")
    except CourseError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
