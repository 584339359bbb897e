"""What a validation run returns: per-file row counts and per-rule counts; mart check results."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

FILE_REPORT_SQL = """
with files as (
    select file_sha256, load_id, count(*) as rows_in from raw.feed_rows
    where file_sha256 in (select unnest($files)) group by 1, 2
), issue_rows as (
    select file_sha256, row_number, bool_or(severity = 'blocking') as blocking
    from validation.row_issues where run_id = $run_id group by 1, 2
), per_file as (
    select file_sha256, count(*) filter (where blocking) as quarantined,
           count(*) filter (where not blocking) as flagged
    from issue_rows group by 1
), per_rule as (
    select file_sha256, map_from_entries(list(struct_pack(k := rule_id, v := n) order by rule_id)) as rules
    from (select file_sha256, rule_id, count(distinct row_number) as n
          from validation.row_issues where run_id = $run_id group by 1, 2)
    group by 1
)
select f.file_sha256, f.load_id, f.rows_in, coalesce(p.quarantined, 0), coalesce(p.flagged, 0), r.rules
from files f left join per_file p using (file_sha256) left join per_rule r using (file_sha256)
order by f.load_id
"""


@dataclass(frozen=True)
class FileValidation:
    file_sha256: str
    load_id: str
    rows: int
    quarantined_rows: int  # rows with at least one blocking issue: kept in raw, not staged
    flagged_rows: int  # rows with warnings only: loaded and flagged
    rows_by_rule: dict[str, int]  # rule_id -> offending rows


@dataclass(frozen=True)
class ValidationReport:
    run_id: str
    files: tuple[FileValidation, ...] = ()
    rule_counts: dict[str, int] = field(default_factory=dict)  # rule key -> offending rows (= GX count)
    data_docs_index: Path | None = None

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def quarantined_rows(self) -> int:
        return sum(f.quarantined_rows for f in self.files)

    @property
    def flagged_rows(self) -> int:
        return sum(f.flagged_rows for f in self.files)


@dataclass(frozen=True)
class CheckResult:
    """One mart expectation: warnings only, they never fail the run."""

    suite: str
    expectation: str
    severity: str
    success: bool
    unexpected_count: int | None
    samples: tuple[dict[str, Any], ...] = ()
    description: str = ""
    error: str | None = None


def file_validations(con: duckdb.DuckDBPyConnection, run_id: str, files: list[str]) -> tuple[FileValidation, ...]:
    rows = con.execute(FILE_REPORT_SQL, {"run_id": run_id, "files": files}).fetchall()
    return tuple(FileValidation(sha, load_id, n, quarantined, flagged, dict(rules or {}))
                 for sha, load_id, n, quarantined, flagged, rules in rows)
