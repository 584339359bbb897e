"""Steward review end to end: the real Prefect flow on three working days of the sample city (every
defect class is injected in any three), then a department re-sends one corrected record per class.

Each defect class must be in the failures table, in its department's correction files with its
reason and on the review page; each re-send must close its failure. The review page is then opened
in real headless Chromium and its key numbers compared with the warehouse.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import zipfile
import zlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.codes import make_uscc, resident_id_check_char
from credit_warehouse.sample_city import DefectRates, GenerationManifest, generate_city
from credit_warehouse.sample_city.manifest import InjectedDefect
from credit_warehouse.settings import load_settings
from credit_warehouse.warehouse import connect
from openpyxl import load_workbook

START, END, FIX_DAY = dt.date(2026, 10, 12), dt.date(2026, 10, 14), dt.date(2026, 10, 15)
SUBJECTS = 300
FIX_TAG = "fix1"
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# defect class of the sample city -> (rule that must catch it, severity)
CLASSES = {
    "bad_check_char": ("uscc_check_char", "warning"),
    "invalid_pair": ("uscc_invalid_pair", "warning"),
    "duplicate_code": ("duplicate_code", "warning"),
    "missing_required": ("missing_required_field", "blocking"),
    "bad_date": ("unparseable_date", "blocking"),
    "late_report": ("late_report", "warning"),
    "unknown_region": ("uscc_region_code", "warning"),  # resident_id_region_code on a person's ID
    "duplicate_key": ("duplicate_record_key", "blocking"),
    "unidentifiable_subject": ("subject_unresolvable", "blocking"),
}


def rule_of(defect: InjectedDefect) -> str:
    if defect.kind == "unknown_region" and defect.field == "id_number":
        return "resident_id_region_code"
    return CLASSES[defect.kind][0]


def query(settings, sql: str, params: list | None = None, db: str = "work") -> list[dict]:
    """``db="work"``: the work warehouse with the marts file attached, as the pipeline reads it."""
    with (connect(settings.work_db, read_only=True, marts_db=settings.marts_db) if db == "work"
          else connect(settings.published_db, read_only=True)) as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def failures(settings) -> list[dict]:
    return query(settings, "select * from marts.mart_validation_failures")


# -- the corrected re-sends a department would send ------------------------------------------------
def fixed_value(defect: InjectedDefect, field: str, catalogue: Catalogue) -> str:
    """A value that corrects ``field`` of the defect's record."""
    spec = next(s for s in catalogue.fields_of(defect.category_code) if s.field == field)
    if spec.data_type == "date":
        return FIX_DAY.isoformat()  # also on time: decided on the day of the re-send
    if spec.data_type == "amount":
        return "1.50"
    if spec.data_type == "enum":
        return spec.enum_values[0]
    if spec.data_type == "uscc":
        body = zlib.crc32(f"{defect.source_file}:{defect.row_number}".encode()) % 10_000_000
        return make_uscc("9", "1", "140213", f"MA{body:07d}")  # a fresh organisation code
    if spec.data_type == "id_number":
        return "140213198001010019"
    return "已补充"


def corrected(defect: InjectedDefect, values: dict[str, str | None], catalogue: Catalogue) -> dict[str, str | None]:
    record = dict(values)
    kind, field = defect.kind, defect.field or ""
    if kind in ("bad_check_char", "invalid_pair") or (kind == "unknown_region" and field == "uscc"):
        record["uscc"] = defect.detail.removeprefix("valid code would be ").split()[0]
    elif kind == "unknown_region":  # the person's own ID: its province prefix (14) restored
        first17 = "14" + defect.value[2:17]
        record["id_number"] = first17 + resident_id_check_char(first17)
    elif kind == "duplicate_code":  # "code of X; Y has CODE": the subject's own code
        record["uscc"] = defect.detail.split()[-1]
    elif kind in ("missing_required", "bad_date", "late_report"):
        record[field] = fixed_value(defect, field, catalogue)
    elif kind == "unidentifiable_subject":
        record.update(subject_type="法人及非法人组织", uscc=fixed_value(defect, "uscc", catalogue), legal_rep="张三")
    return record


