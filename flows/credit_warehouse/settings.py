"""Paths and tunables, from environment variables with defaults that work on a fresh clone.

Importing the package applies ``quiet_tools``: every tool's telemetry is switched off before
Prefect, dbt or Great Expectations is imported (nothing at runtime may reach the internet).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SEEDS_DIR = REPO_ROOT / "seeds"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
GX_CONTEXT_DIR = REPO_ROOT / "expectations"

_QUIET_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_UI_ENABLED": "false",
}


def quiet_tools() -> None:
    """Disable analytics of Prefect, dbt and Great Expectations unless the user chose otherwise."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)


@dataclass(frozen=True)
class Settings:
    """Where the platform keeps its data; everything lives under one home directory."""

    home: Path
    report_deadline_workdays: int = 7
    pii_secret: str = "change-me-credit-warehouse-dev-secret"
    dbt_tests: bool = True  # run dbt's data tests in the build (CREDITWH_DBT_TESTS)
    # DuckDB's memory limit for the heavy steps (validation, the review, publish): beyond it DuckDB
    # spills to disk instead of growing the process (CREDITWH_DUCKDB_MEMORY_LIMIT)
    duckdb_memory_limit: str = "3GB"
    # The dbt build's, lower: dbt's own Python (the parsed project) shares the process, which peaked
    # ~0.7 GiB above DuckDB's limit. A year's full-refresh build of the 1,000,000-subject city peaked at
    # 3.52 GiB with 3GB and at 3.20 GiB with 2750MB, in no more time (CREDITWH_DBT_MEMORY_LIMIT)
    dbt_memory_limit: str = "2750MB"
    # dbt nodes at once (CREDITWH_DBT_THREADS); None: one for a build of many rows, otherwise two
    # (transform.dbt_threads)
    dbt_threads: int | None = None
    # Folders of correction lists kept, one per business date, the newest (CREDITWH_CORRECTIONS_KEEP; 0:
    # every one). Each day lists every open failure again: ~450 MB a day at 1,000,000 subjects.
    corrections_keep: int = 30

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def work_db(self) -> Path:
        """Read-write warehouse: raw layer, validation results and the dbt build. Engineers only."""
        return self.warehouse_dir / "work.duckdb"

    @property
    def marts_db(self) -> Path:
        """The marts dbt builds (schema ``marts``), a DuckDB file of their own: publishing copies the
        file instead of every table. Attached to work connections as ``warehouse.MARTS_CATALOG``."""
        return self.warehouse_dir / "marts.duckdb"

    @property
    def published_db(self) -> Path:
        """Read-only copy of the marts for analysts, swapped in atomically by ``publish``."""
        return self.warehouse_dir / "published.duckdb"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def data_docs_dir(self) -> Path:
        return self.reports_dir / "data_docs"

    def ensure_dirs(self) -> None:
        for path in (self.inbox, self.warehouse_dir, self.reports_dir):
            path.mkdir(parents=True, exist_ok=True)


def load_settings(home: Path | str | None = None) -> Settings:
    root = Path(home or os.environ.get("CREDITWH_HOME") or REPO_ROOT / "data").resolve()
    return Settings(
        home=root,
        report_deadline_workdays=int(os.environ.get("CREDITWH_REPORT_DEADLINE_WORKDAYS", "7")),
        pii_secret=os.environ.get("CREDITWH_PII_SECRET", Settings.pii_secret),
        dbt_tests=os.environ.get("CREDITWH_DBT_TESTS", "true").strip().lower() not in ("0", "false", "no", "off"),
        duckdb_memory_limit=os.environ.get("CREDITWH_DUCKDB_MEMORY_LIMIT", Settings.duckdb_memory_limit),
        dbt_memory_limit=os.environ.get("CREDITWH_DBT_MEMORY_LIMIT", Settings.dbt_memory_limit),
        dbt_threads=int(os.environ["CREDITWH_DBT_THREADS"]) if os.environ.get("CREDITWH_DBT_THREADS") else None,
        corrections_keep=int(os.environ.get("CREDITWH_CORRECTIONS_KEEP", str(Settings.corrections_keep))),
    )
