-- One row per subject with records: what its current records add up to that does not depend on the
-- as-of date (counts by category class and layout, the latest penalty, utility payment behaviour).
-- mart_subject_credit_file adds the subject's identity and the counts judged at the as-of date.
--
-- Incremental per subject, like int_subjects: a subject's row is a function of its current records and
-- the seeds, so a daily build deletes the window's subjects (int_window_subjects) and appends them
-- recomputed. A year of the 1,000,000-subject city rebuilt all of it every day.
-- depends_on: {{ ref('int_window_subjects') }}
{{ credit_warehouse.per_subject_incremental() }}
{%- set category_classes = credit_warehouse.credit_file_category_classes() %}

with records as {{ credit_warehouse.not_materialized_when_full() }} (
    select
        records.record_id,
        records.subject_key,
        records.category_code,
        categories.category_class,
        records.record_layout,
        records.doc_number,
        records.event_date,
        records.report_date,
        records.contract_status,
        records.is_dishonest_executee,
        records.is_late,
        records.account_no,
        records.billing_period_start,
        records.is_in_arrears,
        records.arrears_yuan
    from {{ ref('int_credit_records') }} as records
    inner join {{ ref('catalogue_categories') }} as categories
        on categories.category_code = records.category_code
    {%- if is_incremental() %}
    where {{ credit_warehouse.in_window_subjects('records.subject_key') }}
    {%- endif %}
),

record_counts as (
    select
        subject_key,
        count(*) as total_records,
        count(distinct category_code) as categories_with_records,
        {%- for class in category_classes %}
        sum(case when category_class = '{{ class }}' then 1 else 0 end) as {{ class }}_records,
        {%- endfor %}
        sum(case when record_layout = 'penalty' then 1 else 0 end) as penalty_count,
        sum(case when record_layout = 'licence' then 1 else 0 end) as licence_count,
        sum(case when record_layout = 'commitment' then 1 else 0 end) as commitment_count,
        sum(case when record_layout = 'fulfilment' then 1 else 0 end) as fulfilment_count,
        sum(case when record_layout = 'contract' and contract_status = '违约' then 1 else 0 end)
            as contract_breach_count,
        {{ dbt.bool_or('is_dishonest_executee') }} as is_dishonest_executee,
        sum(case when is_late then 1 else 0 end) as late_reported_records,
        max(event_date) as latest_record_date,
        max(report_date) as latest_report_date
    from records
    group by subject_key
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
    record_counts.*,
    latest_penalties.latest_penalty_date,
    latest_penalties.latest_penalty_doc_number,
    payment_summary.bills_count,
    payment_summary.months_billed,
    payment_summary.months_in_arrears,
    payment_summary.outstanding_arrears,
    payment_summary.on_time_payment_rate,
    longest_streaks.max_consecutive_arrears_months
from record_counts
left join latest_penalties
    on latest_penalties.subject_key = record_counts.subject_key
left join payment_summary
    on payment_summary.subject_key = record_counts.subject_key
left join longest_streaks
    on longest_streaks.subject_key = record_counts.subject_key
