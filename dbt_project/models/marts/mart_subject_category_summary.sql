-- One row per subject and catalogue category the subject has records in: how many, the latest
-- event date, and the latest record's document number and summary.
-- The latest record is ranked on the ordering columns alone and joined back by record_id (unique):
-- a window over the whole 58-column fact made the sort carry every column (a year of the
-- 1,000,000-subject city: 69.8 s -> 58.2 s standalone, the same rows). It reads int_credit_records,
-- not the fct_credit_record view, and joins the subject and category to its own rows: the view
-- would join them to every record.
--
-- Incremental per subject, like int_subjects (a subject's rows are a function of its records
-- alone): a daily build recomputes the window's subjects and replaces the rows that changed (a
-- subject's categories without a new record stay as they are).
-- depends_on: {{ ref('int_window_subjects') }}
{{ credit_warehouse.per_subject_incremental(row_key=['subject_key', 'category_code']) }}

with records as {{ credit_warehouse.not_materialized_when_full() }} (
    select * from {{ ref('int_credit_records') }}
    {%- if is_incremental() %}
    where {{ credit_warehouse.in_window_subjects('subject_key') }}
    {%- endif %}
),

ranked as (
    select
        record_id,
        row_number() over (
            partition by subject_key, category_code
            order by event_date desc, report_date desc, record_id
        ) as recency_rank
    from records
),

latest as (
    select records.*
    from records
    inner join ranked
        on ranked.record_id = records.record_id
        and ranked.recency_rank = 1
),

aggregated as (
    select
        subject_key,
        category_code,
        count(*) as record_count,
        count(distinct department_code) as department_count,
        min(event_date) as first_event_date,
        max(event_date) as latest_event_date,
        max(report_date) as latest_report_date,
        sum(case when is_late then 1 else 0 end) as late_record_count
    from records
    group by subject_key, category_code
)

select
    aggregated.subject_key,
    subjects.subject_name,
    subjects.subject_kind,
    aggregated.category_code,
    categories.category_name_zh,
    categories.category_class,
    aggregated.record_count,
    aggregated.department_count,
    aggregated.first_event_date,
    aggregated.latest_event_date,
    aggregated.latest_report_date,
    latest.doc_number as latest_doc_number,
    latest.matter as latest_matter,
    latest.summary as latest_summary,
    aggregated.late_record_count
from aggregated
inner join latest
    on latest.subject_key = aggregated.subject_key
    and latest.category_code = aggregated.category_code
inner join {{ ref('dim_category') }} as categories
    on categories.category_code = aggregated.category_code
left join {{ ref('dim_subject') }} as subjects
    on subjects.subject_key = aggregated.subject_key
