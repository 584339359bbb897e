{#- Fails for every combination of the given columns that occurs more than once (on an incremental
    build, every one that involves a row the build rewrote: keys_seen_more_than_once). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{{ credit_warehouse.keys_seen_more_than_once(model, combination_of_columns) }}
{% endtest %}
