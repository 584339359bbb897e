"""The operational feeds behind the indicators, derived from the records the departments report.

* Decision ledger (台账, X01): each day, a department with 双公示 feeds lists the decisions of the
  licences and penalties it reports that day, plus now and then a decision it never reports
  (``concealed_decision``): 上报率 below 100%.
* Objections (异议, X02) against the department's earlier 双公示 records and credit repairs (信用修复,
  X03) of its earlier penalties: delivered on the day they are closed (or, a few, still open on the
  day received), valid / invalid, granted / refused, some handled after the deadline
  (``late_handling``).

Like every other file, a day's operational files depend only on the day (records of earlier days are
rebuilt from their plans), so range independence and worker chunks keep holding.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from credit_warehouse.sample_city.feeds import FeedSpec
from credit_warehouse.sample_city.manifest import ConcealedDecision, HandledCase, InjectedDefect
from credit_warehouse.sample_city.plans import FilePlan
from credit_warehouse.sample_city.population import Subject
from credit_warehouse.sample_city.records import BUILDERS, Context, Record, doc_number, subject_fields
from credit_warehouse.sample_city.streams import poisson, stable_int, stream
from credit_warehouse.workdays import CalendarGapError

if TYPE_CHECKING:
    from credit_warehouse.sample_city.generator import CityGenerator

LEDGER, OBJECTION, REPAIR = "ledger", "objection", "repair"
# Handling deadlines in working days: the dbt vars objection_deadline_workdays / repair_deadline_workdays.
DEADLINES = {OBJECTION: 5, REPAIR: 3}
# Cases per working day per 10,000 subjects, for each department's feed.
CASE_WEIGHTS = {OBJECTION: 1.0, REPAIR: 0.8}
OUTCOMES = {OBJECTION: ("异议成立", "异议不成立"), REPAIR: ("准予修复", "不予修复")}
FIRST_OUTCOME_SHARE = {OBJECTION: 0.3, REPAIR: 0.8}  # valid objections / granted repairs
OPEN_SHARE = 0.1  # cases delivered still open on the day they are received
CONCEALED_ROW = 5000  # concealed decisions take serials no reported record of the day uses
# Residue (mod 3) of the working-day ordinal on which a concealed decision / late case is forced, so
# that any three consecutive working days hold each (as plans.FORCE_RESIDUE does for defects).
FORCE_RESIDUE = {LEDGER: 0, OBJECTION: 1, REPAIR: 2}


@dataclass(frozen=True)
class Entry:
    """One row of an operational file, with the subject it is about."""

    record: Record
    subject: Subject


class Operations:
    def __init__(self, generator: CityGenerator) -> None:
        self.gen = generator
        specs = sorted(generator.specs.values(), key=lambda s: s.code)
        self.feeds = {layout: [s for s in specs if s.layout.name == layout
                               and (s.department.code, s.category.code) not in set(generator.missing)]
                      for layout in (LEDGER, OBJECTION, REPAIR)}
        self.reporting = {}  # department -> its 双公示 feeds (the records ledgers and cases refer to)
        for spec in generator.planner.daily:
            if spec.category.is_double_publicity:
                self.reporting.setdefault(spec.department.code, []).append(spec)

    def write_day(self, day: dt.date) -> None:
        residue = self.gen.workdays.ordinal[day] % 3
        self.write_ledgers(day, residue)
        for kind in (OBJECTION, REPAIR):
            self.write_cases(kind, day, residue)

    # -- ledgers -----------------------------------------------------------------------------------
    def write_ledgers(self, day: dt.date, residue: int) -> None:
        gen, rate = self.gen, self.gen.defects.concealed_decision
        reported: dict[str, list[FilePlan]] = {}
        for plan in gen.planner.plan_day(day):
            if plan.spec.category.is_double_publicity:
                reported.setdefault(plan.spec.department.code, []).append(plan)
        specs = [s for s in self.feeds[LEDGER] if s.department.code in self.reporting]
        forced = None
        if rate > 0 and residue == FORCE_RESIDUE[LEDGER] and specs:
            forced = specs[stable_int(gen.seed, day, "forced-concealed") % len(specs)].code
        for spec in specs:
            rng = stream(gen.seed, day, spec.code, "ledger")
            entries = [self.ledger_entry(spec, plan, row, day) for plan in reported.get(spec.department.code, [])
                       for row in range(plan.n)]
            concealed = sum(rng.random() < rate for _ in entries) + (spec.code == forced)
            hidden = [self.concealed_entry(spec, day, i, rng) for i in range(concealed)]
            if entries or hidden:
                self.write(spec, day, entries + hidden, concealed_from=len(entries))

    def ledger_entry(self, spec: FeedSpec, plan: FilePlan, row: int, day: dt.date) -> Entry:
        """The ledger's line for a reported record: its true values, whatever defect the file carries."""
        built = self.gen.build(plan, row, random.Random())
        decision = self.gen.workdays.shift(day, -(built.lateness or 0))
        return Entry(self.ledger_record(spec, plan.spec, built.record, decision), built.subject)

    def concealed_entry(self, spec: FeedSpec, day: dt.date, index: int, rng: random.Random) -> Entry:
        gen = self.gen
        source = self.reporting[spec.department.code][rng.randrange(len(self.reporting[spec.department.code]))]
        subject = gen.population.subject(gen.pick(rng, source, None))
        decision = gen.workdays.shift(day, -rng.randint(0, 3))
        ctx = Context(source, day, decision, CONCEALED_ROW + index, rng, gen.text)
        record = BUILDERS[source.layout.name](ctx, subject)
        return Entry(self.ledger_record(spec, source, record, decision), subject)

    def ledger_record(self, spec: FeedSpec, source: FeedSpec, record: Record, decision: dt.date) -> Record:
        department = spec.department
        return {"subject_name": record["subject_name"], "subject_type": record["subject_type"],
                "uscc": record.get("uscc", ""), "id_type": record.get("id_type", ""),
                "id_number": record.get("id_number", ""), "decision_kind": source.category.name_zh,
                "doc_number": record["doc_number"], "decision_date": self.gen.text(decision, spec.feed.date_format),
                "authority": department.name, "authority_uscc": department.uscc, "data_source_unit": department.name,
                "data_source_uscc": department.uscc, "remarks": ""}

    # -- objections and repairs ----------------------------------------------------------------------
    def write_cases(self, kind: str, day: dt.date, residue: int) -> None:
        gen = self.gen
        specs = [s for s in self.feeds[kind] if self.sources(kind, s.department.code)]
        late_rate = gen.defects.late_handling
        counts = {s.code: poisson(stream(gen.seed, day, s.code, "cases"), CASE_WEIGHTS[kind] * gen.planner.scale)
                  for s in specs}
        forced = None
        if late_rate > 0 and residue == FORCE_RESIDUE[kind] and specs:
            forced = specs[stable_int(gen.seed, day, kind, "forced-late") % len(specs)].code
        for spec in specs:
            rng = stream(gen.seed, day, spec.code, "case-rows")
            entries = []
            for i in range(counts[spec.code] + (spec.code == forced)):
                late = (spec.code == forced and i == counts[spec.code]) or rng.random() < late_rate
                entries.append(self.case_entry(kind, spec, day, i, late, rng))
            if entries:
                self.write(spec, day, [e for e, _ in entries], cases=[c for _, c in entries])

    def sources(self, kind: str, department: str) -> list[FeedSpec]:
        specs = self.reporting.get(department, [])
        return [s for s in specs if s.layout.name == "penalty"] if kind == REPAIR else specs

    def case_entry(self, kind: str, spec: FeedSpec, day: dt.date, index: int, late: bool,
                   rng: random.Random) -> tuple[Entry, dict]:
        deadline = DEADLINES[kind]
        still_open = not late and rng.random() < OPEN_SHARE
        handling = deadline + rng.randint(1, 3) if late else rng.randint(1, deadline)
        received = day if still_open else self.gen.workdays.shift(day, -handling)
        category, ref_doc, subject = self.referred_record(kind, spec.department.code, received, rng)
        outcome = "" if still_open else OUTCOMES[kind][0 if rng.random() < FIRST_OUTCOME_SHARE[kind] else 1]
        prefix = "YY" if kind == OBJECTION else "XF"
        number = f"{prefix}{day:%Y%m%d}{stable_int(spec.code) % 1000:03d}{index + 1:03d}"
        fmt, department = spec.feed.date_format, spec.department
        fields = subject_fields(subject)
        record = {"doc_number": number, "subject_name": fields["subject_name"], "subject_type": fields["subject_type"],
                  "uscc": fields["uscc"], "id_type": fields["id_type"], "id_number": fields["id_number"],
                  "received_date": self.gen.text(received, fmt),
                  "closed_date": "" if still_open else self.gen.text(day, fmt),
                  "data_source_unit": department.name, "data_source_uscc": department.uscc, "remarks": ""}
        if kind == OBJECTION:
            record.update(ref_category=category, ref_doc_number=ref_doc, objection_result=outcome)
        else:
            record.update(ref_doc_number=ref_doc, repair_result=outcome)
        case = dict(kind=kind, number=number, ref_doc_number=ref_doc, received_date=received,
                    closed_date=None if still_open else day, outcome=outcome,
                    handling_workdays=None if still_open else handling, late=late)
        return Entry(record, subject), case

    def referred_record(self, kind: str, department: str, received: dt.date, rng: random.Random
                        ) -> tuple[str, str, Subject]:
        """(category name, document number, subject) of an earlier record of the department."""
        gen = self.gen
        sources = self.sources(kind, department)
        source = sources[rng.randrange(len(sources))]
        back = 1 + rng.randrange(30)
        try:
            earlier = gen.workdays.shift(received, -back)
        except CalendarGapError:
            earlier = received
        plan = next((p for p in gen.planner.plan_day(earlier) if p.spec is source and p.n), None)
        if plan is None:  # nothing reported that day: a record from before the data (not in the warehouse)
            subject = gen.population.subject(gen.pick(rng, source, None))
            return source.category.name_zh, doc_number(source, earlier, earlier, CONCEALED_ROW + back), subject
        built = gen.build(plan, rng.randrange(plan.n), random.Random())
        return source.category.name_zh, built.record["doc_number"], built.subject

    # -- writing -------------------------------------------------------------------------------------
    def write(self, spec: FeedSpec, day: dt.date, entries: list[Entry], concealed_from: int | None = None,
              cases: list[dict] | None = None) -> None:
        gen = self.gen
        path = gen.path_of(spec, day)
        source = gen.relative(path)

        def rows() -> Iterator[list[str]]:
            for row, entry in enumerate(entries):
                self.note(spec, source, row, entry, concealed_from, cases)
                yield gen.row_values(spec, entry.record, day, row, row + 1)

        count = gen.write(path, spec, day, rows(), len(entries))
        gen.add_file(path, spec, day, count, "delivery")

    def note(self, spec: FeedSpec, source: str, row: int, entry: Entry, concealed_from: int | None,
             cases: list[dict] | None) -> None:
        """Record in the manifest what the row is: a defective subject code, a concealed decision, a case."""
        gen, subject, record = self.gen, entry.subject, entry.record
        department = spec.department.code
        if subject.defect is not None and record.get("uscc") == subject.code and not subject.is_person:
            gen.bad_codes[subject.defect][subject.code] = None
            gen.manifest.defects.append(InjectedDefect(
                subject.defect, department, spec.category.code, source, row + 1, "uscc", subject.code,
                gen.key_of(spec, record), gen.code_detail(subject)))
        if concealed_from is not None and row >= concealed_from:
            category = next(s.category.code for s in self.reporting[department]
                            if s.category.name_zh == record["decision_kind"])
            decided = dt.datetime.strptime(record["decision_date"], spec.feed.date_format).date()
            gen.manifest.concealed_decisions.append(ConcealedDecision(
                department, category, source, row + 1, record["doc_number"], decided))
        if cases is not None:
            gen.manifest.cases.append(HandledCase(department_code=department, source_file=source,
                                                  row_number=row + 1, **cases[row]))
