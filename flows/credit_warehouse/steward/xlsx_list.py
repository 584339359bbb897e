"""A department's correction list as XLSX, written from its finished CSV by a worker process.

A year of the 1,000,000-subject city has ~1M open failures. The review streams them into the CSV lists,
and ``XlsxConverter`` turns each finished CSV into its XLSX in worker processes (one per core) while
the review goes on: ``python -m credit_warehouse.steward.xlsx_list REQUEST_JSON``. The CSV holds every
cell as text, so the XLSX is the same as one written from the rows directly.

XlsxWriter writes the workbook (styles, column widths, frozen header, autofilter, the 说明 sheet) with
each data sheet's header row only; the data rows' XML is written here (``_row_xml``) exactly as
XlsxWriter's constant-memory mode writes inline-string cells, and spliced into those sheets as the
file is zipped. Why by hand: XlsxWriter's per-cell Python (~65 µs a 13-cell row) took ~68 of the
workers' CPU-seconds on the year's lists, the rows written here ~11 µs; a row none of whose cells
needs escaping skips the per-cell escaping (a 200,000-row list 10.4 → 6.7 s, the same file). It also
escapes what XlsxWriter's constant-memory mode writes raw: a delivered value shaped like
``<r>…</r>``, which it takes for rich-text markup (a broken file, or text that is not what was
delivered).
openpyxl took 1.5 s per department list at 100,000 subjects, XlsxWriter ~4× less.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from credit_warehouse.worker_process import module_command, worker_count, worker_env

MODULE = "credit_warehouse.steward.xlsx_list"
WIDTHS = (6, 22, 44, 6, 26, 22, 28, 70, 36, 8, 24, 12, 34)
WRAPPED_COLUMNS = (7, 8)  # 问题说明 and 处理要求
NUMBER_COLUMNS = (0, 3)  # 序号, 行号
MAX_SHEET_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header: a longer list goes on to a next sheet


class XlsxFailed(RuntimeError):
    """A worker could not write a correction list's XLSX."""


COLUMN_LETTERS = tuple(chr(ord("A") + index) for index in range(len(WIDTHS)))
MAX_CELL_CHARS = 32_767  # Excel's limit, in UTF-16 units; XlsxWriter truncates longer strings
DATA_SHEET = re.compile(r"xl/worksheets/sheet(\d+)\.xml")
# As XlsxWriter's constant-memory writer escapes: _xHHHH_ literals, control characters, XML specials.
ESCAPED_LITERAL = re.compile(r"(_x[0-9a-fA-F]{4}_)")
CONTROL_CHARACTER = re.compile(r"([\x00-\x08\x0b-\x1f])")
XML_SPECIAL = re.compile(r"[&<>]")


def _text(value: str) -> str:
    """A cell's text as XlsxWriter's constant-memory writer puts it in the XML."""
    if len(value) > MAX_CELL_CHARS // 2 and len(value.encode("utf-16-le", "surrogatepass")) // 2 > MAX_CELL_CHARS:
        value = _truncate_utf16(value)
    if "_x" in value:
        value = ESCAPED_LITERAL.sub(r"_x005F\1", value)
    value = CONTROL_CHARACTER.sub(lambda match: f"_x{ord(match.group(1)):04X}_", value)
    value = value.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    if XML_SPECIAL.search(value):
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _truncate_utf16(value: str) -> str:
    length = 0
    for index, char in enumerate(value):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > MAX_CELL_CHARS:
            return value[:index]
    return value


# Whatever _text changes in a value. Most rows hold none of it: one search over the row's cells
# joined by a tab (neither escaped nor part of "_x") spares them _text (the per-cell escaping was ~40%
# of a worker's time on the year's lists).
NEEDS_ESCAPING = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x")


def _cell_templates(styles: dict[int, str]) -> list[tuple[str, str, str]]:
    """Per column, the cell XML around its row number: ('<c r="A', '"' + style + text cell start,
    '"' + style + number cell start)."""
    return [(f'<c r="{letter}', f'"{styles.get(column, "")} t="inlineStr"><is><t', f'"{styles.get(column, "")}><v>')
            for column, letter in enumerate(COLUMN_LETTERS)]


def _row_xml(number: int, row: list[str], templates: list[tuple[str, str, str]]) -> str:
    """One data row (``number`` 1-based) as XML. Each value as the string it is (序号 and 行号 as
    numbers): never a formula, even "=HYPERLINK(...)". Empty cells stay blank."""
    joined = "\t".join(row)
    escape = len(joined) > MAX_CELL_CHARS // 2 or NEEDS_ESCAPING.search(joined) is not None
    at = str(number)
    cells = [f'<row r="{at}">']
    for column, value in enumerate(row):
        if not value:
            continue
        start, text_cell, number_cell = templates[column]
        if column in NUMBER_COLUMNS and value.isdigit():
            cells.append(f"{start}{at}{number_cell}{int(value):.16G}</v></c>")
            continue
        text = _text(value) if escape else value
        # XlsxWriter preserves the space where ^\s|\s$ matches: str.isspace is what \s matches
        space = ' xml:space="preserve">' if text[0].isspace() or text[-1].isspace() else ">"
        cells.append(f"{start}{at}{text_cell}{space}{text}</t></is></c>")
    cells.append("</row>")
    return "".join(cells)


