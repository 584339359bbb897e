"""CSV: pyarrow's C++ parser behind the line-aware decoder; Python's csv module as the tolerant fallback."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from credit_warehouse.readers.common import (
    BLOCK_BYTES,
    DELIMITER_NAMES,
    DELIMITERS,
    HEADER_SEARCH_ROWS,
    RAGGED_ROW,
    READ_MODES,
    REPLACEMENT,
    TRUNCATED_ROW,
    UNDECODABLE_ROW,
    UNPARSEABLE_ROW,
    Batcher,
    FileRejected,
    ReadAgain,
    RowBatch,
    TableStream,
    best_header,
    blank_note,
    header_cells,
    is_blank,
    unrecognised,
)
from credit_warehouse.readers.text import LineDecoder, Utf8Source, sniff_encoding, text_lines


@dataclass(frozen=True)
class _CsvLayout:
    encoding: str
    delimiter: str
    header_index: int  # records above the header (title rows)
    headers: list[str]
    header_line: int  # physical lines up to and including the header


def _csv_layout(head: bytes, known: set[str]) -> _CsvLayout:
    """Encoding, then the delimiter under which a header row matches the catalogue best.

    Not csv.Sniffer: Chinese text with commas inside quoted fields fools it.
    """
    encoding = sniff_encoding(head)
    decoder = LineDecoder(encoding)
    text = "".join(block.decode("utf-8") for block in decoder.utf8_blocks(io.BytesIO(head[: head.rfind(b"\n") + 1]
                                                                                   or head)))
    if not text.strip():
        raise FileRejected("empty_file", "the file holds no header and no rows")
    lines = _HeadLines(text)
    ranked = []
    for delimiter in DELIMITERS:
        records = list(itertools.islice(csv.reader(lines, delimiter=delimiter), HEADER_SEARCH_ROWS))
        index, score = best_header(records, known)
        ranked.append(((score, delimiter == ",", lines.first.count(delimiter)), delimiter, index))
    (score, *_), delimiter, index = max(ranked)
    if score == 0:
        raise unrecognised(f"with any of the delimiters {', '.join(DELIMITER_NAMES.values())}")
    reader = csv.reader(lines, delimiter=delimiter)
    for _ in range(index):
        next(reader)
    headers = header_cells(next(reader))
    return _CsvLayout(encoding, delimiter, index, headers, reader.line_num)


class _HeadLines:
    """The head's lines as ``text_lines`` gives them (each ends at a newline), split only as far as
    read: the header search reads ~10 records of a head of 256 KiB, and splitting all of it was ~13% of
    the CPU of reading a day's small CSV files (profiled on two days of the 1,000,000-subject city)."""

    def __init__(self, text: str) -> None:
        self.text, self.lines, self.end = text, [], 0

    def _split_one(self) -> bool:
        if self.end >= len(self.text):
            return False
        cut = self.text.find("\n", self.end) + 1 or len(self.text)
        self.lines.append(self.text[self.end:cut])
        self.end = cut
        return True

    @property
    def first(self) -> str:
        return next(iter(self))

    def __iter__(self) -> Iterator[str]:
        index = 0
        while index < len(self.lines) or self._split_one():
            yield self.lines[index]
            index += 1


def csv_stream(stream: IO[bytes], head: bytes, known: set[str], mode: str) -> TableStream:
    layout = _csv_layout(head, known)
    notes: dict[str, str] = {}
    if layout.header_index:
        notes["title_rows_skipped"] = f"{layout.header_index} title row(s) above the header skipped"
    if layout.delimiter != ",":
        notes["delimiter_detected"] = f"columns separated by {DELIMITER_NAMES[layout.delimiter]}, not comma"
    if layout.encoding == "utf-8-sig":
        notes["byte_order_mark"] = "UTF-8 byte order mark removed"
    decoder = LineDecoder(layout.encoding, layout.delimiter)
    batches = (_tolerant_batches if mode == "tolerant" else _arrow_batches)(stream, layout, decoder, notes, mode)
    return TableStream(layout.headers, batches, layout.encoding, layout.header_line, notes)


def _blank_mask(columns: list[pa.Array]) -> pa.Array | None:
    """Rows whose every cell is empty; None once no row can be (most batches: the first column has no
    empty cell, and the other ~20 columns need not be looked at)."""
    mask = None
    for column in columns:
        empty = pc.equal(pc.binary_length(column), 0)
        mask = empty if mask is None else pc.and_(mask, empty)
        if not pc.any(mask).as_py():
            return None
    return mask


def _rows_with(columns: list[pa.Array], text: str) -> list[int]:
    mask = None
    for column in columns:
        found = pc.fill_null(pc.match_substring(column, text), False)
        mask = found if mask is None else pc.or_(mask, found)
    return pc.indices_nonzero(mask).to_pylist() if mask is not None else []


class _InvalidRows:
    """Rows pyarrow could not fit to the header (careful mode), with their record numbers."""

    def __init__(self, delimiter: str, mode: str) -> None:
        self.delimiter = delimiter
        self.mode = mode
        self.pending: dict[int, str] = {}

    def handle(self, row: Any) -> str:
        if self.mode == "fast" or row.number is None:
            return "error"  # the threaded reader cannot number it: read again carefully
        self.pending[row.number] = row.text
        return "skip"

    def cells(self, text: str) -> list[str]:
        try:
            return next(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter), [])
        except csv.Error:
            return [text]


