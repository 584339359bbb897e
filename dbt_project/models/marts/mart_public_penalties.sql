-- The public view of administrative penalties (信用网站公示): only penalties whose publicity status is
-- public at the as-of date (neither expired nor repaired, see fct_penalty_publicity); ID numbers masked.
with publicity as (
    select * from {{ ref('fct_penalty_publicity') }}
)

select
    record_id,
    department_name,
    subject_name,
    subject_kind,
    uscc,
    id_number_masked,
    doc_number,
    decision_date,
    violation_type,
    penalty_category,
    penalty_content,
    fine_10k_yuan,
    authority,
    severity,
    publicity_end_date
from publicity
where is_public
