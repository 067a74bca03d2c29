"""Where the course's files are: the checkout and its ``data/`` folder.

The package is used from a checkout of the course (``pip install -e .``): its data, recorded runs,
cluster layout and book live beside ``src/``, not inside the package.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["repo_root", "data_dir"]


def repo_root() -> Path:
    """The course checkout: ``$WHYK8S_HOME``, else the nearest folder above this package holding
    ``clusters/layout.yaml``. Raises FileNotFoundError if neither exists."""
    env = os.environ.get("WHYK8S_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "clusters" / "layout.yaml").is_file():
            return parent
    raise FileNotFoundError("Cannot find the course checkout (clusters/layout.yaml); set WHYK8S_HOME.")


def data_dir() -> Path:
    """The course's ``data/`` folder: ``$WHYK8S_DATA_DIR`` if set, else ``data/`` in :func:`repo_root`."""
    env = os.environ.get("WHYK8S_DATA_DIR")
    return Path(env) if env else repo_root() / "data"
