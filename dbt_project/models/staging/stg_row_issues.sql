-- A table, rebuilt every time: re-validating a file replaces its issues (validation.row_issues).
{{ config(materialized='table', meta={'window_tested': false}) }}
-- One row per distinct validation issue of a raw row (re-validations collapse into one row),
-- with offending ID numbers masked: what stewards review and send back to departments.
with issues as (
    select
        file_sha256,
        load_id,
        row_number,
        department_code,
        category_code,
        suite,
        rule_id,
        severity,
        field,
        offending_value,
        run_id
    from {{ source('validation', 'row_issues') }}
),

masked as (
    select
        file_sha256,
        load_id,
        row_number,
        department_code,
        category_code,
        suite,
        rule_id,
        severity,
        field,
        case
            when field = 'id_number' or rule_id like 'resident_id%'
                then {{ credit_warehouse.mask_id_number(credit_warehouse.trim_whitespace('offending_value')) }}
            else {{ credit_warehouse.mask_ids_in_text('offending_value') }}
        end as offending_value,
        run_id
    from issues
),

collapsed as (
    select
        file_sha256,
        load_id,
        row_number,
        department_code,
        category_code,
        suite,
        rule_id,
        severity,
        field,
        offending_value,
        count(distinct run_id) as run_count,
        max(run_id) as latest_run_id
    from masked
    group by
        file_sha256, load_id, row_number, department_code, category_code, suite, rule_id, severity,
        field, offending_value
),

files as (
    select file_sha256, source_file, business_date
    from {{ source('raw', 'files') }}
)

select
    {{ dbt.hash(dbt.concat([
        "collapsed.file_sha256", "'|'", "cast(collapsed.row_number as " ~ dbt.type_string() ~ ")", "'|'",
        "collapsed.suite", "'|'", "collapsed.rule_id", "'|'", "collapsed.severity", "'|'",
        "coalesce(collapsed.field, '')", "'|'", "coalesce(collapsed.offending_value, '')"])) }} as issue_id,
    collapsed.file_sha256,
    collapsed.load_id,
    files.source_file,
    files.business_date,
    collapsed.row_number,
    collapsed.department_code,
    collapsed.category_code,
    collapsed.suite,
    collapsed.rule_id,
    collapsed.severity,
    collapsed.severity = 'blocking' as is_quarantining,
    collapsed.field,
    collapsed.offending_value,
    collapsed.run_count,
    collapsed.latest_run_id
from collapsed
left join files
    on files.file_sha256 = collapsed.file_sha256
