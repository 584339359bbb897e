"""Run the dbt project (staging -> intermediate -> marts) on the work warehouse."""

from __future__ import annotations

import json
import os

from credit_warehouse import faults
from credit_warehouse.settings import DBT_PROJECT_DIR, Settings


class DbtFailed(RuntimeError):
    """dbt reported failure; the message names the failing models and tests."""


def dbt_vars(settings: Settings) -> dict[str, object]:
    return {"pii_secret": settings.pii_secret,
            "report_deadline_workdays": settings.report_deadline_workdays}


def _release_duckdb() -> None:
    """Close dbt-duckdb's process-wide connection: it outlives ``invoke`` and keeps the work file
    attached, so publishing (which attaches it read-only) and the next validation would conflict.
    dbt-duckdb 1.11 has no public call for this (``close_all_connections`` drops it unclosed)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if environment is not None:
            environment.close()


def run_dbt(settings: Settings, command: str, *extra: str) -> list[str]:
    """Invoke dbt in-process; raise DbtFailed with the failing nodes. Returns executed node ids."""
    from dbt.cli.main import dbtRunner

    os.environ["CREDITWH_WORK_DB"] = str(settings.work_db)
    target = settings.home / "dbt"
    args = [command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target / "target"), "--log-path", str(target / "logs"),
            "--vars", json.dumps(dbt_vars(settings)), "--quiet", *extra]
    try:
        result = dbtRunner(callbacks=faults.dbt_callbacks()).invoke(args)
    finally:
        _release_duckdb()
    # A failed build returns success=False with exception=None: inspect the node results ourselves.
    failures = []
    nodes = []
    for node in getattr(result.result, "results", None) or []:
        nodes.append(node.node.unique_id)
        if str(node.status).lower() in {"error", "fail", "runtimeerror"}:
            failures.append(f"{node.node.unique_id}: {node.message}")
    if not result.success or result.exception is not None:
        detail = "; ".join(failures) or repr(result.exception) or "unknown dbt failure"
        raise DbtFailed(f"dbt {command} failed: {detail}")
    return nodes
