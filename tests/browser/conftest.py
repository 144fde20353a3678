"""A real JupyterLab server and a real headless Chromium for the browser tests.

The server is started the way the README's student command starts it (``nox -s lab``):
the same ``jupyter lab`` of the same environment, on loopback, with a token. Two
things differ, both to protect the repository: the notebook folder is a temporary
copy of ``solutions/`` and ``labs/`` (so nothing the run writes or saves lands in the
checkout), and a test-only settings folder turns off the news pop-up, autosave and
windowed rendering (so every cell is in the page and can be asserted on). The
student's own JupyterLab settings are never touched.

``nox -s browser`` passes the launch command in ``DS500_JUPYTER_LAB`` (JSON) and the
browser in ``DS500_CHROMIUM``; run directly, the tests use this interpreter's
``jupyter`` and ``chromium`` from ``PATH``, and skip when Chromium is missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TEST_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class JupyterServer:
    """A running JupyterLab: its base URL, token and notebook folder."""

    url: str
    token: str
    root: Path

    def lab_url(self, relative: str) -> str:
        """The URL that opens ``relative`` (a path under the notebook folder) in JupyterLab."""
        return f"{self.url}/lab/tree/{relative}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lab_command() -> list[str]:
    raw = os.environ.get("DS500_JUPYTER_LAB")
    if raw:
        return list(json.loads(raw))
    command = [str(Path(sys.executable).with_name("jupyter")), "lab"]
    return command + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])


def _chromium() -> str | None:
    return os.environ.get("DS500_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """Start JupyterLab on a temporary copy of the notebooks; stop it afterwards."""
    base = tmp_path_factory.mktemp("jupyter")
    root = base / "notebooks"
    for folder in ("solutions", "labs"):
        shutil.copytree(ROOT / folder, root / folder)
    settings = base / "settings"
    for name, values in TEST_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values), encoding="utf-8")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"), DS500_OFFLINE="1")
    log = base / "jupyter.log"
    command = _lab_command() + [
        f"--notebook-dir={root}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--no-browser",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/api/status?token={token}", process, log)
        yield JupyterServer(url=url, token=token, root=root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def screenshot() -> Any:
    """A function that saves a page's screenshot as ``build/screenshots/<name>.png``."""

    def save(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return save


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright, kept off the network by its flags."""
    executable = _chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()
