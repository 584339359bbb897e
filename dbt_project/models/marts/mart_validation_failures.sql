-- The failures table for data stewards: one row per validation failure of a delivered record (a
-- distinct row issue), with the record it concerns, its reason in plain Chinese and its lifecycle.
-- The lifecycle is derived, never bookkept, so it stays right after re-runs and crashes:
--   the versions of a record are its rows of validated files with the same (department, category,
--   record key), in delivery order (report date, load sequence, row number), quarantined or not;
--   a failure is `open` while no later version exists, `closed` when the next version does not break
--   the same rule on the same field (a corrected re-send), `superseded` when the next version breaks
--   it again (that version's failure carries on; failing_since keeps the first date).
-- A row without a record key (key field blank) cannot be matched by a re-send: it stays open.
-- Offending values are masked (stg_row_issues); record keys embedding an ID number are hashed.
--
-- Incremental per record: a record's failures are a function of its versions and their issues, and a
-- daily build adds versions and issues only to the records of its window. So it recomputes the
-- failures of the records with a row in the window (and the new failures of window rows without a
-- key) and replaces them by failure_id; a failure never disappears, except when a file is validated
-- again, which rebuilds in full (transform.staging_window). Rebuilt every day, it took 8 s on day 365
-- of the 1,000,000-subject city.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='failure_id') }}

with all_issues as {{ credit_warehouse.not_materialized() }} (
    select * from {{ ref('stg_row_issues') }}
),

all_row_keys as {{ credit_warehouse.not_materialized() }} (
    select
        file_sha256,
        load_seq,
        source_file,
        row_number,
        department_code,
        category_code,
        record_layout,
        report_date as business_date,
        validation_run_id,
        record_key
    from {{ ref('int_feed_row_quality') }}
),

{% if is_incremental() -%}
{#- the rows of the records with a row in the window, and the window's rows without a key -#}
row_keys as (
    select all_row_keys.*
    from all_row_keys
    {{ credit_warehouse.join_window_records('all_row_keys', rows='all_row_keys') }}
    union all
    select *
    from all_row_keys
    where {{ credit_warehouse.staging_window_rows_literal('load_seq') }}
        and record_key is null
),

issues as (
    select all_issues.*
    from all_issues
    inner join row_keys
        on row_keys.file_sha256 = all_issues.file_sha256
        and row_keys.row_number = all_issues.row_number
),
{%- else -%}
row_keys as {{ credit_warehouse.not_materialized() }} (
    select * from all_row_keys
),

issues as {{ credit_warehouse.not_materialized() }} (
    select * from all_issues
),
{%- endif %}

{#- Only records with a failure need their versions numbered: a record's versions are all rows with
    its key, so numbering just those keys' rows gives the same numbers as numbering every row (a year
    of the 1,000,000-subject city: ~1M failing keys of 38M rows). -#}
keyed_issues as (
    select
        issues.*,
        coalesce(issues.field, '') as field_key,
        row_keys.record_key,
        row_keys.record_layout
    from issues
    inner join row_keys
        on row_keys.file_sha256 = issues.file_sha256
        and row_keys.row_number = issues.row_number
),

failing_keys as (
    select distinct department_code, category_code, record_key
    from keyed_issues
    where record_key is not null
),

versions as (
    select
        row_keys.file_sha256,
        row_keys.row_number,
        row_keys.department_code,
        row_keys.category_code,
        row_keys.record_key,
        row_keys.business_date,
        row_keys.source_file,
        row_keys.validation_run_id,
        row_number() over (
            partition by row_keys.department_code, row_keys.category_code, row_keys.record_key
            order by row_keys.business_date, row_keys.load_seq, row_keys.row_number
        ) as version_seq
    from row_keys
    inner join failing_keys
        on failing_keys.department_code = row_keys.department_code
        and failing_keys.category_code = row_keys.category_code
        and failing_keys.record_key = row_keys.record_key
),

failed_rules as (
    select distinct file_sha256, row_number, rule_id, coalesce(field, '') as field_key
    from issues
),

occurrences as (
    select
        keyed_issues.*,
        versions.version_seq
    from keyed_issues
    left join versions
        on versions.file_sha256 = keyed_issues.file_sha256
        and versions.row_number = keyed_issues.row_number
),

followed as (
    select
        occurrences.*,
        next_versions.business_date as next_business_date,
        next_versions.source_file as next_source_file,
        next_versions.row_number as next_row_number,
        next_versions.validation_run_id as next_run_id,
        failed_again.file_sha256 is not null as fails_again
    from occurrences
    left join versions as next_versions
        on next_versions.department_code = occurrences.department_code
        and next_versions.category_code = occurrences.category_code
        and next_versions.record_key = occurrences.record_key
        and next_versions.version_seq = occurrences.version_seq + 1
    left join failed_rules as failed_again
        on failed_again.file_sha256 = next_versions.file_sha256
        and failed_again.row_number = next_versions.row_number
        and failed_again.rule_id = occurrences.rule_id
        and failed_again.field_key = occurrences.field_key
),

islands as (
    {#- consecutive failing versions of a record for one rule and field form one island -#}
    select
        issue_id,
        version_seq - dense_rank() over (
            partition by department_code, category_code, record_key, rule_id, field_key
            order by version_seq
        ) as island
    from occurrences
    where record_key is not null
),

chained as (
    select
        followed.*,
        min(followed.business_date) over (
            partition by followed.department_code, followed.category_code, followed.record_key,
                followed.rule_id, followed.field_key, islands.island
        ) as island_start
    from followed
    left join islands
        on islands.issue_id = followed.issue_id
),

rules as (
    select rule_id, field, category_code, field_header_zh, reason_zh
    from {{ source('validation', 'rules') }}
),

feeds as (
    select department_code, category_code, feed_code
    from {{ ref('feed_registry') }}
)

select
    chained.issue_id as failure_id,
    chained.latest_run_id as run_id,
    chained.department_code,
    departments.department_name,
    coalesce(feeds.feed_code, {{ dbt.concat(["chained.department_code", "'.'", "chained.category_code"]) }}) as feed_code,
    chained.category_code,
    categories.category_name_zh as category_name,
    chained.record_layout,
    chained.suite,
    chained.rule_id,
    chained.severity,
    chained.is_quarantining as is_blocking,
    chained.field,
    rules.field_header_zh,
    rules.reason_zh,
    chained.record_key,
    chained.offending_value,
    chained.source_file,
    chained.load_id,
    chained.row_number,
    chained.business_date as opened_on,
    coalesce(chained.island_start, chained.business_date) as failing_since,
    case
        when chained.next_business_date is null then 'open'
        when chained.fails_again then 'superseded'
        else 'closed'
    end as status,
    chained.next_business_date is null as is_open,
    chained.next_business_date as ended_on,
    case when not chained.fails_again then chained.next_business_date end as closed_on,
    case when not chained.fails_again then chained.next_source_file end as closed_by_source_file,
    case when not chained.fails_again then chained.next_row_number end as closed_by_row_number,
    case when not chained.fails_again then chained.next_run_id end as closed_by_run_id
from chained
left join rules
    on rules.rule_id = chained.rule_id
    and rules.field = chained.field
    and rules.category_code = chained.category_code
left join feeds
    on feeds.department_code = chained.department_code
    and feeds.category_code = chained.category_code
left join {{ ref('departments') }} as departments
    on departments.department_code = chained.department_code
left join {{ ref('catalogue_categories') }} as categories
    on categories.category_code = chained.category_code
