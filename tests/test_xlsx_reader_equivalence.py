"""XLSX read by python-calamine gives exactly what openpyxl's streaming reader gave (the reader before it).

``readers/xlsx.py`` reads with calamine for speed and must not change a landed file: headers, rows, row
numbers, notes, row issues and rejections are those of the openpyxl reader. Each case below builds a small
edge-case workbook (with openpyxl, or from hand-written XML parts where openpyxl cannot write the case, as
Excel, WPS and other exporters do) and reads it twice through the public ``read_file``:

- as shipped: the pre-scan ``_plan`` decides, calamine reads (maybe switching to openpyxl mid-sheet);
- as reference, with ``_plan`` returning None. That is the module's own fallback, taken for any package
  calamine could read differently: ``_SheetRows`` then reads the whole file with openpyxl and scans the
  merged ranges, which is line for line the reader used before calamine (openpyxl read-only, values only,
  the same ``_cell_text`` and ``_MergeFiller``). Nothing of the reading itself is mocked.

Each case also names the route the shipped reader must take (spies that only record calls): a case meant
to exercise calamine fails if it silently falls back to openpyxl, which would make the comparison vacuous.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.readers import FileRejected, read_file, xlsx
from openpyxl import Workbook
from openpyxl.styles import Border, Side
from openpyxl.utils.datetime import CALENDAR_MAC_1904

CATALOGUE = Catalogue.load()
KNOWN = set(CATALOGUE.header_map("C03"))  # landing reads a file with its category's headers (行政处罚 C03)
HEADERS = ["行政相对人名称", "统一社会信用代码", "证件号码", "处罚决定日期", "罚款金额（万元）", "备注"]
assert all(h in {f.header_zh for f in CATALOGUE.fields_of("C03")} for h in HEADERS)
ORG = "91140213MA00000016"
ID_NUMBER = 110101199001011234  # 18 digits: beyond 2**53, a float loses its last digits

# --- workbooks written by openpyxl


def openpyxl_book(fill: Callable[[Any], None], epoch: dt.datetime | None = None) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        book = Workbook()
        if epoch is not None:
            book.epoch = epoch
        fill(book.active)
        book.save(path)
    return build


def plain(sheet: Any, rows: int = 5) -> None:
    sheet.append(HEADERS)
    for i in range(rows):
        note = "无" if i % 2 else None
        sheet.append([f"大同市{i}号商贸有限公司", ORG, f"14021319850615{i:04d}", "2024-01-02", "0.5", note])


def title_rows(sheet: Any) -> None:
    sheet.append(["大同市市场监督管理局行政处罚信息"])
    sheet.merge_cells("A1:F1")
    sheet.append(["导出日期：2026-10-09"])
    plain(sheet, 3)


def merged(sheet: Any) -> None:
    sheet.append(["行政处罚公示"])
    sheet.merge_cells("A1:G1")  # merged title
    sheet.append(HEADERS)
    sheet.merge_cells("F2:G2")  # merged header region: 备注 over two columns
    sheet.append(["甲公司", ORG, "1", "2024-01-02", "1", "备注一", "备注二"])
    sheet.append([None, ORG, "2", "2024-01-03", "2", None, "x"])
    sheet.append([None, ORG, "3", "2024-01-04", None, "y", None])
    sheet.append(["乙公司", ORG, "4", "2024-01-05", "4", "z", None])
    sheet.merge_cells("A3:A5")  # one subject over three rows
    sheet.merge_cells("D5:E5")
    sheet.merge_cells("B6:C7")  # a range running past the last row with values


def blank_rows(sheet: Any) -> None:
    plain(sheet, 2)
    sheet.cell(6, 1, "after a gap")  # rows 4 and 5 do not exist
    border = Border(left=Side(style="thin"))
    for column in range(1, 7):
        sheet.cell(7, column).border = border  # a row of styled cells without values
    sheet.cell(8, 6, "last")
    for row in range(9, 13):
        for column in range(1, 9):
            sheet.cell(row, column).border = border  # trailing styled empty rows, wider than the data
    for row in range(13, 16):
        sheet.row_dimensions[row].height = 30  # empty <row> elements after everything


def numbers(sheet: Any) -> None:
    sheet.append(HEADERS)
    for values in ([0, -5, 12345678, 1e15, 0.1, True], [1234.56, 2.5, -0.25, 1e-7, 3.0, False],
                   [7e14, 10**15, 999999999999, 0.30000000000000004, 100, -2**53 + 1]):
        sheet.append(values)
    sheet.cell(3, 5).number_format = "0.00"
    sheet.cell(3, 1).number_format = "#,##0.00"


def id_18_digits(sheet: Any) -> None:
    sheet.append(HEADERS)
    for i in range(5):
        sheet.append([f"公司{i}", ORG, 140213 + i, None, i, None])
    # openpyxl itself writes the number as 1.101011990010112e+17 (calamine reads a float: openpyxl takes over)
    sheet.append(["个人", None, ID_NUMBER, None, 1.5e300, None])
    sheet.append(["之后", None, 1, None, 2, "after the switch"])


def dates(sheet: Any) -> None:
    sheet.append(HEADERS)
    sheet.append(["a", ORG, None, dt.date(2024, 1, 2), 1, None])
    sheet.append(["b", ORG, None, dt.datetime(2024, 1, 2, 3, 4, 5), 2, dt.datetime(2024, 2, 29)])
    sheet.append(["c", ORG, None, dt.date(1900, 3, 1), 3, dt.date(9999, 12, 31)])
    sheet.append(["d", ORG, None, dt.date(2024, 12, 31), 4, 45293])
    for row, number_format in ((3, "yyyy/m/d h:mm"), (4, 'yyyy"年"m"月"d"日"'), (5, "m月d日")):
        sheet.cell(row, 4).number_format = number_format
    sheet.cell(5, 6).number_format = "yyyy-mm-dd"  # a plain number in a date format: a date


def amount_beyond_dates(sheet: Any) -> None:
    sheet.append(HEADERS)
    for i in range(8):
        sheet.append([f"公司{i}", ORG, None, dt.date(2024, 1, 1) + dt.timedelta(days=i), 1000 + i, None])
    sheet.append(["大额", ORG, None, dt.date(2024, 2, 1), 2958466, None])  # beyond 9999-12-31 as a date
    sheet.append(["更大", ORG, None, dt.date(2024, 2, 2), 5_000_000, "after the switch"])


def times(sheet: Any) -> None:
    sheet.append(HEADERS)
    sheet.append(["a", ORG, None, dt.date(2024, 1, 2), 1, None])
    sheet.append(["b", ORG, None, dt.datetime(2024, 1, 2, 3, 4, 5, 123000), 2, dt.time(12, 30)])
    sheet.append(["c", ORG, None, dt.date(2024, 1, 3), 3, dt.timedelta(hours=30)])


def empty_string(sheet: Any) -> None:
    plain(sheet, 2)
    sheet.cell(2, 2, "")  # openpyxl writes a cell without a value
    sheet.cell(3, 6, "")


def error_cell(sheet: Any) -> None:
    plain(sheet, 2)
    sheet.cell(2, 3, "#N/A")  # openpyxl writes an error value (t="e")
    sheet.cell(3, 5, "#DIV/0!")


def formula_without_value(sheet: Any) -> None:
    plain(sheet, 2)
    sheet.cell(2, 5, "=1+1")  # no cached value: openpyxl reads None with data_only


def spaces(sheet: Any) -> None:
    sheet.append(HEADERS)
    sheet.append(["  前后空格  ", " " + ORG, "尾空格 ", "\t制表", "line\nbreak"])  # written xml:space="preserve"


def whitespace_only(sheet: Any) -> None:
    plain(sheet, 1)
    sheet.cell(2, 6, " ")  # openpyxl writes <t> </t> without xml:space="preserve": calamine would trim it


def overflow(sheet: Any) -> None:
    plain(sheet, 3)
    sheet.cell(3, 8, "beyond the header")
    sheet.cell(4, 7, "")


def date_1904(sheet: Any) -> None:
    plain(sheet, 2)
    sheet.cell(2, 4, dt.date(2024, 1, 2))


def empty(sheet: Any) -> None:
    pass


def only_title(sheet: Any) -> None:
    sheet.append(["没有表头的导出"])


# --- workbooks from hand-written XML parts

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"
# Cell format (s=) -> number format id: 0 General, 14 date, 22 date-time, 31 and 57 Chinese built-in dates
# (yyyy"年"m"月"d"日", yyyy"年"m"月"), 4 #,##0.00.
NUMBER_FORMATS = [0, 14, 22, 31, 57, 4]
S_DATE, S_CJK31, S_CJK57 = 1, 3, 4


def raw_book(data: str, dimension: str | None = None, merges: tuple[str, ...] = (), strings: list[str] | None = None,
             date1904: bool = False) -> Callable[[Path], None]:
    """A package with one sheet of ``data`` (the <sheetData> content) and the parts Excel writes."""
    def build(path: Path) -> None:
        sst = strings is not None
        cells = "".join(f'<xf numFmtId="{n}" applyNumberFormat="1"/>' for n in NUMBER_FORMATS)
        parts = {
            "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{TYPES}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{TYPES}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{TYPES}.styles+xml"/>'
            + (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{TYPES}.sharedStrings+xml"/>' if sst else "")
            + "</Types>",
            "_rels/.rels": f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
            "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            + ('<workbookPr date1904="1"/>' if date1904 else "")
            + '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/>'
            + (f'<Relationship Id="rId3" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>' if sst else "")
            + "</Relationships>",
            "xl/styles.xml": f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf/></cellStyleXfs>'
            f'<cellXfs count="{len(NUMBER_FORMATS)}">{cells}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
            "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
            + (f'<dimension ref="{dimension}"/>' if dimension else "")
            + f"<sheetData>{data}</sheetData>"
            + (f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges)
               + "</mergeCells>" if merges else "")
            + "</worksheet>",
        }
        if sst:
            parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}">' + "".join(strings or []) + "</sst>"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in parts.items():
                archive.writestr(name, text)
    return build


def text(ref: str, value: str, preserve: bool = False) -> str:
    space = ' xml:space="preserve"' if preserve else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{value}</t></is></c>'


def number(ref: str, value: object, style: int | None = None) -> str:
    return f'<c r="{ref}"' + (f' s="{style}"' if style is not None else "") + f"><v>{value}</v></c>"


def row(number_: int, *cells: str) -> str:
    return f'<row r="{number_}">' + "".join(cells) + "</row>"


HEADER_ROW = row(1, *(text(f"{chr(65 + i)}1", h) for i, h in enumerate(HEADERS)))
DATA_ROWS = (row(2, text("A2", "甲公司"), text("B2", ORG), number("E2", 1.5))
             + row(3, text("A3", "乙公司"), number("E3", 2)))


def broken_zip(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)


def truncated(path: Path) -> None:
    openpyxl_book(plain)(path)
    whole = path.read_bytes()
    path.write_bytes(whole[:len(whole) // 2])


def not_a_zip(path: Path) -> None:
    path.write_text("行政相对人名称,统一社会信用代码\n", encoding="utf-8")


# --- the cases


@dataclass
class Case:
    name: str
    build: Callable[[Path], None]
    route: str  # "calamine": calamine reads it all; "switch": openpyxl takes over mid-sheet; "openpyxl": whole file
    cells: tuple[str | None, ...] = ()  # values the rows must hold (both readers could be wrong the same way)
    expect: dict[str, Any] | None = None  # exact fields of the outcome


CASES = [
    Case("plain_text", openpyxl_book(plain), "calamine", ("大同市0号商贸有限公司", ORG, "0.5"),
         {"header_row": 1, "row_numbers": [1, 2, 3, 4, 5], "notes": {}}),
    Case("title_rows_above_header", openpyxl_book(title_rows), "calamine", ("大同市2号商贸有限公司",),
         {"header_row": 3, "headers": HEADERS}),
    Case("merged_header_and_data_cells", openpyxl_book(merged), "calamine", ("甲公司", "备注二"),
         {"header_row": 2, "headers": [*HEADERS, "备注"]}),
    Case("blank_rows_middle_and_end", openpyxl_book(blank_rows), "calamine", ("after a gap", "last"),
         {"row_numbers": [1, 2, 5, 7]}),
    Case("integers_and_decimals", openpyxl_book(numbers), "calamine",
         ("0", "-5", "12345678", "1000000000000000", "0.1", "1234.56", "1e-07", "True", "0.3", "-9007199254740991")),
    Case("id_18_digits_written_by_openpyxl", openpyxl_book(id_18_digits), "switch",
         ("110101199001011200", str(int(1.5e300)), "after the switch")),
    Case("dates_and_datetimes", openpyxl_book(dates), "calamine",
         ("2024-01-02", "2024-01-02 03:04:05", "1900-03-01", "9999-12-31", "2024-02-29")),
    Case("amount_beyond_date_range_with_dates", openpyxl_book(amount_beyond_dates), "switch",
         ("2958466", "5000000", "2024-01-01")),
    Case("times_and_fractions_of_seconds", openpyxl_book(times), "switch", ("2024-01-02 03:04:05.123000", "12:30:00")),
    Case("empty_string_written_by_openpyxl", openpyxl_book(empty_string), "calamine", ("大同市0号商贸有限公司",)),
    Case("error_cell", openpyxl_book(error_cell), "openpyxl", ("#N/A", "#DIV/0!")),
    Case("formula_without_cached_value", openpyxl_book(formula_without_value), "calamine", ("大同市1号商贸有限公司",)),
    Case("preserved_leading_trailing_spaces", openpyxl_book(spaces), "calamine",
         ("  前后空格  ", " " + ORG, "尾空格 ", "\t制表", "line\nbreak")),
    Case("whitespace_only_text", openpyxl_book(whitespace_only), "openpyxl", (" ",)),
    Case("values_beyond_the_header", openpyxl_book(overflow), "calamine", ("beyond the header",)),
    Case("date_system_1904", openpyxl_book(date_1904, CALENDAR_MAC_1904), "openpyxl", ("2024-01-02",)),
    Case("empty_sheet", openpyxl_book(empty), "calamine", expect={"rejected": "empty_file"}),
    Case("only_a_title", openpyxl_book(only_title), "calamine", expect={"rejected": "header_not_recognised"}),
    Case("raw_no_dimension", raw_book(HEADER_ROW + DATA_ROWS + row(6, text("C6", "after a gap"))), "calamine",
         ("甲公司", "1.5", "2", "after a gap"), {"row_numbers": [1, 2, 5]}),
    Case("raw_id_18_digits_as_number", raw_book(  # as other exporters write it: openpyxl reads an exact int
        HEADER_ROW + DATA_ROWS + row(4, text("A4", "个人"), number("C4", ID_NUMBER))
        + row(5, number("E5", "0.30000000000000004"))),
        "switch", ("1.5", str(ID_NUMBER), "0.30000000000000004"), {"row_numbers": [1, 2, 3, 4]}),
    Case("raw_shared_strings", raw_book(
        row(1, *(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(6)))
        + row(2, '<c r="A2" t="s"><v>6</v></c>', '<c r="B2" t="s"><v>7</v></c>'),
        strings=[f"<si><t>{h}</t></si>" for h in HEADERS] + ["<si><t>甲公司</t></si>",
                                                             '<si><t xml:space="preserve"> 空格 </t></si>']),
        "calamine", ("甲公司", " 空格 ")),
    Case("raw_shared_empty_string", raw_book(
        row(1, *(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(6)))
        + row(2, '<c r="A2" t="s"><v>6</v></c>', '<c r="B2" t="s"><v>7</v></c>'),
        strings=[f"<si><t>{h}</t></si>" for h in HEADERS] + ["<si><t>甲公司</t></si>", "<si><t/></si>"]),
        "openpyxl", ("甲公司", "")),
    Case("raw_inline_empty_string", raw_book(HEADER_ROW + row(2, text("A2", "甲公司"), text("B2", ""))),
         "openpyxl", ("甲公司", "")),
    Case("raw_unpreserved_spaces", raw_book(HEADER_ROW + row(2, text("A2", " 甲公司 "), text("B2", "尾 "))),
         "openpyxl", (" 甲公司 ", "尾 ")),
    Case("raw_escaped_character", raw_book(HEADER_ROW + row(2, text("A2", "a_x000D_b"))), "openpyxl", ("a_x000D_b",)),
    Case("raw_chinese_date_formats_31_57", raw_book(
        HEADER_ROW + row(2, text("A2", "甲"), number("D2", 45293, S_CJK31), number("E2", 45293, S_CJK57))
        + row(3, text("A3", "乙"), number("D3", 45294, S_DATE))),
        "openpyxl", ("45293", "2024-01-03")),
    Case("raw_chinese_date_format_defined_not_used", raw_book(
        HEADER_ROW + row(2, text("A2", "甲"), number("D2", 45293, S_DATE), number("E2", 12.5, 5))),
        "calamine", ("2024-01-02", "12.5")),
    Case("raw_dimension_wider_than_data", raw_book(HEADER_ROW + DATA_ROWS, "A1:H5", ("A2:A3",)), "calamine",
         ("甲公司", "1.5"), {"row_numbers": [1, 2]}),
    Case("raw_dimension_narrower_than_data", raw_book(HEADER_ROW + DATA_ROWS, "A1:D3"), "openpyxl",
         ("甲公司",), {"headers": HEADERS[:4]}),
    Case("raw_dimension_shorter_than_data", raw_book(HEADER_ROW + DATA_ROWS + row(9, text("A9", "cut")), "A1:F3"),
         "openpyxl", ("乙公司",), {"row_numbers": [1, 2]}),
    Case("raw_dimension_taller_than_data", raw_book(HEADER_ROW + DATA_ROWS, "A1:F40"), "calamine", ("乙公司",),
         {"row_numbers": [1, 2]}),
    Case("raw_no_dimension_valueless_cell", raw_book(HEADER_ROW + row(2, text("A2", "甲公司"), '<c r="H2" s="1"/>')),
         "openpyxl", ("甲公司",)),
    Case("raw_empty_sheet", raw_book(""), "calamine", expect={"rejected": "empty_file"}),
    Case("raw_date_system_1904", raw_book(HEADER_ROW + row(2, number("D2", 45293, S_DATE)), date1904=True),
         "openpyxl", ("2028-01-03",)),
    Case("broken_zip", broken_zip, "openpyxl", expect={"rejected": "unreadable_xlsx"}),
    Case("truncated_workbook", truncated, "openpyxl", expect={"rejected": "unreadable_xlsx"}),
    Case("not_a_zip", not_a_zip, "openpyxl", expect={"rejected": "unreadable_xlsx"}),
]


def outcome(path: Path) -> dict[str, Any]:
    """Everything ``read_file`` returns for an XLSX, or the rejection's reason code."""
    try:
        parsed = read_file(path, "xlsx", KNOWN)
    except FileRejected as rejected:
        return {"rejected": rejected.reason_code}
    return {"headers": parsed.headers, "rows": parsed.rows, "row_numbers": parsed.row_numbers, "notes": parsed.notes,
            "issues": parsed.issues, "extra": parsed.extra, "encoding": parsed.encoding,
            "header_row": parsed.header_row}


