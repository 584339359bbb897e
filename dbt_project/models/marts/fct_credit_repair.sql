-- One row per credit repair request (信用修复; latest delivered version of each request number)
-- against a published penalty of the handling department, with its handling time in working days
-- (working days in (received, closed]) against repair_deadline_workdays (3: 001 item 21, 003
-- 五(三)3: every repair within 3 working days, -1 point per overdue case). Overdue: closed after its
-- due date, or still open at the as-of date past it; the overdue list is `where is_overdue`.
with versions as (
    select
        *,
        row_number() over (
            partition by department_code, category_code, record_key
            order by business_date desc, load_seq desc, row_number desc
        ) as version_rank
    from {{ ref('stg_credit_repairs') }}
),

repairs as (
    select * from versions where version_rank = 1
),

penalties as (
    select department_code, record_key, record_id
    from {{ ref('int_credit_records') }}
    where record_layout = 'penalty'
),

calendar as (
    select calendar_date, is_workday, workday_seq
    from {{ ref('int_workday_calendar') }}
),

as_of as (
    select as_of_date, as_of_workday_seq from {{ ref('int_as_of_date') }}
),

timed as (
    select
        repairs.*,
        penalties.record_id as penalty_record_id,
        due.calendar_date as due_date,
        case when repairs.closed_date is not null
            then closed_on.workday_seq - received_on.workday_seq end as handling_workdays,
        case when repairs.closed_date is null
            then as_of.as_of_workday_seq - received_on.workday_seq end as open_workdays,
        as_of.as_of_date
    from repairs
    cross join as_of
    left join penalties
        on penalties.department_code = repairs.department_code
        and penalties.record_key = repairs.ref_doc_number_key
    left join calendar as received_on
        on received_on.calendar_date = repairs.received_date
    left join calendar as closed_on
        on closed_on.calendar_date = repairs.closed_date
    {{ credit_warehouse.join_workday_deadline('received_on', 'due', var('repair_deadline_workdays')) }}
)

select
    {{ dbt.hash(dbt.concat(["timed.department_code", "'|'", "timed.record_key"])) }} as repair_id,
    timed.department_code,
    departments.department_name,
    timed.doc_number as repair_number,
    timed.subject_name,
    timed.subject_type,
    timed.uscc,
    timed.ref_doc_number as penalty_doc_number,
    timed.penalty_record_id,
    timed.penalty_record_id is not null as is_penalty_found,
    timed.received_date,
    timed.closed_date,
    timed.closed_date is not null as is_closed,
    timed.repair_result,
    coalesce(timed.repair_result = '{{ var("repair_granted_result") }}', false) as is_granted,
    timed.handling_workdays,
    timed.open_workdays,
    {{ var('repair_deadline_workdays') }} as deadline_workdays,
    timed.due_date,
    {{ credit_warehouse.month_start('timed.due_date') }} as due_month,
    coalesce(timed.closed_date > timed.due_date, timed.closed_date is null and timed.as_of_date > timed.due_date, false)
        as is_overdue,
    timed.as_of_date,
    timed.business_date as report_date,
    timed.source_file
from timed
left join {{ ref('departments') }} as departments
    on departments.department_code = timed.department_code
