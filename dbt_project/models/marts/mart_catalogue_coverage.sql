-- Catalogue coverage per month, department and category: for every month with loaded data, every
-- responsible pair (active feed registry) and every pair that actually delivered a file. A pair is
-- covered in a month when at least one record of it passed validation and was loaded that month
-- (deliveries counted by report month, corrected re-sends included). Operational feeds (decision
-- ledger, objections, repairs: is_catalogue = false) are not catalogue categories and never count.
with catalogue as (
    select category_code from {{ ref('catalogue_categories') }} where is_catalogue
),

months as (
    select distinct {{ credit_warehouse.month_start('business_date') }} as month_start
    from {{ source('raw', 'files') }}
),

responsible_pairs as (
    select distinct feeds.department_code, feeds.category_code
    from {{ ref('feed_registry') }} as feeds
    inner join catalogue
        on catalogue.category_code = feeds.category_code
    where feeds.active
),

delivered_pairs as (
    select distinct files.department_code, files.category_code
    from {{ source('raw', 'files') }} as files
    inner join catalogue
        on catalogue.category_code = files.category_code
),

pairs as (
    select department_code, category_code from responsible_pairs
    union
    select department_code, category_code from delivered_pairs
),

versions as (
    select
        {{ credit_warehouse.month_start('report_date') }} as month_start,
        department_code,
        category_code
    from {{ ref('int_record_versions') }}
),

deliveries as (
    select month_start, department_code, category_code, count(*) as record_count
    from versions
    group by month_start, department_code, category_code
),

grid as (
    select months.month_start, pairs.department_code, pairs.category_code
    from months
    cross join pairs
)

select
    grid.month_start,
    grid.department_code,
    departments.department_name,
    grid.category_code,
    categories.category_name_zh as category_name,
    categories.category_class,
    coalesce(categories.is_special_52, false) as is_special_52,
    responsible_pairs.department_code is not null as is_responsible,
    coalesce(deliveries.record_count, 0) as record_count,
    coalesce(deliveries.record_count, 0) > 0 as is_covered
from grid
left join responsible_pairs
    on responsible_pairs.department_code = grid.department_code
    and responsible_pairs.category_code = grid.category_code
left join deliveries
    on deliveries.month_start = grid.month_start
    and deliveries.department_code = grid.department_code
    and deliveries.category_code = grid.category_code
left join {{ ref('departments') }} as departments
    on departments.department_code = grid.department_code
left join {{ ref('catalogue_categories') }} as categories
    on categories.category_code = grid.category_code
