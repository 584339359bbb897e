"""Working-day calendar (statutory holidays and 调休 adjusted workdays) as data.

The calendar lives in ``seeds/workday_calendar.csv`` (generated from chinesecalendar for the years it
knows) plus ``seeds/workday_calendar_overrides.csv`` that a steward extends when the State Council
publishes a new year. A date outside both fails loudly: guessing Monday-to-Friday would silently
mis-count deadlines around 调休 weekends.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from credit_warehouse.settings import SEEDS_DIR

CALENDAR_FILE = "workday_calendar.csv"
OVERRIDES_FILE = "workday_calendar_overrides.csv"
CALENDAR_COLUMNS = ["calendar_date", "is_workday", "day_kind", "holiday_name"]


class CalendarGapError(LookupError):
    """A date the working-day calendar does not know."""

    def __init__(self, day: dt.date) -> None:
        super().__init__(
            f"working-day calendar has no entry for {day.isoformat()}: add the {day.year} holidays and "
            f"调休 workdays to seeds/{OVERRIDES_FILE} (or run `creditwh calendar refresh` with a "
            f"chinesecalendar release that knows {day.year})"
        )
        self.day = day


@dataclass(frozen=True)
class WorkdayCalendar:
    workdays: dict[dt.date, bool]

    @classmethod
    def load(cls, seeds_dir: Path = SEEDS_DIR) -> WorkdayCalendar:
        days: dict[dt.date, bool] = {}
        for name in (CALENDAR_FILE, OVERRIDES_FILE):  # overrides win
            path = seeds_dir / name
            if path.exists():
                with path.open(encoding="utf-8") as handle:
                    for row in csv.DictReader(handle):
                        days[dt.date.fromisoformat(row["calendar_date"])] = row["is_workday"] == "true"
        return cls(days)

    def is_workday(self, day: dt.date) -> bool:
        try:
            return self.workdays[day]
        except KeyError:
            raise CalendarGapError(day) from None

    def workdays_after(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: how many working days a report made on ``end`` took."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)
        return count

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after ``start`` (the deadline for something decided on ``start``)."""
        day = start
        while n > 0:
            day += dt.timedelta(days=1)
            n -= self.is_workday(day)
        return day


def generate_calendar_rows(first_year: int, last_year: int) -> list[dict[str, str]]:
    """Rows for ``workday_calendar.csv`` from chinesecalendar (raises for years it does not know)."""
    import chinese_calendar

    rows = []
    day = dt.date(first_year, 1, 1)
    while day.year <= last_year:
        is_workday = chinese_calendar.is_workday(day)
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        weekend = day.weekday() >= 5
        if is_workday:
            kind = "adjusted_workday" if weekend else "workday"
        else:
            kind = "holiday" if (name and on_holiday) else "weekend" if weekend else "holiday"
        rows.append({"calendar_date": day.isoformat(), "is_workday": str(is_workday).lower(),
                     "day_kind": kind, "holiday_name": name or ""})
        day += dt.timedelta(days=1)
    return rows


def write_calendar(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CALENDAR_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
