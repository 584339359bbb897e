"""Prefect flows: ``daily_load(date)`` and ``backfill(start, end)``.

discover -> land raw -> validate (Great Expectations, SQL in DuckDB) -> dbt build -> checks
(row conservation, mart expectations) -> steward review (page and correction lists) -> publish.
A backfill lands and validates every day of the range, then builds and publishes once.
Re-running is safe: already-landed files are skipped by hash.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.inbox import InboxFile, discover
from credit_warehouse.landing import LandingResult
from credit_warehouse.landing import land_files as land_inbox_files
from credit_warehouse.landing import prepare as prepare_landing
from credit_warehouse.publish import MartsCopy, publish, start_copy
from credit_warehouse.recovery import recover, run_lock
from credit_warehouse.run_summary import RunSummary, feed_results, record_summary
from credit_warehouse.settings import Settings, load_settings
from credit_warehouse.stage_meter import StageUsage, metered, release_unused_memory
from credit_warehouse.steward.build import ReviewResult, build_review
from credit_warehouse.transform import build
from credit_warehouse.validation.runner import run_mart_checks, validate_pending
from credit_warehouse.warehouse import connect, ensure_schema

CITY_TIMEZONE = ZoneInfo("Asia/Shanghai")
TASK_OPTIONS = {"cache_policy": NO_CACHE, "retry_delay_seconds": 2}
T = TypeVar("T")


def yesterday() -> dt.date:
    """The default business date: yesterday in the city's time zone (files of a day land overnight)."""
    return dt.datetime.now(CITY_TIMEZONE).date() - dt.timedelta(days=1)


@task(name="discover", retries=2, **TASK_OPTIONS)
def discover_files(settings: Settings, catalogue: Catalogue, start: dt.date, end: dt.date) -> list[InboxFile]:
    return discover(settings.inbox, catalogue, start, end)


@task(name="land-raw", retries=2, **TASK_OPTIONS)
def land_files(settings: Settings, catalogue: Catalogue, files: list[InboxFile], run_id: str) -> list[LandingResult]:
    # Files land in committed groups, so a retry after a crash resumes after the last whole group.
    with connect(settings.work_db) as con:
        ensure_schema(con, catalogue)
        prepare_landing(con)
        return land_inbox_files(con, files, catalogue, run_id)


@task(name="validate", retries=1, **TASK_OPTIONS)
def validate(settings: Settings, catalogue: Catalogue, run_id: str):  # noqa: ANN201 - ValidationReport
    return validate_pending(settings, catalogue, run_id)


@task(name="dbt-build", retries=1, **TASK_OPTIONS)
def dbt_build(settings: Settings) -> int:
    return len(build(settings, *([] if settings.dbt_tests else ["--exclude", "resource_type:test"])))


@task(name="conservation-check", **TASK_OPTIONS)
def summarise(settings: Settings, summary: RunSummary) -> RunSummary:
    with connect(settings.work_db) as con:
        summary.feeds = feed_results(con, summary.run_id)
    return summary


@task(name="mart-checks", **TASK_OPTIONS)
def mart_checks(settings: Settings, catalogue: Catalogue, run_id: str) -> list:
    return run_mart_checks(settings, catalogue, run_id)


@task(name="steward-review", retries=1, **TASK_OPTIONS)
def steward_review(settings: Settings) -> ReviewResult:
    return build_review(settings)


@task(name="publish", retries=2, **TASK_OPTIONS)
def publish_marts(settings: Settings, copied: MartsCopy | None) -> list[str]:
    return publish(settings, copied)


def timed(summary: RunSummary, stage: str, task_fn: Callable[..., T], *args: Any) -> T:
    """Run one stage and keep its wall time and peak RSS (ops.run_stages): where a slow or large load
    spends its time and memory."""
    usage = StageUsage()
    try:
        with metered() as usage:
            return task_fn(*args)
    finally:  # the block's exit has filled usage in, also when the stage failed
        summary.stage_seconds[stage] = round(usage.seconds, 3)
        summary.stage_peak_rss[stage] = usage.peak_rss
        release_unused_memory()  # so the next stage starts from what this one still holds


