-- 双公示 decision ledger (台账) entries: the licences and penalties a department says it decided,
-- typed. One row per accepted raw row (every delivered version). Not a credit record: it is only
-- reconciled against the 双公示 records the department reported (上报率).
with {{ credit_warehouse.staging_source_ctes('ledger') }},

typed as (
    select
        {{ credit_warehouse.feed_row_meta_columns() }},
        layout_key_fields,
        layout_event_date_field,
        {{ credit_warehouse.subject_identity_columns(with_legal_rep=false, with_id_type=false) }},
        {{ credit_warehouse.clean_text('decision_kind') }} as decision_kind,
        {{ credit_warehouse.clean_code('doc_number') }} as doc_number_clean,
        {{ credit_warehouse.safe_text('doc_number') }} as doc_number,
        {{ credit_warehouse.parse_date('decision_date') }} as decision_date,
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
            {'decision_kind': 'decision_kind', 'doc_number': 'doc_number_clean'}) }} as record_key_text,
        {{ credit_warehouse.pick_field('layout_event_date_field', {'decision_date': 'decision_date'}) }} as event_date
    from typed
)

select
    {{ credit_warehouse.staged_common_column_names(with_legal_rep=false, with_id_type=false) }},
    {{ credit_warehouse.protect_key('record_key_text') }} as record_key,
    event_date,
    decision_kind,
    {{ credit_warehouse.protect_key('doc_number_clean') }} as doc_number_key,
    doc_number,
    decision_date,
    authority,
    authority_uscc,
    data_source_unit,
    data_source_uscc,
    remarks
from keyed
