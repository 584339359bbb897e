"""Correction lists per department: what to fix and re-send, in Chinese, as CSV (UTF-8 with BOM, so
Excel opens it right) and XLSX. One row per open failure (the record's file and row number locate it;
ID numbers are masked, as everywhere outside the raw layer) and per rejected file not yet re-sent."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from credit_warehouse.steward.review_data import SEVERITY_ZH, DepartmentReview, ReviewData
from credit_warehouse.steward.xlsx_list import XlsxConverter, write_xlsx
from credit_warehouse.validation.expressions import literal

HEADERS = ("序号", "数据类别", "来源文件", "行号", "记录主键", "问题字段", "问题值", "问题说明", "处理要求",
           "严重程度", "规则编号", "首次发现日期", "校验批次")
ACTION_ZH = {
    "blocking": "该记录未入库，请更正后重新报送",
    "warning": "该记录已入库并标记，请核实；如有误请更正后重新报送",
    "rejected": "文件未被接收，请按规范更正后重新报送整个文件",
}
RESEND_HINT = ("更正后的记录请按原类别重新报送，文件名为“类别编码_报送日期”加标记，"
               "如 C03_20261015_corr1.csv；记录主键（文书号等）保持不变，平台收到后自动关闭对应问题。")


@dataclass(frozen=True)
class CorrectionFiles:
    department_code: str
    csv: Path
    xlsx: Path
    rows: int


def _safe(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", name).strip("_")


# A department's open failures as list rows, in list order, numbered from 1: DuckDB writes them to the
# CSV itself (``COPY``), a year of the 1,000,000-subject city's ~1M in ~7 s beside the XLSX workers,
# where Python's csv module, row by row, took ~20 of the review's ~25 s. Empty cells are NULL, which
# DuckDB writes as nothing (an empty string it would quote); otherwise its quoting and CRLF are those
# of Python's csv writer, which writes the header and the rejected files' rows around them.
LIST_CELLS_SQL = """
with listed as (
    select
        row_number() over (order by category_code, source_file, row_number, rule_id, field) as list_number,
        *
    from marts.mart_validation_failures
    where is_open and department_code = {department}
)
select
    cast(list_number as varchar),
    category_code || ' ' || coalesce(category_name, category_code),
    nullif(source_file, ''),
    cast(row_number as varchar),
    nullif(record_key, ''),
    nullif(coalesce(field_header_zh, field), ''),
    nullif(offending_value, ''),
    nullif(coalesce(reason_zh, rule_id), ''),
    {action},
    {severity},
    nullif(rule_id, ''),
    cast(failing_since as varchar),
    nullif(run_id, '')
from listed
order by list_number
"""
OPEN_COUNTS_SQL = """
select department_code, count(*) from marts.mart_validation_failures where is_open group by 1
"""
# A worker's start (~0.15 s) cost about as much as writing ~3,000 rows through XlsxWriter's cells (~13,000
# since the rows are written by hand, xlsx_list): shorter lists are written here.
IN_PROCESS_ROWS = 5_000


def _case(column: str, words: dict[str, str]) -> str:
    whens = " ".join(f"when {literal(key)} then {literal(value)}" for key, value in words.items())
    return f"case {column} {whens} end"


def _copy_failures(con: duckdb.DuckDBPyConnection, department: str, body: Path) -> int:
    """Write a department's open failures (list cells with 序号, no header) to ``body``; returns how many."""
    select = LIST_CELLS_SQL.format(action=_case("severity", ACTION_ZH), severity=_case("severity", SEVERITY_ZH),
                                   department=literal(department))
    copied = con.execute(f"copy ({select}) to {literal(str(body))} (format csv, header false, new_line '\r\n')"
                         ).fetchone()
    return int(copied[0]) if copied else 0


def delivery_rows(department: DepartmentReview) -> list[list[str]]:
    """The rejected files of a department not yet re-sent, as list cells, without 序号."""
    rows = []
    for d in department.deliveries:
        if d.outcome == "rejected" and not d.resent:
            reason = d.reason_zh + (f"（{d.reason_detail}）" if d.reason_detail else "")
            rows.append(["", d.source_file, "", "", "文件", "", reason, ACTION_ZH["rejected"], SEVERITY_ZH["blocking"],
                         d.reason_code or "", d.business_date.isoformat() if d.business_date else "", ""])
    return rows


