"""Compatibility shim: Great Expectations 1.24 on DuckDB through duckdb-engine.

GX has no DuckDB dialect, and out of the box every expectation on a DuckDB SQL datasource fails
(``MetricResolutionError: list index out of range``):

1. GX hands queries to a fresh pooled connection and closes/rolls it back before the rows are
   fetched; DuckDB then returns nothing. GX already keeps one persisted connection for dialects
   that need it (sqlite, SQL Server...): adding ``duckdb`` to that list fixes the fetches.
2. GX resolves dialect-specific SQL (regex operators, types) through ``dialect_module``, which it
   leaves ``None`` for unknown dialects ("Regex is not supported for dialect duckdb").
   duckdb-engine's dialect derives from SQLAlchemy's PostgreSQL dialect, so the PostgreSQL module
   is the right stand-in.
3. Not DuckDB's: an ``UnexpectedRowsExpectation`` asks for two metrics, the count of the query's rows
   and a sample of them, and GX runs the query in full for each, also when the count is zero. Most
   rules find nothing in most batches (62 of 110 in a month of the 1,000,000-subject city), so half
   of the suite's evaluations only confirmed an empty result. The sample metric now depends on the
   count and returns no rows without a query when the count is zero (``SampleOnlyWhenUnexpected``):
   that month validated in 31.0-31.9 s instead of 33.8-34.9 s, with the same results.
4. Not DuckDB's either: where a count finds rows, GX then scans the batch again for the sample. The
   count now runs the query once for both (``CountWithFirstRecords``): the offending rows are
   materialised (a few thousand of millions), counted, and their first 200 kept for the sample
   metric, which takes them instead of querying (``_FIRST_RECORDS``). The 200-row limit is in that
   SQL: GX ran the query whole and fetched 200 rows.

``apply()`` patches all four, once per process; ``tests/test_gx_duckdb.py`` proves counts and samples right.
"""

from __future__ import annotations

import enum
import logging
import weakref
from typing import Any

DUCKDB_DIALECT = "duckdb"
_STAND_IN_DIALECT_MODULE = "sqlalchemy.dialects.postgresql"


class _ShimDialect(enum.StrEnum):
    """A str equal to "duckdb" that also has ``.value``, as GX's own dialect enum members do."""

    DUCKDB = DUCKDB_DIALECT


