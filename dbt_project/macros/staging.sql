{#- Shared building blocks of the staging models (one model per record layout). -#}

{#- CTEs selecting the raw rows of one record layout that may enter staging:
    rows of validated files, in a category whose catalogue layout is `layout`, without any
    blocking issue (quarantined rows stay in raw and in stg_row_issues). Warning issues are kept
    as flags. The layout's key fields / event date field come from the record_layouts seed.
    Use as: `with {{ staging_source_ctes('penalty') }}, next_cte as (...)`. -#}
{% macro staging_source_ctes(layout) -%}
validated_files as (
    select distinct file_sha256
    from {{ source('validation', 'validated_files') }}
    where {{ credit_warehouse.staging_window_files('validated_at') }}
),

layout_categories as (
    select
        categories.category_code,
        categories.record_layout,
        layouts.key_fields as layout_key_fields,
        layouts.event_date_field as layout_event_date_field,
        layouts.timeliness_applies
    from {{ ref('catalogue_categories') }} as categories
    inner join {{ ref('record_layouts') }} as layouts
        on layouts.record_layout = categories.record_layout
    where categories.record_layout = '{{ layout }}'
),

{#- the issues of this layout's categories only (a row's issues carry its file's category): each of the
    15 layout models grouped every issue of the window, ~1.1M in a year's backfill (stg_penalties on
    the year 20.6 -> 19.0 s) -#}
row_rules as (
    select distinct row_issues.file_sha256, row_issues.row_number, row_issues.rule_id, row_issues.severity
    from {{ ref('stg_row_issues') }} as row_issues
    inner join validated_files
        on validated_files.file_sha256 = row_issues.file_sha256
    inner join layout_categories
        on layout_categories.category_code = row_issues.category_code
),

row_flags as (
    select
        file_sha256,
        row_number,
        {{ dbt.bool_or("severity = 'blocking'") }} as is_quarantined,
        {{ dbt.listagg("case when severity = 'warning' then rule_id end", "','", "order by rule_id") }}
            as warning_rule_ids,
        {{ dbt.bool_or("severity = 'warning' and rule_id = 'late_report'") }} as is_late_reported
    from row_rules
    group by file_sha256, row_number
),

layout_rows as (
    select
        feed_rows.*,
        layout_categories.record_layout as catalogue_layout,
        layout_categories.layout_key_fields,
        layout_categories.layout_event_date_field,
        layout_categories.timeliness_applies,
        row_flags.warning_rule_ids,
        coalesce(row_flags.is_late_reported, false) as is_late_reported
    from {{ source('raw', 'feed_rows') }} as feed_rows
    inner join validated_files
        on validated_files.file_sha256 = feed_rows.file_sha256
    inner join layout_categories
        on layout_categories.category_code = feed_rows.category_code
    left join row_flags
        on row_flags.file_sha256 = feed_rows.file_sha256
        and row_flags.row_number = feed_rows.row_number
    where coalesce(row_flags.is_quarantined, false) = false
        and {{ credit_warehouse.staging_window_rows('feed_rows.load_seq') }}
),

identified as (
    {#- the one place raw ID numbers are read; later CTEs only see their hash and mask -#}
    select
        layout_rows.*,
        {{ credit_warehouse.normalize_code('uscc') }} as uscc_clean,
        {{ credit_warehouse.normalize_code('id_number') }} as id_number_clean
    from layout_rows
),

identified_checked as (
    select
        identified.*,
        {{ credit_warehouse.is_resident_id_like('uscc_clean') }} as uscc_is_resident_id
    from identified
),

identified_keys as (
    select
        identified_checked.*,
        coalesce(id_number_clean, case when uscc_is_resident_id then uscc_clean end) as subject_id_number
    from identified_checked
)
{%- endmacro %}

{#- Lineage and quality columns every staging model carries (from layout_rows). -#}
{% macro feed_row_meta_columns() -%}
        file_sha256,
        load_id,
        load_seq,
        source_file,
        row_number,
        department_code,
        category_code,
        catalogue_layout as record_layout,
        business_date,
        timeliness_applies,
        warning_rule_ids,
        is_late_reported,
        extra_fields is not null as has_extra_fields
{%- endmacro %}

{#- Subject identity, with the ID number replaced by its keyed hash and mask. -#}
{% macro subject_identity_columns(with_subject_type=true, with_legal_rep=true, with_id_type=true) -%}
        {{ credit_warehouse.safe_text('subject_name') }} as subject_name,
        {%- if with_subject_type %}
        {{ credit_warehouse.safe_text('subject_type') }} as subject_type,
        {%- endif %}
        case when not uscc_is_resident_id then uscc_clean end as uscc,
        uscc_is_resident_id,
        {%- if with_legal_rep %}
        {{ credit_warehouse.safe_text('legal_rep') }} as legal_rep,
        {%- endif %}
        {%- if with_id_type %}
        {{ credit_warehouse.safe_text('id_type') }} as id_type,
        {%- endif %}
        {{ credit_warehouse.person_key('subject_id_number') }} as person_key,
        {{ credit_warehouse.mask_id_number('subject_id_number') }} as id_number_masked,
        case
            when {{ credit_warehouse.regex_matches('subject_id_number', '^[1-9][0-9]{5}') }}
                then substr(subject_id_number, 1, 6)
        end as id_region_code,
        case
            when subject_id_number is null then null
            {%- if with_id_type %}
            when coalesce({{ credit_warehouse.clean_text('id_type') }}, '身份证') <> '身份证'
                and not uscc_is_resident_id then 'not_checked'
            {%- endif %}
            else {{ credit_warehouse.resident_id_status('subject_id_number') }}
        end as id_number_status
{%- endmacro %}

{#- The value of the field a seed column names, among candidate {field name: expression}. -#}
{% macro pick_field(selector, candidates) -%}
    case {{ selector }}
    {%- for name, expression in candidates.items() %}
        when '{{ name }}' then {{ expression }}
    {%- endfor %}
    end
{%- endmacro %}

{#- The record key from the layout's key_fields (record_layouts seed, 'a|b' = parts joined by '|'),
    among candidate {field name: normalised text expression}. An unknown field name gives null
    (caught by the not_null test). Wrap the result in protect_key() before exposing it. -#}
{% macro record_key_text(key_fields_column, candidates, max_parts=3) -%}
    {%- set parts = [] -%}
    {%- for i in range(1, max_parts + 1) -%}
        {%- set selector = "nullif(" ~ dbt.split_part(key_fields_column, "'|'", i) ~ ", '')" -%}
        {%- if i == 1 -%}
            {%- do parts.append(credit_warehouse.pick_field(selector, candidates)) -%}
        {%- else -%}
            {%- do parts.append("case when " ~ selector ~ " is null then '' else "
                ~ dbt.concat(["'|'", credit_warehouse.pick_field(selector, candidates)]) ~ " end") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- The names of the meta and identity columns, to pass them through a model's final select. -#}
{% macro staged_common_column_names(with_subject_type=true, with_legal_rep=true, with_id_type=true) -%}
    {%- set names = ['file_sha256', 'load_id', 'load_seq', 'source_file', 'row_number', 'department_code',
                     'category_code', 'record_layout', 'business_date', 'timeliness_applies',
                     'warning_rule_ids', 'is_late_reported', 'has_extra_fields', 'subject_name'] -%}
    {%- if with_subject_type %}{% do names.append('subject_type') %}{% endif -%}
    {%- do names.extend(['uscc', 'uscc_is_resident_id']) -%}
    {%- if with_legal_rep %}{% do names.append('legal_rep') %}{% endif -%}
    {%- if with_id_type %}{% do names.append('id_type') %}{% endif -%}
    {%- do names.extend(['person_key', 'id_number_masked', 'id_region_code', 'id_number_status']) -%}
    {{ names | join(',\n    ') }}
{%- endmacro %}
