-- One row per current administrative penalty: its severity and the dates of its publicity period, per
-- 国办发〔2025〕22号 and 《信用修复管理办法》. fct_penalty_publicity adds the as-of status (repaired,
-- expired, public) and the record's display columns.
-- Severity, in order of precedence:
--   1. the department's 公示截止期 (publicity_until): the mildest severity whose maximum period
--      (seeds/publicity_periods.csv: 轻微 3 months, 一般 1 year, 严重 3 years) covers it;
--   2. seeds/penalty_severity_rules.csv on 处罚类别 (first matching rule: e.g. 吊销 -> 严重, only
--      警告 -> 轻微), the default rule (一般) last.
-- Publicity ends at the delivered 公示截止期 but never later than decision date + the severity's
-- maximum period; without it, at decision date + maximum period.
--
-- Incremental per record, like int_credit_records: a penalty's terms are a function of its current
-- version and the seeds (no as-of date), so a daily build recomputes only the window's records. A
-- year of the 1,000,000-subject city classified all 5.25M penalties again every day.
-- depends_on: {{ ref('int_record_versions') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='record_id',
          meta={'window_key': 'record_id'}) }}

with penalties as (
    select
        record_id,
        event_date,
        penalty_category,
        latest_load_seq,
        latest_row_number
    from {{ ref('int_credit_records') }}
    where record_layout = 'penalty'
    {%- if is_incremental() %}
        and record_id in ({{ credit_warehouse.window_record_ids() }})
    {%- endif %}
),

delivered as (
    {#- a row is (load_seq, row_number): two integers join cheaper than the 64-character file hash -#}
    select load_seq, row_number, publicity_until
    from {{ ref('stg_penalties') }}
),

periods as (
    select * from {{ ref('publicity_periods') }}
),

rules as (
    select * from {{ ref('penalty_severity_rules') }}
),

with_until as (
    {#- read three times below: DuckDB writes it out once -#}
    select
        penalties.record_id,
        penalties.event_date,
        case when delivered.publicity_until >= penalties.event_date then delivered.publicity_until end
            as publicity_until,
        {{ dbt.replace(dbt.replace(dbt.replace("coalesce(penalties.penalty_category, '')", "'；'", "';'"),
                       "'、'", "';'"), "'，'", "';'") }} as category_text
    from penalties
    left join delivered
        on delivered.load_seq = penalties.latest_load_seq
        and delivered.row_number = penalties.latest_row_number
),

by_period as (
    select
        with_until.record_id,
        periods.severity,
        row_number() over (partition by with_until.record_id order by periods.severity_rank) as period_rank
    from with_until
    inner join periods
        on cast({{ dbt.dateadd('month', 'periods.max_months', 'with_until.event_date') }} as date)
            >= with_until.publicity_until
),

by_rule as (
    select
        with_until.record_id,
        rules.severity,
        rules.rule_order,
        row_number() over (partition by with_until.record_id order by rules.rule_order) as rule_rank
    from with_until
    inner join rules
        on rules.match_type = 'default'
        or (rules.match_type = 'equals' and with_until.category_text = rules.pattern)
        or (rules.match_type = 'contains' and {{ dbt.position('rules.pattern', 'with_until.category_text') }} > 0)
),

classified as (
    select
        with_until.*,
        case
            when with_until.publicity_until is not null then coalesce(by_period.severity, strictest.severity)
            else by_rule.severity
        end as severity,
        case
            when with_until.publicity_until is not null then 'publicity_until'
            else {{ dbt.concat(["'rule '", "cast(by_rule.rule_order as " ~ dbt.type_string() ~ ")"]) }}
        end as severity_source
    from with_until
    cross join (select severity from periods order by severity_rank desc limit 1) as strictest
    left join by_period
        on by_period.record_id = with_until.record_id
        and by_period.period_rank = 1
    left join by_rule
        on by_rule.record_id = with_until.record_id
        and by_rule.rule_rank = 1
),

dated as (
    select
        classified.record_id,
        classified.severity,
        classified.severity_source,
        classified.publicity_until,
        cast({{ dbt.dateadd('month', 'periods.min_months', 'classified.event_date') }} as date) as shortest_end_date,
        cast({{ dbt.dateadd('month', 'periods.max_months', 'classified.event_date') }} as date) as longest_end_date
    from classified
    inner join periods
        on periods.severity = classified.severity
)

select
    record_id,
    severity,
    severity_source,
    publicity_until as delivered_publicity_until,
    shortest_end_date,
    case
        when publicity_until is not null and publicity_until < longest_end_date then publicity_until
        else longest_end_date
    end as publicity_end_date
from dated