def write_resends(settings, catalogue: Catalogue, manifest: GenerationManifest) -> dict[str, InjectedDefect]:
    """One corrected re-send per defect class (its first defect) in ``<category>_<FIX_DAY>_fix1.csv``
    files; returns the re-sent defect per class. A duplicate key is corrected by re-sending the record
    the key belongs to (the row above) once."""
    chosen = {kind: next(d for d in manifest.defects if d.kind == kind) for kind in CLASSES}
    by_file: dict[tuple[str, str], list[dict[str, str | None]]] = {}
    for kind, defect in chosen.items():
        row = defect.row_number - 1 if kind == "duplicate_key" else defect.row_number
        layout = catalogue.layout_of(defect.category_code).name
        fields = [s.field for s in catalogue.fields[layout]]
        values = query(settings, f"select {', '.join(fields)} from raw.feed_rows where source_file = ? "
                                 "and row_number = ?", [defect.source_file, row])[0]
        fixed = values if kind == "duplicate_key" else corrected(defect, values, catalogue)
        by_file.setdefault((defect.department_code, defect.category_code), []).append(fixed)
    for (department, category), records in by_file.items():
        specs = catalogue.fields_of(category)
        path = settings.inbox / department / f"{category}_{FIX_DAY:%Y%m%d}_{FIX_TAG}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([s.header_zh for s in specs])
            writer.writerows([[r.get(s.field) or "" for s in specs] for r in records])
    return chosen


@pytest.fixture(scope="module")
def city(tmp_path_factory, prefect_harness):
    from credit_warehouse.pipeline import backfill, daily_load

    home = tmp_path_factory.mktemp("steward")
    settings = load_settings(home)
    settings.ensure_dirs()
    catalogue = Catalogue.load()
    manifest = generate_city(settings.inbox, START, END, subjects=SUBJECTS, defects=DefectRates(),
                             report_deadline_workdays=settings.report_deadline_workdays)
    loaded = backfill(START, END, str(home))
    page = Path(loaded.review_page)
    before = {"summary": loaded, "failures": failures(settings), "page": page.read_text(encoding="utf-8")}
    resent = write_resends(settings, catalogue, manifest)
    after = daily_load(FIX_DAY, str(home))
    return {"home": home, "settings": settings, "manifest": manifest, "resent": resent, "before": before,
            "after": {"summary": after, "failures": failures(settings), "page": page.read_text(encoding="utf-8")},
            "page": page}


def failure_at(rows: list[dict], defect: InjectedDefect, rule: str, row: int | None = None) -> dict:
    found = [f for f in rows if f["source_file"] == defect.source_file
             and f["row_number"] == (row or defect.row_number) and f["rule_id"] == rule]
    assert len(found) == 1, (defect, rule, found)
    return found[0]


# -- every defect class: failures table, correction files, page ------------------------------------
@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_each_defect_class_is_a_failure_with_its_reason(city, kind):
    defects = city["manifest"].defects_of(kind)
    assert defects, f"the sample city injected no {kind}"
    for defect in defects:
        found = failure_at(city["before"]["failures"], defect, rule_of(defect))
        assert found["severity"] == CLASSES[kind][1] and found["reason_zh"] and found["field_header_zh"]
        assert found["department_code"] == defect.department_code and found["category_code"] == defect.category_code
        assert found["feed_code"] == f"{defect.department_code}.{defect.category_code}"
        assert found["record_key"] == (defect.record_key if kind != "unidentifiable_subject" else found["record_key"])
        assert found["status"] in ("open", "superseded") and found["opened_on"] <= END


def test_a_duplicate_key_fails_on_every_row_carrying_it(city):
    for defect in city["manifest"].defects_of("duplicate_key"):
        above = failure_at(city["before"]["failures"], defect, "duplicate_record_key", defect.row_number - 1)
        below = failure_at(city["before"]["failures"], defect, "duplicate_record_key")
        assert (above["status"], below["status"]) == ("superseded", "open")  # one record, one open failure
        assert above["record_key"] == below["record_key"] == defect.record_key


