"""Land delivered files into the append-only raw layer, one transaction per file.

Each row keeps its load id, file hash and row number, with every value as text. A file whose bytes
were already landed is recorded as a re-delivery and not landed again, which makes re-runs and
duplicate deliveries no-ops.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from credit_warehouse.catalogue import Catalogue, normalize_header
from credit_warehouse.inbox import InboxFile
from credit_warehouse.readers import FileRejected, ParsedFile, read_file
from credit_warehouse.warehouse import RAW_META_COLUMNS


@dataclass(frozen=True)
class LandingResult:
    source_file: str
    outcome: str  # landed | already_loaded | duplicate_delivery | rejected
    file_sha256: str | None
    department_code: str | None
    category_code: str | None
    business_date: dt.date | None
    rows_in: int | None
    load_id: str | None = None
    reason_code: str | None = None
    reason_detail: str | None = None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_id_for(business_date: dt.date, sha: str) -> str:
    """Deterministic: the same file always gets the same load id, whichever run lands it."""
    return f"L{business_date:%Y%m%d}-{sha[:12]}"


def _map_columns(parsed: ParsedFile, header_map: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Split columns into catalogue fields and extra columns (kept, never dropped)."""
    fields: dict[str, int] = {}
    extras: dict[str, int] = {}
    for index, header in enumerate(parsed.headers):
        field = header_map.get(normalize_header(header))
        if field and field not in fields:
            fields[field] = index
        else:
            name = header or f"column_{index + 1}"
            while name in extras:  # duplicate or unknown headers keep their values under a unique name
                name += "_dup"
            extras[name] = index
    return fields, extras


def _arrow_rows(item: InboxFile, parsed: ParsedFile, catalogue: Catalogue, sha: str, load_id: str,
                load_seq: int) -> tuple[pa.Table, list[str]]:
    fields, extras = _map_columns(parsed, catalogue.header_map(item.category_code or ""))
    width = len(parsed.headers)
    n = len(parsed.rows)

    def cell(row: list[str | None], index: int) -> str | None:
        return row[index] if index < len(row) else None

    columns: dict[str, pa.Array] = {
        "load_id": pa.array([load_id] * n, pa.string()),
        "load_seq": pa.array([load_seq] * n, pa.int64()),
        "file_sha256": pa.array([sha] * n, pa.string()),
        "source_file": pa.array([item.relative] * n, pa.string()),
        "row_number": pa.array(range(1, n + 1), pa.int32()),
        "department_code": pa.array([item.department_code] * n, pa.string()),
        "category_code": pa.array([item.category_code] * n, pa.string()),
        "record_layout": pa.array([catalogue.categories[item.category_code or ""].layout] * n, pa.string()),
        "business_date": pa.array([item.business_date] * n, pa.date32()),
    }
    for name in catalogue.all_fields:
        index = fields.get(name)
        columns[name] = pa.array([cell(r, index) for r in parsed.rows] if index is not None else [None] * n,
                                 pa.string())
    extra_values = []
    for row in parsed.rows:
        extra = {name: cell(row, i) for name, i in extras.items()}
        if len(row) > width:  # ragged row: keep the overflow values rather than losing them
            extra["_overflow"] = row[width:]
        extra_values.append(json.dumps(extra, ensure_ascii=False) if extra else None)
    columns["extra_fields"] = pa.array(extra_values, pa.string())
    assert set(RAW_META_COLUMNS) <= set(columns)
    return pa.table(columns), sorted(extras)


def _record_delivery(con: duckdb.DuckDBPyConnection, run_id: str, result: LandingResult) -> None:
    con.execute(
        "insert into raw.deliveries values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [run_id, result.source_file, result.file_sha256, result.business_date, result.department_code,
         result.category_code, result.outcome, result.reason_code, result.reason_detail, result.rows_in])


def _already_landed(con: duckdb.DuckDBPyConnection, item: InboxFile, sha: str) -> LandingResult | None:
    rows = con.execute("select source_file, load_id, rows_in from raw.files where file_sha256 = ?",
                       [sha]).fetchall()
    if not rows:
        return None
    found = rows[0]
    same_path = found[0] == item.relative
    return LandingResult(item.relative, "already_loaded" if same_path else "duplicate_delivery", sha,
                         item.department_code, item.category_code, item.business_date, found[2], found[1],
                         None if same_path else "duplicate_file", None if same_path else f"same bytes as {found[0]}")


def land_file(con: duckdb.DuckDBPyConnection, item: InboxFile, catalogue: Catalogue,
              run_id: str) -> LandingResult:
    """Land one inbox file atomically and return what happened to it."""
    data = item.path.read_bytes()
    sha = sha256_of(data)
    base = dict(source_file=item.relative, file_sha256=sha, department_code=item.department_code,
                category_code=item.category_code, business_date=item.business_date)
    if not item.recognised:
        result = LandingResult(**base, outcome="rejected", rows_in=None, reason_code=item.problem,
                               reason_detail="file name or feed not in the inbox contract / feed registry")
    elif (previous := _already_landed(con, item, sha)) is not None:
        result = previous
    else:
        try:
            parsed = read_file(item.path, item.file_format or "", set(catalogue.header_map(item.category_code or "")))
        except FileRejected as exc:
            result = LandingResult(**base, outcome="rejected", rows_in=None, reason_code=exc.reason_code,
                                   reason_detail=exc.detail)
        else:
            result = _insert(con, item, parsed, catalogue, sha, run_id)
            return result
    con.execute("begin transaction")
    _record_delivery(con, run_id, result)
    con.execute("commit")
    return result


def _insert(con: duckdb.DuckDBPyConnection, item: InboxFile, parsed: ParsedFile, catalogue: Catalogue,
            sha: str, run_id: str) -> LandingResult:
    assert item.business_date is not None
    load_id = load_id_for(item.business_date, sha)
    con.execute("begin transaction")
    try:
        load_seq = con.execute("select coalesce(max(load_seq), 0) + 1 from raw.files").fetchall()[0][0]
        table, extras = _arrow_rows(item, parsed, catalogue, sha, load_id, load_seq)
        con.register("landing_batch", table)
        con.execute("insert into raw.feed_rows by name select * from landing_batch")
        con.unregister("landing_batch")
        con.execute(
            "insert into raw.files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
            [sha, load_id, load_seq, item.relative, item.department_code, item.category_code,
             item.business_date, item.file_format, parsed.encoding, parsed.header_row, len(parsed.rows),
             json.dumps(extras, ensure_ascii=False) if extras else None])
        result = LandingResult(item.relative, "landed", sha, item.department_code, item.category_code,
                               item.business_date, len(parsed.rows), load_id,
                               reason_detail="; ".join(parsed.notes) or None)
        _record_delivery(con, run_id, result)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result
