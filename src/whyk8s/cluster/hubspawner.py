"""The workshop hub's spawner: JupyterHub's ``LocalProcessSpawner``, with each participant's server run
as a system user of their own and given their kubeconfig (:mod:`whyk8s.cluster.hub` says why).

Imported by JupyterHub only (``c.JupyterHub.spawner_class``), so it may import jupyterhub at the top.
"""

from __future__ import annotations

import asyncio
import pwd
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Unicode

from whyk8s.cluster import hub

__all__ = ["WorkshopSpawner"]


class WorkshopSpawner(LocalProcessSpawner):
    """One participant's JupyterLab, as the system user ``whyk8s-<participant>``, in their home, with
    ``KUBECONFIG`` their own (:func:`whyk8s.cluster.hub.participant_env`)."""

    participants_dir = Unicode(config=True, help="where `whyk8s workshop up` wrote the kubeconfigs")
    homes_dir = Unicode("/home", config=True, help="parent of the participants' homes")
    checkout = Unicode(config=True, help="the course checkout (src/, notebooks/, labs/, etc/jupyter)")

    def _settings(self) -> hub.HubSettings:
        return hub.HubSettings(participants_dir=Path(self.participants_dir), state_dir=Path("/nonexistent"),
                               homes_dir=Path(self.homes_dir), checkout=Path(self.checkout))

    @property
    def system_user(self) -> str:
        return hub.system_user(self.user.name)

    async def start(self):
        # useradd and the copy of the notebooks take a moment: keep the hub's event loop free
        await asyncio.get_running_loop().run_in_executor(None, hub.prepare_home, self.user.name, self._settings())
        return await super().start()

    def make_preexec_fn(self, name):
        return set_user_setuid(self.system_user)

    def user_env(self, env):
        user = pwd.getpwnam(self.system_user)
        env.update(USER=user.pw_name, HOME=user.pw_dir, SHELL=user.pw_shell or "/bin/bash")
        return env

    def get_env(self):
        env = super().get_env()
        env.update(hub.participant_env(self.user.name, Path(env["HOME"]), self._settings()))
        return env
