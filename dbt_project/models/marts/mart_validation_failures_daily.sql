-- Open validation failures over time: one row per day and department (departments that ever had a
-- failure), from the first failure's report date to the latest report date landed. A failure is
-- open on a day when it was reported on or before it and had not ended (closed or superseded by a
-- re-send) by then. Report dates, not run times: a backfill draws the same curve as daily runs.
with failures as (
    select department_code, severity, opened_on, failing_since, ended_on, closed_on
    from {{ ref('mart_validation_failures') }}
),

bounds as (
    select
        (select min(opened_on) from failures) as first_day,
        (select max(business_date) from {{ source('raw', 'files') }}) as last_day
),

days as (
    select calendar.calendar_date as report_date
    from {{ ref('int_workday_calendar') }} as calendar
    inner join bounds
        on calendar.calendar_date between bounds.first_day and bounds.last_day
),

departments as (
    select distinct department_code
    from failures
),

grid as (
    select days.report_date, departments.department_code
    from days
    cross join departments
),

counted as (
    select
        grid.report_date,
        grid.department_code,
        count(case when failures.opened_on <= grid.report_date
            and (failures.ended_on is null or failures.ended_on > grid.report_date) then 1 end) as open_failures,
        count(case when failures.severity = 'blocking' and failures.opened_on <= grid.report_date
            and (failures.ended_on is null or failures.ended_on > grid.report_date) then 1 end) as open_blocking,
        count(case when failures.severity = 'warning' and failures.opened_on <= grid.report_date
            and (failures.ended_on is null or failures.ended_on > grid.report_date) then 1 end) as open_warning,
        count(case when failures.opened_on = grid.report_date
            and failures.failing_since = grid.report_date then 1 end) as new_failures,
        count(case when failures.closed_on = grid.report_date then 1 end) as closed_failures
    from grid
    left join failures
        on failures.department_code = grid.department_code
        and failures.opened_on <= grid.report_date
    group by grid.report_date, grid.department_code
)

select
    counted.report_date,
    counted.department_code,
    departments.department_name,
    counted.open_failures,
    counted.open_blocking,
    counted.open_warning,
    counted.new_failures,
    counted.closed_failures
from counted
left join {{ ref('departments') }} as departments
    on departments.department_code = counted.department_code
