-- One row per current credit record: the latest delivered version of each (department,
-- category, record key) wins (report date, then load sequence, then row number), with how many
-- times it was delivered, its lineage, and its timeliness against the working-day calendar.
--
-- Incremental: a record is a function of its own versions and the seeds alone, and versions are only
-- ever added (a removed or re-validated file, or changed seeds or vars, rebuild in full:
-- transform.staging_window). So a daily build recomputes just the records that got a version in the
-- build's staging window, from all their versions, and replaces them by record_id. load_seq >= the
-- window's smallest load_seq can take in older rows too; recomputing those records is harmless.
--
-- Stored in the marts file, not the work file: marts.fct_credit_record, the analysts' view of it,
-- joins its subject, category and department at query time instead of copying its 25M rows (a year
-- of the 1,000,000-subject city: the copy took 57-83 s of a full build and ~7 s of every daily one).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='record_id',
          database='marts_db', meta={'window_key': 'record_id'}) }}

with all_versions as {{ credit_warehouse.not_materialized() }} (
    select * from {{ ref('int_record_versions') }}
),

{% if is_incremental() -%}
versions as (
    select all_versions.*
    from all_versions
    {{ credit_warehouse.join_window_records('all_versions') }}
),
{%- else -%}
{#- read twice (ranking, then the winners' rows): DuckDB would write the year's versions out whole.
    all_versions needs the hint too: inlining versions makes it read twice as well. -#}
versions as {{ credit_warehouse.not_materialized() }} (
    select * from all_versions
),
{%- endif %}

{#- ranked on the ordering columns alone, then the winning rows joined back by (load_seq, row_number),
    two integers that identify a row as (file_sha256, row_number) does: sorting the wide versions
    inside the window cost twice as long (a month of the 1,000,000-subject city), and keyed by the
    64-character file hash a year's 25M winners spilled ~25 GB more in the join (165 s against 85 s) -#}
{#- every figure over one window, so DuckDB sorts the versions once: the first version's flag is the
    last value in the newest-first order, exactly (report_date, load_seq and row_number are never null
    and identify a row). With the first version's own ascending window the year's ranking took
    19.2-20.5 s, with one window 11.7-11.9 s, the same rows. -#}
ranked as (
    select
        load_seq,
        row_number,
        row_number() over newest_first as version_rank,
        count(*) over all_versions_of_record as version_count,
        min(report_date) over all_versions_of_record as first_report_date,
        last_value(is_late_reported) over all_versions_of_record as first_version_late_reported
    from versions
    window
        newest_first as (
            partition by department_code, category_code, record_key
            order by report_date desc, load_seq desc, row_number desc
        ),
        all_versions_of_record as (
            newest_first rows between unbounded preceding and unbounded following
        )
),

current_versions as (
    select
        versions.*,
        ranked.version_count,
        ranked.first_report_date,
        ranked.first_version_late_reported
    from ranked
    inner join versions
        on versions.load_seq = ranked.load_seq
        and versions.row_number = ranked.row_number
    where ranked.version_rank = 1
),

calendar as (
    select calendar_date, workday_seq
    from {{ ref('int_workday_calendar') }}
),

timed as (
    select
        current_versions.*,
        case
            when current_versions.timeliness_applies and current_versions.event_date <= current_versions.first_report_date
                then reported_on.workday_seq - decided_on.workday_seq
        end as report_lag_workdays
    from current_versions
    left join calendar as decided_on
        on decided_on.calendar_date = current_versions.event_date
    left join calendar as reported_on
        on reported_on.calendar_date = current_versions.first_report_date
)

select
    record_id,
    department_code,
    category_code,
    record_layout,
    record_key,
    subject_key,
    is_person,
    subject_name,
    subject_name_normalized,
    subject_type,
    uscc,
    uscc_is_resident_id,
    person_key,
    id_number_masked,
    id_region_code,
    id_number_status,
    legal_rep,
    id_type,
    doc_number,
    event_date,
    report_date,
    first_report_date,
    matter,
    summary,
    authority,
    amount_10k_yuan,
    penalty_category,
    licence_category,
    licence_status,
    valid_from,
    valid_to,
    list_type,
    list_end_date,
    coalesce(is_dishonest_executee, false) as is_dishonest_executee,
    commitment_type,
    commitment_ref,
    fulfilment_status,
    contract_status,
    evaluation_result,
    reg_status,
    reg_authority,
    establish_date,
    account_no,
    billing_period_start,
    amount_due_yuan,
    amount_paid_yuan,
    arrears_yuan,
    payment_date,
    coalesce(is_in_arrears, false) as is_in_arrears,
    version_count,
    load_id as latest_load_id,
    load_seq as latest_load_seq,
    file_sha256 as latest_file_sha256,
    source_file as latest_source_file,
    row_number as latest_row_number,
    timeliness_applies,
    report_lag_workdays,
    coalesce(
        report_lag_workdays > {{ var('report_deadline_workdays') }},
        timeliness_applies and first_version_late_reported,
        false
    ) as is_late,
    warning_rule_ids,
    warning_rule_ids is not null as has_warnings
from timed
