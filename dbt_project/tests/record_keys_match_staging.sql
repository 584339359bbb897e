-- stg_feed_row_keys keys every row as the layout staging models key the accepted ones: a row that
-- reached staging has the same record key in both and is not marked quarantined. Fails per row.
-- On an incremental build both sides read only the window's loads (every model here is replaced per
-- file: test_window_where): a row and its staged twin come from the same file, so they are in the
-- window together, and older rows were checked when built.
select
    row_keys.file_sha256,
    row_keys.row_number,
    row_keys.record_key,
    versions.record_key as staged_record_key,
    row_keys.is_quarantined
from (
    select * from {{ ref('stg_feed_row_keys') }}
    {{ credit_warehouse.test_window_where(ref('stg_feed_row_keys')) }}
) as row_keys
inner join (
    -- credit records, and the operational feeds that never become credit records
    select file_sha256, row_number, record_key from {{ ref('int_record_versions') }}
    {{ credit_warehouse.test_window_where(ref('int_record_versions')) }}
    union all
    select file_sha256, row_number, record_key from {{ ref('stg_ledger_entries') }}
    {{ credit_warehouse.test_window_where(ref('stg_ledger_entries')) }}
    union all
    select file_sha256, row_number, record_key from {{ ref('stg_objections') }}
    {{ credit_warehouse.test_window_where(ref('stg_objections')) }}
    union all
    select file_sha256, row_number, record_key from {{ ref('stg_credit_repairs') }}
    {{ credit_warehouse.test_window_where(ref('stg_credit_repairs')) }}
) as versions
    on versions.file_sha256 = row_keys.file_sha256
    and versions.row_number = row_keys.row_number
where row_keys.record_key is distinct from versions.record_key
    or row_keys.is_quarantined
