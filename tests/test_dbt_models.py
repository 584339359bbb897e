"""The dbt project on a small hand-made warehouse: raw rows written here (not by the pipeline), then
`dbt build` (seeds, models, tests) through dbtRunner, then the marts checked against values worked
out by hand from the fixture below.

Fixture (business dates Sep/Oct 2026; load_seq = file order):
  F1  market_regulation C01 09-10  registrations of ORG_A and ORG_C
  F2  market_regulation C02 09-10  licences of ORG_A, ORG_B (early pilot code: check-char warning), and
                                   of an individual business whose "USCC" is its owner's ID number
  F3  market_regulation C03 09-10  penalty P1 of ORG_A (fine 1.5); P2 blocked (missing decision date)
  F4  public_security   C03 09-29  penalty of a person (ID number; decided 09-17: 8 working days, late);
                                   a second person row blocked (ID with birth month 13)
  F5  court             C12 09-29  ORG_C as dishonest judgment debtor, under another name (重码)
  F6  fgw               C13 09-29  ORG_C on the serious dishonesty list, removed 09-30
  F7  market_regulation C03 10-12  P1 re-sent, corrected (fine 2.0)
  F8  market_regulation C14 10-12  ORG_A on the abnormal operation list (decided 09-28: 6 working
                                   days over the National Day holiday, not late)
  F9  water_supply      C24 10-12  ORG_F water bills 2026-04..09, arrears in 05, 06, 07, 09
  F10 power_supply      C25 10-12  ORG_F electricity bills 2026-08 (arrears), 09
  F11 ecology           C30 10-12  one name under two codes, ORG_D and ORG_E (重码)
  F12 market_regulation C02 10-13  a licence of ORG_A in a file NOT validated: must not appear
  F13 market_regulation C03 10-13  P2 re-sent with its decision date but a bad fine amount: the missing
                                   date failure closes, an invalid amount opens (still quarantined)
  F14 public_security   C03 10-13  the blocked person row re-sent unchanged: its failure is superseded
market_regulation never delivers C28, for which it is responsible.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.codes import mask_id_number, person_key, resident_id_problem, uscc_problem
from credit_warehouse.settings import DBT_PROJECT_DIR
from credit_warehouse.validation.rule_table import write_rule_table
from credit_warehouse.validation.rules import build_rules
from credit_warehouse.warehouse import MARTS_CATALOG, attach_marts_sql, ensure_schema

SECRET = "test-secret-for-dbt-models"
DEADLINE = 7

ORG_A = "91140213MA00000016"
ORG_B = "92140212L000000078"  # valid would end in 7: an early pilot code failing the check char
ORG_C = "91140213MA0000003C"
ORG_D = "91140213MA0000004F"
ORG_E = "91140213MA0000005J"
ORG_F = "91140213MA0000006M"
PERSON_ID = "140213198506151237"
BAD_PERSON_ID = "14021319851315123X"  # birth month 13: blocking resident_id_birth_date
OWNER_ID = "140212199001010429"  # an individual business delivered under its owner's ID as "USCC"
RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)

MARKET = "大同市市场监督管理局"
ORG_FIELDS = dict(
    subject_type="法人及非法人组织",
    legal_rep="王五",
    data_source_unit=MARKET,
    data_source_uscc="11140200RCMBP1GQ0D",
)


def _penalty(doc: str, decided: str, fine: str, **subject) -> dict:
    return dict(
        doc_number=doc,
        violation_type="违反市场监管规定",
        violation_facts="未按规定公示年度报告",
        legal_basis="《企业信息公示暂行条例》",
        penalty_category="罚款",
        content=f"罚款{fine}万元",
        fine_amount=fine,
        decision_date=decided,
        valid_to="2027-09-01",
        authority=MARKET,
        authority_uscc="11140200RCMBP1GQ0D",
        **{**ORG_FIELDS, **subject},
    )


def _bill(period: str, due: str, paid: str, paid_on: str) -> dict:
    arrears = f"{float(due) - float(paid):.2f}"
    return dict(
        subject_name="大同市己能源有限公司",
        uscc=ORG_F,
        billing_period=period,
        amount_due=due,
        amount_paid=paid,
        payment_date=paid_on,
        arrears=arrears,
        data_source_unit="供排水集团",
        data_source_uscc="91140200Y40ATNT02X",
    )


PERSON = dict(subject_name="张三", subject_type="自然人", uscc="", legal_rep="", id_type="身份证")

FILES = [  # (name, department, category, business date, rows)
    (
        "F1",
        "market_regulation",
        "C01",
        "2026-09-10",
        [
            dict(
                subject_name="大同市甲乙科技有限公司",
                uscc=ORG_A,
                reg_authority=MARKET,
                establish_date="2015/03/20",
                reg_capital="1,000.50",
                address="大同市平城区某路1号",
                reg_status="存续",
                **ORG_FIELDS,
            ),
            dict(
                subject_name="大同市丙公司",
                uscc=ORG_C,
                reg_authority=MARKET,
                establish_date="20180101",
                reg_capital="50",
                address="大同市平城区某路2号",
                reg_status="存续",
                **ORG_FIELDS,
            ),
        ],
    ),
    (
        "F2",
        "market_regulation",
        "C02",
        "2026-09-10",
        [
            dict(
                subject_name="大同市甲乙科技有限公司",
                uscc=ORG_A,
                doc_name="食品经营许可决定书",
                doc_number="同市监许〔2026〕1号",
                licence_category="普通",
                content="食品经营",
                decision_date="2026-09-08",
                valid_from="2026-09-08",
                valid_to="2031-09-07",
                authority=MARKET,
                authority_uscc="11140200RCMBP1GQ0D",
                current_status="有效",
                **ORG_FIELDS,
            ),
            dict(
                subject_name="大同市老字号商店",
                uscc=ORG_B,
                doc_name="食品经营许可决定书",
                doc_number="同市监许〔2026〕2号",
                licence_category="普通",
                content="食品经营",
                decision_date="2026/09/09",
                valid_from="2026/09/09",
                valid_to="2099/12/31",
                authority=MARKET,
                authority_uscc="11140200RCMBP1GQ0D",
                current_status="有效",
                **{**ORG_FIELDS, "subject_type": "个体工商户"},
            ),
            dict(
                subject_name="赵六餐馆",
                uscc=OWNER_ID,
                doc_name="食品经营许可决定书",
                doc_number="同市监许〔2026〕3号",
                licence_category="普通",
                content="餐饮服务",
                decision_date="2026-09-09",
                valid_from="2026-09-09",
                valid_to="2031-09-08",
                authority=MARKET,
                authority_uscc="11140200RCMBP1GQ0D",
                current_status="有效",
                **{**ORG_FIELDS, "subject_type": "个体工商户", "legal_rep": "赵六"},
            ),
        ],
    ),
    (
        "F3",
        "market_regulation",
        "C03",
        "2026-09-10",
        [
            _penalty(
                "同市监罚〔2026〕1号", "20260901", "1.5", subject_name="大同市甲乙科技有限公司", uscc=ORG_A
            ),
            _penalty("同市监罚〔2026〕2号", "", "3", subject_name="大同市甲乙科技有限公司", uscc=ORG_A),
        ],
    ),
    (
        "F4",
        "public_security",
        "C03",
        "2026-09-29",
        [
            {
                **_penalty(
                    "同公罚〔2026〕7号", "2026-09-17", "0.05", **PERSON, id_number=f" {PERSON_ID.lower()} "
                ),
                "content": f"当事人张三（身份证号{PERSON_ID}）罚款0.05万元",
                "authority": "大同市公安局",
            },
            {
                **_penalty("同公罚〔2026〕8号", "2026-09-18", "0.05", **PERSON, id_number=BAD_PERSON_ID),
                "subject_name": "李四",
            },
        ],
    ),
    (
        "F5",
        "court",
        "C12",
        "2026-09-29",
        [
            dict(
                subject_name="大同市丁公司",
                uscc=ORG_C,
                doc_number="（2026）晋02执100号",
                matter="合同纠纷",
                content="支付货款",
                amount="12.5",
                executee_flag="是",
                decision_date="2026-09-21",
                authority="大同市中级人民法院",
                **{k: v for k, v in ORG_FIELDS.items() if k != "subject_type"},
                subject_type="法人及非法人组织",
            ),
        ],
    ),
    (
        "F6",
        "fgw",
        "C13",
        "2026-09-29",
        [
            dict(
                subject_name="大同市丙公司",
                uscc=ORG_C,
                doc_number="同发改信〔2026〕3号",
                list_type="严重失信主体名单",
                content="拒不履行法定义务",
                decision_date="2026-09-01",
                end_date="2026-09-30",
                authority="市发展改革委",
                authority_uscc="111402004HCQKLWRPR",
                **ORG_FIELDS,
            ),
        ],
    ),
    (
        "F7",
        "market_regulation",
        "C03",
        "2026-10-12",
        [
            _penalty(
                "同市监罚〔2026〕1号", "2026-09-01", "2.0", subject_name="大同市甲乙科技有限公司", uscc=ORG_A
            ),
        ],
    ),
    (
        "F8",
        "market_regulation",
        "C14",
        "2026-10-12",
        [
            dict(
                subject_name="大同市甲乙科技有限公司",
                uscc=ORG_A,
                doc_number="同市监异〔2026〕5号",
                list_type="经营异常名录",
                content="未按规定公示年度报告",
                decision_date="2026-09-28",
                end_date="",
                authority=MARKET,
                authority_uscc="11140200RCMBP1GQ0D",
                **ORG_FIELDS,
            ),
        ],
    ),
    (
        "F9",
        "water_supply",
        "C24",
        "2026-10-12",
        [
            dict(account_no="W0001", **_bill("202604", "100.00", "100.00", "2026-05-05")),
            dict(account_no="W0001", **_bill("202605", "100.00", "0.00", "")),
            dict(account_no="W0001", **_bill("202606", "100.00", "0.00", "")),
            dict(account_no="W0001", **_bill("202607", "100.00", "40.00", "2026-08-03")),
            dict(account_no="W0001", **_bill("202608", "100.00", "100.00", "2026-09-02")),
            dict(account_no="W0001", **_bill("202609", "100.00", "0.00", "")),
        ],
    ),
    (
        "F10",
        "power_supply",
        "C25",
        "2026-10-12",
        [
            dict(account_no="E0009", **_bill("202608", "200.00", "50.00", "2026-09-10")),
            dict(account_no="E0009", **_bill("202609", "200.00", "200.00", "2026-10-08")),
        ],
    ),
    (
        "F11",
        "ecology",
        "C30",
        "2026-10-12",
        [
            dict(
                subject_name="大同市戊商贸有限公司（分公司）",
                uscc=ORG_D,
                doc_number="同环信〔2026〕1号",
                matter="环境信用评价",
                content="良好",
                decision_date="2026-10-09",
                authority="市生态环境局",
                authority_uscc="1114020009XLU6WU3P",
                **ORG_FIELDS,
            ),
            dict(
                subject_name="大同市戊商贸有限公司 (分公司)",
                uscc=ORG_E,
                doc_number="同环信〔2026〕2号",
                matter="环境信用评价",
                content="良好",
                decision_date="2026-10-09",
                authority="市生态环境局",
                authority_uscc="1114020009XLU6WU3P",
                **ORG_FIELDS,
            ),
        ],
    ),
    (
        "F12",
        "market_regulation",
        "C02",
        "2026-10-13",
        [
            dict(
                subject_name="大同市甲乙科技有限公司",
                uscc=ORG_A,
                doc_name="食品经营许可决定书",
                doc_number="同市监许〔2026〕9号",
                licence_category="普通",
                content="食品经营",
                decision_date="2026-10-12",
                valid_from="2026-10-12",
                valid_to="2031-10-11",
                authority=MARKET,
                authority_uscc="11140200RCMBP1GQ0D",
                current_status="有效",
                **ORG_FIELDS,
            ),
        ],
    ),
]
FILES += [
    (
        "F13",
        "market_regulation",
        "C03",
        "2026-10-13",
        [_penalty("同市监罚〔2026〕2号", "20260905", "三万", subject_name="大同市甲乙科技有限公司", uscc=ORG_A)],
    ),
    ("F14", "public_security", "C03", "2026-10-13", [FILES[3][4][1]]),
]
NOT_VALIDATED = {"F12"}
# (file, row, rule_id, severity, field, offending value, run ids)
ISSUES = [
    ("F2", 2, "uscc_check_char", "warning", "uscc", ORG_B, ["r1"]),
    ("F2", 3, "uscc_invalid_pair", "warning", "uscc", OWNER_ID, ["r1"]),
    ("F3", 2, "missing_required_field", "blocking", "decision_date", "", ["r1"]),
    ("F4", 1, "late_report", "warning", "decision_date", "2026-09-17", ["r1", "r2"]),  # validated twice
    ("F4", 2, "resident_id_birth_date", "blocking", "id_number", BAD_PERSON_ID, ["r1"]),
    ("F13", 1, "invalid_amount", "blocking", "fine_amount", "三万", ["r3"]),
    ("F14", 1, "resident_id_birth_date", "blocking", "id_number", BAD_PERSON_ID, ["r3"]),
]


def sha_of(name: str) -> str:
    return f"{int(name[1:]):02d}" * 32


def source_of(name: str) -> str:
    dept, cat, day = next((d, c, b) for n, d, c, b, _ in FILES if n == name)
    return f"{dept}/{cat}/{dept}_{cat}_{day.replace('-', '')}.csv"


def write_fixture(path: Path) -> None:
    catalogue = Catalogue.load()
    con = duckdb.connect(str(path))
    try:
        ensure_schema(con, catalogue)
        write_rule_table(con, build_rules(catalogue, DEADLINE), catalogue)
        for seq, (name, dept, cat, day, rows) in enumerate(FILES, start=1):
            sha, load_id = sha_of(name), f"L{day.replace('-', '')}-{sha_of(name)[:12]}"
            con.execute(
                "insert into raw.files values (?, ?, ?, ?, ?, ?, ?, 'csv', 'utf-8', 1, ?, null, now())",
                [sha, load_id, seq, source_of(name), dept, cat, day, len(rows)],
            )
            layout = catalogue.categories[cat].layout
            for number, values in enumerate(rows, start=1):
                assert set(values) <= set(catalogue.all_fields), set(values) - set(catalogue.all_fields)
                record = dict(
                    load_id=load_id,
                    load_seq=seq,
                    file_sha256=sha,
                    source_file=source_of(name),
                    row_number=number,
                    department_code=dept,
                    category_code=cat,
                    record_layout=layout,
                    business_date=day,
                    **values,
                )
                names = list(record)
                con.execute(
                    f"insert into raw.feed_rows ({', '.join(names)}) values ({', '.join('?' * len(names))})",
                    list(record.values()),
                )
            if name not in NOT_VALIDATED:
                con.execute("insert into validation.validated_files values (?, 'r1', now())", [sha])
        for name, row, rule, severity, field, value, runs in ISSUES:
            dept, cat = next((d, c) for n, d, c, _, _ in FILES if n == name)
            sha = sha_of(name)
            load_id = con.execute("select load_id from raw.files where file_sha256 = ?", [sha]).fetchone()[0]
            for run in runs:
                con.execute(
                    "insert into validation.row_issues values (?, ?, ?, ?, ?, 'rows', ?, ?, ?, ?, ?)",
                    [sha, load_id, row, dept, cat, rule, severity, field, value, run],
                )
    finally:
        con.close()


def run_dbt(db: Path, work: Path, *args: str) -> None:
    from dbt.cli.main import dbtRunner

    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    os.environ["CREDITWH_WORK_DB"] = str(db)
    os.environ["CREDITWH_MARTS_DB"] = str(db.with_name("marts.duckdb"))  # as Settings: beside work.duckdb
    result = dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--vars",
            json.dumps({"pii_secret": SECRET, "report_deadline_workdays": DEADLINE}),
            "--quiet",
        ]
    )
    failed = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in (getattr(result.result, "results", None) or [])
        if str(r.status).lower() in {"error", "fail", "runtimeerror"}
    ]
    if (
        not result.success or result.exception is not None or failed
    ):  # success=False may come with exception=None
        raise AssertionError(f"dbt {args[0]} failed: {failed or result.exception}")


def open_built(db: Path) -> duckdb.DuckDBPyConnection:
    """The work file dbt built, with its marts file attached as on the pipeline's connections."""
    con = duckdb.connect(str(db))  # dbt-duckdb keeps its in-process handle: same configuration
    for statement in attach_marts_sql(db.with_name("marts.duckdb"), read_only=False):
        con.execute(statement)
    return con


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    work = tmp_path_factory.mktemp("dbt_models")
    db = work / "work.duckdb"
    write_fixture(db)
    started = time.perf_counter()
    run_dbt(db, work, "build")  # seeds, models and every data test
    seconds = time.perf_counter() - started
    print(f"\ndbt build (seeds + models + tests) on the fixture: {seconds:.1f} s")
    con = open_built(db)
    yield con
    con.close()


