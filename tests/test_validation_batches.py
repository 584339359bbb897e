"""Validation in batches of whole files finds exactly what one batch finds (the real GX checkpoint)."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.inbox import discover
from credit_warehouse.landing import land_files
from credit_warehouse.sample_city import DefectRates, generate_city
from credit_warehouse.settings import load_settings
from credit_warehouse.validation import runner
from credit_warehouse.warehouse import connect, ensure_schema

CATALOGUE = Catalogue.load()
START, END = dt.date(2025, 9, 1), dt.date(2025, 9, 5)
RESULTS = {
    "validation.row_issues": "select * exclude (run_id) from validation.row_issues",
    "validation.validated_files": "select file_sha256 from validation.validated_files",
    "validation.expectation_results": "select suite, expectation, severity from validation.expectation_results",
}


def _landed_home(tmp_path):
    home = tmp_path / "one"
    settings = load_settings(home)
    settings.ensure_dirs()
    generate_city(settings.inbox, START, END, subjects=300, defects=DefectRates())
    with connect(settings.work_db) as con:
        ensure_schema(con, CATALOGUE)
        land_files(con, discover(settings.inbox, CATALOGUE), CATALOGUE, "land")
        rows = con.execute("select count(*) from raw.feed_rows").fetchone()[0]
    return settings, rows


def _results(settings) -> dict[str, list[str]]:
    with duckdb.connect(str(settings.work_db), read_only=True) as con:
        return {table: sorted(map(repr, con.execute(sql).fetchall())) for table, sql in RESULTS.items()}


def test_batches_of_whole_files_find_the_same_rows_as_one_batch(tmp_path, monkeypatch):
    one, rows = _landed_home(tmp_path)
    many = load_settings(tmp_path / "many")
    many.ensure_dirs()
    shutil.copyfile(one.work_db, many.work_db)

    single = runner.validate_pending(one, CATALOGUE, "v1")
    monkeypatch.setattr(runner, "BATCH_ROWS", rows // 4)
    with duckdb.connect(str(many.work_db), read_only=True) as con:
        batches = runner.pending_batches(con, runner.BATCH_ROWS)
        sizes = dict(con.execute("select file_sha256, rows_in from raw.files").fetchall())
    batched = runner.validate_pending(many, CATALOGUE, "v1")

    assert len(batches) >= 4
    assert all(sum(sizes[f] for f in b.files) <= rows // 4 or len(b.files) == 1 for b in batches)
    assert sorted(f for b in batches for f in b.files) == sorted(sizes)  # every file, each once
    assert single.rows == batched.rows == rows
    assert (single.quarantined_rows, single.flagged_rows) == (batched.quarantined_rows, batched.flagged_rows)
    assert single.quarantined_rows > 0 and single.flagged_rows > 0
    assert single.rule_counts == batched.rule_counts
    assert sorted(single.files, key=str) == sorted(batched.files, key=str)
    found, found_batched = _results(one), _results(many)
    assert found["validation.row_issues"] == found_batched["validation.row_issues"]
    assert found["validation.validated_files"] == found_batched["validation.validated_files"]
    # one result per expectation and batch
    assert len(found_batched["validation.expectation_results"]) == \
        len(batches) * len(found["validation.expectation_results"])
    # Nothing left pending, and the batch table emptied.
    assert runner.validate_pending(many, CATALOGUE, "v2").files == ()
