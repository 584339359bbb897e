-- One row per subject and catalogue category the subject has records in: how many, the latest
-- event date, and the latest record's document number and summary.
with records as (
    select * from {{ ref('fct_credit_record') }}
),

ranked as (
    select
        records.*,
        row_number() over (
            partition by subject_key, category_code
            order by event_date desc, report_date desc, record_id
        ) as recency_rank
    from records
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
    latest.subject_display_name as subject_name,
    latest.subject_kind,
    aggregated.category_code,
    latest.category_name_zh,
    latest.category_class,
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
inner join ranked as latest
    on latest.subject_key = aggregated.subject_key
    and latest.category_code = aggregated.category_code
    and latest.recency_rank = 1
