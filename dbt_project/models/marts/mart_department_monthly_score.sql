-- Department monthly score (002 附表一, 长治市社会信用体系建设工作积分规则（市有关单位）): one row per
-- month, department and data-decidable rule (and category, for per-category rules), with the basis
-- the points were computed from, so that every score can be explained. Points, caps and the way a
-- basis turns into points (basis_kind) come from seeds/scoring_rules.csv:
--   rate : points x basis (a rate), points_if_none when the rate is undefined (nothing submitted)
--   count: points x basis (a count)
--   flag : points when basis > 0, else points_if_none
-- and the result is capped at max_points. Rules data cannot decide are listed in the seed with why.
with rules as (
    select * from {{ ref('scoring_rules') }} where is_data_decidable
),

months as (
    select month_start, month_end from {{ ref('int_report_months') }}
),

categories as (
    select * from {{ ref('catalogue_categories') }}
),

responsibilities as (
    select feeds.department_code, categories.*
    from {{ ref('feed_registry') }} as feeds
    inner join categories
        on categories.category_code = feeds.category_code
    where feeds.active
),

quality as (
    select * from {{ ref('int_submission_quality') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

-- (三) 双公示: 上报率, 合规率, 及时率 (mart_double_publicity_rates)
double_publicity as (
    select * from {{ ref('mart_double_publicity_rates') }} where is_responsible
),

s03 as (
    select month_start, department_code, 'S03_REPORTING' as rule_code, '' as item_code,
        reporting_rate as basis_value, ledger_decisions - concealed_decisions as basis_numerator,
        ledger_decisions as basis_denominator
    from double_publicity
    union all
    select month_start, department_code, 'S03_COMPLIANCE', '', compliance_rate, accepted_rows, submitted_rows
    from double_publicity
    union all
    select month_start, department_code, 'S03_TIMELINESS', '', timeliness_rate, submitted_rows - late_rows,
        submitted_rows
    from double_publicity
),

-- (四) objections not handled in time, counted in the month they fell due
s04 as (
    select month_start, department_code, 'S04_OBJECTION_LATE' as rule_code, '' as item_code,
        cast(objections_overdue as decimal(18, 6)) as basis_value, objections_overdue as basis_numerator,
        cast(null as bigint) as basis_denominator
    from {{ ref('mart_objection_repair_handling') }}
),

-- per-category compliance of the categories a department is responsible for, by layout or class
category_compliance as (
    select
        months.month_start,
        responsibilities.department_code,
        responsibilities.category_code,
        responsibilities.record_layout,
        responsibilities.category_class,
        responsibilities.is_catalogue,
        responsibilities.is_double_publicity,
        responsibilities.is_special_52,
        quality.compliance_rate,
        coalesce(quality.accepted_rows, 0) as accepted_rows,
        coalesce(quality.submitted_rows, 0) as submitted_rows
    from months
    cross join responsibilities
    left join quality
        on quality.month_start = months.month_start
        and quality.department_code = responsibilities.department_code
        and quality.category_code = responsibilities.category_code
),

-- (五) each other administrative category: 5 x compliance rate, 0 without information
s05 as (
    select month_start, department_code, 'S05_OTHER_ADMIN' as rule_code, category_code as item_code,
        compliance_rate as basis_value, accepted_rows as basis_numerator, submitted_rows as basis_denominator
    from category_compliance
    where category_class = 'admin' and not is_double_publicity and is_catalogue
),

-- (六) each 52号文 category: shared -> 5 x compliance rate, not shared -> -5
s06 as (
    select month_start, department_code, 'S06_SPECIAL_52' as rule_code, category_code as item_code,
        case when accepted_rows > 0 then compliance_rate end as basis_value,
        accepted_rows as basis_numerator, submitted_rows as basis_denominator
    from category_compliance
    where is_special_52 and is_catalogue
),

-- (九)(十)(十一) commitment information and (十二) contract information: 5 x compliance rate
layout_compliance as (
    select
        month_start,
        department_code,
        record_layout,
        sum(accepted_rows) as accepted_rows,
        sum(submitted_rows) as submitted_rows
    from category_compliance
    where record_layout in ('commitment', 'contract')
    group by month_start, department_code, record_layout
),

s09_s12 as (
    select month_start, department_code,
        case record_layout when 'commitment' then 'S09_COMMITMENT' else 'S12_CONTRACT' end as rule_code,
        '' as item_code,
        cast(1.0 * accepted_rows / nullif(submitted_rows, 0) as decimal(18, 6)) as basis_value,
        accepted_rows as basis_numerator, submitted_rows as basis_denominator
    from layout_compliance
),

-- (七) bad codes in the registrations a department delivered, each month until corrected
registrars as (
    select distinct department_code from responsibilities where record_layout = 'registration'
),

registered_bad_codes as (
    select records.department_code, records.uscc, min(records.first_report_date) as first_report_date
    from {{ ref('int_credit_records') }} as records
    inner join (select distinct uscc from {{ ref('int_code_conflicts') }}) as conflicts
        on conflicts.uscc = records.uscc
    where records.record_layout = 'registration'
    group by records.department_code, records.uscc
),

s07 as (
    select months.month_start, registrars.department_code, 'S07_BAD_CODE' as rule_code, '' as item_code,
        cast(count(registered_bad_codes.uscc) as decimal(18, 6)) as basis_value,
        count(registered_bad_codes.uscc) as basis_numerator, cast(null as bigint) as basis_denominator
    from months
    cross join registrars
    left join registered_bad_codes
        on registered_bad_codes.department_code = registrars.department_code
        and registered_bad_codes.first_report_date <= months.month_end
    group by months.month_start, registrars.department_code
),

-- (十六) serious dishonesty list designations and (二十四) exits from the list
serious_list as (
    select department_code, event_date, list_end_date, uscc
    from {{ ref('int_credit_records') }}
    where category_code = '{{ var("serious_dishonesty_list_category") }}'
),

list_departments as (
    select distinct department_code
    from responsibilities
    where category_code = '{{ var("serious_dishonesty_list_category") }}'
),

list_activity as (
    select
        months.month_start,
        list_departments.department_code,
        sum(case when {{ credit_warehouse.month_start('serious_list.event_date') }} = months.month_start
            then 1 else 0 end) as designations,
        sum(case when {{ credit_warehouse.month_start('serious_list.list_end_date') }} = months.month_start
            and serious_list.list_end_date <= as_of.as_of_date then 1 else 0 end) as exits
    from months
    cross join list_departments
    cross join as_of
    left join serious_list
        on serious_list.department_code = list_departments.department_code
    group by months.month_start, list_departments.department_code
),

s16_s24 as (
    select month_start, department_code, 'S16_SERIOUS_LIST' as rule_code, '' as item_code,
        cast(designations as decimal(18, 6)) as basis_value, designations as basis_numerator,
        cast(null as bigint) as basis_denominator
    from list_activity
    union all
    select month_start, department_code, 'S24_LIST_EXIT', '', cast(exits as decimal(18, 6)), exits, null
    from list_activity
),

-- (十七) granted repairs of the department's penalties closed in the month
penalty_departments as (
    select distinct department_code from responsibilities where record_layout = 'penalty'
),

s17 as (
    select months.month_start, penalty_departments.department_code, 'S17_REPAIR' as rule_code,
        '' as item_code,
        cast(count(repairs.repair_id) as decimal(18, 6)) as basis_value, count(repairs.repair_id) as basis_numerator,
        cast(null as bigint) as basis_denominator
    from months
    cross join penalty_departments
    left join {{ ref('fct_credit_repair') }} as repairs
        on repairs.department_code = penalty_departments.department_code
        and repairs.is_granted
        and {{ credit_warehouse.month_start('repairs.closed_date') }} = months.month_start
    group by months.month_start, penalty_departments.department_code
),

-- (二十九) the department itself on the serious dishonesty list at any day of the month
s29 as (
    select months.month_start, departments.department_code, 'S29_OWN_LISTING' as rule_code, '' as item_code,
        cast(count(serious_list.uscc) as decimal(18, 6)) as basis_value, count(serious_list.uscc) as basis_numerator,
        cast(null as bigint) as basis_denominator
    from months
    cross join {{ ref('departments') }} as departments
    left join serious_list
        on serious_list.uscc = departments.department_uscc
        and serious_list.event_date <= months.month_end
        and (serious_list.list_end_date is null or serious_list.list_end_date >= months.month_start)
    group by months.month_start, departments.department_code
),

bases as (
    select * from s03
    union all select * from s04
    union all select * from s05
    union all select * from s06
    union all select * from s07
    union all select * from s09_s12
    union all select * from s16_s24
    union all select * from s17
    union all select * from s29
),

scored as (
    select
        bases.*,
        rules.scoring_item,
        rules.item_name_zh,
        rules.basis_kind,
        rules.points as rule_points,
        rules.points_if_none,
        rules.max_points,
        case rules.basis_kind
            when 'rate' then coalesce(rules.points * bases.basis_value, rules.points_if_none)
            when 'count' then rules.points * bases.basis_value
            when 'flag' then case when bases.basis_value > 0 then rules.points else rules.points_if_none end
        end as raw_points
    from bases
    inner join rules
        on rules.rule_code = bases.rule_code
)

select
    {{ dbt.hash(dbt.concat(["scored.month_start", "'|'", "scored.department_code", "'|'", "scored.rule_code", "'|'",
                            "scored.item_code"])) }} as score_id,
    scored.month_start,
    scored.department_code,
    departments.department_name,
    scored.rule_code,
    scored.scoring_item,
    scored.item_name_zh,
    scored.item_code,
    categories.category_name_zh as item_name,
    scored.basis_kind,
    scored.basis_value,
    scored.basis_numerator,
    scored.basis_denominator,
    scored.rule_points,
    scored.points_if_none,
    scored.max_points,
    cast(case
        when scored.max_points is not null and scored.raw_points > scored.max_points then scored.max_points
        else scored.raw_points
    end as decimal(9, 2)) as points
from scored
left join {{ ref('departments') }} as departments
    on departments.department_code = scored.department_code
left join categories
    on categories.category_code = scored.item_code
