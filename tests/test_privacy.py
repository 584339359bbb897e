"""The privacy scanner finds a raw ID number in any file outside the restricted layer, whatever its
format, and nothing in the restricted layer or in masked form (the end-to-end test runs it on a city)."""

from __future__ import annotations

import datetime as dt

import duckdb
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.codes import ASCII_FORMS, FULLWIDTH_FORMS, mask_id_number
from credit_warehouse.privacy import is_restricted, raw_id_numbers, scan_home
from credit_warehouse.settings import load_settings
from credit_warehouse.warehouse import connect, ensure_schema
from openpyxl import Workbook

PERSON_ID = "140213198506151237"
OTHER_ID = "14021219900101004X"  # only inside free text of the raw layer
UNKNOWN_ID = "110101199003074514"  # valid, but never delivered: not a leak of this warehouse


def make_home(tmp_path):
    settings = load_settings(tmp_path)
    settings.ensure_dirs()
    with connect(settings.work_db) as con:
        ensure_schema(con, Catalogue.load())
        con.execute("insert into raw.feed_rows (load_id, load_seq, file_sha256, source_file, row_number, "
                    "department_code, category_code, record_layout, business_date, id_number, remarks) values "
                    "('L1', 1, 'x', 'a/C03_20261009.csv', 1, 'a', 'C03', 'penalty', ?, ?, ?)",
                    [dt.date(2026, 10, 9), f" {PERSON_ID.lower()} ", f"家属身份证{OTHER_ID}"])
    return settings


def test_raw_id_numbers_come_from_every_raw_column(tmp_path):
    assert raw_id_numbers(make_home(tmp_path).work_db) == {PERSON_ID, OTHER_ID}


def test_scanner_finds_leaks_in_any_format_and_respects_the_restricted_layer(tmp_path):
    settings = make_home(tmp_path)
    home = settings.home
    (settings.inbox / "a").mkdir(parents=True)
    (settings.inbox / "a" / "C03_20261009.csv").write_text(f"证件号码\n{PERSON_ID}\n", encoding="utf-8")
    exports = settings.reports_dir / "exports"
    exports.mkdir(parents=True)
    (exports / "corrections.csv").write_bytes(f"证件号码,备注\n{PERSON_ID},x\n".encode("gb18030"))
    (settings.reports_dir / "masked.html").write_text(f"<td>{mask_id_number(PERSON_ID)}</td><td>{UNKNOWN_ID}</td>")
    book = Workbook()
    book.active.append(["证件号码", OTHER_ID.translate(str.maketrans(ASCII_FORMS, FULLWIDTH_FORMS))])
    book.save(settings.reports_dir / "review.xlsx")
    (home / "dbt" / "logs").mkdir(parents=True)
    (home / "dbt" / "logs" / "dbt.log").write_text(f"value 9{PERSON_ID}7 in a failing test")  # glued digits
    con = duckdb.connect(str(settings.published_db))
    con.execute("create schema marts")
    con.execute("create table marts.people as select 1 as n, ? as remark", [f"当事人（身份证号{PERSON_ID}）"])
    con.close()

    findings, scanned = scan_home(settings)
    found = {(f.path, f.where) for f in findings}
    assert found == {
        ("reports/exports/corrections.csv", "text"),
        ("reports/review.xlsx", "xl/worksheets/sheet1.xml"),
        ("dbt/logs/dbt.log", "text"),
        ("warehouse/published.duckdb", "marts.people.remark"),
    }, found
    assert all(PERSON_ID not in f.masked and OTHER_ID not in f.masked for f in findings)
    assert "reports/masked.html" in scanned and not any(is_restricted(s) for s in scanned)
    assert is_restricted("inbox/a/C03_20261009.csv") and is_restricted("warehouse/work.duckdb")
