-- Publicity of every administrative penalty (current version), per 国办发〔2025〕22号 and
-- 《信用修复管理办法》: its severity, the end of its publicity period and its status at the as-of
-- date: repaired (a granted credit repair closed by then), expired (past the publicity end) or public.
-- Severity, in order of precedence:
--   1. the department's 公示截止期 (publicity_until): the mildest severity whose maximum period
--      (seeds/publicity_periods.csv: 轻微 3 months, 一般 1 year, 严重 3 years) covers it;
--   2. seeds/penalty_severity_rules.csv on 处罚类别 (first matching rule: e.g. 吊销 -> 严重, only
--      警告 -> 轻微), the default rule (一般) last.
-- Publicity ends at the delivered 公示截止期 but never later than decision date + the severity's
-- maximum period; without it, at decision date + maximum period.
with penalties as (
    {#- only the columns the mart shows: with_until is read three times, so DuckDB writes it out -#}
    select
        records.record_id,
        records.department_code,
        records.department_name,
        records.subject_key,
        records.subject_kind,
        records.subject_display_name,
        records.uscc,
        records.id_number_masked,
        records.doc_number,
        records.event_date,
        records.matter,
        records.penalty_category,
        records.summary,
        records.amount_10k_yuan,
        records.authority
    from {{ ref('fct_credit_record') }} as records
    where records.record_layout = 'penalty'
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

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

with_until as (
    select
        penalties.*,
        case when delivered.publicity_until >= penalties.event_date then delivered.publicity_until end
            as publicity_until,
        {{ dbt.replace(dbt.replace(dbt.replace("coalesce(penalties.penalty_category, '')", "'；'", "';'"),
                       "'、'", "';'"), "'，'", "';'") }} as category_text
    from penalties
    inner join {{ ref('int_credit_records') }} as current_records
        on current_records.record_id = penalties.record_id
    left join delivered
        on delivered.load_seq = current_records.latest_load_seq
        and delivered.row_number = current_records.latest_row_number
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
        classified.*,
        periods.min_months,
        periods.max_months,
        cast({{ dbt.dateadd('month', 'periods.min_months', 'classified.event_date') }} as date) as shortest_end_date,
        cast({{ dbt.dateadd('month', 'periods.max_months', 'classified.event_date') }} as date) as longest_end_date
    from classified
    inner join periods
        on periods.severity = classified.severity
),

repairs as (
    select penalty_record_id, min(closed_date) as repaired_on
    from {{ ref('fct_credit_repair') }}
    where is_granted
        and closed_date is not null
        and penalty_record_id is not null
    group by penalty_record_id
),

statused as (
    select
        dated.*,
        case
            when dated.publicity_until is not null and dated.publicity_until < dated.longest_end_date
                then dated.publicity_until
            else dated.longest_end_date
        end as publicity_end_date,
        repairs.repaired_on,
        as_of.as_of_date
    from dated
    cross join as_of
    left join repairs
        on repairs.penalty_record_id = dated.record_id
        and repairs.repaired_on <= as_of.as_of_date
)

select
    record_id,
    department_code,
    department_name,
    subject_key,
    subject_kind,
    subject_display_name as subject_name,
    uscc,
    id_number_masked,
    doc_number,
    event_date as decision_date,
    matter as violation_type,
    penalty_category,
    summary as penalty_content,
    amount_10k_yuan as fine_10k_yuan,
    authority,
    severity,
    severity_source,
    publicity_until as delivered_publicity_until,
    shortest_end_date,
    publicity_end_date,
    repaired_on,
    as_of_date,
    case
        when repaired_on is not null then 'repaired'
        when as_of_date > publicity_end_date then 'expired'
        else 'public'
    end as publicity_status,
    repaired_on is null and as_of_date <= publicity_end_date as is_public
from statused
