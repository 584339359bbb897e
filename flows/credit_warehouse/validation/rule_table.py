"""``validation.rules``: every row rule per category, with its reason in plain Chinese.

Rewritten from the catalogue on each validation run (it is derived data, not history), so the
failures model, the correction files and the review page explain each issue in the words of the
current catalogue. One row per (rule, category); (rule_id, field, category_code) is unique, which
is how ``validation.row_issues`` rows find their rule.
"""

from __future__ import annotations

import duckdb
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.validation.rules import Rule, reason_for

TABLE = "validation.rules"
COLUMNS = ("rule_key", "rule_id", "suite", "severity", "field", "category_code", "field_header_zh",
           "description", "reason_zh")


def rule_rows(rules: list[Rule], catalogue: Catalogue) -> list[tuple[str, ...]]:
    rows = []
    for rule in rules:
        for category in rule.categories:
            header = next((s.header_zh for s in catalogue.fields_of(category) if s.field == rule.field), "")
            rows.append((rule.key, rule.rule_id, rule.suite, rule.severity, rule.field, category, header,
                         rule.description, reason_for(rule, catalogue, category)))
    return rows


def write_rule_table(con: duckdb.DuckDBPyConnection, rules: list[Rule], catalogue: Catalogue) -> int:
    """Replace the table's rows with these rules (one transaction); returns the row count."""
    rows = rule_rows(rules, catalogue)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {TABLE}")
        con.executemany(f"insert into {TABLE} ({', '.join(COLUMNS)}) values ({', '.join('?' * len(COLUMNS))})",
                        rows)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(rows)
