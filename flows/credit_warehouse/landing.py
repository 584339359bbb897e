"""Land delivered files into the append-only raw layer, one transaction per file, streaming.

Each row keeps its load id, file hash and row number, with every value as text. A file is read in
batches (``readers.BATCH_ROWS``) that go to DuckDB as Arrow tables inside the file's single
transaction, so memory stays bounded and a crash leaves either the whole file or nothing. A file
whose bytes were already landed is recorded as a re-delivery and not landed again, which makes
re-runs and duplicate deliveries no-ops.

What landing noticed about a landed file (``LandingResult.notes``: missing or unknown columns,
title rows, encoding...) is recorded with the delivery; rows that could not be read properly carry
``raw.feed_rows.row_issue`` and are quarantined by validation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from credit_warehouse import faults
from credit_warehouse.catalogue import Catalogue, normalize_header
from credit_warehouse.inbox import InboxFile
from credit_warehouse.readers import READ_MODES, FileRejected, ReadAgain, RowBatch, TableStream, open_table
from credit_warehouse.validation.expressions import literal

HASH_BLOCK = 1 << 20
# DuckDB's buffer memory while landing: a large file's uncommitted rows spill to the database file
# (optimistic writes) instead of growing the process; raised for a city-scale backfill if needed.
LANDING_MEMORY_LIMIT = "512MB"
ENCODING_FAMILY = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gb18030", "gb2312": "gb18030",
                   "gb18030": "gb18030"}


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
    reason_code: str | None = None  # rejected: why; landed: the note codes, comma-separated
    reason_detail: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ColumnMap:
    """Which file column feeds which catalogue field; every other column is kept as an extra."""

    fields: dict[str, int]
    extras: dict[str, int]
    duplicates: list[str]
    unknown: list[str]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def load_id_for(business_date: dt.date, sha: str) -> str:
    """Deterministic: the same file always gets the same load id, whichever run lands it."""
    return f"L{business_date:%Y%m%d}-{sha[:12]}"


def map_columns(headers: list[str], header_map: dict[str, str]) -> ColumnMap:
    """Split columns into catalogue fields and extra columns (kept, never dropped).

    A repeated header feeds the field once (its first column); the repeat is kept as an extra.
    """
    fields: dict[str, int] = {}
    extras: dict[str, int] = {}
    duplicates, unknown = [], []
    for index, header in enumerate(headers):
        field_name = header_map.get(normalize_header(header))
        if field_name and field_name not in fields:
            fields[field_name] = index
            continue
        (duplicates if field_name else unknown).append(header or f"column_{index + 1}")
        name = header or f"column_{index + 1}"
        while name in extras:  # duplicate or unknown headers keep their values under a unique name
            name += "_dup"
        extras[name] = index
    return ColumnMap(fields, extras, duplicates, unknown)


def _insert_sql(columns: ColumnMap, catalogue: Catalogue) -> str:
    """Batch columns c0..cN -> raw.feed_rows; constants of the file are parameters."""
    targets = ["load_id", "load_seq", "file_sha256", "source_file", "department_code", "category_code",
               "record_layout", "business_date"]
    values = ["?"] * len(targets)
    targets += ["row_number", "row_issue"]
    values += ["row_number", "row_issue"]
    for name in catalogue.all_fields:
        if name in columns.fields:
            targets.append(name)
            values.append(f"c{columns.fields[name]}")
    # Extra columns become one JSON object, built by DuckDB; rows with reader extras (overflow of a
    # ragged row, raw text of an unparseable one) carry their whole object, built in Python.
    pairs = ", ".join(f"{literal(name)}, c{index}" for name, index in columns.extras.items())
    base = f"json_object({pairs})::varchar" if pairs else "null"
    targets.append("extra_fields")
    values.append(f"coalesce(row_extra, {base})")
    return (f"insert into raw.feed_rows ({', '.join(targets)}) select {', '.join(values)} "
            "from landing_batch")


def _batch_table(batch: RowBatch, columns: ColumnMap) -> pa.Table:
    n = len(batch)
    arrays = {f"c{i}": column for i, column in enumerate(batch.columns)}
    arrays["row_number"] = batch.row_numbers
    arrays["row_issue"] = (pa.array([batch.issues.get(i) for i in range(n)], pa.string()) if batch.issues
                           else pa.nulls(n, pa.string()))
    extra: list[str | None] = [None] * n
    for index, kept in batch.extra.items():
        values = {name: batch.columns[i][index].as_py() for name, i in columns.extras.items()}
        extra[index] = json.dumps({**values, **kept}, ensure_ascii=False, default=str)
    arrays["row_extra"] = pa.array(extra, pa.string())
    return pa.table(arrays)


def _guarded(batches: Iterator[RowBatch]) -> Iterator[RowBatch]:
    """A reader failure (not a warehouse one) rejects this file only; the other feeds go on."""
    try:
        yield from batches
    except (FileRejected, ReadAgain):
        raise
    except Exception as exc:  # noqa: BLE001 - any parser error is this file's problem
        raise FileRejected("unreadable_file", f"{type(exc).__name__}: {exc}") from exc


_DONE = object()


def _prefetched(batches: Iterator[RowBatch], depth: int = 2) -> Iterator[RowBatch]:
    """The batches, read ahead in a thread while DuckDB inserts the current one.

    pyarrow's parser and DuckDB's insert both release the GIL, so reading and inserting overlap
    (~1.5x on 2 cores); at most ``depth`` batches wait in the queue, so memory stays bounded.
    Errors of the reader (FileRejected, ReadAgain...) are raised here, in the landing thread.
    """
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not hand_over(batch):
                    return
            hand_over(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the landing thread
            hand_over(exc)
        finally:
            batches.close()  # type: ignore[attr-defined]

    reader = threading.Thread(target=produce, name="landing-reader", daemon=True)
    reader.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join()


def _open(item: InboxFile, known: set[str], stream: Any, mode: str) -> TableStream:
    try:
        return open_table(item.path, item.file_format or "", known, stream, mode)
    except (FileRejected, ReadAgain):
        raise
    except Exception as exc:  # noqa: BLE001
        raise FileRejected("unreadable_file", f"{type(exc).__name__}: {exc}") from exc


def _notes(item: InboxFile, table: TableStream, columns: ColumnMap, catalogue: Catalogue,
           rows_in: int) -> dict[str, str]:
    notes = dict(table.notes)
    if rows_in == 0:
        notes["no_data_rows"] = "the file holds a header but no data rows"
    required = [s for s in catalogue.fields_of(item.category_code or "") if s.requirement == "required"]
    missing = [s.header_zh for s in required if s.field not in columns.fields]
    if missing:
        notes["missing_required_columns"] = "no column for " + "、".join(missing) + " (its rows fail validation)"
    if columns.unknown:
        notes["unknown_columns"] = "kept in extra_fields: " + "、".join(columns.unknown)
    if columns.duplicates:
        notes["duplicate_headers"] = ("repeated header(s), the first column is used, the repeat kept in "
                                      "extra_fields: " + "、".join(columns.duplicates))
    feed = catalogue.feeds.get((item.department_code or "", item.category_code or ""))
    registered = ENCODING_FAMILY.get((feed.encoding if feed else "") or "")
    found = ENCODING_FAMILY.get(table.encoding or "", table.encoding)
    if registered and table.encoding and found != registered:
        notes["encoding_not_as_registered"] = f"registered {feed.encoding if feed else ''}, delivered {table.encoding}"
    return notes


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Settings of a landing connection: bounded memory, and half the cores for DuckDB's inserts
    (the reader thread parses with the other half; measured ~15% less CPU than all cores on 2)."""
    con.execute(f"set memory_limit = '{LANDING_MEMORY_LIMIT}'")
    con.execute(f"set threads = {max(1, (os.cpu_count() or 2) // 2)}")


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
    sha = file_sha256(item.path)
    base = dict(source_file=item.relative, file_sha256=sha, department_code=item.department_code,
                category_code=item.category_code, business_date=item.business_date)
    if not item.recognised:
        result = LandingResult(**base, outcome="rejected", rows_in=None, reason_code=item.problem,
                               reason_detail="file name or feed not in the inbox contract / feed registry")
    elif (previous := _already_landed(con, item, sha)) is not None:
        result = previous
    else:
        try:
            return _insert(con, item, catalogue, sha, run_id)
        except FileRejected as exc:
            result = LandingResult(**base, outcome="rejected", rows_in=None, reason_code=exc.reason_code,
                                   reason_detail=exc.detail)
    con.execute("begin transaction")
    _record_delivery(con, run_id, result)
    con.execute("commit")
    return result


