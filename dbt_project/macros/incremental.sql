{#- Incremental staging. Staging rows are a function of one validated file's raw rows, its row issues
    and the seeds; a daily load adds files and never changes a validated one. So staging models only
    parse the files validated since the last successful build and replace those files' rows
    (delete+insert on file_sha256: a build retried after a crash redoes the same files, no duplicate).
    The pipeline (transform.staging_window) sets the window and asks for a full refresh whenever the
    project, the seeds, the vars or a previously built file's validation changed.
    CREDITWH_STAGE_VALIDATED_AFTER: files validated strictly after this timestamp;
    CREDITWH_STAGE_FROM_LOAD_SEQ: the smallest load_seq of those files, a literal so DuckDB's zone maps
    skip the row groups of older loads without reading them. Both unset: every file (still correct). -#}

{#- The pipeline set a window for this build (unset: a full refresh, or dbt run by hand). -#}
{% macro window_set() -%}
    {{ return(env_var('CREDITWH_STAGE_VALIDATED_AFTER', '') != '') }}
{%- endmacro %}

{% macro staging_window_active() -%}
    {{ return(is_incremental() and credit_warehouse.window_set()) }}
{%- endmacro %}

{#- Predicate on validation.validated_files: the files of this build. -#}
{% macro staging_window_files(validated_at_column) -%}
    {%- if credit_warehouse.staging_window_active() -%}
        {{ validated_at_column }} > cast('{{ env_var("CREDITWH_STAGE_VALIDATED_AFTER") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- Predicate on raw.feed_rows: the loads that can hold those files' rows. -#}
{% macro staging_window_rows(load_seq_column) -%}
    {%- if credit_warehouse.staging_window_active() -%}
        {{ credit_warehouse.staging_window_rows_literal(load_seq_column) }}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{% macro staging_window_rows_literal(load_seq_column) -%}
    {{ load_seq_column }} >= {{ env_var('CREDITWH_STAGE_FROM_LOAD_SEQ', '0') | int }}
{%- endmacro %}

{#- The records that got a version in this build's window (a superset: see staging_window_rows); every
    record without a window (load_seq >= 0). `versions` is int_record_versions, passed by a caller that
    has no ref to it (a test: model_relation). -#}
{% macro window_record_ids(versions=none) -%}
    select distinct record_id
    from {{ versions if versions is not none else ref('int_record_versions') }}
    where {{ credit_warehouse.staging_window_rows_literal('load_seq') }}
{%- endmacro %}

{#- Keeps the rows of `alias` (rows of records: int_record_versions unless `rows` names another
    relation or CTE with load_seq and the record's natural key) of the records that have a row of this
    build's window in `rows`: joined on the natural key (department, category, record key), of which
    record_id is a hash; rows without a record key never match. int_record_versions computes that hash
    on every version it returns, so filtering it by record_id hashed all of the year's 25.7M versions to
    keep 65,000 (day 365 of the 1,000,000-subject city: 3.8 s against 1.4 s on the natural key). -#}
{% macro join_window_records(alias, rows=none) -%}
    inner join (
        select distinct department_code, category_code, record_key
        from {{ rows if rows is not none else ref('int_record_versions') }}
        where {{ credit_warehouse.staging_window_rows_literal('load_seq') }}
    ) as window_records
        on window_records.department_code = {{ alias }}.department_code
        and window_records.category_code = {{ alias }}.category_code
        and window_records.record_key = {{ alias }}.record_key
{%- endmacro %}

{#- The ledger entries a daily build reconciles again (int_ledger_reconciliation): those with a
    version in the window, and those whose document number got a submitted 双公示 row in it, looked up
    in `reconciled` (the kept reconciliation: before this build's rewrite for the model, after it for
    its tests; the same entries, since an entry whose document number changed has a version in the
    window). Callers declare the two refs:
    inside `is_incremental()` they are not seen when dbt parses the model. A test, which has no ref to
    them, passes from_graph=true (model_relation). -#}
{% macro ledger_window_entries(reconciled, from_graph=false) -%}
    {%- set entries = credit_warehouse.model_relation('stg_ledger_entries') if from_graph else ref('stg_ledger_entries') -%}
    {%- set quality = credit_warehouse.model_relation('int_feed_row_quality') if from_graph else ref('int_feed_row_quality') -%}
    select department_code, category_code, record_key
    from {{ entries }}
    where {{ credit_warehouse.staging_window_rows_literal('load_seq') }}
    union
    select kept.department_code, kept.ledger_category_code, kept.record_key
    from {{ reconciled }} as kept
    inner join {{ quality }} as window_rows
        on window_rows.department_code = kept.department_code
        and window_rows.category_code = kept.decision_category_code
        and window_rows.doc_number_key = kept.doc_number_key
    where {{ credit_warehouse.staging_window_rows_literal('window_rows.load_seq') }}
        and window_rows.is_double_publicity
{%- endmacro %}

{#- 瞒报 at an as-of date: unreported and past the report deadline (an entry without a deadline, its
    decision date outside the calendar, counts as past it). `entries`: the alias of the ledger rows. -#}
{% macro is_concealed(as_of, entries='') -%}
    {%- set prefix = entries ~ '.' if entries else '' -%}
    not {{ prefix }}is_reported and coalesce({{ prefix }}report_due_date < {{ as_of }}, true)
{%- endmacro %}

{#- The ledger_entry_id of the entries a daily build rewrote in int_ledger_reconciliation, for its tests. -#}
{% macro ledger_window_entry_ids() -%}
    {%- set reconciled = credit_warehouse.model_relation('int_ledger_reconciliation') -%}
    select reconciled.ledger_entry_id
    from {{ reconciled }} as reconciled
    inner join ({{ credit_warehouse.ledger_window_entries(reconciled, from_graph=true) }}) as window_entries
        on window_entries.department_code = reconciled.department_code
        and window_entries.category_code = reconciled.ledger_category_code
        and window_entries.record_key = reconciled.record_key
{%- endmacro %}

{#- The build's as-of date as a scalar subquery, for the post-hooks that judge kept rows in place. -#}
{% macro as_of_date_value() -%}
    (select as_of_date from {{ ref('int_as_of_date') }})
{%- endmacro %}

{#- A penalty's publicity at an as-of date: repaired (a granted repair closed by then), expired (past
    its publicity end) or public; and whether it is public. -#}
{% macro publicity_status(repaired_on, publicity_end_date, as_of) -%}
    case
        when {{ repaired_on }} is not null then 'repaired'
        when {{ as_of }} > {{ publicity_end_date }} then 'expired'
        else 'public'
    end
{%- endmacro %}

{% macro is_public(repaired_on, publicity_end_date, as_of) -%}
    {{ repaired_on }} is null and {{ as_of }} <= {{ publicity_end_date }}
{%- endmacro %}

{#- The first granted credit repair of each penalty closed by the as-of date (fct_penalty_publicity). -#}
{% macro penalty_repairs(as_of) -%}
    select penalty_record_id, min(closed_date) as repaired_on
    from {{ ref('fct_credit_repair') }}
    where is_granted
        and closed_date is not null
        and penalty_record_id is not null
        and closed_date <= {{ as_of }}
    group by penalty_record_id
{%- endmacro %}

{#- fct_penalty_publicity's post-hook on a daily build: every penalty's repair, status and as-of date
    judged again in place, at the build's as-of date and over the current repairs (a repair of another
    subject's feed, or a re-sent one, can change a penalty the build did not rewrite). -#}
{% macro judge_publicity_in_place() -%}
    {%- set as_of = credit_warehouse.as_of_date_value() -%}
    update {{ this }} as publicity
    set as_of_date = judged.as_of_date,
        repaired_on = judged.repaired_on,
        publicity_status = judged.publicity_status,
        is_public = judged.is_public
    from (
        select
            kept.record_id,
            {{ as_of }} as as_of_date,
            repairs.repaired_on,
            {{ credit_warehouse.publicity_status('repairs.repaired_on', 'kept.publicity_end_date', as_of) }}
                as publicity_status,
            {{ credit_warehouse.is_public('repairs.repaired_on', 'kept.publicity_end_date', as_of) }} as is_public
        from {{ this }} as kept
        left join ({{ credit_warehouse.penalty_repairs(as_of) }}) as repairs
            on repairs.penalty_record_id = kept.record_id
    ) as judged
    where judged.record_id = publicity.record_id
        and (publicity.as_of_date is distinct from judged.as_of_date
            or publicity.repaired_on is distinct from judged.repaired_on)
{%- endmacro %}

{#- The relation of a model of this project, by name, from the graph: lets a test read a model it has no
    ref to (a ref found only at run time would be an undeclared dependency). -#}
{% macro model_relation(name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error('no model named ' ~ name) }}
{%- endmacro %}

{#- Tests on an incremental build read only the rows the build's window rewrote, where the model says
    which rows those are (meta), because every other row was tested by the build that wrote it and has
    not changed since:
      window_tested: true     a function of one file's rows (the incremental staging models, replaced
                              per file, the int_record_versions view, their union, and
                              int_feed_row_quality): the window's loads, load_seq >= its first;
      window_key: record_id   replaced per record (int_credit_records): the window's records;
      window_key: subject_key replaced per subject (int_subjects, the subject marts):
                              the window's subjects (int_window_subjects);
      window_key: ledger_entry_id  replaced per entry (int_ledger_reconciliation): the entries
                              rewritten (ledger_window_entry_ids).
    A model whose kept rows a post-hook judges again in place (fct_penalty_publicity) has no
    window_key: those rows change, so its tests read every row. Only its dates, flags and statuses
    from a fixed vocabulary change in place, never delivered text, so a test of text alone (text_only:
    the PII scan) reads the rows the build wrote, named by `text_window_key`:
      text_window_key: subject_key       replaced per subject (per_subject_incremental).
    Empty outside a window (a full refresh, or dbt run by hand), so every row is read. -#}
{% macro test_window_predicate(relation) -%}
    {{ credit_warehouse.test_window(relation).get('predicate', '') }}
{%- endmacro %}

{#- The test window of a model (test_window_predicate) as a dict: `predicate`; for a window of keys
    also `column` and `keys`, a query of the window's keys in a column of that name. Empty when every
    row is read. `text_only`: for a test of text alone (the PII scan), `text_window_key` counts too. -#}
{% macro test_window(relation, text_only=false) -%}
    {%- if execute and credit_warehouse.window_set() -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model'
                and node.alias == relation.identifier and node.schema == relation.schema
                and node.config.materialized in ('incremental', 'view') -%}
            {%- set meta = node.config.meta -%}
            {%- set key = meta.get('window_key') or (meta.get('text_window_key') if text_only) -%}
            {%- if meta.get('window_tested') -%}
                {{ return({'predicate': credit_warehouse.staging_window_rows_literal('load_seq')}) }}
            {%- elif key == 'record_id' -%}
                {{ return(credit_warehouse.keyed_window('record_id', credit_warehouse.window_record_ids(
                    credit_warehouse.model_relation('int_record_versions')))) }}
            {%- elif key == 'subject_key' -%}
                {{ return(credit_warehouse.keyed_window('subject_key', 'select subject_key from '
                    ~ credit_warehouse.model_relation('int_window_subjects'))) }}
            {%- elif key == 'ledger_entry_id' -%}
                {{ return(credit_warehouse.keyed_window('ledger_entry_id', credit_warehouse.ledger_window_entry_ids())) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({}) }}
{%- endmacro %}

{% macro keyed_window(column, keys) -%}
    {{ return({'predicate': column ~ ' in (' ~ keys ~ ')', 'column': column, 'keys': keys}) }}
{%- endmacro %}

{#- `and` the test window's predicate of a model, or nothing: for tests of single rows (not null, an
    expression, a pattern), which a row keeps until a build rewrites it. -#}
{% macro and_test_window(relation) -%}
    {%- set window = credit_warehouse.test_window_predicate(relation) | trim -%}
    {{ 'and ' ~ window if window else '' }}
{%- endmacro %}

{#- `where` and the test window's predicate of a model, or nothing: for tests that read several models. -#}
{% macro test_window_where(relation) -%}
    {%- set window = credit_warehouse.test_window_predicate(relation) | trim -%}
    {{ 'where ' ~ window if window else '' }}
{%- endmacro %}

{#- Duplicates of a key that involve a row of the window (test_window_predicate): a duplicate between two
    rows outside it was already found by the build that wrote them. The keys of the window's rows are
    few, so the grouping, the costly part, runs on their rows alone; the scan of the key columns stays.
    Without a window, every key: a key of several columns is grouped by its 64-bit hash first, then
    only the keys whose hash occurs more than once are grouped by value (exact: equal keys have equal
    hashes). A year of the 1,000,000-subject city: (file_sha256, row_number) over 38M rows of
    int_feed_row_quality 12.8 -> 3.0 s, of int_record_versions 6.9-12.6 -> 1.8-2.5 s; a single
    column gained nothing (record_id: 2.6-3.2 s against 3.6), so it is grouped by value. -#}
{% macro keys_seen_more_than_once(model, columns, skip_nulls=false) -%}
    {%- set window = credit_warehouse.test_window_predicate(model) | trim -%}
    {%- set key_hash = credit_warehouse.key_hash(columns) | trim if columns | length > 1 and not window else '' -%}
    {%- set not_null = columns | join(' is not null and ') ~ ' is not null' -%}
    {%- if key_hash %}
    with colliding_hashes as (
        select {{ key_hash }} as key_hash
        from {{ model }}
        {%- if skip_nulls %}
        where {{ not_null }}
        {%- endif %}
        group by {{ key_hash }}
        having count(*) > 1
    )
    {%- endif %}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }} as keyed
    {%- if window %}
    where exists (
        select 1
        from {{ model }} as windowed
        where {{ window }}
        {%- for column in columns %}
            and windowed.{{ column }} is not distinct from keyed.{{ column }}
        {%- endfor %}
    )
    {%- elif key_hash %}
    where {{ key_hash }} in (select key_hash from colliding_hashes)
    {%- endif %}
    {%- if skip_nulls %}
    {{ 'and' if window or key_hash else 'where' }} {{ not_null }}
    {%- endif %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{%- endmacro %}

{#- Config of a model replaced per subject (int_subjects, int_subject_record_summary, fct_penalty_publicity,
    mart_subject_category_summary): a daily build recomputes the window's subjects. The model keeps
    `-- depends_on: {{ ref('int_window_subjects') }}` so dbt orders it after the window.
    Without row_key, the build deletes the window's subjects and appends them (append, not
    delete+insert: a subject left without records must go too): right where a subject's rows all
    change with a new record (one row per subject). With row_key (the columns naming a row), only the
    rows that differ from the kept ones are replaced (strategy changed_rows): a subject with 40
    categories or 900 penalties gets one new record in one of them. -#}
{% macro per_subject_incremental(window_tested=true, row_key=none, judged_in_place=[]) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='changed_rows' if row_key else 'append',
        pre_hook=[] if row_key else "{% if is_incremental() %}delete from {{ this }} where subject_key in ("
            ~ "select subject_key from {{ ref('int_window_subjects') }}){% endif %}",
        row_key=row_key,
        judged_in_place=judged_in_place,
        meta={'window_key': 'subject_key' if window_tested else none, 'text_window_key': 'subject_key'},
    ) }}
{%- endmacro %}

{#- Strategy changed_rows (per_subject_incremental with row_key): the keys of the rows that came, went or
    changed between the window's kept rows and the recomputed ones (set difference both ways, which
    compares NULLs as equal), then only those rows deleted and inserted. Columns judged_in_place (set
    again for every row by a post-hook) are left out of the comparison. Day 365 of the 1,000,000-subject
    city: the window's 61,365 subjects hold 852,154 penalties and 417,642 category rows; DuckDB's commit
    maintaining the subject_key index cost ~10 us a row replaced (13 s for the penalties alone). -#}
{% macro get_incremental_changed_rows_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set recomputed = arg_dict['temp_relation'] -%}
    {%- set row_key = config.get('row_key') -%}
    {%- set judged = config.get('judged_in_place') or [] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set compared = columns | reject('in', judged) | join(', ') -%}
    {%- set changed = target.identifier ~ '__dbt_changed' -%}
    create or replace temporary table {{ changed }} as
    with kept as (
        select {{ compared }} from {{ target }}
        where {{ credit_warehouse.in_window_subjects('subject_key') }}
    ),

    fresh as (
        select {{ compared }} from {{ recomputed }}
    )

    select {{ row_key | join(', ') }} from (select * from kept except select * from fresh) as went
    union
    select {{ row_key | join(', ') }} from (select * from fresh except select * from kept) as came;

    delete from {{ target }}
    using {{ changed }}
    where {{ credit_warehouse.columns_equal(changed, target.identifier, row_key) }};

    insert into {{ target }} ({{ get_quoted_csv(columns) }})
    select {% for column in columns %}fresh.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ recomputed }} as fresh
    inner join {{ changed }}
        on {{ credit_warehouse.columns_equal(changed, 'fresh', row_key) }};

    drop table {{ changed }}
{%- endmacro %}

{#- `left.c = right.c and ...` over the columns (a key of non-null columns). -#}
{% macro columns_equal(left, right, columns) -%}
    {%- for column in columns %}{{ left }}.{{ column }} = {{ right }}.{{ column }}
        {%- if not loop.last %} and {% endif %}{% endfor %}
{%- endmacro %}

{#- The rows of a model replaced per subject that a daily build recomputes: the window's subjects. -#}
{% macro in_window_subjects(column) -%}
    {{ column }} in (select subject_key from {{ ref('int_window_subjects') }})
{%- endmacro %}

{#- The category classes the subject credit file counts records of, one column each. -#}
{% macro credit_file_category_classes() -%}
    {{ return(['basic', 'admin', 'judicial', 'list', 'commitment', 'evaluation', 'special']) }}
{%- endmacro %}

{#- not_materialized() on a full build only. On a daily build the CTE holds the window's records or
    subjects: writing those out once is cheaper than filtering the whole table again at each
    reference. -#}
{% macro not_materialized_when_full() -%}
    {%- if not is_incremental() %}{{ credit_warehouse.not_materialized() }}{% endif -%}
{%- endmacro %}
