"""End to end: the real Prefect flow, landing, Great Expectations, dbt build and publish on a small
generated city; then re-runs and a duplicate delivery must change nothing."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from credit_warehouse.catalogue import Catalogue, normalize_header
from credit_warehouse.codes import uscc_problem
from credit_warehouse.sample_city import DefectRates, GenerationManifest, generate_city
from credit_warehouse.settings import Settings, load_settings
from credit_warehouse.transform import StagingWindow, window_since
from credit_warehouse.warehouse import MARTS_CATALOG, STORAGE_VERSION, connect

START, SPLIT, END = dt.date(2026, 9, 24), dt.date(2026, 10, 9), dt.date(2026, 10, 12)
SUBJECTS = 300
RESIDENT_ID = re.compile(r"\b\d{17}[\dX]\b")
PERSON_ID = "11010519491231002X"  # a valid resident ID number (check character X)


def marts_snapshot(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
        return {t: sorted(map(repr, con.execute(f"select * from marts.{t}").fetchall())) for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def city(tmp_path_factory, prefect_harness):
    from credit_warehouse.pipeline import backfill, daily_load

    home = tmp_path_factory.mktemp("city")
    settings = load_settings(home)
    settings.ensure_dirs()
    manifest = generate_city(settings.inbox, START, END, subjects=SUBJECTS, defects=DefectRates(),
                             report_deadline_workdays=settings.report_deadline_workdays)
    summaries = [backfill(START, SPLIT, str(home))]
    day = SPLIT
    while day < END:
        day += dt.timedelta(days=1)
        summaries.append(daily_load(day, str(home)))
    return {"home": home, "settings": settings, "manifest": manifest, "summaries": summaries,
            "snapshot": marts_snapshot(settings.published_db)}


RECORDS = f"{MARTS_CATALOG}.intermediate.int_credit_records"  # stored in the marts file


def query(city, sql: str, params: list | None = None, db: str = "work") -> list[tuple]:
    """``db="work"``: the work warehouse with the marts file attached, as the pipeline reads it."""
    settings = city["settings"]
    with (connect(settings.work_db, read_only=True, marts_db=settings.marts_db) if db == "work"
          else connect(settings.published_db, read_only=True)) as con:
        return con.execute(sql, params or []).fetchall()


def last_window(settings: Settings) -> StagingWindow:
    """The window of the last validated files: what the last daily build built."""
    with duckdb.connect(str(settings.work_db)) as con:
        after = con.execute("select max(validated_at) from validation.validated_files where validated_at < "
                            "(select max(validated_at) from validation.validated_files)").fetchone()[0]
        return window_since(con, after, "")


def copy_warehouse(built: Settings, home: Path) -> Settings:
    """A home with a copy of ``built``'s warehouse (the work file and the marts file)."""
    copy = load_settings(home)
    copy.ensure_dirs()
    for source, target in ((built.work_db, copy.work_db), (built.marts_db, copy.marts_db)):
        shutil.copy(source, target)
    return copy


def test_every_landed_row_is_loaded_or_quarantined(city):
    manifest: GenerationManifest = city["manifest"]
    feeds = [f for s in city["summaries"] for f in s.feeds]
    landed = {f.source_file: f for f in feeds if f.outcome == "landed"}
    assert landed, "nothing landed"
    for feed in landed.values():
        assert feed.rows_in == feed.rows_loaded + feed.rows_quarantined, feed
    # Independently of the summary: rows generated per file = rows in the raw layer for that file.
    generated = {f.source_file: f.rows for f in manifest.files}
    raw = dict(query(city, "select source_file, count(*) from raw.feed_rows group by 1"))
    for source, rows in generated.items():
        if source in landed:
            assert raw[source] == rows, source
    # Every generated file was either landed or recognised as a duplicate delivery.
    outcomes = {f.source_file: f.outcome for f in feeds}
    assert set(generated) <= set(outcomes)
    assert {outcomes[s] for s in generated} <= {"landed", "duplicate_delivery"}
    quarantined = query(city, "select count(distinct (file_sha256, row_number)) from validation.row_issues "
                              "where severity = 'blocking'")[0][0]
    assert quarantined == sum(f.rows_quarantined for f in landed.values()) > 0


def test_every_stage_of_every_run_has_its_time_and_peak_memory(city):
    """ops.run_stages: each stage in run order with its wall time and the highest RSS the process had
    during it (at least what an idle interpreter with the flow's libraries holds)."""
    stages = ["discover", "land", "validate", "dbt_build", "conservation_check", "mart_checks", "steward_review",
              "publish"]
    for summary in city["summaries"]:
        rows = query(city, "select stage, seconds, peak_rss_bytes from ops.run_stages where run_id = ? "
                           "order by position", [summary.run_id])
        assert [r[0] for r in rows] == stages, summary.run_id
        assert [r[1] for r in rows] == [summary.stage_seconds[s] for s in stages]
        assert [r[2] for r in rows] == [summary.stage_peak_rss[s] for s in stages]
        assert all(r[1] >= 0 and 50 * 2**20 < r[2] < 64 * 2**30 for r in rows), rows


def test_rerun_and_duplicate_delivery_change_nothing(city):
    from credit_warehouse.pipeline import daily_load

    settings = city["settings"]
    rerun = daily_load(END, str(city["home"]))
    # nothing lands again: the day's files are already loaded, its duplicate copies still duplicates
    assert {f.outcome for f in rerun.feeds} <= {"already_loaded", "duplicate_delivery"}
    assert "already_loaded" in {f.outcome for f in rerun.feeds}
    assert marts_snapshot(settings.published_db) == city["snapshot"]
    original = next(p for p in sorted(settings.inbox.rglob(f"*_{END:%Y%m%d}.*")))
    copy = original.with_name(original.stem + "_again" + original.suffix)
    shutil.copyfile(original, copy)
    try:
        again = daily_load(END, str(city["home"]))
    finally:
        copy.unlink()
    outcomes = {f.source_file: f.outcome for f in again.feeds}
    assert outcomes[copy.relative_to(settings.inbox).as_posix()] == "duplicate_delivery"
    assert marts_snapshot(settings.published_db) == city["snapshot"]


