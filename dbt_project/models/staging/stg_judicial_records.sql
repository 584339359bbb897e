-- 司法判决及执行 records (incl. 失信被执行人), typed. One row per accepted raw row (every version).
with {{ credit_warehouse.staging_source_ctes('judicial') }},

typed as (
    select
        {{ credit_warehouse.feed_row_meta_columns() }},
        layout_key_fields,
        layout_event_date_field,
        {{ credit_warehouse.subject_identity_columns() }},
        {{ credit_warehouse.clean_code('doc_number') }} as doc_number_key,
        {{ credit_warehouse.safe_text('doc_number') }} as doc_number,
        {{ credit_warehouse.safe_text('matter') }} as matter,
        {{ credit_warehouse.safe_text('content') }} as content,
        {{ credit_warehouse.parse_amount('amount') }} as amount,
        {{ credit_warehouse.safe_text('executee_flag') }} as executee_flag,
        {{ credit_warehouse.clean_text('executee_flag') }} = '是' as is_dishonest_executee,
        {{ credit_warehouse.parse_date('decision_date') }} as decision_date,
        {{ credit_warehouse.safe_text('authority') }} as authority,
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
    content,
    amount,
    executee_flag,
    coalesce(is_dishonest_executee, false) as is_dishonest_executee,
    decision_date,
    authority,
    data_source_unit,
    data_source_uscc,
    remarks
from keyed
