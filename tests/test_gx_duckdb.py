"""The Great Expectations shim for DuckDB (validation/gx_duckdb.py), on a real GX context and DuckDB file:
counts and samples come back, each from one run of its query."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

FAILING = "select id, code from {batch} where code not like 'A%' order by id"
CLEAN = "select id, code from {batch} where code is null order by id"
MANY = "select id, code from {batch} where code like 'A%' order by id desc"  # 990 rows: more than a sample


@pytest.fixture
def statements(tmp_path: Path):
    """Run FAILING and CLEAN through GX on a 1,000-row table; the SQL GX sent, and the results."""
    import great_expectations as gx
    from credit_warehouse.validation import gx_duckdb
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    database = tmp_path / "shim.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create table codes as select range as id, case when range % 100 = 7 then 'B' || range "
                    "else 'A' || range end as code from range(1000)")
    gx_duckdb.apply()
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        context = gx.get_context(mode="ephemeral")
        source = context.data_sources.add_sql("shim", connection_string=f"duckdb:///{database}")
        batch = source.add_table_asset("codes", table_name="codes").add_batch_definition_whole_table("all").get_batch()
        results = {name: batch.validate(gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=query),
                                        result_format="COMPLETE")
                   for name, query in (("failing", FAILING), ("clean", CLEAN), ("many", MANY))}
        gx_duckdb.close_execution_engine(source.get_execution_engine())
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return sent, results


def test_counts_and_samples_come_back_from_duckdb(statements):
    _, results = statements
    failing, clean = results["failing"], results["clean"]
    assert not failing.success and failing.result["observed_value"] == 10
    sample = [row["code"] for row in failing.result["details"]["unexpected_rows"]]
    assert sample == [f"B{i}" for i in range(7, 1000, 100)]
    assert clean.success and clean.result["observed_value"] == 0 and clean.result["details"]["unexpected_rows"] == []


def test_each_query_runs_once_for_its_count_and_sample(statements):
    sent, results = statements
    for name, marker in (("failing", "not like 'A%'"), ("clean", "code is null"), ("many", "order by id desc")):
        ran = [s for s in sent if marker in s]
        assert len(ran) == 1, (name, ran)  # the count kept the sample: no second scan
        assert "count(*)" in ran[0].lower()
    assert results["clean"].result["details"]["unexpected_rows"] == []


def test_a_sample_is_the_querys_first_rows_limited_in_the_sql(statements):
    from great_expectations.constants import MAX_RESULT_RECORDS

    sent, results = statements
    many = results["many"]
    assert many.result["observed_value"] == 990
    sample = [row["id"] for row in many.result["details"]["unexpected_rows"]]
    first = [i for i in range(999, -1, -1) if i % 100 != 7][:MAX_RESULT_RECORDS]  # MANY's order, as built
    assert sample == first
    assert set(many.result["details"]["unexpected_rows"][0]) == {"id", "code"}  # the count is not a column
    queried = [s for s in sent if "order by id desc" in s]
    assert len(queried) == 1 and f"limit {MAX_RESULT_RECORDS})" in queried[0]