def issues_at(city, source_file: str, row_number: int) -> set[str]:
    return {r[0] for r in query(city, "select i.rule_id from validation.row_issues i join raw.files f "
                                      "using (file_sha256) where f.source_file = ? and i.row_number = ?",
                                [source_file, row_number])}


@pytest.mark.parametrize(("kind", "rule_id"), [("missing_required", "missing_required_field"),
                                               ("bad_date", "unparseable_date"),
                                               ("late_report", "late_report")])
def test_row_defects_are_caught_and_named(city, kind, rule_id):
    defects = [d for d in city["manifest"].defects if d.kind == kind]
    assert defects, f"the sample city injected no {kind}"
    for defect in defects:
        assert rule_id in issues_at(city, defect.source_file, defect.row_number), defect


def test_bad_codes_are_flagged_and_kept(city):
    manifest = city["manifest"]
    for kind, rule_id, status in (("bad_check_char", "uscc_check_char", "check_char"),
                                  ("invalid_pair", "uscc_invalid_pair", "invalid_pair")):
        codes = manifest.subject_codes(kind)
        assert codes, f"no {kind} subject"
        for code in codes:
            assert uscc_problem(code) == rule_id
            flagged = query(city, "select count(*) from validation.row_issues "
                                  "where rule_id = ? and offending_value = ?", [rule_id, code])[0][0]
            kept = query(city, "select code_status from marts.dim_subject where uscc = ?", [code], db="published")
            if flagged:  # the subject delivered records in the range: flagged, kept, and visible to analysts
                assert kept == [(status,)], code


def test_duplicate_codes_reach_the_code_quality_mart(city):
    defects = [d for d in city["manifest"].defects if d.kind == "duplicate_code"]
    assert defects
    conflicts = {r[0] for r in query(city, "select uscc from marts.mart_code_quality_issues "
                                           "where conflict_kind = 'one_code_many_names'", db="published")}
    for defect in defects:
        assert defect.value in conflicts or defect.record_key and any(
            c in conflicts for c in [defect.value]), defect


def test_duplicate_files_are_recognised(city):
    pairs = city["manifest"].duplicate_files
    assert pairs
    outcomes = {f.source_file: f.outcome for s in city["summaries"] for f in s.feeds}
    for original, copy in pairs:
        assert {outcomes[original], outcomes[copy]} == {"landed", "duplicate_delivery"}


def test_corrected_resend_replaces_the_record(city):
    corrections = [d for d in city["manifest"].defects if d.kind == "corrected_resend"]
    assert corrections
    for correction in corrections:
        rows = query(city, "select f.source_file, version_count from marts.fct_credit_record r "
                           "join raw.files f on f.load_id = r.latest_load_id "
                           "where r.category_code = ? and r.record_key = ?",
                     [correction.category_code, correction.record_key])
        assert rows == [(correction.source_file, 2)], correction


def test_coverage_shows_the_category_a_department_never_sends(city):
    missing = city["manifest"].missing_feeds
    assert missing
    for department, category in missing:
        rows = query(city, "select bool_or(is_covered), bool_and(is_responsible), count(*) "
                           "from marts.mart_catalogue_coverage where department_code = ? and category_code = ?",
                     [department, category], db="published")
        assert rows[0][0] is False and rows[0][1] is True and rows[0][2] >= 1


def test_published_marts_hold_no_unmasked_id_numbers(city):
    id_numbers = {r[0].strip().upper() for r in query(
        city, "select distinct id_number from raw.feed_rows where id_number is not null and length(id_number) >= 15")}
    assert id_numbers, "the sample city delivered no person records"
    snapshot = marts_snapshot(city["settings"].published_db)
    assert snapshot
    for table, rows in snapshot.items():
        for row in rows:
            for candidate in RESIDENT_ID.findall(row.upper()):
                assert candidate not in id_numbers, (table, row)


def test_expectation_failures_are_recorded_with_samples_and_data_docs_are_offline(city):
    from credit_warehouse.validation.data_docs import remote_urls

    failed = dict(query(city, "select suite, count(*) from validation.expectation_results "
                              "where not success and unexpected_count > 0 and sample_values <> '[]' group by 1"))
    for suite in ("record_completeness", "field_format", "code_validity", "timeliness", "catalogue_completeness",
                  "code_quality"):
        assert failed.get(suite), f"no failing expectation with samples in suite {suite}"
    docs = city["settings"].data_docs_dir
    assert (docs / "index.html").exists()
    pages = list(docs.rglob("*.html"))
    assert len(pages) > 1
    assert remote_urls(docs) == []


def test_unchanged_suites_are_read_not_rewritten_and_a_hand_edit_is_undone(city):
    from credit_warehouse.validation import gx_project, suites
    from credit_warehouse.validation.rules import build_rules

    plans = suites.raw_plans(build_rules(Catalogue.load(), city["settings"].report_deadline_workdays))
    stored = gx_project.GX_CONTEXT_DIR / "gx"
    files = [stored / "checkpoints" / f"{suites.RAW_CHECKPOINT}.json",
             *(stored / kind / f"{plan.name}.json" for plan in plans for kind in ("expectations",
                                                                                 "validation_definitions"))]
    with gx_project.open_project(city["settings"]) as project:
        synced = suites.sync_checkpoint(project.context, suites.RAW_CHECKPOINT, plans)
        written = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in files}
        again = suites.sync_checkpoint(project.context, suites.RAW_CHECKPOINT, plans)
        assert again.id == synced.id
        assert [len(d.suite.expectations) for d in again.validation_definitions] == [len(p.specs) for p in plans]
        assert {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in files} == written
        edited = files[1]  # a suite: a steward "relaxes" one expectation by hand
        suite = json.loads(edited.read_text())
        suite["expectations"][0]["severity"] = "info"
        edited.write_text(json.dumps(suite))
        suites.sync_checkpoint(project.context, suites.RAW_CHECKPOINT, plans)
        assert edited.read_bytes() == written[edited][1]