def rows(con, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def one(con, sql: str, params: list | None = None) -> dict:
    found = rows(con, sql, params)
    assert len(found) == 1, found
    return found[0]


def test_fixture_codes_are_what_the_cases_need():
    assert uscc_problem(ORG_B) == "uscc_check_char"
    assert all(uscc_problem(c) is None for c in (ORG_A, ORG_C, ORG_D, ORG_E, ORG_F))
    assert uscc_problem(OWNER_ID) == "uscc_invalid_pair" and resident_id_problem(OWNER_ID) is None
    assert (
        resident_id_problem(PERSON_ID) is None
        and resident_id_problem(BAD_PERSON_ID) == "resident_id_birth_date"
    )


def test_corrected_resend_replaces_the_old_version(warehouse):
    record = one(
        warehouse,
        "select * from marts.fct_credit_record where department_code = 'market_regulation' "
        "and category_code = 'C03' and record_key = ?",
        ["同市监罚〔2026〕1号"],
    )
    assert record["amount_10k_yuan"] == pytest.approx(2.0)
    assert record["summary"] == "罚款2.0万元"
    assert record["version_count"] == 2
    assert record["latest_source_file"] == source_of("F7")
    assert record["latest_load_id"].startswith("L20261012-")
    assert record["first_report_date"] == dt.date(2026, 9, 10)
    assert record["report_date"] == dt.date(2026, 10, 12)
    assert record["event_date"] == dt.date(2026, 9, 1)
    # both versions stay in staging (every delivery), only one record downstream
    assert (
        warehouse.execute(
            "select count(*) from staging.stg_penalties where record_key = ?", ["同市监罚〔2026〕1号"]
        ).fetchone()[0]
        == 2
    )


def test_blocking_rows_are_quarantined_but_visible_to_stewards(warehouse):
    for table in ("staging.stg_penalties", "marts.fct_credit_record"):
        assert (
            warehouse.execute(
                f"select count(*) from {table} where record_key in (?, ?)",
                ["同市监罚〔2026〕2号", "同公罚〔2026〕8号"],
            ).fetchone()[0]
            == 0
        ), table
    issue = one(warehouse, "select * from staging.stg_row_issues where rule_id = 'missing_required_field'")
    assert issue["severity"] == "blocking" and issue["is_quarantining"] and issue["row_number"] == 2
    assert issue["source_file"] == source_of("F3")
    # the blocked person row: its ID number is masked even here
    issue = one(warehouse, "select * from staging.stg_row_issues where rule_id = 'resident_id_birth_date' "
                "and load_id like 'L20260929%'")
    assert issue["offending_value"] == mask_id_number(BAD_PERSON_ID) == "140*************3X"
    # an issue recorded by two validation runs is one issue
    issue = one(warehouse, "select * from staging.stg_row_issues where rule_id = 'late_report'")
    assert issue["run_count"] == 2 and issue["latest_run_id"] == "r2"


def test_rows_of_unvalidated_files_do_not_enter_staging(warehouse):
    assert (
        warehouse.execute(
            "select count(*) from staging.stg_licences where file_sha256 = ?", [sha_of("F12")]
        ).fetchone()[0]
        == 0
    )
    assert (
        warehouse.execute(
            "select count(*) from marts.fct_credit_record where record_key = ?", ["同市监许〔2026〕9号"]
        ).fetchone()[0]
        == 0
    )


def test_every_validated_row_is_staged_once_or_quarantined(warehouse):
    from credit_warehouse.run_summary import staged_row_counts

    staged = staged_row_counts(warehouse)
    blocked = {(n, r) for n, r, _, severity, *_ in ISSUES if severity == "blocking"}
    for name, _, _, _, file_rows in FILES:
        expected = 0 if name in NOT_VALIDATED else len(file_rows) - sum(1 for n, _ in blocked if n == name)
        assert staged.get(sha_of(name), 0) == expected, name


def test_check_char_warning_is_kept_and_flagged(warehouse):
    record = one(warehouse, "select * from marts.fct_credit_record where uscc = ?", [ORG_B])
    assert record["warning_rule_ids"] == "uscc_check_char" and record["has_warnings"]
    subject = one(warehouse, "select * from marts.dim_subject where subject_key = ?", [ORG_B])
    assert subject["code_status"] == "check_char" and subject["has_code_conflict"]
    assert subject["subject_kind"] == "个体工商户" and subject["region_code"] == "140212"
    assert subject["region_name"] == "新荣区"
    issue = one(warehouse, "select * from marts.mart_code_quality_issues where uscc = ?", [ORG_B])
    assert issue["conflict_kind"] == "check_char" and issue["record_count"] == 1
    assert issue["departments"] == "market_regulation"


def test_duplicate_codes_are_reported(warehouse):
    conflicts = {
        (r["uscc"], r["conflict_kind"]): r
        for r in rows(warehouse, "select * from marts.mart_code_quality_issues")
    }
    assert set(conflicts) == {
        (ORG_B, "check_char"),
        (ORG_C, "one_code_many_names"),
        (ORG_D, "one_name_many_codes"),
        (ORG_E, "one_name_many_codes"),
    }
    one_code = conflicts[(ORG_C, "one_code_many_names")]
    assert one_code["subject_names"] == "大同市丁公司 | 大同市丙公司" and one_code["name_count"] == 2
    assert one_code["resolved_subject_name"] == "大同市丙公司"  # the registration name wins
    assert one_code["record_count"] == 3 and one_code["departments"] == "court,fgw,market_regulation"
    assert conflicts[(ORG_D, "one_name_many_codes")]["related_codes"] == ORG_E
    assert conflicts[(ORG_E, "one_name_many_codes")]["related_codes"] == ORG_D
    subject = one(warehouse, "select * from marts.dim_subject where subject_key = ?", [ORG_C])
    assert subject["name_source"] == "registration" and subject["conflict_kinds"] == "one_code_many_names"
    assert subject["code_status"] == "valid"


def test_person_is_keyed_by_hash_and_masked(warehouse):
    key = "P" + person_key(PERSON_ID, SECRET)
    subject = one(
        warehouse,
        "select * from marts.dim_subject where subject_key = ?",
        ["P" + person_key(PERSON_ID, SECRET)],
    )
    assert subject["subject_key"] == key and subject["uscc"] is None
    assert subject["id_number_masked"] == mask_id_number(PERSON_ID) == "140*************37"
    assert subject["subject_kind"] == "自然人" and subject["code_status"] == "valid"
    assert subject["region_code"] == "140213" and subject["region_name"] == "平城区"
    record = one(warehouse, "select * from marts.fct_credit_record where subject_key = ?", [key])
    assert "身份证号140*************37" in record["summary"]
    # decided Thu 09-17, reported Tue 09-29: 09-18, Sun 09-20 (调休 workday), 09-21..24, 09-28, 09-29
    assert record["report_lag_workdays"] == 8 and record["is_late"]
    assert record["warning_rule_ids"] == "late_report"
    file = one(warehouse, "select * from marts.mart_subject_credit_file where subject_key = ?", [key])
    assert file["penalty_count"] == 1 and file["latest_penalty_doc_number"] == "同公罚〔2026〕7号"
    assert file["late_reported_records"] == 1


def test_resident_id_delivered_as_uscc_is_hashed_like_an_id(warehouse):
    staged = one(
        warehouse, "select * from staging.stg_licences where record_key = ?", ["同市监许〔2026〕3号"]
    )
    assert staged["uscc"] is None and staged["uscc_is_resident_id"]
    key = "P" + person_key(OWNER_ID, SECRET)
    assert staged["person_key"] == key[1:] and staged["id_number_masked"] == "140*************29"
    subject = one(warehouse, "select * from marts.dim_subject where subject_key = ?", [key])
    assert subject["is_person"] and subject["subject_kind"] == "个体工商户" and subject["uscc"] is None
    assert subject["subject_name"] == "赵六餐馆" and subject["region_name"] == "新荣区"
    issue = one(warehouse, "select * from staging.stg_row_issues where rule_id = 'uscc_invalid_pair'")
    assert issue["offending_value"] == "140*************29"
    assert not rows(
        warehouse, "select * from marts.mart_code_quality_issues where uscc is null or uscc = ?", [OWNER_ID]
    )


def test_lateness_counts_working_days_over_holidays(warehouse):
    # decided Mon 09-28, reported Mon 10-12: 09-29, 09-30, 10-08, 10-09, Sat 10-10 (调休), 10-12 = 6
    record = one(warehouse, "select * from marts.fct_credit_record where category_code = 'C14'")
    assert record["report_lag_workdays"] == 6 and not record["is_late"]
    assert (
        one(
            warehouse,
            "select * from marts.fct_credit_record where record_layout = 'payment' "
            "and record_key = 'W0001|202604'",
        )["report_lag_workdays"]
        is None
    )


def test_arrears_streak_and_payment_behaviour(warehouse):
    file = one(warehouse, "select * from marts.mart_subject_credit_file where subject_key = ?", [ORG_F])
    assert file["bills_count"] == 8
    assert file["months_billed"] == 6  # 2026-04 .. 2026-09
    assert file["months_in_arrears"] == 5  # water 05, 06, 07, 09; electricity 08
    assert file["max_consecutive_arrears_months"] == 3  # water 05-07 (per account, not 05-09 across accounts)
    assert float(file["outstanding_arrears"]) == pytest.approx(100 + 100 + 60 + 100 + 150)
    assert float(file["on_time_payment_rate"]) == pytest.approx(3 / 8)
    assert file["special_records"] == 8 and file["total_records"] == 8
    bill = one(warehouse, "select * from marts.fct_credit_record where record_key = 'W0001|202607'")
    assert bill["event_date"] == dt.date(2026, 7, 1) and bill["is_in_arrears"]
    assert float(bill["arrears_yuan"]) == pytest.approx(60)


def test_subject_credit_file_flags_and_counts(warehouse):
    a = one(warehouse, "select * from marts.mart_subject_credit_file where subject_key = ?", [ORG_A])
    assert (a["total_records"], a["categories_with_records"]) == (
        4,
        4,
    )  # C01, C02, C03, C14 (F12 not validated)
    assert (a["basic_records"], a["admin_records"], a["list_records"]) == (1, 2, 1)
    assert a["penalty_count"] == 1 and a["latest_penalty_doc_number"] == "同市监罚〔2026〕1号"
    assert a["latest_penalty_date"] == dt.date(2026, 9, 1)
    assert a["licence_count"] == 1
    assert a["on_abnormal_operation_list"] and not a["on_serious_dishonesty_list"]
    assert a["subject_name"] == "大同市甲乙科技有限公司" and a["subject_kind"] == "企业"
    assert a["code_status"] == "valid" and not a["has_code_conflict"]
    c = one(warehouse, "select * from marts.mart_subject_credit_file where subject_key = ?", [ORG_C])
    assert c["is_dishonest_executee"]
    assert not c["on_serious_dishonesty_list"]  # removed 2026-09-30, before the latest report (10-12)
    subject = one(warehouse, "select * from marts.dim_subject where subject_key = ?", [ORG_A])
    assert subject["establish_date"] == dt.date(2015, 3, 20) and subject["reg_status"] == "存续"
    assert subject["reg_authority"] == MARKET and subject["legal_rep"] == "王五"
    assert float(subject["reg_capital_10k_yuan"]) == pytest.approx(1000.5)
    summary = one(
        warehouse,
        "select * from marts.mart_subject_category_summary where subject_key = ? and category_code = 'C03'",
        [ORG_A],
    )
    assert summary["record_count"] == 1 and summary["latest_summary"] == "罚款2.0万元"


def test_coverage_shows_the_missing_category(warehouse):
    coverage = {
        (r["month_start"], r["category_code"]): r
        for r in rows(
            warehouse,
            "select * from marts.mart_catalogue_coverage where department_code = 'market_regulation'",
        )
    }
    september, october = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
    responsible = {"C01", "C02", "C03", "C04", "C11", "C14", "C16", "C17", "C28"}
    assert set(coverage) == {(m, c) for m in (september, october) for c in responsible}
    for month in (september, october):
        missing = coverage[(month, "C28")]
        assert missing["is_responsible"] and not missing["is_covered"] and missing["record_count"] == 0
    assert coverage[(september, "C01")]["record_count"] == 2
    assert coverage[(september, "C03")]["record_count"] == 1  # P2 blocked
    assert coverage[(october, "C03")]["record_count"] == 1  # the correction is a delivery of October
    assert not coverage[(october, "C02")]["is_covered"]  # only an unvalidated file in October
    assert coverage[(october, "C14")]["is_covered"]
    overall = {
        r["month_start"]: r for r in rows(warehouse, "select * from marts.mart_catalogue_coverage_overall")
    }
    assert set(overall) == {september, october}
    assert overall[september]["categories_in_catalogue"] == 33
    assert overall[september]["categories_covered"] == 5  # C01 C02 C03 C12 C13
    assert overall[october]["categories_covered"] == 5  # C03 C14 C24 C25 C30
    assert float(overall[october]["coverage_rate"]) == pytest.approx(round(5 / 33, 4))
    assert "C28" in overall[october]["missing_categories"].split(",")
    assert len(overall[october]["missing_categories"].split(",")) == 28
    assert (
        overall[september]["special_categories_covered"],
        overall[october]["special_categories_covered"],
    ) == (0, 3)
    assert overall[october]["special_categories_in_catalogue"] == 13


def test_no_unmasked_id_number_in_marts(warehouse):
    secrets = {PERSON_ID, BAD_PERSON_ID, OWNER_ID}
    tables = [
        r[0]
        for r in warehouse.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    ]
    # every model of the marts folder was built (and is scanned below)
    assert sorted(tables) == sorted(p.stem for p in (DBT_PROJECT_DIR / "models" / "marts").glob("*.sql"))
    for table in tables:
        for row in warehouse.execute(f"select * from marts.{table}").fetchall():
            text = " ".join("" if v is None else str(v) for v in row).upper()
            assert not any(s in text for s in secrets), table
            assert not RESIDENT_ID.search(text), (table, RESIDENT_ID.search(text).group(0))


def test_no_raw_id_number_column_in_staging(warehouse):
    columns = {
        r[0]
        for r in warehouse.execute(
            "select distinct column_name from information_schema.columns where table_schema in "
            "('staging', 'intermediate', 'marts')"
        ).fetchall()
    }
    assert "id_number" not in columns
    for schema in ("staging", "intermediate"):
        for catalog, table in warehouse.execute(
            "select table_catalog, table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall():
            for row in warehouse.execute(f"select * from {catalog}.{schema}.{table}").fetchall():
                text = " ".join("" if v is None else str(v) for v in row).upper()
                assert not {PERSON_ID, BAD_PERSON_ID, OWNER_ID} & set(text.split()), (schema, table)
                assert PERSON_ID not in text and BAD_PERSON_ID not in text and OWNER_ID not in text, (
                    schema,
                    table,
                )


def dbt_show(tmp_path: Path, sql: str, limit: int) -> tuple[list[str], list[tuple]]:
    """Column names and rows of an inline query compiled with the project's macros (`dbt show`)."""
    db = tmp_path / "macros.duckdb"
    duckdb.connect(str(db)).close()
    os.environ["CREDITWH_WORK_DB"] = str(db)
    os.environ["CREDITWH_MARTS_DB"] = str(db.with_name("marts.duckdb"))
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            "show",
            "--inline",
            sql,
            "--limit",
            str(limit),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--vars",
            json.dumps({"pii_secret": SECRET}),
            "--quiet",
        ]
    )
    assert result.success, result.exception
    table = result.result.results[0].agate_table
    return list(table.column_names), [tuple(row) for row in table.rows]


