"""XLSX: python-calamine (Rust) reads the first worksheet; title rows skipped, merged cells filled.

The rows are exactly those of openpyxl's streaming reader, which read XLSX here before (~15x slower
than calamine; a landed file must not change with the library): same row numbers, row lengths, values
as text. The two libraries read some cells differently: calamine turns error values (#N/A) and empty
strings into empty cells, unescapes ``_x000D_``, trims unpreserved spaces, reads every number as a
float (an 18-digit ID number loses its last digits; openpyxl reads an integer exactly), treats the CJK
built-in number formats 27-36 and 50-58 as dates, converts out-of-range dates, times and durations its
own way, and ignores the sheet's ``<dimension>`` that openpyxl's row lengths follow. So ``_plan`` scans
the package first (the sheet XML streamed, as the merged-range scan did before) and leaves to openpyxl
any file where calamine could differ; a value calamine may have read differently makes openpyxl read
the rest of the sheet (``_Switch``). Those files are as slow as before.

Memory: calamine holds the whole first sheet (in Rust; rows become Python lists one by one), so a sheet
beyond ``_CALAMINE_XML_LIMIT`` is left to openpyxl's streaming reader.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook

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
_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"')
_ROW = re.compile(rb'<row(?=[\s>/])\s*(?:r="([0-9]+)")?')  # every row element; its number if first
_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")
# The markers are looked for in the XML with its whitespace as NUL bytes (fewer markers, each a pass).
_BLANKS = bytes.maketrans(b" \t\r\n", b"\0\0\0\0")
# Values calamine reads differently: error values and ISO dates; empty strings ("" for openpyxl, an empty
# cell for calamine); ``_SPACED``: spaces around a number (openpyxl parses it, calamine keeps the text) or
# at either end of a text without xml:space="preserve" (calamine trims them).
_ODD = (b't="e"', b't="d"', b"></t>", b"<is></is>")
_ODD_STRINGS = (b"></t>", b"<si></si>")  # in the shared strings part
_SPACED = re.compile(rb"\0(?:(?=</[tv]>)|(?<=<[tv]>\0))")
_EMPTY = re.compile(rb'/>(?:(?<=<t/>)|(?<=<t\0/>)|(?<=<is/>)|(?<=<si/>)|(?<=preserve"/>))')
# Cells without a value: without a dimension openpyxl ends a row at its last cell element, calamine at
# its last value.
_VALUELESS = (b'"></c>', b"<c></c>", b"</f></c>", b"<v></v>")
_VALUELESS_CLOSED = re.compile(rb'/>(?:(?<="/>)(?=<c[\0>]|</row>)|(?<=<v/>)|(?<=<v\0/>))')
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MAX_EXACT = 2.0 ** 53  # from here on a float may have lost digits of the integer openpyxl reads exactly
_DATE_SERIALS = (-693593.0, 2958465.0)  # 0001-01-01 .. 9999-12-31: openpyxl gives "#VALUE!" beyond
_PIECE_LIMIT = 16 << 20  # bytes of XML without a row end: left to openpyxl
_PROBE_LIMIT = 4096  # cell formats probed; a styles part with more is left to openpyxl
# calamine holds the whole sheet (~1.7 bytes a byte of sheet XML, 136 MB of XML for 200,000 rows of 11
# columns): a bigger sheet is left to openpyxl's streaming reader, whose memory stays bounded.
_CALAMINE_XML_LIMIT = 256 << 20


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
    return _ranges(found)


def _ranges(found: set[tuple[bytes, ...]]) -> list[tuple[int, int, int, int]]:
    return sorted((int(r1), _column_number(c1), int(r2), _column_number(c2)) for c1, r1, c2, r2 in found)


def _pieces(archive: zipfile.ZipFile, name: str, end: bytes) -> Iterator[bytes]:
    """The part in blocks cut after an ``end`` tag, so that no element searched for is split."""
    rest = b""
    with archive.open(name) as xml:
        while chunk := xml.read(1 << 20):
            data = rest + chunk
            found = data.rfind(end, max(0, len(rest) - len(end)))  # ``rest`` holds no end tag
            if found < 0:
                if len(data) > _PIECE_LIMIT:
                    raise ValueError(f"no {end!r} in {len(data)} bytes of {name}")
                rest = data
                continue
            yield data[:found + len(end)]
            rest = data[found + len(end):]
    if rest:
        yield rest


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


class _Switch(Exception):
    """A value calamine may read differently from openpyxl: openpyxl reads the rest of the sheet."""


def _calamine_text(value: Any, dates: bool) -> str | None:
    """``_cell_text`` of the value openpyxl reads, from calamine's (``dates``: the sheet uses date formats)."""
    kind = value.__class__
    if kind is str:
        return value or None
    if kind is float:
        if -_MAX_EXACT < value < _MAX_EXACT and not (dates and not _DATE_SERIALS[0] <= value <= _DATE_SERIALS[1]):
            return str(int(value)) if value.is_integer() else str(value)
    elif kind is bool or kind is int or kind is dt.date:
        return str(value)
    elif kind is dt.datetime and not value.microsecond:
        return _cell_text(value)
    # Times, durations, fractions of seconds (rounded differently), dates out of openpyxl's range.
    raise _Switch(repr(value))


