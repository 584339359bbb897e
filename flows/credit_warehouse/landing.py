"""Land delivered files into the append-only raw layer, whole files per transaction, streaming.

Each row keeps its load id, file hash and row number, with every value as text. A file is read in
batches (``readers.BATCH_ROWS``) that go to DuckDB as Arrow tables inside one transaction per group
of files (``Lander``), so memory stays bounded and a crash leaves either whole files or nothing. A file
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
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from credit_warehouse import faults, page_cache
from credit_warehouse.catalogue import Catalogue, normalize_header
from credit_warehouse.inbox import InboxFile
from credit_warehouse.read_ahead import MIN_FILES, ParsedTable, ReadAhead, Unreadable
from credit_warehouse.readers import READ_MODES, FileRejected, ReadAgain, RowBatch, TableStream, open_table

HASH_BLOCK = 1 << 20
# DuckDB's buffer memory while landing: a large file's uncommitted rows spill to the database file
# (optimistic writes) instead of growing the process; raised for a city-scale backfill if needed.
LANDING_MEMORY_LIMIT = "512MB"
# Files per landing transaction, and rows after which a group commits early (see Lander). Each commit
# leaves a partly filled row group, and DuckDB's checkpoint merges such groups with their neighbours,
# rewriting up to five row groups each: at 500 files a group, January of the 1,000,000-subject city
# (5,894 files, 3M rows) committed 12 times and its checkpoint rewrote two thirds of the month's blocks
# (6.8 s of 32.5 s); in one group it landed in 26 s with the same peak RSS (DuckDB writes a long
# transaction's full row groups to the file as it goes).
GROUP_FILES, GROUP_ROWS = 20_000, 4_000_000
# Smaller files are read in the landing thread (when no read-ahead worker has them): a reader thread
# per file costs more than it overlaps.
PREFETCH_MIN_BYTES = 4 << 20
# Rows of files buffered as Arrow tables and inserted together: one INSERT per file cost ~6 ms
# of DuckDB planning on the 160-column raw table, more than reading a typical department file.
BUFFER_ROWS = 100_000
EXTRA_COLUMNS = "extra_columns"  # a buffered batch's extra columns (``_extra_columns``), not a raw column
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


def _extra_columns(batch: RowBatch, columns: ColumnMap) -> pa.MapArray:
    """The file's extra columns of each row as a map, name -> value in header order. Buffered with the
    other files' rows, DuckDB turns it into the row's JSON object at insert (``to_json`` gives what
    ``json_object`` of the same pairs gives); one INSERT per such file cost ~8 ms of planning on the
    wide raw table, and their files are ~30% of a day's."""
    names, n = list(columns.extras), len(batch)
    values = pa.concat_arrays([batch.columns[index].cast(pa.string()) for index in columns.extras.values()])
    by_row = np.arange(n * len(names)).reshape(len(names), n).T.ravel()  # value j of row i sits at j*n + i
    offsets = pa.array(np.arange(0, n * len(names) + 1, len(names), dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, pa.array(names * n, pa.string()), values.take(pa.array(by_row)))


def _reader_extras(batch: RowBatch, columns: ColumnMap) -> pa.Array:
    """extra_fields of the rows the reader kept values for (a ragged row's overflow, an unparseable
    row's text), with the file's extra columns of that row: the whole object, built here. Other rows:
    null (``flush`` writes their extra columns)."""
    extra: list[str | None] = [None] * len(batch)
    for index, kept in batch.extra.items():
        values = {name: batch.columns[i][index].as_py() for name, i in columns.extras.items()}
        extra[index] = json.dumps({**values, **kept}, ensure_ascii=False, default=str)
    return pa.array(extra, pa.string())


def _raw_table(batch: RowBatch, columns: ColumnMap, constants: dict[str, Any]) -> pa.Table:
    """A batch of a file, shaped as raw.feed_rows (inserted BY NAME): the file's constants repeated,
    the mapped fields, the reader's kept values as extra_fields, and the file's extra columns, if any,
    as the map ``flush`` writes into extra_fields where the reader kept nothing."""
    n = len(batch)
    arrays = {name: pa.repeat(pa.scalar(value, RAW_CONSTANT_TYPES[name]), n) for name, value in constants.items()}
    arrays["row_number"] = batch.row_numbers
    arrays["row_issue"] = (pa.array([batch.issues.get(i) for i in range(n)], pa.string()) if batch.issues
                           else pa.nulls(n, pa.string()))
    arrays["extra_fields"] = _reader_extras(batch, columns)
    arrays.update({name: batch.columns[index] for name, index in columns.fields.items()})
    if columns.extras:
        arrays[EXTRA_COLUMNS] = _extra_columns(batch, columns)
    return pa.table(arrays)


def _guarded(batches: Iterator[RowBatch]) -> Iterator[RowBatch]:
    """A reader failure (not a warehouse one) rejects this file only; the other feeds go on."""
    try:
        yield from batches
    except (FileRejected, ReadAgain):
        raise
    except Exception as exc:  # noqa: BLE001 - any parser error is this file's problem
        raise FileRejected.unreadable(exc) from exc


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


def _result(parsed: Future[ParsedTable | Unreadable] | None) -> ParsedTable | Unreadable | None:
    """A read-ahead worker's parse; None (read the file here) if there is none or the worker died."""
    if parsed is None:
        return None
    try:
        return parsed.result()
    except Exception:  # noqa: BLE001 - a broken pool (a worker killed) costs speed, not the file
        return None


def _open(item: InboxFile, known: set[str], stream: Any, mode: str) -> TableStream:
    try:
        return open_table(item.path, item.file_format or "", known, stream, mode)
    except (FileRejected, ReadAgain):
        raise
    except Exception as exc:  # noqa: BLE001
        raise FileRejected.unreadable(exc) from exc


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


RAW_CONSTANT_TYPES = {"load_id": pa.string(), "load_seq": pa.int64(), "file_sha256": pa.string(),
                      "source_file": pa.string(), "department_code": pa.string(), "category_code": pa.string(),
                      "record_layout": pa.string(), "business_date": pa.date32()}
FILE_COLUMNS = pa.schema([
    ("file_sha256", pa.string()), ("load_id", pa.string()), ("load_seq", pa.int64()), ("source_file", pa.string()),
    ("department_code", pa.string()), ("category_code", pa.string()), ("business_date", pa.date32()),
    ("file_format", pa.string()), ("encoding", pa.string()), ("header_row", pa.int32()), ("rows_in", pa.int32()),
    ("unmapped_columns", pa.string())])
DELIVERY_COLUMNS = pa.schema([
    ("run_id", pa.string()), ("source_file", pa.string()), ("file_sha256", pa.string()),
    ("business_date", pa.date32()), ("department_code", pa.string()), ("category_code", pa.string()),
    ("outcome", pa.string()), ("reason_code", pa.string()), ("reason_detail", pa.string()), ("rows_in", pa.int32())])


class Lander:
    """Lands files in transactions of up to ``group_files`` files or ``group_rows`` rows.

    Committing once per group, not per file, and writing the group's raw.files and raw.deliveries
    rows in one insert each, is what makes a day of ~250 small department files cheap (measured: per
    file, commit and single-row inserts cost more than reading and inserting the rows). A crash
    still leaves whole files or nothing: the group's transaction rolls back and the re-run lands it.
    A file rejected (or re-read in another mode) halfway has its rows deleted inside the transaction.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, catalogue: Catalogue, run_id: str,
                 group_files: int = GROUP_FILES, group_rows: int = GROUP_ROWS) -> None:
        self.con, self.catalogue, self.run_id = con, catalogue, run_id
        self.group_files, self.group_rows = group_files, group_rows
        self.files: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.landed: dict[str, tuple[str, str, int]] = {}  # sha -> (source file, load id, rows) this group
        self.rows = 0
        self.next_seq: int | None = None
        self.partial = False  # the file being read has rows in the open group
        self.known: dict[str, tuple[str, str, int]] | None = None  # sha -> (source file, load id, rows) committed
        self.buffer: list[tuple[str, pa.Table]] = []  # (sha, rows) not inserted yet
        self.buffered_rows = 0
        self.current: str | None = None  # sha of the file being read
        self.hashes: dict[Path, str] = {}  # files hashed by wanted(), not landed yet

    def __enter__(self) -> Lander:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.commit()
        elif self.next_seq is not None:
            self.con.execute("rollback")

    def land(self, item: InboxFile, parsed: Future[ParsedTable | Unreadable] | None = None) -> LandingResult:
        """Land one file in the open group (opened on demand); commits when the group is full.
        ``parsed``: the file as a read-ahead worker parsed it (otherwise it is read here)."""
        if self.next_seq is None:
            self.con.execute("begin transaction")
            self.next_seq = self.con.execute("select coalesce(max(load_seq), 0) + 1 from raw.files").fetchall()[0][0]
        result = self._land(item, parsed)
        page_cache.forget(item.path)  # read for the last time: leave the cache to the warehouse files
        self.deliveries.append({"run_id": self.run_id, "source_file": result.source_file,
                                "file_sha256": result.file_sha256, "business_date": result.business_date,
                                "department_code": result.department_code, "category_code": result.category_code,
                                "outcome": result.outcome, "reason_code": result.reason_code,
                                "reason_detail": result.reason_detail, "rows_in": result.rows_in})
        if len(self.deliveries) >= self.group_files or self.rows >= self.group_rows:
            self.commit()
        return result

    def flush(self) -> None:
        """Insert the buffered rows (one INSERT for many files)."""
        if not self.buffer:
            return
        if any(sha == self.current for sha, _ in self.buffer):
            self.partial = True
        buffered = pa.concat_tables([t for _, t in self.buffer], promote_options="default")
        columns = "*"
        if EXTRA_COLUMNS in buffered.column_names:  # other files' rows: a null map, kept as null
            columns = (f"* exclude ({EXTRA_COLUMNS}) replace "
                       f"(coalesce(extra_fields, to_json({EXTRA_COLUMNS})::varchar) as extra_fields)")
        self.con.execute(f"insert into raw.feed_rows by name select {columns} from buffered")
        self.buffer, self.buffered_rows = [], 0

    def commit(self) -> None:
        if self.next_seq is None:
            return
        self.flush()
        con = self.con
        files = pa.Table.from_pylist(self.files, FILE_COLUMNS)  # noqa: F841 - DuckDB replacement scan
        deliveries = pa.Table.from_pylist(self.deliveries, DELIVERY_COLUMNS)  # noqa: F841
        con.execute("insert into raw.files select *, current_timestamp from files")
        con.execute("insert into raw.deliveries select *, current_timestamp from deliveries")
        con.execute("commit")
        if self.known is not None:
            self.known.update(self.landed)
        self.files, self.deliveries, self.landed, self.rows, self.next_seq = [], [], {}, 0, None

    def wanted(self, item: InboxFile) -> str | None:
        """The file's hash if landing it will read it (recognised, not landed before); asked by
        ``ReadAhead``, which parses such files in workers. The hash is kept for ``land``."""
        if not item.recognised:
            return None
        sha = self.hashes[item.path] = self.hashes.get(item.path) or file_sha256(item.path)
        return None if sha in self.landed or sha in self._known() else sha

    def _land(self, item: InboxFile, parsed: Future[ParsedTable | Unreadable] | None) -> LandingResult:
        sha = self.hashes.pop(item.path, None) or file_sha256(item.path)
        base = dict(source_file=item.relative, file_sha256=sha, department_code=item.department_code,
                    category_code=item.category_code, business_date=item.business_date)
        if not item.recognised:
            return LandingResult(**base, outcome="rejected", rows_in=None, reason_code=item.problem,
                                 reason_detail="file name or feed not in the inbox contract / feed registry")
        previous = self._already_landed(item, sha)
        if previous is not None:
            return previous
        ready = _result(parsed)
        if isinstance(ready, Unreadable):
            return LandingResult(**base, outcome="rejected", rows_in=None, reason_code=ready.reason_code,
                                 reason_detail=ready.detail)
        if ready is not None:
            table = ready.stream()
            return self._write(item, sha, table, table.batches)
        mode = READ_MODES[0]
        while True:
            try:
                return self._insert(item, sha, mode)
            except ReadAgain as again:
                self._discard(sha)
                mode = again.mode
            except FileRejected as exc:
                self._discard(sha)
                return LandingResult(**base, outcome="rejected", rows_in=None, reason_code=exc.reason_code,
                                     reason_detail=exc.detail)

    def _known(self) -> dict[str, tuple[str, str, int]]:
        if self.known is None:  # every landed file once, instead of a look-up per file
            self.known = {sha: (source, load_id, rows) for sha, source, load_id, rows in self.con.execute(
                "select file_sha256, source_file, load_id, rows_in from raw.files").fetchall()}
        return self.known

    def _already_landed(self, item: InboxFile, sha: str) -> LandingResult | None:
        found = self.landed.get(sha) or self._known().get(sha)
        if found is None:
            return None
        same_path = found[0] == item.relative
        return LandingResult(item.relative, "already_loaded" if same_path else "duplicate_delivery", sha,
                             item.department_code, item.category_code, item.business_date, found[2], found[1],
                             None if same_path else "duplicate_file",
                             None if same_path else f"same bytes as {found[0]}")

    def _discard(self, sha: str) -> None:
        """Rows a failed read of this file buffered or inserted in the open group (it was not landed)."""
        dropped = [t.num_rows for s, t in self.buffer if s == sha]
        self.buffer = [(s, t) for s, t in self.buffer if s != sha]
        self.buffered_rows -= sum(dropped)
        if self.partial:
            self.con.execute("delete from raw.feed_rows where file_sha256 = ?", [sha])
            self.partial = False

    def _insert(self, item: InboxFile, sha: str, mode: str) -> LandingResult:
        """Read the file here, streaming (a large one read ahead in a thread), and write it."""
        with item.path.open("rb") as stream:
            table = _open(item, set(self.catalogue.header_map(item.category_code or "")), stream, mode)
            batches = _guarded(table.batches)
            if item.path.stat().st_size >= PREFETCH_MIN_BYTES:
                batches = _prefetched(batches)
            return self._write(item, sha, table, batches)

    def _write(self, item: InboxFile, sha: str, table: TableStream, batches: Iterator[RowBatch]) -> LandingResult:
        assert item.business_date is not None and item.category_code is not None and self.next_seq is not None
        catalogue = self.catalogue
        load_id, load_seq = load_id_for(item.business_date, sha), self.next_seq
        columns = map_columns(table.headers, catalogue.header_map(item.category_code))
        constants = dict(zip(RAW_CONSTANT_TYPES, [
            load_id, load_seq, sha, item.relative, item.department_code, item.category_code,
            catalogue.categories[item.category_code].layout, item.business_date], strict=True))
        rows_in, self.partial, self.current = 0, False, sha
        for batch in batches:
            self.buffer.append((sha, _raw_table(batch, columns, constants)))
            self.buffered_rows += len(batch)
            if self.buffered_rows >= BUFFER_ROWS:
                self.flush()
            rows_in += len(batch)
        self.partial, self.current = False, None
        notes = _notes(item, table, columns, catalogue, rows_in)
        self.files.append({
            "file_sha256": sha, "load_id": load_id, "load_seq": load_seq, "source_file": item.relative,
            "department_code": item.department_code, "category_code": item.category_code,
            "business_date": item.business_date, "file_format": item.file_format, "encoding": table.encoding,
            "header_row": table.header_row, "rows_in": rows_in,
            "unmapped_columns": json.dumps(sorted(columns.extras), ensure_ascii=False) if columns.extras else None})
        faults.reached("land")  # crash test: a file's rows inserted, its group not committed
        self.landed[sha] = (item.relative, load_id, rows_in)
        self.next_seq += 1
        self.rows += rows_in
        return LandingResult(item.relative, "landed", sha, item.department_code, item.category_code,
                             item.business_date, rows_in, load_id, ",".join(notes) or None,
                             "; ".join(f"{code}: {text}" for code, text in notes.items()) or None, notes)


def land_files(con: duckdb.DuckDBPyConnection, items: list[InboxFile], catalogue: Catalogue,
               run_id: str, read_ahead_min_files: int = MIN_FILES) -> list[LandingResult]:
    """Land inbox files in order, a group of files per transaction; what happened to each. With at
    least ``read_ahead_min_files`` small files, worker processes parse them ahead (``read_ahead``)."""
    with Lander(con, catalogue, run_id) as lander, \
            ReadAhead(items, catalogue, lander.wanted, min_files=read_ahead_min_files) as ahead:
        return [lander.land(item, ahead.take(index)) for index, item in enumerate(items)]


def land_file(con: duckdb.DuckDBPyConnection, item: InboxFile, catalogue: Catalogue,
              run_id: str) -> LandingResult:
    """Land one inbox file atomically (its own transaction) and return what happened to it."""
    return land_files(con, [item], catalogue, run_id)[0]