def cli(*args: str):
    from credit_warehouse.cli import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, list(args))


def test_cli_shows_a_credit_file_by_uscc_and_by_resident_id(city):
    import json

    from credit_warehouse.codes import person_key

    home = str(city["home"])
    uscc = query(city, "select uscc from marts.mart_subject_credit_file where not is_person and total_records > 2 "
                       "order by uscc limit 1", db="published")[0][0]
    result = cli("show", uscc, "--json", "--home", home)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["profile"]["uscc"] == uscc and shown["categories"]

    secret = city["settings"].pii_secret
    published_keys = {r[0] for r in query(city, "select person_key from marts.dim_subject where is_person",
                                          db="published")}
    id_number = next(n for (n,) in query(city, "select distinct upper(trim(id_number)) from raw.feed_rows "
                                               "where id_number is not null order by 1")
                     if person_key(n, secret) in published_keys)
    result = cli("show", id_number.lower(), "--json", "--home", home)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["profile"]["person_key"] == person_key(id_number, secret)
    assert id_number not in result.output  # looked up by keyed hash, shown masked

    missing = cli("show", "91140213MA0000000X", "--home", home)
    assert missing.exit_code == 1


def test_cli_query_reads_the_published_warehouse(city):
    result = cli("query", "select count(*) as n from marts.dim_subject", "--csv", "--home", str(city["home"]))
    assert result.exit_code == 0, result.output
    expected = query(city, "select count(*) from marts.dim_subject", db="published")[0][0]
    assert result.output.splitlines() == ["n", str(expected)]
    assert cli("query", "select * from no_such_table", "--home", str(city["home"])).exit_code == 1


def test_incremental_staging_equals_a_full_rebuild(city, tmp_path):
    """The backfill builds staging in full; each daily load parses only its newly validated files. The
    result must equal rebuilding every model from raw: every staging, intermediate and mart table,
    row for row (EXCEPT ALL both ways)."""
    builds = [r[0] for r in query(city, "select full_refresh from ops.dbt_builds order by built_at")]
    assert builds[0] is True and len(builds) > 1 and not any(builds[1:]), builds
    compiled = city["home"] / "dbt/target/compiled/credit_warehouse/models/staging/stg_penalties.sql"
    assert "validated_at > cast(" in compiled.read_text()  # the daily builds read only their window
    compiled = compiled.parent.parent / "intermediate/int_credit_records.sql"
    assert "load_seq >= " in compiled.read_text()  # and recompute only the records it touched
    scans = list(compiled.parents[1].rglob("*no_unmasked_id_numbers*.sql"))
    windowed = {path.name.split(".")[0] for path in scans
                if "load_seq >= " in path.read_text()}  # PII scans read the window's rows of row-wise models
    assert any("int_credit_records" in name for name in windowed)
    assert not any("fct_penalty" in name for name in windowed)
    assert not any("_stg_" in path.name for path in scans)  # the work file's models are not scanned
    last_build = json.loads((city["home"] / "dbt/target/run_results.json").read_text())["results"]
    built = {r["unique_id"].split(".")[0] for r in last_build}
    assert "model" in built and "seed" not in built  # an incremental build keeps the seeds it has
    assert len({r["thread_id"] for r in last_build}) == 2  # and runs two nodes at once (dbt_threads)
    rebuilt = assert_equals_a_full_rebuild(city["settings"], tmp_path)
    log = (rebuilt / "dbt/logs/dbt.log").read_text()
    assert "Partial parsing enabled" in log and "Starting full parse" not in log  # another home's parse


def test_windowed_tests_still_fail_on_a_bad_row_of_the_window(city, tmp_path):
    """On a daily build the uniqueness tests of the models replaced per file, record or subject read
    only the keys of the build's window, and the tests of single rows (not null, relationships,
    patterns, expressions) only the window's rows: a duplicate that involves a row the build wrote, or
    a null or an unknown category in such a row, still fails. On a copy of the warehouse, with the
    window of the last validated files."""
    from credit_warehouse.transform import DbtFailed, run_dbt

    copy = copy_warehouse(city["settings"], tmp_path)
    window = last_window(copy)
    with pytest.MonkeyPatch.context() as env:
        for name, value in window.env().items():
            env.setenv(name, value)
        with connect(copy.work_db, marts_db=copy.marts_db) as con:
            record = con.execute(f"select min(record_id) from {RECORDS} where latest_load_seq >= ?",
                                 [window.from_load_seq]).fetchone()[0]
            con.execute(f"insert into {RECORDS} select * from {RECORDS} where record_id = ?", [record])
            con.execute(f"update {RECORDS} set latest_source_file = null where record_id = ?", [record])
            # another record of the window, its category unknown to the catalogue
            other = con.execute(f"select max(record_id) from {RECORDS} where latest_load_seq >= ?",
                                [window.from_load_seq]).fetchone()[0]
            con.execute(f"update {RECORDS} set category_code = 'Z99' where record_id = ?", [other])
        with pytest.raises(DbtFailed) as failed:
            run_dbt(copy, "test", "--select", "int_credit_records")
    compiled = next((copy.home / "dbt/target/compiled").rglob("unique_int_credit_records_record_id.sql")).read_text()
    assert f"load_seq >= {window.from_load_seq}" in compiled  # the windowed form ran
    assert "unique_int_credit_records_record_id" in str(failed.value)
    compiled = next((copy.home / "dbt/target/compiled").rglob("not_null_int_credit_records_latest_source_file.sql"))
    assert f"load_seq >= {window.from_load_seq}" in compiled.read_text()
    assert "not_null_int_credit_records_latest_source_file" in str(failed.value)
    compiled = [p.read_text() for p in (copy.home / "dbt/target/compiled").rglob("relationships_int_credit_*.sql")]
    category_test = next(sql for sql in compiled if "catalogue_categories" in sql)
    assert f"load_seq >= {window.from_load_seq}" in category_test
    assert "relationships_int_credit_records_category_code" in str(failed.value)