def correction_rows(settings, department: str, day: dt.date) -> tuple[list[dict], list[dict]]:
    folder = settings.reports_dir / "corrections" / f"{day:%Y%m%d}"
    csv_path = next(folder.glob(f"{department}_*.csv"))
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens Chinese text right
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        from_csv = list(csv.DictReader(handle))
    book = load_workbook(csv_path.with_suffix(".xlsx"), read_only=True)
    try:
        sheet = book["更正清单"]
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return from_csv, [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_each_open_failure_is_in_the_correction_files_with_its_reason(city, kind):
    settings = city["settings"]
    for defect in city["manifest"].defects_of(kind)[:5]:
        found = failure_at(city["before"]["failures"], defect, rule_of(defect))
        if found["status"] != "open":
            continue
        from_csv, from_xlsx = correction_rows(settings, defect.department_code, END)
        assert from_csv == from_xlsx
        lines = [r for r in from_csv if r["来源文件"] == defect.source_file and r["行号"] == str(defect.row_number)
                 and r["规则编号"] == found["rule_id"]]
        assert len(lines) == 1, (defect, from_csv)
        assert lines[0]["问题说明"] == found["reason_zh"] and lines[0]["记录主键"] == (found["record_key"] or "")
        assert lines[0]["问题字段"] == found["field_header_zh"]
        assert lines[0]["严重程度"] == {"blocking": "阻断", "warning": "警告"}[found["severity"]]


class RowAttributes(HTMLParser):
    """The data-* attributes of every <tr> (and the text of every data-metric element)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.metrics: dict[str, str] = {}
        self._metric: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "tr":
            self.rows.append(found)
        self._metric = found.get("data-metric")

    def handle_data(self, data: str) -> None:
        if self._metric:
            self.metrics[self._metric] = data
            self._metric = None


def parsed(html: str) -> RowAttributes:
    parser = RowAttributes()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_each_open_failure_is_on_the_review_page(city, kind):
    page = parsed(city["before"]["page"])
    listed = {(r.get("data-source-file"), r.get("data-row"), r.get("data-rule"), r.get("data-status"))
              for r in page.rows if "data-failure-id" in r}
    for defect in city["manifest"].defects_of(kind):
        found = failure_at(city["before"]["failures"], defect, rule_of(defect))
        if found["status"] == "open":
            assert (defect.source_file, str(defect.row_number), found["rule_id"], "open") in listed, defect


# -- corrected re-sends close failures --------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_a_corrected_resend_closes_the_failure(city, kind):
    defect = city["resent"][kind]
    found = failure_at(city["after"]["failures"], defect, rule_of(defect))
    fix_file = f"{defect.department_code}/{defect.category_code}_{FIX_DAY:%Y%m%d}_{FIX_TAG}.csv"
    assert (found["status"], found["closed_on"], found["closed_by_source_file"]) == ("closed", FIX_DAY, fix_file)
    assert found["closed_by_run_id"] == city["after"]["summary"].run_id
    # the re-send itself carries no failure of that rule
    resent = [f for f in city["after"]["failures"] if f["source_file"] == fix_file and f["rule_id"] == found["rule_id"]]
    assert resent == []
    # and the page lists it as closed in the department's drill-down
    rows = parsed(city["after"]["page"]).rows
    assert any(r.get("data-failure-id") == found["failure_id"] and r.get("data-status") == "closed" for r in rows)


def test_other_defects_of_a_subject_stay_open(city):
    resent = city["resent"]["bad_check_char"]
    others = [d for d in city["manifest"].defects_of("bad_check_char")
              if d.value == resent.value and (d.source_file, d.row_number) != (resent.source_file, resent.row_number)]
    for defect in others:  # other records of the subject were not re-sent
        assert failure_at(city["after"]["failures"], defect, "uscc_check_char")["status"] == "open"


def test_open_failures_per_day_fall_when_corrections_arrive(city):
    settings = city["settings"]
    daily = {r["report_date"]: r for r in query(
        settings, "select report_date, sum(open_failures) as open_failures, sum(closed_failures) as closed "
                  "from marts.mart_validation_failures_daily group by 1", db="published")}
    assert max(daily) == FIX_DAY and min(daily) == START
    assert daily[FIX_DAY]["closed"] == len([f for f in city["after"]["failures"] if f["closed_on"] == FIX_DAY])
    assert daily[FIX_DAY]["closed"] >= len(CLASSES)
    opened_by_fixes = [f for f in city["after"]["failures"] if f["opened_on"] == FIX_DAY]
    assert daily[FIX_DAY]["open_failures"] == daily[END]["open_failures"] - daily[FIX_DAY]["closed"] + len(
        [f for f in opened_by_fixes if f["failing_since"] == FIX_DAY])
    open_now = sum(1 for f in city["after"]["failures"] if f["status"] == "open")
    assert daily[FIX_DAY]["open_failures"] == open_now


def test_the_page_lists_the_newest_open_failures_and_the_lists_hold_every_one(city, tmp_path):
    """With many open failures a department's drill-down shows the newest few, says how many there
    are and links its correction list, which holds every one of them (as the flow wrote it)."""
    from credit_warehouse.steward.build import _links
    from credit_warehouse.steward.corrections import write_corrections
    from credit_warehouse.steward.page import render_page
    from credit_warehouse.steward.review_data import load_review_data

    settings, shown = city["settings"], 1
    with connect(settings.work_db, read_only=True, marts_db=settings.marts_db) as con:
        data = load_review_data(con, max_open_shown=shown)
        lists = write_corrections(con, data, tmp_path / "corrections")
    open_now = [f for f in city["after"]["failures"] if f["status"] == "open"]
    many = [d for d in data.departments if d.open_total > shown]
    assert many, "the test city has no department with more than one open failure"
    page_path = tmp_path / "review" / "index.html"
    html = render_page(data, _links(settings, page_path, lists), dt.datetime.now())
    rows = parsed(html).rows
    for department in many:
        newest = sorted((f for f in open_now if f["department_code"] == department.code),
                        key=lambda f: f["failing_since"], reverse=True)
        listed = [r for r in rows if r.get("data-status") == "open"
                  and r.get("data-failure-id") in {f["failure_id"] for f in newest}]
        assert len(listed) == shown and department.open_total == len(newest)
        assert {r["data-failure-id"] for r in listed} <= {f["failure_id"] for f in newest
                                                          if f["failing_since"] >= newest[shown - 1]["failing_since"]}
        note = re.search(rf'data-department="{department.code}".*?<p class="muted truncated" '
                         rf'data-open-shown="(\d+)" data-open-total="(\d+)">.*?<a href="([^"]+\.csv)">', html)
        assert note and note.groups()[:2] == (str(shown), str(len(newest))), department.code
        listing = (page_path.parent / unquote(note.group(3))).resolve()
        with listing.open(encoding="utf-8-sig", newline="") as handle:
            assert sum(1 for r in csv.DictReader(handle) if r["行号"]) == len(newest)


# -- severity: blocking keeps records out, warnings publish; nothing stops the load ------------------
def published_keys(settings, category: str) -> set[str]:
    return {r["record_key"] for r in query(settings, "select record_key from marts.fct_credit_record "
                                                     "where category_code = ?", [category], db="published")}


def test_blocking_failures_keep_records_out_until_corrected(city):
    settings = city["settings"]
    assert city["before"]["summary"].status == "succeeded" and city["after"]["summary"].status == "succeeded"
    for kind in ("missing_required", "bad_date", "unidentifiable_subject"):
        defect = city["resent"][kind]
        before = failure_at(city["before"]["failures"], defect, rule_of(defect))
        assert before["is_blocking"]
        # not published before the re-send (the rerun snapshot is gone: check staging lineage instead)
        staged = query(settings, "select count(*) as n from intermediate.int_record_versions "
                                 "where source_file = ? and row_number = ?", [defect.source_file, defect.row_number])
        assert staged[0]["n"] == 0
        assert defect.record_key in published_keys(settings, defect.category_code)  # the corrected version


def test_warning_failures_publish_the_record_flagged(city):
    settings, resent = city["settings"], {(d.source_file, d.row_number) for d in city["resent"].values()}
    warned = [d for kind, (_, severity) in CLASSES.items() if severity == "warning"
              for d in city["manifest"].defects_of(kind) if (d.source_file, d.row_number) not in resent]
    assert warned
    catalogue = Catalogue.load()
    for defect in warned:
        if not catalogue.categories[defect.category_code].is_catalogue:
            # operational feeds (ledgers, objections, repairs) are not credit records: accepted, not published
            rows = query(settings, "select is_accepted from intermediate.int_feed_row_quality "
                                   "where source_file = ? and row_number = ?", [defect.source_file, defect.row_number])
            assert rows == [{"is_accepted": True}], defect
            continue
        rows = query(settings, "select warning_rule_ids from marts.fct_credit_record where category_code = ? "
                               "and record_key = ?", [defect.category_code, defect.record_key], db="published")
        assert len(rows) == 1 and rule_of(defect) in rows[0]["warning_rule_ids"].split(","), defect


def test_duplicate_files_and_clean_resends_open_no_failure(city):
    manifest, rows = city["manifest"], city["after"]["failures"]
    assert manifest.duplicate_files and manifest.corrections
    copies = {copy for _, copy in manifest.duplicate_files}
    assert not [f for f in rows if f["source_file"] in copies]  # never landed: no record failure
    page = city["after"]["page"]
    assert all(copy in page for copy in copies)  # listed under 文件报送问题 of the department
    for correction in manifest.corrections:  # the sample city's own corrected re-sends are clean
        assert not [f for f in rows if f["source_file"] == correction.correction_file
                    and f["row_number"] == correction.correction_row and f["rule_id"] != "late_report"]


def test_exports_and_page_hold_no_unmasked_id_number(city):
    settings = city["settings"]
    id_numbers = {r["n"] for r in query(settings, "select distinct upper(trim(id_number)) as n from raw.feed_rows "
                                                  "where length(trim(id_number)) = 18")}
    assert id_numbers
    texts = [city["before"]["page"], city["after"]["page"]]
    for path in (settings.reports_dir / "corrections").rglob("*"):
        if path.suffix == ".csv":
            texts.append(path.read_text(encoding="utf-8-sig"))
        elif path.suffix == ".xlsx":
            book = load_workbook(path, read_only=True)
            texts += [" ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
                      for sheet in book.worksheets]
            book.close()
    masked = 0
    for text in texts:
        assert not id_numbers & {m.upper() for m in RESIDENT_ID.findall(text)}
        masked += text.count("*************")
    assert masked  # ID numbers do appear, masked


def test_cli_prints_and_rebuilds_the_review_page(city):
    from credit_warehouse.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["review", "--home", str(city["home"]), "--rebuild"])
    assert result.exit_code == 0, result.output
    assert str(city["page"]) in result.output
    assert parsed(city["page"].read_text(encoding="utf-8")).metrics["open-total"] == parsed(
        city["after"]["page"]).metrics["open-total"]


def test_the_review_keeps_the_lists_of_the_latest_dates_only(city, monkeypatch):
    from credit_warehouse.cli import app
    from typer.testing import CliRunner

    root = city["settings"].reports_dir / "corrections"
    for old in ("20200101", "20200102"):  # older lists, as a year of daily loads leaves them
        (root / old).mkdir()
        (root / old / "list.csv").write_text("序号\r\n", encoding="utf-8")
    monkeypatch.setenv("CREDITWH_CORRECTIONS_KEEP", "3")
    try:
        result = CliRunner().invoke(app, ["review", "--home", str(city["home"]), "--rebuild"])
        assert result.exit_code == 0, result.output
        kept = sorted(p.name for p in root.iterdir())
    finally:
        shutil.rmtree(root / "20200102", ignore_errors=True)
    assert kept == ["20200102", f"{END:%Y%m%d}", f"{FIX_DAY:%Y%m%d}"]


def test_list_folders_beyond_the_latest_dates_are_removed(tmp_path):
    from credit_warehouse.steward.corrections import prune_list_folders

    root = tmp_path / "corrections"
    for name in ("20261010", "20261011", "20261012", "20261013", "undated", "archive"):
        (root / name).mkdir(parents=True)
    (root / "notes.txt").write_text("a steward's own file", encoding="utf-8")
    assert prune_list_folders(root, 0, root / "20261013") == []  # 0 keeps every date
    removed = prune_list_folders(root, 2, root / "20261010")  # a re-run of an older date keeps its lists
    assert [p.name for p in removed] == ["20261011"]
    assert sorted(p.name for p in root.iterdir()) == ["20261010", "20261012", "20261013", "archive", "notes.txt",
                                                      "undated"]


# -- the page in real headless Chromium -------------------------------------------------------------
def test_review_page_numbers_match_the_warehouse_in_chromium(city, browser_page):
    settings, page = city["settings"], browser_page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(city["page"].as_uri())
    metric = {name: page.locator(f'[data-metric="{name}"]').inner_text().strip()
              for name in ("open-total", "open-blocking", "open-warning", "closed", "departments-with-open",
                           "compliance-rate", "as-of")}
    counts = query(settings, "select count(*) filter (where is_open) as open_total, "
                             "count(*) filter (where is_open and is_blocking) as open_blocking, "
                             "count(*) filter (where is_open and not is_blocking) as open_warning, "
                             "count(*) filter (where status = 'closed') as closed, "
                             "count(distinct department_code) filter (where is_open) as departments "
                             "from marts.mart_validation_failures", db="published")[0]
    rate = query(settings, "select sum(rows_loaded) / sum(rows_submitted) as rate "
                           "from marts.mart_department_compliance", db="published")[0]["rate"]
    assert (int(metric["open-total"]), int(metric["open-blocking"]), int(metric["open-warning"]),
            int(metric["closed"]), int(metric["departments-with-open"])) == (
        counts["open_total"], counts["open_blocking"], counts["open_warning"], counts["closed"],
        counts["departments"])
    assert metric["compliance-rate"] == f"{rate * 100:.2f}%" and metric["as-of"] == FIX_DAY.isoformat()
    # departments ranked by open failures, each row's counts as in the warehouse
    ranked = page.locator("#department-ranking tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.department, Number(r.dataset.open), Number(r.dataset.blocking)])")
    per_department = {r["department_code"]: (r["open"], r["blocking"]) for r in query(
        settings, "select department_code, count(*) filter (where is_open) as open, "
                  "count(*) filter (where is_open and is_blocking) as blocking "
                  "from marts.mart_validation_failures group by 1", db="published")}
    assert [n for _, n, _ in ranked] == sorted((n for _, n, _ in ranked), reverse=True)
    for code, open_count, blocking in ranked:
        assert (open_count, blocking) == per_department.get(code, (0, 0)), code
    # trend: the newest day's open count is the warehouse's
    newest = page.locator("#trend-table tbody tr").first
    assert newest.get_attribute("data-day") == FIX_DAY.isoformat()
    assert int(newest.get_attribute("data-open")) == counts["open_total"]
    # drill-down: following a department link opens its details, listing exactly its open failures
    top_code, top_open, _ = ranked[0]
    details = page.locator(f"#dept-{top_code}")
    assert not details.locator("table").first.is_visible()
    page.locator(f'#department-ranking a[href="#dept-{top_code}"]').click()
    assert details.evaluate("el => el.open")
    assert details.locator('tr[data-status="open"]').count() == top_open
    # Data Docs and correction files are reachable, and nothing was fetched but local files
    docs = page.locator("#data-docs-link").get_attribute("href")
    assert (city["page"].parent / docs).resolve() == (settings.data_docs_dir / "index.html").resolve()
    assert (settings.data_docs_dir / "index.html").exists()
    assert requests and all(url.startswith("file://") for url in requests), requests


def correction_list(tmp_path: Path, rows: list[list[str]], max_sheet_rows: int | None = None) -> Path:
    """A department's list written as the review writes it: the CSV row by row, its XLSX from the CSV."""
    from credit_warehouse.steward.corrections import CorrectionFiles, CorrectionList, notes
    from credit_warehouse.steward.review_data import DepartmentReview
    from credit_warehouse.steward.xlsx_list import write_xlsx

    listing = CorrectionList(CorrectionFiles("market_regulation", tmp_path / "list.csv", tmp_path / "list.xlsx", 0))
    for row in rows:
        listing.add(row)
    files = listing.close()
    assert files.rows == len(rows)
    sheet_notes = notes(DepartmentReview("market_regulation", "市场监管局"), dt.date(2026, 10, 9))
    options = {"max_sheet_rows": max_sheet_rows} if max_sheet_rows else {}
    assert write_xlsx(files.csv, files.xlsx, sheet_notes, rows=files.rows, **options) == len(rows)
    return files.xlsx


def test_a_worker_writes_the_same_xlsx_as_the_review_process(tmp_path):
    from credit_warehouse.steward.xlsx_list import XlsxConverter
    from python_calamine import CalamineWorkbook

    rows = [["C06 行政处罚", f"market_regulation/C06_2026100{n % 9}.csv", str(n), f"K{n}", "处罚金额", "=1+1",
             "不是数字", "请更正", "阻断", "C06.amount", "2026-10-09", "run"] for n in range(1, 40)]
    here = correction_list(tmp_path, rows, max_sheet_rows=25)
    converter = XlsxConverter(workers=1)
    there = tmp_path / "worker.xlsx"
    converter.submit(here.with_suffix(".csv"), there, [["部门", "市场监管局"]], rows=len(rows))
    converter.close()
    with CalamineWorkbook.from_path(str(here)) as mine, CalamineWorkbook.from_path(str(there)) as theirs:
        assert theirs.sheet_names == ["更正清单", "说明"]  # one sheet: the worker's own row limit
        assert theirs.get_sheet_by_index(0).to_python() == [
            row for name in mine.sheet_names[:-1] for row in mine.get_sheet_by_name(name).to_python()
            if row[0] != "序号" or name == "更正清单"]


def test_a_worker_that_cannot_write_a_list_fails_the_review_with_its_reason(tmp_path):
    from credit_warehouse.steward.xlsx_list import XlsxConverter, XlsxFailed

    converter = XlsxConverter(workers=1)
    converter.submit(tmp_path / "missing.csv", tmp_path / "missing.xlsx", [], rows=0)
    with pytest.raises(XlsxFailed, match="missing.xlsx: worker exited with 1: .*FileNotFoundError"):
        converter.close()


def test_correction_list_cells_hold_delivered_values_as_text_never_as_formulas(tmp_path):
    """A department's offending value goes back to it as the text it sent: a value shaped like a
    formula must not become a live one in the XLSX list; 序号 and 行号 are numbers, empty cells blank."""
    from credit_warehouse.steward.corrections import HEADERS
    from python_calamine import CalamineWorkbook

    values = ["C06 行政处罚", "market_regulation/C06_20261009.csv", "12", "", "处罚金额",
              '=HYPERLINK("http://example.invalid","点击")', "不是数字", "请更正", "阻断", "C06.amount", "2026-10-09",
              "0042"]
    path = correction_list(tmp_path, [values])
    with CalamineWorkbook.from_path(str(path)) as book:
        header, row = book.get_sheet_by_index(0).to_python()
    assert header == list(HEADERS)
    assert row == [1.0, *values[0:2], 12.0, *values[3:]]
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "HYPERLINK" in sheet  # written as a string, not as a formula


def test_a_list_longer_than_a_sheet_goes_on_to_the_next_sheet(tmp_path):
    """Excel stops at 1,048,576 rows: a longer list continues on 更正清单2, 3, ... each with its header,
    numbered on; the CSV holds every row."""
    from credit_warehouse.steward.corrections import HEADERS
    from python_calamine import CalamineWorkbook

    rows = [["C06 行政处罚", f"market_regulation/C06_2026100{n}.csv", str(n), "", "", "", "", "", "阻断", "r", "", ""]
            for n in range(1, 8)]
    path = correction_list(tmp_path, rows, max_sheet_rows=3)
    with CalamineWorkbook.from_path(str(path)) as book:
        assert book.sheet_names == ["更正清单", "更正清单2", "更正清单3", "说明"]
        sheets = [book.get_sheet_by_name(name).to_python() for name in book.sheet_names[:3]]
    assert all(sheet[0] == list(HEADERS) for sheet in sheets)
    assert [row[0] for sheet in sheets for row in sheet[1:]] == [float(n) for n in range(1, 8)]
    with path.with_suffix(".csv").open(encoding="utf-8-sig", newline="") as handle:
        assert [row[0] for row in csv.reader(handle)][1:] == [str(n) for n in range(1, 8)]


def _xlsxwriter_reference(csv_path: Path, xlsx_path: Path, notes: list[list[str]]) -> None:
    """The list written cell by cell through XlsxWriter's own API (what the rows spliced in by hand
    must equal): numbers for 序号 and 行号, every other value a string, empty cells blank."""
    import xlsxwriter
    from credit_warehouse.steward import xlsx_list

    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        headers, *rows = list(csv.reader(handle))
    book = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
    sheet = xlsx_list._data_sheet(book, 1, headers, wrap, bold)
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if column in xlsx_list.NUMBER_COLUMNS and value.isdigit():
                sheet.write_number(number, column, int(value))
            elif value:
                sheet.write_string(number, column, value)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), len(headers) - 1)
    xlsx_list._notes_sheet(book, notes)
    book.close()


