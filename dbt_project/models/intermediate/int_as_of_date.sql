-- The date the indicators are judged at (publicity status, open cases, watchlist window): the
-- as_of_date var when set, else the latest business date of a validated file, so that one load
-- always gives the same marts. One row.
--
-- In the marts file, beside the marts that read it: fct_ledger_decision, a view there, judges
-- concealment at this date when read, and a view binds only the tables of its own file.
{{ config(database='marts_db') }}
with validated_files as (
    select distinct file_sha256
    from {{ source('validation', 'validated_files') }}
),

latest as (
    select max(files.business_date) as latest_business_date
    from {{ source('raw', 'files') }} as files
    inner join validated_files
        on validated_files.file_sha256 = files.file_sha256
),

chosen as (
    select
        {%- if var('as_of_date') %}
        cast('{{ var("as_of_date") }}' as date) as as_of_date,
        {%- else %}
        latest_business_date as as_of_date,
        {%- endif %}
        latest_business_date
    from latest
)

select
    chosen.as_of_date,
    chosen.latest_business_date,
    calendar.workday_seq as as_of_workday_seq
from chosen
left join {{ ref('int_workday_calendar') }} as calendar
    on calendar.calendar_date = chosen.as_of_date
