"""Run the validation checkpoints and record their results in the work warehouse.

``validate_pending``: the rows of files not validated yet go through ``raw_batch_checkpoint`` (GX
runs every rule as SQL inside DuckDB), then, in one transaction, the offending rows of every rule
GX failed are written to ``validation.row_issues`` with the same predicate (a clean rule is not
scanned again), each rule's count is checked against GX's, one row per expectation goes to
``validation.expectation_results`` and the files are marked validated. Pending files are validated
in batches of whole files, in landing order, of at most ``BATCH_ROWS`` rows, each committed on its
own. A crash before a commit leaves that batch's files pending: re-running is safe, and a run with
nothing pending does nothing. To re-validate a file (after a catalogue change), delete it from
``validation.validated_files``: its old issues are replaced.

``run_mart_checks``: ``mart_checkpoint`` on the marts after dbt build; it reports, never fails.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

import duckdb
from credit_warehouse import faults
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.settings import Settings
from credit_warehouse.validation import gx_project, suites
from credit_warehouse.validation.code_names import refresh_code_names
from credit_warehouse.validation.expressions import literal
from credit_warehouse.validation.mart_checks import mart_plans
from credit_warehouse.validation.report import CheckResult, ValidationReport, file_validations
from credit_warehouse.validation.rule_table import write_rule_table
from credit_warehouse.validation.rules import (
    Rule,
    batch_statements,
    build_rules,
    offending_rows_sql,
    rule_source,
    timeliness_categories,
)
from credit_warehouse.validation.workday_table import CalendarSpan, check_calendar_covers, refresh_workday_calendar
from credit_warehouse.warehouse import connect, ensure_schema
from credit_warehouse.workdays import WorkdayCalendar

logger = logging.getLogger(__name__)

PENDING_TABLE = "validation.pending_rows"  # the batch: its derived columns and the raw columns they read
PENDING_RAW = "validation.pending_raw"  # a view: the batch's raw rows, read by the rules of delivered values
SAMPLE_SIZE = 20
# Rows validated in one batch. A year's backfill at 1,000,000 subjects (38M rows) as one batch had
# spilled 52 GB to DuckDB's temporary directory when it was stopped, its disk 90% full; a month of
# that city (3.0M rows) validates in ~30 s. Every rule reads a row, its file (copies of a record
# key) or the names kept per code over the whole raw history (重码), never other files of the batch,
# so batches of whole files find the same offending rows as one batch. Two months a batch rather than
# one: January and February (6.0M rows) validated in 62.0 s against 66.4 s (GX's ~110 queries and its
# stores cost per batch), peak RSS 2.6 against 1.8 GiB (DuckDB keeps more of the batch under its limit).
BATCH_ROWS = 6_000_000

PENDING_FILES_SQL = """
select file_sha256, rows_in, load_seq from raw.files
where file_sha256 not in (select file_sha256 from validation.validated_files)
order by load_seq, file_sha256
"""


@dataclass(frozen=True)
class Batch:
    """Whole pending files, consecutive in landing order (their load_seq range lets DuckDB skip the
    row groups of other files)."""

    files: list[str]
    first_seq: int
    last_seq: int

    def rows_sql(self, whole_range: bool) -> str:
        """The batch's raw rows; ``whole_range``: no other file has a load_seq in the batch's range, so
        the range alone selects them (the rules read them some 70 times: no list of files to test)."""
        rows = f"select * from raw.feed_rows where load_seq between {self.first_seq} and {self.last_seq}"
        return rows if whole_range else f"{rows} and file_sha256 in ({', '.join(literal(sha) for sha in self.files)})"


def pending_batches(con: duckdb.DuckDBPyConnection, max_rows: int) -> list[Batch]:
    """The files not validated yet, in batches of at most ``max_rows`` rows (a larger file alone)."""
    batches: list[Batch] = []
    files: list[str] = []
    rows = first = last = 0
    for sha, rows_in, seq in con.execute(PENDING_FILES_SQL).fetchall():
        if files and rows + rows_in > max_rows:
            batches.append(Batch(files, first, last))
            files, rows = [], 0
        if not files:
            first = seq
        files.append(sha)
        rows, last = rows + rows_in, seq
    if files:
        batches.append(Batch(files, first, last))
    return batches


def prepare_batch(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, rules: list[Rule], batch: Batch) -> None:
    """Point the raw-rows view at the batch and materialise its derived columns once: every rule reads
    one of the two (GX's count and sample, then the row_issues insert), not the whole history."""
    if con.execute("select 1 from duckdb_views() where schema_name = 'validation' and view_name = 'pending_rows'"
                   ).fetchall():
        con.execute(f"drop view {PENDING_TABLE}")  # warehouses of earlier releases had a view
    in_range = con.execute("select count(*) from raw.files where load_seq between ? and ?",
                           [batch.first_seq, batch.last_seq]).fetchone()
    con.execute(f"create or replace view {PENDING_RAW} as "
                f"{batch.rows_sql(whole_range=bool(in_range) and in_range[0] == len(batch.files))}")
    for statement in batch_statements(PENDING_RAW, catalogue, PENDING_TABLE, rules):
        con.execute(statement)


def release_batch(con: duckdb.DuckDBPyConnection) -> None:
    """Empty the batch (same columns) so a backfill's copy of the rows does not stay in the file, and
    point the raw-rows view at no rows."""
    con.execute(f"create or replace table {PENDING_TABLE} as select * from {PENDING_TABLE} limit 0")
    con.execute(f"create or replace view {PENDING_RAW} as select * from raw.feed_rows where false")


class ValidationCountMismatch(RuntimeError):
    """GX and the row_issues insert disagree on a rule's offending rows (the GX/DuckDB shim broke)."""


def _sample(rows: tuple[dict[str, Any], ...], column: str | None) -> str:
    """Up to SAMPLE_SIZE offending values (or whole rows) as JSON, first-seen order, distinct."""
    values: list[Any] = []
    for row in rows:
        value = row.get(column) if column else row
        if value not in values:
            values.append(value)
        if len(values) == SAMPLE_SIZE:
            break
    return json.dumps(values, ensure_ascii=False, default=str)


def _record_results(con: duckdb.DuckDBPyConnection, run_id: str,
                    outcomes: list[suites.ExpectationOutcome], column: str | None) -> None:
    now = dt.datetime.now()
    con.executemany(
        "insert into validation.expectation_results values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[run_id, o.suite, o.key, o.key.split(".")[0], o.severity, o.success, o.unexpected_count,
          _sample(o.sample_rows, column), now] for o in outcomes])