def test_xlsx_rows_written_by_hand_equal_xlsxwriters_own(tmp_path):
    """The data rows' XML is written by hand for speed: it must be exactly what XlsxWriter writes for
    the same cells, on the values that need escaping, whitespace kept, truncation and numbers."""
    tricky = ["&<>\"'", " leading", "trailing ", "line\nbreak\n", "tab\there", "bell\x07 and \x1f", "_x0041_ literal",
              "non\ufffecharacter", "😀 emoji", "=HYPERLINK(\"http://example.invalid\")", "全角　空格",
              "x" * 40_000, "😀" * 17_000, "", "0042", "١٢", "\u3000全角边缘", "尾部\x85", "\x1c control first",
              "non\uffffcharacter", "plain", "_x"]
    rows = [[tricky[(n + k) % len(tricky)] for k in range(12)] for n in range(len(tricky))]
    rows += [["C06", "f.csv", "x12", "k", "", "", "", "", "阻断", "r", "", ""]]  # 行号 not a number: a string
    fast = correction_list(tmp_path, rows)
    reference = tmp_path / "reference.xlsx"
    _xlsxwriter_reference(fast.with_suffix(".csv"), reference, [["部门", "市场监管局"]])
    with zipfile.ZipFile(fast) as mine, zipfile.ZipFile(reference) as theirs:
        assert mine.read("xl/worksheets/sheet1.xml") == theirs.read("xl/worksheets/sheet1.xml")
        assert mine.read("xl/styles.xml") == theirs.read("xl/styles.xml")
        assert mine.read("xl/workbook.xml") == theirs.read("xl/workbook.xml")


