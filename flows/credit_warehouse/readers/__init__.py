"""Read a delivered file (CSV in any Chinese encoding, XLSX, JSON) as a header and batches of text columns.

Streaming: a file is handed to landing in Arrow batches, so memory stays bounded whatever its size
(JSON documents are the exception: parsed whole). CSV is parsed by pyarrow's C++ reader; the bytes
reach it through ``text.Utf8Source``, which decodes by hand what pyarrow's single-codec transcoding gets
wrong (files mixing UTF-8 and GBK lines, stray undecodable bytes). Every value is text exactly as
delivered. Nothing is dropped silently:

- a file that cannot be read as a table of its category raises ``FileRejected`` with a reason code;
- a row that cannot be read properly is still returned (cut or padded to the header's width, the
  rest kept in ``RowBatch.extra``) with a row issue code (``ROW_ISSUES``); validation quarantines it;
- rows with no value at all are skipped and counted; what was normalised on the way (title rows,
  delimiter, encoding, merged cells) is reported in ``TableStream.notes`` (code -> detail).

``row_number`` is the 1-based position of the record after the header (empty lines not counted);
skipped blank records leave a gap, so a number always points at the same record of the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from credit_warehouse.readers.common import (
    BATCH_ROWS,
    BINARY_MAGIC,
    HEAD_BYTES,
    JSON_NOT_OBJECT,
    RAGGED_ROW,
    READ_MODES,
    ROW_ISSUES,
    TRUNCATED_ROW,
    UNDECODABLE_ROW,
    UNPARSEABLE_ROW,
    FileRejected,
    ParsedFile,
    ReadAgain,
    RowBatch,
    TableStream,
)
from credit_warehouse.readers.delimited import csv_stream
from credit_warehouse.readers.json_records import json_stream
from credit_warehouse.readers.text import sniff_encoding
from credit_warehouse.readers.xlsx import xlsx_stream

__all__ = ["BATCH_ROWS", "JSON_NOT_OBJECT", "RAGGED_ROW", "READ_MODES", "ROW_ISSUES", "TRUNCATED_ROW",
           "UNDECODABLE_ROW", "UNPARSEABLE_ROW", "FileRejected", "ParsedFile", "ReadAgain", "RowBatch",
           "TableStream", "open_table", "read_file", "sniff_encoding"]


def _check_head(head: bytes, size: int, file_format: str) -> None:
    if not head.strip() and size <= len(head):
        raise FileRejected("empty_file", "the file is empty")
    for magic, kind in BINARY_MAGIC.items():
        if head.startswith(magic) and not (file_format == "xlsx" and kind == "zip_archive"):
            raise FileRejected(kind, f"a {kind.replace('_', ' ')} was delivered where {file_format} was expected")


def open_table(path: Path, file_format: str, known_headers: set[str], stream: IO[bytes],
               mode: str = READ_MODES[0]) -> TableStream:
    """Open ``path`` as ``file_format`` for streaming (CSV is read from ``stream``, an open binary file
    the caller closes); ``known_headers`` (normalised) guide the header and delimiter choice. A CSV
    read may raise ``ReadAgain``: open it again with the mode it names."""
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    _check_head(head, path.stat().st_size, file_format)
    openers: dict[str, Callable[[], TableStream]] = {
        "csv": lambda: csv_stream(stream, head, known_headers, mode),
        "json": lambda: json_stream(path, known_headers),
        "xlsx": lambda: xlsx_stream(path, known_headers),
    }
    return openers[file_format]()


def read_file(path: Path, file_format: str, known_headers: set[str]) -> ParsedFile:
    """The whole file in memory (small files and tests); landing streams with ``open_table``."""
    mode = READ_MODES[0]
    while True:
        try:
            return _read_whole(path, file_format, known_headers, mode)
        except ReadAgain as again:
            mode = again.mode


def _read_whole(path: Path, file_format: str, known_headers: set[str], mode: str) -> ParsedFile:
    with path.open("rb") as stream:
        table = open_table(path, file_format, known_headers, stream, mode)
        records = []  # (row number, row, issue, extra): batches may come out of file order
        for batch in table.batches:
            numbers = batch.row_numbers.to_pylist()
            for index, row in enumerate(batch.rows()):
                records.append((numbers[index], row, batch.issues.get(index), batch.extra.get(index)))
    records.sort(key=lambda record: record[0])
    parsed = ParsedFile(table.headers, [r[1] for r in records], table.encoding, table.header_row, table.notes,
                        [r[0] for r in records])
    parsed.issues = {i: r[2] for i, r in enumerate(records) if r[2]}
    parsed.extra = {i: r[3] for i, r in enumerate(records) if r[3]}
    return parsed