def _record_run(settings: Settings, summary: RunSummary, started: bool) -> None:
    with connect(settings.work_db) as con:
        ensure_schema(con, Catalogue.load())
        if started:
            interrupted = recover(con, settings)  # we hold the run lock: 'running' rows are dead runs
            if interrupted:
                get_run_logger().warning("runs interrupted before finishing, completed now: %s", ", ".join(interrupted))
            con.execute("insert into ops.runs values (?, ?, ?, ?, current_timestamp, null, 'running', null)",
                        [summary.run_id, summary.flow_name, summary.start_date, summary.end_date])
        else:
            con.execute("update ops.runs set finished_at = current_timestamp, status = ?, message = ? "
                        "where run_id = ?", [summary.status, summary.message, summary.run_id])
            record_summary(con, summary)  # also a run without files, or one that failed: its stages ran


def load_range(flow_name: str, start: dt.date, end: dt.date, home: str | None) -> RunSummary:
    if end < start:
        raise ValueError(f"end date {end} is before start date {start}")
    settings = load_settings(home)
    settings.ensure_dirs()
    catalogue = Catalogue.load()
    run_id = f"{flow_name}-{dt.datetime.now(CITY_TIMEZONE):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    summary = RunSummary(run_id, flow_name, start.isoformat(), end.isoformat())
    with run_lock(settings):
        return _load_locked(settings, catalogue, summary, start, end)


def _load_locked(settings: Settings, catalogue: Catalogue, summary: RunSummary, start: dt.date,
                 end: dt.date) -> RunSummary:
    logger = get_run_logger()
    run_id = summary.run_id
    _record_run(settings, summary, started=True)
    try:
        files = timed(summary, "discover", discover_files, settings, catalogue, start, end)
        # quoted: Prefect would visit each of a year's 77,055 files for task inputs and futures, ~4.8 s
        timed(summary, "land", land_files, settings, catalogue, quote(files), run_id)
        report = timed(summary, "validate", validate, settings, catalogue, run_id)
        summary.data_docs = str(getattr(report, "data_docs_index", "") or "") or None
        timed(summary, "dbt_build", dbt_build, settings)
        timed(summary, "conservation_check", summarise, settings, summary)
        timed(summary, "mart_checks", mart_checks, settings, catalogue, run_id)
        copied = start_copy(settings)  # publish's copy of the marts file, during the review (publish.py)
        try:
            review = timed(summary, "steward_review", steward_review, settings)
            summary.review_page = str(review.page)
            summary.published_tables = timed(summary, "publish", publish_marts, settings, copied)
        finally:
            if copied is not None:
                copied.discard()
        rejected = summary.totals()["files_rejected"]
        summary.status = "succeeded_with_rejections" if rejected else "succeeded"
        summary.message = f"{rejected} file(s) rejected" if rejected else None
    except Exception as exc:
        summary.status, summary.message = "failed", f"{type(exc).__name__}: {exc}"
        logger.error("run %s failed: %s", run_id, summary.message)
        raise
    finally:
        _record_run(settings, summary, started=False)
    logger.info("run %s %s: %s", run_id, summary.status, summary.totals())
    return summary


@flow(name="daily-load", log_prints=True)
def daily_load(business_date: dt.date | None = None, home: str | None = None) -> RunSummary:
    """Load one business day (default: yesterday, Asia/Shanghai) of department and utility feeds."""
    day = business_date or yesterday()
    return load_range("daily-load", day, day, home)


@flow(name="backfill", log_prints=True)
def backfill(start: dt.date, end: dt.date, home: str | None = None) -> RunSummary:
    """Load every business day in [start, end]; builds and publishes once at the end."""
    return load_range("backfill", start, end, home)
