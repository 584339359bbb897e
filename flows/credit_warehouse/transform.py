"""Run the dbt project (staging -> intermediate -> marts) on the work warehouse.

Staging models are incremental (dbt_project/macros/incremental.sql): ``build`` parses only the files
validated since the last successful build, recorded in ``ops.dbt_builds``. It asks dbt for a full
refresh when that is not safe: no build recorded yet, the project / seeds / vars / package changed
since (their fingerprint), the marts file is missing, or a file the last build saw was re-validated or
removed since. The marts build into a DuckDB file of their own (``Settings.marts_db``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from credit_warehouse import __version__, dbt_parse_cache, faults
from credit_warehouse.settings import DBT_PROJECT_DIR, SEEDS_DIR, Settings
from credit_warehouse.warehouse import MARTS_SCHEMA, connect

WINDOW_ENV = ("CREDITWH_STAGE_VALIDATED_AFTER", "CREDITWH_STAGE_FROM_LOAD_SEQ")
# What the files validated up to a point look like: a re-validation moves a file past the point.
VALIDATED_STATE_SQL = """select count(*), coalesce(cast(bit_xor(hash(file_sha256 || '|' || run_id)) as varchar), '')
from validation.validated_files where validated_at <= ?"""


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


def fingerprint(settings: Settings) -> str:
    """Hash of everything staging output depends on besides the validated files themselves."""
    digest = hashlib.sha256(f"{__version__}|{json.dumps(dbt_vars(settings), sort_keys=True)}".encode())
    sources = [p for p in sorted(DBT_PROJECT_DIR.rglob("*")) if p.is_file() and not
               {"target", "logs", "dbt_packages"} & set(p.relative_to(DBT_PROJECT_DIR).parts)]
    for path in [*sources, *sorted(SEEDS_DIR.glob("*.csv"))]:
        digest.update(f"{path.name}|{path.stat().st_size}|".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class StagingWindow:
    """One build's plan: full refresh, or the files validated after ``validated_after``."""

    fingerprint: str
    full_refresh: bool
    validated_after: str | None = None
    from_load_seq: int = 0
    reason: str = ""

    def dbt_args(self) -> list[str]:
        # Seeds are part of the fingerprint: an incremental build has the seeds the last one loaded.
        return ["--exclude", "resource_type:seed"] if not self.full_refresh else ["--full-refresh"]

    def env(self) -> dict[str, str]:
        if self.full_refresh or self.validated_after is None:
            return dict.fromkeys(WINDOW_ENV, "")
        return dict(zip(WINDOW_ENV, (self.validated_after, str(self.from_load_seq)), strict=True))


def _last_build(con: duckdb.DuckDBPyConnection) -> tuple | None:
    return con.execute("select fingerprint, validated_through, validated_files, validated_digest "
                       "from ops.dbt_builds order by built_at desc limit 1").fetchone()


def staging_window(settings: Settings) -> StagingWindow:
    """Decide between an incremental build and a full refresh (see the module docstring)."""
    current = fingerprint(settings)
    with connect(settings.work_db) as con:
        last = _last_build(con)
        if last is None or last[1] is None:
            return StagingWindow(current, True, reason="no earlier build")
        if last[0] != current:
            return StagingWindow(current, True, reason="dbt project, seeds or vars changed")
        if not settings.marts_db.exists():
            return StagingWindow(current, True, reason="the marts file is missing")
        if con.execute(VALIDATED_STATE_SQL, [last[1]]).fetchone() != (last[2], last[3]):
            return StagingWindow(current, True, reason="a file of an earlier build was re-validated")
        return window_since(con, last[1], current)


def window_since(con: duckdb.DuckDBPyConnection, validated_after: dt.datetime, fingerprint: str) -> StagingWindow:
    """The incremental build of the files validated after ``validated_after``."""
    # nothing validated since: past the last load, so every row group is skipped
    low = con.execute("select coalesce(min(files.load_seq), (select max(load_seq) + 1 from raw.files), 0) "
                      "from validation.validated_files as validated join raw.files as files using (file_sha256) "
                      "where validated.validated_at > ?", [validated_after]).fetchone()[0]
    after = validated_after.isoformat(sep=" ", timespec="microseconds")
    return StagingWindow(fingerprint, False, after, int(low), "files validated since the last build")