@dataclass
class _Plan:
    """How openpyxl lays out the first worksheet, from a scan of the package (calamine reads the values)."""

    sheet: str
    width: int | None  # every row's length: the <dimension>'s last column; None: a row ends at its last cell
    last_row: int  # rows openpyxl yields: 1 .. last_row
    dates: bool  # cells in date formats: a number out of the date range is read differently
    merged: list[tuple[int, int, int, int]]


class _Fallback(Exception):
    """The package holds something calamine reads differently: openpyxl reads the file."""


def _plan(path: Path) -> _Plan | None:
    """How calamine's values become openpyxl's rows; None: openpyxl reads the file (``_Fallback``, or a broken
    package that openpyxl rejects as before)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _scan(archive)
    except Exception:  # noqa: BLE001
        return None


def _part(base: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))


def _scan(archive: zipfile.ZipFile) -> _Plan:
    names = set(archive.namelist())
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relations = {r.get("Id"): r for r in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))}
    properties = workbook.find("m:workbookPr", _NS)
    if properties is not None and properties.get("date1904") not in (None, "0", "false"):
        raise _Fallback("1904 date system")
    # openpyxl's worksheets[0]: the first sheet with a relation to an existing part that is not a chart sheet.
    sheet_name = sheet_path = None
    for sheet in workbook.iterfind("m:sheets/m:sheet", _NS):
        relation = relations.get(sheet.get(_REL_ID))
        if sheet.get(_REL_ID) and relation is not None and _part("xl", relation.get("Target", "")) in names:
            if "chartsheet" in relation.get("Type", ""):
                continue
            if not relation.get("Type", "").endswith("/worksheet"):
                raise _Fallback("first sheet is not a worksheet")
            sheet_name, sheet_path = sheet.get("name"), _part("xl", relation.get("Target", ""))
            break
    if sheet_name is None or sheet_path is None:
        raise _Fallback("no worksheet")
    if archive.getinfo(sheet_path).file_size > _CALAMINE_XML_LIMIT:
        raise _Fallback("a sheet too big to hold in memory")
    # openpyxl finds the shared strings through the content types, calamine through the relations.
    strings = [_part("xl", r.get("Target", "")) for r in relations.values()
               if r.get("Type", "").endswith("/sharedStrings")]
    if strings != (["xl/sharedStrings.xml"] if b'"/xl/sharedStrings.xml"' in archive.read("[Content_Types].xml")
                   else []):
        raise _Fallback("shared strings part")
    if strings:
        _scan_strings(archive, strings[0])
    odd_formats, date_formats = _style_kinds(archive.read("xl/styles.xml")) if "xl/styles.xml" in names \
        else (frozenset(), frozenset())
    return _scan_sheet(archive, sheet_name, sheet_path, odd_formats, date_formats)


def _odd_text(piece: bytes, blanked: bytes, odd: tuple[bytes, ...] = _ODD) -> str | None:
    """What calamine reads differently from openpyxl in ``piece`` (``blanked``: its whitespace as NUL)."""
    if b"_x" in piece and _ESCAPE.search(piece):
        return "_xHHHH_ escape (calamine unescapes it)"
    if any(marker in blanked for marker in odd) or b"/>" in blanked and _EMPTY.search(blanked):
        return "error value, ISO date or empty string"
    spaced = b"\0</" in blanked or b">\0" in blanked
    for space in _SPACED.finditer(blanked) if spaced else ():
        at = space.start()
        if blanked[at + 1:at + 4] != b"</t" or blanked.startswith(b"<t>", blanked.rfind(b"<", 0, at)):
            return "space around a number or an unpreserved text"
    if b"<t\0" in blanked and blanked.count(b"<t\0") != blanked.count(b'<t\0xml:space="preserve">'):
        return "text attributes"
    return None


def _scan_strings(archive: zipfile.ZipFile, name: str) -> None:
    for piece in _pieces(archive, name, b"</si>"):
        if reason := _odd_text(piece, piece.translate(_BLANKS), _ODD_STRINGS):
            raise _Fallback(f"shared strings: {reason}")


def _scan_sheet(archive: zipfile.ZipFile, sheet: str, path: str, odd_formats: frozenset[int],
                date_formats: frozenset[int]) -> _Plan:
    """Rows, row lengths and merged ranges as openpyxl sees them; ``_Fallback`` where calamine differs."""
    if 0 in odd_formats:  # cells without a style attribute use cell format 0
        raise _Fallback("cell format 0 read differently")
    odd = [b'\0s="%d"' % i for i in odd_formats]
    dated = [b'\0s="%d"' % i for i in date_formats]
    dates = 0 in date_formats
    dimension: tuple[int, int] | None = None
    last = 0  # the last <row> element
    merged: set[tuple[bytes, ...]] = set()
    for number, piece in enumerate(_pieces(archive, path, b"</row>")):
        if number == 0:
            head = piece[:piece.find(b"<sheetData")]
            if b"<sheetData" not in piece or b"<worksheet" not in head:
                raise _Fallback("sheet data not found (namespace prefixes?)")
            if b"<dimension" in head:
                found = _DIMENSION.search(head)
                if found is None:
                    raise _Fallback("unusual dimension")
                dimension = (_column_number(found[3] or found[1]), int(found[4] or found[2]))
        blanked = piece.translate(_BLANKS)
        if reason := _odd_text(piece, blanked):
            raise _Fallback(reason)
        if dimension is None and (any(marker in blanked for marker in _VALUELESS) or
                                  b"/>" in blanked and _VALUELESS_CLOSED.search(blanked)):
            raise _Fallback("a cell without a value and no dimension")
        if any(marker in blanked for marker in odd):
            raise _Fallback("a number format read differently")
        if not dates and any(marker in blanked for marker in dated):
            dates = True
        found_rows = _ROW.findall(piece)
        if b"" in found_rows:
            raise _Fallback("a row without a leading r attribute")
        rows = [int(r) for r in found_rows]
        if rows:
            # openpyxl drops a row numbered below or as the one before; calamine places it.
            if rows[0] <= last or rows != sorted(set(rows)):
                raise _Fallback("rows out of order")
            last = rows[-1]
        if b"mergeCell" in piece:
            merged.update(_MERGE.findall(piece))
    width, height = dimension if dimension else (None, last)
    return _Plan(sheet, width, min(last, height), dates, _ranges(merged))  # openpyxl stops at the dimension


@functools.lru_cache(maxsize=64)
def _style_kinds(styles: bytes) -> tuple[frozenset[int], frozenset[int]]:
    """(cell formats whose numbers calamine reads differently from openpyxl, cell formats openpyxl reads as
    dates) of a styles part: a probe workbook with a date serial in every cell format, read by both. They
    classify number formats differently (calamine: the CJK built-in date formats 27-36 and 50-58 are
    dates, openpyxl: numbers)."""
    from openpyxl import load_workbook

    formats = ElementTree.fromstring(styles).find("m:cellXfs", _NS)
    count = 0 if formats is None else len(formats)
    if count > _PROBE_LIMIT:
        raise _Fallback(f"{count} cell formats")
    cells = "".join(f'<row r="{i + 1}"><c r="A{i + 1}" s="{i}"><v>45293</v></c>'
                    f'<c r="B{i + 1}" s="{i}"><v>45293.25</v></c></row>' for i in range(count))
    probe = _probe_workbook(styles, cells)
    book = load_workbook(io.BytesIO(probe), read_only=True, data_only=True)
    try:
        expected = [[_kind(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    with CalamineWorkbook.from_filelike(io.BytesIO(probe)) as calamine:
        found = [[_kind(v) for v in row]
                 for row in calamine.get_sheet_by_index(0).to_python(skip_empty_area=False)]
    odd = {i for i in range(count) if i >= len(found) or i >= len(expected) or expected[i] != found[i]}
    dated = {i for i in range(count) if i < len(expected) and expected[i] != ["number"] * 2}
    return frozenset(odd), frozenset(dated)


def _kind(value: object) -> str:
    if isinstance(value, int | float):
        return "number"
    return "duration" if isinstance(value, dt.timedelta) else "date"


def _probe_workbook(styles: bytes, cells: str) -> bytes:
    main = _NS["m"]
    relation = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    types = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{types}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{types}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{types}.styles+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{_NS["p"]}"><Relationship Id="rId1" '
        f'Type="{relation}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{relation}"><sheets>'
        '<sheet name="probe" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_NS["p"]}">'
        f'<Relationship Id="rId1" Type="{relation}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{relation}/styles" Target="styles.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{cells}</sheetData></worksheet>',
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        archive.writestr("xl/styles.xml", styles)
    return buffer.getvalue()


class _SheetRows:
    """The first worksheet's rows as lists of text (None: no value), as openpyxl's streaming reader gave
    them; ``merged`` are its merged ranges. ``close()`` closes the workbooks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.books: list[Any] = []
        plan = _plan(path)
        sheet = None
        if plan is not None:
            try:
                book = CalamineWorkbook.from_path(path)
                self.books.append(book)
                sheet = book.get_sheet_by_name(plan.sheet)
                end = sheet.end  # values beyond the dimension: openpyxl drops them
                if end is not None and (end[0] >= plan.last_row or plan.width is not None and end[1] >= plan.width):
                    sheet = None
            except BaseException as exc:  # noqa: BLE001 - a calamine error or panic: openpyxl reads the file
                _reraise_interrupt(exc)
                sheet = None
        if plan is not None and sheet is not None:
            self.merged = plan.merged
            self.rows: Iterator[list[str | None]] = self._calamine(sheet, plan)
            return
        try:
            book, worksheet = self._openpyxl()
            self.merged = _merged_ranges(book._archive, worksheet._worksheet_path)
        except Exception:
            self.close()
            raise
        self.rows = self._openpyxl_rows(worksheet, 0)

    def _openpyxl(self) -> tuple[Any, Any]:
        from openpyxl import load_workbook

        book = load_workbook(self.path, read_only=True, data_only=True)
        self.books.append(book)
        return book, book.worksheets[0]

    @staticmethod
    def _openpyxl_rows(worksheet: Any, skip: int) -> Iterator[list[str | None]]:
        for values in itertools.islice(worksheet.iter_rows(values_only=True), skip, None):
            yield [_cell_text(v) for v in values]

    def _calamine(self, sheet: Any, plan: _Plan) -> Iterator[list[str | None]]:
        width, dates, done = plan.width, plan.dates, 0
        start = sheet.start
        try:
            if start is not None:
                pad = [None] * start[1]  # calamine's rows begin at the first used column
                for values in sheet.iter_rows():  # rows above the first used one come as empty rows
                    row = pad + [(v or None) if v.__class__ is str else _calamine_text(v, dates) for v in values]
                    if width is None:
                        while row and row[-1] is None:
                            row.pop()
                    elif len(row) < width:
                        row += [None] * (width - len(row))
                    yield row
                    done += 1
        except BaseException as exc:  # noqa: BLE001 - _Switch, or calamine failing on a value
            _reraise_interrupt(exc)
            yield from self._openpyxl_rows(self._openpyxl()[1], done)
            return
        for _ in range(done, plan.last_row):  # trailing rows without values: openpyxl yields them
            yield [None] * (width or 0)

    def close(self) -> None:
        for book in self.books:
            book.close()
        self.books = []


