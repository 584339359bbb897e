"""Shared fixtures. Prefect runs against a throw-away home so tests never touch ~/.prefect."""

from __future__ import annotations

import os
import tempfile

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
