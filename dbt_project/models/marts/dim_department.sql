-- One row per department (from the departments seed) with the catalogue categories it is
-- responsible for (operational feeds such as its decision ledger are listed apart).
with departments as (
    select * from {{ ref('departments') }}
),

regions as (
    select region_code, region_name from {{ ref('region_codes') }}
),

feeds as (
    select feeds.department_code, feeds.category_code, categories.is_catalogue
    from {{ ref('feed_registry') }} as feeds
    inner join {{ ref('catalogue_categories') }} as categories
        on categories.category_code = feeds.category_code
    where feeds.active
),

responsibilities as (
    select
        department_code,
        count(distinct case when is_catalogue then category_code end) as responsible_category_count,
        {{ dbt.listagg('case when is_catalogue then category_code end', "','", 'order by category_code') }}
            as responsible_categories,
        {{ dbt.listagg('case when not is_catalogue then category_code end', "','", 'order by category_code') }}
            as operational_feeds
    from feeds
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
    responsibilities.responsible_categories,
    responsibilities.operational_feeds
from departments
left join regions
    on regions.region_code = departments.region_code
left join responsibilities
    on responsibilities.department_code = departments.department_code
