-- The subjects a daily build recomputes: every subject a record of the build's staging window belongs
-- to now or belonged to in an earlier version (a corrected re-send can move a record to another
-- subject, and the subject it left changes too). Computed once per build: the models and tests
-- replaced per subject (int_subjects, int_subject_record_summary, fct_penalty_publicity,
-- mart_subject_category_summary) read it instead of each scanning every version again. Without a
-- window (a full refresh), every subject, without the join.
{%- if credit_warehouse.window_set() %}
select distinct versions.subject_key
from {{ ref('int_record_versions') }} as versions
{{ credit_warehouse.join_window_records('versions') }}
{%- else %}
select distinct subject_key
from {{ ref('int_record_versions') }}
{%- endif %}