def show_macros(tmp_path: Path, values: list[str], macros: dict[str, str]) -> dict[str, dict]:
    """{value: {column: result}} of project macros applied to each value (`x`), through `dbt show`."""
    calls = ", ".join(f"{{{{ credit_warehouse.{call} }}}} as {name}" for name, call in macros.items())
    listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    columns, rows = dbt_show(tmp_path, f"select x, {calls} from unnest([{listed}]) as t(x)", len(values) + 1)
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


def test_recency_key_picks_the_row_the_window_ranks_first(tmp_path):
    """value_of_max over recency_key (int_subjects' best name) picks, in every group, the row that
    row_number() over (order by the parts descending, nulls last) ranks first: flags, dates (null, both
    ends of the range) and sequences up to 2^40 - 1, the last part unique as load_seq/row_number are."""
    rng = random.Random(11)
    dates = ["null", "date '0001-01-01'", "date '9999-12-31'", "date '2025-01-05'", "date '2025-01-06'"]
    sequences = [0, 1, 2**40 - 1, rng.randrange(2**40)]
    rows = ", ".join(
        f"({rng.randrange(40)}, {i}, {rng.choice(['true', 'false'])}, cast({rng.choice(dates)} as date), "
        f"cast({rng.choice(sequences)} as bigint))" for i in range(600))
    parts = "[('flag', 'flag'), ('d', 'date'), ('s', 'seq'), ('i', 'seq')]"
    sql = f"""
        with rows_in(g, i, flag, d, s) as (values {rows}),
        by_key as (
            select g, {{{{ credit_warehouse.value_of_max('i', credit_warehouse.recency_key({parts})) }}}} as i
            from rows_in group by g
        ),
        by_window as (
            select g, i from (
                select g, i, row_number() over (
                    partition by g order by flag desc, d desc nulls last, s desc, i desc) as rank_in_group
                from rows_in) as ranked
            where rank_in_group = 1
        )
        select by_window.g, by_window.i as expected, by_key.i as got
        from by_window left join by_key on by_key.g = by_window.g"""
    _, picked = dbt_show(tmp_path, sql, 100)
    assert len(picked) == 40
    assert [(g, expected) for g, expected, _ in picked] == [(g, got) for g, _, got in picked]


