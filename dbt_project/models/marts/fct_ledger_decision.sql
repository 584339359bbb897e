-- One row per decision in a department's 双公示 ledger (台账; latest delivered version of each
-- entry), reconciled against what the department reported (int_ledger_reconciliation, kept per
-- entry). An unreported decision is concealed (瞒报, 004) once its report deadline
-- (report_deadline_workdays after the decision) has passed at the as-of date: the only part judged
-- again on every build.
with as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
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
    not entries.is_reported
        and coalesce(entries.report_due_date < as_of.as_of_date, true) as is_concealed,
    as_of.as_of_date,
    entries.ledger_report_date,
    entries.ledger_source_file
from {{ ref('int_ledger_reconciliation') }} as entries
cross join as_of
left join {{ ref('departments') }} as departments
    on departments.department_code = entries.department_code
