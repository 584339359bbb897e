-- One row per credit subject (organisation by USCC, natural person by keyed hash of the ID number),
-- with its kind, region, registration details, code quality and record dates. ID numbers masked.
with subjects as (
    select * from {{ ref('int_subjects') }}
),

regions as (
    select region_code, region_name from {{ ref('region_codes') }}
),

conflicts as (
    select
        uscc,
        {{ dbt.listagg('conflict_kind', "','", 'order by conflict_kind') }} as conflict_kinds
    from {{ ref('int_code_conflicts') }}
    group by uscc
),

described as (
    select
        subjects.*,
        case
            when subjects.is_person then
                case subjects.id_number_status
                    when 'valid' then 'valid'
                    when 'check_char' then 'check_char'
                    when 'not_checked' then 'not_checked'
                    else 'format'
                end
            when subjects.uscc is null then 'missing'
            else {{ credit_warehouse.uscc_status('subjects.uscc') }}
        end as code_status,
        case
            when subjects.is_person and subjects.subject_type = '个体工商户' then '个体工商户'
            when subjects.is_person then '自然人'
            when subjects.uscc is not null then {{ credit_warehouse.uscc_subject_kind('subjects.uscc') }}
            when subjects.subject_type = '个体工商户' then '个体工商户'
            else '其他'
        end as subject_kind,
        case
            when subjects.is_person then subjects.id_region_code
            when {{ credit_warehouse.regex_matches('substr(subjects.uscc, 3, 6)', '^[0-9]{6}$') }}
                then substr(subjects.uscc, 3, 6)
        end as region_code
    from subjects
)

select
    described.subject_key,
    described.is_person,
    described.subject_kind,
    described.uscc,
    described.person_key,
    described.id_number_masked,
    described.subject_name,
    described.name_source,
    described.name_count,
    described.region_code,
    regions.region_name,
    described.legal_rep,
    described.establish_date,
    described.reg_status,
    described.reg_authority,
    described.reg_capital_10k_yuan,
    described.has_registration,
    described.code_status,
    conflicts.uscc is not null as has_code_conflict,
    conflicts.conflict_kinds,
    described.record_count,
    described.category_count,
    described.first_record_date,
    described.last_record_date,
    described.first_report_date,
    described.last_report_date
from described
left join regions
    on regions.region_code = described.region_code
left join conflicts
    on conflicts.uscc = described.uscc
    and not described.is_person
