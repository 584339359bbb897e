-- 登记注册基本信息: registration records of organisations, typed. One row per accepted raw row.
with {{ credit_warehouse.staging_source_ctes('registration') }},

typed as (
    select
        {{ credit_warehouse.feed_row_meta_columns() }},
        layout_key_fields,
        layout_event_date_field,
        {{ credit_warehouse.subject_identity_columns(with_id_type=false) }},
        {{ credit_warehouse.safe_text('reg_authority') }} as reg_authority,
        {{ credit_warehouse.parse_date('establish_date') }} as establish_date,
        {{ credit_warehouse.parse_amount('reg_capital') }} as reg_capital,
        {{ credit_warehouse.safe_text('address') }} as address,
        {{ credit_warehouse.safe_text('business_scope') }} as business_scope,
        {{ credit_warehouse.safe_text('reg_status') }} as reg_status,
        {{ credit_warehouse.safe_text('data_source_unit') }} as data_source_unit,
        {{ credit_warehouse.safe_code('data_source_uscc') }} as data_source_uscc,
        {{ credit_warehouse.safe_text('remarks') }} as remarks
    from identified_keys
),

keyed as (
    select
        typed.*,
        {{ credit_warehouse.record_key_text('layout_key_fields', {'uscc': 'coalesce(uscc, person_key)'}) }}
            as record_key_text,
        {{ credit_warehouse.pick_field('layout_event_date_field', {'establish_date': 'establish_date'}) }} as event_date
    from typed
)

select
    {{ credit_warehouse.staged_common_column_names(with_id_type=false) }},
    {{ credit_warehouse.protect_key('record_key_text') }} as record_key,
    event_date,
    reg_authority,
    establish_date,
    reg_capital,
    address,
    business_scope,
    reg_status,
    data_source_unit,
    data_source_uscc,
    remarks
from keyed
