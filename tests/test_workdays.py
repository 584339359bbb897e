"""The working-day calendar as data (issue "indicators", item 1): statutory holidays and 调休 workdays from
chinesecalendar in seeds/, a steward-editable override file for later years, and a loud failure naming
the year to add for any date outside both."""

from __future__ import annotations

import csv
import datetime as dt
import shutil

import pytest
from credit_warehouse.settings import SEEDS_DIR
from credit_warehouse.workdays import (
    CALENDAR_FILE,
    OVERRIDES_FILE,
    CalendarGapError,
    WorkdayCalendar,
    generate_calendar_rows,
)

D = dt.date


def test_2026_national_day_and_its_adjusted_workdays():
    calendar = WorkdayCalendar.load()
    assert calendar.is_workday(D(2026, 9, 20)) and calendar.is_workday(D(2026, 10, 10))  # Sun, Sat: 调休
    assert not any(calendar.is_workday(D(2026, 9, day)) for day in (25, 26, 27))  # Mid-Autumn
    assert not any(calendar.is_workday(D(2026, 10, day)) for day in range(1, 8))  # National Day
    # decided Mon 09-28, reported Mon 10-12: 09-29, 09-30, 10-08, 10-09, Sat 10-10, 10-12
    assert calendar.workdays_after(D(2026, 9, 28), D(2026, 10, 12)) == 6
    # decided Thu 09-17, reported Tue 09-29: 09-18, Sun 09-20, 09-21..24, 09-28, 09-29
    assert calendar.workdays_after(D(2026, 9, 17), D(2026, 9, 29)) == 8
    assert calendar.add_workdays(D(2026, 9, 24), 7) == D(2026, 10, 12)


def test_the_seed_is_what_chinesecalendar_says():
    with (SEEDS_DIR / CALENDAR_FILE).open(encoding="utf-8") as handle:
        seeded = [row for row in csv.DictReader(handle) if row["calendar_date"].startswith("2026-")]
    assert seeded == generate_calendar_rows(2026, 2026)


def test_a_date_outside_the_calendar_names_the_year_to_add():
    calendar = WorkdayCalendar.load()
    with pytest.raises(CalendarGapError, match=f"add the 2027 holidays .*seeds/{OVERRIDES_FILE}"):
        calendar.is_workday(D(2027, 1, 4))
    with pytest.raises(CalendarGapError, match="2027"):
        calendar.workdays_after(D(2026, 12, 30), D(2027, 1, 5))  # never a silent Monday-to-Friday guess


def test_a_steward_extends_the_calendar_with_overrides(tmp_path):
    shutil.copy(SEEDS_DIR / CALENDAR_FILE, tmp_path / CALENDAR_FILE)
    with (tmp_path / OVERRIDES_FILE).open("w", encoding="utf-8", newline="") as handle:
        handle.write("calendar_date,is_workday,day_kind,holiday_name\n"
                     "2027-01-01,false,holiday,New Year's Day\n"
                     "2027-01-04,true,workday,\n"
                     "2026-12-31,false,holiday,steward correction\n")  # overrides win over the generated seed
    calendar = WorkdayCalendar.load(tmp_path)
    assert not calendar.is_workday(D(2027, 1, 1)) and calendar.is_workday(D(2027, 1, 4))
    assert not calendar.is_workday(D(2026, 12, 31))
    with pytest.raises(CalendarGapError, match="2027-01-05"):
        calendar.is_workday(D(2027, 1, 5))