def record_build(settings: Settings, window: StagingWindow) -> None:
    """Remember what this successful build covered: every file validated so far."""
    with connect(settings.work_db) as con:
        through = con.execute("select max(validated_at) from validation.validated_files").fetchone()[0]
        files, digest = con.execute(VALIDATED_STATE_SQL, [through]).fetchone()
        con.execute("insert into ops.dbt_builds values (current_timestamp, ?, ?, ?, ?, ?)",
                    [window.fingerprint, window.full_refresh, through, files, digest])


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Tables of the work file that earlier releases built and no model builds there now: the marts and
# the intermediate models now kept beside them (built in the marts file), and models folded into
# others (stg_feed_row_keys: its record keys are int_feed_row_quality's columns).
MOVED_TO_MARTS_FILE = (("intermediate", "int_credit_records"), ("intermediate", "int_ledger_reconciliation"),
                       ("intermediate", "int_as_of_date"))
FOLDED_INTO_OTHERS = (("staging", "stg_feed_row_keys"),)
RETIRED_TABLES = MOVED_TO_MARTS_FILE + FOLDED_INTO_OTHERS


def drop_retired_tables(settings: Settings) -> bool:
    """Drop what earlier releases built in the work file and no model builds there now: a stale
    second copy of the marts (~7 GB, ~3 GB of int_credit_records, ~1 GB of int_ledger_reconciliation
    for a year of the 1,000,000-subject city), and folded models' tables, which the conservation check
    would otherwise count as staged rows (run_summary.staged_row_counts). The project's fingerprint
    changed with the release, so this build is a full refresh. True when something was dropped."""
    with connect(settings.work_db) as con:
        stale = [f"{schema}.{table}" for schema, table in RETIRED_TABLES if con.execute(
            "select 1 from duckdb_tables() where database_name = current_database() "
            "and schema_name = ? and table_name = ?", [schema, table]).fetchall()]
        for table in stale:
            con.execute(f"drop table {table}")
        if not con.execute("select 1 from duckdb_schemas() where database_name = current_database() "
                           "and schema_name = ?", [MARTS_SCHEMA]).fetchall():
            return bool(stale)
        con.execute(f"drop schema {MARTS_SCHEMA} cascade")
        return True


# A build of at most this many landed rows (all of them in a full refresh, the window's in an
# incremental one) runs two dbt nodes at once. Measured: day 365 of the 1,000,000-subject city (a window
# of 115k rows over a year's warehouse) 104 s against 112 s one at a time, the same peak RSS; day 1's
# full refresh (115k rows) 16.2-16.3 s against 20.7-22.5 s; the year's full refresh (38M rows) ran out
# of memory. Nothing between was measured, so the line is drawn low.
SMALL_BUILD_ROWS = 1_000_000


def dbt_threads(settings: Settings, rows_to_build: int) -> int:
    """dbt nodes at once. A large build runs one: its nodes are large, and two of them shared DuckDB's
    cores and memory limit (slower, and out of memory). A small one runs two: its ~680 nodes are small,
    and one node's Python (compiling, dbt's bookkeeping) overlaps another's SQL (four at once: slower)."""
    if settings.dbt_threads:
        return settings.dbt_threads
    return 1 if rows_to_build > SMALL_BUILD_ROWS else 2


def rows_to_build(settings: Settings, window: StagingWindow) -> int:
    """The landed rows a build reads from raw: all of them, or those of its window's loads."""
    since = 0 if window.full_refresh else window.from_load_seq
    with connect(settings.work_db) as con:
        return int(con.execute("select coalesce(sum(rows_in), 0) from raw.files where load_seq >= ?",
                               [since]).fetchone()[0])


def build(settings: Settings, *extra: str) -> list[str]:
    """``dbt build`` (seeds, models, tests), incremental where safe; returns executed node ids."""
    drop_retired_tables(settings)
    window = staging_window(settings)
    threads = str(dbt_threads(settings, rows_to_build(settings, window)))
    with _environment(window.env()):
        nodes = run_dbt(settings, "build", *window.dbt_args(), "--threads", threads, *extra)
    record_build(settings, window)
    return nodes


def run_dbt(settings: Settings, command: str, *extra: str) -> list[str]:
    """Invoke dbt in-process; raise DbtFailed with the failing nodes. Returns executed node ids."""
    from dbt.cli.main import dbtRunner

    os.environ["CREDITWH_WORK_DB"] = str(settings.work_db)
    os.environ["CREDITWH_MARTS_DB"] = str(settings.marts_db)
    os.environ["CREDITWH_DBT_MEMORY_LIMIT"] = settings.dbt_memory_limit
    target = settings.home / "dbt"
    args = [command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target / "target"), "--log-path", str(target / "logs"),
            "--vars", json.dumps(dbt_vars(settings)), "--quiet", *extra]
    parse_key = fingerprint(settings)
    dbt_parse_cache.apply()
    dbt_parse_cache.restore(target / "target", parse_key)
    try:
        result = dbtRunner(callbacks=faults.dbt_callbacks()).invoke(args)
    finally:
        _release_duckdb()
    dbt_parse_cache.keep(target / "target", parse_key)
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
