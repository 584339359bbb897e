-- Objections (异议) against published 双公示 records, as handled by the delivering department,
-- typed. One row per accepted raw row (every version: an objection re-sent when closed is a new
-- version of the same objection number). Not a credit record.
with {{ credit_warehouse.staging_source_ctes('objection') }},

typed as (
    select
        {{ credit_warehouse.feed_row_meta_columns() }},
        layout_key_fields,
        layout_event_date_field,
        {{ credit_warehouse.subject_identity_columns(with_legal_rep=false, with_id_type=false) }},
        {{ credit_warehouse.clean_code('doc_number') }} as doc_number_clean,
        {{ credit_warehouse.safe_text('doc_number') }} as doc_number,
        {{ credit_warehouse.clean_text('ref_category') }} as ref_category,
        {{ credit_warehouse.safe_text('ref_doc_number') }} as ref_doc_number,
        {{ credit_warehouse.protect_key(credit_warehouse.clean_code('ref_doc_number')) }} as ref_doc_number_key,
        {{ credit_warehouse.parse_date('received_date') }} as received_date,
        {{ credit_warehouse.parse_date('closed_date') }} as closed_date,
        {{ credit_warehouse.clean_text('objection_result') }} as objection_result,
        {{ credit_warehouse.safe_text('data_source_unit') }} as data_source_unit,
        {{ credit_warehouse.safe_code('data_source_uscc') }} as data_source_uscc,
        {{ credit_warehouse.safe_text('remarks') }} as remarks
    from identified_keys
),

keyed as (
    select
        typed.*,
        {{ credit_warehouse.record_key_text('layout_key_fields', {'doc_number': 'doc_number_clean'}) }}
            as record_key_text,
        {{ credit_warehouse.pick_field('layout_event_date_field', {'received_date': 'received_date'}) }} as event_date
    from typed
)

select
    {{ credit_warehouse.staged_common_column_names(with_legal_rep=false, with_id_type=false) }},
    {{ credit_warehouse.protect_key('record_key_text') }} as record_key,
    event_date,
    doc_number,
    ref_category,
    ref_doc_number,
    ref_doc_number_key,
    received_date,
    closed_date,
    objection_result,
    data_source_unit,
    data_source_uscc,
    remarks
from keyed
