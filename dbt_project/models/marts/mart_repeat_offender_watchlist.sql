-- 屡禁不止、屡罚不改 watchlist (001 item 14, 002 (二十五)): market subjects (subject_kind_groups.
-- is_market_subject: enterprises, 个体工商户, 农民专业合作社) with at least repeat_offender_threshold
-- (10) administrative penalties, or at least as many 失信被执行人 entries, decided within the last
-- repeat_offender_years (3) years before the as-of date. One row per subject on the list.
with as_of as (
    select as_of_date,
        cast({{ dbt.dateadd('year', -var('repeat_offender_years'), 'as_of_date') }} as date) as window_start
    from {{ ref('int_as_of_date') }}
),

market_kinds as (
    select subject_kind from {{ ref('subject_kind_groups') }} where is_market_subject
),

records as (
    select records.*
    from {{ ref('fct_credit_record') }} as records
    inner join market_kinds
        on market_kinds.subject_kind = records.subject_kind
),

counted as (
    select
        records.subject_key,
        sum(case when records.record_layout = 'penalty' then 1 else 0 end) as penalties_in_window,
        sum(case when records.is_dishonest_executee then 1 else 0 end) as executee_entries_in_window,
        max(case when records.record_layout = 'penalty' then records.event_date end) as latest_penalty_date,
        max(case when records.is_dishonest_executee then records.event_date end) as latest_executee_date,
        count(distinct case when records.record_layout = 'penalty' then records.department_code end)
            as penalty_departments
    from records
    cross join as_of
    where records.event_date > as_of.window_start
        and records.event_date <= as_of.as_of_date
        and (records.record_layout = 'penalty' or records.is_dishonest_executee)
    group by records.subject_key
)

select
    counted.subject_key,
    subjects.subject_name,
    subjects.subject_kind,
    subjects.uscc,
    subjects.id_number_masked,
    subjects.region_code,
    subjects.region_name,
    counted.penalties_in_window,
    counted.executee_entries_in_window,
    counted.penalties_in_window >= {{ var('repeat_offender_threshold') }} as is_repeat_penalised,
    counted.executee_entries_in_window >= {{ var('repeat_offender_threshold') }} as is_repeat_executee,
    counted.latest_penalty_date,
    counted.latest_executee_date,
    counted.penalty_departments,
    as_of.window_start,
    as_of.as_of_date
from counted
cross join as_of
inner join {{ ref('dim_subject') }} as subjects
    on subjects.subject_key = counted.subject_key
where counted.penalties_in_window >= {{ var('repeat_offender_threshold') }}
    or counted.executee_entries_in_window >= {{ var('repeat_offender_threshold') }}
