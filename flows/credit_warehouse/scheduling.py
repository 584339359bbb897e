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


def is_healthy(api_url: str) -> bool:
    with suppress(OSError), urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:  # loopback only
        return response.status == 200
    return False


def launch_local_server(port: int) -> tuple[subprocess.Popen, str]:
    """Start ``prefect server start`` on 127.0.0.1 (analytics off) without waiting: it boots (~10 s)
    while the caller does other work (``wait_until_healthy``)."""
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
        if is_healthy(api_url):
            return
        time.sleep(0.5)
    stop_local_server(process)  # not terminate(): SIGTERM may leave it running
    raise TimeoutError(f"prefect server not healthy on {api_url} after {SERVER_START_TIMEOUT_S} s")


def _exit_gracefully(*_: object) -> None:
    """SIGTERM's handler: unwind (the ``finally`` blocks run) and exit 0, as Prefect's runner does once it
    serves, so that a service manager records a clean stop."""
    raise SystemExit(0)


def serve_daily(cron: str, timezone: str, home: str | None, port: int) -> None:
    """Register the daily-load deployment with its cron schedule and run it until interrupted (Ctrl-C,
    or SIGTERM: what ``systemctl stop``, ``docker stop`` and ``kill`` send)."""
    # SIGTERM stops the schedule as Ctrl-C does. Prefect's runner handles it once it serves, but before
    # that (the server's start, the deployment's registration: ~15 s) it ended the process on the spot
    # and the local server went on running, holding the port the next start needs.
    previous = signal.signal(signal.SIGTERM, _exit_gracefully)
    server = None
    try:
        if not os.environ.get("PREFECT_API_URL"):
            server, api_url = launch_local_server(port)
            wait_until_healthy(server, api_url)
            os.environ["PREFECT_API_URL"] = api_url
        from prefect.schedules import Cron

        from credit_warehouse.pipeline import daily_load

        daily_load.serve(name=DEPLOYMENT_NAME, schedule=Cron(cron, timezone=timezone),
                         parameters={"home": home} if home else {},
                         description="Load yesterday's department and utility feeds (Asia/Shanghai).")
    finally:
        if server is not None:
            stop_local_server(server)  # a no-op for a server that has exited already
        signal.signal(signal.SIGTERM, previous)


def stop_local_server(server: subprocess.Popen, grace_s: float = SERVER_STOP_GRACE_S) -> None:
    """SIGINT (Prefect's server stops cleanly on it; SIGTERM may linger), then SIGKILL after the grace
    period: a server slow to stop on a loaded machine must not outlive the schedule (seen in CI)."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
