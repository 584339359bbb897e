"""Expectations on the marts dbt builds (run after dbt build): catalogue coverage and code quality.

All warnings: they report, they never fail the run. Each lists its offending rows as the sample.
"""

from __future__ import annotations

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.validation.suites import ExpectationSpec, SuitePlan

CATALOGUE_COMPLETENESS = "catalogue_completeness"
CODE_QUALITY = "code_quality"


def mart_plans(catalogue: Catalogue) -> list[SuitePlan]:
    categories = len(catalogue.catalogue_codes)  # operational feeds (ledger, objections...) excluded
    return [
        SuitePlan(CATALOGUE_COMPLETENESS, "mart_catalogue_coverage", (ExpectationSpec(
            key="responsible_category_not_covered", suite=CATALOGUE_COMPLETENESS, severity="warning",
            description=("every (department, category) pair of the feed registry has records each month; "
                         "the sample lists the pairs not covered"),
            query=("select month_start, department_code, department_name, category_code, category_name "
                   "from {batch} where is_responsible and not is_covered "
                   "order by month_start, department_code, category_code"),
            meta={"reason_zh": "部门未报送其负责的目录类别数据（按月统计）。"}), ExpectationSpec(
            key="department_catalogue_incomplete", suite=CATALOGUE_COMPLETENESS, severity="warning",
            description=("each department covers every category it is responsible for, per month; "
                         "the sample lists departments with their covered / responsible counts"),
            query=("select month_start, department_code, department_name, count(*) as responsible_categories, "
                   "count(*) filter (where is_covered) as covered_categories, "
                   "string_agg(category_code, ',' order by category_code) filter (where not is_covered) "
                   "as missing_categories from {batch} where is_responsible "
                   "group by month_start, department_code, department_name "
                   "having count(*) filter (where is_covered) < count(*) order by month_start, department_code"),
            meta={"reason_zh": "部门当月未覆盖其负责的全部目录类别（目录完整性，按部门统计）。"}))),
        SuitePlan(f"{CATALOGUE_COMPLETENESS}_overall", "mart_catalogue_coverage_overall", (ExpectationSpec(
            key="catalogue_category_not_covered", suite=CATALOGUE_COMPLETENESS, severity="warning",
            description=f"all {categories} catalogue categories have records each month (目录全覆盖)",
            query=("select month_start, categories_in_catalogue, categories_covered, coverage_rate, "
                   f"missing_categories from {{batch}} where categories_covered < {categories} "
                   "order by month_start"),
            meta={"reason_zh": f"当月未实现{categories}类目录数据全覆盖。"}),)),
        SuitePlan(CODE_QUALITY, "mart_code_quality_issues", (ExpectationSpec(
            key="code_quality_issue", suite=CODE_QUALITY, severity="warning",
            description="no 重错码: no invalid USCC, no code carried by two names, no name under two codes",
            query=("select uscc, conflict_kind, subject_names, record_count from {batch} "
                   "order by uscc, conflict_kind"),
            meta={"reason_zh": "存在重码或错码的统一社会信用代码。"}),)),
    ]
