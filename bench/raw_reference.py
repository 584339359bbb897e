"""The physical reference: DuckDB reading the inbox files of a date range into tables, no processing.

No decoding fix-ups, header mapping, validation or row bookkeeping: CSV through ``read_csv`` (all
columns as text, the CSV dialect given; GB18030 files through pyarrow's CSV reader, since DuckDB's GB18030 decoder is an
extension it would have to download), JSON through Python's parser into Arrow text columns, and XLSX,
which DuckDB cannot read without downloading its excel extension, through python-calamine (Rust) into
Arrow (the cheapest path available offline). Files of one (format, encoding, category) are read
together into one table, as a hand-written bulk load would. Files DuckDB cannot read itself are
parsed by one worker process per core, as DuckDB's own readers use every core.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.inbox import discover
from credit_warehouse.settings import load_settings

DUCKDB_ENCODINGS = ("utf-8", "utf-8-sig")


def _csv_table(path: Path, encoding: str) -> pa.Table:
    from pyarrow import csv

    # Text columns, as every other reader here: no type inference. The header comes from the first
    # block of a streaming reader (a whole read for it parsed every file twice).
    read_options = csv.ReadOptions(encoding=encoding, block_size=1 << 24)
    with csv.open_csv(path, read_options=csv.ReadOptions(encoding=encoding, block_size=1 << 16)) as head:
        header = head.schema.names
    return csv.read_csv(path, read_options=read_options,
                        convert_options=csv.ConvertOptions(column_types=dict.fromkeys(header, pa.string())))


def _xlsx_table(path: Path) -> pa.Table:
    """The first sheet as text columns named after its first row. calamine's rows begin at the first used
    column (no A1 alignment needed here), stop at the last row with a value, and are padded to the used
    width with "" for empty cells."""
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(path) as book:
        rows = book.get_sheet_by_index(0).iter_rows()
        header = [str(h) for h in next(rows)]
        while header and not header[-1]:  # the padding of a header narrower than the data
            header.pop()
        columns: list[list[str | None]] = [[] for _ in header]
        for row in rows:
            for i, values in enumerate(columns):
                value = row[i]
                values.append(None if value == "" else str(value))
    names = [f"c{i}_{h}" for i, h in enumerate(header)]  # headers may repeat
    return pa.table({name: pa.array(values, pa.string()) for name, values in zip(names, columns, strict=True)})


def _json_table(path: Path) -> pa.Table:
    """The records of {"total": n, "records": [...]} as text columns. Not DuckDB's read_json: it
    infers types (an impossible date stops it) and, over a year of files with union_by_name, ran out
    of memory at 100,000 subjects even under a 3 GB limit."""
    data = json.loads(path.read_bytes())
    records = data["records"] if isinstance(data, dict) else data
    keys = dict.fromkeys(key for record in records for key in record)
    return pa.table({key: pa.array([None if r.get(key) is None else str(r.get(key)) for r in records], pa.string())
                     for key in keys})


WORKERS = os.cpu_count() or 1
# Files parsed ahead of the inserts, across the groups: the workers keep parsing while the inserts and
# DuckDB's own reads run; bounds the memory of parsed, uninserted files (a file of the
# 1,000,000-subject city is ~130 KB on disk). 32 ahead: January 23.2 s; 256: 20.7 s.
AHEAD_FILES = 128 * WORKERS
# Parsed files inserted at once: one INSERT per small file cost ~8 ms of DuckDB each.
INSERT_ROWS = 200_000

Group = tuple[str, str, str]  # (format, encoding from the feed registry, feed)


def _groups(home: Path, start: dt.date, end: dt.date) -> list[tuple[Group, list[Path]]]:
    """Files by (format, encoding, feed): one bulk read each."""
    catalogue = Catalogue.load()
    groups: dict[Group, list[Path]] = {}
    for item in discover(home / "inbox", catalogue, start, end):
        feed = catalogue.feeds.get((item.department_code or "", item.category_code or ""))
        fmt = item.path.suffix.lower().lstrip(".")
        encoding = feed.encoding if feed and fmt == "csv" else ""
        groups.setdefault((fmt, encoding, f"{item.department_code}_{item.category_code}"), []).append(item.path)
    return sorted(groups.items())


def _parser(fmt: str, encoding: str) -> Callable[[Path], pa.Table] | None:
    """How a worker parses a file of this format into Arrow; None where DuckDB reads the files itself."""
    if fmt == "csv":
        return None if encoding in DUCKDB_ENCODINGS else functools.partial(_csv_table, encoding=encoding)
    return _json_table if fmt == "json" else _xlsx_table


def _parsed(pool: Executor, groups: list[tuple[Group, list[Path]]]) -> Iterator[pa.Table]:
    """The Arrow table of every file a worker parses, in group order, at most AHEAD_FILES ahead."""
    ahead: deque[Future[pa.Table]] = deque()
    for (fmt, encoding, _), paths in groups:
        if (parse := _parser(fmt, encoding)) is None:
            continue
        for path in paths:
            ahead.append(pool.submit(parse, path))
            if len(ahead) >= AHEAD_FILES:
                yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def _append_files(con: duckdb.DuckDBPyConnection, table: str, tables: Iterator[pa.Table]) -> None:
    """Append parsed files to the table by column name (files of a feed may order or omit columns),
    several files per INSERT."""
    created = False
    buffered: list[pa.Table] = []

    def flush() -> None:
        nonlocal created
        arrow = pa.concat_tables(buffered, promote_options="default")  # noqa: F841 - DuckDB's replacement scan
        con.execute(f"insert into {table} by name select * from arrow" if created
                    else f"create table {table} as select * from arrow")
        created = True
        buffered.clear()

    rows = 0
    for parsed in tables:
        buffered.append(parsed)
        rows += parsed.num_rows
        if rows >= INSERT_ROWS:
            flush()
            rows = 0
    if buffered or not created:
        flush()


def _read_csv(con: duckdb.DuckDBPyConnection, table: str, paths: list[Path]) -> None:
    # The dialect is given, as a hand-written bulk load would: DuckDB's sniffer, run per file under
    # union_by_name, made this read 6x slower (103 s vs 17 s for one 1M-subject month; same rows).
    con.execute(f"create table {table} as select * from read_csv(?, all_varchar = true, header = true, "
                "union_by_name = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"')",
                [[str(p) for p in paths]])


def _read_own(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, list[Path]]]) -> None:
    """The groups DuckDB reads itself, on a cursor of their own."""
    cursor = con.cursor()
    try:
        for table, paths in tables:
            _read_csv(cursor, table, paths)
    finally:
        cursor.close()


def ingest(home: Path, start: dt.date, end: dt.date) -> dict[str, object]:
    """Read every file of [start, end] into ``home/raw_reference.duckdb``; returns rows and files.

    DuckDB reads its own groups (UTF-8 CSV) in a thread while this one inserts what the workers parse:
    one after the other, DuckDB's reads of many small files kept the cores 67% busy and the workers
    idled meanwhile (January of the 1,000,000-subject city: 25.9 s with the machine 72% busy one after
    the other, 20.7 s at 92% this way; the same rows)."""
    target = home / "raw_reference.duckdb"
    target.unlink(missing_ok=True)
    groups = _groups(home, start, end)
    tables = [(f"t{n}_{fmt}_{feed}", paths) for n, ((fmt, _, feed), paths) in enumerate(groups)]
    by_duckdb = [_parser(fmt, encoding) is None for (fmt, encoding, _), _ in groups]
    own = [table for table, is_own in zip(tables, by_duckdb, strict=True) if is_own]
    con = duckdb.connect(str(target))
    con.execute(f"set memory_limit = '{load_settings().duckdb_memory_limit}'")  # as the pipeline's steps
    # spawn: the workers must not inherit DuckDB's threads and locks by fork
    pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"))
    reader = ThreadPoolExecutor(max_workers=1)
    try:
        own_read = reader.submit(_read_own, con, own)
        parsed = _parsed(pool, groups)
        for (table, paths), is_own in zip(tables, by_duckdb, strict=True):
            if not is_own:
                _append_files(con, table, itertools.islice(parsed, len(paths)))
        own_read.result()
        rows = sum(con.execute(f"select count(*) from {table}").fetchone()[0] for table, _ in tables)
    finally:
        reader.shutdown(cancel_futures=True)
        pool.shutdown(cancel_futures=True)
        con.close()
    return {"rows": rows, "files": sum(len(paths) for _, paths in tables), "bytes": target.stat().st_size}
