{#- Incremental staging. Staging rows are a function of one validated file's raw rows, its row issues
    and the seeds; a daily load adds files and never changes a validated one. So staging models only
    parse the files validated since the last successful build and replace those files' rows
    (delete+insert on file_sha256: a build retried after a crash redoes the same files, no duplicate).
    The pipeline (transform.staging_window) sets the window and asks for a full refresh whenever the
    project, the seeds, the vars or a previously built file's validation changed.
    CREDITWH_STAGE_VALIDATED_AFTER: files validated strictly after this timestamp;
    CREDITWH_STAGE_FROM_LOAD_SEQ: the smallest load_seq of those files, a literal so DuckDB's zone maps
    skip the row groups of older loads without reading them. Both unset: every file (still correct). -#}

{% macro staging_window_active() -%}
    {{ return(is_incremental() and env_var('CREDITWH_STAGE_VALIDATED_AFTER', '') != '') }}
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

{#- The records that got a version in this build's window (a superset: see staging_window_rows). -#}
{% macro window_record_ids() -%}
    select distinct record_id
    from {{ ref('int_record_versions') }}
    where {{ credit_warehouse.staging_window_rows('load_seq') }}
{%- endmacro %}

{#- The subjects those records belong to now or belonged to in any earlier version: a corrected
    re-send can move a record to another subject, and the subject it left must be recomputed too. -#}
{% macro window_subject_keys() -%}
    select distinct subject_key
    from {{ ref('int_record_versions') }}
    where record_id in ({{ credit_warehouse.window_record_ids() }})
{%- endmacro %}

{#- Row-by-row tests (no_unmasked_id_numbers) on an incremental build read only the rows of the build's
    window in models whose rows are a function of one file's rows (meta window_tested: the incremental
    staging models, replaced per file, and the int_record_versions view, their union): every other row
    was tested by the build that wrote it and has not changed since. Empty outside a window (a full
    refresh, or dbt run by hand), so every row is read. -#}
{% macro test_window_predicate(relation) -%}
    {%- if execute and env_var('CREDITWH_STAGE_VALIDATED_AFTER', '') != '' -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model'
                and node.alias == relation.identifier and node.schema == relation.schema
                and node.config.materialized in ('incremental', 'view') and node.config.meta.get('window_tested') -%}
            {{ credit_warehouse.staging_window_rows_literal('load_seq') }}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
