"""What the review page and the correction files show, read from the warehouse's steward marts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb

SEVERITY_ZH = {"blocking": "阻断", "warning": "警告"}
STATUS_ZH = {"open": "未关闭", "closed": "已关闭", "superseded": "已被重报替代"}
# Landing outcomes and reason codes (README "The inbox contract") in the words of a correction letter.
DELIVERY_REASON_ZH = {
    "duplicate_file": "重复报送：文件内容与已接收的文件完全相同，未重复入库",
    "unrecognised_file_name": "文件名不符合报送规范（应为“类别编码_报送日期YYYYMMDD[_标记].csv/xlsx/json”）",
    "unknown_department": "报送目录不是已登记的部门",
    "unknown_category": "文件名中的类别编码不在信用信息目录中",
    "unregistered_feed": "该部门未登记报送此类别",
    "unsupported_format": "不支持的文件格式（应为CSV、XLSX或JSON）",
    "empty_file": "文件为空",
    "zip_archive": "不接收压缩包，请直接报送数据文件",
    "undecodable_text": "文件编码无法识别（应为UTF-8或GBK/GB18030）",
    "invalid_json": "JSON格式错误",
    "json_wrong_shape": "JSON结构不符合要求（应为记录列表）",
    "unreadable_xlsx": "XLSX文件无法读取",
    "unreadable_file": "文件读取出错，无法解析",
    "header_not_recognised": "未找到与该类别对应的表头（前10行内），请检查分隔符、类别编码及列名是否符合数据标准",
    "gzip_archive": "不接收压缩包，请直接报送数据文件",
    "rar_archive": "不接收压缩包，请直接报送数据文件",
    "7z_archive": "不接收压缩包，请直接报送数据文件",
    "pdf_document": "不接收PDF文件，请报送CSV、XLSX或JSON数据文件",
    "legacy_office_file": "不接收旧版Office文件（.xls/.doc），请另存为XLSX或CSV后报送",
}
# Per department the page lists the newest open failures and the latest closed ones; the correction
# lists hold every open one. A year of the 1,000,000-subject city has ~1M open failures: listed in
# full the page was 575 MiB of HTML, which no browser opens.
MAX_OPEN_SHOWN = 200
MAX_CLOSED_SHOWN = 200


@dataclass(frozen=True)
class Failure:
    failure_id: str
    department_code: str
    department_name: str
    feed_code: str
    category_code: str
    category_name: str
    suite: str
    rule_id: str
    severity: str
    field: str
    field_header_zh: str
    reason_zh: str
    record_key: str | None
    offending_value: str | None
    source_file: str
    row_number: int
    opened_on: dt.date
    failing_since: dt.date
    status: str
    closed_on: dt.date | None
    closed_by_source_file: str | None
    closed_by_row_number: int | None
    run_id: str

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    open_total: int
    open_blocking: int
    open_warning: int
    new: int
    closed: int


@dataclass(frozen=True)
class DeliveryIssue:
    department_code: str
    business_date: dt.date | None
    source_file: str
    outcome: str  # rejected | duplicate_delivery
    reason_code: str | None
    reason_detail: str | None
    resent: bool  # a later file of the same feed and report date was landed

    @property
    def reason_zh(self) -> str:
        return DELIVERY_REASON_ZH.get(self.reason_code or "", self.reason_code or self.outcome)


@dataclass
class DepartmentReview:
    code: str
    name: str
    open_blocking: int = 0
    open_warning: int = 0
    closed: int = 0
    rows_submitted: int = 0
    rows_loaded: int = 0
    month_rows_submitted: int = 0
    month_rows_loaded: int = 0
    uncovered_categories: list[str] = field(default_factory=list)  # latest month, responsible, no records
    trend: list[int] = field(default_factory=list)  # open failures per day of ReviewData.trend
    failures: list[Failure] = field(default_factory=list)  # the newest open ones, then the latest closed ones
    deliveries: list[DeliveryIssue] = field(default_factory=list)

    @property
    def open_total(self) -> int:
        return self.open_blocking + self.open_warning

    @property
    def compliance_rate(self) -> float | None:
        return self.rows_loaded / self.rows_submitted if self.rows_submitted else None

    @property
    def month_compliance_rate(self) -> float | None:
        return self.month_rows_loaded / self.month_rows_submitted if self.month_rows_submitted else None

    @property
    def open_failures(self) -> list[Failure]:
        """The open failures the page lists (at most MAX_OPEN_SHOWN of open_total)."""
        return [f for f in self.failures if f.is_open]

    @property
    def needs_correction(self) -> bool:
        return self.open_total > 0 or any(d.outcome == "rejected" and not d.resent for d in self.deliveries)


@dataclass
class ReviewData:
    as_of: dt.date | None  # latest report date landed
    month: dt.date | None  # latest report month (coverage, monthly 合规率)
    latest_run_id: str | None
    departments: list[DepartmentReview]  # ranked: most open failures first
    trend: list[DayCount]
    rule_counts: list[dict[str, Any]]

    @property
    def open_total(self) -> int:
        return sum(d.open_total for d in self.departments)

    @property
    def open_blocking(self) -> int:
        return sum(d.open_blocking for d in self.departments)

    @property
    def open_warning(self) -> int:
        return sum(d.open_warning for d in self.departments)

    @property
    def closed(self) -> int:
        return sum(d.closed for d in self.departments)

    @property
    def compliance_rate(self) -> float | None:
        submitted = sum(d.rows_submitted for d in self.departments)
        return sum(d.rows_loaded for d in self.departments) / submitted if submitted else None


FAILURES_SQL = """
with ranked as (
    select *, row_number() over (partition by department_code, is_open
                                 order by failing_since desc, ended_on desc nulls last, source_file desc,
                                 row_number desc, rule_id, field) as position
    from marts.mart_validation_failures
    where status <> 'superseded'
)
select failure_id, department_code, coalesce(department_name, department_code), feed_code, category_code,
       coalesce(category_name, category_code), suite, rule_id, severity, coalesce(field, ''),
       coalesce(field_header_zh, field, ''), coalesce(reason_zh, rule_id), record_key, offending_value,
       source_file, row_number, opened_on, failing_since, status, closed_on, closed_by_source_file,
       closed_by_row_number, run_id
