# JupyterHub's configuration for a whyk8s workshop on one machine.
# Start and stop the hub with `make hub` / `make hub-stop` (python -m whyk8s.cluster.hub start|stop): they
# find the participants `whyk8s workshop up` prepared and hand this file its settings as WHYK8S_HUB_*
# variables. What it configures, and why, is in src/whyk8s/cluster/hub.py (configure).
from whyk8s.cluster import hub

c = get_config()  # noqa: F821 - JupyterHub defines get_config when it loads this file
hub.configure(c, hub.HubSettings.from_env())
