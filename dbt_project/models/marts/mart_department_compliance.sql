-- 合规率 per department and report month (DOMAIN §5): records that passed the validation rules
-- (loaded) / records submitted (rows of validated files; every delivery counts, corrected re-sends
-- included). Flagged rows passed (warnings publish), so they count as loaded.
with row_keys as (
    select
        department_code,
        file_sha256,
        row_number,
        not is_accepted as is_quarantined,
        report_month as month_start
    from {{ ref('int_feed_row_quality') }}
),

flagged_rows as (
    select distinct file_sha256, row_number
    from {{ ref('stg_row_issues') }}
    where severity = 'warning'
),

counted as (
    select
        row_keys.month_start,
        row_keys.department_code,
        count(*) as rows_submitted,
        cast(sum(case when row_keys.is_quarantined then 0 else 1 end) as bigint) as rows_loaded,
        cast(sum(case when row_keys.is_quarantined then 1 else 0 end) as bigint) as rows_quarantined,
        cast(sum(case when not row_keys.is_quarantined and flagged_rows.file_sha256 is not null then 1 else 0 end)
            as bigint) as rows_flagged
    from row_keys
    left join flagged_rows
        on flagged_rows.file_sha256 = row_keys.file_sha256
        and flagged_rows.row_number = row_keys.row_number
    group by row_keys.month_start, row_keys.department_code
)

select
    counted.month_start,
    counted.department_code,
    departments.department_name,
    counted.rows_submitted,
    counted.rows_loaded,
    counted.rows_quarantined,
    counted.rows_flagged,
    round(cast(counted.rows_loaded as double) / counted.rows_submitted, 6) as compliance_rate
from counted
left join {{ ref('departments') }} as departments
    on departments.department_code = counted.department_code
