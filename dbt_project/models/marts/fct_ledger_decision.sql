-- One row per decision in a department's 双公示 ledger (台账; latest delivered version of each
-- entry), reconciled against what the department reported (int_ledger_reconciliation, kept per
-- entry). An unreported decision is concealed (瞒报, 004) once its report deadline
-- (report_deadline_workdays after the decision) has passed at the as-of date: the only part judged
-- again on every build.
--
-- Incremental per entry: a daily build rewrites the entries int_ledger_reconciliation reconciled
-- again (ledger_window_entries), then judges every other kept entry at the new as-of date in place
-- (post-hook): is_concealed and as_of_date are the only columns that depend on it. A year of the
-- 1,000,000-subject city (10.7M entries) was written whole every day (10.3 s); updating the two
-- columns of every row takes ~1.6 s.
-- depends_on: {{ ref('stg_ledger_entries') }} {{ ref('int_feed_row_quality') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='ledger_entry_id',
    post_hook="{% if is_incremental() %}{{ credit_warehouse.judge_concealment_in_place() }}{% endif %}",
    meta={'text_window_key': 'ledger_entry_id'},
) }}

with as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

entries as (
    select reconciled.*
    from {{ ref('int_ledger_reconciliation') }} as reconciled
    {%- if is_incremental() %}
    {{ credit_warehouse.join_ledger_window(ref('int_ledger_reconciliation')) }}
    {%- endif %}
)

select
    entries.ledger_entry_id,
    entries.department_code,
    departments.department_name,
    entries.decision_kind,
    entries.decision_category_code,
    entries.doc_number,
    entries.subject_name,
    entries.subject_type,
    entries.uscc,
    entries.decision_date,
    entries.decision_month,
    entries.report_due_date,
    entries.is_reported,
    entries.first_report_date,
    entries.report_lag_workdays,
    entries.is_accepted,
    {{ credit_warehouse.is_concealed('as_of.as_of_date', entries='entries') }} as is_concealed,
    as_of.as_of_date,
    entries.ledger_report_date,
    entries.ledger_source_file
from entries
cross join as_of
left join {{ ref('departments') }} as departments
    on departments.department_code = entries.department_code
