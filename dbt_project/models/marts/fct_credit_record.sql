-- One row per current credit record (latest delivered version), with its category, department and
-- subject. No raw ID numbers: persons appear as person_key + masked ID.
--
-- A view over int_credit_records, which lives in the same (marts) file: the subject's kind, region and
-- display name are joined when read, so they are always the subject's current ones, and a build
-- writes the year's 25M rows once, not twice (a year of the 1,000,000-subject city: the copy took
-- 57-83 s of a full build and ~7 s of every daily one). A scan of the whole view pays the joins
-- (~2.4 s there). A lookup by subject_key reads int_credit_records through the index publish builds:
-- every join is a left join, because an inner join pushes its other side's keys into the records'
-- scan as a second (dynamic) filter, and DuckDB then scans the table instead of using the index
-- (one subject's records, that year: 372 ms p50 / 437 ms p95 with the inner join to dim_category,
-- 10 / 15 ms left; the same rows, every category_code is in dim_category). Its references leave out
-- the file's name: the published copy is opened under another one.
{{ config(materialized='view') }}

with records as (
    select * from {{ credit_warehouse.ref_in_this_file('int_credit_records') }}
),

categories as (
    select * from {{ credit_warehouse.ref_in_this_file('dim_category') }}
),

departments as (
    select department_code, department_name from {{ credit_warehouse.ref_in_this_file('dim_department') }}
),

subjects as (
    select subject_key, subject_kind, region_code, subject_name as subject_display_name
    from {{ credit_warehouse.ref_in_this_file('dim_subject') }}
)

select
    records.record_id,
    records.department_code,
    departments.department_name,
    records.category_code,
    categories.category_name_zh,
    categories.category_class,
    categories.is_special_52,
    records.record_layout,
    records.record_key,
    records.subject_key,
    records.is_person,
    subjects.subject_kind,
    subjects.region_code,
    records.subject_name,
    subjects.subject_display_name,
    records.subject_type,
    records.uscc,
    records.person_key,
    records.id_number_masked,
    records.legal_rep,
    records.doc_number,
    records.event_date,
    records.report_date,
    records.first_report_date,
    records.matter,
    records.summary,
    records.authority,
    records.amount_10k_yuan,
    records.penalty_category,
    records.licence_category,
    records.licence_status,
    records.valid_from,
    records.valid_to,
    records.list_type,
    records.list_end_date,
    records.is_dishonest_executee,
    records.commitment_type,
    records.commitment_ref,
    records.fulfilment_status,
    records.contract_status,
    records.evaluation_result,
    records.reg_status,
    records.account_no,
    records.billing_period_start,
    records.amount_due_yuan,
    records.amount_paid_yuan,
    records.arrears_yuan,
    records.payment_date,
    records.is_in_arrears,
    records.version_count,
    records.latest_load_id,
    records.latest_source_file,
    records.latest_row_number,
    records.timeliness_applies,
    records.report_lag_workdays,
    records.is_late,
    records.warning_rule_ids,
    records.has_warnings
from records
left join categories
    on categories.category_code = records.category_code
left join departments
    on departments.department_code = records.department_code
left join subjects
    on subjects.subject_key = records.subject_key
