"""What a killed load leaves behind is settled by the next (the end-to-end proof is test_crash_safety)."""

from __future__ import annotations

import pytest
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.recovery import LoadAlreadyRunning, publish_leftovers, recover, run_lock
from credit_warehouse.settings import load_settings
from credit_warehouse.validation.gx_project import results_dir
from credit_warehouse.warehouse import connect, ensure_schema


def test_one_load_at_a_time_and_the_lock_dies_with_its_holder(tmp_path):
    settings = load_settings(tmp_path)
    with run_lock(settings), pytest.raises(LoadAlreadyRunning), run_lock(settings):
        pass
    with run_lock(settings):  # released: a killed holder's lock is released by the kernel the same way
        pass


def test_recover_marks_dead_runs_and_removes_their_uncommitted_leftovers(tmp_path):
    settings = load_settings(tmp_path)
    settings.ensure_dirs()
    staging = settings.published_db.with_name("published.duckdb.next")
    staging.write_bytes(b"half a database")
    committed = results_dir(settings) / "field_format" / "run-a" / "t1"
    uncommitted = [results_dir(settings) / "code_quality" / "run-a" / "t2",  # mart checks never recorded
                   settings.data_docs_dir / "validations" / "timeliness" / "run-b" / "t3"]
    for directory in (committed, *uncommitted):
        directory.mkdir(parents=True)
        (directory / "result.json").write_text("{}")
    with connect(settings.work_db) as con:
        ensure_schema(con, Catalogue.load())
        con.execute("insert into ops.runs values ('run-a', 'backfill', null, null, now(), null, 'running', null), "
                    "('run-b', 'backfill', null, null, now(), null, 'running', null), "
                    "('run-c', 'backfill', null, null, now(), now(), 'succeeded', null)")
        con.execute("insert into validation.expectation_results values "
                    "('run-a', 'field_format', 'k', 'k', 'blocking', true, 0, '[]', now())")
        assert sorted(recover(con, settings)) == ["run-a", "run-b"]
        statuses = dict(con.execute("select run_id, status from ops.runs").fetchall())
    assert statuses == {"run-a": "interrupted", "run-b": "interrupted", "run-c": "succeeded"}
    assert publish_leftovers(settings) == [] and committed.exists()
    assert not any(d.exists() for d in uncommitted)