# the models kept per row, and a change by hand to one of a window subject's rows
KEPT_PER_ROW = {"mart_subject_category_summary": "record_count = record_count + 100",
                "fct_penalty_publicity": "penalty_content = penalty_content || '（改）'"}


def test_models_kept_per_row_replace_only_the_rows_that_changed(city, tmp_path):
    """mart_subject_category_summary and fct_penalty_publicity recompute the window's subjects but
    replace only the rows that differ from the kept ones (strategy changed_rows). Built again on a copy
    with the window of the last validated files (already applied), a row changed by hand is set right
    and every other row of the window's subjects stays where it was (same rowid: not rewritten)."""
    from credit_warehouse.transform import run_dbt

    copy = copy_warehouse(city["settings"], tmp_path)
    window = last_window(copy)

    def window_rows(con: duckdb.DuckDBPyConnection, table: str) -> dict[int, tuple]:
        return {row[0]: row[1:] for row in con.execute(
            f"select rowid, * from marts.{table} where subject_key in "
            "(select subject_key from intermediate.int_window_subjects)").fetchall()}

    with pytest.MonkeyPatch.context() as env:
        for name, value in window.env().items():
            env.setenv(name, value)
        run_dbt(copy, "run", "--select", "int_window_subjects")
        before, changed = {}, {}
        with connect(copy.work_db, marts_db=copy.marts_db) as con:
            for table, change in KEPT_PER_ROW.items():
                before[table] = window_rows(con, table)
                assert len(before[table]) > 1, table
                changed[table] = min(before[table])
                con.execute(f"update marts.{table} set {change} where rowid = ?", [changed[table]])
                assert window_rows(con, table)[changed[table]] != before[table][changed[table]]
        run_dbt(copy, "run", "--select", *KEPT_PER_ROW)
        with connect(copy.work_db, marts_db=copy.marts_db) as con:
            rebuilt = {table: window_rows(con, table) for table in KEPT_PER_ROW}
    for table in KEPT_PER_ROW:
        kept = {rowid: row for rowid, row in before[table].items() if rowid != changed[table]}
        assert {rowid: rebuilt[table].get(rowid) for rowid in kept} == kept, table
        assert changed[table] not in rebuilt[table], table  # replaced: a row of its own now
        assert sorted(rebuilt[table].values()) == sorted(before[table].values()), table  # set right


def test_a_full_uniqueness_test_of_several_columns_still_finds_a_duplicate(city, tmp_path):
    """Without a window, a key of several columns is grouped by its hash first and only the keys of
    colliding hashes by value: a duplicated (file_sha256, row_number) still fails the test."""
    from credit_warehouse.transform import WINDOW_ENV, DbtFailed, run_dbt

    copy = copy_warehouse(city["settings"], tmp_path)
    with connect(copy.work_db) as con:
        con.execute("insert into intermediate.int_feed_row_quality "
                    "select * from intermediate.int_feed_row_quality order by file_sha256, row_number limit 1")
    with pytest.MonkeyPatch.context() as env:
        for name in WINDOW_ENV:
            env.setenv(name, "")
        with pytest.raises(DbtFailed) as failed:
            run_dbt(copy, "test", "--select", "int_feed_row_quality")
    test_name = "unique_combination_of_columns_int_feed_row_quality_file_sha256__row_number"
    assert test_name in str(failed.value)
    compiled = [p.read_text() for p in (copy.home / "dbt/target/compiled").rglob("*.sql")]
    assert any("colliding_hashes" in sql and "int_feed_row_quality" in sql for sql in compiled)  # the hashed form ran


def test_pii_scans_of_models_kept_per_key_read_the_rows_the_build_wrote(city, tmp_path):
    """int_ledger_reconciliation is replaced per ledger entry, and fct_penalty_publicity per subject with
    its kept rows judged again in place (dates, flags, statuses): their PII scans read only the rows
    the build wrote, since no text changes in place. An ID number in such a row still fails them. On a
    copy of the warehouse, with the window of the files since the latest ledger's."""
    from credit_warehouse.transform import DbtFailed, run_dbt

    ledger = f"{MARTS_CATALOG}.intermediate.int_ledger_reconciliation"  # stored in the marts file
    copy = copy_warehouse(city["settings"], tmp_path)
    with duckdb.connect(str(copy.work_db)) as con:
        ledger_file, validated_at = con.execute(
            "select ledger.file_sha256, validated.validated_at from staging.stg_ledger_entries as ledger "
            "join validation.validated_files as validated using (file_sha256) "
            "order by ledger.load_seq desc limit 1").fetchone()
        window = window_since(con, validated_at - dt.timedelta(microseconds=1), "")
    with pytest.MonkeyPatch.context() as env:
        for name, value in window.env().items():
            env.setenv(name, value)
        run_dbt(copy, "run", "--select", "int_window_subjects")
        with connect(copy.work_db, marts_db=copy.marts_db) as con:
            changed = con.execute(f"update {ledger} set subject_name = ? where ledger_entry_id = (select "
                                  f"min(ledger_entry_id) from {ledger} where ledger_source_file in (select "
                                  "source_file from staging.stg_ledger_entries where file_sha256 = ?))",
                                  [PERSON_ID, ledger_file])
            assert changed.fetchone()[0] == 1
            changed = con.execute("update marts.fct_penalty_publicity set penalty_content = ? where record_id = "
                                  "(select min(record_id) from marts.fct_penalty_publicity where subject_key in "
                                  "(select subject_key from intermediate.int_window_subjects))", [PERSON_ID])
            assert changed.fetchone()[0] == 1
        with pytest.raises(DbtFailed) as failed:
            run_dbt(copy, "test", "--select", "int_ledger_reconciliation", "fct_penalty_publicity")
    compiled = copy.home / "dbt/target/compiled"
    ledger_scan = next(sql for sql in (path.read_text() for path in compiled.rglob("*no_unmasked_i*.sql"))
                       if "hit_1" in sql and "int_ledger_reconciliation" in sql)  # dbt shortens the name
    assert "ledger_entry_id in (" in ledger_scan and "load_seq >= " in ledger_scan  # the windowed form ran
    assert "int_window_subjects" in next(compiled.rglob("*no_unmasked_id_numbers_fct_penalty_publicity*.sql")
                                         ).read_text()
    assert "no_unmasked_id_numbers_int_ledger_reconciliation" in str(failed.value)
    assert "no_unmasked_id_numbers_fct_penalty_publicity" in str(failed.value)


