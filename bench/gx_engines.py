"""The same Great Expectations suite on the same rows: pandas DataFrame vs SQL in DuckDB.

The production suites are ``UnexpectedRowsExpectation`` queries, which GX runs on SQL only; so the
comparison uses one category's completeness and format checks written as GX's built-in column
expectations (required fields not null, dates and USCCs matching their patterns, enumerations in
their value sets), which GX can run on both engines. Rows: the first ``ROWS`` landed 行政许可 (C02)
rows in landing order (all of them in a smaller city).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
from credit_warehouse.catalogue import Catalogue

CATEGORY = "C02"
DATE_PATTERN = r"^\d{4}([-/.年]?)\d{1,2}([-/.月]?)\d{1,2}日?$"
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"
# Both engines' time grows with the rows (pandas 65.1 s on the year's 4.8M C02 rows, 11.9 s on
# 480,356): a million rows shows the gap and keeps the comparison to ~20 s of the full run's budget.
ROWS = 1_000_000


def expectations(catalogue: Catalogue) -> list[Any]:
    import great_expectations as gx

    found: list[Any] = []
    for spec in catalogue.fields_of(CATEGORY):
        if spec.requirement == "required":
            found.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=spec.field))
        if spec.data_type == "date":
            found.append(gx.expectations.ExpectColumnValuesToMatchRegex(column=spec.field, regex=DATE_PATTERN))
        elif spec.data_type == "uscc":
            found.append(gx.expectations.ExpectColumnValuesToMatchRegex(column=spec.field, regex=USCC_PATTERN))
        elif spec.data_type == "enum" and spec.enum_values:
            found.append(gx.expectations.ExpectColumnValuesToBeInSet(column=spec.field,
                                                                     value_set=list(spec.enum_values)))
    return found


def copy_rows(work_db: Path, scratch: Path, rows: int = ROWS) -> tuple[Path, int]:
    """The category's first ``rows`` landed rows, blanks as NULL, into their own DuckDB file (GX reads
    it, not the warehouse, which the next load then has to itself); returns the file and its row count."""
    catalogue = Catalogue.load()
    target = scratch / "gx_engines.duckdb"
    columns = ", ".join(f"nullif(trim({f.field}), '') as {f.field}" for f in catalogue.fields_of(CATEGORY))
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{work_db}' as work (read_only)")
        # in landing order without a sort: DuckDB keeps insertion order (preserve_insertion_order) and
        # the top-N sort of the year's C02 rows took this process to 4.8 GiB
        con.execute(f"create table rows as select {columns} from work.raw.feed_rows where category_code = ? "
                    "limit ?", [CATEGORY, rows])
        return target, int(con.execute("select count(*) from rows").fetchone()[0])


def _run(context: Any, name: str, batch_definition: Any, found: list[Any], **parameters: Any) -> tuple[float, int]:
    """Validate the batch with a suite of ``found`` (fresh expectation objects: GX binds them to one suite)."""
    import great_expectations as gx

    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_suite", expectations=found))
    definition = context.validation_definitions.add(gx.ValidationDefinition(
        name=f"{name}_validation", data=batch_definition, suite=suite))
    started = time.perf_counter()
    result = definition.run(batch_parameters=parameters or None, result_format="SUMMARY")
    seconds = time.perf_counter() - started
    failing = sum(not r.success for r in result.results)
    errors = [r for r in result.results if r.exception_info.get("raised_exception")]
    if errors:
        raise RuntimeError(f"{name}: {len(errors)} expectation(s) raised: {errors[0].exception_info}")
    return seconds, failing


def compare(rows_db: Path, rows: int) -> dict[str, float | int]:
    """Seconds of the suite on pandas (with and without fetching the DataFrame) and as SQL, on the
    rows ``copy_rows`` wrote."""
    import great_expectations as gx
    from credit_warehouse.validation import gx_duckdb
    from great_expectations.data_context.types.base import ProgressBarsConfig

    catalogue = Catalogue.load()
    gx_duckdb.apply()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)

    started = time.perf_counter()
    with duckdb.connect(str(rows_db), read_only=True) as con:  # before GX opens the file read-write
        frame = con.execute("select * from rows").df()
    fetch_seconds = time.perf_counter() - started
    pandas_batch = (context.data_sources.add_pandas("pandas").add_dataframe_asset("rows")
                    .add_batch_definition_whole_dataframe("all"))
    pandas_seconds, pandas_failing = _run(context, "pandas", pandas_batch, expectations(catalogue), dataframe=frame)

    sql_source = context.data_sources.add_sql("duckdb", connection_string=f"duckdb:///{rows_db}")
    sql_batch = sql_source.add_table_asset("rows", table_name="rows").add_batch_definition_whole_table("all")
    sql_seconds, sql_failing = _run(context, "sql", sql_batch, expectations(catalogue))
    if pandas_failing != sql_failing:
        raise RuntimeError(f"engines disagree: {pandas_failing} failing expectations on pandas, {sql_failing} in SQL")
    return {"rows": rows, "expectations": len(expectations(catalogue)), "failing": sql_failing,
            "sql_seconds": sql_seconds, "pandas_seconds": pandas_seconds, "fetch_seconds": fetch_seconds}
