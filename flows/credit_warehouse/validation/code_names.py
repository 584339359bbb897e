"""The subject name each code was first delivered under (重码's reference), kept up to date in the work
warehouse instead of read again from the whole history for every batch.

``validation.code_names`` holds, per code, the earliest registration-layout name and the earliest name
any row carried it under (by load position, ``load_seq`` then row number), over the rows of every load
in ``validation.code_name_loads``. ``refresh_code_names`` folds in the loads landed since: an earliest
value over the union of two sets is the earlier of their earliest values, so the table equals the
aggregate over all of raw.feed_rows (``duplicate_code_rules``). Re-reading the 38M rows of the
1,000,000-subject year cost 19.6 s in each of the backfill's 13 batches and ~15 s of every daily load.

Raw is append-only and a file lands in one transaction, so a load seen here never gains rows later.
The table records the catalogue basis it was built on (the categories checked, the registration
layouts): a catalogue edit that changes them rebuilds it from the whole history.
"""

from __future__ import annotations

import duckdb
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.validation import expressions as sql
from credit_warehouse.validation.rules import (
    CODE_NAME_LOADS_TABLE,
    CODE_NAMES_TABLE,
    RAW_TABLE,
    SUBJECT_CODE_FIELD,
    SUBJECT_NAME_FIELD,
    named_code_categories,
    registration_categories,
)

POSITION_SQL = "load_seq * 100000000 + row_number"  # load order: rows of a file are < 10^8


def _basis(catalogue: Catalogue) -> str:
    return f"{','.join(named_code_categories(catalogue))}/{','.join(registration_categories(catalogue))}"


def _new_names_sql(catalogue: Catalogue, first_seq: int, last_seq: int) -> str:
    """Per code, the earliest (registration) name among the rows of the loads in ``new_loads``."""
    field, name = SUBJECT_CODE_FIELD, SUBJECT_NAME_FIELD
    registers = registration_categories(catalogue)
    is_register = sql.in_list("category_code", registers) if registers else "false"
    return f"""
        with named as (
            select {sql.clean_code_sql(field)} as code, {sql.normalize_name_sql(name)} as name,
                   {is_register} as is_register, {POSITION_SQL} as position
            from {RAW_TABLE}
            where load_seq between {first_seq} and {last_seq}
              and load_seq in (select load_seq from new_loads)
              and {sql.in_list('category_code', named_code_categories(catalogue))}
              and not {sql.blank_sql(field)} and not {sql.blank_sql(name)}
        )
        select code,
               min(position) filter (where is_register) as register_position,
               arg_min(name, position) filter (where is_register) as register_name,
               min(position) as first_position,
               arg_min(name, position) as first_name
        from named group by code"""


# arg_min skips the rows whose position is null (a code never registered), so merging an old row with
# a new one keeps each earliest name with its position.
MERGE_SQL = f"""
    create or replace temp table merged_names as
    with both_sides as (
        select * from new_names
        union all
        select * from {CODE_NAMES_TABLE} where code in (select code from new_names)
    )
    select code,
           min(register_position) as register_position,
           arg_min(register_name, register_position) as register_name,
           min(first_position) as first_position,
           arg_min(first_name, first_position) as first_name
    from both_sides group by code"""


def refresh_code_names(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> int:
    """Fold the loads not folded yet into ``validation.code_names``, in one transaction; returns how many
    loads were folded. Nothing to do when the catalogue checks 重码 in no category."""
    if not named_code_categories(catalogue):
        return 0
    basis = _basis(catalogue)
    con.execute("begin transaction")
    try:
        if con.execute(f"select 1 from {CODE_NAME_LOADS_TABLE} where basis <> ? limit 1", [basis]).fetchall():
            con.execute(f"delete from {CODE_NAMES_TABLE}")  # the catalogue changed what is checked
            con.execute(f"delete from {CODE_NAME_LOADS_TABLE}")
        con.execute(f"create or replace temp table new_loads as select distinct load_seq from {RAW_TABLE} "
                    f"where load_seq not in (select load_seq from {CODE_NAME_LOADS_TABLE})")
        first_seq, last_seq, loads = con.execute(
            "select min(load_seq), max(load_seq), count(*) from new_loads").fetchone() or (None, None, 0)
        if loads:
            con.execute(f"create or replace temp table new_names as {_new_names_sql(catalogue, first_seq, last_seq)}")
            con.execute(MERGE_SQL)
            con.execute(f"delete from {CODE_NAMES_TABLE} where code in (select code from merged_names)")
            con.execute(f"insert into {CODE_NAMES_TABLE} select * from merged_names")
            con.execute(f"insert into {CODE_NAME_LOADS_TABLE} select load_seq, ? from new_loads", [basis])
            con.execute("drop table new_names")
            con.execute("drop table merged_names")
        con.execute("drop table new_loads")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return int(loads)
