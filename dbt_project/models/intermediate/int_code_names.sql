-- One row per organisation code (USCC) and subject name (normalised) over current records: the
-- name's first spelling, and the code's own figures (records, names, departments, report dates),
-- the same on each of its names. int_code_conflicts finds the 重错码 on these rows instead of on
-- every record: it is rebuilt daily, and grouping the 25M records of a year of the 1,000,000-subject
-- city cost that build ~36 s; this model is kept per subject.
--
-- Incremental per subject: an organisation record with a code belongs to the subject keyed by that
-- code, so a code's rows are a function of its subject's records alone.
-- depends_on: {{ ref('int_window_subjects') }}
{{ credit_warehouse.per_subject_incremental() }}

with org_records as {{ credit_warehouse.not_materialized_when_full() }} (
    select
        subject_key,
        uscc,
        subject_name,
        subject_name_normalized,
        department_code,
        report_date
    from {{ ref('int_credit_records') }}
    where not is_person
        and uscc is not null
        and subject_name_normalized is not null
    {%- if is_incremental() %}
        and {{ credit_warehouse.in_window_subjects('subject_key') }}
    {%- endif %}
),

names as (
    select
        subject_key,
        uscc,
        subject_name_normalized,
        min(subject_name) as subject_name
    from org_records
    group by subject_key, uscc, subject_name_normalized
),

codes as (
    select
        uscc,
        count(*) as record_count,
        count(distinct subject_name_normalized) as name_count,
        count(distinct department_code) as department_count,
        min(report_date) as first_report_date,
        max(report_date) as last_report_date
    from org_records
    group by uscc
),

code_departments as (
    select uscc, {{ dbt.listagg('department_code', "','", 'order by department_code') }} as departments
    from (select distinct uscc, department_code from org_records) as pairs
    group by uscc
)

select
    names.subject_key,
    names.uscc,
    names.subject_name_normalized,
    names.subject_name,
    codes.record_count,
    codes.name_count,
    codes.department_count,
    code_departments.departments,
    codes.first_report_date,
    codes.last_report_date
from names
inner join codes
    on codes.uscc = names.uscc
inner join code_departments
    on code_departments.uscc = names.uscc