def test_sql_identifier_macros_agree_with_python(tmp_path):
    """person_key, mask, USCC and resident ID checks in SQL = credit_warehouse.codes, on tricky values."""
    from credit_warehouse.codes import make_resident_id, make_uscc

    values = [
        PERSON_ID,
        " 11010519491231002x ",
        BAD_PERSON_ID,
        "110105194912310021",
        "12345",
        "A1",
        ORG_A,
        ORG_B,
        "14350100M000100Y43",
        "N1140213MA0000001X",
        "Y1140213MA00000017",
        make_uscc("A", "1", "140213", "000000001"),
        make_uscc("N", "2", "140213", "00000000Y"),
        make_resident_id("140212", dt.date(2000, 2, 29), 5),
        "9114O213MA0000001X",
    ]
    shown = show_macros(tmp_path, values, {
        "pk": "person_key('x')", "masked": "mask_id_number(credit_warehouse.clean_code('x'))",
        "uscc": "uscc_status(credit_warehouse.clean_code('x'))",
        "rid": "resident_id_status(credit_warehouse.clean_code('x'))"})
    assert set(shown) == set(values)
    for value in values:
        clean = value.strip().upper()
        got = shown[value]
        assert got["pk"] == person_key(value, SECRET), value
        assert got["masked"] == mask_id_number(clean), value
        assert got["uscc"] == (uscc_problem(clean) or "uscc_valid").removeprefix("uscc_"), value
        assert got["rid"] == (resident_id_problem(clean) or "resident_id_valid").removeprefix(
            "resident_id_"
        ), value