def assert_equals_a_full_rebuild(built: Settings, home: Path) -> Path:
    """Rebuild every model from raw in ``home`` from a copy of ``built``'s warehouse; every staging,
    intermediate and mart table must equal ``built``'s, row for row (EXCEPT ALL both ways)."""
    from credit_warehouse.transform import run_dbt, staging_window

    rebuilt = copy_warehouse(built, home)
    assert not staging_window(rebuilt).full_refresh  # same project, seeds, vars and validated files
    run_dbt(rebuilt, "build", "--full-refresh", "--exclude", "resource_type:test")
    with connect(rebuilt.work_db, marts_db=rebuilt.marts_db) as con:
        current = con.execute("select current_database()").fetchone()[0]
        # the catalog of the incremental builds per catalog of the rebuild
        incremental_of = {current: "incremental", MARTS_CATALOG: "incremental_marts"}
        con.execute(f"attach '{built.work_db}' as incremental (read_only)")
        con.execute(f"attach '{built.marts_db}' as incremental_marts (read_only)")
        tables = con.execute("select table_catalog, table_schema, table_name from information_schema.tables "
                             f"where table_catalog in ('{current}', '{MARTS_CATALOG}') and table_schema in "
                             "('staging', 'intermediate', 'marts') and table_type = 'BASE TABLE'").fetchall()
        assert len([t for t in tables if t[1] == "staging"]) >= 16
        assert len([t for t in tables if t[1] == "marts"]) >= 25
        assert (MARTS_CATALOG, "intermediate", "int_credit_records") in tables
        # a full refresh swaps in rebuilt tables of the indexed ones (dbt drops an index before the swap)
        # and indexes them again
        indexes = {catalog: con.execute("select schema_name, table_name, expressions from duckdb_indexes() "
                                        "where database_name = ? order by all", [catalog]).fetchall()
                   for catalog in (MARTS_CATALOG, "incremental_marts")}
        assert indexes[MARTS_CATALOG] == indexes["incremental_marts"] and indexes[MARTS_CATALOG]
        for rebuilt_catalog, schema, table in tables:
            if table == "int_window_subjects":
                continue  # the build's plan, not data: the window's subjects, or every subject in full
            incremental = incremental_of[rebuilt_catalog]
            for a, b in ((incremental, rebuilt_catalog), (rebuilt_catalog, incremental)):
                differing = con.execute(f"select count(*) from (select * from {a}.{schema}.{table} "
                                        f"except all select * from {b}.{schema}.{table})").fetchone()[0]
                assert differing == 0, f"{schema}.{table}: {differing} row(s) of {a} not in {b}"
    return home


def delivered_row(city, inbox: Path, candidates: list[tuple], code_at: int) -> tuple:
    """The first candidate (its columns, its source file and row number last) delivered in a UTF-8 CSV
    without title rows (so its row number is its data row) whose row holds its column ``code_at``:
    the candidate's columns, then the file's header and that row."""
    utf8_csv = {f.source_file for f in city["manifest"].files if f.file_format == "csv" and f.encoding == "utf-8"}
    for *keys, source, row_number in candidates:
        if source in utf8_csv:
            with (inbox / source).open(encoding="utf-8", newline="") as stream:
                header, *rows = list(csv.reader(stream))
            if row_number <= len(rows) and keys[code_at] in rows[row_number - 1]:
                return (*keys, header, rows[row_number - 1])
    raise AssertionError("no such record in a UTF-8 CSV of the city")


def movable_record(city, inbox: Path) -> tuple:
    """An organisation's penalty (keyed by document number, not USCC) delivered once in a UTF-8 CSV,
    another registered organisation's USCC to move it to, and the file's header and row."""
    candidates = query(city, "select r.record_key, r.subject_key, r.department_code, r.category_code, (select "
                             "min(uscc) from intermediate.int_subjects s where s.has_registration and "
                             "s.subject_key <> r.subject_key), r.latest_source_file, r.latest_row_number "
                             f"from {RECORDS} r where r.uscc is not null and not r.is_person "
                             "and r.version_count = 1 and r.record_layout = 'penalty' order by r.record_id")
    return delivered_row(city, inbox, candidates, 1)


