-- Catalogue coverage per month and department against the categories the department is
-- responsible for (its active catalogue feeds): how many it covered (records passed validation and
-- loaded that month), the rate and the missing categories by code and name. Categories delivered
-- without being responsible are counted apart.
with coverage as (
    select * from {{ ref('mart_catalogue_coverage') }}
),

summary as (
    select
        month_start,
        department_code,
        max(department_name) as department_name,
        sum(case when is_responsible then 1 else 0 end) as responsible_categories,
        sum(case when is_responsible and is_covered then 1 else 0 end) as responsible_categories_covered,
        {{ dbt.listagg("case when is_responsible and not is_covered then category_code end", "','",
                       'order by category_code') }} as missing_categories,
        {{ dbt.listagg("case when is_responsible and not is_covered then category_name end", "','",
                       'order by category_code') }} as missing_category_names,
        sum(case when not is_responsible and is_covered then 1 else 0 end) as other_categories_covered,
        sum(record_count) as record_count
    from coverage
    group by month_start, department_code
)

select
    month_start,
    department_code,
    department_name,
    responsible_categories,
    responsible_categories_covered,
    cast(round(1.0 * responsible_categories_covered / nullif(responsible_categories, 0), 4) as decimal(9, 4))
        as coverage_rate,
    missing_categories,
    missing_category_names,
    other_categories_covered,
    record_count
from summary