def _arrow_batches(stream: IO[bytes], layout: _CsvLayout, decoder: LineDecoder, notes: dict[str, str],
                   mode: str) -> Iterator[RowBatch]:
    import pyarrow.csv as pcsv

    width = len(layout.headers)
    names = [f"c{i}" for i in range(width)]
    invalid = _InvalidRows(layout.delimiter, mode)
    try:
        reader = pcsv.open_csv(
            Utf8Source(stream, decoder, layout.header_line),
            read_options=pcsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES, use_threads=mode == "fast"),
            parse_options=pcsv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=True,
                                            invalid_row_handler=invalid.handle),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" not in str(exc):
            raise ReadAgain(READ_MODES[READ_MODES.index(mode) + 1], str(exc)) from exc
        notes.update(decoder.notes())
        return  # a header and no data rows
    numbered = _Numbering(width, invalid)
    held: RowBatch | None = None
    try:
        for record_batch in reader:
            for batch in numbered.batches(record_batch.columns, decoder.bad_lines > 0):
                if held is not None:
                    yield held
                held = batch
    except pa.ArrowInvalid as exc:
        raise ReadAgain(READ_MODES[READ_MODES.index(mode) + 1], str(exc)) from exc
    last_number = numbered.last
    for batch in numbered.rest():
        if held is not None:
            yield held
        held = batch
    if held is not None:
        _mark_truncated(held, decoder.final_newline, last_number)
        yield held
    notes.update(decoder.notes())
    blank_note(notes, numbered.blank)


def _mark_truncated(batch: RowBatch, final_newline: bool, last_number: int) -> None:
    """The file's last record broke and the file lacks its final newline: the delivery was cut short."""
    if final_newline or not len(batch):
        return
    found = pc.indices_nonzero(pc.equal(batch.row_numbers, last_number)).to_pylist()
    if found and batch.issues.get(found[0]) in (RAGGED_ROW, UNDECODABLE_ROW):
        batch.issues[found[0]] = TRUNCATED_ROW


class _Numbering:
    """Gives pyarrow's rows their record numbers around the invalid rows it skipped."""

    def __init__(self, width: int, invalid: _InvalidRows) -> None:
        self.width = width
        self.invalid = invalid
        self.next = 1
        self.blank = 0

    @property
    def last(self) -> int:
        """The number of the last record seen so far."""
        return max([self.next - 1, *self.invalid.pending])

    def batches(self, columns: list[pa.Array], check_undecodable: bool) -> Iterator[RowBatch]:
        """The batch of valid rows, then one of the invalid rows among them (if any)."""
        count = len(columns[0]) if columns else 0
        if not self.invalid.pending:
            numbers = pa.array(np.arange(self.next, self.next + count, dtype=np.int32))
            self.next += count
            skipped: list[int] = []
        else:
            assigned, skipped = [], []
            while len(assigned) < count:
                (skipped if self.next in self.invalid.pending else assigned).append(self.next)
                self.next += 1
            numbers = pa.array(assigned, pa.int32())
        blank = _blank_mask(columns)
        if blank is not None and pc.any(blank).as_py():
            keep = pc.invert(blank)
            self.blank += count - pc.sum(keep).as_py()
            columns = [pc.filter(c, keep) for c in columns]
            numbers = pc.filter(numbers, keep)
        batch = RowBatch(list(columns), numbers)
        if check_undecodable:
            batch.issues = dict.fromkeys(_rows_with(batch.columns, REPLACEMENT), UNDECODABLE_ROW)
        yield batch
        if skipped:
            yield self._invalid_batch(skipped)

    def _invalid_batch(self, numbers: list[int]) -> RowBatch:
        batcher = Batcher(self.width)
        for number in numbers:
            text = self.invalid.pending.pop(number)
            batcher.add(number, self.invalid.cells(text), UNDECODABLE_ROW if REPLACEMENT in text else RAGGED_ROW)
        return batcher.take(1) or RowBatch.from_rows([], [], self.width)

    def rest(self) -> Iterator[RowBatch]:
        """Invalid rows after the last valid one (a truncated or broken end of file)."""
        if self.invalid.pending:
            yield self._invalid_batch(sorted(self.invalid.pending))


def _tolerant_batches(stream: IO[bytes], layout: _CsvLayout, decoder: LineDecoder, notes: dict[str, str],
                      mode: str) -> Iterator[RowBatch]:
    """Python's csv module: slower, but reads what pyarrow refuses (a record larger than a block...)."""
    lines = text_lines(decoder, stream)
    for _ in range(layout.header_line):
        next(lines, None)
    pending: list[str] = []

    def tracked() -> Iterator[str]:
        for line in lines:
            pending.append(line)
            yield line

    reader = csv.reader(tracked(), delimiter=layout.delimiter)
    batcher = Batcher(len(layout.headers))
    number = 0
    while True:
        issue, extra = None, None
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a quote never closed swallowed lines beyond the field limit
            cells, issue, extra = [], UNPARSEABLE_ROW, {"_raw_text": "".join(pending), "_error": str(exc)}
        text = "".join(pending)
        pending.clear()
        if not cells and issue is None:  # an empty line: not a record
            continue
        number += 1
        if issue is None and is_blank(cells):
            batcher.blank += 1
            continue
        if (batch := batcher.take()) is not None:  # before adding: the last row stays for truncation
            yield batch
        batcher.add(number, cells, issue or (UNDECODABLE_ROW if REPLACEMENT in text else None), extra)
    last = batcher.take(1)
    if last is not None:
        _mark_truncated(last, decoder.final_newline, number)
        yield last
    notes.update(decoder.notes())
    blank_note(notes, batcher.blank)
