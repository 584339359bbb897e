"""A run's per-file summary as ``ops.feed_summary`` keeps it (what the review page and analysts read)."""

from __future__ import annotations

import datetime as dt
import json

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.run_summary import FeedResult, RunSummary, record_summary
from credit_warehouse.warehouse import connect, ensure_schema


def test_every_file_of_a_run_is_recorded_once_with_every_field(tmp_path):
    feeds = [FeedResult(f"tax/C06_2025{n:04d}.csv", f"{n:064x}", "landed", f"2025-03-{1 + n % 28:02d}", "tax", "C06",
                        500 + n, 490 + n, 10, n % 3, {"C06.amount": 3, "已补全": 1} if n % 2 else {})
             for n in range(3_000)]
    feeds.append(FeedResult("unknown/x.pdf", None, "rejected", None, None, None, None, 0, 0, 0, {"pdf_document": 1}))
    summary = RunSummary("backfill-1", "backfill", "2025-03-01", "2025-03-28", feeds=feeds,
                         stage_seconds={"land": 1.5, "validate": 2.0}, stage_peak_rss={"land": 1 << 30})
    with connect(tmp_path / "work.duckdb") as con:
        ensure_schema(con, Catalogue.load())
        record_summary(con, summary)
        record_summary(con, summary)  # a re-recorded run replaces its rows
        stored = con.execute("select * exclude (run_id) from ops.feed_summary where run_id = 'backfill-1' "
                             "order by source_file").fetchall()
        stages = con.execute("select stage, seconds from ops.run_stages order by position").fetchall()
    expected = [(dt.date.fromisoformat(f.business_date) if f.business_date else None, f.department_code,
                 f.category_code, f.source_file, f.file_sha256, f.outcome, f.rows_in, f.rows_loaded,
                 f.rows_quarantined, f.rows_flagged, json.dumps(f.reasons, ensure_ascii=False))
                for f in feeds]
    assert stored == sorted(expected, key=lambda row: row[3])
    assert stages == [("land", 1.5), ("validate", 2.0)]
