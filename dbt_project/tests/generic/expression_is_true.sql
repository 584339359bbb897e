{#- Fails for every row where the boolean SQL expression is not true (false or null).
    Optional `where` restricts the rows checked. -#}
{% test expression_is_true(model, expression, where=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if where %}
    and ({{ where }})
{%- endif %}
{% endtest %}
