"""The sample city generator: deterministic, range-independent, true to the feed registry, and every
injected defect is really in the files exactly where the manifest says."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from credit_warehouse.catalogue import ORG_SUBJECT_TYPES, PERSON_SUBJECT_TYPE, Catalogue, normalize_header
from credit_warehouse.codes import resident_id_problem, uscc_problem
from credit_warehouse.inbox import inbox_path, recognise
from credit_warehouse.sample_city import (
    ALL_KINDS,
    DefectRates,
    GeneratedFile,
    GenerationManifest,
    generate_city,
)
from credit_warehouse.sample_city.__main__ import main
from credit_warehouse.sample_city.dates import WorkdayIndex
from credit_warehouse.sample_city.population import PERSON, Population
from credit_warehouse.sample_city.vocabulary import RARE_NAME_CHARS
from credit_warehouse.workdays import CalendarGapError, WorkdayCalendar
from openpyxl import load_workbook

START, END = dt.date(2026, 9, 24), dt.date(2026, 10, 12)  # Mid-Autumn, National Day, 调休 Sat 10-10
SUBJECTS = 300
DEADLINE = 7
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture(scope="module")
def calendar() -> WorkdayCalendar:
    return WorkdayCalendar.load()


@pytest.fixture(scope="module")
def city(tmp_path_factory, catalogue, calendar) -> tuple[Path, GenerationManifest]:
    inbox = tmp_path_factory.mktemp("city") / "inbox"
    manifest = generate_city(inbox, START, END, subjects=SUBJECTS, report_deadline_workdays=DEADLINE,
                             catalogue=catalogue, calendar=calendar)
    return inbox, manifest


def files_of(inbox: Path) -> dict[str, bytes]:
    return {p.relative_to(inbox).as_posix(): p.read_bytes() for p in sorted(inbox.rglob("*")) if p.is_file()}


def read_table(path: Path, file_format: str, encoding: str) -> tuple[list[str], list[list[str]]]:
    """Headers and rows as text ("" for blank cells), decoding strictly with the declared encoding."""
    if file_format == "xlsx":
        workbook = load_workbook(path, read_only=True)
        try:
            sheet = workbook.worksheets[0]
            rows = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
        width = len(rows[0])
        return rows[0], [row + [""] * (width - len(row)) for row in rows[1:]]
    text = path.read_bytes().decode(encoding)
    if file_format == "json":
        document = json.loads(text)
        records = document["records"]
        assert document["total"] == len(records)
        headers = list(records[0])
        assert all(list(r) == headers and all(isinstance(v, str) for v in r.values()) for r in records)
        return headers, [list(r.values()) for r in records]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def records_of(inbox: Path, item: GeneratedFile, catalogue: Catalogue) -> list[dict[str, str]]:
    """A generated file as canonical field -> value per row (an extra column under its header)."""
    feed = catalogue.feeds[(item.department_code, item.category_code)]
    headers, rows = read_table(inbox / item.source_file, feed.file_format, feed.encoding)
    mapping = catalogue.header_map(item.category_code)
    names = [mapping.get(normalize_header(h), h) for h in headers]
    return [dict(zip(names, row, strict=True)) for row in rows]


@pytest.fixture(scope="module")
def tables(city, catalogue) -> dict[str, list[dict[str, str]]]:
    inbox, manifest = city
    return {item.source_file: records_of(inbox, item, catalogue) for item in manifest.files}


def parse_date(value: str) -> dt.date | None:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def defects_at(manifest: GenerationManifest) -> dict[tuple[str, int], list]:
    found: dict[tuple[str, int], list] = {}
    for defect in manifest.defects:
        if defect.row_number is not None:
            found.setdefault((defect.source_file, defect.row_number), []).append(defect)
    return found


# -- determinism and range independence ----------------------------------------------------------
def test_same_arguments_give_identical_bytes(city, tmp_path, catalogue, calendar):
    inbox, manifest = city
    again = generate_city(tmp_path / "inbox", START, END, subjects=SUBJECTS,
                          report_deadline_workdays=DEADLINE, catalogue=catalogue, calendar=calendar)
    assert files_of(inbox) == files_of(tmp_path / "inbox")
    assert again.to_json() == manifest.to_json()


def test_a_day_does_not_depend_on_the_range_around_it(city, tmp_path, catalogue, calendar):
    inbox, manifest = city
    first, last = dt.date(2026, 10, 8), dt.date(2026, 10, 10)
    short = generate_city(tmp_path / "inbox", first, last, subjects=SUBJECTS,
                          report_deadline_workdays=DEADLINE, catalogue=catalogue, calendar=calendar)
    alone = files_of(tmp_path / "inbox")
    within = {k: v for k, v in files_of(inbox).items()
              if first <= recognise(inbox, inbox / k, catalogue).business_date <= last}
    assert alone and alone == within
    assert {f.source_file for f in short.files} == set(alone)


def test_worker_processes_write_the_same_city(city, tmp_path, catalogue, calendar):
    inbox, manifest = city
    parallel = generate_city(tmp_path / "inbox", START, END, subjects=SUBJECTS,
                             report_deadline_workdays=DEADLINE, catalogue=catalogue, calendar=calendar,
                             workers=2)
    assert files_of(tmp_path / "inbox") == files_of(inbox)
    assert parallel.to_json() == manifest.to_json()


def test_dates_outside_the_calendar_fail_loudly(tmp_path, catalogue, calendar):
    with pytest.raises(CalendarGapError):
        generate_city(tmp_path / "inbox", dt.date(2027, 1, 4), dt.date(2027, 1, 8), subjects=SUBJECTS,
                      catalogue=catalogue, calendar=calendar)


# -- the feed registry: paths, formats, encodings, dates, headers --------------------------------
def test_files_follow_the_feed_registry(city, catalogue, calendar):
    inbox, manifest = city
    assert files_of(inbox).keys() == {f.source_file for f in manifest.files}
    workdays = WorkdayIndex(calendar)
    formats_seen = set()
    for item in manifest.files:
        feed = catalogue.feeds[(item.department_code, item.category_code)]
        assert feed.active and item.file_format == feed.file_format
        assert workdays.is_workday(item.business_date), item  # no deliveries on weekends or holidays
        tag = {"delivery": None, "duplicate": "resend", "correction": "corr1"}[item.role]
        path = inbox_path(inbox, item.department_code, item.category_code, item.business_date,
                          feed.file_format, tag)
        assert path.relative_to(inbox).as_posix() == item.source_file
        assert recognise(inbox, path, catalogue).recognised
        data = path.read_bytes()
        if feed.encoding == "utf-8-sig":
            assert data.startswith(b"\xef\xbb\xbf")
        elif feed.encoding == "utf-8":
            assert not data.startswith(b"\xef\xbb\xbf")
            data.decode("utf-8")
        elif feed.encoding == "gb18030":
            with pytest.raises(UnicodeDecodeError):  # really GB-encoded, not UTF-8
                data.decode("utf-8")
        headers, rows = read_table(path, feed.file_format, feed.encoding)
        assert len(rows) == item.rows > 0
        formats_seen.add(feed.date_format)
    assert formats_seen == set(DATE_FORMATS)
    assert any(f.business_date == dt.date(2026, 10, 10) for f in manifest.files)  # 调休 Saturday


def test_valid_dates_use_the_feed_date_format(city, tables, catalogue):
    inbox, manifest = city
    broken = {(d.source_file, d.row_number, d.field) for d in manifest.defects_of("bad_date")}
    checked = 0
    for item in manifest.files:
        feed = catalogue.feeds[(item.department_code, item.category_code)]
        date_fields = [f.field for f in catalogue.fields_of(item.category_code) if f.data_type == "date"]
        for number, row in enumerate(tables[item.source_file], start=1):
            for name in date_fields:
                value = row[name]
                if not value or (item.source_file, number, name) in broken:
                    continue
                dt.datetime.strptime(value, feed.date_format)
                checked += 1
    assert checked > 500


def test_headers_are_catalogue_headers_or_aliases(city, catalogue):
    inbox, manifest = city
    aliases_used = extras = 0
    for item in manifest.files:
        feed = catalogue.feeds[(item.department_code, item.category_code)]
        headers, _ = read_table(inbox / item.source_file, feed.file_format, feed.encoding)
        mapping = catalogue.header_map(item.category_code)
        specs = sorted(catalogue.fields_of(item.category_code), key=lambda f: f.position)
        known = [h for h in headers if normalize_header(h) in mapping]
        unknown = [h for h in headers if normalize_header(h) not in mapping]
        assert len(unknown) <= 1, headers
        extras += len(unknown)
        assert [mapping[normalize_header(h)] for h in known] == [s.field for s in specs]
        for header, spec in zip(known, specs, strict=True):
            assert header in (spec.header_zh, *spec.aliases)
            aliases_used += header != spec.header_zh
    assert aliases_used and extras


# -- subjects ------------------------------------------------------------------------------------
def test_subject_codes_are_valid_except_injected_ones(city, tables, catalogue):
    inbox, manifest = city
    marked = defects_at(manifest)
    persons = orgs = x_ids = 0
    for item in manifest.files:
        layout = catalogue.layout_of(item.category_code).name
        for number, row in enumerate(tables[item.source_file], start=1):
            kinds = {d.kind: d for d in marked.get((item.source_file, number), [])}
            for field in ("authority_uscc", "data_source_uscc"):
                if row.get(field):
                    assert uscc_problem(row[field]) is None
            code = row.get("uscc", "")
            if code:
                expected = {"bad_check_char": "uscc_check_char", "invalid_pair": "uscc_invalid_pair"}
                problem = next((rule for kind, rule in expected.items() if kind in kinds), None)
                assert uscc_problem(code) == problem, (item.source_file, number, code)
            if layout in ("registration", "payment") or "id_number" not in row:
                continue  # no person identity columns (bills, registrations, ledgers, objections, repairs)
            if "unidentifiable_subject" in kinds:  # no type and no code at all, by design
                assert row["subject_type"] == row["uscc"] == row["id_number"] == ""
                continue
            if row["subject_type"] == PERSON_SUBJECT_TYPE:
                persons += 1
                assert row["uscc"] == "" and row.get("legal_rep", "") == ""  # operational feeds: no 法定代表人
                if "missing_required" not in kinds:
                    assert row["id_type"] == "身份证" and resident_id_problem(row["id_number"]) is None
                    x_ids += row["id_number"].endswith("X")
            else:
                orgs += 1
                assert row["subject_type"] in ORG_SUBJECT_TYPES and row["id_number"] == ""
                if "missing_required" not in kinds:
                    assert row["uscc"] and row.get("legal_rep", "-")
    assert persons > 10 and orgs > 50


def test_population_has_every_subject_type_with_valid_unique_codes(catalogue, calendar):
    population = Population(7, 5000, catalogue, DefectRates(), WorkdayIndex(calendar))
    subjects = [population.subject(i) for i in range(population.size)]
    assert {s.kind for s in subjects} == {"91", "92", "93", "11", "12", "51", "52", "53", "31", "A1", "N2",
                                          "Y1", PERSON}
    organisations = [s for s in subjects if not s.is_person]
    assert len({s.name for s in organisations}) == len(organisations)  # a shared name would look like 重码
    assert len({s.code for s in subjects}) == len(subjects)
    for subject in subjects:
        if subject.is_person:
            assert resident_id_problem(subject.code) is None
            assert 1950 <= int(subject.code[6:10]) <= 2004
            assert subject.code[:6] in catalogue.regions
        else:
            expected = {"bad_check_char": "uscc_check_char", "invalid_pair": "uscc_invalid_pair", None: None}
            assert uscc_problem(subject.code) == expected[subject.defect], subject
            assert uscc_problem(population.true_code(subject)) is None
            assert subject.code[2:8] in catalogue.regions and subject.legal_rep
    assert any(s.code[0].isalpha() for s in organisations)  # letter-first codes (python-stdnum rejects them)
    assert any(s.code.endswith("X") for s in subjects if s.is_person)
    rare = [s for s in subjects if any(ch in s.name + s.legal_rep for ch in RARE_NAME_CHARS)]
    assert rare
    for subject in rare:  # GB18030-only: fine in every encoding the feeds use, impossible in GBK
        (subject.name + subject.legal_rep).encode("gb18030")
        with pytest.raises(UnicodeEncodeError):
            (subject.name + subject.legal_rep).encode("gbk")


# -- defects -------------------------------------------------------------------------------------
def test_every_defect_kind_is_injected_once_per_record(city):
    _, manifest = city
    assert manifest.kinds() == set(ALL_KINDS)
    per_row = Counter((d.source_file, d.row_number) for d in manifest.defects if d.row_number is not None)
    assert max(per_row.values()) == 1


def test_row_defects_are_in_the_files(city, tables, catalogue):
    _, manifest = city
    for defect in manifest.defects:
        if defect.row_number is None:
            continue
        row = tables[defect.source_file][defect.row_number - 1]
        assert row[defect.field] == defect.value, defect
        layout = catalogue.layout_of(defect.category_code)
        assert "|".join(row[k] for k in layout.key_fields) == defect.record_key, defect


def test_bad_codes_are_consistent_per_subject(city, tables):
    _, manifest = city
    for kind, rule in (("bad_check_char", "uscc_check_char"), ("invalid_pair", "uscc_invalid_pair")):
        codes = manifest.subject_codes(kind)
        assert codes
        for code in codes:
            assert uscc_problem(code) == rule
            names = {row["subject_name"] for rows in tables.values() for row in rows
                     if row.get("uscc") == code}
            names.discard("")
            assert len(names) == 1, (code, names)  # the same subject, always with its one defective code


def test_duplicate_codes_borrow_another_subjects_code(city, tables):
    _, manifest = city
    defects = manifest.defects_of("duplicate_code")
    assert defects
    for defect in defects:
        rows = tables[defect.source_file]
        borrower = rows[defect.row_number - 1]
        owner = rows[defect.row_number - 2]  # the real holder is delivered in the same file
        assert owner["uscc"] == defect.value == borrower["uscc"]
        assert owner["subject_name"] != borrower["subject_name"]
        assert uscc_problem(defect.value) is None


def test_missing_required_fields_are_really_required(city, catalogue):
    _, manifest = city
    defects = manifest.defects_of("missing_required")
    assert defects
    conditional = Counter()
    for defect in defects:
        spec = next(f for f in catalogue.fields_of(defect.category_code) if f.field == defect.field)
        assert defect.value == ""
        assert spec.requirement in ("required", "org", "person", "fine"), defect
        conditional[spec.requirement != "required"] += 1
    assert conditional[True] and conditional[False]


def test_bad_dates_cannot_be_parsed(city):
    _, manifest = city
    defects = manifest.defects_of("bad_date")
    assert defects
    for defect in defects:
        assert parse_date(defect.value) is None, defect


def test_late_reports_exceed_the_deadline_and_nothing_else_does(city, tables, catalogue, calendar):
    _, manifest = city
    late = {(d.source_file, d.row_number) for d in manifest.defects_of("late_report")}
    broken = {(d.source_file, d.row_number) for d in manifest.defects
              if d.kind in ("bad_date", "missing_required")}
    assert late
    across_holidays = 0
    for item in manifest.files:
        layout = catalogue.layout_of(item.category_code)
        if not layout.timeliness_applies:
            continue
        for number, row in enumerate(tables[item.source_file], start=1):
            decided = parse_date(row[layout.event_date_field])
            if decided is None:
                assert (item.source_file, number) in broken
                continue
            taken = calendar.workdays_after(decided, item.business_date)
            if (item.source_file, number) in late:
                assert taken > DEADLINE, (item.source_file, number)
                across_holidays += (item.business_date - decided).days > taken * 7 / 5 + 2
            else:
                assert taken <= DEADLINE, (item.source_file, number, decided)
    assert across_holidays  # some late records span the Mid-Autumn / National Day holidays


def test_unknown_regions_duplicate_keys_and_unidentifiable_subjects(city, tables, catalogue):
    _, manifest = city
    for defect in manifest.defects_of("unknown_region"):
        row = tables[defect.source_file][defect.row_number - 1]
        if defect.field == "uscc":
            assert uscc_problem(defect.value) is None and defect.value[2:4] not in catalogue.region_prefixes
        else:  # a valid resident ID but for its province-level prefix
            assert resident_id_problem(defect.value) is None and defect.value[:2] not in catalogue.region_prefixes
        assert row[defect.field] == defect.value
    for defect in manifest.defects_of("duplicate_key"):
        rows = tables[defect.source_file]
        above, row = rows[defect.row_number - 2], rows[defect.row_number - 1]
        assert above["doc_number"] == row["doc_number"] == defect.record_key and above != row
    for defect in manifest.defects_of("unidentifiable_subject"):
        row = tables[defect.source_file][defect.row_number - 1]
        assert row["subject_type"] == row["uscc"] == row["id_number"] == "" and row["subject_name"]


def test_duplicate_files_are_byte_identical(city):
    inbox, manifest = city
    assert manifest.duplicate_files
    for original, copy in manifest.duplicate_files:
        assert (inbox / original).read_bytes() == (inbox / copy).read_bytes()
        assert copy.endswith(("_resend.csv", "_resend.xlsx", "_resend.json"))


def test_corrections_resend_a_clean_record_with_changed_values(city, tables, catalogue):
    inbox, manifest = city
    marked = defects_at(manifest)
    in_range = [c for c in manifest.corrections if c.original_in_range]
    assert in_range
    assert len(manifest.defects_of("corrected_resend")) == len(in_range)
    for correction in in_range:
        original = tables[correction.original_file][correction.original_row - 1]
        corrected = tables[correction.correction_file][correction.correction_row - 1]
        key_fields = catalogue.layout_of(correction.category_code).key_fields
        assert "|".join(original[k] for k in key_fields) == correction.record_key
        assert "|".join(corrected[k] for k in key_fields) == correction.record_key
        assert all(original[f] != corrected[f] for f in correction.changed_fields), correction
        assert (correction.original_file, correction.original_row) not in marked  # no other defect
        assert "_corr1." in correction.correction_file
        assert correction.correction_file.split("_")[1] > correction.original_file.split("_")[1][:8]


def test_missing_feeds_never_deliver(city, catalogue):
    inbox, manifest = city
    assert manifest.missing_feeds
    for department, category in manifest.missing_feeds:
        assert catalogue.feeds[(department, category)].active
        assert not list((inbox / department).glob(f"{category}_*"))
        assert len([key for key in catalogue.feeds if key[0] == department]) >= 2


def test_each_kind_appears_in_any_three_working_days(tmp_path, catalogue, calendar):
    windows = ((dt.date(2026, 10, 12), dt.date(2026, 10, 14)), (dt.date(2026, 10, 13), dt.date(2026, 10, 15)),
               (dt.date(2026, 9, 29), dt.date(2026, 10, 8)))  # the last spans National Day
    for start, end in windows:
        manifest = generate_city(tmp_path / start.isoformat(), start, end, subjects=SUBJECTS,
                                 catalogue=catalogue, calendar=calendar)
        assert manifest.kinds() == set(ALL_KINDS), (start, set(ALL_KINDS) - manifest.kinds())
        # and what the indicators need: a concealed decision, a late objection, a late repair
        assert manifest.concealed_decisions, start
        assert {(c.kind, c.late) for c in manifest.cases} >= {("objection", True), ("repair", True)}, start


# -- operational feeds: decision ledgers, objections, repairs --------------------------------------
def test_ledgers_list_the_reported_decisions_and_some_concealed_ones(city, tables, catalogue):
    inbox, manifest = city
    reported: dict[tuple[str, dt.date], set[str]] = {}  # (department, day) -> 双公示 document numbers
    all_reported: set[str] = set()
    for item in manifest.files:
        if catalogue.categories[item.category_code].is_double_publicity:
            docs = {row["doc_number"] for row in tables[item.source_file]}
            all_reported |= docs
            if item.role == "delivery":
                reported.setdefault((item.department_code, item.business_date), set()).update(docs)
    concealed = {(c.source_file, c.row_number): c for c in manifest.concealed_decisions}
    assert concealed
    ledgers = [f for f in manifest.files if catalogue.categories[f.category_code].layout == "ledger"]
    assert ledgers and all(not catalogue.categories[f.category_code].is_catalogue for f in ledgers)
    # a duplicate_key row carries the key of the row above: its own decision is listed in the ledger
    # under its true number, which the 双公示 file never shows
    rekeyed = Counter((d.department_code, d.source_file.split("/")[-1][4:12]) for d in manifest.defects
                      if d.kind == "duplicate_key" and catalogue.categories[d.category_code].is_double_publicity)
    for item in ledgers:
        unreported = 0
        for number, row in enumerate(tables[item.source_file], start=1):
            assert row["decision_kind"] in ("行政许可", "行政处罚")
            if (item.source_file, number) in concealed:
                assert row["doc_number"] == concealed[(item.source_file, number)].doc_number
                assert row["doc_number"] not in all_reported  # never in any licence / penalty file
            else:  # a decision the department reported that very day
                unreported += row["doc_number"] not in reported[(item.department_code, item.business_date)]
        assert unreported <= rekeyed[(item.department_code, f"{item.business_date:%Y%m%d}")], item.source_file
        listed = {row["doc_number"] for row in tables[item.source_file]}
        assert reported.get((item.department_code, item.business_date), set()) <= listed


def test_objections_and_repairs_record_their_handling_time(city, tables, calendar):
    _, manifest = city
    deadlines = {"objection": 5, "repair": 3}
    kinds = Counter()
    for case in manifest.cases:
        row = tables[case.source_file][case.row_number - 1]
        assert row["doc_number"] == case.number and row["ref_doc_number"] == case.ref_doc_number
        result = row["objection_result"] if case.kind == "objection" else row["repair_result"]
        assert result == case.outcome
        if case.closed_date is None:
            assert row["closed_date"] == "" and case.outcome == ""
        else:
            taken = calendar.workdays_after(case.received_date, case.closed_date)
            assert taken == case.handling_workdays and (taken > deadlines[case.kind]) == case.late
        kinds[(case.kind, case.late, case.outcome)] += 1
    for kind, good in (("objection", "异议成立"), ("repair", "准予修复")):
        assert any(k[0] == kind and k[1] for k in kinds) and any(k[0] == kind and not k[1] for k in kinds), kind
        assert any(k[0] == kind and k[2] == good for k in kinds), kind


def test_a_clean_city_has_no_defects(tmp_path, catalogue, calendar):
    manifest = generate_city(tmp_path / "inbox", START, END, subjects=SUBJECTS, defects=DefectRates.none(),
                             catalogue=catalogue, calendar=calendar)
    assert manifest.defects == [] and manifest.corrections == [] and manifest.duplicate_files == []
    assert manifest.concealed_decisions == [] and not any(c.late for c in manifest.cases)
    assert manifest.missing_feeds == [] and manifest.bad_subject_codes == {}
    assert {f.role for f in manifest.files} == {"delivery"}
    for item in manifest.files:
        feed = catalogue.feeds[(item.department_code, item.category_code)]
        layout = catalogue.layout_of(item.category_code)
        for record in records_of(tmp_path / "inbox", item, catalogue):
            if record.get("uscc"):
                assert uscc_problem(record["uscc"]) is None
            if layout.timeliness_applies:
                decided = dt.datetime.strptime(record[layout.event_date_field], feed.date_format).date()
                assert calendar.workdays_after(decided, item.business_date) <= DEADLINE


# -- volume and monthly bills --------------------------------------------------------------------
def test_volumes(city, tmp_path, catalogue, calendar):
    _, small = city
    assert 200 <= small.records <= 1000  # the small test city: a few hundred records
    default = generate_city(tmp_path / "inbox", dt.date(2026, 10, 1), dt.date(2026, 10, 31),
                            catalogue=catalogue, calendar=calendar)
    assert 2000 <= default.records <= 9000  # default city, one month: a few thousand
    per_category = Counter()
    for item in default.files:
        if item.role == "delivery":
            per_category[item.category_code] += item.rows
    assert per_category["C03"] > 10 * max(per_category["C08"], per_category["C09"], 1)
    # commitments of all 6 types, by organisations and persons (003 八(一)2)
    commitment_types, subject_types = set(), set()
    for item in default.files:
        if item.category_code == "C16" and item.role == "delivery":
            for record in records_of(tmp_path / "inbox", item, catalogue):
                commitment_types.add(record["commitment_type"])
                subject_types.add(record["subject_type"])
    assert commitment_types >= {"审批替代型", "容缺受理型", "证明事项型", "信用修复型", "行业自律型", "主动型"}
    assert subject_types >= {"法人及非法人组织", "个体工商户", "自然人"}


def test_monthly_bills(tmp_path, catalogue, calendar):
    bills: dict[str, dict[str, dict[str, str]]] = {}
    for month in (8, 9):  # deliveries of the July and August bills
        day = dt.date(2026, month, 10)
        manifest = generate_city(tmp_path / str(month), day, day, subjects=1000, defects=DefectRates.none(),
                                 catalogue=catalogue, calendar=calendar)
        bill_files = [f for f in manifest.files if catalogue.layout_of(f.category_code).name == "payment"]
        assert {f.category_code for f in bill_files} == {"C21", "C22", "C23", "C24", "C25", "C26"}
        for item in bill_files:
            for record in records_of(tmp_path / str(month), item, catalogue):
                assert record["billing_period"] == f"2026{month - 1:02d}"
                due, paid, arrears = (float(record[k]) for k in ("amount_due", "amount_paid", "arrears"))
                assert abs(due - paid - arrears) < 0.005 and paid <= due
                assert bool(record["payment_date"]) == (paid > 0)
                bills.setdefault(item.category_code + record["account_no"], {})[str(month)] = record
    in_arrears = {k for k, months in bills.items() if all(float(r["arrears"]) > 0 for r in months.values())
                  and len(months) == 2}
    assert in_arrears  # some accounts are in arrears for consecutive months
    assert len(in_arrears) < 0.1 * len(bills)  # most pay on time


# -- manifest and command line -------------------------------------------------------------------
def test_manifest_round_trip(city, tmp_path):
    _, manifest = city
    manifest.save(tmp_path / "manifest.json")
    loaded = GenerationManifest.load(tmp_path / "manifest.json")
    assert loaded == manifest
    assert loaded.duplicate_files and all(isinstance(p, tuple) for p in loaded.duplicate_files)


def test_command_line(tmp_path, capsys):
    assert main(["--inbox", str(tmp_path / "inbox"), "--start", "2026-10-12", "--end", "2026-10-13",
                 "--subjects", "100", "--seed", "3", "--manifest", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "records" in out
    assert GenerationManifest.load(tmp_path / "m.json").parameters["seed"] == 3
