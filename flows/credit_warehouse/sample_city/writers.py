"""Write one delivered file, streaming rows, with bytes that depend only on the content.

XLSX: openpyxl stamps the current time into docProps/core.xml and into every zip entry; both are
pinned here (the core properties to the business date, zip entries to 1980-01-01) so that the same
arguments give byte-identical workbooks.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import json
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.packaging.core import DocumentProperties
from openpyxl.writer.excel import ExcelWriter
from openpyxl.xml.functions import tostring

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
Row = Sequence[str]


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile whose entries all carry the same timestamp.

    openpyxl adds parts with ``writestr`` and write-only worksheets from a temporary file with ``write``.
    """

    def write(self, filename: Any, arcname: Any = None, compress_type: int | None = None,
              compresslevel: int | None = None) -> None:
        info = self._info(str(arcname or filename))
        # Streamed: a benchmark-sized sheet must not be read into memory at once.
        with open(filename, "rb") as source, self.open(info, "w", force_zip64=True) as target:
            shutil.copyfileobj(source, target, 1 << 20)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: int | None = None,
                 compresslevel: int | None = None) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        else:
            zinfo_or_arcname.date_time = ZIP_EPOCH
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)


def write_csv(path: Path, encoding: str, headers: Row, rows: Iterable[Row], crlf: bool) -> int:
    count = 0
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_json(path: Path, encoding: str, headers: Row, rows: Iterable[Row], total: int) -> int:
    """``{"total": n, "records": [{header: value}, ...]}``, all values strings, one record per line."""
    count = 0
    with path.open("w", encoding=encoding, newline="\n") as handle:
        handle.write(f'{{"total": {total}, "records": [')
        for row in rows:
            handle.write(("," if count else "") + "\n" + json.dumps(dict(zip(headers, row, strict=True)),
                                                                  ensure_ascii=False))
            count += 1
        handle.write("\n]}\n")
    if count != total:
        raise AssertionError(f"{path}: announced {total} records, wrote {count}")
    return count


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


@functools.cache
def _xlsx_template() -> tuple[tuple[str, bytes], ...]:
    """The parts openpyxl writes for a one-sheet write-only workbook, in its order."""
    workbook = Workbook(write_only=True)
    workbook.create_sheet("Sheet1")
    buffer = io.BytesIO()
    with _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    with zipfile.ZipFile(buffer) as archive:
        return tuple((info.filename, archive.read(info)) for info in archive.infolist())


def write_xlsx(path: Path, headers: Row, rows: Iterable[Row], business_date: dt.date, author: str) -> int:
    """Header in row 1, every value a string (openpyxl's inline strings), blanks as empty cells.

    The package parts come from openpyxl; the sheet data is streamed in the same XML that openpyxl's
    write-only mode emits, because openpyxl itself writes ~5,000 rows/s and would dominate generation.
    """
    stamp = dt.datetime.combine(business_date, dt.time(18, 0))
    core = tostring(DocumentProperties(creator=author, lastModifiedBy=author, created=stamp,
                                       modified=stamp).to_tree())
    columns = [_column(i) for i in range(len(headers))]
    count = 0
    with _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, data in _xlsx_template():
            if name == "docProps/core.xml":
                archive.writestr(name, core)
            elif name.startswith("xl/worksheets/sheet"):
                head, tail = data.split(b"<sheetData></sheetData>")
                with archive.open(archive._info(name), "w", force_zip64=True) as target:
                    target.write(head + b"<sheetData>")
                    chunk: list[str] = []
                    for number, row in enumerate(itertools.chain([headers], rows), start=1):
                        cells = "".join(
                            f'<c r="{col}{number}" t="inlineStr"><is><t>{_escape(value)}</t></is></c>'
                            for col, value in zip(columns, row, strict=True) if value)
                        chunk.append(f'<row r="{number}">{cells}</row>')
                        if len(chunk) >= 512:
                            target.write("".join(chunk).encode())
                            chunk.clear()
                    target.write("".join(chunk).encode() + b"</sheetData>" + tail)
                    count = number - 1
            else:
                archive.writestr(name, data)
    return count


def write_table(path: Path, file_format: str, encoding: str, headers: Row, rows: Iterable[Row], total: int,
                crlf: bool, business_date: dt.date, author: str) -> int:
    """Write ``rows`` (exactly ``total`` of them) in the feed's format; returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "csv":
        return write_csv(path, encoding or "utf-8", headers, rows, crlf)
    if file_format == "json":
        return write_json(path, encoding or "utf-8", headers, rows, total)
    if file_format == "xlsx":
        return write_xlsx(path, headers, rows, business_date, author)
    raise ValueError(f"unsupported file format {file_format!r}")
