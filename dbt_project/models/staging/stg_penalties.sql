-- 行政处罚 (双公示) records, typed. One row per accepted raw row (every delivered version:
-- corrected re-sends are resolved in int_credit_records). No raw ID numbers: person_key + mask.
with {{ credit_warehouse.staging_source_ctes('penalty') }},

typed as (
    select
        {{ credit_warehouse.feed_row_meta_columns() }},
        layout_key_fields,
        layout_event_date_field,
        {{ credit_warehouse.subject_identity_columns() }},
        {{ credit_warehouse.clean_code('doc_number') }} as doc_number_key,
        {{ credit_warehouse.safe_text('doc_number') }} as doc_number,
        {{ credit_warehouse.safe_text('violation_type') }} as violation_type,
        {{ credit_warehouse.safe_text('violation_facts') }} as violation_facts,
        {{ credit_warehouse.safe_text('legal_basis') }} as legal_basis,
        {{ credit_warehouse.safe_text('penalty_category') }} as penalty_category,
        {{ credit_warehouse.safe_text('content') }} as content,
        {{ credit_warehouse.parse_amount('fine_amount') }} as fine_amount,
        {{ credit_warehouse.parse_amount('confiscation_amount') }} as confiscation_amount,
        {{ credit_warehouse.safe_text('revoked_licence') }} as revoked_licence,
        {{ credit_warehouse.parse_date('decision_date') }} as decision_date,
        {{ credit_warehouse.parse_date('valid_to') }} as valid_to,
        {{ credit_warehouse.parse_date('publicity_until') }} as publicity_until,
        {{ credit_warehouse.safe_text('authority') }} as authority,
        {{ credit_warehouse.safe_code('authority_uscc') }} as authority_uscc,
        {{ credit_warehouse.safe_text('data_source_unit') }} as data_source_unit,
        {{ credit_warehouse.safe_code('data_source_uscc') }} as data_source_uscc,
        {{ credit_warehouse.safe_text('remarks') }} as remarks
    from identified_keys
),

keyed as (
    select
        typed.*,
        {{ credit_warehouse.record_key_text('layout_key_fields',
            {'doc_number': 'doc_number_key', 'uscc': 'uscc'}) }} as record_key_text,
        {{ credit_warehouse.pick_field('layout_event_date_field', {'decision_date': 'decision_date'}) }} as event_date
    from typed
)

select
    {{ credit_warehouse.staged_common_column_names() }},
    {{ credit_warehouse.protect_key('record_key_text') }} as record_key,
    event_date,
    doc_number,
    violation_type,
    violation_facts,
    legal_basis,
    penalty_category,
    content,
    fine_amount,
    confiscation_amount,
    revoked_licence,
    decision_date,
    valid_to,
    publicity_until,
    authority,
    authority_uscc,
    data_source_unit,
    data_source_uscc,
    remarks
from keyed
