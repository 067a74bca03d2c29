"""`make lab` as a new user types it (checked with `make -n`, which runs nothing)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lab_command(*make_args: str) -> str:
    out = subprocess.run(["make", "-n", "lab", *make_args], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return next(line for line in out.splitlines() if " lab " in line and "jupyter" in line)


def test_lab_serves_the_repository_root_so_chapter_links_to_labs_work():
    cmd = _lab_command()
    assert "--ServerApp.root_dir=." in cmd
    assert cmd.rstrip().endswith("notebooks/00-start-here.ipynb")


def test_lab_args_add_options_without_losing_allow_root():
    cmd = _lab_command("LAB_ARGS=--no-browser --port 8899")
    assert "--no-browser --port 8899" in cmd
    assert ("--allow-root" in cmd) == (os.getuid() == 0)
