"""Publish the marts for analysts: copy the marts file (indexed by dbt), then swap it in atomically.

Analysts open ``published.duckdb`` read-only; a running load never locks or half-updates it because
dbt builds the marts in ``marts.duckdb`` and publish builds the new version in
``published.duckdb.next`` (a copy of that file, indexed, checkpointed, closed and fsynced) before one
``os.replace`` swaps it in. Open sessions keep reading the version they opened; a new session gets
the old or the new file, never a mix. A load killed before the swap leaves the old version published
and a ``.next`` file the next run removes.

Copying the file instead of every table: a year of the 1,000,000-subject city took ~120 s to copy
table by table (``fct_credit_record``'s 25.5M rows x 58 columns, 45 s of it). The copy bypasses the page
cache (``copy_file``): the 6.5 GB marts file of that year took 8-10 s that way, against 9-52 s through
the cache (``shutil.copyfile``), most of it kernel time spent on page-cache reclaim after a dbt build.
A load starts the copy (``MartsCopy``) as soon as the mart checks are done, in a thread: the steward
review, which only reads the marts, runs meanwhile, and publish indexes what dbt left unindexed.
"""

from __future__ import annotations

import errno
import functools
import logging
import mmap
import os
import shutil
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import duckdb
import yaml

from credit_warehouse import faults
from credit_warehouse.settings import DBT_PROJECT_DIR, Settings
from credit_warehouse.warehouse import MARTS_SCHEMA


# Columns analysts (and `creditwh show`) look single subjects up by, in order of preference: a table is
# indexed on the first it has. Without an index DuckDB scans the whole table for `where subject_key = ?`
# (52 ms p95 at 100,000 subjects, growing with the city); an ART index answers in ~7 ms. One per table:
# where a table has both, a subject's uscc is its subject_key (a person's uscc is null), and the second
# index cost 16.5 of publish's 40 s of index builds at 1,000,000 subjects (fct_credit_record's 14.2 s).
# dbt builds them in the marts file (macro lookup_index, the same rule), so an incremental model keeps
# its index from day to day; publish indexes only a table still without one (a marts file built
# before, or a table no model's hook indexed). The list is the dbt project's var: one rule.
@functools.cache
def lookup_columns() -> tuple[str, ...]:
    """The dbt var ``lookup_columns``, read once, when publish first has a table to index."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return tuple(project["vars"]["lookup_columns"])


class MartsNotBuilt(RuntimeError):
    """There is no marts file to publish: no dbt build has run in this home."""


def _fsync(path: Path) -> None:
    """Flush a file (or a directory entry) to disk: the swap must survive a power cut, not only a kill."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


# Direct I/O moves whole aligned chunks; 64 MiB keeps the per-call overhead negligible.
DIRECT_CHUNK = 64 << 20


def _copy_direct(source: Path, target: Path) -> None:
    """Copy with O_DIRECT on both sides: the data never goes through the page cache. Chunks are
    page-aligned (an anonymous mmap) at aligned offsets; a last chunk that is not a multiple of the
    block size is written through an ordinary descriptor."""
    buffer = mmap.mmap(-1, DIRECT_CHUNK)
    reader = os.open(source, os.O_RDONLY | os.O_DIRECT)
    try:
        writer = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
        try:
            offset = 0
            while read := os.preadv(reader, [buffer], offset):
                if read % mmap.PAGESIZE:
                    with open(target, "r+b") as tail:
                        tail.seek(offset)
                        tail.write(memoryview(buffer)[:read])
                else:
                    os.pwritev(writer, [memoryview(buffer)[:read]], offset)
                offset += read
        finally:
            os.close(writer)
    finally:
        os.close(reader)
        buffer.close()


def copy_file(source: Path, target: Path) -> None:
    """Copy a large file without filling the page cache where the OS and file system allow it
    (Linux, not tmpfs); elsewhere an ordinary copy."""
    if hasattr(os, "O_DIRECT"):
        try:
            _copy_direct(source, target)
            return
        except OSError as error:
            if error.errno != errno.EINVAL:  # EINVAL: this file system refuses O_DIRECT
                raise
    shutil.copyfile(source, target)


def _checkpoint(marts_db: Path) -> None:
    """Fold the marts file's WAL into it (dbt closes it checkpointed; a killed dbt may not have)."""
    with duckdb.connect(str(marts_db)) as con:
        con.execute("checkpoint")