def test_a_value_shaped_like_xlsx_markup_stays_text(tmp_path):
    """XlsxWriter's constant-memory writer puts a string shaped like <r>…</r> into the XML as rich-text
    markup; a department's delivered value must come back as the text it sent."""
    from python_calamine import CalamineWorkbook

    values = ["C06 行政处罚", "f.csv", "3", "<r><t>K1</t></r>", "<r>", "<r>broken</r>", "", "", "阻断", "r", "", ""]
    path = correction_list(tmp_path, [values])
    with CalamineWorkbook.from_path(str(path)) as book:
        assert book.get_sheet_by_index(0).to_python()[1][4:7] == values[3:6]
    assert load_workbook(path, read_only=True)["更正清单"]["E2"].value == "<r><t>K1</t></r>"


@pytest.mark.parametrize("declared", [2, 4])
def test_an_xlsx_list_whose_csv_holds_other_rows_than_declared_fails(tmp_path, declared):
    from credit_warehouse.steward.xlsx_list import write_xlsx

    rows = [["C06", "f.csv", str(n), "", "", "", "", "", "阻断", "r", "", ""] for n in (1, 2, 3)]
    path = correction_list(tmp_path, rows)
    with pytest.raises(ValueError, match="CSV"):
        write_xlsx(path.with_suffix(".csv"), tmp_path / "other.xlsx", [], rows=declared)
    assert not (tmp_path / "other.xlsx").exists() and not list(tmp_path.glob("other.xlsx.*"))


