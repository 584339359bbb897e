-- One row per department (from the departments seed) with the categories it is responsible for.
with departments as (
    select * from {{ ref('departments') }}
),

regions as (
    select region_code, region_name from {{ ref('region_codes') }}
),

responsibilities as (
    select
        department_code,
        count(distinct category_code) as responsible_category_count,
        {{ dbt.listagg('category_code', "','", 'order by category_code') }} as responsible_categories
    from {{ ref('feed_registry') }}
    where active
    group by department_code
)

select
    departments.department_code,
    departments.department_name,
    departments.department_kind,
    departments.department_uscc,
    departments.region_code,
    regions.region_name,
    coalesce(responsibilities.responsible_category_count, 0) as responsible_category_count,
    responsibilities.responsible_categories
from departments
left join regions
    on regions.region_code = departments.region_code
left join responsibilities
    on responsibilities.department_code = departments.department_code
