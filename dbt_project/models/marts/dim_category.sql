-- One row per catalogue category (from the catalogue seed), with its layout and how many
-- departments are responsible for delivering it (active feeds).
with categories as (
    select * from {{ ref('catalogue_categories') }}
),

layouts as (
    select * from {{ ref('record_layouts') }}
),

responsibilities as (
    select category_code, count(distinct department_code) as responsible_department_count
    from {{ ref('feed_registry') }}
    where active
    group by category_code
)

select
    categories.category_code,
    categories.category_name_zh,
    categories.category_name_en,
    categories.category_class,
    categories.record_layout,
    layouts.description_zh as layout_description_zh,
    layouts.key_fields,
    layouts.event_date_field,
    layouts.timeliness_applies,
    categories.is_special_52,
    categories.is_catalogue,
    categories.is_double_publicity,
    categories.cadence,
    categories.subject_scope,
    coalesce(responsibilities.responsible_department_count, 0) as responsible_department_count
from categories
left join layouts
    on layouts.record_layout = categories.record_layout
left join responsibilities
    on responsibilities.category_code = categories.category_code
