"""`creditwh schedule` starts a local Prefect server and serves the daily-load deployment on its cron."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

DEADLINE_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def interruptible() -> None:
    """SIGINT handled by default in the child, as in a terminal. A runner that starts the tests as a
    background job (`nohup ... &`) ignores SIGINT, and the child would inherit that and never stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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


def test_schedule_serves_the_daily_deployment_on_a_cron(tmp_path):
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PYTHONUNBUFFERED": "1"}
    env.pop("PREFECT_API_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "credit_warehouse.cli", "schedule", "--port", str(port), "--cron", "30 2 * * *",
         "--home", str(tmp_path / "home")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=interruptible)
    try:
        deployment = wait_for_deployment(process, f"http://127.0.0.1:{port}/api")
        schedule = deployment["schedules"][0]["schedule"]
        assert schedule["cron"] == "30 2 * * *"
        assert schedule["timezone"] == "Asia/Shanghai"
        assert deployment["parameters"] == {"home": str(tmp_path / "home")}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)  # the schedule gives its server 30 s to stop, then kills it
        except subprocess.TimeoutExpired:
            process.kill()
    # the local server started for the schedule is stopped with it
    try:
        deployments(f"http://127.0.0.1:{port}/api")
        raise AssertionError("the Prefect server is still running")
    except OSError:
        pass


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