def test_a_resend_that_moves_a_record_to_another_subject_updates_both_subjects(city, tmp_path):
    """Subjects are rebuilt incrementally from the records a daily load touched. A department re-sends a
    record under another organisation's USCC: the record moves, the subject it left loses it (or
    disappears), and everything equals a full rebuild."""
    from credit_warehouse.inbox import inbox_path
    from credit_warehouse.pipeline import daily_load

    home = tmp_path / "moved"
    shutil.copytree(city["home"], home)
    settings = load_settings(home)
    record_key, old_key, department, category, new_key, header, row = movable_record(city, settings.inbox)
    moved = [new_key if value == old_key else value for value in row]
    day = END + dt.timedelta(days=1)
    target = inbox_path(settings.inbox, department, category, day, "csv", "corr1")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([header, moved])
    counts_before = dict(query(city, "select subject_key, record_count from intermediate.int_subjects "
                                     "where subject_key in (?, ?)", [old_key, new_key]))

    assert daily_load(day, str(home)).status == "succeeded"
    with connect(settings.work_db, read_only=True, marts_db=settings.marts_db) as con:
        assert con.execute(f"select subject_key from {RECORDS} where record_key = ? "
                           "and category_code = ?", [record_key, category]).fetchall() == [(new_key,)]
        counts = dict(con.execute("select subject_key, record_count from intermediate.int_subjects "
                                  "where subject_key in (?, ?)", [old_key, new_key]).fetchall())
    assert counts.get(old_key, 0) == counts_before[old_key] - 1
    assert counts[new_key] == counts_before[new_key] + 1
    assert_equals_a_full_rebuild(settings, tmp_path / "rebuilt")


def renamable_record(city, inbox: Path) -> tuple:
    """A penalty of an organisation without a registration record and with other records, delivered once
    in a UTF-8 CSV, with the file's header and row: re-sent later, it names the subject (int_subjects
    takes the latest record's name when there is no registration)."""
    candidates = query(city, "select r.subject_key, r.department_code, r.category_code, r.latest_source_file, "
                             f"r.latest_row_number from {RECORDS} r "
                             "inner join intermediate.int_subjects s on s.subject_key = r.subject_key "
                             "where not s.has_registration and s.record_count > 2 and not r.is_person "
                             "and r.version_count = 1 and r.record_layout = 'penalty' order by r.record_id")
    return delivered_row(city, inbox, candidates, 0)


def test_a_resend_that_renames_a_subject_updates_all_its_records(city, tmp_path):
    """fct_credit_record joins each record's subject when read. A record re-sent under a new subject name
    renames the subject: every one of its records, re-sent or not, shows the new name, and everything
    equals a full rebuild."""
    from credit_warehouse.inbox import inbox_path
    from credit_warehouse.pipeline import daily_load

    home = tmp_path / "renamed"
    shutil.copytree(city["home"], home)
    settings = load_settings(home)
    subject_key, department, category, header, row = renamable_record(city, settings.inbox)
    fields = Catalogue.load().header_map(category)
    name_column = next(i for i, name in enumerate(header) if fields.get(normalize_header(name)) == "subject_name")
    new_name = row[name_column] + "（更名）"
    row = [new_name if i == name_column else value for i, value in enumerate(row)]
    day = END + dt.timedelta(days=1)
    target = inbox_path(settings.inbox, department, category, day, "csv", "corr1")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([header, row])

    assert daily_load(day, str(home)).status == "succeeded"
    con = duckdb.connect(str(settings.marts_db), read_only=True)
    try:
        names = con.execute("select subject_display_name, count(*) from marts.marts.fct_credit_record "
                            "where subject_key = ? group by 1", [subject_key]).fetchall()
    finally:
        con.close()
    assert len(names) == 1 and names[0][0] == new_name and names[0][1] > 2, names
    assert_equals_a_full_rebuild(settings, tmp_path / "rebuilt")


def test_a_decision_reported_after_its_ledger_is_reconciled(city, tmp_path):
    """A decision the ledger (台账) listed days ago and the department never reported is reported late
    (补报) in a file of its own. No ledger row arrives, yet the daily build recomputes that entry (kept per
    entry, found by its document number): reported, not concealed, equal to a full rebuild."""
    from credit_warehouse.inbox import inbox_path
    from credit_warehouse.pipeline import daily_load

    home = tmp_path / "late"
    shutil.copytree(city["home"], home)
    settings = load_settings(home)
    files = {(f.department_code, f.category_code): f.source_file for f in city["manifest"].files
             if f.file_format == "csv" and f.encoding == "utf-8"}
    decision = next(d for d in city["manifest"].concealed_decisions if (d.department_code, d.category_code) in files)
    sql = "select is_reported, is_concealed from marts.fct_ledger_decision where department_code = ? and doc_number = ?"
    assert [reported for reported, _ in query(city, sql, [decision.department_code, decision.doc_number])] == [False]
    with (settings.inbox / files[(decision.department_code, decision.category_code)]).open(encoding="utf-8") as stream:
        lines = list(csv.reader(stream))
    fields = Catalogue.load().header_map(decision.category_code)  # as landing reads headers
    header_row = next(i for i, line in enumerate(lines)  # after any title rows
                      if "doc_number" in {fields.get(normalize_header(name)) for name in line})
    header, row = lines[header_row], lines[header_row + 1]
    row[next(i for i, name in enumerate(header) if fields.get(normalize_header(name)) == "doc_number")] = (
        decision.doc_number)
    day = END + dt.timedelta(days=1)
    target = inbox_path(settings.inbox, decision.department_code, decision.category_code, day, "csv", "late1")
    with target.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([header, row])

    assert daily_load(day, str(home)).status == "succeeded"
    with connect(settings.work_db, read_only=True, marts_db=settings.marts_db) as con:
        assert con.execute(sql, [decision.department_code, decision.doc_number]).fetchall() == [(True, False)]
    assert_equals_a_full_rebuild(settings, tmp_path / "rebuilt")