class CorrectionList:
    """One department's CSV list (the XLSX is made from it: ``xlsx_list``): its header, then rows
    appended, numbered (序号) here, or a block of numbered rows DuckDB wrote (``append_copied``)."""

    def __init__(self, files: CorrectionFiles) -> None:
        self.files, self.written = files, 0
        self._handle = files.csv.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._handle)
        self._csv.writerow(HEADERS)

    def add(self, row: list[str]) -> None:
        """Append one row (without 序号, which is numbered here)."""
        self.written += 1
        self._csv.writerow([str(self.written), *row])

    def append_copied(self, body: Path, rows: int) -> None:
        """Append ``rows`` CSV rows numbered from 序号 1 (the list's first), as ``_copy_failures`` wrote them."""
        assert self.written == 0, "copied rows are numbered from 1: they come first"
        self._handle.flush()
        with body.open("rb") as source:
            shutil.copyfileobj(source, self._handle.buffer, 16 << 20)
        self.written = rows

    def close(self) -> CorrectionFiles:
        self._handle.close()
        return CorrectionFiles(self.files.department_code, self.files.csv, self.files.xlsx, self.written)


def notes(department: DepartmentReview, as_of: dt.date | None) -> list[list[Any]]:
    """The 说明 sheet of a department's XLSX list."""
    return [["部门", department.name], ["部门编码", department.code],
            ["截至报送日期", as_of.isoformat() if as_of else ""],
            ["未关闭问题", department.open_total], ["其中阻断（未入库）", department.open_blocking],
            ["其中警告（已入库）", department.open_warning], ["重新报送说明", RESEND_HINT],
            ["个人信息", "证件号码已脱敏显示，请按来源文件和行号定位原记录。"]]


def _files(department: DepartmentReview, target: Path, stamp: str) -> CorrectionFiles:
    base = f"{_safe(department.code)}_{_safe(department.name)}_更正清单_{stamp}"
    return CorrectionFiles(department.code, target / f"{base}.csv", target / f"{base}.xlsx", 0)


def list_folder(root: Path, as_of: dt.date | None) -> Path:
    """The folder of a business date's lists: ``root/<YYYYMMDD>/``."""
    return root / (f"{as_of:%Y%m%d}" if as_of else "undated")


DATED_FOLDER = re.compile(r"[0-9]{8}")


def prune_list_folders(root: Path, keep: int, written: Path) -> list[Path]:
    """Remove the lists of all but the ``keep`` latest business dates (0: keep every one), never the
    folder just ``written`` (a re-run of an older date), nor anything not named like a date; returns
    what was removed. Every open failure is listed every day, so the folders add up: ~450 MB a day at
    1,000,000 subjects, ~160 GB a year of daily loads."""
    if keep <= 0 or not root.is_dir():
        return []
    dated = sorted((p for p in root.iterdir() if p.is_dir() and DATED_FOLDER.fullmatch(p.name)), reverse=True)
    removed = [p for p in dated[keep:] if p != written]
    for folder in removed:
        shutil.rmtree(folder)
    return removed


def write_corrections(con: duckdb.DuckDBPyConnection, data: ReviewData, root: Path) -> list[CorrectionFiles]:
    """Write the lists of every department with something to correct into ``root/<YYYYMMDD>/``
    (replaced as a whole: a re-run of the same day leaves no stale list behind): its open failures,
    then its rejected files not yet re-sent. Longest lists first: each long CSV becomes its XLSX in a
    worker process while the next department's CSV is written, and the longest conversions decide
    when the review ends."""
    target = list_folder(root, data.as_of)
    stamp = target.name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    departments = {d.code: d for d in data.departments}
    open_counts = dict(con.execute(OPEN_COUNTS_SQL).fetchall())
    listed = set(open_counts) | {d.code for d in data.departments if d.needs_correction}
    written: dict[str, CorrectionFiles] = {}
    converter = XlsxConverter()
    try:
        for code in sorted(listed, key=lambda c: (-open_counts.get(c, 0), c)):
            department = departments.get(code) or DepartmentReview(code, code)
            listing = write_list(con, department, _files(department, target, stamp), open_counts.get(code, 0))
            written[code] = listing
            convert = write_xlsx if listing.rows < IN_PROCESS_ROWS else converter.submit
            convert(listing.csv, listing.xlsx, notes(department, data.as_of), rows=listing.rows)
    finally:
        converter.close()
    return [written[code] for code in sorted(written)]


def write_list(con: duckdb.DuckDBPyConnection, department: DepartmentReview, files: CorrectionFiles,
               open_failures: int) -> CorrectionFiles:
    """A department's CSV list: its open failures (written by DuckDB), then its rejected files."""
    listing = CorrectionList(files)
    try:
        if open_failures:
            body = files.csv.with_name(files.csv.name + ".rows")
            try:
                listing.append_copied(body, _copy_failures(con, department.code, body))
            finally:
                body.unlink(missing_ok=True)
        for row in delivery_rows(department):
            listing.add(row)
    finally:
        files = listing.close()
    return files