def test_nfkc_and_parse_date_macros_give_what_translate_and_every_format_give(tmp_path):
    """nfkc skips translate for values it would not change and uses two replaces for Chinese prose
    whose only full-width forms are the comma and colon; parse_date tries the one format the
    separator names. Both must give what translate over every form (and nfkc_sql, its validation
    twin), and the validation twin of parse_date, give: for plain values, prose, codes and dates in
    every width. normalize_period (record keys) must key a period as validation's twin does, whatever
    its width."""
    from credit_warehouse.codes import ASCII_FORMS, FULLWIDTH_FORMS
    from credit_warehouse.validation.expressions import nfkc_sql, normalize_period_sql, parse_date_sql

    values = ["plain ASCII 123", "没收违法所得人民币2100元，罚款人民币23500元。", "地址：大同市；电话？",
              "９１１４０２１３ＭＡ００００００１６", "ａｂｃ－／．，：　xyz", "２０２５年１月５日",
              "２０２５-０１-０５",
              "2025-01-05", "2025/1/5", "2025.01.05 08:00", "20250230", "2025年02月03日", "，only comma",
              "（括号）、顿号", "　2025-01-05　", "", "12/31/2025", "2025-13-01",
              "2025-03", "2025/03", "202503", " 2025-03 ",
              "２０２５－０３", "２０２５／０３", "２０２５０３", "　202503"]
    shown = show_macros(tmp_path, values, {"nfkc": "nfkc('x')", "parsed": "parse_date('x')",
                                           "period": "normalize_period('x')"})
    table = str.maketrans(FULLWIDTH_FORMS, ASCII_FORMS)
    twin = duckdb.connect()
    for value in values:
        assert shown[value]["nfkc"] == value.translate(table), value
        mapped, parsed, period = twin.execute(
            f"select {nfkc_sql('v')}, {parse_date_sql('v')}, {normalize_period_sql('v')} from (select ? as v)",
            [value]).fetchone()
        assert mapped == value.translate(table), value
        assert shown[value]["parsed"] == parsed, value
        assert shown[value]["period"] == period, value
    assert sum(v["parsed"] is not None for v in shown.values()) == 7
    assert {shown[v]["period"] for v in values[-8:]} == {"202503"}


