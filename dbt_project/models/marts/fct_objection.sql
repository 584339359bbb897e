-- One row per objection (异议; latest delivered version of each objection number) against a
-- published 双公示 record, with its handling time in working days (working days in (received,
-- closed], Chinese statutory calendar) against objection_deadline_workdays (5: 001 item 21, 003
-- 五(三)2). Overdue: closed after its due date, or still open at the as-of date past it; the
-- overdue list is `where is_overdue`. due_month is the month an overdue case is counted in (002 (四)).
with versions as (
    select
        *,
        row_number() over (
            partition by department_code, category_code, record_key
            order by business_date desc, load_seq desc, row_number desc
        ) as version_rank
    from {{ ref('stg_objections') }}
),

objections as (
    select * from versions where version_rank = 1
),

ref_categories as (
    select category_code, category_name_zh
    from {{ ref('catalogue_categories') }}
    where is_double_publicity
),

published as (
    select department_code, category_code, record_key
    from {{ ref('int_credit_records') }}
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
        objections.*,
        ref_categories.category_code as ref_category_code,
        published.record_key is not null as is_record_found,
        due.calendar_date as due_date,
        case when objections.closed_date is not null
            then closed_on.workday_seq - received_on.workday_seq end as handling_workdays,
        case when objections.closed_date is null
            then as_of.as_of_workday_seq - received_on.workday_seq end as open_workdays,
        as_of.as_of_date
    from objections
    cross join as_of
    left join ref_categories
        on ref_categories.category_name_zh = objections.ref_category
    left join published
        on published.department_code = objections.department_code
        and published.category_code = ref_categories.category_code
        and published.record_key = objections.ref_doc_number_key
    left join calendar as received_on
        on received_on.calendar_date = objections.received_date
    left join calendar as closed_on
        on closed_on.calendar_date = objections.closed_date
    {{ credit_warehouse.join_workday_deadline('received_on', 'due', var('objection_deadline_workdays')) }}
)

select
    {{ dbt.hash(dbt.concat(["timed.department_code", "'|'", "timed.record_key"])) }} as objection_id,
    timed.department_code,
    departments.department_name,
    timed.doc_number as objection_number,
    timed.subject_name,
    timed.subject_type,
    timed.uscc,
    timed.ref_category,
    timed.ref_category_code,
    timed.ref_doc_number,
    timed.is_record_found,
    timed.received_date,
    timed.closed_date,
    timed.closed_date is not null as is_closed,
    timed.objection_result,
    coalesce(timed.objection_result = '{{ var("objection_valid_result") }}', false) as is_valid,
    timed.handling_workdays,
    timed.open_workdays,
    {{ var('objection_deadline_workdays') }} as deadline_workdays,
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
