"""What every reader shares: limits, reason codes, the batch types, header detection, row fitting."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from credit_warehouse.catalogue import normalize_header

HEADER_SEARCH_ROWS = 10  # title rows above the header that departments' exports often carry
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
JSON_LIST_KEYS = ("records", "data", "rows", "list", "items", "result")
BATCH_ROWS = 20_000  # rows per batch of the Python readers (XLSX, JSON, tolerant CSV)
BLOCK_BYTES = 4 << 20  # CSV block: pyarrow's batch size and the transcoding unit
HEAD_BYTES = 256 << 10  # sniffed for magic numbers, encoding, delimiter and the header
BINARY_MAGIC = {b"PK\x03\x04": "zip_archive", b"\x1f\x8b": "gzip_archive", b"Rar!": "rar_archive",
                b"7z\xbc\xaf\x27\x1c": "7z_archive", b"%PDF": "pdf_document",
                b"\xd0\xcf\x11\xe0": "legacy_office_file"}
REPLACEMENT = "\ufffd"
# CSV read modes, fastest first: a mode that cannot handle a file raises ReadAgain and landing
# restarts the file (in a fresh transaction) with the next one.
READ_MODES = ("fast", "careful", "tolerant")

# Row issues: the row is kept (raw layer) and quarantined by validation (rule ``row_structure``).
RAGGED_ROW = "ragged_row"
TRUNCATED_ROW = "truncated_row"
UNDECODABLE_ROW = "undecodable_row"
UNPARSEABLE_ROW = "unparseable_row"
JSON_NOT_OBJECT = "json_not_object"
ROW_ISSUES = {
    RAGGED_ROW: "more or fewer cells than the header (a broken line or an unquoted delimiter)",
    TRUNCATED_ROW: "the file ends inside this row (the delivery was cut short)",
    UNDECODABLE_ROW: "bytes neither UTF-8 nor GB18030 (kept with replacement characters)",
    UNPARSEABLE_ROW: "CSV quoting broken beyond repair: the lines are kept as text",
    JSON_NOT_OBJECT: "a JSON record that is not an object (kept as JSON text)",
}


class FileRejected(Exception):
    """A delivered file that cannot be read as a table; ``reason_code`` is stable for reports."""

    def __init__(self, reason_code: str, detail: str) -> None:
        super().__init__(f"{reason_code}: {detail}")
        self.reason_code = reason_code
        self.detail = detail

    @classmethod
    def unreadable(cls, exc: Exception) -> FileRejected:
        """Any other error of a reader: this file's problem (rejected), not the load's."""
        return cls("unreadable_file", f"{type(exc).__name__}: {exc}")


class ReadAgain(Exception):
    """This read mode cannot handle the file: read it again with ``mode``."""

    def __init__(self, mode: str, why: str) -> None:
        super().__init__(f"read again in {mode} mode: {why}")
        self.mode = mode


@dataclass
class RowBatch:
    columns: list[pa.Array]  # one string array per header column
    row_numbers: pa.Array  # int32
    issues: dict[int, str] = field(default_factory=dict)  # index in batch -> row issue code
    extra: dict[int, dict[str, Any]] = field(default_factory=dict)  # index -> kept values (JSON)

    def __len__(self) -> int:
        return len(self.row_numbers)

    @classmethod
    def from_rows(cls, rows: list[list[Any]], numbers: list[int], width: int, issues: dict[int, str] | None = None,
                  extra: dict[int, dict[str, Any]] | None = None) -> RowBatch:
        cells = list(zip(*rows, strict=True)) if rows else [()] * width
        return cls([pa.array(column, pa.string()) for column in cells], pa.array(numbers, pa.int32()),
                   issues or {}, extra or {})

    def rows(self) -> list[list[str | None]]:
        return [list(row) for row in zip(*(c.to_pylist() for c in self.columns), strict=True)] if self.columns \
            else [[] for _ in range(len(self))]


@dataclass
class TableStream:
    headers: list[str]
    batches: Iterator[RowBatch]
    encoding: str | None = None
    header_row: int = 1  # 1-based line/row of the header in the file
    notes: dict[str, str] = field(default_factory=dict)  # complete once ``batches`` is consumed


@dataclass
class ParsedFile:
    """A whole file in memory (small files, tests): ``read_file``."""

    headers: list[str]
    rows: list[list[str | None]]
    encoding: str | None = None
    header_row: int = 1
    notes: dict[str, str] = field(default_factory=dict)
    row_numbers: list[int] = field(default_factory=list)
    issues: dict[int, str] = field(default_factory=dict)  # 0-based row index -> row issue code
    extra: dict[int, dict[str, Any]] = field(default_factory=dict)


def header_score(cells: Iterable[object], known: set[str]) -> int:
    return sum(1 for cell in cells if cell and normalize_header(str(cell)) in known)


def best_header(rows: list[list[Any]], known: set[str]) -> tuple[int, int]:
    """(index, score) of the row that looks most like the catalogue header among the first rows."""
    scores = [header_score(row, known) for row in rows[:HEADER_SEARCH_ROWS]]
    if not scores:
        return 0, 0
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return best, scores[best]


def is_blank(cells: Iterable[Any]) -> bool:
    """No value in any cell (whitespace is a value: such rows land and fail validation visibly)."""
    return all(cell is None or cell == "" for cell in cells)


def header_cells(row: Iterable[object]) -> list[str]:
    return [("" if h is None else str(h)).strip() for h in row]


def unrecognised(how: str) -> FileRejected:
    return FileRejected("header_not_recognised", "no column header matches the catalogue's headers of this "
                                                 f"category {how} (wrong delimiter, wrong category or a "
                                                 "non-standard export)")


def fit(cells: list[Any], width: int) -> tuple[list[Any], str | None, list[Any] | None]:
    """The row cut or padded to ``width``; a ragged row gets an issue and keeps its overflow."""
    if len(cells) == width:
        return cells, None, None
    if len(cells) > width:
        overflow = cells[width:]
        if is_blank(overflow):  # trailing delimiters: an export artefact, nothing lost
            return cells[:width], None, None
        return cells[:width], RAGGED_ROW, overflow
    return cells + [None] * (width - len(cells)), RAGGED_ROW, None


class Batcher:
    """Collects rows of the Python readers into RowBatches.

    ``ragged_is_issue=False`` (XLSX): a sheet stores no trailing empty cells, so a short row is
    complete, and values beyond the header are kept (``_overflow``) without quarantining the row.
    """

    def __init__(self, width: int, ragged_is_issue: bool = True) -> None:
        self.width = width
        self.ragged_is_issue = ragged_is_issue
        self.blank = 0
        self._reset()

    def _reset(self) -> None:
        self.rows: list[list[Any]] = []
        self.numbers: list[int] = []
        self.issues: dict[int, str] = {}
        self.extra: dict[int, dict[str, Any]] = {}

    def add(self, number: int, cells: list[Any], issue: str | None = None,
            extra: dict[str, Any] | None = None) -> None:
        row, ragged, overflow = fit(cells, self.width)
        ragged = ragged if self.ragged_is_issue else None
        index = len(self.rows)
        self.rows.append(row)
        self.numbers.append(number)
        if issue or ragged:
            self.issues[index] = issue or ragged or ""
        if overflow is not None or extra:
            self.extra[index] = {**({"_overflow": overflow} if overflow is not None else {}), **(extra or {})}

    def take(self, at_least: int = BATCH_ROWS) -> RowBatch | None:
        if len(self.rows) < at_least or not self.rows:
            return None
        batch = RowBatch.from_rows(self.rows, self.numbers, self.width, self.issues, self.extra)
        self._reset()
        return batch


def blank_note(notes: dict[str, str], blank: int) -> None:
    if blank:
        notes["blank_rows_skipped"] = f"{blank} row(s) with no value in any cell skipped"
