{#- Model test: fails for every row where any of the listed columns is null. One scan of the model
    instead of one not_null test per column (each test is a query: dozens of them slow every build). -#}
{% test not_null_columns(model, columns) %}
select *
from {{ model }}
where
    {%- for column in columns %}
    {{ 'or ' if not loop.first }}{{ column }} is null
    {%- endfor %}
{% endtest %}
