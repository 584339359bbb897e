"""`creditwh schedule` starts a local Prefect server and serves the daily-load deployment on its cron."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

DEADLINE_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def interruptible() -> None:
    """SIGINT handled by default in the child, as in a terminal. A runner that starts the tests as a
    background job (`nohup ... &`) ignores SIGINT, and the child would inherit that and never stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_schedule(port: int, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PYTHONUNBUFFERED": "1"}
    env.pop("PREFECT_API_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "credit_warehouse.cli", "schedule", "--port", str(port), "--cron", "30 2 * * *",
         "--home", str(tmp_path / "home")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=interruptible)


def healthy(port: int) -> bool:
    from credit_warehouse.scheduling import is_healthy

    return is_healthy(f"http://127.0.0.1:{port}/api")


def deployments(api_url: str) -> list[dict]:
    request = urllib.request.Request(f"{api_url}/deployments/filter", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:  # loopback only
        return json.loads(response.read())


def wait_for_deployment(process: subprocess.Popen, api_url: str) -> dict:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            found = [d for d in deployments(api_url) if d["name"] == "daily-load"]
        except OSError:
            found = []
        if found and found[0].get("schedules"):
            return found[0]
        time.sleep(2)
    raise TimeoutError("the daily-load deployment was not registered")


def stop(process: subprocess.Popen, port: int, signum: signal.Signals) -> bool:
    """Send the schedule the signal and wait for it to exit; whether its server outlived it (then killed,
    never left running for the rest of the tests)."""
    process.send_signal(signum)
    try:
        process.wait(timeout=90)  # the schedule gives its server 30 s to stop, then kills it
    except subprocess.TimeoutExpired:
        process.kill()
    outlived = healthy(port)
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            words = (entry / "cmdline").read_bytes().split(b"\0")
            if b"server" in words and b"--port" in words and str(port).encode() in words:
                os.kill(int(entry.name), signal.SIGKILL)
    return outlived


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_schedule_serves_the_daily_deployment_on_a_cron(tmp_path, signum):
    """Stopped by Ctrl-C in a terminal, or by SIGTERM (``systemctl stop``, ``docker stop``, ``kill``), the
    schedule stops the server it started: left running, it would hold the port the next start needs."""
    port = free_port()
    process = start_schedule(port, tmp_path)
    try:
        deployment = wait_for_deployment(process, f"http://127.0.0.1:{port}/api")
        schedule = deployment["schedules"][0]["schedule"]
        assert schedule["cron"] == "30 2 * * *"
        assert schedule["timezone"] == "Asia/Shanghai"
        assert deployment["parameters"] == {"home": str(tmp_path / "home")}
    finally:
        outlived = stop(process, port, signum)
    assert not outlived, f"the Prefect server is still running after {signum.name}"


def test_sigterm_while_the_schedule_starts_stops_its_server(tmp_path):
    """SIGTERM before the deployment is served (Prefect's runner has no handler for it yet) still stops
    the server the schedule started, and the schedule exits 0: a clean stop for a service manager."""
    port = free_port()
    process = start_schedule(port, tmp_path)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not healthy(port):
            assert process.poll() is None and time.monotonic() < deadline, "the schedule's server did not start"
            time.sleep(0.2)
    finally:
        outlived = stop(process, port, signal.SIGTERM)
    assert not outlived, "the Prefect server is still running after SIGTERM"
    assert process.returncode == 0


def test_a_server_that_ignores_sigint_is_killed_after_the_grace_period():
    from credit_warehouse.scheduling import stop_local_server

    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time\n"
                                 "signal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('ready', flush=True)\n"
                                 "time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout is not None and stubborn.stdout.readline().strip() == "ready"
    started = time.monotonic()
    stop_local_server(stubborn, grace_s=1)
    assert stubborn.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 30
