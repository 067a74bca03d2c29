"""environment.yml and pyproject.toml must name the same runtime dependencies (and the same optional
ones a learner may install); the contributors' and instructors' extras ``lint``, ``test``, ``book`` and ``hub`` are
pyproject's alone."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge name -> PyPI name, where they differ
CONDA_TO_PYPI = {"python-kubernetes": "kubernetes"}
# conda-only tools that are not Python packages
CONDA_ONLY = {"python", "pip", "kubernetes-client", "go"}
# pyproject extras for contributors and instructors only (installed by `make install`, not the learner's)
CONTRIBUTOR_EXTRAS = {"lint", "test", "book", "hub"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)", req)
    return m.group(1).lower(), m.group(2).split("#")[0].replace(" ", "")


def pyproject_deps() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = dict(_split(d) for d in data["project"]["dependencies"])
    for name, extra in data["project"].get("optional-dependencies", {}).items():
        if name not in CONTRIBUTOR_EXTRAS:
            deps.update(_split(d) for d in extra)
    return deps


def conda_deps() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for item in env["dependencies"]:
        if isinstance(item, dict):
            for req in item.get("pip", []):
                if not req.startswith("-e"):
                    name, spec = _split(req)
                    out[name] = spec
            continue
        name, spec = _split(item)
        if name in CONDA_ONLY:
            continue
        out[CONDA_TO_PYPI.get(name, name)] = spec
    return out


def test_same_packages_and_bounds():
    assert conda_deps() == pyproject_deps()


def test_python_floor_matches():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python{data['project']['requires-python']}" in env["dependencies"]


def test_make_installs_the_contributor_extras():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert CONTRIBUTOR_EXTRAS <= set(data["project"]["optional-dependencies"])
    makefile = (ROOT / "Makefile").read_text()
    installed = re.search(r"pip install --quiet -e '\.\[([a-z,]+)\]'", makefile).group(1).split(",")
    assert CONTRIBUTOR_EXTRAS <= set(installed), installed
