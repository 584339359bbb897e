-- The subject credit file (信用档案): one row per subject with its identity, record counts by
-- category class, penalties, licences, list flags, commitments and utility payment behaviour.
{%- set category_classes = ['basic', 'admin', 'judicial', 'list', 'commitment', 'evaluation', 'special'] %}
with subjects as (
    select * from {{ ref('dim_subject') }}
),

records as (
    select * from {{ ref('fct_credit_record') }}
),

as_of as (
    -- lists and the repeat-offender window are judged at the as-of date (int_as_of_date: the
    -- latest validated business date unless the as_of_date var is set), like the indicator marts
    select as_of_date from {{ ref('int_as_of_date') }}
),

record_counts as (
    select
        records.subject_key,
        count(*) as total_records,
        count(distinct records.category_code) as categories_with_records,
        {%- for class in category_classes %}
        sum(case when records.category_class = '{{ class }}' then 1 else 0 end) as {{ class }}_records,
        {%- endfor %}
        sum(case when records.record_layout = 'penalty' then 1 else 0 end) as penalty_count,
        sum(case when records.record_layout = 'penalty'
                  and records.event_date > {{ dbt.dateadd('year', -var('repeat_offender_years'), 'as_of.as_of_date') }}
                 then 1 else 0 end) as penalties_recent_years,
        sum(case when records.is_dishonest_executee
                  and records.event_date > {{ dbt.dateadd('year', -var('repeat_offender_years'), 'as_of.as_of_date') }}
                 then 1 else 0 end) as executee_records_recent_years,
        sum(case when records.record_layout = 'licence' then 1 else 0 end) as licence_count,
        sum(case when records.record_layout = 'commitment' then 1 else 0 end) as commitment_count,
        sum(case when records.record_layout = 'fulfilment' then 1 else 0 end) as fulfilment_count,
        sum(case when records.record_layout = 'contract' and records.contract_status = '违约' then 1 else 0 end)
            as contract_breach_count,
        {{ dbt.bool_or("records.category_code = '" ~ var('serious_dishonesty_list_category') ~ "'"
            ~ " and (records.list_end_date is null or records.list_end_date > as_of.as_of_date)") }}
            as on_serious_dishonesty_list,
        {{ dbt.bool_or("records.category_code = '" ~ var('abnormal_operation_list_category') ~ "'"
            ~ " and (records.list_end_date is null or records.list_end_date > as_of.as_of_date)") }}
            as on_abnormal_operation_list,
        {{ dbt.bool_or("records.category_code = '" ~ var('honours_list_category') ~ "'"
            ~ " and (records.list_end_date is null or records.list_end_date > as_of.as_of_date)") }}
            as has_honours,
        {{ dbt.bool_or('records.is_dishonest_executee') }} as is_dishonest_executee,
        sum(case when records.is_late then 1 else 0 end) as late_reported_records,
        max(records.event_date) as latest_record_date,
        max(records.report_date) as latest_report_date
    from records
    cross join as_of
    group by records.subject_key
),

penalties as (
    select
        subject_key,
        event_date,
        doc_number,
        row_number() over (
            partition by subject_key
            order by event_date desc, report_date desc, record_id
        ) as penalty_rank
    from records
    where record_layout = 'penalty'
),

latest_penalties as (
    select subject_key, event_date as latest_penalty_date, doc_number as latest_penalty_doc_number
    from penalties
    where penalty_rank = 1
),

bills as (
    select
        subject_key,
        category_code,
        account_no,
        billing_period_start,
        {{ credit_warehouse.month_index('billing_period_start') }} as month_index,
        is_in_arrears,
        arrears_yuan
    from records
    where record_layout = 'payment'
        and billing_period_start is not null
),

payment_summary as (
    select
        subject_key,
        count(*) as bills_count,
        count(distinct billing_period_start) as months_billed,
        count(distinct case when is_in_arrears then billing_period_start end) as months_in_arrears,
        sum(case when is_in_arrears and arrears_yuan > 0 then arrears_yuan else 0 end) as outstanding_arrears,
        cast(round(avg(case when is_in_arrears then 0.0 else 1.0 end), 4) as decimal(9, 4)) as on_time_payment_rate
    from bills
    group by subject_key
),

arrears_months as (
    -- gaps and islands: consecutive months of one account share month_index - dense_rank
    select
        subject_key,
        category_code,
        account_no,
        month_index,
        month_index - dense_rank() over (
            partition by subject_key, category_code, account_no order by month_index
        ) as streak_group
    from bills
    where is_in_arrears
),

arrears_streaks as (
    select subject_key, category_code, account_no, streak_group, count(distinct month_index) as streak_months
    from arrears_months
    group by subject_key, category_code, account_no, streak_group
),

longest_streaks as (
    select subject_key, max(streak_months) as max_consecutive_arrears_months
    from arrears_streaks
    group by subject_key
)

select
    subjects.subject_key,
    subjects.is_person,
    subjects.subject_kind,
    subjects.uscc,
    subjects.person_key,
    subjects.id_number_masked,
    subjects.subject_name,
    subjects.region_code,
    subjects.region_name,
    subjects.legal_rep,
    subjects.reg_status,
    subjects.code_status,
    subjects.has_code_conflict,
    coalesce(record_counts.total_records, 0) as total_records,
    coalesce(record_counts.categories_with_records, 0) as categories_with_records,
    {%- for class in category_classes %}
    coalesce(record_counts.{{ class }}_records, 0) as {{ class }}_records,
    {%- endfor %}
    coalesce(record_counts.penalty_count, 0) as penalty_count,
    latest_penalties.latest_penalty_date,
    latest_penalties.latest_penalty_doc_number,
    coalesce(record_counts.penalties_recent_years, 0) as penalties_recent_years,
    coalesce(record_counts.penalties_recent_years, 0) >= {{ var('repeat_offender_threshold') }}
        or coalesce(record_counts.executee_records_recent_years, 0) >= {{ var('repeat_offender_threshold') }}
        as is_repeat_offender,
    coalesce(record_counts.licence_count, 0) as licence_count,
    coalesce(record_counts.on_serious_dishonesty_list, false) as on_serious_dishonesty_list,
    coalesce(record_counts.on_abnormal_operation_list, false) as on_abnormal_operation_list,
    coalesce(record_counts.has_honours, false) as has_honours,
    coalesce(record_counts.is_dishonest_executee, false) as is_dishonest_executee,
    coalesce(record_counts.commitment_count, 0) as commitment_count,
    coalesce(record_counts.fulfilment_count, 0) as fulfilment_count,
    coalesce(record_counts.contract_breach_count, 0) as contract_breach_count,
    coalesce(payment_summary.bills_count, 0) as bills_count,
    coalesce(payment_summary.months_billed, 0) as months_billed,
    coalesce(payment_summary.months_in_arrears, 0) as months_in_arrears,
    coalesce(longest_streaks.max_consecutive_arrears_months, 0) as max_consecutive_arrears_months,
    coalesce(payment_summary.outstanding_arrears, 0) as outstanding_arrears,
    payment_summary.on_time_payment_rate,
    coalesce(record_counts.late_reported_records, 0) as late_reported_records,
    record_counts.latest_record_date,
    record_counts.latest_report_date
from subjects
left join record_counts
    on record_counts.subject_key = subjects.subject_key
left join latest_penalties
    on latest_penalties.subject_key = subjects.subject_key
left join payment_summary
    on payment_summary.subject_key = subjects.subject_key
left join longest_streaks
    on longest_streaks.subject_key = subjects.subject_key