def _insert(con: duckdb.DuckDBPyConnection, item: InboxFile, catalogue: Catalogue, sha: str,
            run_id: str) -> LandingResult:
    """Land the file with the fastest read mode that can read it (a failed mode rolls back)."""
    mode = READ_MODES[0]
    while True:
        try:
            return _insert_with(con, item, catalogue, sha, run_id, mode)
        except ReadAgain as again:
            mode = again.mode


def _insert_with(con: duckdb.DuckDBPyConnection, item: InboxFile, catalogue: Catalogue, sha: str,
                 run_id: str, mode: str) -> LandingResult:
    assert item.business_date is not None and item.category_code is not None
    header_map = catalogue.header_map(item.category_code)
    load_id = load_id_for(item.business_date, sha)
    with item.path.open("rb") as stream:
        table = _open(item, set(header_map), stream, mode)
        columns = map_columns(table.headers, header_map)
        sql = _insert_sql(columns, catalogue)
        con.execute("begin transaction")
        try:
            load_seq = con.execute("select coalesce(max(load_seq), 0) + 1 from raw.files").fetchall()[0][0]
            constants = [load_id, load_seq, sha, item.relative, item.department_code, item.category_code,
                         catalogue.categories[item.category_code].layout, item.business_date]
            rows_in = 0
            for batch in _prefetched(_guarded(table.batches)):
                # Read by DuckDB's replacement scan of this local; con.register() would pin every
                # batch's Arrow buffers until commit (memory growing with the file).
                landing_batch = _batch_table(batch, columns)  # noqa: F841
                con.execute(sql, constants)
                rows_in += len(batch)
            notes = _notes(item, table, columns, catalogue, rows_in)
            con.execute(
                "insert into raw.files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
                [sha, load_id, load_seq, item.relative, item.department_code, item.category_code,
                 item.business_date, item.file_format, table.encoding, table.header_row, rows_in,
                 json.dumps(sorted(columns.extras), ensure_ascii=False) if columns.extras else None])
            result = LandingResult(item.relative, "landed", sha, item.department_code, item.category_code,
                                   item.business_date, rows_in, load_id, ",".join(notes) or None,
                                   "; ".join(f"{code}: {text}" for code, text in notes.items()) or None, notes)
            _record_delivery(con, run_id, result)
            faults.reached("land")  # crash test: rows inserted, transaction not committed
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return result
