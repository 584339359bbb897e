"""The working-day calendar materialised as ``validation.workday_calendar`` for the timeliness rule.

``workday_index`` is the running count of working days up to and including each date, so the
working days in (decided, reported] are ``index(reported) - index(decided)``: a join, no per-row
loop or correlated subquery.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from credit_warehouse.workdays import CalendarGapError, WorkdayCalendar

TABLE = "validation.workday_calendar"


@dataclass(frozen=True)
class CalendarSpan:
    first_day: dt.date
    last_day: dt.date  # last day of the gap-free run of days starting at first_day


def calendar_span(calendar: WorkdayCalendar) -> CalendarSpan:
    """First day and the end of the contiguous part (overrides may leave a hole, e.g. a skipped year)."""
    days = sorted(calendar.workdays)
    if not days:
        raise CalendarGapError(dt.date.today())
    last = days[0]
    for day in days[1:]:
        if day != last + dt.timedelta(days=1):
            break
        last = day
    return CalendarSpan(days[0], last)


def refresh_workday_calendar(con: duckdb.DuckDBPyConnection, calendar: WorkdayCalendar) -> CalendarSpan:
    """Replace ``validation.workday_calendar`` with the seeds' calendar (overrides applied)."""
    days = sorted(calendar.workdays)
    table = pa.table({"calendar_date": pa.array(days, pa.date32()),
                      "is_workday": pa.array([calendar.workdays[d] for d in days], pa.bool_())})
    con.register("workday_calendar_seed", table)
    try:
        con.execute(f"""
            create or replace table {TABLE} as
            select calendar_date, is_workday,
                   cast(sum(case when is_workday then 1 else 0 end) over (order by calendar_date) as integer)
                       as workday_index
            from workday_calendar_seed order by calendar_date""")
    finally:
        con.unregister("workday_calendar_seed")
    return calendar_span(calendar)


def check_calendar_covers(con: duckdb.DuckDBPyConnection, span: CalendarSpan, source: str,
                          categories: tuple[str, ...]) -> None:
    """Raise CalendarGapError (naming the year to add) if a report date of ``categories`` in ``source``
    lies beyond the calendar: counting its lag would mean guessing the working days."""
    if not categories:
        return
    placeholders = ", ".join("?" for _ in categories)
    latest = con.execute(f"select max(business_date) from {source} where category_code in ({placeholders})",
                         list(categories)).fetchone()[0]
    if latest is not None and latest > span.last_day:
        raise CalendarGapError(span.last_day + dt.timedelta(days=1))
