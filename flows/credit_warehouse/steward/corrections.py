"""Correction lists per department: what to fix and re-send, in Chinese, as CSV (UTF-8 with BOM, so
Excel opens it right) and XLSX. One row per open failure (the record's file and row number locate it;
ID numbers are masked, as everywhere outside the raw layer) and per rejected file not yet re-sent."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import duckdb

from credit_warehouse.steward.review_data import SEVERITY_ZH, DepartmentReview, ReviewData
from credit_warehouse.steward.xlsx_list import XlsxConverter, write_xlsx

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


# Every open failure, in list order, already in the list's words: streamed, never held in memory
# (a year of the 1,000,000-subject city has ~1M open failures; as Python objects they took ~3 GiB).
OPEN_FAILURES_SQL = """
select department_code, category_code || ' ' || coalesce(category_name, category_code), source_file, row_number,
       coalesce(record_key, ''), coalesce(field_header_zh, field, ''), coalesce(offending_value, ''),
       coalesce(reason_zh, rule_id), severity, rule_id, failing_since, run_id
from marts.mart_validation_failures
where is_open
order by department_code, category_code, source_file, row_number, rule_id, field
"""
FETCH_ROWS = 20_000
# A worker's start (~0.15 s) cost about as much as writing ~3,000 rows through XlsxWriter's cells (~13,000
# since the rows are written by hand, xlsx_list): shorter lists are written here.
IN_PROCESS_ROWS = 5_000


def failure_row(values: tuple) -> list[str]:
    """One open failure (a row of OPEN_FAILURES_SQL without its department) as list cells, without 序号."""
    category, source_file, row_number, key, field, value, reason, severity, rule_id, since, run_id = values
    return [category, source_file, str(row_number), key, field, value, reason, ACTION_ZH[severity],
            SEVERITY_ZH[severity], rule_id, since.isoformat(), run_id]


def delivery_rows(department: DepartmentReview) -> list[list[str]]:
    """The rejected files of a department not yet re-sent, as list cells, without 序号."""
    rows = []
    for d in department.deliveries:
        if d.outcome == "rejected" and not d.resent:
            reason = d.reason_zh + (f"（{d.reason_detail}）" if d.reason_detail else "")
            rows.append(["", d.source_file, "", "", "文件", "", reason, ACTION_ZH["rejected"], SEVERITY_ZH["blocking"],
                         d.reason_code or "", d.business_date.isoformat() if d.business_date else "", ""])
    return rows


def _open_failures(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, Iterator[list[str]]]]:
    """(department, its failure rows) in department order, fetched in chunks."""
    cursor = con.execute(OPEN_FAILURES_SQL)

    def rows() -> Iterator[tuple]:
        while chunk := cursor.fetchmany(FETCH_ROWS):
            yield from chunk

    for department, group in groupby(rows(), key=itemgetter(0)):
        yield department, (failure_row(values[1:]) for values in group)


class CorrectionList:
    """One department's CSV list, written row by row (the XLSX is made from it: ``xlsx_list``)."""

    def __init__(self, files: CorrectionFiles) -> None:
        self.files, self.written = files, 0
        self._handle = files.csv.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._handle)
        self._csv.writerow(HEADERS)

    def add(self, row: list[str]) -> None:
        """Append one row (without 序号, which is numbered here)."""
        self.written += 1
        self._csv.writerow([str(self.written), *row])

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


def write_corrections(con: duckdb.DuckDBPyConnection, data: ReviewData, root: Path) -> list[CorrectionFiles]:
    """Write the lists of every department with something to correct into ``root/<YYYYMMDD>/``
    (replaced as a whole: a re-run of the same day leaves no stale list behind): its open failures,
    read from the warehouse as they are written, then its rejected files not yet re-sent. Each long
    CSV becomes its XLSX in a worker process while the next department's CSV is written."""
    stamp = f"{data.as_of:%Y%m%d}" if data.as_of else "undated"
    target = root / stamp
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    departments = {d.code: d for d in data.departments}
    written: dict[str, CorrectionFiles] = {}
    converter = XlsxConverter()

    def write(department: DepartmentReview, failures: Iterable[list[str]]) -> None:
        listing = CorrectionList(_files(department, target, stamp))
        try:
            for row in chain(failures, delivery_rows(department)):
                listing.add(row)
        finally:
            written[department.code] = listing.close()
        convert = write_xlsx if listing.written < IN_PROCESS_ROWS else converter.submit
        convert(listing.files.csv, listing.files.xlsx, notes(department, data.as_of), rows=listing.written)

    try:
        for code, failures in _open_failures(con):
            write(departments.get(code) or DepartmentReview(code, code), failures)
        for department in data.departments:
            if department.code not in written and department.needs_correction:
                write(department, ())
    finally:
        converter.close()
    return [written[code] for code in sorted(written)]
