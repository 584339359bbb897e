-- Credit commitment (信用承诺) indicators of the city per month, cumulative to the month's end over
-- current records first reported by then (000; 001 item 28; 003 八(一)2):
--   commitment_ratio  = (commitments + fulfilment records) / enterprises          (target >= 2)
--   fulfilment_ratio  = fulfilment records / commitments                         (target >= 1)
--   coverage of the commitment types (seeds/commitment_types.csv, 6) and of the subject groups
--   (seeds/subject_kind_groups.csv: 自然人, 法人, 个体工商户, 社会组织, 事业单位), 0.25 points each,
--   at most 1 (points from seeds/indicator_thresholds.csv).
-- Enterprises: subjects known to the warehouse whose kind counts as an enterprise
-- (subject_kind_groups.is_enterprise), first reported by the month's end.
with months as (
    select month_start, month_end from {{ ref('int_report_months') }}
),

kind_groups as (
    select * from {{ ref('subject_kind_groups') }}
),

records as (
    select
        records.record_layout,
        records.commitment_type,
        records.first_report_date,
        kind_groups.commitment_subject_group
    from {{ ref('fct_credit_record') }} as records
    left join kind_groups
        on kind_groups.subject_kind = records.subject_kind
    where records.record_layout in ('commitment', 'fulfilment')
),

enterprises as (
    select subjects.first_report_date
    from {{ ref('dim_subject') }} as subjects
    inner join kind_groups
        on kind_groups.subject_kind = subjects.subject_kind
    where kind_groups.is_enterprise
),

commitment_types as (
    select commitment_type from {{ ref('commitment_types') }}
),

subject_groups as (
    select distinct commitment_subject_group
    from kind_groups
    where commitment_subject_group is not null
),

counts as (
    select
        months.month_start,
        sum(case when records.record_layout = 'commitment'
            and {{ credit_warehouse.month_start('records.first_report_date') }} = months.month_start
            then 1 else 0 end) as commitments_in_month,
        sum(case when records.record_layout = 'fulfilment'
            and {{ credit_warehouse.month_start('records.first_report_date') }} = months.month_start
            then 1 else 0 end) as fulfilments_in_month,
        sum(case when records.record_layout = 'commitment' then 1 else 0 end) as commitments_to_date,
        sum(case when records.record_layout = 'fulfilment' then 1 else 0 end) as fulfilments_to_date
    from months
    left join records
        on records.first_report_date <= months.month_end
    group by months.month_start
),

enterprise_counts as (
    select months.month_start, count(enterprises.first_report_date) as enterprises
    from months
    left join enterprises
        on enterprises.first_report_date <= months.month_end
    group by months.month_start
),

type_coverage as (
    select
        months.month_start,
        commitment_types.commitment_type,
        count(records.commitment_type) > 0 as is_covered
    from months
    cross join commitment_types
    left join records
        on records.record_layout = 'commitment'
        and records.commitment_type = commitment_types.commitment_type
        and records.first_report_date <= months.month_end
    group by months.month_start, commitment_types.commitment_type
),

group_coverage as (
    select
        months.month_start,
        subject_groups.commitment_subject_group,
        count(records.commitment_subject_group) > 0 as is_covered
    from months
    cross join subject_groups
    left join records
        on records.record_layout = 'commitment'
        and records.commitment_subject_group = subject_groups.commitment_subject_group
        and records.first_report_date <= months.month_end
    group by months.month_start, subject_groups.commitment_subject_group
),

type_summary as (
    select
        month_start,
        count(*) as commitment_types_total,
        sum(case when is_covered then 1 else 0 end) as commitment_types_covered,
        {{ dbt.listagg("case when not is_covered then commitment_type end", "','", 'order by commitment_type') }}
            as missing_commitment_types
    from type_coverage
    group by month_start
),

group_summary as (
    select
        month_start,
        count(*) as subject_groups_total,
        sum(case when is_covered then 1 else 0 end) as subject_groups_covered,
        {{ dbt.listagg("case when not is_covered then commitment_subject_group end", "','",
                       'order by commitment_subject_group') }} as missing_subject_groups
    from group_coverage
    group by month_start
),

points as (
    select indicator_code, full_points, points_per_unit
    from {{ ref('indicator_thresholds') }}
    where indicator_code in ('commitment_type_coverage', 'commitment_subject_coverage')
)

select
    counts.month_start,
    counts.commitments_in_month,
    counts.fulfilments_in_month,
    counts.commitments_to_date,
    counts.fulfilments_to_date,
    enterprise_counts.enterprises,
    cast(1.0 * (counts.commitments_to_date + counts.fulfilments_to_date) / nullif(enterprise_counts.enterprises, 0)
        as decimal(18, 4)) as commitment_ratio,
    cast(1.0 * counts.fulfilments_to_date / nullif(counts.commitments_to_date, 0) as decimal(18, 4))
        as fulfilment_ratio,
    type_summary.commitment_types_total,
    type_summary.commitment_types_covered,
    type_summary.missing_commitment_types,
    cast(least(type_points.full_points, type_points.points_per_unit * type_summary.commitment_types_covered)
        as decimal(9, 2)) as commitment_type_points,
    group_summary.subject_groups_total,
    group_summary.subject_groups_covered,
    group_summary.missing_subject_groups,
    cast(least(group_points.full_points, group_points.points_per_unit * group_summary.subject_groups_covered)
        as decimal(9, 2)) as subject_group_points
from counts
inner join enterprise_counts
    on enterprise_counts.month_start = counts.month_start
inner join type_summary
    on type_summary.month_start = counts.month_start
inner join group_summary
    on group_summary.month_start = counts.month_start
cross join (select * from points where indicator_code = 'commitment_type_coverage') as type_points
cross join (select * from points where indicator_code = 'commitment_subject_coverage') as group_points
