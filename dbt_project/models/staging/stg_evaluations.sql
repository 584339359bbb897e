-- 信用评价结果 and 职称和职业资格 records, typed. One row per accepted raw row (every delivered version).
with {{ credit_warehouse.staging_source_ctes('evaluation') }},

typed as (
    select
        {{ credit_warehouse.feed_row_meta_columns() }},
        layout_key_fields,
        layout_event_date_field,
        {{ credit_warehouse.subject_identity_columns() }},
        {{ credit_warehouse.clean_code('doc_number') }} as doc_number_key,
        {{ credit_warehouse.safe_text('doc_number') }} as doc_number,
        {{ credit_warehouse.safe_text('matter') }} as matter,
        {{ credit_warehouse.safe_text('result') }} as result,
        {{ credit_warehouse.parse_date('decision_date') }} as decision_date,
        {{ credit_warehouse.parse_date('valid_to') }} as valid_to,
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
    matter,
    result,
    decision_date,
    valid_to,
    authority,
    authority_uscc,
    data_source_unit,
    data_source_uscc,
    remarks
from keyed