def test_duckdb_writes_a_department_s_failures_as_python_s_csv_writer_would(tmp_path):
    """The open failures of a list are written by DuckDB (COPY), its rejected files by Python's csv
    writer: the file must be the one Python alone writes, whatever a delivered value holds."""
    import duckdb
    from credit_warehouse.steward.corrections import (
        ACTION_ZH,
        CorrectionFiles,
        CorrectionList,
        write_list,
    )
    from credit_warehouse.steward.review_data import SEVERITY_ZH, DepartmentReview

    values = ["a,b", 'say "x"', "two\nlines", "cr\rlf", " edge ", "=1+1", "中文，全角", "", None, "'", '"']
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("""create table marts.mart_validation_failures (department_code varchar, category_code varchar,
        category_name varchar, source_file varchar, row_number integer, record_key varchar, field varchar,
        field_header_zh varchar, offending_value varchar, reason_zh varchar, rule_id varchar, severity varchar,
        failing_since date, run_id varchar, is_open boolean)""")
    rows = [["market_regulation", "C06", "行政处罚" if n % 3 else None, f"market_regulation/C06_2026100{n % 4}.csv",
             100 - n, value, "amount", None if n % 2 else "处罚金额", value, None if n == 5 else "不是数字",
             f"C06.r{n}", "blocking" if n % 2 else "warning", dt.date(2026, 10, 1 + n), "run-1", True]
            for n, value in enumerate(values)]
    rows.append(["market_regulation", "C06", "行政处罚", "x.csv", 1, "k", "f", "h", "v", "r", "C06.x", "blocking",
                 dt.date(2026, 10, 1), "run-1", False])  # closed: not listed
    rows.append(["tax", "C06", "行政处罚", "y.csv", 1, "k", "f", "h", "v", "r", "C06.x", "blocking",
                 dt.date(2026, 10, 1), "run-1", True])  # another department's
    con.executemany("insert into marts.mart_validation_failures values (" + ", ".join("?" * 15) + ")", rows)
    department = DepartmentReview("market_regulation", "市场监管局")

    copied = write_list(con, department, CorrectionFiles(department.code, tmp_path / "copied.csv",
                                                          tmp_path / "copied.xlsx", 0), open_failures=len(values))
    by_hand = CorrectionList(CorrectionFiles(department.code, tmp_path / "by_hand.csv", tmp_path / "x.xlsx", 0))
    for row in sorted(rows[:len(values)], key=lambda r: (r[1], r[3], r[4], r[10], r[6])):
        _, code, name, source, number, key, field, header, value, reason, rule, severity, since, run_id, _ = row
        by_hand.add([f"{code} {name or code}", source, str(number), key or "", header or field, value or "",
                     reason or rule, ACTION_ZH[severity], SEVERITY_ZH[severity], rule, since.isoformat(), run_id])
    expected = by_hand.close()
    assert copied.rows == expected.rows == len(values)
    assert copied.csv.read_bytes() == expected.csv.read_bytes()
    assert not list(tmp_path.glob("*.rows"))  # DuckDB's block is spliced in and removed
