"""XLSX: openpyxl's streaming reader, title rows skipped, merged cells filled."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from credit_warehouse.readers.common import (
    HEADER_SEARCH_ROWS,
    Batcher,
    FileRejected,
    RowBatch,
    TableStream,
    best_header,
    blank_note,
    header_cells,
    is_blank,
    unrecognised,
)

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)"')


def _column_number(letters: bytes) -> int:
    number = 0
    for char in letters:
        number = number * 26 + char - 64
    return number


def _merged_ranges(archive: Any, sheet_path: str) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of every merged range, from the sheet XML.

    openpyxl's read-only mode does not expose merged cells; the <mergeCells> element follows the
    cell data, so the XML is scanned in blocks with a regular expression (bounded memory).
    """
    found = set()
    tail = b""
    with archive.open(sheet_path) as xml:
        while chunk := xml.read(1 << 20):
            data = tail + chunk
            found.update(_MERGE.findall(data))
            tail = data[-256:]
    return sorted((int(r1), _column_number(c1), int(r2), _column_number(c2)) for c1, r1, c2, r2 in found)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _MergeFiller:
    """Copies a merged range's value (held by its top-left cell) into every cell of the range."""

    def __init__(self, ranges: list[tuple[int, int, int, int]]) -> None:
        self.waiting = sorted(ranges)
        self.next = 0
        self.active: list[tuple[int, int, int, object]] = []  # (last row, first col, last col, value)
        self.filled = 0

    def fill(self, number: int, row: list[Any]) -> list[Any]:
        while self.next < len(self.waiting) and self.waiting[self.next][0] <= number:
            _, first_col, last_row, last_col = self.waiting[self.next]
            self.next += 1
            value = row[first_col - 1] if first_col <= len(row) else None
            if value is not None:
                self.active.append((last_row, first_col, last_col, value))
        if self.active:
            for _, first_col, last_col, value in self.active:
                for col in range(first_col, min(last_col, len(row)) + 1):
                    if row[col - 1] is None:
                        row[col - 1] = value
                        self.filled += 1
            self.active = [a for a in self.active if a[0] > number]
        return row


def xlsx_stream(path: Path, known: set[str]) -> TableStream:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        filler = _MergeFiller(_merged_ranges(workbook._archive, sheet._worksheet_path))
        rows = (filler.fill(n, [_cell_text(v) for v in values])
                for n, values in enumerate(sheet.iter_rows(values_only=True), start=1))
        head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    except Exception as exc:  # openpyxl raises many types for broken archives
        raise FileRejected("unreadable_xlsx", f"{type(exc).__name__}: {exc}") from exc
    if not head or all(is_blank(r) for r in head):
        workbook.close()
        raise FileRejected("empty_file", "the workbook's first sheet holds no header and no rows")
    index, score = best_header(head, known)
    if score == 0:
        workbook.close()
        raise unrecognised(f"in the first {HEADER_SEARCH_ROWS} rows of the first sheet")
    headers = header_cells(head[index])
    notes = {"title_rows_skipped": f"{index} title row(s) above the header skipped"} if index else {}
    data = itertools.chain(head[index + 1:], rows)
    return TableStream(headers, _xlsx_batches(workbook, data, len(headers), notes, filler), None, index + 1, notes)


def _xlsx_batches(workbook: Any, rows: Iterator[list[Any]], width: int, notes: dict[str, str],
                  filler: _MergeFiller) -> Iterator[RowBatch]:
    batcher = Batcher(width, ragged_is_issue=False)
    try:
        for number, row in enumerate(rows, start=1):
            if is_blank(row):
                batcher.blank += 1
                continue
            batcher.add(number, row)
            if (batch := batcher.take()) is not None:
                yield batch
    except Exception as exc:
        raise FileRejected("unreadable_xlsx", f"{type(exc).__name__}: {exc}") from exc
    finally:
        workbook.close()
    if filler.filled:
        notes["merged_cells_filled"] = f"{filler.filled} cell(s) of merged ranges given the merged value"
    blank_note(notes, batcher.blank)
    if (batch := batcher.take(1)) is not None:
        yield batch
