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

{#- a code's figures from its (code, department) pairs and its names, two groupings of the records
    instead of three: count(distinct ...) of the names and departments over the records kept a set of
    values per code (the year's full build: 26.5 -> 20.4 s; standalone ~25 -> ~17.6 s, the same rows) -#}
code_departments as (
    select
        uscc,
        department_code,
        count(*) as record_count,
        min(report_date) as first_report_date,
        max(report_date) as last_report_date
    from org_records
    group by uscc, department_code
),

codes as (
    select
        uscc,
        cast(sum(record_count) as {{ dbt.type_bigint() }}) as record_count,
        count(*) as department_count,
        {{ dbt.listagg('department_code', "','", 'order by department_code') }} as departments,
        min(first_report_date) as first_report_date,
        max(last_report_date) as last_report_date
    from code_departments
    group by uscc
),

code_names as (
    select uscc, count(*) as name_count
    from (select distinct uscc, subject_name_normalized from names) as distinct_names
    group by uscc
)

select
    names.subject_key,
    names.uscc,
    names.subject_name_normalized,
    names.subject_name,
    codes.record_count,
    code_names.name_count,
    codes.department_count,
    codes.departments,
    codes.first_report_date,
    codes.last_report_date
from names
inner join codes
    on codes.uscc = names.uscc
inner join code_names
    on code_names.uscc = names.uscc
