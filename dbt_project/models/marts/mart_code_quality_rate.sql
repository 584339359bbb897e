-- 重错码率 of organisation codes (USCC) per registration authority (登记管理部门码, 1st character)
-- and district (行政区划码, characters 3-8), over the codes of current records (003 硬指标1, 001
-- item 1: below 1/10000; 003 五(二)):
--   erroneous (错码): the code breaks GB 32100 (format, authority/category pair, check character)
--   duplicate (重码): one code under several names, or one name under several codes
--   重错码率 = codes that are erroneous or duplicate / codes
-- with the offending codes listed (details per code in mart_code_quality_issues).
with codes as (
    select distinct uscc
    from {{ ref('int_credit_records') }}
    where not is_person
        and uscc is not null
),

conflicts as (
    select
        uscc,
        {{ dbt.bool_or("conflict_kind in ('format', 'invalid_pair', 'check_char')") }} as is_erroneous,
        {{ dbt.bool_or("conflict_kind in ('one_code_many_names', 'one_name_many_codes')") }} as is_duplicate
    from {{ ref('int_code_conflicts') }}
    group by uscc
),

classified as (
    select
        codes.uscc,
        substr(codes.uscc, 1, 1) as authority_code,
        case
            when {{ credit_warehouse.regex_matches('substr(codes.uscc, 3, 6)', '^[0-9]{6}$') }}
                then substr(codes.uscc, 3, 6)
            else 'unknown'
        end as region_code,
        coalesce(conflicts.is_erroneous, false) as is_erroneous,
        coalesce(conflicts.is_duplicate, false) as is_duplicate
    from codes
    left join conflicts
        on conflicts.uscc = codes.uscc
),

aggregated as (
    select
        authority_code,
        region_code,
        count(*) as codes,
        sum(case when is_erroneous then 1 else 0 end) as erroneous_codes,
        sum(case when is_duplicate then 1 else 0 end) as duplicate_codes,
        sum(case when is_erroneous or is_duplicate then 1 else 0 end) as bad_codes,
        {{ dbt.listagg("case when is_erroneous then uscc end", "','", 'order by uscc') }} as erroneous_code_list,
        {{ dbt.listagg("case when is_duplicate then uscc end", "','", 'order by uscc') }} as duplicate_code_list
    from classified
    group by authority_code, region_code
),

threshold as (
    select threshold from {{ ref('indicator_thresholds') }} where indicator_code = 'uscc_error_rate'
)

select
    aggregated.authority_code,
    authorities.authority_name_zh,
    authorities.department_code as responsible_department_code,
    aggregated.region_code,
    regions.region_name,
    aggregated.codes,
    aggregated.erroneous_codes,
    aggregated.duplicate_codes,
    aggregated.bad_codes,
    cast(1.0 * aggregated.bad_codes / nullif(aggregated.codes, 0) as decimal(18, 8)) as bad_code_rate,
    threshold.threshold as rate_threshold,
    1.0 * aggregated.bad_codes / nullif(aggregated.codes, 0) < threshold.threshold as meets_threshold,
    aggregated.erroneous_code_list,
    aggregated.duplicate_code_list
from aggregated
cross join threshold
left join {{ ref('uscc_registration_authorities') }} as authorities
    on authorities.authority_code = aggregated.authority_code
left join {{ ref('region_codes') }} as regions
    on regions.region_code = aggregated.region_code
