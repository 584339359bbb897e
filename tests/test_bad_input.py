"""Bad input, one kind per test: each is handled with a specific reason code and rows are conserved.

One city day holds a good file and one file per kind of bad input (all 行政处罚 C03 of
market_regulation, registered as UTF-8 CSV); the real daily load runs once through the CLI
(in-process) and every test reads what happened to its file: rejected with a reason, or landed
with landing notes, rows loaded or quarantined with a reason, never dropped. The 200 MB file is
landed on its own in a subprocess, to measure that process's peak memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.codes import ASCII_FORMS, FULLWIDTH_FORMS, mask_id_number, person_key
from credit_warehouse.inbox import inbox_path
from credit_warehouse.settings import DBT_PROJECT_DIR, load_settings
from credit_warehouse.validation.expressions import (
    _DATE_SHAPE_REGEX,
    DATE_FORMATS,
    NFKC_CHARS_CLASS,
    nfkc_sql,
    parse_date_sql,
    trim_whitespace_sql,
)
from openpyxl import Workbook

CATALOGUE = Catalogue.load()
DAY = dt.date(2026, 10, 9)
DEPARTMENT = "market_regulation"  # its C03 feed is registered as UTF-8 CSV
SPECS = CATALOGUE.fields_of("C03")
HEADERS = [s.header_zh for s in SPECS]
FIELDS = [s.field for s in SPECS]
ORG = "91140213MA00000016"
AUTHORITY = "11140200RCMBP1GQ0D"
PERSON_ID = "140213198506151237"
FULLWIDTH_ORG = ORG.translate(str.maketrans(ASCII_FORMS, FULLWIDTH_FORMS))


def penalty(n: int, **changes: str) -> dict[str, str]:
    row = dict(subject_name=f"大同市第{n}商贸有限公司", subject_type="法人及非法人组织", uscc=ORG, legal_rep="王五",
               id_type="", id_number="", doc_number=f"同市监罚〔2026〕{n}号", violation_type="违反市场监管规定",
               violation_facts="未按规定公示年度报告，情节较轻", legal_basis="《企业信息公示暂行条例》第十八条",
               penalty_category="罚款", content="罚款1.5万元", fine_amount="1.5", confiscation_amount="",
               revoked_licence="", decision_date="2026-10-08", valid_to="2027-10-08", publicity_until="",
               authority="大同市市场监督管理局", authority_uscc=AUTHORITY, data_source_unit="大同市市场监督管理局",
               data_source_uscc=AUTHORITY, remarks="")
    return {**row, **changes}


def table_text(rows: list[dict[str, str]], headers: list[str] = HEADERS, fields: list[str] = FIELDS,
               delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([[row.get(f, "") for f in fields] for row in rows])
    return out.getvalue()


def rows_of(start: int, count: int) -> list[dict[str, str]]:
    return [penalty(n) for n in range(start, start + count)]


def title_and_merged_xlsx(path: Path) -> None:
    """Two title rows (the first merged across the sheet), then the header; 处罚机关 and 数据来源单位
    merged down over the three records, as departments' exports do."""
    book = Workbook()
    sheet = book.active
    sheet.append(["大同市市场监督管理局行政处罚信息公示"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet.append(["导出日期：2026年10月9日"])
    sheet.append(HEADERS)
    rows = rows_of(500, 3)
    for i, row in enumerate(rows):
        values = [row[f] for f in FIELDS]
        if i:
            values[FIELDS.index("authority")] = None
            values[FIELDS.index("data_source_unit")] = None
        sheet.append(values)
    for field in ("authority", "data_source_unit"):
        column = FIELDS.index(field) + 1
        sheet.merge_cells(start_row=4, start_column=column, end_row=6, end_column=column)
    book.save(path)


def file_contents() -> dict[str, tuple[str, bytes | None, int | None]]:
    """tag -> (extension, bytes or None for XLSX, data rows written)."""
    good = table_text(rows_of(1, 5))
    lines = table_text(rows_of(100, 4)).splitlines(keepends=True)
    mixed = (lines[0] + lines[1] + lines[3]).encode() + lines[2].encode("gb18030") + lines[4].encode()
    truncated = table_text(rows_of(200, 3)) + ",".join(list(penalty(203).values())[:9])  # cut mid-row, no newline
    ragged = (table_text(rows_of(300, 2)) + ",".join(list(penalty(302).values())[:6]) + "\n"
              + ",".join([*penalty(303).values(), "多出的值"]) + "\n" + table_text(rows_of(304, 1)).split("\n", 1)[1])
    dates = [penalty(600 + i, decision_date=d) for i, d in enumerate(
        ["2026-10-08", "2026/10/8", "20261008", "2026.10.08", "2026年10月8日", "２０２６－１０－０８",
         "2026-02-30", "2026年2月30日"])]
    codes = [penalty(700, uscc=FULLWIDTH_ORG), penalty(701, uscc=" 9114 0213 MA00 0000 16 "),
             penalty(702, uscc="91140213ma00000016\u3000", authority_uscc=f"\u3000{AUTHORITY} "),
             penalty(703, subject_name="张三", subject_type="自然人", uscc="", legal_rep="", id_type="身份证",
                     id_number=PERSON_ID.translate(str.maketrans(ASCII_FORMS, FULLWIDTH_FORMS)))]
    missing = [f for f in FIELDS if f != "decision_date"]
    records = [dict(zip(HEADERS, [penalty(800)[f] for f in FIELDS], strict=True)), "not a record",
               dict(zip(HEADERS, [penalty(801)[f] for f in FIELDS], strict=True))]
    undecodable = (table_text(rows_of(900, 2)).encode()
                   + ",".join(list(penalty(902).values())).encode().replace("商贸".encode(), b"\xff\xfe\x81") + b"\n")
    return {
        "good": ("csv", good.encode(), 5),
        "empty": ("csv", b"", None),
        "headeronly": ("csv", table_text([]).encode(), 0),
        "truncated": ("csv", truncated.encode(), 4),
        "semicolon": ("csv", table_text(rows_of(10, 2), delimiter=";").encode(), 2),
        "caret": ("csv", table_text(rows_of(20, 2)).replace(",", "^").encode(), None),
        "gbk": ("csv", table_text(rows_of(30, 3)).encode("gb18030"), 3),
        "mixed": ("csv", mixed, 4),
        "bom": ("csv", b"\xef\xbb\xbf" + table_text(rows_of(40, 2)).encode(), 2),
        "dupheaders": ("csv", table_text(rows_of(50, 2), HEADERS + ["备注"], FIELDS + ["violation_type"]).encode(), 2),
        "missingcols": ("csv", table_text(rows_of(60, 2), [s.header_zh for s in SPECS if s.field in missing],
                                          missing).encode(), 2),
        "extracols": ("csv", table_text([{**r, "x1": "内部编号7", "x2": "经办人李四"} for r in rows_of(70, 2)],
                                        HEADERS + ["内部编号", "经办人"], FIELDS + ["x1", "x2"]).encode(), 2),
        "ragged": ("csv", ragged.encode(), 5),
        "xlsx": ("xlsx", None, 3),
        "jsonshape": ("json", json.dumps({"status": "ok", "count": 2}).encode(), None),
        "jsonitems": ("json", json.dumps({"records": records}, ensure_ascii=False).encode(), 3),
        "dates": ("csv", table_text(dates).encode(), 8),
        "codes": ("csv", table_text(codes).encode(), 4),
        "zip": ("csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 64, None),
        "undecodable": ("csv", undecodable, 3),
    }


@pytest.fixture(scope="module")
def day(tmp_path_factory, prefect_harness):
    from credit_warehouse.cli import app
    from typer.testing import CliRunner

    home = tmp_path_factory.mktemp("bad_input")
    settings = load_settings(home)
    settings.ensure_dirs()
    written = {}
    for tag, (ext, data, rows) in file_contents().items():
        path = inbox_path(settings.inbox, DEPARTMENT, "C03", DAY, ext, tag=tag)
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            title_and_merged_xlsx(path)
        else:
            path.write_bytes(data)
        written[tag] = (path.relative_to(settings.inbox).as_posix(), rows)
    os.environ["CREDITWH_DBT_TESTS"] = "false"
    try:
        result = CliRunner().invoke(app, ["run", DAY.isoformat(), "--home", str(home)])
    finally:
        os.environ.pop("CREDITWH_DBT_TESTS")
    return {"settings": settings, "files": written, "result": result}


def query(day, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(day["settings"].work_db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def delivery(day, tag: str) -> dict:
    source = day["files"][tag][0]
    (outcome, reason, rows_in), = query(day, "select outcome, reason_code, rows_in from raw.deliveries "
                                             "where source_file = ?", [source])
    summary = query(day, "select rows_loaded, rows_quarantined, reasons from ops.feed_summary where source_file = ?",
                    [source])
    loaded, quarantined, reasons = summary[0] if summary else (None, None, "{}")
    return dict(outcome=outcome, reason=reason, notes=set((reason or "").split(",")) - {""}, rows_in=rows_in,
                loaded=loaded, quarantined=quarantined, reasons=json.loads(reasons or "{}"))


def row_issues(day, tag: str) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for row, rule in query(day, "select i.row_number, i.rule_id from validation.row_issues i join raw.files f "
                                "using (file_sha256) where f.source_file = ? and i.severity = 'blocking'",
                           [day["files"][tag][0]]):
        found.setdefault(row, set()).add(rule)
    return found


def raw(day, tag: str, columns: str) -> list[tuple]:
    return query(day, f"select {columns} from raw.feed_rows where source_file = ? order by row_number",
                 [day["files"][tag][0]])


def staged(day, tag: str, columns: str) -> list[tuple]:
    return query(day, f"select {columns} from staging.stg_penalties where source_file = ? order by row_number",
                 [day["files"][tag][0]])


def assert_landed_and_conserved(day, tag: str) -> dict:
    """Every data row of the file is in raw, and loaded to staging or quarantined with a reason."""
    found = delivery(day, tag)
    written = day["files"][tag][1]
    assert found["outcome"] == "landed", found
    assert found["rows_in"] == written == len(raw(day, tag, "row_number")), (found, written)
    assert found["loaded"] + found["quarantined"] == written, found
    assert found["quarantined"] == len(row_issues(day, tag)), found
    assert len(staged(day, tag, "row_number")) == found["loaded"], found
    return found


def assert_rejected(day, tag: str, reason: str) -> None:
    found = delivery(day, tag)
    assert (found["outcome"], found["reason"]) == ("rejected", reason), found
    assert raw(day, tag, "row_number") == []  # nothing half-landed
    assert reason in found["reasons"]  # the run summary names it


# --- the run as a scheduler sees it --------------------------------------------------------------

def test_broken_files_do_not_stop_the_others_and_the_exit_code_says_so(day):
    result = day["result"]
    assert result.exit_code == 3, result.output[-3000:]
    for tag, reason in (("empty", "empty_file"), ("zip", "zip_archive"), ("jsonshape", "json_wrong_shape"),
                        ("caret", "header_not_recognised")):
        assert f"REJECTED {day['files'][tag][0]}: {reason}" in result.output, result.output[-3000:]
    assert_landed_and_conserved(day, "good")
    assert delivery(day, "good")["quarantined"] == 0
    assert query(day, "select status from ops.runs")[-1] == ("succeeded_with_rejections",)


# --- one test per kind ---------------------------------------------------------------------------

def test_empty_file_is_rejected(day):
    assert_rejected(day, "empty", "empty_file")


def test_header_only_file_lands_with_no_rows(day):
    found = assert_landed_and_conserved(day, "headeronly")
    assert found["notes"] == {"no_data_rows"}


def test_truncated_last_line_is_quarantined_not_dropped(day):
    found = assert_landed_and_conserved(day, "truncated")
    issues = row_issues(day, "truncated")
    assert found["quarantined"] == 1 and set(issues) == {4} and "truncated_row" in issues[4]
    assert raw(day, "truncated", "subject_name")[3] == ("大同市第203商贸有限公司",)  # what arrived is kept


def test_other_delimiter_is_detected(day):
    found = assert_landed_and_conserved(day, "semicolon")
    assert found["notes"] == {"delimiter_detected"} and found["quarantined"] == 0


def test_unknown_delimiter_is_rejected(day):
    assert_rejected(day, "caret", "header_not_recognised")


def test_gbk_bytes_in_a_file_registered_as_utf8(day):
    found = assert_landed_and_conserved(day, "gbk")
    assert found["notes"] == {"encoding_not_as_registered"} and found["quarantined"] == 0
    assert raw(day, "gbk", "subject_name")[0] == ("大同市第30商贸有限公司",)


def test_mixed_encodings_within_one_file_are_decoded_line_by_line(day):
    found = assert_landed_and_conserved(day, "mixed")
    assert found["notes"] == {"mixed_encoding"} and found["quarantined"] == 0
    names = [r[0] for r in raw(day, "mixed", "subject_name")]
    assert names == [f"大同市第{n}商贸有限公司" for n in (100, 102, 101, 103)]


def test_bytes_in_no_known_encoding_quarantine_their_row(day):
    found = assert_landed_and_conserved(day, "undecodable")
    assert "undecodable_lines" in found["notes"] and row_issues(day, "undecodable") == {3: {"undecodable_row"}}
    assert "\ufffd" in raw(day, "undecodable", "subject_name")[2][0]


def test_byte_order_mark_is_removed(day):
    found = assert_landed_and_conserved(day, "bom")
    assert found["notes"] == {"byte_order_mark"} and found["quarantined"] == 0


def test_duplicate_headers_keep_both_values(day):
    found = assert_landed_and_conserved(day, "dupheaders")
    assert found["notes"] == {"duplicate_headers"}
    remarks, extra = raw(day, "dupheaders", "remarks, extra_fields")[0]
    assert remarks == "" and json.loads(extra) == {"备注": "违反市场监管规定"}  # the repeat, kept


def test_missing_required_column_quarantines_its_rows(day):
    found = assert_landed_and_conserved(day, "missingcols")
    assert found["notes"] == {"missing_required_columns"} and found["quarantined"] == 2
    assert row_issues(day, "missingcols") == {1: {"missing_required_field"}, 2: {"missing_required_field"}}


def test_unknown_extra_columns_are_kept(day):
    found = assert_landed_and_conserved(day, "extracols")
    assert found["notes"] == {"unknown_columns"} and found["quarantined"] == 0
    assert json.loads(raw(day, "extracols", "extra_fields")[0][0]) == {"内部编号": "内部编号7", "经办人": "经办人李四"}


def test_ragged_rows_are_quarantined_with_their_values(day):
    found = assert_landed_and_conserved(day, "ragged")
    issues = row_issues(day, "ragged")  # the short row also lacks required fields
    assert set(issues) == {3, 4} and all("ragged_row" in rules for rules in issues.values())
    (short_name, short_facts), (long_name, long_extra) = [
        raw(day, "ragged", "subject_name, violation_facts")[2], raw(day, "ragged", "subject_name, extra_fields")[3]]
    assert (short_name, short_facts) == ("大同市第302商贸有限公司", None)
    assert long_name == "大同市第303商贸有限公司" and json.loads(long_extra) == {"_overflow": ["多出的值"]}
    assert found["loaded"] == 3


def test_xlsx_title_rows_and_merged_cells(day):
    found = assert_landed_and_conserved(day, "xlsx")
    assert found["notes"] == {"title_rows_skipped", "merged_cells_filled"} and found["quarantined"] == 0
    assert staged(day, "xlsx", "authority, data_source_unit") == [("大同市市场监督管理局", "大同市市场监督管理局")] * 3


def test_json_of_the_wrong_shape_is_rejected(day):
    assert_rejected(day, "jsonshape", "json_wrong_shape")


def test_json_record_that_is_not_an_object_is_quarantined(day):
    found = assert_landed_and_conserved(day, "jsonitems")
    issues = row_issues(day, "jsonitems")
    assert set(issues) == {2} and "json_not_object" in issues[2] and found["loaded"] == 2
    assert json.loads(raw(day, "jsonitems", "extra_fields")[1][0]) == {"_value": "not a record"}


def test_dates_in_every_delivered_format_and_impossible_dates(day):
    assert_landed_and_conserved(day, "dates")
    assert staged(day, "dates", "row_number, decision_date") == [(n, dt.date(2026, 10, 8)) for n in range(1, 7)]
    assert row_issues(day, "dates") == {7: {"unparseable_date"}, 8: {"unparseable_date"}}


def test_full_width_digits_and_spaces_in_codes_load_normalised(day):
    found = assert_landed_and_conserved(day, "codes")
    assert found["quarantined"] == 0 and not query(
        day, "select * from validation.row_issues i join raw.files f using (file_sha256) "
             "where f.source_file = ? and i.rule_id like 'uscc%'", [day["files"]["codes"][0]])
    assert staged(day, "codes", "uscc, authority_uscc")[:3] == [(ORG, AUTHORITY)] * 3
    person = staged(day, "codes", "person_key, id_number_masked")[3]
    assert person == (person_key(PERSON_ID, day["settings"].pii_secret), mask_id_number(PERSON_ID))


def test_zip_where_a_csv_was_expected_is_rejected(day):
    assert_rejected(day, "zip", "zip_archive")


# --- the same normalisation everywhere ------------------------------------------------------------

def test_nfkc_forms_and_date_formats_are_the_same_in_validation_and_dbt():
    """The dbt macros are written out by hand (Jinja has no chr()): they must hold the very tables
    and formats the Python twins use."""
    macros = (DBT_PROJECT_DIR / "macros" / "parsing.sql").read_text(encoding="utf-8")
    assert f"'{FULLWIDTH_FORMS}', '{ASCII_FORMS}'" in macros and FULLWIDTH_FORMS in nfkc_sql("x")
    assert all(f"try_strptime({{{{ text }}}}, '{f}')" in macros for f in DATE_FORMATS)
    # mask_ids_in_text skips nfkc for values without a match of this class: it must hold every form.
    found = re.search(r"macro nfkc_chars_class\(\) -%}\s*(\S+)\s*{%- endmacro", macros)
    assert found is not None
    chars_class = re.compile(re.sub(r"\\x\{([0-9A-F]{4})\}", lambda m: chr(int(m[1], 16)), found[1]))
    assert all(chars_class.fullmatch(form) for form in FULLWIDTH_FORMS)
    assert not chars_class.search(ASCII_FORMS)
    assert found[1] == NFKC_CHARS_CLASS  # nfkc_sql's guard, the same class


def test_a_date_is_parsed_with_its_separators_format_as_with_every_format_in_turn():
    """parse_date_sql (and the dbt macro, its twin) picks the one format the separator names; trying the
    formats of DATE_FORMATS in turn must give the same date, or null, for any value."""
    values = ["2025-01-05", "2025-1-5", "2025-02-30", "2025-13-01", "2025/01/05", "2025/2/29", "2024/2/29",
              "2025.01.05", "2025.1.32", "20250105", "20251301", "20250230", "2025年1月5日", "2025年02月30日",
              "2025-01-05 12:30", "2025-01-05 12:30:00.5", "2025.01.05 08:00:00", "20250105 23:59",
              "２０２５-０１-０５", "２０２５年１月５日", " 2025-01-05 ", "2025-01", "202501", "2025", "abc", "",
              "2025-01-05T12:00", "12/31/2025", "2025-01/05", "2025.01-05", "99999999", "0000-01-01"]
    listed = ", ".join(f"'{f}'" for f in DATE_FORMATS)
    every = f"cast(try_strptime(string_split(v, ' ')[1], [{listed}]) as date)"
    con = duckdb.connect()
    reference = f"""(case when regexp_full_match(v, '{_DATE_SHAPE_REGEX}') then {every}
        when regexp_full_match({trim_whitespace_sql(nfkc_sql("v"))}, '{_DATE_SHAPE_REGEX}')
        then {every.replace("string_split(v,", f"string_split({trim_whitespace_sql(nfkc_sql('v'))},")} end)"""
    rows = con.execute(f"select v, {parse_date_sql('v')}, {reference} from unnest(?) as t(v)", [values]).fetchall()
    assert [r for r in rows if r[1] != r[2]] == []
    assert sum(r[1] is not None for r in rows) > 12


# --- a 200 MB file --------------------------------------------------------------------------------

LAND_ONE = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from credit_warehouse.catalogue import Catalogue
    from credit_warehouse.inbox import recognise
    from credit_warehouse.landing import land_file, prepare
    from credit_warehouse.warehouse import connect, ensure_schema
    inbox, path, db = map(Path, sys.argv[1:4])
    catalogue = Catalogue.load()
    with connect(db) as con:
        ensure_schema(con, catalogue)
        prepare(con)
        result = land_file(con, recognise(inbox, path, catalogue), catalogue, "big")
        rows = con.execute("select count(*), count(distinct row_number) from raw.feed_rows").fetchone()
    print(json.dumps({"outcome": result.outcome, "rows_in": result.rows_in, "rows": rows,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")
BIG_FILE_BYTES = 200 * 2**20
PEAK_RSS_LIMIT_MIB = 768


def test_a_200_mb_file_lands_with_bounded_memory(tmp_path):
    inbox = tmp_path / "inbox"
    path = inbox_path(inbox, DEPARTMENT, "C03", DAY, "csv", tag="big")
    path.parent.mkdir(parents=True)
    block = table_text(rows_of(1, 5000)).split("\n", 1)[1].encode()  # 5,000 distinct rows, repeated
    repeats = BIG_FILE_BYTES // len(block) + 1
    with path.open("wb") as out:
        out.write(table_text([]).encode())
        for _ in range(repeats):
            out.write(block)
    assert path.stat().st_size >= BIG_FILE_BYTES
    child = subprocess.run([sys.executable, "-c", LAND_ONE, str(inbox), str(path), str(tmp_path / "work.duckdb")],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    found = json.loads(child.stdout.strip().splitlines()[-1])
    rows = repeats * 5000
    assert found["outcome"] == "landed" and found["rows_in"] == rows and found["rows"] == [rows, rows], found
    assert found["peak_rss_mib"] < PEAK_RSS_LIMIT_MIB, found  # the whole file would not fit: streamed
