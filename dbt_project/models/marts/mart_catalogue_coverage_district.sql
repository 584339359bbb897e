-- Catalogue coverage per month and district (区划, seeds/region_codes.csv): how many of the
-- catalogue's categories have records delivered that month about subjects of the district (the
-- subject's region: USCC characters 3-8, or the resident ID's first 6 digits), with the missing
-- categories by code and name. Operational feeds never count.
with catalogue as (
    select category_code, category_name_zh
    from {{ ref('catalogue_categories') }}
    where is_catalogue
),

regions as (
    select region_code, region_name, region_level from {{ ref('region_codes') }}
),

months as (
    select distinct month_start from {{ ref('mart_catalogue_coverage') }}
),

deliveries as (
    select distinct
        {{ credit_warehouse.month_start('versions.report_date') }} as month_start,
        subjects.region_code,
        versions.category_code
    from {{ ref('int_record_versions') }} as versions
    inner join {{ ref('dim_subject') }} as subjects
        on subjects.subject_key = versions.subject_key
),

grid as (
    select months.month_start, regions.region_code, catalogue.category_code, catalogue.category_name_zh
    from months
    cross join regions
    cross join catalogue
),

covered as (
    select
        grid.month_start,
        grid.region_code,
        grid.category_code,
        grid.category_name_zh,
        deliveries.category_code is not null as is_covered
    from grid
    left join deliveries
        on deliveries.month_start = grid.month_start
        and deliveries.region_code = grid.region_code
        and deliveries.category_code = grid.category_code
),

summary as (
    select
        month_start,
        region_code,
        count(*) as categories_in_catalogue,
        sum(case when is_covered then 1 else 0 end) as categories_covered,
        {{ dbt.listagg("case when not is_covered then category_code end", "','", 'order by category_code') }}
            as missing_categories,
        {{ dbt.listagg("case when not is_covered then category_name_zh end", "','", 'order by category_code') }}
            as missing_category_names
    from covered
    group by month_start, region_code
)

select
    summary.month_start,
    summary.region_code,
    regions.region_name,
    regions.region_level,
    summary.categories_in_catalogue,
    summary.categories_covered,
    cast(round(1.0 * summary.categories_covered / nullif(summary.categories_in_catalogue, 0), 4) as decimal(9, 4))
        as coverage_rate,
    summary.missing_categories,
    summary.missing_category_names
from summary
inner join regions
    on regions.region_code = summary.region_code
