-- Publicity of every administrative penalty (current version), per 国办发〔2025〕22号 and
-- 《信用修复管理办法》: its severity and publicity period (int_penalty_terms) and its status at the
-- as-of date: repaired (a granted credit repair closed by then), expired (past the publicity end) or
-- public. Only this status depends on the as-of date; the terms are kept per record.
--
-- Incremental per subject, like mart_subject_category_summary: a daily build recomputes the
-- penalties of the window's subjects and replaces those that changed (the status columns left out
-- of the comparison: they are judged next), then judges every kept penalty's repair and status again in
-- place (post-hook), at the new as-of date and over the current repairs, which may arrive for a
-- penalty the build did not rewrite. A year of the 1,000,000-subject city (5.25M penalties) was
-- written whole every day. Its tests read every row: the update changes rows outside the window.
-- depends_on: {{ ref('int_window_subjects') }}
{{ credit_warehouse.per_subject_incremental(window_tested=false, row_key=['record_id'],
    judged_in_place=['repaired_on', 'as_of_date', 'publicity_status', 'is_public']) }}
{{ config(post_hook="{% if is_incremental() %}{{ credit_warehouse.judge_publicity_in_place() }}{% endif %}") }}

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
    {%- if is_incremental() %}
        and {{ credit_warehouse.in_window_subjects('subject_key') }}
    {%- endif %}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

repairs as (
    {{ credit_warehouse.penalty_repairs('(select as_of_date from as_of)') }}
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
    {{ credit_warehouse.publicity_status('repaired_on', 'publicity_end_date', 'as_of_date') }} as publicity_status,
    {{ credit_warehouse.is_public('repaired_on', 'publicity_end_date', 'as_of_date') }} as is_public
from statused
