-- Submission quality per report month, department and category: rows submitted, rows that passed
-- validation (合规率 = accepted / submitted, 004) and rows reported late (及时率 = 1 - late /
-- submitted, 004). Rates are null when nothing was submitted.
with rows_submitted as (
    select * from {{ ref('int_feed_row_quality') }}
),

counted as (
    select
        report_month as month_start,
        department_code,
        category_code,
        count(*) as submitted_rows,
        sum(case when is_accepted then 1 else 0 end) as accepted_rows,
        sum(case when is_late then 1 else 0 end) as late_rows
    from rows_submitted
    group by report_month, department_code, category_code
)

select
    month_start,
    department_code,
    category_code,
    submitted_rows,
    accepted_rows,
    late_rows,
    cast(1.0 * accepted_rows / nullif(submitted_rows, 0) as decimal(18, 6)) as compliance_rate,
    cast(1.0 - 1.0 * late_rows / nullif(submitted_rows, 0) as decimal(18, 6)) as timeliness_rate
from counted
