{#- dbt's built-in `unique` test, windowed like unique_combination_of_columns on an incremental build:
    a full scan and grouping of 25M record ids took ~9 s a test on every daily load. Same result columns
    as dbt's own. -#}
{% macro default__test_unique(model, column_name) %}
select {{ column_name }} as unique_field, occurrences as n_records
from ({{ credit_warehouse.keys_seen_more_than_once(model, [column_name], skip_nulls=true) }}) as duplicates
{% endmacro %}
