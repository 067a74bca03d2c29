"""Shared helpers for the browser tests: Debian's chromium driven by Playwright for Python.

Playwright's own browser download is never used (this machine reaches only package registries);
``launch_chromium`` starts ``/usr/bin/chromium`` (``$WHYK8S_CHROMIUM`` overrides) with the flags a
closed network needs, and skips the calling test with a clear reason when no chromium can start.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("WHYK8S_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    return os.environ.get("WHYK8S_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright):
    """Launch Debian's chromium headless; ``pytest.skip`` with the reason if it cannot start."""
    path = chromium_path()
    if not path:
        pytest.skip("no chromium installed (Debian: apt-get install chromium; `make test` does this as root)")
    try:
        return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:  # noqa: BLE001 - any launch failure is a reason to skip, stated
        pytest.skip(f"chromium at {path} could not start: {exc}")


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under :data:`SCREENSHOTS` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the kernel's choice)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    import socket
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0
