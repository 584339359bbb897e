-- The working-day calendar: seed days, overridden by the steward-maintained overrides.
-- One row per calendar date, with a running count of working days to measure report lags.
with calendar_days as (
    select calendar_date, is_workday, day_kind, holiday_name, 1 as precedence
    from {{ ref('workday_calendar') }}
    union all
    select calendar_date, is_workday, day_kind, holiday_name, 0 as precedence
    from {{ ref('workday_calendar_overrides') }}
),

ranked as (
    select
        calendar_date,
        is_workday,
        day_kind,
        holiday_name,
        precedence,
        row_number() over (partition by calendar_date order by precedence) as day_rank
    from calendar_days
),

effective as (
    select calendar_date, is_workday, day_kind, holiday_name, precedence = 0 as is_override
    from ranked
    where day_rank = 1
)

select
    calendar_date,
    is_workday,
    day_kind,
    holiday_name,
    is_override,
    sum(case when is_workday then 1 else 0 end) over (
        order by calendar_date rows between unbounded preceding and current row
    ) as workday_seq
from effective
