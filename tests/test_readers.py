"""Reading delivered files: encodings, formats, header detection and specific rejections."""

from __future__ import annotations

import csv
import io
import json

import pytest
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.readers import FileRejected, read_file
from openpyxl import Workbook

CATALOGUE = Catalogue.load()
KNOWN = set(CATALOGUE.header_map("C03"))
HEADERS = [f.header_zh for f in CATALOGUE.fields_of("C03")]
ROW = ["大同市㐀记商贸有限公司", "法人及非法人组织"] + ["x"] * (len(HEADERS) - 2)


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_every_department_encoding(tmp_path, encoding):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes([HEADERS, ROW], encoding))
    parsed = read_file(path, "csv", KNOWN)
    assert parsed.headers == HEADERS and parsed.rows == [ROW]
    assert parsed.encoding == encoding


def test_csv_with_semicolons_and_blank_lines(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes([HEADERS, ROW, [], ROW], delimiter=";"))
    parsed = read_file(path, "csv", KNOWN)
    assert parsed.headers == HEADERS and len(parsed.rows) == 2


def test_csv_rows_of_empty_cells_are_skipped_and_counted_and_a_row_blank_only_in_front_is_kept(tmp_path):
    path = tmp_path / "f.csv"
    first_blank = ["", *ROW[1:]]
    last_only = [""] * (len(HEADERS) - 1) + ["y"]
    path.write_bytes(csv_bytes([HEADERS, ROW, [""] * len(HEADERS), first_blank, last_only, [""] * len(HEADERS)]))
    parsed = read_file(path, "csv", KNOWN)
    assert parsed.rows == [ROW, first_blank, last_only]
    assert parsed.notes["blank_rows_skipped"].startswith("2 row(s)")


def test_xlsx_with_title_rows_above_the_header(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["大同市市场监督管理局行政处罚信息"])
    sheet.append(["导出日期：2026-10-09"])
    sheet.append(HEADERS)
    sheet.append(ROW)
    path = tmp_path / "f.xlsx"
    workbook.save(path)
    parsed = read_file(path, "xlsx", KNOWN)
    assert parsed.header_row == 3 and parsed.headers == HEADERS and parsed.rows == [ROW]


def test_json_list_and_wrapped_shapes(tmp_path):
    records = [dict(zip(HEADERS, ROW, strict=True))]
    for document in (records, {"total": 1, "records": records}, {"data": records}):
        path = tmp_path / "f.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        assert read_file(path, "json", KNOWN).rows == [ROW]


@pytest.mark.parametrize(("content", "file_format", "reason"), [
    (b"", "csv", "empty_file"),
    (b"PK\x03\x04\x14\x00rest-of-a-zip", "csv", "zip_archive"),
    (b'{"status": "ok"}', "json", "json_wrong_shape"),
    (b"{not json", "json", "invalid_json"),
    (b"not an xlsx", "xlsx", "unreadable_xlsx"),
])
def test_unreadable_files_are_rejected_with_a_reason(tmp_path, content, file_format, reason):
    path = tmp_path / f"f.{file_format}"
    path.write_bytes(content)
    with pytest.raises(FileRejected) as caught:
        read_file(path, file_format, KNOWN)
    assert caught.value.reason_code == reason


def batches_as_rows(batches) -> list[tuple]:
    return [(number, row, batch.issues.get(i), batch.extra.get(i)) for batch in batches
            for i, (number, row) in enumerate(zip(batch.row_numbers.to_pylist(), batch.rows(), strict=True))]


def test_json_objects_a_column_at_a_time_give_what_the_row_loop_gives():
    """Records that are all objects are converted a column at a time (json_records._object_batches);
    the row loop (_row_batches) is the reference: the same row numbers, values (numbers, booleans,
    nested values written as the loop writes them), blank rows left out and counted, across batches."""
    from credit_warehouse.readers import json_records
    from credit_warehouse.readers.common import BATCH_ROWS

    headers = ["名称", "金额", "标志", "明细", "备注"]
    values = ["大同", "", None, 12, 3.5, True, False, {"a": [1, "二"]}, [1, None], " "]
    records = []
    for i in range(2 * BATCH_ROWS + 7):
        record = {name: values[(i * (k + 3)) % len(values)] for k, name in enumerate(headers) if (i + k) % 7}
        records.append({} if i % 1000 == 5 else {name: "" for name in headers} if i % 1000 == 9 else record)
    notes_rows: dict[str, str] = {}
    notes_columns: dict[str, str] = {}
    by_rows = batches_as_rows(json_records._row_batches(records, headers, notes_rows))
    by_columns = batches_as_rows(json_records._object_batches(records, headers, notes_columns))
    assert by_columns == by_rows and len(by_rows) < len(records)
    assert notes_columns == notes_rows and "blank_rows_skipped" in notes_rows
    cells = {cell for row in by_rows for cell in row[1]}
    assert cells >= {"True", "False", "12", "3.5", '{"a": [1, "二"]}', "[1, null]", " ", "", None}