def test_mask_ids_in_text_masks_as_nfkc_then_the_id_pattern_would(tmp_path):
    """mask_ids_in_text takes shortcuts (plain text as it is, prose with only a full-width comma or colon
    by two replaces): every value must come out as NFKC over every form, then the ID pattern replaced
    twice (two IDs one character apart), gives."""
    from credit_warehouse.codes import ASCII_FORMS, FULLWIDTH_FORMS

    values = ["没收违法所得人民币2100元，罚款人民币23500元。", "当事人张三，身份证号140212200002290051，住址：大同市",
              "身份证号：１４０２１２２００００２２９００５１", "两人140212200002290051、14021219990101001X",
              "140212200002290051,140212199901010012", "plain text 123", "地址：大同市；电话？",
              "编号12345678901234567890，已核实", "ａｂｃ，１２３", "，", "：140212200002290051",
              "合同号HT140212200002290051：有效", "（括号）、顿号", "李四，证件14021219990101001x。"]
    shown = show_macros(tmp_path, values, {"masked": "mask_ids_in_text('x')"})
    pattern = re.compile(r"(^|[^0-9A-Za-z])([1-9][0-9]{2})[0-9]{3}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])"
                         r"(?:0[1-9]|[12][0-9]|3[01])[0-9]{2}([0-9][0-9Xx])([^0-9A-Za-z]|$)")
    table = str.maketrans(FULLWIDTH_FORMS, ASCII_FORMS)
    for value in values:
        expected = value.translate(table)
        for _ in range(2):
            expected = pattern.sub(r"\1\2*************\3\4", expected)
        assert shown[value]["masked"] == expected, value
    assert sum("*" in v["masked"] for v in shown.values()) == 6


