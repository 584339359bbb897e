{#- Custom schemas are used as-is (staging, intermediate, marts, reference), not prefixed with the
    target schema: analysts query marts.fct_credit_record whatever the target is. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
