-- Objection and credit repair handling per month and department (001 item 21, 003 五(三)):
--   有效异议占比 = valid objections closed in the month / 双公示 records of the department published
--                 by the month's end (current records, first report date <= month end)
--   average handling time (working days) of objections / repairs closed in the month
--   overdue cases: objections / repairs whose due date falls in the month and that were not closed
--                 by it (closed late, or still open at the as-of date); listed in fct_objection /
--                 fct_credit_repair `where is_overdue`.
-- Rows: every report month x every department with an objection or repair feed or case.
with objections as (
    select * from {{ ref('fct_objection') }}
),

repairs as (
    select * from {{ ref('fct_credit_repair') }}
),

handling_departments as (
    select distinct feeds.department_code
    from {{ ref('feed_registry') }} as feeds
    inner join {{ ref('catalogue_categories') }} as categories
        on categories.category_code = feeds.category_code
    where feeds.active
        and categories.record_layout in ('objection', 'repair')
    union
    select department_code from objections
    union
    select department_code from repairs
),

months as (
    select month_start, month_end from {{ ref('int_report_months') }}
),

grid as (
    select months.month_start, months.month_end, handling_departments.department_code
    from months
    cross join handling_departments
),

published_records as (
    select department_code, first_report_date
    from {{ ref('int_credit_records') }} as records
    inner join {{ ref('catalogue_categories') }} as categories
        on categories.category_code = records.category_code
    where categories.is_double_publicity
),

published_by_month as (
    select grid.month_start, grid.department_code, count(published_records.department_code) as published_records
    from grid
    left join published_records
        on published_records.department_code = grid.department_code
        and published_records.first_report_date <= grid.month_end
    group by grid.month_start, grid.department_code
),

objection_months as (
    select
        grid.month_start,
        grid.department_code,
        sum(case when {{ credit_warehouse.month_start('objections.received_date') }} = grid.month_start
            then 1 else 0 end) as objections_received,
        sum(case when {{ credit_warehouse.month_start('objections.closed_date') }} = grid.month_start
            then 1 else 0 end) as objections_closed,
        sum(case when {{ credit_warehouse.month_start('objections.closed_date') }} = grid.month_start
            and objections.is_valid then 1 else 0 end) as valid_objections,
        avg(case when {{ credit_warehouse.month_start('objections.closed_date') }} = grid.month_start
            then objections.handling_workdays end) as avg_objection_workdays,
        sum(case when objections.due_month = grid.month_start and objections.is_overdue
            then 1 else 0 end) as objections_overdue
    from grid
    left join objections
        on objections.department_code = grid.department_code
    group by grid.month_start, grid.department_code
),

repair_months as (
    select
        grid.month_start,
        grid.department_code,
        sum(case when {{ credit_warehouse.month_start('repairs.received_date') }} = grid.month_start
            then 1 else 0 end) as repairs_received,
        sum(case when {{ credit_warehouse.month_start('repairs.closed_date') }} = grid.month_start
            then 1 else 0 end) as repairs_closed,
        sum(case when {{ credit_warehouse.month_start('repairs.closed_date') }} = grid.month_start
            and repairs.is_granted then 1 else 0 end) as repairs_granted,
        avg(case when {{ credit_warehouse.month_start('repairs.closed_date') }} = grid.month_start
            then repairs.handling_workdays end) as avg_repair_workdays,
        sum(case when repairs.due_month = grid.month_start and repairs.is_overdue
            then 1 else 0 end) as repairs_overdue
    from grid
    left join repairs
        on repairs.department_code = grid.department_code
    group by grid.month_start, grid.department_code
)

select
    grid.month_start,
    grid.department_code,
    departments.department_name,
    objection_months.objections_received,
    objection_months.objections_closed,
    objection_months.valid_objections,
    published_by_month.published_records,
    cast(1.0 * objection_months.valid_objections / nullif(published_by_month.published_records, 0)
        as decimal(18, 10)) as valid_objection_share,
    cast(round(objection_months.avg_objection_workdays, 2) as decimal(9, 2)) as avg_objection_workdays,
    objection_months.objections_overdue,
    {{ var('objection_deadline_workdays') }} as objection_deadline_workdays,
    repair_months.repairs_received,
    repair_months.repairs_closed,
    repair_months.repairs_granted,
    cast(round(repair_months.avg_repair_workdays, 2) as decimal(9, 2)) as avg_repair_workdays,
    repair_months.repairs_overdue,
    {{ var('repair_deadline_workdays') }} as repair_deadline_workdays
from grid
inner join objection_months
    on objection_months.month_start = grid.month_start
    and objection_months.department_code = grid.department_code
inner join repair_months
    on repair_months.month_start = grid.month_start
    and repair_months.department_code = grid.department_code
inner join published_by_month
    on published_by_month.month_start = grid.month_start
    and published_by_month.department_code = grid.department_code
left join {{ ref('departments') }} as departments
    on departments.department_code = grid.department_code
