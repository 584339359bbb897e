-- Demonstration-city self-assessment (社会信用体系建设示范城市): per month, every indicator of seeds
-- 003 / 001 that data can decide, city-wide, with its value, threshold (seeds/indicator_thresholds
-- .csv: hard indicators and the scoring indicators with a numeric target) and whether it passes.
-- State indicators (codes, lists) are judged at the month's end; objections, repairs and 双公示
-- rates over the month; commitments cumulative to the month's end. passed is null without data.
with months as (
    select month_start, month_end from {{ ref('int_report_months') }}
),

thresholds as (
    select * from {{ ref('indicator_thresholds') }}
),

-- 重错码率 over the organisation codes first reported by the month's end (current conflict status)
codes as (
    select uscc, min(first_report_date) as first_report_date
    from {{ ref('int_credit_records') }}
    where not is_person and uscc is not null
    group by uscc
),

bad_codes as (
    select distinct uscc from {{ ref('int_code_conflicts') }}
),

code_rate as (
    select
        months.month_start,
        'uscc_error_rate' as indicator_code,
        1.0 * count(bad_codes.uscc) / nullif(count(codes.uscc), 0) as indicator_value
    from months
    left join codes
        on codes.first_report_date <= months.month_end
    left join bad_codes
        on bad_codes.uscc = codes.uscc
    group by months.month_start
),

-- serious dishonesty list at the month's end: member departments, and 事业单位
serious_list as (
    select uscc, subject_kind, event_date, list_end_date
    from {{ ref('fct_credit_record') }}
    where category_code = '{{ var("serious_dishonesty_list_category") }}'
),

listed as (
    select
        months.month_start,
        count(distinct case when departments.department_code is not null then serious_list.uscc end)
            as departments_listed,
        count(distinct case when serious_list.subject_kind = '事业单位' then serious_list.uscc end)
            as institutions_listed
    from months
    left join serious_list
        on serious_list.event_date <= months.month_end
        and (serious_list.list_end_date is null or serious_list.list_end_date > months.month_end)
    left join {{ ref('departments') }} as departments
        on departments.department_uscc = serious_list.uscc
    group by months.month_start
),

-- 双公示 rates of the city
double_publicity as (
    select
        month_start,
        1.0 - 1.0 * sum(concealed_decisions) / nullif(sum(ledger_decisions), 0) as reporting_rate,
        1.0 * sum(accepted_rows) / nullif(sum(submitted_rows), 0) as compliance_rate,
        1.0 - 1.0 * sum(late_rows) / nullif(sum(submitted_rows), 0) as timeliness_rate
    from {{ ref('mart_double_publicity_rates') }}
    group by month_start
),

-- objections and repairs of the whole city: 有效异议占比 = valid objections closed in the month /
-- 双公示 records published by the month's end; average handling time of objections closed in the
-- month; repairs that fell due in the month and were not handled in time
published_records as (
    select records.record_id, records.first_report_date
    from {{ ref('int_credit_records') }} as records
    inner join {{ ref('catalogue_categories') }} as categories
        on categories.category_code = records.category_code
    where categories.is_double_publicity
),

published as (
    select months.month_start, count(published_records.record_id) as published_records
    from months
    left join published_records
        on published_records.first_report_date <= months.month_end
    group by months.month_start
),

objection_months as (
    select
        months.month_start,
        sum(case when objections.is_valid then 1 else 0 end) as valid_objections,
        avg(objections.handling_workdays) as avg_workdays
    from months
    left join {{ ref('fct_objection') }} as objections
        on {{ credit_warehouse.month_start('objections.closed_date') }} = months.month_start
    group by months.month_start
),

handling as (
    select
        objection_months.month_start,
        1.0 * objection_months.valid_objections / nullif(published.published_records, 0) as valid_objection_share,
        objection_months.avg_workdays
    from objection_months
    inner join published
        on published.month_start = objection_months.month_start
),

repair_months as (
    select months.month_start, count(repairs.repair_id) as repairs_overdue
    from months
    left join {{ ref('fct_credit_repair') }} as repairs
        on repairs.due_month = months.month_start
        and repairs.is_overdue
    group by months.month_start
),

commitments as (
    select * from {{ ref('mart_commitment_indicators') }}
),

coverage as (
    select month_start, coverage_rate from {{ ref('mart_catalogue_coverage_overall') }}
),

values_by_month as (
    select month_start, indicator_code, indicator_value from code_rate
    union all
    select month_start, 'gov_on_serious_list', departments_listed from listed
    union all
    select month_start, 'institution_on_serious_list', institutions_listed from listed
    union all
    select month_start, 'dp_reporting_rate', reporting_rate from double_publicity
    union all
    select month_start, 'dp_compliance_rate', compliance_rate from double_publicity
    union all
    select month_start, 'dp_timeliness_rate', timeliness_rate from double_publicity
    union all
    select month_start, 'valid_objection_share', valid_objection_share from handling
    union all
    select month_start, 'repair_overdue_count', repairs_overdue from repair_months
    union all
    select month_start, 'objection_avg_workdays', avg_workdays from handling
    union all
    select month_start, 'commitment_ratio', commitment_ratio from commitments
    union all
    select month_start, 'fulfilment_ratio', fulfilment_ratio from commitments
    union all
    select month_start, 'commitment_type_coverage', commitment_types_covered from commitments
    union all
    select month_start, 'commitment_subject_coverage', subject_groups_covered from commitments
    union all
    select month_start, 'catalogue_coverage', coverage_rate from coverage
),

evaluated as (
    select
        values_by_month.month_start,
        values_by_month.indicator_code,
        cast(values_by_month.indicator_value as decimal(18, 8)) as indicator_value,
        thresholds.indicator_name_zh,
        thresholds.source,
        thresholds.indicator_type,
        thresholds.comparison,
        thresholds.threshold,
        thresholds.unit,
        case thresholds.comparison
            when 'lt' then values_by_month.indicator_value < thresholds.threshold
            when 'le' then values_by_month.indicator_value <= thresholds.threshold
            when 'ge' then values_by_month.indicator_value >= thresholds.threshold
            when 'gt' then values_by_month.indicator_value > thresholds.threshold
            when 'eq' then values_by_month.indicator_value = thresholds.threshold
        end as passed
    from values_by_month
    inner join thresholds
        on thresholds.indicator_code = values_by_month.indicator_code
)

select
    month_start,
    indicator_code,
    indicator_name_zh,
    source,
    indicator_type,
    indicator_value,
    comparison,
    threshold,
    unit,
    passed
from evaluated