def _reraise_interrupt(exc: BaseException) -> None:
    """Re-raise what is not a reading error (calamine's panics derive from BaseException)."""
    if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
        raise exc


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
    sheet = None
    try:
        sheet = _SheetRows(path)
        filler = _MergeFiller(sheet.merged)
        rows = (filler.fill(n, values) for n, values in enumerate(sheet.rows, start=1))
        head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    except Exception as exc:  # openpyxl raises many types for broken archives
        if sheet is not None:
            sheet.close()
        raise FileRejected("unreadable_xlsx", f"{type(exc).__name__}: {exc}") from exc
    if not head or all(is_blank(r) for r in head):
        sheet.close()
        raise FileRejected("empty_file", "the workbook's first sheet holds no header and no rows")
    index, score = best_header(head, known)
    if score == 0:
        sheet.close()
        raise unrecognised(f"in the first {HEADER_SEARCH_ROWS} rows of the first sheet")
    headers = header_cells(head[index])
    notes = {"title_rows_skipped": f"{index} title row(s) above the header skipped"} if index else {}
    data = itertools.chain(head[index + 1:], rows)
    return TableStream(headers, _xlsx_batches(sheet, data, len(headers), notes, filler), None, index + 1, notes)


def _xlsx_batches(sheet: _SheetRows, rows: Iterator[list[Any]], width: int, notes: dict[str, str],
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
        sheet.close()
    if filler.filled:
        notes["merged_cells_filled"] = f"{filler.filled} cell(s) of merged ranges given the merged value"
    blank_note(notes, batcher.blank)
    if (batch := batcher.take(1)) is not None:
        yield batch
