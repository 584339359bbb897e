{#- Engine-specific SQL behind adapter.dispatch: DuckDB is the engine today; a distributed engine
    (Spark, Trino, ...) gets its own `<adapter>__` implementation here without touching models. -#}

{#- A cast that yields null instead of failing (dbt.safe_cast is a plain cast on duckdb). -#}
{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast', 'credit_warehouse')(expression, data_type)) }}
{%- endmacro %}
{% macro default__try_cast(expression, data_type) -%}
    {{ dbt.safe_cast(expression, data_type) }}
{%- endmacro %}
{% macro duckdb__try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{#- Lower-case hexadecimal SHA-256 of a text expression (UTF-8). -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'credit_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__sha256_hex(expression) -%}
    lower(sha2({{ expression }}, 256))
{%- endmacro %}
{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}
{% macro postgres__sha256_hex(expression) -%}
    encode(sha256(convert_to({{ expression }}, 'UTF8')), 'hex')
{%- endmacro %}
{% macro bigquery__sha256_hex(expression) -%}
    to_hex(sha256({{ expression }}))
{%- endmacro %}

{#- A 64-bit hash of several columns, for grouping wide keys cheaply (keys_seen_more_than_once), or
    nothing where the engine has no such function: the caller then groups by the columns themselves. -#}
{% macro key_hash(columns) -%}
    {{ return(adapter.dispatch('key_hash', 'credit_warehouse')(columns)) }}
{%- endmacro %}
{% macro default__key_hash(columns) -%}
{%- endmacro %}
{% macro duckdb__key_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}
{% macro spark__key_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}

{#- True when the text matches the (RE2 / POSIX-compatible) regular expression anywhere. -#}
{% macro regex_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'credit_warehouse')(expression, pattern)) }}
{%- endmacro %}
{% macro default__regex_matches(expression, pattern) -%}
    regexp_like({{ expression }}, '{{ pattern }}')
{%- endmacro %}
{% macro duckdb__regex_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}
{% macro postgres__regex_matches(expression, pattern) -%}
    ({{ expression }} ~ '{{ pattern }}')
{%- endmacro %}
{% macro spark__regex_matches(expression, pattern) -%}
    ({{ expression }} rlike '{{ pattern }}')
{%- endmacro %}

{#- Replace every match of the pattern; back-references written \1, \2 ... -#}
{% macro regex_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'credit_warehouse')(expression, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}
{% macro duckdb__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}
{% macro postgres__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}
{% macro spark__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement | replace("\\", "$") }}')
{%- endmacro %}

{#- The given capture group of the first match, or null / empty when there is none. -#}
{% macro regex_extract(expression, pattern, group_number) -%}
    {{ return(adapter.dispatch('regex_extract', 'credit_warehouse')(expression, pattern, group_number)) }}
{%- endmacro %}
{% macro default__regex_extract(expression, pattern, group_number) -%}
    regexp_extract({{ expression }}, '{{ pattern }}', {{ group_number }})
{%- endmacro %}
{% macro postgres__regex_extract(expression, pattern, group_number) -%}
    (regexp_match({{ expression }}, '{{ pattern }}'))[{{ group_number }}]
{%- endmacro %}

{#- The text repeated n times. -#}
{% macro repeat_text(expression, times) -%}
    {{ return(adapter.dispatch('repeat_text', 'credit_warehouse')(expression, times)) }}
{%- endmacro %}
{% macro default__repeat_text(expression, times) -%}
    repeat({{ expression }}, {{ times }})
{%- endmacro %}
{% macro sqlserver__repeat_text(expression, times) -%}
    replicate({{ expression }}, {{ times }})
{%- endmacro %}

{#- Remove leading/trailing whitespace of any kind (tab, newline, ideographic space U+3000). -#}
{% macro trim_whitespace(expression) -%}
    {{ credit_warehouse.regex_replace_all(expression, '^[\\s\\x{3000}\\x{00A0}]+|[\\s\\x{3000}\\x{00A0}]+$', '') }}
{%- endmacro %}

{#- First day of the month of a date, as a date. -#}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}

{#- Months since year 0 (year * 12 + month - 1): consecutive months differ by exactly 1. -#}
{% macro month_index(expression) -%}
    (extract(year from {{ expression }}) * 12 + extract(month from {{ expression }}) - 1)
{%- endmacro %}

{#- The values joined by single spaces, nulls skipped (concat_ws; one call: a chain of || with
    coalesce builds every intermediate string and measured 2x slower). -#}
{% macro join_with_spaces(expressions) -%}
    {{ return(adapter.dispatch('join_with_spaces', 'credit_warehouse')(expressions)) }}
{%- endmacro %}
{% macro default__join_with_spaces(expressions) -%}
    concat_ws(' ', {{ expressions | join(', ') }})
{%- endmacro %}

{#- Written after `name as` in a CTE that a model reads more than once and that is cheap to read
    again (a scan, a filter, a narrow join): the engine computes it at each reference instead of
    writing it out whole. DuckDB materializes such a CTE, and a copy of tens of millions of wide rows
    spills under the memory limit: a year's int_credit_records wrote 87 GB to disk for a 3 GB table.
    PostgreSQL takes the same words; engines without the hint get nothing. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'credit_warehouse')()) }}
{%- endmacro %}
{% macro default__not_materialized() -%}{%- endmacro %}
{% macro duckdb__not_materialized() -%}not materialized{%- endmacro %}
{% macro postgres__not_materialized() -%}not materialized{%- endmacro %}

{#- A CTE computed once before the query that reads it, which keeps the filters of that query out of it
    (a hint: engines without one decide themselves). -#}
{% macro materialized() -%}
    {{ return(adapter.dispatch('materialized', 'credit_warehouse')()) }}
{%- endmacro %}
{% macro default__materialized() -%}{%- endmacro %}
{% macro duckdb__materialized() -%}materialized{%- endmacro %}
{% macro postgres__materialized() -%}materialized{%- endmacro %}

{#- A model in the same database (file) as the model being built, referred to without the database's
    name, and without the schema's when it is the model's own: a view binds such names to its own file
    and schema, so it still reads when the file is copied and opened under another name (the published
    copy of the marts file), even one equal to a schema's name (marts.duckdb, catalog `marts`, in
    which `marts.dim_subject` is ambiguous). -#}
{% macro ref_in_this_file(model_name) -%}
    {%- set relation = ref(model_name) -%}
    {{ relation.include(database=false, schema=relation.schema != this.schema) }}
{%- endmacro %}

{#- One orderable value for "the latest row": compares like `order by` the parts, each descending with
    nulls last, so max(key) is the first row of that order and value_of_max(column, key) its value.
    parts: [(expression, kind)], kind 'flag' (boolean; null counts as false), 'date' or 'seq' (a non-negative integer below
    2^40: load_seq, row_number). Replaces row_number() over (partition by ... order by ...) = 1, which
    sorts every row: at 1,000,000 subjects, int_subjects' best name over 25.5M records took 36.7
    CPU-seconds as a window, 36.5 as arg_max over a struct key, 7.4 as arg_max over this key. -#}
{% macro recency_key(parts) -%}
    {{ return(adapter.dispatch('recency_key', 'credit_warehouse')(parts)) }}
{%- endmacro %}

{#- DuckDB: the parts packed in one 128-bit integer (a flag 1 bit, a date 22 bits: days since
    0001-01-01 plus one, null 0; a seq 40 bits), the last part in the lowest bits. -#}
{% macro duckdb__recency_key(parts) -%}
    {%- set widths = {'flag': 1, 'date': 22, 'seq': 40} -%}
    {%- set terms = [] -%}
    {%- set ns = namespace(shift=0) -%}
    {%- for expression, kind in parts | reverse -%}
        {%- if kind == 'flag' -%}
            {%- set value = "case when " ~ expression ~ " then 1 else 0 end" -%}
        {%- elif kind == 'date' -%}
            {%- set value = "coalesce(least(greatest(date_diff('day', date '0001-01-01', " ~ expression
                ~ ") + 1, 1), 4194303), 0)" -%}
        {%- elif kind == 'seq' -%}
            {%- set value = "coalesce(" ~ expression ~ ", 0)" -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("recency_key: unknown kind " ~ kind) }}
        {%- endif -%}
        {%- do terms.append("(cast(" ~ value ~ " as hugeint) << " ~ ns.shift ~ ")") -%}
        {%- set ns.shift = ns.shift + widths[kind] -%}
    {%- endfor -%}
    {%- if ns.shift > 127 -%}
        {{ exceptions.raise_compiler_error("recency_key: " ~ ns.shift ~ " bits do not fit in 127") }}
    {%- endif -%}
    ({{ terms | join(' + ') }})
{%- endmacro %}

{#- Elsewhere: the parts as fixed-width text, which sorts the same way. -#}
{% macro default__recency_key(parts) -%}
    {%- set texts = [] -%}
    {%- for expression, kind in parts -%}
        {%- if kind == 'flag' -%}
            {%- do texts.append("case when " ~ expression ~ " then '1' else '0' end") -%}
        {%- elif kind == 'date' -%}
            {%- do texts.append("coalesce(" ~ dbt.cast(expression, dbt.type_string()) ~ ", '0000-00-00')") -%}
        {%- else -%}
            {%- do texts.append("lpad(" ~ dbt.cast("coalesce(" ~ expression ~ ", 0)", dbt.type_string()) ~ ", 13, '0')") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ dbt.concat(texts) }}
{%- endmacro %}

{#- The value (null included) of the row with the largest key in the group: an aggregate. -#}
{% macro value_of_max(value, key) -%}
    {{ return(adapter.dispatch('value_of_max', 'credit_warehouse')(value, key)) }}
{%- endmacro %}
{% macro default__value_of_max(value, key) -%}
    max_by({{ value }}, {{ key }})
{%- endmacro %}
{% macro duckdb__value_of_max(value, key) -%}
    arg_max_null({{ value }}, {{ key }})
{%- endmacro %}

{#- The lookup index of a table in the marts file (run as every model's post-hook, dbt_project.yml):
    analysts and `creditwh show` look single subjects up by subject_key, or by uscc where a table has
    no subject_key (a subject's uscc is its subject_key, a person's is null), so one index, named
    <table>__<column>, on the first of those the table has (the var lookup_columns, which publish
    reads to index a table still without one). Built by dbt, not by publish: an incremental model keeps its index
    through a daily build's deletes and inserts, which maintain it (int_credit_records: +1.6 s for
    120,000 rows replaced, against 14-17 s to build it over the year's 25.5M rows in every publish).
    A rebuilt table gets a new one (drop_indexes_on_relation below drops the old one before dbt swaps
    the tables). Engines without indexes skip it. -#}
{% macro lookup_columns() -%}
    {{ return(var('lookup_columns')) }}
{%- endmacro %}
{% macro lookup_index() -%}
    {{ return(adapter.dispatch('lookup_index', 'credit_warehouse')()) }}
{%- endmacro %}
{% macro default__lookup_index() -%}
{%- endmacro %}
{% macro duckdb__lookup_index() -%}
    {%- if execute and this.database == 'marts_db' and config.get('materialized') in ('table', 'incremental') -%}
        {#- not adapter.get_columns_in_relation: its query opens a transaction, which dbt rolls back after
            the hook (which runs after the model's commit), and the index with it -#}
        {%- call statement('lookup_index_columns', fetch_result=True, auto_begin=False) -%}
            select lower(column_name) from information_schema.columns
            where table_catalog = '{{ this.database }}' and table_schema = '{{ this.schema }}'
                and table_name = '{{ this.identifier }}'
        {%- endcall -%}
        {%- set columns = load_result('lookup_index_columns').table.columns[0].values() | list -%}
        {%- for column in credit_warehouse.lookup_columns() if column in columns -%}
            {%- if loop.first -%}
    create index if not exists {{ this.identifier }}__{{ column }} on {{ this }} ({{ column }})
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- Overrides dbt-duckdb's macro of the same name, which its table and incremental materializations
    call before they rename or drop a table (an indexed table cannot be renamed): it lists the table's
    indexes from duckdb_indexes(), and with two dbt threads that listing failed while the other thread
    swapped in a rebuilt indexed table ("Table with name dim_subject__dbt_backup does not exist", DuckDB
    2.0: the listing resolves each index's table by name in its own transaction). The only indexes
    here are the lookup indexes, named by lookup_index: dropped by name, the catalog is not listed. -#}
{% macro drop_indexes_on_relation(relation) -%}
    {%- for column in credit_warehouse.lookup_columns() %}
        {% call statement('drop_lookup_index_' ~ loop.index, auto_begin=False) -%}
            drop index if exists "{{ relation.database }}"."{{ relation.schema }}"."{{ relation.identifier }}__{{ column }}"
        {%- endcall %}
    {%- endfor %}
{%- endmacro %}
