{#- Model test: fails for every row where any of the listed columns is null. One scan of the model
    instead of one not_null test per column (each test is a query: dozens of them slow every build);
    on an incremental build, of the rows it rewrote (and_test_window). -#}
{% test not_null_columns(model, columns) %}
select *
from {{ model }}
where (
    {%- for column in columns %}
    {{ 'or ' if not loop.first }}{{ column }} is null
    {%- endfor %}
)
    {{ credit_warehouse.and_test_window(model) }}
{% endtest %}