# -- validation failures for stewards --------------------------------------------------------------
def failure(con, name: str, row: int, rule: str) -> dict:
    return one(con, "select * from marts.mart_validation_failures where source_file = ? and row_number = ? "
                    "and rule_id = ?", [source_of(name), row, rule])


def test_failures_lifecycle_follows_the_record_versions(warehouse):
    closed = failure(warehouse, "F3", 2, "missing_required_field")  # P2 re-sent with its date (F13)
    assert (closed["status"], closed["closed_on"], closed["closed_by_source_file"], closed["closed_by_row_number"]) \
        == ("closed", dt.date(2026, 10, 13), source_of("F13"), 1)
    assert closed["record_key"] == "同市监罚〔2026〕2号" and closed["feed_code"] == "market_regulation.C03"
    assert closed["field_header_zh"] == "处罚决定日期" and "「处罚决定日期」" in closed["reason_zh"]
    reopened = failure(warehouse, "F13", 1, "invalid_amount")  # the re-send broke another rule
    assert reopened["status"] == "open" and reopened["is_blocking"] and reopened["closed_on"] is None
    superseded = failure(warehouse, "F4", 2, "resident_id_birth_date")  # re-sent unchanged (F14)
    carried = failure(warehouse, "F14", 1, "resident_id_birth_date")
    assert (superseded["status"], superseded["ended_on"], superseded["closed_on"]) == (
        "superseded", dt.date(2026, 10, 13), None)
    assert (carried["status"], carried["opened_on"], carried["failing_since"]) == (
        "open", dt.date(2026, 10, 13), dt.date(2026, 9, 29))
    assert carried["offending_value"] == mask_id_number(BAD_PERSON_ID)
    warning = failure(warehouse, "F2", 2, "uscc_check_char")
    assert warning["status"] == "open" and not warning["is_blocking"] and "校验码" in warning["reason_zh"]


