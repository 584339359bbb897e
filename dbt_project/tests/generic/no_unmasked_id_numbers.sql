{#- Model test (PII guard): fails for every row where any text column contains something shaped
    like an 18-character resident ID number (region, birth date 18xx-20xx, sequence, check
    character). In code columns (names containing 'uscc', or listed in code_columns) a valid USCC
    whose ID check character is wrong is not an ID number and is not reported (staging already
    moved ID numbers delivered as USCC out of those columns). One scan of the model; failing rows
    show only the masked hits, per column. `exclude_columns` lists columns not to scan. On an incremental
    build, reads only the window's rows where that is enough (test_window_predicate), in a model judged
    in place too: what changes in place there is never text that could hold an ID number.
    `generated_columns` are not scanned either: identifiers the flow makes, never delivered text, in
    which no ID number between separators fits: hex digests (record_id: md5 of department, category
    and key; file_sha256; person_key), load ids ('L' + report date + '-' + 12 hex digits: the 'L'
    glued to the date is no boundary) and run ids (flow name, '-', date 'T' time, '-', 6 hex digits:
    pipeline.load_range). They were up to 64% of the text a scan read (the record keys' model, since
    folded into int_feed_row_quality; 22% of fct_credit_record's), and the match is paid per byte.
    Applied to every model of the marts file (what analysts read), not to the work file's (the
    restricted layer: see models/staging/_staging.yml). -#}
{% test no_unmasked_id_numbers(model, exclude_columns=[],
                               code_columns=['subject_key', 'record_key', 'related_codes'],
                               generated_columns=['record_id', 'file_sha256', 'latest_file_sha256', 'person_key',
                                                  'load_id', 'latest_load_id', 'run_id', 'validation_run_id',
                                                  'latest_run_id', 'closed_by_run_id']) %}
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
{%- set window = credit_warehouse.test_window(model, text_only=true) -%}
{#- Only values of 18 characters or more can hold an ID number, and a value left out of the joined
    text changes no other value's boundaries (the separator is a space either way): the same rows
    match, and the match reads and the join copies much less text (codes, statuses and short names
    make up most columns). int_credit_records' scan over a year of the 1,000,000-subject city: 21.3 /
    24.1 -> 13.2 / 13.9 s. -#}
{%- set long_enough = [] -%}
{%- for column in text_columns -%}
    {%- set quoted = adapter.quote(column) -%}
    {%- do long_enough.append('case when ' ~ dbt.length(quoted) ~ ' >= 18 then ' ~ quoted ~ ' end') -%}
{%- endfor %}
{%- if text_columns | length == 0 %}
select 1 as no_text_columns where 1 = 0
{%- else %}
with
{% if window.get('keys') -%}
{#- The window's keys first, kept apart: written inside the match's filter, the ledger's (a union of
    joins) was applied after the match, so every row was matched (fct_ledger_decision's scan on day
    365 of the 1,000,000-subject city: 5.0 s, 1.1 s this way). -#}
window_keys as {{ credit_warehouse.materialized() }} (
    {{ window['keys'] }}
),
{% endif %}
candidates as (
    select
        {%- for column in text_columns %}
        upper({{ credit_warehouse.regex_extract(adapter.quote(column), pattern, 2) }}) as hit_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
    {#- One match over the text columns joined by spaces (a space is a boundary, as the start or end
        of a column is, and no ID number spans it): 25% cheaper than one match per column. #}
    where {{ credit_warehouse.regex_matches(credit_warehouse.join_with_spaces(long_enough), pattern) }}
    {%- if window.get('keys') %}
        and {{ window['column'] }} in (select {{ window['column'] }} from window_keys)
    {%- elif window %}
        and {{ window['predicate'] }}
    {%- endif %}
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
