-- One row per decision in a department's 双公示 ledger (台账; latest delivered version of each
-- entry), reconciled against what the department reported: a decision is reported when a row of
-- the department's licence/penalty feed carries the same document number (quarantined rows count:
-- they were submitted; 合规率 judges them). An unreported decision is concealed (瞒报, 004) once its
-- report deadline (report_deadline_workdays after the decision) has passed at the as-of date.
{#- the latest version of each entry ranked on the ordering columns alone, then its row joined back
    by (load_seq, row_number), as int_credit_records does #}
with ranked as (
    select
        load_seq,
        row_number,
        row_number() over (
            partition by department_code, category_code, record_key
            order by business_date desc, load_seq desc, row_number desc
        ) as version_rank
    from {{ ref('stg_ledger_entries') }}
),

current_entries as (
    select entries.*
    from ranked
    inner join {{ ref('stg_ledger_entries') }} as entries
        on entries.load_seq = ranked.load_seq
        and entries.row_number = ranked.row_number
    where ranked.version_rank = 1
),

decision_categories as (
    {#- the ledger names the decision kind as the catalogue names its 双公示 category -#}
    select category_code, category_name_zh
    from {{ ref('catalogue_categories') }}
    where is_double_publicity
),

submissions as (
    select
        department_code,
        category_code,
        doc_number_key,
        count(*) as submitted_rows,
        min(report_date) as first_report_date,
        {{ dbt.bool_or('is_accepted') }} as is_accepted
    from {{ ref('int_feed_row_quality') }}
    where is_double_publicity
        and doc_number_key is not null
    group by department_code, category_code, doc_number_key
),

calendar as (
    select calendar_date, is_workday, workday_seq
    from {{ ref('int_workday_calendar') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

reconciled as (
    select
        current_entries.*,
        decision_categories.category_code as decision_category_code,
        submissions.submitted_rows,
        submissions.first_report_date,
        submissions.is_accepted,
        due.calendar_date as report_due_date,
        reported_on.workday_seq - decided_on.workday_seq as report_lag_workdays,
        as_of.as_of_date
    from current_entries
    cross join as_of
    left join decision_categories
        on decision_categories.category_name_zh = current_entries.decision_kind
    left join submissions
        on submissions.department_code = current_entries.department_code
        and submissions.category_code = decision_categories.category_code
        and submissions.doc_number_key = current_entries.doc_number_key
    left join calendar as decided_on
        on decided_on.calendar_date = current_entries.decision_date
    left join calendar as due
        on due.workday_seq = decided_on.workday_seq + {{ var('report_deadline_workdays') }}
        and due.is_workday
    left join calendar as reported_on
        on reported_on.calendar_date = submissions.first_report_date
)

select
    {{ dbt.hash(dbt.concat(["reconciled.department_code", "'|'", "reconciled.record_key"])) }} as ledger_entry_id,
    reconciled.department_code,
    departments.department_name,
    reconciled.decision_kind,
    reconciled.decision_category_code,
    reconciled.doc_number,
    reconciled.subject_name,
    reconciled.subject_type,
    reconciled.uscc,
    reconciled.decision_date,
    {{ credit_warehouse.month_start('reconciled.decision_date') }} as decision_month,
    reconciled.report_due_date,
    reconciled.submitted_rows is not null as is_reported,
    reconciled.first_report_date,
    reconciled.report_lag_workdays,
    coalesce(reconciled.is_accepted, false) as is_accepted,
    reconciled.submitted_rows is null
        and coalesce(reconciled.report_due_date < reconciled.as_of_date, true) as is_concealed,
    reconciled.as_of_date,
    reconciled.business_date as ledger_report_date,
    reconciled.source_file as ledger_source_file
from reconciled
left join {{ ref('departments') }} as departments
    on departments.department_code = reconciled.department_code
