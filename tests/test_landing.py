"""Inbox recognition and raw landing: append-only, hashed, nothing dropped, re-runs are no-ops."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.inbox import discover, inbox_path
from credit_warehouse.landing import land_file, land_files
from credit_warehouse.warehouse import connect, ensure_schema

CATALOGUE = Catalogue.load()
DAY = dt.date(2026, 10, 9)


def write_penalties(path, rows: int, extra_header: str | None = None) -> None:
    headers = [f.header_zh for f in CATALOGUE.fields_of("C03")]
    aliases = {"行政处罚决定书文号": "决定书文号"}  # a department using a standard alias
    headers = [aliases.get(h, h) for h in headers] + ([extra_header] if extra_header else [])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for i in range(rows):
        writer.writerow([f"公司{i}", "法人及非法人组织"] + [f"v{i}"] * (len(headers) - 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("gb18030"))


def land_all(tmp_path, run_id: str):
    with connect(tmp_path / "work.duckdb") as con:
        ensure_schema(con, CATALOGUE)
        results = [land_file(con, f, CATALOGUE, run_id) for f in discover(tmp_path / "inbox", CATALOGUE)]
        rows = con.execute("select source_file, row_number, doc_number, extra_fields, load_id "
                           "from raw.feed_rows order by 1, 2").fetchall()
    return results, rows


def test_landing_keeps_every_row_and_unknown_columns(tmp_path):
    inbox = tmp_path / "inbox"
    write_penalties(inbox_path(inbox, "tax", "C03", DAY, "csv"), 3, extra_header="内部编号")
    results, rows = land_all(tmp_path, "r1")
    assert [r.outcome for r in results] == ["landed"]
    assert results[0].rows_in == 3 and len(rows) == 3
    assert [r[1] for r in rows] == [1, 2, 3]
    assert rows[0][2] == "v0"  # the alias header mapped to doc_number
    assert json.loads(rows[0][3]) == {"内部编号": "v0"}
    assert rows[0][4] == results[0].load_id and results[0].load_id.startswith("L20261009-")


def _write_csv(path, headers: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([headers, *rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def test_files_with_and_without_extra_columns_share_one_insert(tmp_path):
    """Files with unknown columns are buffered with the others (one INSERT for the group): each row's
    extra_fields is still the JSON object of its own file's extra columns, in header order, and a ragged
    row keeps its overflow alongside them; rows of files without extra columns keep none."""
    inbox, headers = tmp_path / "inbox", [f.header_zh for f in CATALOGUE.fields_of("C03")]
    plain = [[f"公司{i}", "法人及非法人组织"] + [f"p{i}"] * (len(headers) - 2) for i in range(2)]
    _write_csv(inbox_path(inbox, "tax", "C03", DAY, "csv"), headers, plain)
    extra = [[f"公司{i}", "法人及非法人组织"] + [f"e{i}"] * (len(headers) - 2) + [f"内{i}", f'经"{i}']
             for i in range(3)]
    extra[2].append("多出的值")  # a ragged row: one cell more than the header
    _write_csv(inbox_path(inbox, "market_regulation", "C03", DAY, "csv"), headers + ["内部编号", "经办人"], extra)
    _write_csv(inbox_path(inbox, "transport", "C03", DAY, "csv"), headers, plain[::-1])  # other bytes
    with connect(tmp_path / "work.duckdb") as con:
        ensure_schema(con, CATALOGUE)
        results = land_files(con, discover(inbox, CATALOGUE), CATALOGUE, "r1")
        rows = con.execute("select department_code, row_number, extra_fields, row_issue from raw.feed_rows "
                           "order by load_seq, row_number").fetchall()
    assert [r.outcome for r in results] == ["landed"] * 3
    by_file = {(department, number): (fields, issue) for department, number, fields, issue in rows}
    assert by_file[("market_regulation", 1)] == ('{"内部编号":"内0","经办人":"经\\"0"}', None)
    assert json.loads(by_file[("market_regulation", 2)][0]) == {"内部编号": "内1", "经办人": '经"1'}
    ragged_fields, ragged_issue = by_file[("market_regulation", 3)]
    assert ragged_issue == "ragged_row"
    assert json.loads(ragged_fields) == {"内部编号": "内2", "经办人": '经"2', "_overflow": ["多出的值"]}
    assert {fields for (department, _), (fields, _) in by_file.items() if department != "market_regulation"} == {None}
    assert len(rows) == 7


def test_rerun_and_duplicate_delivery_land_nothing_new(tmp_path):
    inbox = tmp_path / "inbox"
    original = inbox_path(inbox, "tax", "C03", DAY, "csv")
    write_penalties(original, 2)
    land_all(tmp_path, "r1")
    copy = inbox_path(inbox, "tax", "C03", DAY, "csv", tag="resend")
    copy.write_bytes(original.read_bytes())
    results, rows = land_all(tmp_path, "r2")
    assert sorted(r.outcome for r in results) == ["already_loaded", "duplicate_delivery"]
    assert len(rows) == 2


def test_unrecognised_deliveries_are_reported_not_ignored(tmp_path):
    inbox = tmp_path / "inbox"
    write_penalties(inbox / "tax" / "penalties.csv", 1)  # not the inbox naming contract
    write_penalties(inbox_path(inbox, "nobody", "C03", DAY, "csv"), 1)
    write_penalties(inbox_path(inbox, "tax", "C02", DAY, "csv"), 1)  # tax has no C02 feed
    results, rows = land_all(tmp_path, "r1")
    assert sorted(r.reason_code for r in results) == ["unknown_department", "unrecognised_file_name",
                                                      "unregistered_feed"]
    assert {r.outcome for r in results} == {"rejected"} and rows == []


def _csv_needing_a_second_read(path) -> int:
    """50,000 ordinary rows, then one row longer than a CSV block: the fast reader gives up there,
    after its first batches went into the open transaction, and the file is read again."""
    from credit_warehouse.readers.common import BLOCK_BYTES

    headers = [f.header_zh for f in CATALOGUE.fields_of("C03")]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for i in range(50_000):
        writer.writerow([f"公司{i}", "法人及非法人组织"] + [f"v{i}"] * (len(headers) - 2))
    writer.writerow(["公司X", "法人及非法人组织", "x" * (2 * BLOCK_BYTES)] + [""] * (len(headers) - 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return 50_001


def test_files_land_in_committed_groups_and_a_failed_read_leaves_no_rows_behind(tmp_path):
    from credit_warehouse.landing import Lander

    inbox = tmp_path / "inbox"
    first = inbox_path(inbox, "tax", "C03", DAY, "csv")
    write_penalties(first, 3)
    copy = inbox_path(inbox, "tax", "C03", DAY, "csv", tag="resend")  # same group as its original
    copy.write_bytes(first.read_bytes())
    long_rows = _csv_needing_a_second_read(inbox_path(inbox, "market_regulation", "C03", DAY, "csv"))
    (inbox / "tax" / "penalties.csv").write_text("not in the naming contract")
    write_penalties(inbox_path(inbox, "tax", "C03", DAY + dt.timedelta(days=1), "csv"), 2)
    files = discover(inbox, CATALOGUE)
    with connect(tmp_path / "work.duckdb") as con:
        ensure_schema(con, CATALOGUE)
        with Lander(con, CATALOGUE, "r1", group_files=3) as lander:
            results = [lander.land(f) for f in files]
        landed = dict(con.execute("select source_file, count(*) from raw.feed_rows group by 1").fetchall())
        sequences = [r[0] for r in con.execute("select load_seq from raw.files order by load_seq").fetchall()]
        deliveries = con.execute("select count(*) from raw.deliveries").fetchone()[0]
    assert sorted(r.outcome for r in results) == ["duplicate_delivery", "landed", "landed", "landed", "rejected"]
    # The fast read's first 50,000 rows had reached the open transaction: they were taken out again.
    assert {r.source_file: r.rows_in for r in results if r.outcome == "landed"} == landed
    assert long_rows in landed.values()
    assert sequences == [1, 2, 3] and deliveries == len(files)