def test_a_changed_catalogue_or_revalidated_file_rebuilds_staging_in_full(city, tmp_path):
    from credit_warehouse.transform import staging_window

    settings = copy_warehouse(city["settings"], tmp_path)
    window = staging_window(settings)
    assert not window.full_refresh and window.validated_after is not None
    changed = dataclasses.replace(settings, report_deadline_workdays=settings.report_deadline_workdays + 1)
    assert staging_window(changed).full_refresh  # a dbt var: models may read it
    away = settings.marts_db.rename(settings.marts_db.with_name("marts.away"))
    assert staging_window(settings).reason == "the marts file is missing"  # deleted by hand: rebuild
    away.rename(settings.marts_db)
    con = duckdb.connect(str(settings.work_db))  # a steward asks for one file to be validated again
    con.execute("delete from validation.validated_files where file_sha256 = "
                "(select min(file_sha256) from validation.validated_files)")
    con.close()
    assert staging_window(settings).full_refresh


def test_dbt_builds_one_node_at_a_time_when_large_and_two_otherwise(city, monkeypatch):
    """A build of many rows has large nodes that would share DuckDB's cores and memory limit; a daily
    window's nodes, and a small warehouse's, are small: one node's Python overlaps another's SQL. The
    size is the landed rows the build reads: all of them in a full refresh, the window's otherwise.
    CREDITWH_DBT_THREADS overrides the choice."""
    from credit_warehouse.transform import SMALL_BUILD_ROWS, StagingWindow, dbt_threads, rows_to_build, staging_window

    settings = city["settings"]
    landed = query(city, "select sum(rows_in) from raw.files")[0][0]
    assert rows_to_build(settings, StagingWindow("digest", True)) == landed
    assert rows_to_build(settings, staging_window(settings)) == 0  # nothing validated since the last build
    monkeypatch.delenv("CREDITWH_DBT_THREADS", raising=False)
    defaults = load_settings(settings.home)
    assert [dbt_threads(defaults, rows) for rows in (SMALL_BUILD_ROWS + 1, SMALL_BUILD_ROWS, 0)] == [1, 2, 2]
    monkeypatch.setenv("CREDITWH_DBT_THREADS", "3")
    assert dbt_threads(load_settings(settings.home), SMALL_BUILD_ROWS + 1) == 3


def test_published_subject_lookups_are_indexed(city):
    """`creditwh show` and analysts look subjects up by key: every published table with a subject_key
    column carries an index on it, a table with only uscc one on uscc, so a lookup does not scan the
    table. Where a table has both, uscc is the subject_key or null, so its subject_key index serves it.
    The fct_credit_record view is looked up through the table it reads, int_credit_records."""
    columns = query(city, "select table_schema, table_name, column_name from information_schema.columns "
                    "inner join information_schema.tables using (table_catalog, table_schema, table_name) "
                    "where table_type = 'BASE TABLE' and column_name in ('subject_key', 'uscc')", db="published")
    indexes = query(city, "select schema_name, table_name, expressions from duckdb_indexes()", db="published")
    by_table: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in columns:
        by_table.setdefault((schema, table), set()).add(column)
    assert {("marts", "mart_subject_credit_file"), ("marts", "mart_subject_category_summary")} <= set(by_table)
    expected = {(*table, "[subject_key]" if "subject_key" in names else "[uscc]") for table, names in by_table.items()}
    assert sorted(indexes) == sorted(expected)
    # dbt built them in the marts file (macro lookup_index), and the daily builds kept the incremental
    # models' ones: publish had none left to build
    built = query(city, "select schema_name, table_name, expressions from duckdb_indexes() "
                  f"where database_name = '{MARTS_CATALOG}'")
    assert sorted(built) == sorted(indexes)
    both = [table for table, names in by_table.items() if names == {"subject_key", "uscc"}]
    assert ("intermediate", "int_credit_records") in both
    for schema, table in both:
        assert query(city, f"select count(*) from {schema}.{table} where uscc <> subject_key", db="published") == [(0,)]


def test_a_subject_s_records_are_read_from_the_fact_view_through_the_index(city):
    """fct_credit_record is a view joining int_credit_records to the dimensions: a lookup of one subject
    must reach the records through their subject_key index, not scan them (an inner join in the view
    adds a filter to the records' scan, and DuckDB then ignores the index)."""
    subject, count = query(city, "select subject_key, count(*) from intermediate.int_credit_records "
                           "group by all order by 2 desc, 1 limit 1", db="published")[0]
    sql = "select * from marts.fct_credit_record where subject_key = ?"
    assert len(query(city, sql, [subject], db="published")) == count
    # DuckDB picks an index scan when the query runs: the executed plan says which scan ran
    plan = json.loads(query(city, "explain (analyze, format json) " + sql.replace("?", f"'{subject}'"),
                            db="published")[0][1])

    def operators(node: dict) -> list[dict]:
        return [node, *[op for child in node.get("children", []) for op in operators(child)]]

    scans = {op["extra_info"]["Table"].split(".", 1)[1]: op["extra_info"].get("Type")
             for root in plan["operator"] for op in operators(root) if "Table" in op["extra_info"]}
    assert scans["intermediate.int_credit_records"] == "Index Scan", scans


