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

``apply()`` patches both, once per process; ``tests/test_validation.py`` proves the counts are right.
"""

from __future__ import annotations

import enum
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


def is_applied() -> bool:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    return (any(d == DUCKDB_DIALECT for d in engine_module._PERSISTED_CONNECTION_DIALECTS)
            and getattr(engine_module.SqlAlchemyExecutionEngine, "_credit_warehouse_duckdb_shim", False))


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