def read_recording_route(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], str]:
    """The shipped reader's outcome and route; the spies call through and change nothing."""
    seen: set[str] = set()
    real_calamine, real_openpyxl = xlsx._SheetRows._calamine, xlsx._SheetRows._openpyxl

    def calamine(self: Any, sheet: Any, plan: Any) -> Any:
        seen.add("calamine")
        return real_calamine(self, sheet, plan)

    def openpyxl(self: Any) -> Any:
        seen.add("openpyxl")
        return real_openpyxl(self)

    with monkeypatch.context() as patch:
        patch.setattr(xlsx._SheetRows, "_calamine", calamine)
        patch.setattr(xlsx._SheetRows, "_openpyxl", openpyxl)
        result = outcome(path)
    route = "switch" if seen == {"calamine", "openpyxl"} else "calamine" if "calamine" in seen else "openpyxl"
    return result, route


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_calamine_reads_what_openpyxl_read(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / f"{case.name}.xlsx"
    case.build(path)

    shipped, route = read_recording_route(path, monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(xlsx, "_plan", lambda path: None)  # "openpyxl reads the file": the reader before calamine
        reference = outcome(path)

    assert shipped == reference
    assert route == case.route
    for key, value in (case.expect or {}).items():
        assert shipped[key] == value, key
    if "rejected" not in shipped:
        values = {cell for r in shipped["rows"] for cell in r} | {
            cell for extra in shipped["extra"].values() for cell in extra.get("_overflow", [])}
        assert set(case.cells) <= values, set(case.cells) - values
    else:
        assert not case.cells


def test_plain_workbook_is_planned_for_calamine(tmp_path: Path) -> None:
    """Guards the comparison above: the plain workbook is not left to openpyxl by the pre-scan."""
    path = tmp_path / "plain.xlsx"
    openpyxl_book(plain)(path)
    assert xlsx._plan(path) is not None
    sheet_rows = xlsx._SheetRows(path)
    try:
        assert [type(b).__name__ for b in sheet_rows.books] == ["CalamineWorkbook"]
        rows = list(sheet_rows.rows)
    finally:
        sheet_rows.close()
    assert rows[0] == HEADERS and len(rows) == 6
