{#- Fails for every row where the boolean SQL expression (of the row's columns) is not true (false or
    null). Optional `where` restricts the rows checked; an incremental build checks the rows it rewrote
    (and_test_window). -#}
{% test expression_is_true(model, expression, where=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
    {{ credit_warehouse.and_test_window(model) }}
{%- if where %}
    and ({{ where }})
{%- endif %}
{% endtest %}