def apply() -> None:
    """Patch GX for DuckDB. Idempotent: calling it again changes nothing."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    dialects = engine_module._PERSISTED_CONNECTION_DIALECTS
    if not any(d == DUCKDB_DIALECT for d in dialects):
        engine_module._PERSISTED_CONNECTION_DIALECTS = (*dialects, _ShimDialect.DUCKDB)

    engine_class: Any = engine_module.SqlAlchemyExecutionEngine
    if getattr(engine_class, "_credit_warehouse_duckdb_shim", False):
        return
    original_init = engine_class.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self.dialect_name == DUCKDB_DIALECT and self.dialect_module is None:
            import importlib

            self.dialect_module = importlib.import_module(_STAND_IN_DIALECT_MODULE)

    __init__.__wrapped__ = original_init  # type: ignore[attr-defined]
    engine_class.__init__ = __init__
    engine_class._credit_warehouse_duckdb_shim = True
    _register_sample_only_when_unexpected()


ROW_COUNT_METRIC = "unexpected_rows_query.row_count"


def _register_sample_only_when_unexpected() -> None:
    """Replace GX's provider of ``unexpected_rows_query.table`` by a subclass that skips the query when
    the count metric, now its dependency, is zero. Defining the subclass registers it under the same
    metric name; GX logs a warning when a provider is replaced, expected here."""
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.metrics.metric_provider import metric_value
    from great_expectations.expectations.metrics.query_metrics.query_row_count.unexpected_rows_query_row_count import (
        UnexpectedRowsQueryRowCount,
    )
    from great_expectations.expectations.metrics.query_metrics.query_table.query_table import QueryTable
    from great_expectations.expectations.metrics.query_metrics.query_table.unexpected_rows_query_table import (
        UnexpectedRowsQueryTable,
    )
    from great_expectations.validator.metric_configuration import MetricConfiguration

    registry_log = logging.getLogger("great_expectations.expectations.registry")
    level = registry_log.level
    registry_log.setLevel(logging.ERROR)
    try:
        class SampleOnlyWhenUnexpected(UnexpectedRowsQueryTable):
            @classmethod
            def _get_evaluation_dependencies(cls, metric: Any, configuration: Any = None,
                                             execution_engine: Any = None, runtime_configuration: Any = None) -> dict:
                dependencies = super()._get_evaluation_dependencies(
                    metric, configuration, execution_engine, runtime_configuration)
                dependencies[ROW_COUNT_METRIC] = MetricConfiguration(
                    ROW_COUNT_METRIC, metric.metric_domain_kwargs, metric.metric_value_kwargs)
                return dependencies

            @metric_value(engine=SqlAlchemyExecutionEngine)
            def _sqlalchemy(cls, execution_engine: Any, metric_domain_kwargs: dict, metric_value_kwargs: dict,
                            metrics: dict, runtime_configuration: dict) -> list[dict]:
                if metrics.get(ROW_COUNT_METRIC) == 0:
                    return []
                kept = _take_first_records(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs)
                if kept is not None and not metric_value_kwargs.get("fetch_all", False):
                    return kept
                # every row asked for, or no count kept any: GX's own query
                return QueryTable._sqlalchemy(cls=cls, execution_engine=execution_engine,
                                              metric_domain_kwargs=metric_domain_kwargs,
                                              metric_value_kwargs=metric_value_kwargs, metrics=metrics,
                                              runtime_configuration=runtime_configuration)

        class CountWithFirstRecords(UnexpectedRowsQueryRowCount):
            @metric_value(engine=SqlAlchemyExecutionEngine)
            def _sqlalchemy(cls, execution_engine: Any, metric_domain_kwargs: dict, metric_value_kwargs: dict,
                            metrics: dict, runtime_configuration: dict) -> int:
                return _count_keeping_first_records(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs)
    finally:
        registry_log.setLevel(level)


# Per execution engine (one per checkpoint run), the first records each count found, by its query:
# taken by the sample metric, which GX resolves after every count of the suite.
_FIRST_RECORDS: weakref.WeakKeyDictionary[Any, dict[str, list[dict]]] = weakref.WeakKeyDictionary()
_COUNT_COLUMN = "credit_warehouse_unexpected_rows"


def _substituted_query(provider: Any, execution_engine: Any, metric_domain_kwargs: dict,
                       metric_value_kwargs: dict) -> str:
    from great_expectations.core.metric_domain_types import MetricDomainTypes

    batch_selectable, _, _ = execution_engine.get_compute_domain(metric_domain_kwargs,
                                                                 domain_type=MetricDomainTypes.TABLE)
    return provider._get_substituted_batch_subquery_from_query_and_batch_selectable(
        query=provider._get_query_from_metric_value_kwargs(metric_value_kwargs),
        batch_selectable=batch_selectable, execution_engine=execution_engine)


def _count_keeping_first_records(provider: Any, execution_engine: Any, metric_domain_kwargs: dict,
                                 metric_value_kwargs: dict) -> int:
    """The query's row count, from one run of it that also keeps its first ``MAX_RESULT_RECORDS`` rows
    (in the query's order: a materialised CTE keeps it) for the sample metric. GX ran the query once
    for the count and again for the sample: January of the 1,000,000-subject city's 48 samples each
    scanned the 3M-row batch again."""
    import sqlalchemy as sa
    from great_expectations.constants import MAX_RESULT_RECORDS

    query = _substituted_query(provider, execution_engine, metric_domain_kwargs, metric_value_kwargs)
    fused = (f"with unexpected_rows as materialized ({query}) "
             f"select (select count(*) from unexpected_rows) as {_COUNT_COLUMN}, first_records.* "
             f"from (select * from unexpected_rows limit {MAX_RESULT_RECORDS}) as first_records")
    rows = [row._asdict() for row in execution_engine.execute_query(sa.text(fused)).fetchall()]
    count = 0  # no row: nothing offends
    for row in rows:
        count = int(row.pop(_COUNT_COLUMN))
    _FIRST_RECORDS.setdefault(execution_engine, {})[query] = rows
    return count


def _take_first_records(provider: Any, execution_engine: Any, metric_domain_kwargs: dict,
                        metric_value_kwargs: dict) -> list[dict] | None:
    """The sample the count kept for this query (once), or None when it kept none."""
    query = _substituted_query(provider, execution_engine, metric_domain_kwargs, metric_value_kwargs)
    return _FIRST_RECORDS.get(execution_engine, {}).pop(query, None)


def close_execution_engine(execution_engine: Any) -> None:
    """Close the persisted connection and dispose the engine: DuckDB keeps its file lock otherwise.

    GX's own ``close()`` only closes the persisted connection for its built-in dialects; for DuckDB it
    would dispose the engine while the checked-out connection stays open.
    """
    connection = getattr(execution_engine, "_connection", None)
    if connection is not None:
        connection.close()
        execution_engine._connection = None
    engine = getattr(execution_engine, "engine", None)
    if engine is not None and hasattr(engine, "dispose"):
        engine.dispose()
