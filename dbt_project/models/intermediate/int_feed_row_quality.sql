-- One row per landed raw row of a validated file (every delivery, quarantined rows included): what
-- the department submitted, whether it passed validation (合规: no blocking issue) and whether it was
-- reported late (迟报: more than report_deadline_workdays working days from decision to report date,
-- Chinese statutory calendar with 调休). The basis of 合规率 and 及时率 (004) and of the
-- compliance-rate scores of 002 附表一. Document numbers appear only as protected keys.
--
-- Incremental per file, like the staging models (macros/incremental.sql): a row is a function of its
-- file's raw rows, that file's row issues and the seeds, so a daily build adds the files of its window.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='file_sha256',
    meta={'window_tested': true},
) }}

with validated_files as (
    select distinct file_sha256
    from {{ source('validation', 'validated_files') }}
    where {{ credit_warehouse.staging_window_files('validated_at') }}
),

blocked_rows as (
    select distinct file_sha256, row_number
    from {{ ref('stg_row_issues') }}
    where severity = 'blocking'
),

categories as (
    select
        categories.category_code,
        categories.is_catalogue,
        categories.is_double_publicity,
        layouts.event_date_field,
        layouts.timeliness_applies
    from {{ ref('catalogue_categories') }} as categories
    inner join {{ ref('record_layouts') }} as layouts
        on layouts.record_layout = categories.record_layout
),

submitted as (
    {#- the only place raw values are read: dates are parsed, document numbers protected -#}
    select
        feed_rows.file_sha256,
        feed_rows.row_number,
        feed_rows.load_seq,
        feed_rows.department_code,
        feed_rows.category_code,
        feed_rows.record_layout,
        feed_rows.business_date as report_date,
        categories.is_catalogue,
        categories.is_double_publicity,
        categories.timeliness_applies,
        {{ credit_warehouse.pick_field('categories.event_date_field', {
            'decision_date': credit_warehouse.parse_date('feed_rows.decision_date'),
            'establish_date': credit_warehouse.parse_date('feed_rows.establish_date'),
            'received_date': credit_warehouse.parse_date('feed_rows.received_date')}) }} as event_date,
        {{ credit_warehouse.protect_key(credit_warehouse.clean_code('feed_rows.doc_number')) }} as doc_number_key
    from {{ source('raw', 'feed_rows') }} as feed_rows
    inner join validated_files
        on validated_files.file_sha256 = feed_rows.file_sha256
    inner join categories
        on categories.category_code = feed_rows.category_code
    where {{ credit_warehouse.staging_window_rows('feed_rows.load_seq') }}
),

calendar as (
    select calendar_date, workday_seq
    from {{ ref('int_workday_calendar') }}
),

first_calendar_day as (
    select min(calendar_date) as first_date from calendar
),

timed as (
    select
        submitted.*,
        blocked_rows.file_sha256 is null as is_accepted,
        case
            when submitted.timeliness_applies and submitted.event_date <= submitted.report_date
                then reported_on.workday_seq - decided_on.workday_seq
        end as report_lag_workdays,
        {#- as the validation rule: a decision before the calendar's first day counts as late -#}
        coalesce(submitted.timeliness_applies and submitted.event_date < first_calendar_day.first_date, false)
            as is_before_calendar
    from submitted
    cross join first_calendar_day
    left join blocked_rows
        on blocked_rows.file_sha256 = submitted.file_sha256
        and blocked_rows.row_number = submitted.row_number
    left join calendar as decided_on
        on decided_on.calendar_date = submitted.event_date
    left join calendar as reported_on
        on reported_on.calendar_date = submitted.report_date
)

select
    file_sha256,
    row_number,
    load_seq,
    department_code,
    category_code,
    record_layout,
    is_catalogue,
    is_double_publicity,
    report_date,
    {{ credit_warehouse.month_start('report_date') }} as report_month,
    event_date,
    doc_number_key,
    is_accepted,
    timeliness_applies,
    report_lag_workdays,
    coalesce(report_lag_workdays > {{ var('report_deadline_workdays') }}, false) or is_before_calendar as is_late
from timed
