-- The subject credit file (信用档案): one row per subject with its identity, record counts by
-- category class, penalties, licences, list flags, commitments and utility payment behaviour.
-- What does not depend on the as-of date comes from int_subject_record_summary, kept per subject
-- by the daily builds; only the counts judged at the as-of date read the records here, and only the
-- records that can count (penalties, dishonest executees, the list categories).
{%- set category_classes = credit_warehouse.credit_file_category_classes() %}
with subjects as (
    select * from {{ ref('dim_subject') }}
),

summaries as (
    select * from {{ ref('int_subject_record_summary') }}
),

as_of as (
    -- lists and the repeat-offender window are judged at the as-of date (int_as_of_date: the
    -- latest validated business date unless the as_of_date var is set), like the indicator marts
    select as_of_date from {{ ref('int_as_of_date') }}
),

{%- set list_categories = [var('serious_dishonesty_list_category'), var('abnormal_operation_list_category'),
                           var('honours_list_category')] %}

judged as (
    select
        records.subject_key,
        sum(case when records.record_layout = 'penalty'
                  and records.event_date > {{ dbt.dateadd('year', -var('repeat_offender_years'), 'as_of.as_of_date') }}
                 then 1 else 0 end) as penalties_recent_years,
        sum(case when records.is_dishonest_executee
                  and records.event_date > {{ dbt.dateadd('year', -var('repeat_offender_years'), 'as_of.as_of_date') }}
                 then 1 else 0 end) as executee_records_recent_years,
        {{ dbt.bool_or("records.category_code = '" ~ var('serious_dishonesty_list_category') ~ "'"
            ~ " and (records.list_end_date is null or records.list_end_date > as_of.as_of_date)") }}
            as on_serious_dishonesty_list,
        {{ dbt.bool_or("records.category_code = '" ~ var('abnormal_operation_list_category') ~ "'"
            ~ " and (records.list_end_date is null or records.list_end_date > as_of.as_of_date)") }}
            as on_abnormal_operation_list,
        {{ dbt.bool_or("records.category_code = '" ~ var('honours_list_category') ~ "'"
            ~ " and (records.list_end_date is null or records.list_end_date > as_of.as_of_date)") }}
            as has_honours
    from {{ ref('fct_credit_record') }} as records
    cross join as_of
    where records.record_layout = 'penalty'
        or records.is_dishonest_executee
        or records.category_code in ('{{ list_categories | join("', '") }}')
    group by records.subject_key
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
    coalesce(summaries.total_records, 0) as total_records,
    coalesce(summaries.categories_with_records, 0) as categories_with_records,
    {%- for class in category_classes %}
    coalesce(summaries.{{ class }}_records, 0) as {{ class }}_records,
    {%- endfor %}
    coalesce(summaries.penalty_count, 0) as penalty_count,
    summaries.latest_penalty_date,
    summaries.latest_penalty_doc_number,
    coalesce(judged.penalties_recent_years, 0) as penalties_recent_years,
    coalesce(judged.penalties_recent_years, 0) >= {{ var('repeat_offender_threshold') }}
        or coalesce(judged.executee_records_recent_years, 0) >= {{ var('repeat_offender_threshold') }}
        as is_repeat_offender,
    coalesce(summaries.licence_count, 0) as licence_count,
    coalesce(judged.on_serious_dishonesty_list, false) as on_serious_dishonesty_list,
    coalesce(judged.on_abnormal_operation_list, false) as on_abnormal_operation_list,
    coalesce(judged.has_honours, false) as has_honours,
    coalesce(summaries.is_dishonest_executee, false) as is_dishonest_executee,
    coalesce(summaries.commitment_count, 0) as commitment_count,
    coalesce(summaries.fulfilment_count, 0) as fulfilment_count,
    coalesce(summaries.contract_breach_count, 0) as contract_breach_count,
    coalesce(summaries.bills_count, 0) as bills_count,
    coalesce(summaries.months_billed, 0) as months_billed,
    coalesce(summaries.months_in_arrears, 0) as months_in_arrears,
    coalesce(summaries.max_consecutive_arrears_months, 0) as max_consecutive_arrears_months,
    coalesce(summaries.outstanding_arrears, 0) as outstanding_arrears,
    summaries.on_time_payment_rate,
    coalesce(summaries.late_reported_records, 0) as late_reported_records,
    summaries.latest_record_date,
    summaries.latest_report_date
from subjects
left join summaries
    on summaries.subject_key = subjects.subject_key
left join judged
    on judged.subject_key = subjects.subject_key
