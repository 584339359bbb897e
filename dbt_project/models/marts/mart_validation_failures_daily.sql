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

{#- A failure counts +1 from the day it opened and -1 from the day it ended: the open failures of a
    day are the running sum of those changes up to it. Counting every failure against every day
    instead (a join on opened_on <= report_date) took 5 s on day 365 of the 1,000,000-subject city
    (1.4M failures x 365 days) and grows with the square of the history. -#}
changes as (
    select
        department_code,
        opened_on as event_date,
        1 as open_change,
        case when severity = 'blocking' then 1 else 0 end as blocking_change,
        case when severity = 'warning' then 1 else 0 end as warning_change,
        case when failing_since = opened_on then 1 else 0 end as new_failures,
        0 as closed_failures
    from failures
    union all
    select
        department_code,
        ended_on as event_date,
        -1 as open_change,
        case when severity = 'blocking' then -1 else 0 end as blocking_change,
        case when severity = 'warning' then -1 else 0 end as warning_change,
        0 as new_failures,
        case when closed_on = ended_on then 1 else 0 end as closed_failures
    from failures
    where ended_on is not null
),

daily_changes as (
    select
        department_code,
        event_date,
        sum(open_change) as open_change,
        sum(blocking_change) as blocking_change,
        sum(warning_change) as warning_change,
        sum(new_failures) as new_failures,
        sum(closed_failures) as closed_failures
    from changes
    group by department_code, event_date
),

{#- the grid's days next to the days with changes (also those outside the grid), summed in date order -#}
timeline as (
    select department_code, report_date as event_date, 0 as open_change, 0 as blocking_change,
        0 as warning_change, true as is_grid_day
    from grid
    union all
    select department_code, event_date, open_change, blocking_change, warning_change, false as is_grid_day
    from daily_changes
),

running as (
    select
        department_code,
        event_date,
        is_grid_day,
        sum(open_change) over (partition by department_code order by event_date) as open_failures,
        sum(blocking_change) over (partition by department_code order by event_date) as open_blocking,
        sum(warning_change) over (partition by department_code order by event_date) as open_warning
    from timeline
),

counted as (
    select
        running.event_date as report_date,
        running.department_code,
        cast(running.open_failures as {{ dbt.type_bigint() }}) as open_failures,
        cast(running.open_blocking as {{ dbt.type_bigint() }}) as open_blocking,
        cast(running.open_warning as {{ dbt.type_bigint() }}) as open_warning,
        cast(coalesce(daily_changes.new_failures, 0) as {{ dbt.type_bigint() }}) as new_failures,
        cast(coalesce(daily_changes.closed_failures, 0) as {{ dbt.type_bigint() }}) as closed_failures
    from running
    left join daily_changes
        on daily_changes.department_code = running.department_code
        and daily_changes.event_date = running.event_date
    where running.is_grid_day
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