def test_open_failures_per_day_count_each_record_once(warehouse):
    daily = {(r["report_date"], r["department_code"]): r for r in rows(
        warehouse, "select * from marts.mart_validation_failures_daily")}
    security = [daily[(dt.date(2026, 10, d), "public_security")] for d in (12, 13)]
    # the person row: late_report (warning) and the bad ID, which stays one open failure after its re-send
    assert [(r["open_blocking"], r["open_warning"]) for r in security] == [(1, 1), (1, 1)]
    market = [daily[(dt.date(2026, 10, d), "market_regulation")] for d in (12, 13)]
    assert [(r["open_blocking"], r["new_failures"], r["closed_failures"]) for r in market] == [(1, 0, 0), (1, 1, 1)]
    first = min(day for day, _ in daily)
    assert first == dt.date(2026, 9, 10) and max(day for day, _ in daily) == dt.date(2026, 10, 13)


def test_compliance_rate_counts_quarantined_rows_as_not_loaded(warehouse):
    september = one(warehouse, "select * from marts.mart_department_compliance where department_code = "
                               "'market_regulation' and month_start = '2026-09-01'")
    assert (september["rows_submitted"], september["rows_quarantined"], september["rows_flagged"]) == (7, 1, 2)
    assert september["compliance_rate"] == pytest.approx(6 / 7, abs=1e-6)


def copy_built(warehouse, directory: Path) -> Path:
    """A copy of the fixture's work file (returned) and of its marts file beside it, to break on purpose."""
    warehouse.execute("checkpoint")
    warehouse.execute(f"checkpoint {MARTS_CATALOG}")
    copied = directory / "work.duckdb"
    for name, path in warehouse.execute("select database_name, path from duckdb_databases() where "
                                        f"database_name in (current_database(), '{MARTS_CATALOG}')").fetchall():
        shutil.copy(path, copied if name != MARTS_CATALOG else copied.with_name("marts.duckdb"))
    return copied


def assert_dbt_test_fails(db: Path, work: Path, message: str, select: str) -> None:
    """`dbt test --select select` on a broken copy fails with ``message`` (a regex)."""
    from credit_warehouse.transform import _release_duckdb

    _release_duckdb()  # dbt-duckdb's handle of the fixture's file
    try:
        with pytest.raises(AssertionError, match=message):
            run_dbt(db, work, "test", "--select", select)
    finally:
        _release_duckdb()


def test_pii_guard_reports_an_id_number_in_any_text_column_and_nothing_else(warehouse, tmp_path):
    """The no_unmasked_id_numbers data test matches once over a row's text columns joined by spaces:
    an ID number filling a column or inside text is still caught, a longer digit run is not."""
    leaked = copy_built(warehouse, tmp_path)
    with duckdb.connect(str(leaked.with_name("marts.duckdb"))) as con:
        picked = con.execute("select record_id from intermediate.int_credit_records "
                             "order by all limit 3").fetchall()
        assert len(picked) == 3
        for (record,), column, value in zip(picked, ("summary", "matter", "summary"),
                                            (PERSON_ID, f"身份证{PERSON_ID}。", PERSON_ID + "7"), strict=True):
            con.execute(f"update intermediate.int_credit_records set {column} = ? where record_id = ?",
                        [value, record])
    assert_dbt_test_fails(leaked, tmp_path, r"no_unmasked_id_numbers_int_credit_records.*Got 2 results",
                          "int_credit_records,test_name:no_unmasked_id_numbers")


def test_record_key_test_finds_a_staged_key_that_differs_and_a_staged_quarantined_row(warehouse, tmp_path):
    """record_keys_match_staging joins the rows of a full build only in files whose per-file counts
    and key hashes differ: a staged row keyed differently, and a staged row marked quarantined, each
    in its own file, are still both reported."""
    broken = copy_built(warehouse, tmp_path)
    with duckdb.connect(str(broken)) as con:
        picked = con.execute("select file_sha256, row_number from staging.stg_penalties "
                             "order by all limit 1").fetchone()
        con.execute("update staging.stg_penalties set record_key = record_key || 'x' "
                    "where file_sha256 = ? and row_number = ?", list(picked))
        other = con.execute("select file_sha256, row_number from staging.stg_licences "
                            "where file_sha256 <> ? order by all limit 1", [picked[0]]).fetchone()
        assert other is not None
        con.execute("update intermediate.int_feed_row_quality set is_accepted = false "
                    "where file_sha256 = ? and row_number = ?", list(other))
    assert_dbt_test_fails(broken, tmp_path, r"record_keys_match_staging.*Got 2 results", "record_keys_match_staging")
