"""The daily schedule: a Prefect deployment of ``daily_load`` served on a cron.

``flow.serve`` needs a real Prefect API (an ephemeral server never fires schedules), so when no
``PREFECT_API_URL`` is configured we start a local ``prefect server`` on loopback first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress

DEPLOYMENT_NAME = "daily-load"
SERVER_START_TIMEOUT_S = 120
SERVER_STOP_GRACE_S = 30


def _healthy(api_url: str) -> bool:
    with suppress(OSError), urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:  # loopback only
        return response.status == 200
    return False


def start_local_server(port: int) -> tuple[subprocess.Popen, str]:
    """Start ``prefect server start`` on 127.0.0.1 (analytics off) and wait until it is healthy."""
    process, api_url = launch_local_server(port)
    wait_until_healthy(process, api_url)
    return process, api_url


def launch_local_server(port: int) -> tuple[subprocess.Popen, str]:
    """Start the server without waiting: it boots (~10 s) while the caller does other work."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}
    process = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}/api"


def wait_until_healthy(process: subprocess.Popen, api_url: str) -> None:
    """Block until the server answers; stop it and raise if it exits or times out."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {process.returncode}")
        if _healthy(api_url):
            return
        time.sleep(0.5)
    stop_local_server(process)  # not terminate(): SIGTERM may leave it running
    raise TimeoutError(f"prefect server not healthy on {api_url} after {SERVER_START_TIMEOUT_S} s")


def serve_daily(cron: str, timezone: str, home: str | None, port: int) -> None:
    """Register the daily-load deployment with its cron schedule and run it until interrupted."""
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        server, api_url = start_local_server(port)
        os.environ["PREFECT_API_URL"] = api_url
    try:
        from prefect.schedules import Cron

        from credit_warehouse.pipeline import daily_load

        daily_load.serve(name=DEPLOYMENT_NAME, schedule=Cron(cron, timezone=timezone),
                         parameters={"home": home} if home else {},
                         description="Load yesterday's department and utility feeds (Asia/Shanghai).")
    finally:
        if server is not None:
            stop_local_server(server)


def stop_local_server(server: subprocess.Popen, grace_s: float = SERVER_STOP_GRACE_S) -> None:
    """SIGINT (Prefect's server stops cleanly on it; SIGTERM may linger), then SIGKILL after the grace
    period: a server slow to stop on a loaded machine must not outlive the schedule (seen in CI)."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
