-- Catalogue coverage per month for the city as a whole: how many of the catalogue's categories
-- (33 by default) had records loaded that month, which are missing, the same for the 52号文
-- special categories, and how many department responsibilities were met. Operational feeds are not
-- catalogue categories. 003 五(四): 3 points, -0.2 per missing category (seeds/indicator_thresholds.csv).
with catalogue as (
    select category_code, category_name_zh, is_special_52
    from {{ ref('catalogue_categories') }}
    where is_catalogue
),

coverage as (
    select * from {{ ref('mart_catalogue_coverage') }}
),

months as (
    select distinct month_start from coverage
),

category_months as (
    select
        months.month_start,
        catalogue.category_code,
        catalogue.category_name_zh,
        catalogue.is_special_52,
        coalesce(covered.is_covered, false) as is_covered
    from months
    cross join catalogue
    left join (
        select month_start, category_code, {{ dbt.bool_or('is_covered') }} as is_covered
        from coverage
        group by month_start, category_code
    ) as covered
        on covered.month_start = months.month_start
        and covered.category_code = catalogue.category_code
),

category_summary as (
    select
        month_start,
        count(*) as categories_in_catalogue,
        sum(case when is_covered then 1 else 0 end) as categories_covered,
        {{ dbt.listagg("case when not is_covered then category_code end", "','", 'order by category_code') }}
            as missing_categories,
        {{ dbt.listagg("case when not is_covered then category_name_zh end", "','", 'order by category_code') }}
            as missing_category_names,
        sum(case when is_special_52 then 1 else 0 end) as special_categories_in_catalogue,
        sum(case when is_special_52 and is_covered then 1 else 0 end) as special_categories_covered,
        {{ dbt.listagg("case when is_special_52 and not is_covered then category_code end", "','",
                       'order by category_code') }} as missing_special_categories
    from category_months
    group by month_start
),

responsibility_summary as (
    select
        month_start,
        sum(case when is_responsible then 1 else 0 end) as responsible_pairs,
        sum(case when is_responsible and is_covered then 1 else 0 end) as responsible_pairs_covered
    from coverage
    group by month_start
),

points as (
    select full_points, points_per_unit
    from {{ ref('indicator_thresholds') }}
    where indicator_code = 'catalogue_coverage'
)

select
    category_summary.month_start,
    category_summary.categories_in_catalogue,
    category_summary.categories_covered,
    cast(round(1.0 * category_summary.categories_covered / nullif(category_summary.categories_in_catalogue, 0), 4)
        as decimal(9, 4)) as coverage_rate,
    category_summary.missing_categories,
    category_summary.missing_category_names,
    cast(greatest(0, points.full_points
        + points.points_per_unit * (category_summary.categories_in_catalogue - category_summary.categories_covered))
        as decimal(9, 2)) as coverage_points,
    category_summary.special_categories_in_catalogue,
    category_summary.special_categories_covered,
    category_summary.missing_special_categories,
    coalesce(responsibility_summary.responsible_pairs, 0) as responsible_pairs,
    coalesce(responsibility_summary.responsible_pairs_covered, 0) as responsible_pairs_covered
from category_summary
cross join points
left join responsibility_summary
    on responsibility_summary.month_start = category_summary.month_start
