{{ config(materialized='view', meta={'window_tested': true}) }}
-- Every accepted delivery of every record (one row per staged raw row, all versions), in one
-- common shape across the record layouts. int_credit_records keeps the latest version of each
-- record; coverage counts deliveries per month from here.

{#- common columns: name -> data type; each staging model maps the ones it has -#}
{%- set common_columns = [
    ('subject_type', dbt.type_string()), ('legal_rep', dbt.type_string()), ('id_type', dbt.type_string()),
    ('doc_number', dbt.type_string()), ('matter', dbt.type_string()), ('summary', dbt.type_string()),
    ('authority', dbt.type_string()), ('amount_10k_yuan', 'decimal(18,4)'),
    ('penalty_category', dbt.type_string()), ('licence_category', dbt.type_string()),
    ('licence_status', dbt.type_string()), ('valid_from', 'date'), ('valid_to', 'date'),
    ('list_type', dbt.type_string()), ('list_end_date', 'date'), ('is_dishonest_executee', dbt.type_boolean()),
    ('commitment_type', dbt.type_string()), ('commitment_ref', dbt.type_string()),
    ('fulfilment_status', dbt.type_string()), ('contract_status', dbt.type_string()),
    ('evaluation_result', dbt.type_string()), ('reg_status', dbt.type_string()),
    ('reg_authority', dbt.type_string()), ('establish_date', 'date'), ('account_no', dbt.type_string()),
    ('billing_period_start', 'date'), ('amount_due_yuan', 'decimal(18,4)'),
    ('amount_paid_yuan', 'decimal(18,4)'), ('arrears_yuan', 'decimal(18,4)'), ('payment_date', 'date'),
    ('is_in_arrears', dbt.type_boolean()),
] -%}

{%- set person_fields = {'subject_type': 'subject_type', 'legal_rep': 'legal_rep', 'id_type': 'id_type'} -%}
{%- set layouts = {
    'stg_registrations': {'subject_type': 'subject_type', 'legal_rep': 'legal_rep',
        'summary': 'business_scope', 'authority': 'reg_authority', 'amount_10k_yuan': 'reg_capital',
        'reg_status': 'reg_status', 'reg_authority': 'reg_authority', 'establish_date': 'establish_date'},
    'stg_licences': dict(person_fields, doc_number='doc_number', matter='coalesce(cert_name, doc_name)',
        summary='content', authority='authority', licence_category='licence_category',
        licence_status='current_status', valid_from='valid_from', valid_to='valid_to'),
    'stg_penalties': dict(person_fields, doc_number='doc_number', matter='violation_type',
        summary='content', authority='authority', amount_10k_yuan='fine_amount',
        penalty_category='penalty_category', valid_to='valid_to'),
    'stg_admin_decisions': dict(person_fields, doc_number='doc_number', matter='matter',
        summary='content', authority='authority', amount_10k_yuan='amount'),
    'stg_judicial_records': dict(person_fields, doc_number='doc_number', matter='matter',
        summary='content', authority='authority', amount_10k_yuan='amount',
        is_dishonest_executee='is_dishonest_executee'),
    'stg_list_entries': dict(person_fields, doc_number='doc_number', matter='list_type',
        summary='content', authority='authority', list_type='list_type', list_end_date='end_date'),
    'stg_commitments': dict(person_fields, doc_number='doc_number', matter='commitment_type',
        summary='matter', authority='authority', commitment_type='commitment_type'),
    'stg_fulfilments': dict(person_fields, doc_number='doc_number', matter='fulfilment_status',
        summary='commitment_ref', authority='authority', commitment_ref='commitment_ref',
        fulfilment_status='fulfilment_status'),
    'stg_contracts': dict(person_fields, doc_number='doc_number', matter='matter',
        summary='contract_status', authority='authority', amount_10k_yuan='amount',
        contract_status='contract_status'),
    'stg_evaluations': dict(person_fields, doc_number='doc_number', matter='matter',
        summary='result', authority='authority', evaluation_result='result', valid_to='valid_to'),
    'stg_payments': {'summary': 'billing_period', 'authority': 'data_source_unit',
        'amount_10k_yuan': 'amount_due / 10000', 'account_no': 'account_no',
        'billing_period_start': 'billing_period_start', 'amount_due_yuan': 'amount_due',
        'amount_paid_yuan': 'amount_paid', 'arrears_yuan': 'arrears', 'payment_date': 'payment_date',
        'is_in_arrears': 'is_in_arrears'},
    'stg_special_records': dict(person_fields, doc_number='doc_number', matter='matter',
        summary='content', authority='authority', amount_10k_yuan='amount'),
} %}

with
{%- for model_name, mapping in layouts.items() %}
{{ model_name | replace('stg_', '') }} as (
    select
        file_sha256,
        load_id,
        load_seq,
        source_file,
        row_number,
        department_code,
        category_code,
        record_layout,
        record_key,
        business_date as report_date,
        event_date,
        timeliness_applies,
        warning_rule_ids,
        is_late_reported,
        subject_name,
        uscc,
        uscc_is_resident_id,
        person_key,
        id_number_masked,
        id_region_code,
        id_number_status,
        {%- for column, data_type in common_columns %}
        {% if column in mapping -%}
        cast({{ mapping[column] }} as {{ data_type }}) as {{ column }}
        {%- else -%}
        cast(null as {{ data_type }}) as {{ column }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref(model_name) }}
),
{%- endfor %}

unioned as (
    {%- for model_name in layouts %}
    select * from {{ model_name | replace('stg_', '') }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

classified as (
    select
        unioned.*,
        (subject_type = '自然人' and person_key is not null)
            or (uscc is null and person_key is not null) as is_person
    from unioned
)

select
    {{ dbt.hash(dbt.concat(["department_code", "'|'", "category_code", "'|'", "record_key"])) }} as record_id,
    case
        when is_person then {{ dbt.concat(["'P'", "person_key"]) }}
        when uscc is not null then uscc
        else {{ dbt.concat(["'N'", "substr(" ~ dbt.hash(credit_warehouse.normalize_name('subject_name')) ~ ", 1, 17)"]) }}
    end as subject_key,
    is_person,
    file_sha256,
    load_id,
    load_seq,
    source_file,
    row_number,
    department_code,
    category_code,
    record_layout,
    record_key,
    report_date,
    event_date,
    timeliness_applies,
    warning_rule_ids,
    is_late_reported,
    subject_name,
    {{ credit_warehouse.normalize_name('subject_name') }} as subject_name_normalized,
    uscc,
    uscc_is_resident_id,
    case when is_person then person_key end as person_key,
    case when is_person then id_number_masked end as id_number_masked,
    case when is_person then id_region_code end as id_region_code,
    case when is_person then id_number_status end as id_number_status,
    {%- for column, data_type in common_columns %}
    {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from classified