from ranked
where position <= case when is_open then $max_open else $max_closed end
order by department_code, is_open desc, category_code, source_file, row_number, rule_id, field
"""
COUNTS_SQL = """
select department_code,
       count(*) filter (where is_open and severity = 'blocking'),
       count(*) filter (where is_open and severity = 'warning'),
       count(*) filter (where status = 'closed')
from marts.mart_validation_failures group by 1
"""
TREND_SQL = """
select report_date, sum(open_failures), sum(open_blocking), sum(open_warning), sum(new_failures),
       sum(closed_failures)
from marts.mart_validation_failures_daily group by 1 order by 1
"""
DEPARTMENT_TREND_SQL = """
select department_code, list(open_failures order by report_date)
from marts.mart_validation_failures_daily group by 1
"""
COMPLIANCE_SQL = """
select department_code, sum(rows_submitted), sum(rows_loaded),
       sum(rows_submitted) filter (where month_start = $month), sum(rows_loaded) filter (where month_start = $month)
from marts.mart_department_compliance group by 1
"""
UNCOVERED_SQL = """
select department_code, list(category_code || ' ' || category_name order by category_code)
from marts.mart_catalogue_coverage
where month_start = $month and is_responsible and not is_covered group by 1
"""
DELIVERIES_SQL = """
with issues as (
    select distinct department_code, category_code, business_date, source_file, outcome, reason_code, reason_detail
    from raw.deliveries where outcome in ('rejected', 'duplicate_delivery')
)
select coalesce(issues.department_code, ''), issues.business_date, issues.source_file, issues.outcome,
       issues.reason_code, issues.reason_detail,
       exists (select 1 from raw.files as files where files.department_code = issues.department_code
               and files.category_code = issues.category_code and files.business_date = issues.business_date)
from issues order by issues.business_date desc nulls last, issues.source_file
"""
RULES_SQL = """
select rule_id, suite, severity, count(*) filter (where is_open), count(*) filter (where status <> 'superseded')
from marts.mart_validation_failures group by 1, 2, 3 order by 4 desc, 5 desc, 1
"""


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None


def _departments(con: duckdb.DuckDBPyConnection) -> dict[str, DepartmentReview]:
    return {code: DepartmentReview(code, name) for code, name in con.execute(
        "select department_code, department_name from reference.departments order by 1").fetchall()}


def _fill(con: duckdb.DuckDBPyConnection, departments: dict[str, DepartmentReview], month: dt.date | None,
          max_open: int) -> None:
    def department(code: str) -> DepartmentReview:
        return departments.setdefault(code, DepartmentReview(code, code))

    for code, blocking, warning, closed in con.execute(COUNTS_SQL).fetchall():
        item = department(code)
        item.open_blocking, item.open_warning, item.closed = blocking, warning, closed
    for row in con.execute(FAILURES_SQL, {"max_open": max_open, "max_closed": MAX_CLOSED_SHOWN}).fetchall():
        department(row[1]).failures.append(Failure(*row))
    for code, trend in con.execute(DEPARTMENT_TREND_SQL).fetchall():
        department(code).trend = list(trend)
    for code, submitted, loaded, month_submitted, month_loaded in con.execute(
            COMPLIANCE_SQL, {"month": month}).fetchall():
        item = department(code)
        item.rows_submitted, item.rows_loaded = int(submitted or 0), int(loaded or 0)
        item.month_rows_submitted, item.month_rows_loaded = int(month_submitted or 0), int(month_loaded or 0)
    for code, categories in con.execute(UNCOVERED_SQL, {"month": month}).fetchall():
        department(code).uncovered_categories = list(categories)
    for code, *values in con.execute(DELIVERIES_SQL).fetchall():
        department(code).deliveries.append(DeliveryIssue(code, *values))


def load_review_data(con: duckdb.DuckDBPyConnection, max_open_shown: int = MAX_OPEN_SHOWN) -> ReviewData:
    """Read the steward marts of a built warehouse (work.duckdb after dbt build, or published): every
    count, and the failures the page lists (at most ``max_open_shown`` open ones per department)."""
    as_of = _scalar(con, "select max(business_date) from raw.files")
    month = _scalar(con, "select max(month_start) from marts.mart_department_compliance")
    departments = _departments(con)
    _fill(con, departments, month, max_open_shown)
    trend = [DayCount(*row) for row in con.execute(TREND_SQL).fetchall()]
    for item in departments.values():
        item.trend = item.trend or [0] * len(trend)
    ranked = sorted(departments.values(), key=lambda d: (-d.open_total, -d.open_blocking, -len(d.deliveries), d.code))
    rules = [dict(zip(("rule_id", "suite", "severity", "open", "total"), row, strict=True))
             for row in con.execute(RULES_SQL).fetchall()]
    latest_run = _scalar(con, "select arg_max(run_id, validated_at) from validation.validated_files")
    return ReviewData(as_of, month, latest_run, ranked, trend, rules)
