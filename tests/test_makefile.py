"""`make lab`, `make unit` and `make test` as a new user types them (checked with `make -n`, which
runs nothing)."""

import os
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(target: str, *make_args: str) -> list[str]:
    """The commands `make <target>` would run (the install step is taken as done)."""
    out = subprocess.run(["make", "-n", "-o", ".venv/.installed", target, *make_args], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def _lab_command(*make_args: str) -> str:
    return next(line for line in _dry_run("lab", *make_args) if " lab " in line and "jupyter" in line)


def test_lab_serves_the_repository_root_so_chapter_links_to_labs_work():
    cmd = _lab_command()
    assert "--ServerApp.root_dir=." in cmd
    assert cmd.rstrip().endswith("notebooks/00-start-here.ipynb")


def test_lab_args_add_options_without_losing_allow_root():
    cmd = _lab_command("LAB_ARGS=--no-browser --port 8899")
    assert "--no-browser --port 8899" in cmd
    assert ("--allow-root" in cmd) == (os.getuid() == 0)


def test_lab_uses_the_course_jupyter_settings_without_losing_the_learners():
    """learner-ux #21a: the course's etc/jupyter (no news prompt) comes first on JUPYTER_CONFIG_PATH."""
    cmd = " ".join(_dry_run("lab"))
    assert 'JUPYTER_CONFIG_PATH="' + str(ROOT) + '/etc/jupyter' in cmd and "${JUPYTER_CONFIG_PATH:+" in cmd


def _markers() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {m.split(":")[0].strip() for m in data["tool"]["pytest"]["ini_options"]["markers"]}


def test_unit_leaves_out_every_registered_marker_and_any_cluster():
    line = next(line for line in _dry_run("unit") if "pytest tests" in line)
    expression = re.search(r'-m "([^"]+)"', line).group(1)
    left_out = set(re.findall(r"not (\w+)", expression))
    assert left_out == _markers() == {"cluster", "browser", "kernel", "book", "go", "kwok", "containers", "kind",
                                      "kueue", "hub", "karpenter"}
    assert "KUBECONFIG=/nonexistent" in line  # a test that reaches for a cluster fails rather than uses one
    assert "--nbval" not in line and " notebooks" not in line


def test_test_lints_first_then_runs_each_notebook_once_under_nbval():
    lines = _dry_run("test")
    lint = next(i for i, line in enumerate(lines) if "ruff check" in line)
    pytest_lines = [i for i, line in enumerate(lines) if "pytest" in line]
    assert pytest_lines and lint < pytest_lines[0]
    run = " ".join(lines[pytest_lines[0]:pytest_lines[0] + 2])
    assert "--nbval" in run and "notebooks labs" in run
    # on kwok every notebook once; then the kind part: the tests that need containers, and the
    # notebooks that deploy once more, on kind (outputs compared only where marked)
    kwok_runs = [line for line in lines if "pytest" in line and "notebooks labs" in line]
    kind_runs = [line for line in lines if "pytest" in line and "WHYK8S_PROVIDER=kind" in line]
    assert len(kwok_runs) == 1
    assert any('-m "containers or kind"' in line for line in kind_runs)
    assert any("--nbval-lax" in line and "notebooks/03b-what-running-containers-show.ipynb" in line
               for line in kind_runs)
