-- 重错码: one row per offending organisation code (USCC) and kind of problem, over current records:
--   check_char / invalid_pair / format : the code breaks GB 32100 rules (错码; early pilot codes
--                                        failing the check character are kept, flagged here)
--   one_code_many_names                : one code carried by different subject names (重码)
--   one_name_many_codes                : one subject name under different codes (重码)
-- Organisations only: person ID numbers never appear here.
-- Over int_code_names (the codes and names of current records with the codes' figures, kept per
-- subject), not the records themselves.
with code_names as (
    select * from {{ ref('int_code_names') }}
),

code_stats as (
    select distinct
        uscc,
        record_count,
        name_count,
        department_count,
        departments,
        first_report_date,
        last_report_date
    from code_names
),

code_name_lists as (
    select uscc, {{ dbt.listagg('subject_name', "' | '", 'order by subject_name') }} as subject_names
    from code_names
    group by uscc
),

shared_names as (
    select distinct
        this_code.uscc,
        other_code.uscc as related_uscc
    from code_names as this_code
    inner join code_names as other_code
        on other_code.subject_name_normalized = this_code.subject_name_normalized
        and other_code.uscc <> this_code.uscc
),

related_codes as (
    select uscc, {{ dbt.listagg('related_uscc', "','", 'order by related_uscc') }} as related_codes
    from shared_names
    group by uscc
),

code_status as (
    select
        uscc,
        {{ credit_warehouse.uscc_status('uscc') }} as status
    from code_stats
),

conflicts as (
    select uscc, status as conflict_kind
    from code_status
    where status <> 'valid'
    union all
    select uscc, 'one_code_many_names' as conflict_kind
    from code_stats
    where name_count > 1
    union all
    select distinct uscc, 'one_name_many_codes' as conflict_kind
    from shared_names
)

select
    {{ dbt.hash(dbt.concat(["conflicts.uscc", "'|'", "conflicts.conflict_kind"])) }} as conflict_id,
    conflicts.uscc,
    conflicts.conflict_kind,
    code_name_lists.subject_names,
    code_stats.name_count,
    related_codes.related_codes,
    code_stats.record_count,
    code_stats.department_count,
    code_stats.departments,
    code_stats.first_report_date,
    code_stats.last_report_date
from conflicts
inner join code_stats
    on code_stats.uscc = conflicts.uscc
left join code_name_lists
    on code_name_lists.uscc = conflicts.uscc
left join related_codes
    on related_codes.uscc = conflicts.uscc
