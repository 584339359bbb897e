{#- Model test (PII guard): fails for every row where any text column contains something shaped
    like an 18-character resident ID number (region, birth date 18xx-20xx, sequence, check
    character). In code columns (names containing 'uscc', or listed in code_columns) a valid USCC
    whose ID check character is wrong is not an ID number and is not reported (staging already
    moved ID numbers delivered as USCC out of those columns). One scan of the model; failing rows
    show only the masked hits, per column. `exclude_columns` lists columns not to scan. On an incremental
    build, reads only the window's rows where that is enough (test_window_predicate).
    `generated_columns` are not scanned either: identifiers the flow makes, never delivered text, in
    which no ID number between separators fits: hex digests (record_id: md5 of department, category
    and key; file_sha256; person_key) and load ids ('L' + report date + '-' + 12 hex digits: the 'L'
    glued to the date is no boundary). They were up to 64% of the text a scan read (stg_feed_row_keys;
    22% of fct_credit_record's), and the match is paid per byte. -#}
{% test no_unmasked_id_numbers(model, exclude_columns=[],
                               code_columns=['subject_key', 'record_key', 'related_codes'],
                               generated_columns=['record_id', 'file_sha256', 'latest_file_sha256', 'person_key',
                                                  'load_id', 'latest_load_id']) %}
{%- set text_columns = [] -%}
{%- if execute -%}
    {%- set excluded = (exclude_columns + generated_columns) | map('lower') | list -%}
    {%- for column in adapter.get_columns_in_relation(model) -%}
        {%- if column.is_string() and column.name | lower not in excluded -%}
            {%- do text_columns.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}
{%- set pattern = credit_warehouse.resident_id_in_text_regex() -%}
{%- if text_columns | length == 0 %}
select 1 as no_text_columns where 1 = 0
{%- else %}
with candidates as (
    select
        {%- for column in text_columns %}
        upper({{ credit_warehouse.regex_extract(adapter.quote(column), pattern, 2) }}) as hit_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
    {#- One match over the text columns joined by spaces (a space is a boundary, as the start or end
        of a column is, and no ID number spans it): 25% cheaper than one match per column. -#}
    {%- set quoted = [] -%}
    {%- for column in text_columns -%}{%- do quoted.append(adapter.quote(column)) -%}{%- endfor %}
    where {{ credit_warehouse.regex_matches(credit_warehouse.join_with_spaces(quoted), pattern) }}
        {{ credit_warehouse.and_test_window(model) }}
),

hits as (
    select
        {%- for column in text_columns %}
        case
            when nullif(hit_{{ loop.index }}, '') is not null
            {%- if 'uscc' in column | lower or column | lower in code_columns %}
                and not coalesce({{ credit_warehouse.uscc_status('hit_' ~ loop.index) }} = 'valid'
                    and not {{ credit_warehouse.resident_id_check_ok('hit_' ~ loop.index) }}, false)
            {%- endif %}
                then hit_{{ loop.index }}
        end as {{ adapter.quote(column) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from candidates
)

select
    {%- for column in text_columns %}
    {{ credit_warehouse.mask_id_number(adapter.quote(column)) }} as {{ adapter.quote(column) }}{{ ',' if not loop.last }}
    {%- endfor %}
from hits
where
    {%- for column in text_columns %}
    {{ 'or ' if not loop.first }}{{ adapter.quote(column) }} is not null
    {%- endfor %}
{%- endif %}
{% endtest %}
