-- The 国办发〔2021〕52号 specific credit information (is_special_52 categories) per month: shared
-- this month or not (at least one record passed validation and was loaded), how many records, the
-- compliance rate of what was submitted, and which responsible departments did not share it
-- (002 附表一 (六): not shared -5, shared 5 x compliance rate; 000: collected monthly).
with special as (
    select category_code, category_name_zh
    from {{ ref('catalogue_categories') }}
    where is_catalogue and is_special_52
),

coverage as (
    select coverage.*
    from {{ ref('mart_catalogue_coverage') }} as coverage
    inner join special
        on special.category_code = coverage.category_code
),

quality as (
    select month_start, category_code, sum(submitted_rows) as submitted_rows, sum(accepted_rows) as accepted_rows
    from {{ ref('int_submission_quality') }}
    group by month_start, category_code
),

months as (
    select distinct month_start from {{ ref('mart_catalogue_coverage') }}
),

summary as (
    select
        months.month_start,
        special.category_code,
        special.category_name_zh,
        coalesce(sum(coverage.record_count), 0) as record_count,
        coalesce(sum(case when coverage.is_responsible then 1 else 0 end), 0) as responsible_departments,
        coalesce(sum(case when coverage.is_responsible and coverage.is_covered then 1 else 0 end), 0)
            as responsible_departments_shared,
        {{ dbt.listagg("case when coverage.is_responsible and not coverage.is_covered then coverage.department_code end",
                       "','", 'order by coverage.department_code') }} as departments_not_shared
    from months
    cross join special
    left join coverage
        on coverage.month_start = months.month_start
        and coverage.category_code = special.category_code
    group by months.month_start, special.category_code, special.category_name_zh
)

select
    summary.month_start,
    summary.category_code,
    summary.category_name_zh,
    summary.record_count > 0 as is_shared,
    summary.record_count,
    coalesce(quality.submitted_rows, 0) as submitted_rows,
    coalesce(quality.accepted_rows, 0) as accepted_rows,
    cast(1.0 * quality.accepted_rows / nullif(quality.submitted_rows, 0) as decimal(18, 6)) as compliance_rate,
    summary.responsible_departments,
    summary.responsible_departments_shared,
    summary.departments_not_shared
from summary
left join quality
    on quality.month_start = summary.month_start
    and quality.category_code = summary.category_code
