"""Generate the sample city's deliveries into an inbox, file by file, and describe them in a manifest.

Each record is rebuilt from its own stream (seed, day, feed, row): the generator keeps one file's
state at a time, never the range's records, and can rebuild an earlier record for a correction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.codes import resident_id_check_char, uscc_check_char
from credit_warehouse.inbox import inbox_path
from credit_warehouse.sample_city.dates import DateText, WorkdayIndex, broken_date
from credit_warehouse.sample_city.feeds import HOT_CATEGORIES, FeedSpec, feed_specs, missing_feeds
from credit_warehouse.sample_city.manifest import (
    Correction,
    GeneratedFile,
    GenerationManifest,
    InjectedDefect,
)
from credit_warehouse.sample_city.names import person_name
from credit_warehouse.sample_city.operations import Operations
from credit_warehouse.sample_city.plans import CORRECT, VICTIM, FilePlan, Planner
from credit_warehouse.sample_city.population import Population, Subject
from credit_warehouse.sample_city.rates import (
    BAD_DATE,
    CORRECTED_RESEND,
    DUPLICATE_CODE,
    DUPLICATE_FILE,
    DUPLICATE_KEY,
    LATE_REPORT,
    MISSING_CATEGORY,
    MISSING_REQUIRED,
    SUBJECT_KINDS,
    UNIDENTIFIABLE_SUBJECT,
    UNKNOWN_REGION,
    DefectRates,
)
from credit_warehouse.sample_city.records import (
    BUILDERS,
    Context,
    Record,
    build_fulfilment,
    build_payment,
    build_registration,
    build_special,
    correct,
    doc_number,
)
from credit_warehouse.sample_city.streams import mix64, stable_int, stream
from credit_warehouse.sample_city.writers import write_table
from credit_warehouse.workdays import CalendarGapError, WorkdayCalendar

GENERATOR_VERSION = 1
HISTORY_START = dt.date(1995, 1, 1)  # earliest establishment date of pre-existing organisations
HOT_PICK_SHARE = 0.2
# Monthly amount range (yuan) per account, by category: tax, social insurance, fund, water, power, gas.
PAYMENT_BASE = {"C21": (2_000.0, 300_000.0), "C22": (3_000.0, 200_000.0), "C23": (1_000.0, 100_000.0),
                "C24": (50.0, 20_000.0), "C25": (300.0, 300_000.0), "C26": (100.0, 50_000.0)}
ARREARS_EPOCH = 2025 * 12  # month index (year * 12 + month - 1) from which arrears episodes start
CHRONIC_ARREARS, EPISODIC_ARREARS = 0.02, 0.05  # shares of accounts


def parameters(seed: int, subjects: int, start: dt.date, end: dt.date, deadline: int,
               defects: DefectRates) -> dict[str, object]:
    return {"seed": seed, "subjects": subjects, "start": start.isoformat(), "end": end.isoformat(),
            "report_deadline_workdays": deadline, "defects": dataclasses.asdict(defects),
            "generator_version": GENERATOR_VERSION}


@dataclass
class Built:
    record: Record
    subject: Subject
    lateness: int | None  # working days from decision to report, when timeliness applies


# Two-digit prefixes no province-level division has (seeds/region_prefixes.csv): unknown regions.
UNKNOWN_REGION_PREFIXES = ("29", "39", "48", "58", "68", "77", "88", "99")


class CityGenerator:
    def __init__(self, inbox: Path, start: dt.date, end: dt.date, seed: int, subjects: int,
                 defects: DefectRates, deadline: int, catalogue: Catalogue, calendar: WorkdayCalendar,
                 range_start: dt.date | None = None) -> None:
        """``range_start``: start of the whole range when this generator makes one chunk of it
        (a correction is a defect only when its original lies in the whole range)."""
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        if deadline < 0:
            raise ValueError("report_deadline_workdays must be >= 0")
        self.inbox, self.start, self.end, self.seed = inbox, start, end, seed
        self.range_start = range_start or start
        self.defects, self.deadline = defects, deadline
        self.workdays = WorkdayIndex(calendar)
        self.days = self.workdays.between(start, end)  # fails loudly outside the calendar
        self.specs = feed_specs(seed, catalogue)
        self.missing = missing_feeds(seed, self.specs, defects.missing_category_departments)
        self.population = Population(seed, subjects, catalogue, defects, self.workdays)
        self.planner = Planner(seed, self.specs, self.missing, self.population, self.workdays, defects)
        self.commitment_feeds = {s.department.code: s for s in self.planner.daily
                                 if s.layout.name == "commitment"}
        self.names = {code: spec.field_names for code, spec in self.specs.items()}
        self.text = DateText()
        self.rng = random.Random()
        self._file_seeds: dict[tuple[str, dt.date], int] = {}
        self._account_salts: dict[str, int] = {}
        self._code_details: dict[str, str] = {}
        self.bad_codes: dict[str, dict[str, None]] = {kind: {} for kind in SUBJECT_KINDS}
        self.manifest = GenerationManifest(parameters=parameters(
            seed, subjects, self.range_start, end, deadline, defects))
        self.operations = Operations(self)  # decision ledgers, objections and repairs

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> GenerationManifest:
        self.inbox.mkdir(parents=True, exist_ok=True)
        for day in self.days:
            for plan in self.planner.plan_day(day):
                self.write_delivery(plan)
            self.write_corrections(day)
            self.operations.write_day(day)
        manifest = self.manifest
        manifest.missing_feeds = list(self.missing)
        for department, category in self.missing:
            manifest.defects.append(InjectedDefect(
                MISSING_CATEGORY, department, category, None, None, None, None, None,
                "responsible for the category, never delivers it"))
        manifest.bad_subject_codes = {kind: list(codes) for kind, codes in self.bad_codes.items() if codes}
        manifest.population = self.population.describe()
        return manifest

    # -- building records ------------------------------------------------------------------------
    def file_seed(self, spec: FeedSpec, day: dt.date) -> int:
        key = (spec.code, day)
        seed = self._file_seeds.get(key)
        if seed is None:
            if len(self._file_seeds) > 4096:
                self._file_seeds.clear()
            seed = self._file_seeds[key] = stable_int(self.seed, day, spec.code, "records")
        return seed

    def pick(self, rng: random.Random, spec: FeedSpec, kind: str | None) -> int:
        population = self.population
        if kind in SUBJECT_KINDS:
            candidates = population.bad_lists[kind]
            return candidates[rng.randrange(len(candidates))]
        need_org = kind in (DUPLICATE_CODE, VICTIM)
        share = 0.0 if need_org else spec.person_share
        if share >= 1.0 or (share > 0 and rng.random() < share):
            return population.org_count + rng.randrange(population.size - population.org_count)
        if spec.category.code in HOT_CATEGORIES and rng.random() < HOT_PICK_SHARE:
            index = population.hot[rng.randrange(len(population.hot))]
        else:
            index = rng.randrange(population.org_count)
        for _ in range(1000):  # a row with another defect (or to be corrected) needs a clean subject
            if kind is None or not population.is_bad(index):
                return index
            index = rng.randrange(population.org_count)
        raise RuntimeError("no organisation with a valid code: lower the bad code rates")

    def build(self, plan: FilePlan, row: int, rng: random.Random | None = None) -> Built:
        spec, day, kind = plan.spec, plan.day, plan.rows.get(row)
        avoid = None
        if kind == DUPLICATE_CODE and plan.bound is None:  # borrow the code of a *different* subject
            avoid = self.build(plan, row - 1, random.Random()).subject.index
        rng = rng or self.rng
        rng.seed(self.file_seed(spec, day) + row)
        if plan.bound is not None:
            subject = self.population.subject(plan.bound[row])
        else:
            index = self.pick(rng, spec, kind)
            while index == avoid:
                index = self.pick(rng, spec, kind)
            subject = self.population.subject(index)
        lateness = None
        decision = day
        if spec.layout.timeliness_applies:
            lateness = self.lateness(rng, kind, plan.lags.get(row, 0))
            decision = self.workdays.shift(day, -lateness)
        ctx = Context(spec, day, decision, row, rng, self.text)
        layout = spec.layout.name
        if layout == "registration":
            record = build_registration(ctx, subject, self.established(rng, day))
        elif layout == "payment":
            arrears, base = self.account_state(spec, subject, day)
            record = build_payment(ctx, subject, arrears, base)
        elif layout == "fulfilment":
            ref, cited = self.commitment_ref(spec, day, rng)
            # A VICTIM lends its organisation's code to the next row: it keeps its picked organisation.
            if cited is not None and kind not in (*SUBJECT_KINDS, DUPLICATE_CODE, VICTIM) and (
                    kind is None or cited.defect is None):
                subject = cited  # the fulfilment is about the subject that made the commitment
            record = build_fulfilment(ctx, subject, ref)
        else:
            record = BUILDERS.get(layout, build_special)(ctx, subject)
        return Built(record, subject, lateness)

    def lateness(self, rng: random.Random, kind: str | None, lag: int) -> int:
        n = self.deadline
        if kind == LATE_REPORT:  # just late (boundary), somewhat late, or weeks late
            r = rng.random()
            return n + 1 if r < 0.4 else n + 1 + (rng.randint(1, 5) if r < 0.8 else rng.randint(6, 40))
        if kind == CORRECT:  # the correction must be on time too
            return rng.randint(0, max(0, n - lag))
        return min(n, int(rng.expovariate(0.4))) if rng.random() < 0.6 else rng.randint(0, n)

    def established(self, rng: random.Random, day: dt.date) -> dt.date:
        if rng.random() < 0.4:  # newly registered
            return self.workdays.shift(day, -rng.randint(0, 5))
        return HISTORY_START + dt.timedelta(days=rng.randrange((day - HISTORY_START).days - 60))

    def account_state(self, spec: FeedSpec, subject: Subject, day: dt.date) -> tuple[bool, float]:
        """(in arrears this billing month, typical monthly amount): stable per account."""
        salt = self._account_salts.get(spec.code)
        if salt is None:
            salt = self._account_salts[spec.code] = stable_int(self.seed, "account", spec.code)
        h = mix64(salt ^ subject.index)
        low, high = PAYMENT_BASE.get(spec.category.code, (100.0, 10_000.0))
        base = low * (high / low) ** ((h >> 40) / float(1 << 24))
        month = day.year * 12 + day.month - 2  # the billing month is the previous one
        u = (h & 0xFFFF) / 65536
        first = ARREARS_EPOCH + (h >> 16) % 24
        if u < CHRONIC_ARREARS:
            return month >= first, base
        if u < CHRONIC_ARREARS + EPISODIC_ARREARS:
            return first <= month < first + 3 + (h >> 24) % 4, base
        return False, base

    def commitment_ref(self, spec: FeedSpec, day: dt.date, rng: random.Random) -> tuple[str, Subject | None]:
        """A commitment (C16) this fulfilment refers to: a real earlier record when there is one."""
        back = self.deadline + 2 + rng.randint(0, 40)
        row = rng.randrange(50)
        try:
            earlier = self.workdays.shift(day, -back)
        except CalendarGapError:
            return doc_number(spec, day, day, row, layout="commitment"), None
        source = self.commitment_feeds.get(spec.department.code)
        plan = next((p for p in self.planner.plan_day(earlier) if p.spec is source), None)
        if plan is None:
            return doc_number(source or spec, earlier, earlier, row, layout="commitment"), None
        built = self.build(plan, row % plan.n, random.Random())
        return built.record["doc_number"], built.subject

    # -- defects ---------------------------------------------------------------------------------
    def inject(self, plan: FilePlan, row: int, built: Built, previous: Subject | None
               ) -> tuple[str, str, str, str] | None:
        """Apply the row's planned defect; returns (kind, field, value as written, detail) or None."""
        kind, record, subject, spec = plan.rows.get(row), built.record, built.subject, plan.spec
        if kind in (None, CORRECT, VICTIM) or kind in SUBJECT_KINDS:
            if subject.defect is None:
                return None
            return subject.defect, "uscc", subject.code, self.code_detail(subject)
        rng = self.rng
        if kind == DUPLICATE_CODE:
            assert previous is not None and not previous.is_person
            record["uscc"] = previous.code
            return kind, "uscc", previous.code, f"code of {previous.name}; {subject.name} has {subject.code}"
        if kind == MISSING_REQUIRED:
            field, why = self.blank_field(spec, record, subject, rng)
            record[field] = ""
            return kind, field, "", why
        if kind == BAD_DATE:
            dates = [f for f in spec.date_fields if record.get(f)] or list(spec.date_fields)
            event = spec.layout.event_date_field
            field = event if event in dates and rng.random() < 0.6 else dates[rng.randrange(len(dates))]
            record[field] = broken_date(rng, plan.day)
            return kind, field, record[field], "not a valid calendar date"
        if kind == LATE_REPORT:
            field = spec.layout.event_date_field
            return kind, field, record[field], f"{built.lateness} working days > {self.deadline}"
        if kind == UNKNOWN_REGION:
            return self.unknown_region(record, subject, rng)
        if kind == DUPLICATE_KEY:  # the key of the row above, on a different record
            record["doc_number"] = self.build(plan, row - 1, random.Random()).record["doc_number"]
            return kind, "doc_number", record["doc_number"], f"same key as row {row} (the row above), other values"
        if kind == UNIDENTIFIABLE_SUBJECT:
            for field in ("subject_type", "uscc", "legal_rep", "id_type", "id_number"):
                record[field] = ""
            return kind, "uscc", "", f"{subject.subject_type} delivered without 行政相对人类别 and without a code"
        raise AssertionError(f"unknown planned defect {kind}")

    @staticmethod
    def unknown_region(record: Record, subject: Subject, rng: random.Random) -> tuple[str, str, str, str]:
        """The subject's code with a region whose province-level prefix does not exist (a check
        character that fits, so only the region rule can tell)."""
        prefix = UNKNOWN_REGION_PREFIXES[rng.randrange(len(UNKNOWN_REGION_PREFIXES))]
        if subject.is_person:
            first17 = prefix + subject.code[2:17]
            field, code = "id_number", first17 + resident_id_check_char(first17)
        else:
            first17 = subject.code[:2] + prefix + subject.code[4:17]
            field, code = "uscc", first17 + uscc_check_char(first17)
        record[field] = code
        return UNKNOWN_REGION, field, code, "valid code would be " + ("the person's ID" if subject.is_person
                                                                     else subject.code)

    def code_detail(self, subject: Subject) -> str:
        """One shared detail string per defective subject (benchmark manifests hold millions)."""
        detail = self._code_details.get(subject.code)
        if detail is None:
            detail = f"valid code would be {self.population.true_code(subject)}"
            self._code_details[subject.code] = detail
        return detail

    @staticmethod
    def blank_field(spec: FeedSpec, record: Record, subject: Subject, rng: random.Random) -> tuple[str, str]:
        """A required field to blank: conditional requirements (person ID, organisation code and
        representative, fine amount of a fine) more often than plain ones."""
        names = spec.field_names
        conditional: list[tuple[str, str]] = []
        if subject.is_person and "id_number" in names:
            conditional.append(("id_number", "自然人 without 证件号码"))
        elif spec.layout.name not in ("registration", "payment"):
            conditional += [(f, f"organisation without {f}") for f in ("uscc", "legal_rep")
                            if f in names and record.get(f)]
        if record.get("fine_amount") and "罚款" in record.get("penalty_category", ""):
            conditional.append(("fine_amount", "处罚类别 contains 罚款 but no 罚款金额"))
        if conditional and rng.random() < 0.6:
            return conditional[rng.randrange(len(conditional))]
        keys = set(spec.layout.key_fields) | {"subject_type"}
        plain = [f.field for f in spec.fields
                 if f.requirement == "required" and f.field not in keys and record.get(f.field)]
        return plain[rng.randrange(len(plain))], "required field blank"

    # -- writing ---------------------------------------------------------------------------------
    def key_of(self, spec: FeedSpec, record: Record) -> str:
        return "|".join(record.get(k, "") for k in spec.layout.key_fields)

    def extra_value(self, spec: FeedSpec, day: dt.date, row: int, position: int) -> str:
        """Value of the feed's extra column for a record first sent on ``day`` as ``row``."""
        name = spec.extra
        if name == "序号":
            return str(position)
        if name == "内部编号":
            return f"NB{day:%Y%m%d}{row + 1:05d}"
        if name == "录入人":
            return person_name(mix64(stable_int(self.seed, "clerk", spec.code) + row % 3), row % 2 == 0)
        if name == "更新时间":
            return f"{day.isoformat()} {8 + row % 10:02d}:{row * 7 % 60:02d}:{row * 13 % 60:02d}"
        return f"{spec.department.name}业务系统"

    def row_values(self, spec: FeedSpec, record: Record, day: dt.date, row: int, position: int) -> list[str]:
        values = [record.get(name, "") for name in self.names[spec.code]]
        if spec.extra:
            extra = self.extra_value(spec, day, row, position)
            if spec.extra_first:
                values.insert(0, extra)
            else:
                values.append(extra)
        return values

    def relative(self, path: Path) -> str:
        return path.relative_to(self.inbox).as_posix()

    def path_of(self, spec: FeedSpec, day: dt.date, tag: str | None = None) -> Path:
        feed = spec.feed
        return inbox_path(self.inbox, feed.department_code, feed.category_code, day, feed.file_format, tag)

    def add_file(self, path: Path, spec: FeedSpec, day: dt.date, rows: int, role: str) -> None:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self.manifest.files.append(GeneratedFile(
            self.relative(path), spec.department.code, spec.category.code, day, spec.feed.file_format,
            spec.feed.encoding, rows, role, digest.hexdigest()))

    def write(self, path: Path, spec: FeedSpec, day: dt.date, rows: Iterator[list[str]], total: int) -> int:
        feed = spec.feed
        return write_table(path, feed.file_format, feed.encoding, spec.headers, rows, total, spec.crlf, day,
                           spec.department.name)

    def write_delivery(self, plan: FilePlan) -> None:
        spec, day = plan.spec, plan.day
        path = self.path_of(spec, day)
        source = self.relative(path)
        department, category = spec.department.code, spec.category.code

        def rows() -> Iterator[list[str]]:
            previous: Subject | None = None
            for row in range(plan.n):
                built = self.build(plan, row)
                found = self.inject(plan, row, built, previous)
                if found is not None:
                    kind, field, value, detail = found
                    if kind in SUBJECT_KINDS:
                        self.bad_codes[kind][value] = None
                    self.manifest.defects.append(InjectedDefect(
                        kind, department, category, source, row + 1, field, value,
                        self.key_of(spec, built.record), detail))
                previous = built.subject
                yield self.row_values(spec, built.record, day, row, row + 1)

        count = self.write(path, spec, day, rows(), plan.n)
        self.add_file(path, spec, day, count, "delivery")
        if plan.duplicate:
            copy = self.path_of(spec, day, "resend")
            shutil.copyfile(path, copy)
            self.add_file(copy, spec, day, count, "duplicate")
            self.manifest.duplicate_files.append((source, self.relative(copy)))
            self.manifest.defects.append(InjectedDefect(
                DUPLICATE_FILE, department, category, self.relative(copy), None, None, None, None,
                "byte-identical copy of the original delivery", original_file=source))

    def write_corrections(self, day: dt.date) -> None:
        groups: dict[str, list[tuple[FilePlan, int]]] = {}
        for plan, row in self.planner.corrections_on(day):
            groups.setdefault(plan.spec.code, []).append((plan, row))
        for code in sorted(groups):
            items = groups[code]
            spec = items[0][0].spec
            path = self.path_of(spec, day, "corr1")
            source = self.relative(path)

            def rows(items: list[tuple[FilePlan, int]] = items, spec: FeedSpec = spec, source: str = source
                     ) -> Iterator[list[str]]:
                for position, (plan, row) in enumerate(items, start=1):
                    record = dict(self.build(plan, row).record)
                    changed = correct(record, spec, stream(self.seed, "correct", plan.day, spec.code, row),
                                      lambda d: self.text(d, spec.feed.date_format), day)
                    original = self.relative(self.path_of(spec, plan.day))
                    key = self.key_of(spec, record)
                    in_range = plan.day >= self.range_start
                    self.manifest.corrections.append(Correction(
                        source, position, original, row + 1, spec.department.code, spec.category.code, key,
                        changed, in_range))
                    if in_range:  # a correction of a record sent before the range is just a record here
                        self.manifest.defects.append(InjectedDefect(
                            CORRECTED_RESEND, spec.department.code, spec.category.code, source, position,
                            changed[0], record[changed[0]], key, "changed: " + ", ".join(changed),
                            original_file=original, original_row=row + 1))
                    yield self.row_values(spec, record, plan.day, row, position)

            count = self.write(path, spec, day, rows(), len(items))
            self.add_file(path, spec, day, count, "correction")
