"""A department's correction list as XLSX, written from its finished CSV by a worker process.

XlsxWriter's per-cell Python is the slow part of the review: a year of the 1,000,000-subject city has
~1M open failures, ~55 s of XlsxWriter in a 73 s review. The review streams the failures into the CSV
lists, and ``XlsxConverter`` turns each finished CSV into its XLSX in worker processes (one per core)
while the review goes on: ``python -m credit_warehouse.steward.xlsx_list REQUEST_JSON``. The CSV holds
every cell as text, so the XLSX is the same as one written from the rows directly.

XlsxWriter in constant-memory mode: openpyxl took 1.5 s per department list at 100,000 subjects
(92% of the daily review, 105k rows over 53 lists), XlsxWriter ~4× less.
"""

from __future__ import annotations

import csv
import json
import logging
import subprocess
import sys
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


def _write_cells(sheet: Any, number: int, row: list[str]) -> None:
    """Each value as the string it is (序号 and 行号 as numbers). Not write_row: its type guessing makes a
    delivered value such as "=HYPERLINK(...)" a live formula in the department's list. Empty cells stay
    blank, as write_row leaves them."""
    for column, value in enumerate(row):
        if column in NUMBER_COLUMNS and value.isdigit():
            sheet.write_number(number, column, int(value))
        elif value:
            sheet.write_string(number, column, value)


def write_xlsx(csv_path: Path, xlsx_path: Path, notes: list[list[Any]], max_sheet_rows: int = MAX_SHEET_ROWS) -> int:
    """The XLSX of a list's CSV (its header row first): sheets 更正清单, 更正清单2, ... of at most
    ``max_sheet_rows`` rows each, then the 说明 sheet of ``notes`` (label, value) rows. Returns the rows."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    try:
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        bold = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle)
            headers = next(rows)
            sheets: list[tuple[Any, int]] = []
            for row in rows:
                if not sheets or sheets[-1][1] == max_sheet_rows:
                    sheets.append((_data_sheet(book, len(sheets) + 1, headers, wrap, bold), 0))
                sheet, used = sheets[-1]
                sheets[-1] = (sheet, used + 1)
                _write_cells(sheet, used + 1, row)
        if not sheets:
            sheets.append((_data_sheet(book, 1, headers, wrap, bold), 0))
        for sheet, used in sheets:
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, used, len(headers) - 1)
        _notes_sheet(book, notes)
    finally:
        book.close()
    return sum(used for _, used in sheets)


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

    def submit(self, csv_path: Path, xlsx_path: Path, notes: list[list[Any]]) -> None:
        request = json.dumps({"csv": str(csv_path), "xlsx": str(xlsx_path), "notes": notes}, ensure_ascii=False)
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
    write_xlsx(Path(request["csv"]), Path(request["xlsx"]), request["notes"])


if __name__ == "__main__":
    main()