def _published_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marts analysts query: tables and views (fct_credit_record is a view)."""
    return [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ? order by 1", [MARTS_SCHEMA]).fetchall()]


def _unindexed_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Every table of the file without an index (dbt indexed the others), whatever its schema
    (intermediate.int_credit_records, the rows of the fct_credit_record view, is looked up by subject too)."""
    return [(row[0], row[1]) for row in con.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = current_database() "
        "and table_type = 'BASE TABLE' and (table_schema, table_name) not in (select (schema_name, table_name) "
        "from duckdb_indexes() where database_name = current_database()) order by 1, 2").fetchall()]


def _index_lookup_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    columns = {row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_catalog = current_database() "
        "and table_schema = ? and table_name = ?", [schema, table]).fetchall()}
    for column in lookup_columns():
        if column in columns:
            con.execute(f"create index {table}__{column} on {schema}.{table} ({column})")
            return


def staging_files(settings: Settings) -> tuple[Path, Path]:
    """Where the next published version is built, and its WAL: what a publish killed before its swap
    leaves behind (recovery removes them)."""
    staging = settings.published_db.with_name(settings.published_db.name + ".next")
    return staging, staging.with_name(staging.name + ".wal")


def _clear(settings: Settings) -> None:
    for leftover in staging_files(settings):
        leftover.unlink(missing_ok=True)


def _prepare_copy(settings: Settings) -> Path:
    """Clear the staging path and checkpoint the marts file; returns the path to copy it to."""
    _clear(settings)
    _checkpoint(settings.marts_db)
    return staging_files(settings)[0]


class MartsCopy:
    """The marts file copied to publish's staging path in a thread, while the steward review reads the
    marts (read-only: nothing writes the marts file between dbt's build and publish). The copy is
    disk, not CPU (direct I/O): the year's 6.5 GB file took ~10 s of publish's ~40, now spent beside
    the review's ~18 s of CPU. ``publish`` takes a completed copy once; a retry of publish, or a copy
    that failed, copies again."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._taken = False
        # the checkpoint here, not in the thread: DuckDB refuses a second instance of the file in this
        # process, and the review attaches it as soon as this returns
        staging = _prepare_copy(settings)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-copy")
        self._copied = pool.submit(copy_file, settings.marts_db, staging)
        pool.shutdown(wait=False)

    def take(self) -> bool:
        """True, the first time only, when the copy is complete; waits for it."""
        if self._taken:
            return False
        self._taken = True
        try:
            self._copied.result()
        except Exception as exc:  # noqa: BLE001 - publish copies again, and reports what fails then
            logging.getLogger(__name__).warning("publish: the copy made during the review failed (%s); copying "
                                                "again", exc)
            return False
        return True

    def discard(self) -> None:
        """After the load: wait for the copy, and remove it if publish never took it (the load failed
        before publish), so no thread or half-built version outlives the run."""
        wait([self._copied])  # a failed copy leaves nothing to keep: its file is removed below
        if not self._taken:
            _clear(self._settings)


def start_copy(settings: Settings) -> MartsCopy | None:
    """Start copying the marts file for the next publish (None when there is none yet)."""
    return MartsCopy(settings) if settings.marts_db.exists() else None


def publish(settings: Settings, copied: MartsCopy | None = None) -> list[str]:
    """Publish a copy of the marts file, indexed for lookups; return the marts' names. ``copied``: the
    copy a load started after its dbt build (``start_copy``), used if it completed."""
    if not settings.marts_db.exists():
        raise MartsNotBuilt(f"{settings.marts_db} does not exist: run a load (dbt build) first")
    target = settings.published_db
    if copied is None or not copied.take():
        copy_file(settings.marts_db, _prepare_copy(settings))
    staging = staging_files(settings)[0]
    con = duckdb.connect(str(staging))
    try:
        # Under the limit the other steps have (DuckDB's default is 80% of RAM).
        con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
        for schema, table in _unindexed_tables(con):
            _index_lookup_columns(con, schema, table)
            faults.reached("publish")  # crash test: new file half written
        marts = _published_marts(con)
        con.execute("checkpoint")
    finally:
        con.close()
    _fsync(staging)
    faults.reached("swap")  # crash test: new file complete, not swapped in
    os.replace(staging, target)
    _fsync(target.parent)
    return [f"{MARTS_SCHEMA}.{table}" for table in marts]
