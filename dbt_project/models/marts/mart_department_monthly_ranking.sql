-- The monthly department ranking (002 附表一): per month and department, the sum of the
-- data-decidable rule points of mart_department_monthly_score and the department's rank (1 = most
-- points; departments with equal points share a rank). Rules data cannot decide are not included.
with scores as (
    select * from {{ ref('mart_department_monthly_score') }}
),

totals as (
    select
        month_start,
        department_code,
        max(department_name) as department_name,
        count(*) as scored_rules,
        sum(points) as total_points,
        sum(case when points < 0 then points else 0 end) as deducted_points
    from scores
    group by month_start, department_code
)

select
    month_start,
    department_code,
    department_name,
    scored_rules,
    cast(total_points as decimal(9, 2)) as total_points,
    cast(deducted_points as decimal(9, 2)) as deducted_points,
    rank() over (partition by month_start order by total_points desc) as month_rank
from totals
