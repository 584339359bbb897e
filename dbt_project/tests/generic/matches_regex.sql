{#- Column test: fails for every non-null value that does not match the regular expression (on an
    incremental build, among the rows it rewrote: and_test_window). -#}
{% test matches_regex(model, column_name, pattern) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
    and not {{ credit_warehouse.regex_matches(column_name, pattern) }}
    {{ credit_warehouse.and_test_window(model) }}
{% endtest %}
