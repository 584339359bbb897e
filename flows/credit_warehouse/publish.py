"""Publish the marts for analysts: build a new DuckDB file, then swap it in atomically.

Analysts open ``published.duckdb`` read-only; a running load never locks or half-updates it because
the load writes ``work.duckdb`` and only replaces the published file with ``os.replace`` (open
sessions keep reading the version they opened).
"""

from __future__ import annotations

import os

import duckdb

from credit_warehouse.settings import Settings

PUBLISHED_SCHEMAS = ("marts",)
# Files DuckDB 2.0 writes by default cannot be opened by 1.4/1.5 clients (DBeaver, older CLIs).
STORAGE_VERSION = "v1.4.0"


def publish(settings: Settings) -> list[str]:
    """Copy every table of the published schemas from the work warehouse; return the table names."""
    target = settings.published_db
    staging = target.with_name(target.name + ".next")
    staging.unlink(missing_ok=True)
    con = duckdb.connect(str(staging), config={"storage_compatibility_version": STORAGE_VERSION})
    try:
        con.execute(f"attach '{settings.work_db}' as work (read_only)")
        schemas = ", ".join(f"'{schema}'" for schema in PUBLISHED_SCHEMAS)
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = 'work' "
            f"and table_schema in ({schemas}) order by 1, 2").fetchall()
        for schema in sorted({schema for schema, _ in tables}):
            con.execute(f"create schema if not exists {schema}")
        for schema, table in tables:
            con.execute(f"create table {schema}.{table} as select * from work.{schema}.{table}")
        con.execute("detach work")
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(staging, target)
    return [f"{schema}.{table}" for schema, table in tables]
