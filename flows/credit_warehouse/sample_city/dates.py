"""Working-day arithmetic on a sorted index of the calendar, date formatting and broken dates."""

from __future__ import annotations

import bisect
import datetime as dt
import random

from credit_warehouse.workdays import CalendarGapError, WorkdayCalendar

ONE_DAY = dt.timedelta(days=1)


class WorkdayIndex:
    """Working days of a ``WorkdayCalendar`` by ordinal: shifting by n working days is one lookup.

    With ``workdays[o]`` the o-th working day, ``calendar.workdays_after(workdays[o - k], workdays[o])``
    is exactly k, which is how decision dates are placed relative to report dates.
    """

    def __init__(self, calendar: WorkdayCalendar) -> None:
        self.calendar = calendar
        self.days = sorted(d for d, is_workday in calendar.workdays.items() if is_workday)
        self.ordinal = {d: i for i, d in enumerate(self.days)}
        self.first, self.last = min(calendar.workdays), max(calendar.workdays)

    def is_workday(self, day: dt.date) -> bool:
        return self.calendar.is_workday(day)  # raises CalendarGapError outside the calendar

    def shift(self, day: dt.date, n: int) -> dt.date:
        """The working day n working days after (n > 0) or before (n < 0) the working day ``day``."""
        target = self.ordinal[day] + n
        if not 0 <= target < len(self.days):
            raise CalendarGapError(self.first if target < 0 else self.last + ONE_DAY)
        return self.days[target]

    def on_or_after(self, day: dt.date) -> dt.date | None:
        """The first working day on or after ``day`` (None past the calendar's end)."""
        i = bisect.bisect_left(self.days, day)
        return self.days[i] if i < len(self.days) else None

    def between(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Working days in [start, end]; every date of the range must be in the calendar."""
        self.is_workday(start)
        self.is_workday(end)
        return self.days[bisect.bisect_left(self.days, start):bisect.bisect_right(self.days, end)]


class DateText:
    """``strftime`` with a cache: records repeat a few hundred distinct dates."""

    def __init__(self) -> None:
        self._cache: dict[tuple[dt.date, str], str] = {}

    def __call__(self, day: dt.date, fmt: str) -> str:
        key = (day, fmt)
        text = self._cache.get(key)
        if text is None:
            if len(self._cache) > 200_000:
                self._cache.clear()
            text = self._cache[key] = day.strftime(fmt)
        return text


def broken_date(rng: random.Random, day: dt.date) -> str:
    """A date value no parser may accept: impossible month/day, or not a date at all."""
    y = day.year
    choices = (f"{y}/13/45", f"{y}-02-30", f"{y}1301", f"{y}-{day.month:02d}-32", f"{y}/00/{day.day:02d}",
               "昨天", "待定", "0000-00-00")
    return choices[rng.randrange(len(choices))]
