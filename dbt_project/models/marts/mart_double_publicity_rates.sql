-- 双公示 上报率 / 合规率 / 及时率 per month and department (004 definitions; hard indicator 003
-- 硬指标4 and 001 item 5: all three 100%):
--   上报率 = 1 - 瞒报率, 瞒报率 = concealed ledger decisions / ledger decisions   (by decision month)
--   合规率 = submitted rows passing validation / submitted rows                    (by report month)
--   及时率 = 1 - late rows / submitted rows, late = more than report_deadline_workdays working days
--            from decision to report date                                          (by report month)
-- Rows: every month with deliveries or ledger decisions x every department responsible for a 双公示
-- category (active feed) or that delivered such records or a ledger.
with double_publicity_categories as (
    select category_code
    from {{ ref('catalogue_categories') }}
    where is_double_publicity
),

responsible_departments as (
    select distinct feeds.department_code
    from {{ ref('feed_registry') }} as feeds
    inner join double_publicity_categories
        on double_publicity_categories.category_code = feeds.category_code
    where feeds.active
),

submissions as (
    select
        quality.month_start,
        quality.department_code,
        sum(quality.submitted_rows) as submitted_rows,
        sum(quality.accepted_rows) as accepted_rows,
        sum(quality.late_rows) as late_rows
    from {{ ref('int_submission_quality') }} as quality
    inner join double_publicity_categories
        on double_publicity_categories.category_code = quality.category_code
    group by quality.month_start, quality.department_code
),

ledger as (
    select
        decision_month as month_start,
        department_code,
        count(*) as ledger_decisions,
        sum(case when is_reported then 1 else 0 end) as ledger_decisions_reported,
        sum(case when is_concealed then 1 else 0 end) as concealed_decisions
    from {{ ref('fct_ledger_decision') }}
    group by decision_month, department_code
),

months as (
    select month_start from {{ ref('int_report_months') }}
    union
    select month_start from ledger
),

departments as (
    select department_code from responsible_departments
    union
    select department_code from submissions
    union
    select department_code from ledger
),

grid as (
    select months.month_start, departments.department_code
    from months
    cross join departments
),

measured as (
    select
        grid.month_start,
        grid.department_code,
        coalesce(ledger.ledger_decisions, 0) as ledger_decisions,
        coalesce(ledger.ledger_decisions_reported, 0) as ledger_decisions_reported,
        coalesce(ledger.concealed_decisions, 0) as concealed_decisions,
        coalesce(submissions.submitted_rows, 0) as submitted_rows,
        coalesce(submissions.accepted_rows, 0) as accepted_rows,
        coalesce(submissions.late_rows, 0) as late_rows,
        cast(1.0 - 1.0 * ledger.concealed_decisions / nullif(ledger.ledger_decisions, 0) as decimal(18, 6))
            as reporting_rate,
        cast(1.0 * submissions.accepted_rows / nullif(submissions.submitted_rows, 0) as decimal(18, 6))
            as compliance_rate,
        cast(1.0 - 1.0 * submissions.late_rows / nullif(submissions.submitted_rows, 0) as decimal(18, 6))
            as timeliness_rate
    from grid
    left join ledger
        on ledger.month_start = grid.month_start
        and ledger.department_code = grid.department_code
    left join submissions
        on submissions.month_start = grid.month_start
        and submissions.department_code = grid.department_code
)

select
    measured.month_start,
    measured.department_code,
    departments.department_name,
    responsible_departments.department_code is not null as is_responsible,
    measured.ledger_decisions,
    measured.ledger_decisions_reported,
    measured.concealed_decisions,
    measured.reporting_rate,
    measured.submitted_rows,
    measured.accepted_rows,
    measured.submitted_rows - measured.accepted_rows as rejected_rows,
    measured.compliance_rate,
    measured.late_rows,
    measured.timeliness_rate,
    {{ var('report_deadline_workdays') }} as deadline_workdays,
    coalesce(measured.reporting_rate = 1 and measured.compliance_rate = 1 and measured.timeliness_rate = 1, false)
        as meets_all_targets
from measured
left join responsible_departments
    on responsible_departments.department_code = measured.department_code
left join {{ ref('departments') }} as departments
    on departments.department_code = measured.department_code
