"""Which files a day brings, how many rows each, and which rows carry which defect.

Plans are cheap (no record is built) and depend only on the day, so the generator can look at
earlier days (corrections of their records arrive later) without generating them.

Guarantee: with a rate > 0, every defect kind is forced onto working days whose ordinal in the
calendar has a fixed residue mod 3 (unless the day's random draw already produced it). Any range of
three consecutive working days therefore holds every kind, while a day's files still do not depend
on the range they were generated in.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from credit_warehouse.sample_city.dates import WorkdayIndex
from credit_warehouse.sample_city.feeds import ACCOUNT_KINDS, ACCOUNT_SHARES, FeedSpec
from credit_warehouse.sample_city.population import Population
from credit_warehouse.sample_city.rates import (
    BAD_CHECK_CHAR,
    BAD_DATE,
    CORRECTED_RESEND,
    DUPLICATE_CODE,
    DUPLICATE_FILE,
    DUPLICATE_KEY,
    INVALID_PAIR,
    LATE_REPORT,
    MISSING_REQUIRED,
    UNIDENTIFIABLE_SUBJECT,
    UNKNOWN_REGION,
    DefectRates,
)
from credit_warehouse.sample_city.streams import poisson, stable_int, stream
from credit_warehouse.workdays import CalendarGapError

VICTIM = "victim"  # clean organisation row whose code (duplicate_code) or key (duplicate_key) the next row borrows
CORRECT = "correct"  # clean row re-sent later in a correction file
MAX_CORRECTION_LAG = 3  # working days between a record and its correction
# Residue (mod 3) of the working-day ordinal on which each kind is forced.
FORCE_RESIDUE = {BAD_CHECK_CHAR: 0, MISSING_REQUIRED: 0, DUPLICATE_FILE: 0, UNKNOWN_REGION: 0, INVALID_PAIR: 1,
                 BAD_DATE: 1, DUPLICATE_KEY: 1, DUPLICATE_CODE: 2, LATE_REPORT: 2, UNIDENTIFIABLE_SUBJECT: 2}
BORROWING = (DUPLICATE_CODE, DUPLICATE_KEY)  # kinds that copy a value of the row above (a VICTIM)
# Corrections are forced to land on two residues of three (lag 1): in any three consecutive working
# days one lands on the 2nd or 3rd day, so its original lies inside the range.
CORRECTION_RESIDUES = (0, 1)
ROW_DRAW_ORDER = (DUPLICATE_CODE, MISSING_REQUIRED, BAD_DATE, LATE_REPORT, UNKNOWN_REGION, DUPLICATE_KEY,
                  UNIDENTIFIABLE_SUBJECT, CORRECT)


@dataclass
class FilePlan:
    spec: FeedSpec
    day: dt.date
    n: int
    bound: Sequence[int] | None  # subject of each row (registrations, account holders), else None
    rows: dict[int, str] = field(default_factory=dict)  # row (0-based) -> defect kind / VICTIM / CORRECT
    lags: dict[int, int] = field(default_factory=dict)  # CORRECT row -> working days until the correction
    duplicate: bool = False


class Planner:
    def __init__(self, seed: int, specs: dict[str, FeedSpec], missing: list[tuple[str, str]],
                 population: Population, workdays: WorkdayIndex, rates: DefectRates) -> None:
        self.seed, self.population, self.workdays, self.rates = seed, population, workdays, rates
        skipped = set(missing)
        # Operational feeds (ledger, objections, repairs) follow the reported records: operations.py.
        active = [s for code, s in sorted(specs.items())
                  if (s.department.code, s.category.code) not in skipped and s.category.is_catalogue]
        self.daily = [s for s in active if s.feed.cadence != "monthly"]
        self.monthly = [s for s in active if s.feed.cadence == "monthly"]
        self.scale = population.size / 10_000
        self.plan_day = functools.lru_cache(maxsize=96)(self._plan_day)

    # -- what arrives on a day -------------------------------------------------------------------
    def delivers(self, spec: FeedSpec, day: dt.date) -> bool:
        """Monthly feeds deliver on their delivery day, or the next working day."""
        nominal = dt.date(day.year, day.month, min(spec.feed.delivery_day or 1, 28))
        return self.workdays.on_or_after(nominal) == day

    def bound_subjects(self, spec: FeedSpec, day: dt.date) -> Sequence[int] | None:
        if spec.layout.name == "registration":
            return self.population.registrations(day, spec.department.code)
        if spec.layout.name == "payment":
            code = spec.category.code
            return self.population.accounts(spec.code, ACCOUNT_SHARES.get(code, 0.2), ACCOUNT_KINDS.get(code))
        return None

    def _files(self, day: dt.date) -> list[FilePlan]:
        if not self.workdays.is_workday(day):  # departments do not deliver on weekends and holidays
            return []
        plans = []
        for spec in self.daily + [s for s in self.monthly if self.delivers(s, day)]:
            bound = self.bound_subjects(spec, day)
            if bound is not None:
                n = len(bound)
            else:
                weight = spec.weight * (20 if spec.feed.cadence == "monthly" else 1)
                n = poisson(stream(self.seed, day, spec.code, "n"), weight * self.scale)
            if n:
                plans.append(FilePlan(spec, day, n, bound))
        return plans

    # -- defects ---------------------------------------------------------------------------------
    def _row_ok(self, plan: FilePlan, row: int, kind: str) -> bool:
        """May ``row`` take ``kind`` without a second defect on the same record?"""
        if plan.rows.get(row) is not None:
            return False
        if plan.bound is not None and self.population.is_bad(plan.bound[row]):
            return False  # that record already carries its subject's defective code
        if kind in BORROWING:
            return row >= 1 and self._row_ok(plan, row - 1, VICTIM)
        return True

    def _file_ok(self, spec: FeedSpec, kind: str) -> bool:
        if kind in (BAD_CHECK_CHAR, INVALID_PAIR):
            return not spec.bound and spec.has_uscc and bool(self.population.bad_lists[kind])
        if kind == DUPLICATE_CODE:
            return spec.has_uscc and spec.layout.name != "registration"
        if kind == LATE_REPORT:
            return spec.layout.timeliness_applies
        if kind == UNKNOWN_REGION:
            return not spec.bound and spec.has_uscc
        if kind == DUPLICATE_KEY:
            return not spec.bound and spec.layout.key_fields == ("doc_number",)
        if kind == UNIDENTIFIABLE_SUBJECT:
            return not spec.bound and {"subject_type", "uscc", "id_number"} <= set(spec.field_names)
        return True

    def _assign(self, plan: FilePlan, row: int, kind: str, lag: int = 1) -> None:
        plan.rows[row] = kind
        if kind in BORROWING:
            plan.rows[row - 1] = VICTIM
        elif kind == CORRECT:
            plan.lags[row] = lag

    def _draw_rows(self, plan: FilePlan) -> None:
        rates = self.rates
        cuts, total = [], 0.0
        for kind in ROW_DRAW_ORDER:
            total += rates.rate(CORRECTED_RESEND if kind == CORRECT else kind)
            cuts.append((total, kind))
        rng = stream(self.seed, plan.day, plan.spec.code, "plan")
        if total > 0:
            allowed = {kind for kind in ROW_DRAW_ORDER if kind == CORRECT or self._file_ok(plan.spec, kind)}
            log_clean = math.log(1.0 - min(total, 0.999))
            row = -1
            while True:  # jump from one affected row to the next (geometric gaps): no draw per clean row
                row += 1 + int(math.log(1.0 - rng.random()) / log_clean)
                if row >= plan.n:
                    break
                u = rng.random() * total
                kind = next(k for cut, k in cuts if u < cut)
                if kind in allowed and self._row_ok(plan, row, kind):
                    self._assign(plan, row, kind, 1 + rng.randrange(MAX_CORRECTION_LAG))
        plan.duplicate = rng.random() < rates.duplicate_file

    def _rotated(self, plans: list[FilePlan], day: dt.date, kind: str) -> list[FilePlan]:
        start = stable_int(self.seed, day, kind, "force") % len(plans)
        return plans[start:] + plans[:start]

    def _force(self, plans: list[FilePlan], day: dt.date, kind: str, lag: int = 1) -> None:
        order = [p for p in self._rotated(plans, day, kind) if self._file_ok(p.spec, kind)] if plans else []
        for plan in order:
            row = next((r for r in range(plan.n) if self._row_ok(plan, r, kind)), None)
            if row is not None:
                self._assign(plan, row, kind, lag)
                return
        # No free row (small cities send few, short files): add a row to a feed that may carry the kind.
        specs = [s for s in self.daily if not s.bound and self._file_ok(s, kind)]
        if not specs:
            return
        spec = specs[stable_int(self.seed, day, kind, "extra-row") % len(specs)]
        plan = next((p for p in plans if p.spec is spec), None)
        if plan is None:
            plan = FilePlan(spec, day, 0, None)
            plans.append(plan)
            plans.sort(key=lambda p: p.spec.code)
        if kind in BORROWING and (plan.n == 0 or not self._row_ok(plan, plan.n - 1, VICTIM)):
            plan.n += 1  # the clean row whose code or key the next one borrows
        plan.n += 1
        self._assign(plan, plan.n - 1, kind, lag)

    def _plan_day(self, day: dt.date) -> tuple[FilePlan, ...]:
        plans = self._files(day)
        for plan in plans:
            self._draw_rows(plan)
        if not self.workdays.is_workday(day):
            return ()
        residue = self.workdays.ordinal[day] % 3
        for kind, wanted in FORCE_RESIDUE.items():
            if wanted != residue or not self.rates.enabled(kind):
                continue
            if kind == DUPLICATE_FILE:
                if plans and not any(p.duplicate for p in plans):
                    self._rotated(plans, day, kind)[0].duplicate = True
            elif kind in (BAD_CHECK_CHAR, INVALID_PAIR) or not any(kind in p.rows.values() for p in plans):
                self._force(plans, day, kind)
        if self.rates.enabled(CORRECTED_RESEND) and (residue + 1) % 3 in CORRECTION_RESIDUES:
            self._force(plans, day, CORRECT, lag=1)  # re-sent on the next working day
        return tuple(plans)

    def corrections_on(self, day: dt.date) -> Iterator[tuple[FilePlan, int]]:
        """(original file plan, row) of every record re-sent as a correction on ``day``."""
        if not self.rates.enabled(CORRECTED_RESEND) or not self.workdays.is_workday(day):
            return
        for lag in range(MAX_CORRECTION_LAG, 0, -1):
            try:
                earlier = self.workdays.shift(day, -lag)
            except CalendarGapError:
                continue
            for plan in self.plan_day(earlier):
                for row in sorted(r for r, k in plan.rows.items() if k == CORRECT and plan.lags[r] == lag):
                    yield plan, row
