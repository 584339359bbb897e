-- 重错码 for data stewards and analysts: one row per offending organisation code and kind of
-- problem, with the names involved, record counts, the departments that delivered the code and
-- the subject's resolved name. Organisations only (no person ID numbers).
with conflicts as (
    select * from {{ ref('int_code_conflicts') }}
),

subjects as (
    select subject_key, subject_name, subject_kind, region_code, name_source
    from {{ ref('dim_subject') }}
    where not is_person
)

select
    conflicts.conflict_id,
    conflicts.uscc,
    conflicts.conflict_kind,
    case conflicts.conflict_kind
        when 'check_char' then '错码：校验码错误'
        when 'invalid_pair' then '错码：登记管理部门码与机构类别码组合无效'
        when 'format' then '错码：格式错误'
        when 'one_code_many_names' then '重码：一码多名'
        when 'one_name_many_codes' then '重码：一名多码'
    end as conflict_description_zh,
    subjects.subject_name as resolved_subject_name,
    subjects.name_source,
    subjects.subject_kind,
    subjects.region_code,
    conflicts.subject_names,
    conflicts.name_count,
    conflicts.related_codes,
    conflicts.record_count,
    conflicts.department_count,
    conflicts.departments,
    conflicts.first_report_date,
    conflicts.last_report_date
from conflicts
left join subjects
    on subjects.subject_key = conflicts.uscc
