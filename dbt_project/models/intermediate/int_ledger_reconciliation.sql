-- One row per decision in a department's 双公示 ledger (台账; latest delivered version of each
-- entry), reconciled against what the department reported: a decision is reported when a row of
-- the department's licence/penalty feed carries the same document number (quarantined rows count:
-- they were submitted; 合规率 judges them). fct_ledger_decision judges concealment (瞒报) at the
-- as-of date; nothing here depends on it.
--
-- Incremental per entry: an entry's reconciliation is a function of its versions, the submitted rows
-- with its document number and the seeds, so a daily build recomputes the entries with a version in
-- the window and the entries whose document number got a submitted row in it (found in the kept
-- table). A year of the 1,000,000-subject city reconciled every entry against every 双公示 row again
-- each day (22 s alone).
--
-- Stored in the marts file: fct_ledger_decision, what analysts read, is a view over it there, which
-- adds the department's name and judges concealment at the as-of date when read, instead of a third
-- 10.7M-row copy of the ledger whose two as-of columns every daily build updated in place (a year of
-- the 1,000,000-subject city: the copy took 13-18 s of a full build, 6-39 s of a daily one).
-- Nothing in it changes in place, so its tests read the entries a build rewrote (window_key).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='ledger_entry_id',
          database='marts_db', meta={'window_key': 'ledger_entry_id'}) }}

with
{%- if is_incremental() %}
window_entries as (
    {{ credit_warehouse.ledger_window_entries(this) }}
),
{%- endif %}

versions as (
    select
        entries.load_seq,
        entries.row_number,
        entries.department_code,
        entries.category_code,
        entries.record_key,
        entries.business_date
    from {{ ref('stg_ledger_entries') }} as entries
    {%- if is_incremental() %}
    inner join window_entries
        on window_entries.department_code = entries.department_code
        and window_entries.category_code = entries.category_code
        and window_entries.record_key = entries.record_key
    {%- endif %}
),

ranked as (
    {#- the latest version of each entry ranked on the ordering columns alone, then its row joined back
        by (load_seq, row_number), as int_credit_records does -#}
    select
        load_seq,
        row_number,
        row_number() over (
            partition by department_code, category_code, record_key
            order by business_date desc, load_seq desc, row_number desc
        ) as version_rank
    from versions
),

decision_categories as (
    {#- the ledger names the decision kind as the catalogue names its 双公示 category -#}
    select category_code, category_name_zh
    from {{ ref('catalogue_categories') }}
    where is_double_publicity
),

current_entries as (
    select
        entries.*,
        decision_categories.category_code as decision_category_code
    from ranked
    inner join {{ ref('stg_ledger_entries') }} as entries
        on entries.load_seq = ranked.load_seq
        and entries.row_number = ranked.row_number
    left join decision_categories
        on decision_categories.category_name_zh = entries.decision_kind
    where ranked.version_rank = 1
),

{%- if is_incremental() %}
entry_documents as (
    select distinct department_code, decision_category_code, doc_number_key
    from current_entries
    where doc_number_key is not null
),
{%- endif %}

submissions as (
    {#- A daily build aggregates only the document numbers of the entries it builds: it reads the 双公示
        rows' keys but groups the few that match. A full build groups every 双公示 row instead (those of
        no entry are left out by the join below): joined to the entries here too, current_entries was
        read twice, so DuckDB wrote its 10.7M wide rows out and spilled 2.8 GB (a year of the
        1,000,000-subject city: 39.6 -> 25.8 s standalone, the same rows). -#}
    select
        quality.department_code,
        quality.category_code,
        quality.doc_number_key,
        min(quality.report_date) as first_report_date,
        {{ dbt.bool_or('quality.is_accepted') }} as is_accepted
    from {{ ref('int_feed_row_quality') }} as quality
    {%- if is_incremental() %}
    inner join entry_documents
        on entry_documents.department_code = quality.department_code
        and entry_documents.decision_category_code = quality.category_code
        and entry_documents.doc_number_key = quality.doc_number_key
    {%- endif %}
    where quality.is_double_publicity
    group by quality.department_code, quality.category_code, quality.doc_number_key
),

calendar as (
    select calendar_date, is_workday, workday_seq
    from {{ ref('int_workday_calendar') }}
),

reconciled as (
    select
        current_entries.*,
        submissions.doc_number_key is not null as is_reported,
        submissions.first_report_date,
        submissions.is_accepted,
        due.calendar_date as report_due_date,
        reported_on.workday_seq - decided_on.workday_seq as report_lag_workdays
    from current_entries
    left join submissions
        on submissions.department_code = current_entries.department_code
        and submissions.category_code = current_entries.decision_category_code
        and submissions.doc_number_key = current_entries.doc_number_key
    left join calendar as decided_on
        on decided_on.calendar_date = current_entries.decision_date
    {{ credit_warehouse.join_workday_deadline('decided_on', 'due', var('report_deadline_workdays')) }}
    left join calendar as reported_on
        on reported_on.calendar_date = submissions.first_report_date
)

select
    {{ dbt.hash(dbt.concat(["department_code", "'|'", "record_key"])) }} as ledger_entry_id,
    department_code,
    category_code as ledger_category_code,
    record_key,
    doc_number_key,
    decision_kind,
    decision_category_code,
    doc_number,
    subject_name,
    subject_type,
    uscc,
    decision_date,
    {{ credit_warehouse.month_start('decision_date') }} as decision_month,
    report_due_date,
    is_reported,
    first_report_date,
    report_lag_workdays,
    coalesce(is_accepted, false) as is_accepted,
    business_date as ledger_report_date,
    source_file as ledger_source_file
from reconciled
