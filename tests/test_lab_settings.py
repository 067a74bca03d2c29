"""The JupyterLab settings the course ships (etc/jupyter, put on JUPYTER_CONFIG_PATH by `make lab`):
no "Get notified about official Jupyter news?" toast over the course (learner-ux #21a). Pure: reads
the settings as JupyterLab's server does, no server started."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "etc" / "jupyter"
PLUGIN = "@jupyterlab/apputils-extension:notification"


def test_news_prompt_is_off_where_jupyterlab_looks(monkeypatch):
    """jupyterlab_server layers labconfig/default_setting_overrides.json of every Jupyter config
    directory over the plugins' defaults; the toast only asks while fetchNews is "none"."""
    from jupyter_server.services.config.manager import ConfigManager

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(CONFIG_DIR))
    overrides = ConfigManager(config_dir_name="labconfig").get("default_setting_overrides")
    assert overrides[PLUGIN]["fetchNews"] == "false"


def test_the_override_is_a_value_the_schema_accepts():
    import jupyterlab

    schema = json.loads((Path(jupyterlab.__file__).parent / "schemas" / "@jupyterlab" / "apputils-extension"
                         / "notification.json").read_text())
    allowed = {choice["const"] for choice in schema["properties"]["fetchNews"]["oneOf"]}
    ours = json.loads((CONFIG_DIR / "labconfig" / "default_setting_overrides.json").read_text())
    assert ours[PLUGIN]["fetchNews"] in allowed - {"none"}
    assert set(ours) == {PLUGIN}  # nothing else of the learner's JupyterLab is changed
