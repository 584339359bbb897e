"""Read a delivered file (CSV in any Chinese encoding, XLSX, JSON) into a header and text rows.

Every value comes back as text exactly as delivered (raw layer keeps values as text). Files that
cannot be read raise ``FileRejected`` with a reason code; the caller records it, nothing is dropped
silently.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

from credit_warehouse.catalogue import normalize_header

HEADER_SEARCH_ROWS = 10  # title rows above the header that departments' XLSX exports often carry
DELIMITERS = (",", "\t", ";", "|")
JSON_LIST_KEYS = ("records", "data", "rows", "list", "items", "result")
# DuckDB cannot decode GBK; gb18030 is a strict superset (Python's gbk codec fails on e.g. 㐀).
CANDIDATE_ENCODINGS = ("utf-8", "gb18030")
BINARY_MAGIC = {b"PK\x03\x04": "zip_archive", b"%PDF": "pdf_document", b"\xd0\xcf\x11\xe0": "legacy_office_file"}


class FileRejected(Exception):
    """A delivered file that cannot be read as a table; ``reason_code`` is stable for reports."""

    def __init__(self, reason_code: str, detail: str) -> None:
        super().__init__(f"{reason_code}: {detail}")
        self.reason_code = reason_code
        self.detail = detail


@dataclass
class ParsedFile:
    headers: list[str]
    rows: list[list[str | None]]
    encoding: str | None = None
    header_row: int = 1  # 1-based line/row of the header in the file
    notes: list[str] = field(default_factory=list)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    for encoding in CANDIDATE_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise FileRejected("undecodable_text", "bytes are neither UTF-8 nor GB18030 nor any detectable encoding")
    return str(best), best.encoding


def _header_score(cells: list[str | None], known: set[str]) -> int:
    return sum(1 for cell in cells if cell and normalize_header(cell) in known)


def _best_header(rows: list[list[str | None]], known: set[str]) -> int:
    """Index of the row that looks most like the catalogue header (title rows above it are skipped)."""
    scores = [_header_score(row, known) for row in rows[:HEADER_SEARCH_ROWS]]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i)) if scores else 0
    return best if scores and scores[best] > 0 else 0


def _is_blank(row: list[str | None]) -> bool:
    return all(cell is None or not str(cell).strip() for cell in row)


def _table(rows: list[list[str | None]], known: set[str], encoding: str | None) -> ParsedFile:
    if not rows or all(_is_blank(r) for r in rows):
        raise FileRejected("empty_file", "the file holds no header and no rows")
    header_index = _best_header(rows, known)
    headers = [("" if h is None else str(h)).strip() for h in rows[header_index]]
    data = [row for row in rows[header_index + 1:] if not _is_blank(row)]
    parsed = ParsedFile(headers, data, encoding, header_index + 1)
    if header_index:
        parsed.notes.append(f"skipped {header_index} title row(s) above the header")
    return parsed


def read_csv_bytes(data: bytes, known: set[str]) -> ParsedFile:
    text, encoding = _decode(data)
    first_line = text.split("\n", 1)[0]

    def parse(delimiter: str) -> list[list[str | None]]:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]

    # Choose the delimiter under which the header matches the catalogue best, not csv.Sniffer's guess:
    # Chinese text with commas inside quoted fields fools the sniffer.
    delimiter = max(DELIMITERS, key=lambda d: (_header_score(first_line.split(d), known),
                                              d == ",", first_line.count(d)))
    parsed = _table(parse(delimiter), known, encoding)
    if delimiter != ",":
        parsed.notes.append(f"delimiter {delimiter!r}")
    return parsed


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


def read_xlsx(path: Path, known: set[str]) -> ParsedFile:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken archives
        raise FileRejected("unreadable_xlsx", f"{type(exc).__name__}: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    return _table(rows, known, None)


def _json_records(document: object) -> list[object]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in JSON_LIST_KEYS:
            if isinstance(document.get(key), list):
                return document[key]
    raise FileRejected("json_wrong_shape", "expected a list of objects or an object with a "
                       f"list under one of {', '.join(JSON_LIST_KEYS)}")


def read_json_bytes(data: bytes, known: set[str]) -> ParsedFile:
    text, encoding = _decode(data)
    try:
        document = json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        raise FileRejected("invalid_json", str(exc)) from exc
    if document is None:
        raise FileRejected("empty_file", "the file is empty")
    records = _json_records(document)
    if not all(isinstance(r, dict) for r in records):
        raise FileRejected("json_wrong_shape", "records must be JSON objects")
    headers: dict[str, None] = {}
    for record in records:
        headers.update(dict.fromkeys(str(k) for k in record))
    names = list(headers)

    def text_of(value: object) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)

    rows = [[text_of(record.get(name)) for name in names] for record in records]
    return ParsedFile(names, [r for r in rows if not _is_blank(r)], encoding, 1)


def read_file(path: Path, file_format: str, known_headers: set[str]) -> ParsedFile:
    """Parse ``path`` as ``file_format``; ``known_headers`` (normalised) guide header/delimiter choice."""
    data = path.read_bytes()
    if not data.strip():
        raise FileRejected("empty_file", "the file is empty")
    for magic, kind in BINARY_MAGIC.items():
        if data.startswith(magic) and not (file_format == "xlsx" and kind == "zip_archive"):
            raise FileRejected(kind, f"a {kind.replace('_', ' ')} was delivered where {file_format} was expected")
    readers: dict[str, Callable[[], ParsedFile]] = {
        "csv": lambda: read_csv_bytes(data, known_headers),
        "json": lambda: read_json_bytes(data, known_headers),
        "xlsx": lambda: read_xlsx(path, known_headers),
    }
    return readers[file_format]()
