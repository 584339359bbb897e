"""Shared fixtures. Prefect runs against a throw-away home so tests never touch ~/.prefect."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

# Before anything imports prefect: its settings are read once at import time.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="creditwh-prefect-"))
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

import credit_warehouse  # noqa: E402,F401 - applies the no-telemetry environment defaults
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_harness():
    """One ephemeral Prefect API for the whole session (costs ~20 s once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


CHROMIUM = "/usr/bin/chromium"
INSTALL_CHROMIUM = Path(__file__).resolve().parents[1] / "scripts" / "install_chromium.sh"
# Headless and offline: without these Chromium contacts Google services (updates, sync, QUIC probes).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed by the project's script when missing (CI: a clean machine, root).

    Where it cannot be installed (no root) the browser tests skip, except under CI=true where they fail.
    """
    if not Path(CHROMIUM).exists():
        result = subprocess.run(["bash", str(INSTALL_CHROMIUM)], capture_output=True, text=True, timeout=900)
        if result.returncode != 0 or not Path(CHROMIUM).exists():
            message = f"could not install chromium: {result.stderr.strip()[-500:]}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def browser_page(chromium, tmp_path):
    """A page of headless Chromium with a fresh profile, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture(scope="session")
def run_cli(prefect_harness):
    """Run ``creditwh`` in a subprocess against the session's Prefect API (no ephemeral server of its
    own, which would cost ~15 s per process); returns a function giving the CompletedProcess."""
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()

    def run(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "PREFECT_API_URL": api_url, "PYTHONIOENCODING": "utf-8", **(env or {})}
        return subprocess.run([sys.executable, "-m", "credit_warehouse.cli", *args], env=full_env,
                              capture_output=True, text=True, timeout=timeout)

    return run