def test_the_published_file_is_the_marts_file_readable_by_older_clients(city):
    """Publish copies the marts file dbt built (not the work file): the same marts and the intermediate
    models kept there (int_credit_records and int_ledger_reconciliation, the rows behind the
    fct_credit_record and fct_ledger_decision views, and int_as_of_date), no other schema of the
    warehouse, and the storage version DuckDB 1.4/1.5 clients open (a file keeps the one it was created
    with, here by dbt's attach). The views read their own file, whatever name the file is opened under."""
    from credit_warehouse.transform import MOVED_TO_MARTS_FILE

    relations = "select table_schema, table_name, table_type from information_schema.tables where table_catalog = "
    published = query(city, relations + "current_database()", db="published")
    built = query(city, relations + f"'{MARTS_CATALOG}'")
    assert sorted(published) == sorted(built)
    assert {schema for schema, _, _ in published} == {"marts", "intermediate"}
    assert sorted(t for t in published if t[0] == "intermediate") == sorted(
        (schema, table, "BASE TABLE") for schema, table in MOVED_TO_MARTS_FILE)
    for view, table in (("fct_credit_record", RECORDS),
                        ("fct_ledger_decision", f"{MARTS_CATALOG}.intermediate.int_ledger_reconciliation")):
        assert ("marts", view, "VIEW") in published
        count = f"select count(*) from marts.{view}"
        assert query(city, count, db="published") == query(city, count) == query(city, f"select count(*) from {table}")
    for db in ("published", "work"):
        tags = query(city, "select tags from duckdb_databases() where database_name = "
                     + ("current_database()" if db == "published" else f"'{MARTS_CATALOG}'"), db=db)
        assert tags == [({"storage_version": f"{STORAGE_VERSION}+"},)], db


def test_a_warehouse_of_an_earlier_release_has_its_retired_tables_dropped(city, tmp_path):
    """Earlier releases built the marts, int_credit_records, int_ledger_reconciliation and int_as_of_date
    inside work.duckdb, and the record keys in staging.stg_feed_row_keys: the next build drops them (a
    stale copy; a keyed table the conservation check would count as staged rows) and, the project's
    fingerprint having changed, rebuilds in full."""
    from credit_warehouse.run_summary import staged_row_counts
    from credit_warehouse.transform import RETIRED_TABLES, drop_retired_tables

    settings = copy_warehouse(city["settings"], tmp_path)
    with connect(settings.work_db) as con:
        staged = staged_row_counts(con)
        con.execute("create schema marts")
        con.execute("create table marts.dim_subject as select 1 as stale")
        for schema, table in RETIRED_TABLES:
            con.execute(f"create table {schema}.{table} as select file_sha256, row_number, record_key "
                        "from staging.stg_penalties")
        assert staged_row_counts(con) != staged
    count = "select count(*) from marts.dim_subject"
    assert query({"settings": settings}, count) == query(city, count)  # the search path reads the marts file
    assert drop_retired_tables(settings)
    with connect(settings.work_db) as con:
        assert con.execute("select schema_name from duckdb_schemas() where database_name = current_database() "
                           "and schema_name = 'marts'").fetchall() == []
        assert con.execute("select schema_name, table_name from duckdb_tables() "
                           "where database_name = current_database() and schema_name || '.' || table_name "
                           "in (select unnest(?))", [[f"{s}.{t}" for s, t in RETIRED_TABLES]]).fetchall() == []
        assert staged_row_counts(con) == staged
    assert not drop_retired_tables(settings)
    assert query({"settings": settings}, count) == query(city, count)
    assert not drop_retired_tables(settings)  # nothing left to drop


def test_cli_exits_non_zero_when_a_run_fails(tmp_path, prefect_harness):
    settings = load_settings(tmp_path)
    settings.ensure_dirs()
    settings.work_db.write_bytes(b"this is not a duckdb file")  # the warehouse cannot be opened
    result = cli("run", "2026-10-09", "--home", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert "run failed" in result.output
    assert cli("run", "2026-13-01", "--home", str(tmp_path)).exit_code != 0  # not a date


def test_indicator_marts_follow_the_generated_facts(city):
    """The ledgers, objections and repairs of the sample city reach the indicator marts as generated."""
    manifest: GenerationManifest = city["manifest"]
    ledger = {(d, doc): (reported, concealed) for d, doc, reported, concealed in query(
        city, "select department_code, doc_number, is_reported, is_concealed from marts.fct_ledger_decision",
        db="published")}
    assert manifest.concealed_decisions
    for decision in manifest.concealed_decisions:  # never reported; concealed once past its deadline
        assert ledger[(decision.department_code, decision.doc_number)][0] is False, decision
    assert any(ledger[(d.department_code, d.doc_number)][1] for d in manifest.concealed_decisions)
    assert query(city, "select count(*) from marts.mart_double_publicity_rates where reporting_rate < 1",
                 db="published")[0][0] > 0
    cases = {(kind, d, number): (closed, workdays, overdue) for kind, d, number, closed, workdays, overdue in query(
        city, "select 'objection', department_code, objection_number, is_closed, handling_workdays, is_overdue "
              "from marts.fct_objection union all select 'repair', department_code, repair_number, is_closed, "
              "handling_workdays, is_overdue from marts.fct_credit_repair", db="published")}
    assert manifest.cases
    for case in manifest.cases:
        closed, workdays, overdue = cases[(case.kind, case.department_code, case.number)]
        if case.closed_date is not None:
            assert closed and workdays == case.handling_workdays and overdue == case.late, case
    for table in ("mart_department_monthly_score", "mart_demonstration_indicators", "mart_commitment_indicators",
                  "mart_code_quality_rate", "fct_penalty_publicity", "mart_catalogue_coverage_district"):
        assert query(city, f"select count(*) from marts.{table}", db="published")[0][0] > 0, table


def test_no_unmasked_id_number_anywhere_outside_the_restricted_layer(city):
    """Every published table and every file of the data home (Data Docs, validation results, exports,
    dbt artefacts...) except the documented restricted layer (inbox, work warehouse)."""
    from credit_warehouse.privacy import raw_id_numbers, scan_home

    settings = city["settings"]
    id_numbers = raw_id_numbers(settings.work_db)
    assert len(id_numbers) > 10, "the sample city delivered too few ID numbers to prove anything"
    findings, scanned = scan_home(settings, id_numbers)
    assert findings == []
    assert "warehouse/published.duckdb" in scanned
    assert any(s.startswith("reports/data_docs/") and s.endswith(".html") for s in scanned)
    assert any(s.startswith("reports/gx_validation_results/") and s.endswith(".json") for s in scanned)