def _insert_issues(con: duckdb.DuckDBPyConnection, rule: Rule, run_id: str) -> int:
    """Write the offending pending rows of one rule; returns how many."""
    select = offending_rows_sql(rule, rule_source(rule, PENDING_TABLE, PENDING_RAW))
    inserted = con.execute(
        "insert into validation.row_issues select file_sha256, load_id, row_number, department_code, "
        "category_code, ?, ?, ?, ?, offending_value, ? from (" + select + ")",
        [rule.suite, rule.rule_id, rule.severity, rule.field, run_id]).fetchone()
    return int(inserted[0]) if inserted else 0


def _commit_raw_results(con: duckdb.DuckDBPyConnection, rules: list[Rule], run_id: str, files: list[str],
                        outcomes: dict[str, suites.ExpectationOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        con.execute("delete from validation.row_issues where file_sha256 in (select unnest(?))", [files])
        for rule in rules:
            expected = outcomes[rule.key].unexpected_count
            # A rule GX found no offending rows for has nothing to insert: skipping its scan saves
            # ~45% of the inserts (62 of 110 rules are clean in a month of the 1,000,000-subject city).
            counts[rule.key] = _insert_issues(con, rule, run_id) if expected else 0
            if counts[rule.key] != expected:
                raise ValidationCountMismatch(
                    f"rule {rule.key}: Great Expectations counted {expected} offending rows, "
                    f"row_issues received {counts[rule.key]}")
        _record_results(con, run_id, [outcomes[r.key] for r in rules], "offending_value")
        con.execute("insert or ignore into validation.validated_files "
                    "select unnest(?), ?, current_timestamp", [files, run_id])
        faults.reached("validate")  # crash test: checkpoint ran, row issues not committed
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts


def validate_pending(settings: Settings, catalogue: Catalogue, run_id: str) -> ValidationReport:
    """Validate every landed row of files not validated yet; see the module docstring."""
    rules = build_rules(catalogue, settings.report_deadline_workdays)
    with connect(settings.work_db) as con:
        ensure_schema(con, catalogue)
        write_rule_table(con, rules, catalogue)  # reasons of the current catalogue, even with nothing pending
        span = refresh_workday_calendar(con, WorkdayCalendar.load())
        batches = pending_batches(con, BATCH_ROWS)
    if not batches:
        logger.info("validation: no pending files")
        return ValidationReport(run_id)
    # Once, before the batches: they read 重码's reference names, and every pending row has landed.
    with connect(settings.work_db, memory_limit=settings.duckdb_memory_limit) as con:
        refresh_code_names(con, catalogue)
    reports = [_validate_batch(settings, catalogue, rules, run_id, span, batch) for batch in batches]
    counts = {rule.key: sum(r.rule_counts[rule.key] for r in reports) for rule in rules}
    report = ValidationReport(run_id, tuple(f for r in reports for f in r.files), counts, reports[-1].data_docs_index)
    logger.info("validation %s: %d files, %d rows in %d batch(es), %d quarantined, %d flagged", run_id,
                len(report.files), report.rows, len(batches), report.quarantined_rows, report.flagged_rows)
    return report


def _validate_batch(settings: Settings, catalogue: Catalogue, rules: list[Rule], run_id: str, span: CalendarSpan,
                    batch: Batch) -> ValidationReport:
    """One batch: materialise it, run the checkpoint on it, commit its row issues and files."""
    # a large batch spills, never swells
    with connect(settings.work_db, memory_limit=settings.duckdb_memory_limit) as con:
        prepare_batch(con, catalogue, rules, batch)
        check_calendar_covers(con, span, PENDING_RAW, timeliness_categories(rules))
    with gx_project.open_project(settings) as project:
        checkpoint = suites.sync_checkpoint(project.context, suites.RAW_CHECKPOINT, suites.raw_plans(rules))
        outcomes, identifiers = suites.run_checkpoint(checkpoint, run_id)
        project.close()  # GX's DuckDB connection is done: release it before writing
        with connect(settings.work_db, memory_limit=settings.duckdb_memory_limit) as con:
            counts = _commit_raw_results(con, rules, run_id, batch.files, outcomes)
            report = ValidationReport(run_id, file_validations(con, run_id, batch.files), counts)
            release_batch(con)
        index = project.build_data_docs(identifiers)
    return ValidationReport(report.run_id, report.files, report.rule_counts, index)


def _missing_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    present = {f"{s}.{t}" for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables").fetchall()}
    wanted = [f"{schema}.{table}" for schema, table in gx_project.ASSETS.values() if schema == "marts"]
    return [t for t in wanted if t not in present]


def run_mart_checks(settings: Settings, catalogue: Catalogue, run_id: str) -> list[CheckResult]:
    """Catalogue completeness and code quality on the marts; warnings only, never raises for data."""
    plans = mart_plans(catalogue)
    specs = [spec for plan in plans for spec in plan.specs]
    with connect(settings.work_db, marts_db=settings.marts_db) as con:
        ensure_schema(con, catalogue)
        missing = _missing_tables(con)
    if missing:
        error = f"mart tables not built: {', '.join(missing)}"
        logger.warning("mart checks skipped: %s", error)
        return [CheckResult(s.suite, s.key, s.severity, False, None, description=s.description, error=error)
                for s in specs]
    try:
        with gx_project.open_project(settings) as project:
            checkpoint = suites.sync_checkpoint(project.context, suites.MART_CHECKPOINT, plans)
            outcomes, identifiers = suites.run_checkpoint(checkpoint, run_id)
            project.close()
            faults.reached("checks")  # crash test: mart checks ran, results not recorded
            with connect(settings.work_db) as con:
                con.execute("begin transaction")
                _record_results(con, run_id, [outcomes[s.key] for s in specs], None)
                con.execute("commit")
            project.build_data_docs(identifiers)
    except Exception as exc:  # noqa: BLE001 - mart checks report, they never fail the run
        logger.warning("mart checks failed to run: %s: %s", type(exc).__name__, exc)
        return [CheckResult(s.suite, s.key, s.severity, False, None, description=s.description,
                            error=f"{type(exc).__name__}: {exc}") for s in specs]
    results = []
    for spec in specs:
        outcome = outcomes[spec.key]
        results.append(CheckResult(spec.suite, spec.key, spec.severity, outcome.success, outcome.unexpected_count,
                                   outcome.sample_rows[:SAMPLE_SIZE], spec.description))
        if not outcome.success:
            logger.warning("mart check %s: %d offending rows", spec.key, outcome.unexpected_count)
    return results
