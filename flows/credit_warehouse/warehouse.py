"""The work warehouse (one DuckDB file): schemas and tables the pipeline writes outside dbt.

Layers: ``raw`` (append-only landing, restricted: holds unmasked ID numbers), ``validation``
(row issues and expectation results), ``ops`` (run bookkeeping). dbt builds ``staging`` and
``intermediate`` in the same file and ``marts`` in a file of its own (``Settings.marts_db``, attached
as ``MARTS_CATALOG``), which publish copies whole for analysts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from credit_warehouse.catalogue import Catalogue

# The marts file's name on a work connection. With it on the search path, ``marts.<table>`` means the
# same on a work connection (marts attached), in dbt and in the published file.
MARTS_CATALOG = "marts_db"
MARTS_SCHEMA = "marts"
# Files DuckDB 2.0 writes by default cannot be opened by 1.4/1.5 clients (DBeaver, older CLIs); the
# published file is a copy of the marts file, which keeps the version it was created with.
STORAGE_VERSION = "v1.4.0"

# Why the reader could not read a row properly (readers.ROW_ISSUES: ragged_row, truncated_row...);
# such rows are kept and quarantined by validation. Added after the first release: migrated below.
ROW_ISSUE_COLUMN = "varchar"

RAW_META_COLUMNS = {
    "load_id": "varchar not null",  # 'L' + business date + first 12 hex of the file's sha256
    "load_seq": "bigint not null",  # landing order; later loads win when a record is re-sent
    "file_sha256": "varchar not null",
    "source_file": "varchar not null",  # path relative to the inbox
    "row_number": "integer not null",  # 1-based data row in the file (after the header)
    "department_code": "varchar not null",
    "category_code": "varchar not null",
    "record_layout": "varchar not null",
    "business_date": "date not null",  # the delivery (report) date taken from the file name
}

DDL = """
create schema if not exists raw;
create schema if not exists validation;
create schema if not exists ops;
create table if not exists raw.files (
    file_sha256 varchar primary key, load_id varchar not null, load_seq bigint not null,
    source_file varchar not null, department_code varchar not null, category_code varchar not null,
    business_date date not null, file_format varchar not null, encoding varchar,
    header_row integer, rows_in integer not null, unmapped_columns varchar, landed_at timestamp not null
);
create table if not exists raw.deliveries (
    run_id varchar not null, source_file varchar not null, file_sha256 varchar, business_date date,
    department_code varchar, category_code varchar, outcome varchar not null, reason_code varchar,
    reason_detail varchar, rows_in integer, seen_at timestamp not null
);
create table if not exists validation.row_issues (
    file_sha256 varchar not null, load_id varchar not null, row_number integer not null,
    department_code varchar not null, category_code varchar not null, suite varchar not null,
    rule_id varchar not null, severity varchar not null, field varchar, offending_value varchar,
    run_id varchar not null
);
create table if not exists validation.validated_files (
    file_sha256 varchar primary key, run_id varchar not null, validated_at timestamp not null
);
create table if not exists validation.rules (
    rule_key varchar not null, rule_id varchar not null, suite varchar not null, severity varchar not null,
    field varchar not null, category_code varchar not null, field_header_zh varchar, description varchar,
    reason_zh varchar not null
);
-- 重码's reference names per code over the loads folded in (validation/code_names.py)
create table if not exists validation.code_names (
    code varchar not null, register_position bigint, register_name varchar,
    first_position bigint not null, first_name varchar not null
);
create table if not exists validation.code_name_loads (load_seq bigint not null, basis varchar not null);
create table if not exists validation.expectation_results (
    run_id varchar not null, suite varchar not null, expectation varchar not null, rule_id varchar,
    severity varchar, success boolean not null, unexpected_count bigint, sample_values varchar,
    evaluated_at timestamp not null
);
create table if not exists ops.runs (
    run_id varchar primary key, flow_name varchar not null, start_date date, end_date date,
    started_at timestamp not null, finished_at timestamp, status varchar not null, message varchar
);
create table if not exists ops.run_stages (
    run_id varchar not null, position integer not null, stage varchar not null, seconds double not null,
    peak_rss_bytes bigint
);
-- warehouses created before the column was added
alter table ops.run_stages add column if not exists peak_rss_bytes bigint;
create table if not exists ops.dbt_builds (
    built_at timestamp not null, fingerprint varchar not null, full_refresh boolean not null,
    validated_through timestamp, validated_files bigint not null, validated_digest varchar not null
);
create table if not exists ops.feed_summary (
    run_id varchar not null, business_date date, department_code varchar, category_code varchar,
    source_file varchar not null, file_sha256 varchar, outcome varchar not null, rows_in integer,
    rows_loaded integer, rows_quarantined integer, rows_flagged integer, reasons varchar
);
"""


def feed_rows_ddl(catalogue: Catalogue) -> str:
    columns = [f"{name} {kind}" for name, kind in RAW_META_COLUMNS.items()]
    columns += [f"{field} varchar" for field in catalogue.all_fields]
    columns.append("extra_fields varchar")  # JSON object of columns the catalogue does not know (kept)
    columns.append(f"row_issue {ROW_ISSUE_COLUMN}")
    return "create table if not exists raw.feed_rows (\n    " + ",\n    ".join(columns) + "\n)"


def ensure_schema(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> None:
    """Create missing schemas/tables; add raw columns for fields a catalogue edit introduced."""
    con.execute(DDL)
    con.execute(feed_rows_ddl(catalogue))
    existing = {r[0] for r in con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'feed_rows'").fetchall()}
    for field in catalogue.all_fields:
        if field not in existing:
            con.execute(f"alter table raw.feed_rows add column {field} varchar")
    if "row_issue" not in existing:
        con.execute(f"alter table raw.feed_rows add column row_issue {ROW_ISSUE_COLUMN}")


def attach_marts_sql(marts_db: Path, read_only: bool) -> list[str]:
    """Statements that attach the marts file to a work connection and put its schema on the search
    path (the file must exist: a read-only attach does not create it)."""
    mode = " (read_only)" if read_only else f" (storage_version '{STORAGE_VERSION}')"
    return [f"attach if not exists '{marts_db}' as {MARTS_CATALOG}{mode}",
            f"set search_path = 'main,{MARTS_CATALOG}.{MARTS_SCHEMA}'"]


@contextmanager
def connect(path: Path, read_only: bool = False, memory_limit: str | None = None,
            marts_db: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is always closed: DuckDB holds a file lock while any handle is open.
    ``memory_limit`` caps DuckDB's memory (its default is 80% of RAM) for a step that reads a lot;
    ``marts_db``, when the file exists, is attached so ``marts.<table>`` reads the marts dbt built."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
        if marts_db is not None and marts_db.exists():
            for statement in attach_marts_sql(marts_db, read_only):
                con.execute(statement)
        yield con
    finally:
        con.close()
