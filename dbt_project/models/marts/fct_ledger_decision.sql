-- One row per decision in a department's 双公示 ledger (台账; latest delivered version of each
-- entry), reconciled against what the department reported (int_ledger_reconciliation, kept per
-- entry). An unreported decision is concealed (瞒报, 004) once its report deadline
-- (report_deadline_workdays after the decision) has passed at the as-of date.
--
-- A view over int_ledger_reconciliation, which lives in the same (marts) file: the department's name
-- and the judgement at the as-of date are added when read, so a build writes the ledger's entries
-- once and judges nothing in place (a year of the 1,000,000-subject city: 10.7M entries, whose copy
-- took 13-18 s of a full build, and the daily rewrite plus in-place judgement 6-39 s of a daily one).
-- Its references leave out the file's name: the published copy is opened under another one.
{{ config(materialized='view') }}

with entries as (
    select * from {{ credit_warehouse.ref_in_this_file('int_ledger_reconciliation') }}
),

as_of as (
    select as_of_date from {{ credit_warehouse.ref_in_this_file('int_as_of_date') }}
),

departments as (
    select department_code, department_name from {{ credit_warehouse.ref_in_this_file('dim_department') }}
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
left join departments
    on departments.department_code = entries.department_code
