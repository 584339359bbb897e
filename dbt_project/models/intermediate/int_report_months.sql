-- The months indicators are computed for: every month with a validated delivery (report month),
-- with its last day. One row per month.
with validated_files as (
    select distinct file_sha256
    from {{ source('validation', 'validated_files') }}
),

months as (
    select distinct {{ credit_warehouse.month_start('files.business_date') }} as month_start
    from {{ source('raw', 'files') }} as files
    inner join validated_files
        on validated_files.file_sha256 = files.file_sha256
)

select
    month_start,
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date) as month_end
from months
