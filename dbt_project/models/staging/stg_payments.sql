-- Monthly billing records (纳税, 社保, 公积金, 水, 电, 气), typed; amounts in yuan.
-- One row per accepted raw row (every delivered version: a settled bill is re-sent as paid).
with {{ credit_warehouse.staging_source_ctes('payment') }},

typed as (
    select
        {{ credit_warehouse.feed_row_meta_columns() }},
        layout_key_fields,
        layout_event_date_field,
        {{ credit_warehouse.subject_identity_columns(with_subject_type=false, with_legal_rep=false,
                                                     with_id_type=false) }},
        {{ credit_warehouse.clean_code('account_no') }} as account_no_key,
        {{ credit_warehouse.normalize_period('billing_period') }} as billing_period,
        {{ credit_warehouse.parse_period_start('billing_period') }} as billing_period_start,
        {{ credit_warehouse.parse_amount('amount_due') }} as amount_due,
        {{ credit_warehouse.parse_amount('amount_paid') }} as amount_paid,
        {{ credit_warehouse.parse_date('payment_date') }} as payment_date,
        {{ credit_warehouse.parse_amount('arrears') }} as arrears,
        {{ credit_warehouse.safe_text('data_source_unit') }} as data_source_unit,
        {{ credit_warehouse.safe_code('data_source_uscc') }} as data_source_uscc,
        {{ credit_warehouse.safe_text('remarks') }} as remarks
    from identified_keys
),

keyed as (
    select
        typed.*,
        {{ credit_warehouse.record_key_text('layout_key_fields',
            {'account_no': 'account_no_key', 'billing_period': 'billing_period', 'uscc': 'uscc'}) }}
            as record_key_text,
        {{ credit_warehouse.pick_field('layout_event_date_field',
            {'billing_period': 'billing_period_start', 'payment_date': 'payment_date'}) }} as event_date
    from typed
)

select
    {{ credit_warehouse.staged_common_column_names(with_subject_type=false, with_legal_rep=false,
                                                  with_id_type=false) }},
    {{ credit_warehouse.protect_key('record_key_text') }} as record_key,
    event_date,
    {{ credit_warehouse.protect_key('account_no_key') }} as account_no,
    billing_period,
    billing_period_start,
    amount_due,
    amount_paid,
    payment_date,
    coalesce(arrears, amount_due - amount_paid) as arrears,
    coalesce(coalesce(arrears, amount_due - amount_paid) > 0, false) as is_in_arrears,
    data_source_unit,
    data_source_uscc,
    remarks
from keyed