def write_xlsx(csv_path: Path, xlsx_path: Path, notes: list[list[Any]], rows: int,
               max_sheet_rows: int = MAX_SHEET_ROWS) -> int:
    """The XLSX of a list's CSV (its header row first, then ``rows`` data rows, as the list counted them
    while writing it; a CSV with more or fewer fails): sheets 更正清单, 更正清单2, ... of at most
    ``max_sheet_rows`` rows each, then the 说明 sheet of ``notes`` (label, value) rows. Returns the rows."""
    sheet_rows = [min(max_sheet_rows, rows - start) for start in range(0, rows, max_sheet_rows)] or [0]
    skeleton = xlsx_path.with_name(xlsx_path.name + ".skeleton")
    partial = xlsx_path.with_name(xlsx_path.name + ".partial")
    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            _write_skeleton(skeleton, next(reader), sheet_rows, notes)
            _splice_rows(skeleton, partial, reader, sheet_rows)
        partial.replace(xlsx_path)
    finally:
        skeleton.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return rows


def _write_skeleton(path: Path, headers: list[str], sheet_rows: list[int], notes: list[list[Any]]) -> None:
    """The workbook without its data rows: each data sheet's header, widths, frozen header and
    autofilter over the rows it will hold, then the 说明 sheet."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        bold = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
        for index, used in enumerate(sheet_rows):
            sheet = _data_sheet(book, index + 1, headers, wrap, bold)
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, used, len(headers) - 1)
        _notes_sheet(book, notes)
    finally:
        book.close()


def _splice_rows(skeleton: Path, target: Path, reader: Iterator[list[str]], sheet_rows: list[int]) -> None:
    """Copy the skeleton's parts into ``target``, writing each data sheet's rows, read from the CSV in
    order, before its ``</sheetData>`` (and its dimension over them)."""
    with zipfile.ZipFile(skeleton) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item)
            sheet = DATA_SHEET.fullmatch(item.filename)
            index = int(sheet.group(1)) - 1 if sheet else len(sheet_rows)
            if index >= len(sheet_rows):  # not a data sheet: as XlsxWriter wrote it
                out.writestr(item, data)
                continue
            with out.open(item.filename, "w") as part:
                _write_sheet(part, data.decode("utf-8"), reader, sheet_rows[index])
        if next(reader, None) is not None:
            raise ValueError("the CSV holds more rows than the list declared")


def _write_sheet(part: Any, skeleton_xml: str, reader: Iterator[list[str]], used: int) -> None:
    head, tail = skeleton_xml.split("</sheetData>", 1)
    head = re.sub(r'<dimension ref="A1:([A-Z]+)1"/>', rf'<dimension ref="A1:\g<1>{used + 1}"/>', head, count=1)
    templates = _cell_templates({int(column) - 1: f' s="{style}"' for column, style in
                                 re.findall(r'<col min="(\d+)" max="\1"[^>]* style="(\d+)"', head)})
    part.write(head.encode("utf-8"))
    chunk: list[str] = []
    for number in range(2, used + 2):
        row = next(reader, None)
        if row is None:
            raise ValueError(f"the CSV ended at row {number - 1}, before the {used} rows its sheet declared")
        chunk.append(_row_xml(number, row, templates))
        if len(chunk) == 2_000:
            part.write("".join(chunk).encode("utf-8"))
            chunk.clear()
    part.write(("".join(chunk) + "</sheetData>" + tail).encode("utf-8"))


def _data_sheet(book: Any, number: int, headers: list[str], wrap: Any, bold: Any) -> Any:
    sheet = book.add_worksheet("更正清单" if number == 1 else f"更正清单{number}")
    for index, width in enumerate(WIDTHS):  # the wrapped columns' format styles their cells
        sheet.set_column(index, index, width, wrap if index in WRAPPED_COLUMNS else None)
    sheet.write_row(0, 0, headers, bold)
    return sheet


def _notes_sheet(book: Any, notes: list[list[Any]]) -> None:
    sheet = book.add_worksheet("说明")
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 100)
    for number, line in enumerate(notes):
        sheet.write_row(number, 0, line)


class XlsxConverter:
    """Worker processes writing XLSX lists from finished CSVs; ``close`` waits for all of them and
    raises the first failure."""

    def __init__(self, workers: int | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers or worker_count(), thread_name_prefix="xlsx-list")
        self._env = worker_env()
        self._jobs: list[Future[None]] = []

    def submit(self, csv_path: Path, xlsx_path: Path, notes: list[list[Any]], rows: int) -> None:
        request = json.dumps({"csv": str(csv_path), "xlsx": str(xlsx_path), "notes": notes, "rows": rows},
                             ensure_ascii=False)
        self._jobs.append(self._pool.submit(self._run, request, xlsx_path))

    def _run(self, request: str, xlsx_path: Path) -> None:
        done = subprocess.run(module_command(MODULE, request), env=self._env, capture_output=True, text=True)
        if done.returncode != 0:  # the exception's own line is the reason; the traceback is in the log
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            logging.getLogger(__name__).error("XLSX worker for %s failed:\n%s", xlsx_path, done.stderr)
            raise XlsxFailed(f"{xlsx_path.name}: worker exited with {done.returncode}: {reason}")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for job in self._jobs:
            job.result()


def main() -> None:
    request = json.loads(sys.argv[1])
    write_xlsx(Path(request["csv"]), Path(request["xlsx"]), request["notes"], rows=request["rows"])


if __name__ == "__main__":
    main()
