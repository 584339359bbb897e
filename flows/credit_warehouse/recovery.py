"""Crash recovery: one load at a time, and what a killed load left behind is settled by the next.

A load can die anywhere (SIGKILL, OOM, power): every step is built so that the next run ends in the
state of an uninterrupted one (README "Guarantees"). What is left to do at the start of a run:

- **run lock**: ``fcntl.flock`` on ``warehouse/.load.lock`` for the whole run. The kernel releases it
  when the process dies, however it dies, so a stale lock never blocks; a second concurrent load
  fails fast instead of interleaving with the first.
- **interrupted runs**: holding the lock, any ``ops.runs`` row still ``running`` belonged to a dead
  process: it is marked ``interrupted`` (its committed files, validations and builds are kept).
- **leftovers**: a killed publish's ``published.duckdb.next`` (+ WAL); Great Expectations result
  files and Data Docs pages of a validation whose results were never committed (the run died
  between running the checkpoint and committing ``validation.row_issues``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from credit_warehouse.publish import staging_files
from credit_warehouse.settings import Settings

LOCK_NAME = ".load.lock"
INTERRUPTED_MESSAGE = ("the process ended before the run finished (killed or crashed); "
                       "its committed work is kept and a later run completed the rest")


class LoadAlreadyRunning(RuntimeError):
    """Another load holds the run lock of this home."""


@contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    """Hold the home's run lock for the duration of a load."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    handle = os.open(settings.warehouse_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LoadAlreadyRunning(f"another load is running on {settings.home}") from None
        yield
    finally:
        os.close(handle)  # releases the lock


def publish_leftovers(settings: Settings) -> list[Path]:
    """The files a publish killed before its swap leaves next to the published warehouse."""
    return [p for p in staging_files(settings) if p.exists()]


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Runs left 'running' by a dead process (call while holding the run lock); returns their ids."""
    run_ids = [r[0] for r in con.execute(
        "select run_id from ops.runs where status = 'running' order by started_at").fetchall()]
    if run_ids:
        con.execute("update ops.runs set status = 'interrupted', finished_at = current_timestamp, message = ? "
                    "where run_id in (select unnest(?))", [INTERRUPTED_MESSAGE, run_ids])
    return run_ids


def uncommitted_gx_results(con: duckdb.DuckDBPyConnection, settings: Settings, run_ids: list[str]) -> list[Path]:
    """Result and Data Docs directories of checkpoints of these runs whose results were never committed.

    A run commits its raw-row suites together and its mart suites together: a GX suite directory
    is kept when its run committed any result of the same group.
    """
    from credit_warehouse.validation.gx_project import results_dir
    from credit_warehouse.validation.rules import ROW_GX_SUITES, ROW_SUITES

    if not run_ids:
        return []
    committed = {(suite in ROW_SUITES, run_id) for suite, run_id in con.execute(
        "select distinct suite, run_id from validation.expectation_results where run_id in (select unnest(?))",
        [run_ids]).fetchall()}
    found = []
    for root in (results_dir(settings), settings.data_docs_dir / "validations"):
        for run_id in run_ids:
            found += [d for d in root.glob(f"*/{run_id}")
                      if d.is_dir() and (d.parent.name in ROW_GX_SUITES, run_id) not in committed]
    return found


def recover(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """Settle what killed runs left behind; returns the ids of the runs marked interrupted."""
    run_ids = mark_interrupted(con)
    for leftover in publish_leftovers(settings):
        leftover.unlink()
    for directory in uncommitted_gx_results(con, settings, run_ids):
        shutil.rmtree(directory)
    return run_ids
