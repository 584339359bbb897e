-- Publicity of every administrative penalty (current version), per 国办发〔2025〕22号 and
-- 《信用修复管理办法》: its severity and publicity period (int_penalty_terms) and its status at the
-- as-of date: repaired (a granted credit repair closed by then), expired (past the publicity end) or
-- public. Only this status depends on the as-of date; the terms are kept per record.
with penalties as (
    select
        record_id,
        department_code,
        department_name,
        subject_key,
        subject_kind,
        subject_display_name,
        uscc,
        id_number_masked,
        doc_number,
        event_date,
        matter,
        penalty_category,
        summary,
        amount_10k_yuan,
        authority
    from {{ ref('fct_credit_record') }}
    where record_layout = 'penalty'
),

repairs as (
    select penalty_record_id, min(closed_date) as repaired_on
    from {{ ref('fct_credit_repair') }}
    where is_granted
        and closed_date is not null
        and penalty_record_id is not null
    group by penalty_record_id
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

statused as (
    select
        penalties.*,
        terms.severity,
        terms.severity_source,
        terms.delivered_publicity_until,
        terms.shortest_end_date,
        terms.publicity_end_date,
        repairs.repaired_on,
        as_of.as_of_date
    from penalties
    inner join {{ ref('int_penalty_terms') }} as terms
        on terms.record_id = penalties.record_id
    cross join as_of
    left join repairs
        on repairs.penalty_record_id = penalties.record_id
        and repairs.repaired_on <= as_of.as_of_date
)

select
    record_id,
    department_code,
    department_name,
    subject_key,
    subject_kind,
    subject_display_name as subject_name,
    uscc,
    id_number_masked,
    doc_number,
    event_date as decision_date,
    matter as violation_type,
    penalty_category,
    summary as penalty_content,
    amount_10k_yuan as fine_10k_yuan,
    authority,
    severity,
    severity_source,
    delivered_publicity_until,
    shortest_end_date,
    publicity_end_date,
    repaired_on,
    as_of_date,
    case
        when repaired_on is not null then 'repaired'
        when as_of_date > publicity_end_date then 'expired'
        else 'public'
    end as publicity_status,
    repaired_on is null and as_of_date <= publicity_end_date as is_public
from statused
