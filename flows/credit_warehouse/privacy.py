"""Where resident ID numbers may live, and a scanner proving they live nowhere else.

The restricted layer (engineers only, never shared) is ``RESTRICTED``: the inbox (files exactly as
departments delivered them) and the work warehouse (``raw`` keeps every value as delivered).
Everything else under the data home is analyst-facing and must carry ID numbers only masked
(``140***********37``) or as the keyed hash ``person_key``: the published warehouse, every file
under ``reports/`` (Great Expectations Data Docs and validation results, exports and pages other
modules add), dbt's artefacts, any other file.

``scan_home`` reads every file outside the restricted paths, by content type (DuckDB databases:
every column of every table; XLSX/ZIP: every member; Parquet; anything else as text in UTF-8 and
GB18030), maps full-width digits to ASCII, and reports every 18-character window that is one of
the ID numbers found in the raw layer (``raw_id_numbers``). It knows no file names besides the
restricted ones, so a report or export added later is covered without changing it.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from credit_warehouse.codes import mask_id_number, nfkc_forms, resident_id_problem, uscc_problem
from credit_warehouse.settings import Settings

# Paths relative to the data home; a directory entry covers everything below it.
RESTRICTED = ("inbox/", "warehouse/work.duckdb", "warehouse/work.duckdb.wal", "warehouse/work.duckdb.tmp/",
              "warehouse/.load.lock")
_WINDOW = re.compile(r"(?=([0-9]{17}[0-9X]))")  # every 18-character window, overlapping
_ID_SHAPE = r"[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]"
_DATABASE_SUFFIXES = (".duckdb", ".db", ".next")
_ZIP_SUFFIXES = (".xlsx", ".zip", ".docx", ".xlsm")


@dataclass(frozen=True)
class Finding:
    path: str  # relative to the data home
    where: str  # table.column, archive member, or "text"
    masked: str  # the ID number found, masked (the report itself must not leak it)


def is_restricted(relative: str) -> bool:
    return any(relative == entry.rstrip("/") or (entry.endswith("/") and relative.startswith(entry))
               for entry in RESTRICTED)


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", nfkc_forms(text)).upper()


def _text_columns(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = ? order by table_schema, table_name, ordinal_position", [catalog]).fetchall():
        found.setdefault((schema, table), []).append(column)
    return found


def raw_id_numbers(work_db: Path) -> set[str]:
    """Every valid resident ID number in the raw layer, in any column (valid USCCs excluded)."""
    con = duckdb.connect(str(work_db), read_only=True)
    try:
        columns = [c for c in _text_columns(con, con.execute("select current_database()").fetchone()[0])
                   .get(("raw", "feed_rows"), []) if c not in ("business_date", "row_number", "load_seq")]
        values = set()
        for column in columns:
            values.update(r[0] for r in con.execute(
                f'select distinct "{column}" from raw.feed_rows where regexp_matches("{column}", \'[0-9０-９]{{6}}\')'
            ).fetchall())
    finally:
        con.close()
    found = set()
    for value in values:
        for token in _WINDOW.findall(_normalised(value)):
            if re.fullmatch(_ID_SHAPE, token) and resident_id_problem(token) is None and uscc_problem(token):
                found.add(token)
    return found


def _hits(text: str, id_numbers: set[str]) -> set[str]:
    return {token for token in _WINDOW.findall(_normalised(text)) if token in id_numbers}


def _scan_database(path: Path, id_numbers: set[str]) -> Iterator[tuple[str, str]]:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{path}' as scanned (read_only)")
        for (schema, table), columns in _text_columns(con, "scanned").items():
            for column in columns:
                values = con.execute(
                    f'select distinct cast("{column}" as varchar) from scanned."{schema}"."{table}" '
                    f'where regexp_matches(cast("{column}" as varchar), \'[0-9０-９]{{6}}\')').fetchall()
                for (value,) in values:
                    for hit in _hits(value, id_numbers):
                        yield f"{schema}.{table}.{column}", hit
    finally:
        con.close()


def _scan_parquet(path: Path, id_numbers: set[str]) -> Iterator[tuple[str, str]]:
    con = duckdb.connect(":memory:")
    try:
        for row in con.execute(f"select * from read_parquet('{path}')").fetchall():
            for hit in _hits(" ".join(map(str, row)), id_numbers):
                yield "rows", hit
    finally:
        con.close()


def _decoded(data: bytes) -> str:
    # Both readings: an ID number is ASCII digits in UTF-8 and in GB18030 alike, but full-width
    # digits differ, and a file may be in either encoding.
    return data.decode("utf-8", errors="ignore") + "\n" + data.decode("gb18030", errors="ignore")


def _scan_zip(path: Path, id_numbers: set[str]) -> Iterator[tuple[str, str]]:
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            for hit in _hits(_decoded(archive.read(member)), id_numbers):
                yield member, hit


def scan_file(path: Path, id_numbers: set[str]) -> Iterator[tuple[str, str]]:
    """(location, ID number) for every raw ID number in the file's content."""
    with path.open("rb") as stream:
        head = stream.read(16)
    if path.suffix in _DATABASE_SUFFIXES or head.startswith(b"DUCK", 8):
        yield from _scan_database(path, id_numbers)
    elif path.suffix == ".parquet" or head.startswith(b"PAR1"):
        yield from _scan_parquet(path, id_numbers)
    elif path.suffix in _ZIP_SUFFIXES or head.startswith(b"PK\x03\x04"):
        yield from _scan_zip(path, id_numbers)
    else:
        for hit in _hits(_decoded(path.read_bytes()), id_numbers):
            yield "text", hit


def files_to_scan(home: Path) -> Iterable[Path]:
    for path in sorted(home.rglob("*")):
        if path.is_file() and not is_restricted(path.relative_to(home).as_posix()):
            yield path


def scan_home(settings: Settings, id_numbers: set[str] | None = None) -> tuple[list[Finding], list[str]]:
    """(findings, files scanned) for every file of the data home outside the restricted layer."""
    numbers = raw_id_numbers(settings.work_db) if id_numbers is None else id_numbers
    findings, scanned = [], []
    for path in files_to_scan(settings.home):
        relative = path.relative_to(settings.home).as_posix()
        scanned.append(relative)
        findings += [Finding(relative, where, mask_id_number(hit)) for where, hit in scan_file(path, numbers)]
    return findings, scanned
