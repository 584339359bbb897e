"""Read-ahead workers: files parsed in worker processes land exactly as files read by landing itself."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.inbox import discover, inbox_path
from credit_warehouse.landing import Lander, land_files
from credit_warehouse.read_ahead import ParsedTable, ReadAhead, Unreadable, WorkerDied
from credit_warehouse.sample_city import DefectRates, generate_city
from credit_warehouse.warehouse import connect, ensure_schema

CATALOGUE = Catalogue.load()
START, END = dt.date(2025, 9, 1), dt.date(2025, 9, 5)
# Every raw table, without the landing time: what two landings of the same files must agree on.
TABLES = {"raw.feed_rows": "*", "raw.files": "* exclude (landed_at)", "raw.deliveries": "* exclude (seen_at)"}


def _inbox(tmp_path):
    """A sample city's week with its defects, plus a re-delivery, an archive posing as CSV and a
    CSV whose ragged row makes the fast reader give up (read again in the next mode)."""
    inbox = tmp_path / "inbox"
    generate_city(inbox, START, END, subjects=300, defects=DefectRates())
    first = next(p for p in sorted(inbox.rglob("*.csv")))
    (first.parent / f"{first.stem}_resend.csv").write_bytes(first.read_bytes())
    archive = inbox_path(inbox, "tax", "C03", END, "csv", tag="zip")
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(b"PK\x03\x04 not a table")
    headers = [f.header_zh for f in CATALOGUE.fields_of("C03")]
    ragged = ",".join(headers) + "\n" + ",".join(["公司", "法人及非法人组织"] + ["v"] * (len(headers) - 2) + ["extra"])
    inbox_path(inbox, "tax", "C03", END, "csv", tag="ragged").write_text(ragged + "\n", encoding="utf-8")
    return inbox


def _land(tmp_path, inbox, name: str, min_files: int) -> dict[str, list[tuple]]:
    with connect(tmp_path / f"{name}.duckdb") as con:
        ensure_schema(con, CATALOGUE)
        land_files(con, discover(inbox, CATALOGUE), CATALOGUE, "r1", read_ahead_min_files=min_files)
        return {table: sorted(map(repr, con.execute(f"select {columns} from {table}").fetchall()))
                for table, columns in TABLES.items()}


def test_read_ahead_lands_the_same_rows_files_and_deliveries(tmp_path):
    inbox = _inbox(tmp_path)
    inline = _land(tmp_path, inbox, "inline", min_files=10**9)
    ahead = _land(tmp_path, inbox, "ahead", min_files=0)
    assert ahead == inline
    outcomes = [row for row in inline["raw.deliveries"]]
    assert any("'duplicate_delivery'" in row for row in outcomes)
    assert any("'zip_archive'" in row for row in outcomes)
    assert any("ragged_row" in row for row in inline["raw.feed_rows"])


@contextmanager
def _with_workers(con, files, run_id: str):
    """A Lander and a ReadAhead with its workers started, as land_files pairs them."""
    with Lander(con, CATALOGUE, run_id) as lander, ReadAhead(files, CATALOGUE, lander.wanted, min_files=0) as ahead:
        assert ahead.pool is not None
        yield lander, ahead


def test_read_ahead_parses_only_what_landing_will_read(tmp_path):
    files = discover(_inbox(tmp_path), CATALOGUE)
    with connect(tmp_path / "work.duckdb") as con:
        ensure_schema(con, CATALOGUE)
        with _with_workers(con, files, "r1") as (lander, ahead):
            parsed = {item.relative: ahead.take(i) for i, item in enumerate(files)}
            results = {item.relative: lander.land(item, parsed[item.relative]) for item in files}
        # Every landed or unreadable file was parsed by a worker; re-deliveries were not parsed at all.
        for name, result in results.items():
            outcome = parsed[name].result() if parsed[name] else None
            if result.outcome == "landed":
                assert isinstance(outcome, ParsedTable)
            elif result.outcome == "rejected" and result.reason_code == "zip_archive":
                assert outcome == Unreadable("zip_archive", outcome.detail)
            elif result.outcome == "duplicate_delivery":
                assert outcome is None
        # A re-run finds the landed files landed: only files rejected for their content are read again.
        with _with_workers(con, files, "r2") as (lander, ahead):
            again = {item.relative for i, item in enumerate(files) if ahead.take(i) is not None}
        assert again == {name for name, result in results.items() if result.outcome == "rejected" and
                         parsed[name] is not None}
        assert "tax/C03_20250905_zip.csv" in again


def test_a_killed_worker_costs_speed_not_files(tmp_path):
    files = discover(_inbox(tmp_path), CATALOGUE)
    with connect(tmp_path / "work.duckdb") as con:
        ensure_schema(con, CATALOGUE)
        with _with_workers(con, files, "r1") as (lander, ahead):
            ahead.pool.processes[0].kill()  # as the OOM killer would
            futures = [ahead.take(i) for i in range(len(files))]  # taken first: all submitted, in any order
            results = [lander.land(item, future) for item, future in zip(files, futures, strict=True)]
        landed = con.execute("select count(*) from raw.feed_rows").fetchone()[0]
    # The dead worker's files were read by landing itself.
    assert any(isinstance(f.exception(), WorkerDied) for f in futures if f is not None)
    assert sum(r.rows_in or 0 for r in results if r.outcome == "landed") == landed > 0
    assert [r.outcome for r in results] == [r.outcome for r in _results_inline(tmp_path, files)]


def _results_inline(tmp_path, files):
    with connect(tmp_path / "inline.duckdb") as con:
        ensure_schema(con, CATALOGUE)
        return land_files(con, files, CATALOGUE, "r1", read_ahead_min_files=10**9)
