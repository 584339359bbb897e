-- Every row of a validated file, accepted or quarantined, with the record it belongs to: the record
-- key computed from the raw values exactly as the layout staging models key accepted rows (same
-- macros; tests/record_keys_match_staging.sql proves it). Quarantined rows never reach staging, so
-- this is how a rejected row and its corrected re-send are recognised as the same record.
-- ID numbers are read only in the first CTEs and leave as a keyed hash inside the key.
with validated_files as (
    select file_sha256, run_id as validation_run_id
    from {{ source('validation', 'validated_files') }}
    where {{ credit_warehouse.staging_window_files('validated_at') }}
),

layouts as (
    select
        categories.category_code,
        categories.record_layout,
        layouts.key_fields as layout_key_fields
    from {{ ref('catalogue_categories') }} as categories
    inner join {{ ref('record_layouts') }} as layouts
        on layouts.record_layout = categories.record_layout
),

quarantined_rows as (
    select distinct row_issues.file_sha256, row_issues.row_number
    from {{ ref('stg_row_issues') }} as row_issues
    inner join validated_files
        on validated_files.file_sha256 = row_issues.file_sha256
    where row_issues.severity = 'blocking'
),

feed_rows as (
    select
        feed_rows.file_sha256,
        feed_rows.load_id,
        feed_rows.load_seq,
        feed_rows.source_file,
        feed_rows.row_number,
        feed_rows.department_code,
        feed_rows.category_code,
        layouts.record_layout,
        feed_rows.business_date,
        validated_files.validation_run_id,
        layouts.layout_key_fields,
        {{ credit_warehouse.clean_code('feed_rows.uscc') }} as uscc_clean,
        {{ credit_warehouse.clean_code('feed_rows.id_number') }} as id_number_clean,
        {{ credit_warehouse.clean_code('feed_rows.doc_number') }} as doc_number_key,
        {{ credit_warehouse.clean_text('feed_rows.decision_kind') }} as decision_kind_key,
        {{ credit_warehouse.clean_code('feed_rows.account_no') }} as account_no_key,
        {{ credit_warehouse.normalize_period('feed_rows.billing_period') }} as billing_period_key
    from {{ source('raw', 'feed_rows') }} as feed_rows
    inner join validated_files
        on validated_files.file_sha256 = feed_rows.file_sha256
    inner join layouts
        on layouts.category_code = feed_rows.category_code
    where {{ credit_warehouse.staging_window_rows('feed_rows.load_seq') }}
),

identified as (
    select
        feed_rows.*,
        {{ credit_warehouse.is_resident_id_like('uscc_clean') }} as uscc_is_resident_id
    from feed_rows
),

subject_codes as (
    select
        identified.*,
        case when not uscc_is_resident_id then uscc_clean end as subject_uscc,
        {{ credit_warehouse.person_key('coalesce(id_number_clean, case when uscc_is_resident_id then uscc_clean end)') }}
            as subject_person_key
    from identified
),

keyed as (
    select
        subject_codes.*,
        {{ credit_warehouse.record_key_text('layout_key_fields', {
            'doc_number': 'doc_number_key', 'decision_kind': 'decision_kind_key', 'account_no': 'account_no_key',
            'billing_period': 'billing_period_key', 'uscc': 'coalesce(subject_uscc, subject_person_key)'}) }}
            as record_key_text
    from subject_codes
)

select
    keyed.file_sha256,
    keyed.load_id,
    keyed.load_seq,
    keyed.source_file,
    keyed.row_number,
    keyed.department_code,
    keyed.category_code,
    keyed.record_layout,
    keyed.business_date,
    keyed.validation_run_id,
    {{ credit_warehouse.protect_key('keyed.record_key_text') }} as record_key,
    quarantined_rows.file_sha256 is not null as is_quarantined
from keyed
left join quarantined_rows
    on quarantined_rows.file_sha256 = keyed.file_sha256
    and quarantined_rows.row_number = keyed.row_number
