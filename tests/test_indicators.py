"""The indicator marts (README "Indicators") on a small hand-made warehouse: raw rows written here, one
real `dbt build` (seeds, models, every data test), then each indicator compared with the value worked
out by hand in the test, arithmetic in the comments.

Working days used below (2026, Chinese statutory calendar: Sun 09-20 and Sat 10-10 are 调休 workdays,
09-25..27 Mid-Autumn and 10-01..07 National Day are holidays), numbered W1 = 09-01:
  09-10 W8   09-17 W13  09-20 W15  09-21 W16  09-23 W18  09-24 W19  09-28 W20  09-29 W21  09-30 W22
  10-08 W23  10-09 W24  10-10 W25  10-12 W26  10-13 W27  10-14 W28  10-15 W29  10-16 W30  10-19 W31
Working days from a to b = W(b) - W(a). The as-of date is 10-16, the latest validated business date
(F31 of 10-19 is landed but not validated). Report deadline 7, objections 5, repairs 3 working days.

Files (department, category, business date):
  F01 market_regulation C01 09-10  registration of B1 (check character wrong: 错码)
  F02 tax               C03 09-10  penalties T1..T5 of E3 (publicity: until / rules / expiry)
  F03 market_regulation C02 09-23  licence L1 (decided 09-21)
  F04 approval          C16 09-23  commitments of E1 审批替代型, E2 容缺受理型, G1 证明事项型
  F05 approval          C16 09-29  commitments of S1 信用修复型, person P1 行业自律型
  F06 fgw               C17 09-29  fulfilment of E1
  F07 power_supply      C25 09-29  electricity bill of E1 (52号文 category shared in September)
  F08 market_regulation C03 09-30  penalty L2 (decided 09-17: 9 working days, late)
  F09 market_regulation X02 09-29  objection O1 closed; O2 received, still open
  F10 market_regulation X03 09-29  repair R2 received, still open
  F11 market_regulation X02 09-30  objection O3 received, still open
  F12 court             C12 10-09  10 失信被执行人 entries of W4 (+1 not), 10 of person W3
  F13 market_regulation X03 10-09  repair R2 closed (re-send), R5 received
  F14 market_regulation C03 10-12  penalty L3 (decided 09-28: 6 working days over National Day)
  F15 market_regulation C02 10-12  licence L5: quarantined (blocking issue)
  F16 civil_affairs     C01 10-12  registrations of D1 and D2, one name under two codes (重码)
  F17 approval          C16 10-12  commitment of U1 主动型; a second row quarantined
  F18 fgw               C17 10-12  fulfilments of E2 and G1
  F19 fgw               C13 10-12  serious dishonesty list: U1 (09-15), E2 (09-02, removed 10-09),
                                   the housing department itself (10-09)
  F20 market_regulation X02 10-12  objection O2 closed (re-send)
  F21 market_regulation X03 10-12  repair R1 closed; R3 received
  F22 market_regulation C02 10-13  licence L7 (decided 10-09)
  F23 market_regulation X03 10-13  repair R4 received
  F24 market_regulation X02 10-14  objection O3 closed (re-send)
  F25 market_regulation C11 10-14  inspection of E1; a second row quarantined
  F26 market_regulation X02 10-15  objections O4 and O5 received, open
  F27 emergency         C03 10-16  11 penalties of W1, 10 of W2 (屡罚不改 window)
  F28 market_regulation X03 10-16  repair R3 closed
  F29 market_regulation X01 10-16  the ledger (台账): L1..L7
  F30 tax               C03 10-19  a penalty in a file NOT validated: must change nothing
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.codes import make_resident_id, make_uscc
from credit_warehouse.settings import SEEDS_DIR
from credit_warehouse.validation.rule_table import write_rule_table
from credit_warehouse.validation.rules import build_rules
from credit_warehouse.warehouse import ensure_schema
from test_dbt_models import one, open_built, rows, run_dbt

SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
MR = "market_regulation"


def _bad_check_char(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


E1 = make_uscc("9", "1", "140213", "MA0000101")
E2 = make_uscc("9", "1", "140213", "MA0000102")
E3 = make_uscc("9", "1", "140213", "MA0000103")
W1 = make_uscc("9", "1", "140213", "MA0000104")
W2 = make_uscc("9", "1", "140213", "MA0000105")
B1 = _bad_check_char(make_uscc("9", "1", "140213", "MA0000106"))
G1 = make_uscc("9", "2", "140212", "MA0000107")
W4 = make_uscc("9", "2", "140212", "MA0000108")
S1 = make_uscc("5", "1", "140212", "500000109")
D1 = make_uscc("5", "2", "140212", "520000110")
D2 = make_uscc("5", "2", "140212", "520000111")
U1 = make_uscc("1", "2", "140214", "400000112")
P1_ID = make_resident_id("140213", dt.date(1980, 5, 6), 12)
W3_ID = make_resident_id("140212", dt.date(1975, 3, 4), 21)
with (SEEDS_DIR / "departments.csv").open(encoding="utf-8") as _handle:
    DEPARTMENT_USCC = {r["department_code"]: r["department_uscc"] for r in csv.DictReader(_handle)}
HOUSING = DEPARTMENT_USCC["housing"]

NAMES = {E1: "大同市甲一科技有限公司", E2: "大同市甲二商贸有限公司", E3: "大同市甲三实业有限公司",
         W1: "大同市屡罚一有限公司", W2: "大同市屡罚二有限公司", B1: "大同市错码商贸有限公司",
         G1: "王记小吃店", W4: "李记五金店", S1: "大同市某某协会", U1: "大同市某某中心",
         D1: "大同市某某研究院", D2: "大同市某某研究院", HOUSING: "市住房和城乡建设局"}
ORG_TYPE = {G1: "个体工商户", W4: "个体工商户"}


def org(code: str) -> dict:
    return dict(subject_name=NAMES[code], subject_type=ORG_TYPE.get(code, "法人及非法人组织"), uscc=code,
                legal_rep="张三")


def person(name: str, number: str) -> dict:
    return dict(subject_name=name, subject_type="自然人", id_type="身份证", id_number=number)


def licence(doc: str, decided: str, code: str) -> dict:
    return dict(doc_name="许可决定书", doc_number=doc, licence_category="普通", content="食品经营",
                decision_date=decided, valid_from=decided, valid_to="2031-01-01", current_status="有效",
                authority="大同市市场监督管理局", **org(code))


def penalty(doc: str, decided: str, code: str, category: str = "罚款", until: str = "") -> dict:
    return dict(doc_number=doc, violation_type="违法行为", violation_facts="事实", legal_basis="依据",
                penalty_category=category, content=f"{category}处罚", fine_amount="1", decision_date=decided,
                valid_to="2099-12-31", publicity_until=until, authority="处罚机关", **org(code))


def ledger(kind: str, doc: str, decided: str, code: str) -> dict:
    return dict(decision_kind=kind, doc_number=doc, decision_date=decided, authority="大同市市场监督管理局",
                **org(code))


def objection(number: str, received: str, closed: str = "", result: str = "", ref: tuple = ("行政许可", "")) -> dict:
    return dict(doc_number=number, ref_category=ref[0], ref_doc_number=ref[1], received_date=received,
                closed_date=closed, objection_result=result, **org(E1))


def repair(number: str, penalty_doc: str, received: str, closed: str = "", result: str = "") -> dict:
    return dict(doc_number=number, ref_doc_number=penalty_doc, received_date=received, closed_date=closed,
                repair_result=result, **org(E1))


def commitment(doc: str, kind: str, decided: str, subject: dict) -> dict:
    return dict(doc_number=doc, commitment_type=kind, matter="承诺事项", decision_date=decided, **subject)


def fulfilment(doc: str, ref: str, decided: str, code: str) -> dict:
    return dict(doc_number=doc, commitment_ref=ref, fulfilment_status="已践诺", decision_date=decided, **org(code))


def judgment(doc: str, decided: str, flag: str, subject: dict) -> dict:
    return dict(doc_number=doc, matter="合同纠纷", content="支付货款", executee_flag=flag, decision_date=decided,
                authority="大同市中级人民法院", **subject)


def list_entry(doc: str, decided: str, end: str, code: str) -> dict:
    return dict(doc_number=doc, list_type="严重失信主体名单", content="拒不履行", decision_date=decided, end_date=end,
                authority="市发展改革委", **org(code))


L1, L2, L3, L4 = "同市监许〔2026〕101号", "同市监罚〔2026〕201号", "同市监罚〔2026〕202号", "同市监罚〔2026〕203号"
L5, L6, L7 = "同市监许〔2026〕102号", "同市监罚〔2026〕204号", "同市监许〔2026〕103号"
W1_DATES = ["2023-10-16", "2023-10-17", "2024-01-15", "2024-04-15", "2024-07-15", "2024-10-15", "2025-01-15",
            "2025-04-15", "2025-07-15", "2025-10-15", "2026-09-01"]  # the first is on the window's edge: out
W2_DATES = ["2023-10-16", "2024-02-01", "2024-05-06", "2024-08-01", "2024-11-01", "2025-02-03", "2025-05-06",
            "2025-08-01", "2025-11-03", "2026-02-02"]
EXECUTEE_DATES = [f"2025-{m:02d}-10" for m in range(1, 11)]

FILES = [  # (name, department, category, business date, rows)
    ("F01", MR, "C01", "2026-09-10", [dict(reg_authority="市场监管局", establish_date="2020-01-01", address="平城区",
                                           reg_status="存续", **org(B1))]),
    ("F02", "tax", "C03", "2026-09-10", [
        penalty("同税罚〔2025〕1号", "2025-06-10", E3, until="2025-12-10"),
        penalty("同税罚〔2026〕2号", "2026-09-01", E3, category="吊销许可证件;罚款"),
        penalty("同税罚〔2026〕3号", "2026-08-03", E3, until="2028-08-03"),
        penalty("同税罚〔2026〕4号", "2026-07-01", E3, category="警告"),
        penalty("同税罚〔2026〕5号", "2026-09-02", E3, until="2031-01-01")]),
    ("F03", MR, "C02", "2026-09-23", [licence(L1, "2026-09-21", E1)]),
    ("F04", "approval", "C16", "2026-09-23", [
        commitment("同审批诺〔2026〕1号", "审批替代型", "2026-09-22", org(E1)),
        commitment("同审批诺〔2026〕2号", "容缺受理型", "2026-09-22", org(E2)),
        commitment("同审批诺〔2026〕3号", "证明事项型", "2026-09-22", org(G1))]),
    ("F05", "approval", "C16", "2026-09-29", [
        commitment("同审批诺〔2026〕4号", "信用修复型", "2026-09-28", org(S1)),
        commitment("同审批诺〔2026〕5号", "行业自律型", "2026-09-28", person("赵六", P1_ID))]),
    ("F06", "fgw", "C17", "2026-09-29", [fulfilment("同发改践诺〔2026〕1号", "同审批诺〔2026〕1号", "2026-09-28", E1)]),
    ("F07", "power_supply", "C25", "2026-09-29", [dict(
        subject_name=NAMES[E1], uscc=E1, account_no="E0001", billing_period="202608", amount_due="100",
        amount_paid="100", payment_date="2026-09-05", arrears="0")]),
    ("F08", MR, "C03", "2026-09-30", [penalty(L2, "2026-09-17", E1)]),
    ("F09", MR, "X02", "2026-09-29", [
        objection("YY-1", "2026-09-24", "2026-09-29", "异议成立", ("行政许可", L1)),
        objection("YY-2", "2026-09-29", ref=("行政处罚", L2))]),
    ("F10", MR, "X03", "2026-09-29", [repair("XF-2", L3, "2026-09-29")]),
    ("F11", MR, "X02", "2026-09-30", [objection("YY-3", "2026-09-30", ref=("行政处罚", L3))]),
    ("F12", "court", "C12", "2026-10-09", [
        *[judgment(f"（2025）晋02执{i}号", d, "是", org(W4)) for i, d in enumerate(EXECUTEE_DATES, start=1)],
        judgment("（2025）晋02执99号", "2025-11-10", "否", org(W4)),
        *[judgment(f"（2025）晋02执{100 + i}号", d, "是", person("钱七", W3_ID))
          for i, d in enumerate(EXECUTEE_DATES, start=1)]]),
    ("F13", MR, "X03", "2026-10-09", [repair("XF-2", L3, "2026-09-29", "2026-10-09", "不予修复"),
                                      repair("XF-5", L2, "2026-10-09")]),
    ("F14", MR, "C03", "2026-10-12", [penalty(L3, "2026-09-28", E2, category="警告")]),
    ("F15", MR, "C02", "2026-10-12", [{**licence(L5, "2026-09-30", E2), "content": ""}]),
    ("F16", "civil_affairs", "C01", "2026-10-12", [
        dict(reg_authority="民政局", establish_date="2019-05-05", address="新荣区", reg_status="存续", **org(D1)),
        dict(reg_authority="民政局", establish_date="2019-05-05", address="新荣区", reg_status="存续", **org(D2))]),
    ("F17", "approval", "C16", "2026-10-12", [
        commitment("同审批诺〔2026〕6号", "主动型", "2026-10-09", org(U1)),
        commitment("同审批诺〔2026〕7号", "", "2026-10-09", org(E1))]),
    ("F18", "fgw", "C17", "2026-10-12", [fulfilment("同发改践诺〔2026〕2号", "同审批诺〔2026〕2号", "2026-10-09", E2),
                                         fulfilment("同发改践诺〔2026〕3号", "同审批诺〔2026〕3号", "2026-10-09", G1)]),
    ("F19", "fgw", "C13", "2026-10-12", [list_entry("同发改信〔2026〕1号", "2026-09-15", "", U1),
                                         list_entry("同发改信〔2026〕2号", "2026-09-02", "2026-10-09", E2),
                                         list_entry("同发改信〔2026〕3号", "2026-10-09", "", HOUSING)]),
    ("F20", MR, "X02", "2026-10-12", [objection("YY-2", "2026-09-29", "2026-10-12", "异议不成立", ("行政处罚", L2))]),
    ("F21", MR, "X03", "2026-10-12", [repair("XF-1", L2, "2026-10-08", "2026-10-10", "准予修复"),
                                      repair("XF-3", L3, "2026-10-12")]),
    ("F22", MR, "C02", "2026-10-13", [licence(L7, "2026-10-09", E1)]),
    ("F23", MR, "X03", "2026-10-13", [repair("XF-4", L3, "2026-10-13")]),
    ("F24", MR, "X02", "2026-10-14", [objection("YY-3", "2026-09-30", "2026-10-14", "异议成立", ("行政处罚", L3))]),
    ("F25", MR, "C11", "2026-10-14", [
        dict(doc_number="同市监查〔2026〕1号", matter="双随机检查", content="未发现问题", decision_date="2026-10-13",
             authority="大同市市场监督管理局", **org(E1)),
        dict(doc_number="同市监查〔2026〕2号", matter="双随机检查", content="", decision_date="2026-10-13",
             authority="大同市市场监督管理局", **org(E2))]),
    ("F26", MR, "X02", "2026-10-15", [objection("YY-4", "2026-10-08", ref=("行政处罚", L3)),
                                      objection("YY-5", "2026-10-15", ref=("行政许可", L7))]),
    ("F27", "emergency", "C03", "2026-10-16", [
        *[penalty(f"同应急罚〔W1〕{i}号", d, W1) for i, d in enumerate(W1_DATES, start=1)],
        *[penalty(f"同应急罚〔W2〕{i}号", d, W2) for i, d in enumerate(W2_DATES, start=1)]]),
    ("F28", MR, "X03", "2026-10-16", [repair("XF-3", L3, "2026-10-12", "2026-10-16", "准予修复")]),
    ("F29", MR, "X01", "2026-10-16", [
        ledger("行政许可", L1, "2026-09-21", E1), ledger("行政处罚", L2, "2026-09-17", E1),
        ledger("行政处罚", L3, "2026-09-28", E2), ledger("行政处罚", L4, "2026-09-24", E2),
        ledger("行政许可", L5, "2026-09-30", E2), ledger("行政处罚", L6, "2026-10-14", E1),
        ledger("行政许可", L7, "2026-10-09", E1)]),
    ("F30", "tax", "C03", "2026-10-19", [penalty("同税罚〔2026〕9号", "2026-10-16", E3)]),
]
NOT_VALIDATED = {"F30"}
BLOCKED = [("F15", 1, "content"), ("F17", 2, "commitment_type"), ("F25", 2, "content")]  # (file, row, field)


def sha_of(name: str) -> str:
    return f"{int(name[1:]) + 50:02d}" * 32


def write_fixture(path: Path) -> None:
    catalogue = Catalogue.load()
    con = duckdb.connect(str(path))
    try:
        ensure_schema(con, catalogue)
        for seq, (name, dept, cat, day, file_rows) in enumerate(FILES, start=1):
            sha, load_id = sha_of(name), f"L{day.replace('-', '')}-{sha_of(name)[:12]}"
            source = f"{dept}/{cat}_{day.replace('-', '')}_{name}.csv"
            con.execute("insert into raw.files values (?, ?, ?, ?, ?, ?, ?, 'csv', 'utf-8', 1, ?, null, now())",
                        [sha, load_id, seq, source, dept, cat, day, len(file_rows)])
            for number, values in enumerate(file_rows, start=1):
                assert set(values) <= set(catalogue.all_fields), set(values) - set(catalogue.all_fields)
                record = dict(load_id=load_id, load_seq=seq, file_sha256=sha, source_file=source, row_number=number,
                              department_code=dept, category_code=cat, record_layout=catalogue.categories[cat].layout,
                              business_date=day, **values)
                con.execute(f"insert into raw.feed_rows ({', '.join(record)}) values ({', '.join('?' * len(record))})",
                            list(record.values()))
            if name not in NOT_VALIDATED:
                con.execute("insert into validation.validated_files values (?, 'r1', now())", [sha])
        write_rule_table(con, build_rules(catalogue, 7), catalogue)  # reasons the failures mart joins
        for name, row, field in BLOCKED:
            dept, cat = next((d, c) for n, d, c, _, _ in FILES if n == name)
            con.execute("insert into validation.row_issues values (?, ?, ?, ?, ?, 'record_completeness', "
                        "'missing_required_field', 'blocking', ?, '', 'r1')",
                        [sha_of(name), "L", row, dept, cat, field])
    finally:
        con.close()


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    work = tmp_path_factory.mktemp("indicators")
    db = work / "work.duckdb"
    write_fixture(db)
    started = time.perf_counter()
    run_dbt(db, work, "build")
    print(f"\ndbt build on the indicator fixture: {time.perf_counter() - started:.1f} s")
    con = open_built(db)
    yield con
    con.close()


def by(con, sql: str, *keys: str, params: list | None = None) -> dict:
    found = rows(con, sql, params)
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in found}


def dec(value: float | str, places: int = 6) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))


# -- 双公示 上报率 / 合规率 / 及时率 ----------------------------------------------------------------------
def test_ledger_decisions_are_reconciled(wh):
    ledger_rows = by(wh, "select * from marts.fct_ledger_decision", "doc_number")
    assert set(ledger_rows) == {L1, L2, L3, L4, L5, L6, L7}
    # reported: a licence / penalty row with the same 文书号 arrived (L5's row was quarantined: still reported)
    assert {d for d, r in ledger_rows.items() if r["is_reported"]} == {L1, L2, L3, L5, L7}
    assert not ledger_rows[L5]["is_accepted"] and ledger_rows[L2]["is_accepted"]
    # L4 decided Thu 09-24 (W19): due W19 + 7 = W26 = 10-12 (over National Day and Sat 10-10), as-of 10-16: 瞒报
    assert ledger_rows[L4]["report_due_date"] == dt.date(2026, 10, 12) and ledger_rows[L4]["is_concealed"]
    # L6 decided 10-14 (W28): due W35 = 10-23, after the as-of date: not yet concealed
    assert ledger_rows[L6]["report_due_date"] == dt.date(2026, 10, 23) and not ledger_rows[L6]["is_concealed"]
    # L3 decided Mon 09-28 (W20), first reported 10-12 (W26): 26 - 20 = 6 working days across National Day
    assert ledger_rows[L3]["report_lag_workdays"] == 6
    assert ledger_rows[L2]["report_lag_workdays"] == 22 - 13  # 09-17 -> 09-30 = 9
    assert ledger_rows[L1]["decision_category_code"] == "C02" and ledger_rows[L2]["decision_category_code"] == "C03"


def test_double_publicity_rates(wh):
    rates = by(wh, "select * from marts.mart_double_publicity_rates", "month_start", "department_code")
    sep, oct_ = rates[(SEP, MR)], rates[(OCT, MR)]
    # 上报率, September decisions L1..L5: 1 concealed (L4) of 5 -> 1 - 1/5 = 0.8
    assert (sep["ledger_decisions"], sep["ledger_decisions_reported"], sep["concealed_decisions"]) == (5, 4, 1)
    assert sep["reporting_rate"] == dec("0.8")
    # 合规率 / 及时率, September reports: L1 (2 working days) and L2 (9 > 7: late), both accepted
    assert (sep["submitted_rows"], sep["accepted_rows"], sep["late_rows"]) == (2, 2, 1)
    assert sep["compliance_rate"] == dec(1) and sep["timeliness_rate"] == dec("0.5")
    assert not sep["meets_all_targets"] and sep["deadline_workdays"] == 7
    # October: decisions L6 (pending) and L7 (reported) -> 1 - 0/2 = 1; reports L3 (6), L5 (quarantined,
    # 4), L7 (3): 合规率 2/3, 及时率 1 - 0/3 = 1
    assert (oct_["ledger_decisions"], oct_["concealed_decisions"], oct_["reporting_rate"]) == (2, 0, dec(1))
    assert (oct_["submitted_rows"], oct_["accepted_rows"], oct_["rejected_rows"], oct_["late_rows"]) == (3, 2, 1, 0)
    assert oct_["compliance_rate"] == dec(2 / 3) and oct_["timeliness_rate"] == dec(1)
    # tax, September: T1 (2025-06-10), T3 (08-03), T4 (07-01) late; T2 decided 09-01 (W1), reported 09-10
    # (W8): exactly 7, on time; T5 09-02 (W2): 6. 及时率 1 - 3/5 = 0.4; no ledger: 上报率 undefined
    tax = rates[(SEP, "tax")]
    assert (tax["submitted_rows"], tax["late_rows"], tax["timeliness_rate"]) == (5, 3, dec("0.4"))
    assert tax["ledger_decisions"] == 0 and tax["reporting_rate"] is None and tax["is_responsible"]
    # F30 (10-19) was never validated: nothing of it counts
    assert rates[(OCT, "tax")]["submitted_rows"] == 0


# -- objections and credit repairs ------------------------------------------------------------------------
def test_objections_handling_time_and_overdue_list(wh):
    found = by(wh, "select * from marts.fct_objection", "objection_number")
    assert set(found) == {"YY-1", "YY-2", "YY-3", "YY-4", "YY-5"}
    # YY-1: received Thu 09-24 (W19), closed 09-29 (W21) over the Mid-Autumn holiday: 2 working days
    assert found["YY-1"]["handling_workdays"] == 2 and found["YY-1"]["is_valid"]
    assert found["YY-1"]["is_record_found"] and found["YY-1"]["ref_category_code"] == "C02"
    # YY-2: the closed re-send wins; 09-29 (W21) -> 10-12 (W26) = 5 = the deadline, on time
    assert found["YY-2"]["handling_workdays"] == 5 and found["YY-2"]["is_closed"] and not found["YY-2"]["is_overdue"]
    assert found["YY-2"]["due_date"] == dt.date(2026, 10, 12)
    # YY-3: 09-30 (W22) -> 10-14 (W28) = 6 > 5, due W27 = 10-13: overdue in October
    assert found["YY-3"]["handling_workdays"] == 6 and found["YY-3"]["is_overdue"]
    assert found["YY-3"]["due_month"] == OCT
    # YY-4: received 10-08 (W23), open; due W28 = 10-14 < as-of 10-16: overdue; open 30 - 23 = 7 days
    assert found["YY-4"]["open_workdays"] == 7 and found["YY-4"]["is_overdue"] and not found["YY-4"]["is_closed"]
    # YY-5: received 10-15 (W29), open 1 working day, due 10-22: not overdue
    assert found["YY-5"]["open_workdays"] == 1 and not found["YY-5"]["is_overdue"]
    overdue = [r[0] for r in wh.execute("select objection_number from marts.fct_objection where is_overdue "
                                        "order by 1").fetchall()]
    assert overdue == ["YY-3", "YY-4"]


def test_credit_repairs_handling_time_and_overdue_list(wh):
    found = by(wh, "select * from marts.fct_credit_repair", "repair_number")
    # XF-1: 10-08 (W23) -> Sat 10-10 (W25, 调休 workday) = 2; granted
    assert found["XF-1"]["handling_workdays"] == 2 and found["XF-1"]["is_granted"] and found["XF-1"]["is_penalty_found"]
    # XF-2: the closed re-send wins; 09-29 (W21) -> 10-09 (W24) = 3 over National Day: on time, refused
    assert found["XF-2"]["handling_workdays"] == 3 and not found["XF-2"]["is_overdue"]
    assert not found["XF-2"]["is_granted"]
    # XF-3: 10-12 (W26) -> 10-16 (W30) = 4 > 3: overdue, due W29 = 10-15
    assert found["XF-3"]["handling_workdays"] == 4 and found["XF-3"]["is_overdue"]
    assert found["XF-3"]["due_date"] == dt.date(2026, 10, 15)
    # XF-4: received 10-13 (W27), due W30 = 10-16 = the as-of date: not overdue yet
    assert found["XF-4"]["open_workdays"] == 3 and not found["XF-4"]["is_overdue"]
    # XF-5: received 10-09 (W24), due W27 = 10-13, still open at 10-16: overdue
    assert found["XF-5"]["open_workdays"] == 6 and found["XF-5"]["is_overdue"]
    overdue = [r[0] for r in wh.execute("select repair_number from marts.fct_credit_repair where is_overdue "
                                        "order by 1").fetchall()]
    assert overdue == ["XF-3", "XF-5"]


def test_objection_and_repair_monthly_handling(wh):
    handling = by(wh, "select * from marts.mart_objection_repair_handling where department_code = ?",
                  "month_start", params=[MR])
    sep, oct_ = handling[SEP], handling[OCT]
    # September: received YY-1, YY-2, YY-3; closed YY-1 (valid, 2 days); published by 09-30: L1, L2
    # -> 有效异议占比 1 / 2 = 0.5
    assert (sep["objections_received"], sep["objections_closed"], sep["valid_objections"]) == (3, 1, 1)
    assert sep["published_records"] == 2 and sep["valid_objection_share"] == Decimal("0.5000000000")
    assert sep["avg_objection_workdays"] == Decimal("2.00") and sep["objections_overdue"] == 0
    # October: received YY-4, YY-5; closed YY-2 (5) and YY-3 (6, valid): average 5.5; published L1, L2,
    # L3, L7 -> 1 / 4; overdue falling due in October: YY-3 (10-13), YY-4 (10-14)
    assert (oct_["objections_received"], oct_["objections_closed"], oct_["valid_objections"]) == (2, 2, 1)
    assert oct_["valid_objection_share"] == Decimal("0.2500000000")
    assert oct_["avg_objection_workdays"] == Decimal("5.50")
    assert oct_["objections_overdue"] == 2 and oct_["objection_deadline_workdays"] == 5
    # repairs: September received XF-2; October received XF-1, XF-3, XF-4, XF-5, closed XF-1 (2), XF-2 (3),
    # XF-3 (4): average 3.00, granted XF-1 and XF-3, overdue XF-3 (due 10-15) and XF-5 (due 10-13)
    assert (sep["repairs_received"], sep["repairs_closed"], sep["avg_repair_workdays"]) == (1, 0, None)
    assert (oct_["repairs_received"], oct_["repairs_closed"], oct_["repairs_granted"]) == (4, 3, 2)
    assert oct_["avg_repair_workdays"] == Decimal("3.00") and oct_["repairs_overdue"] == 2


# -- commitments -----------------------------------------------------------------------------------------
def test_commitment_ratios_and_coverage(wh):
    found = by(wh, "select * from marts.mart_commitment_indicators", "month_start")
    sep, oct_ = found[SEP], found[OCT]
    # enterprises (kind 企业: 91 codes) first reported by 09-30: E1, E2 (09-23), E3, B1 (09-10) = 4;
    # by 10-31 also W1, W2 (10-16) = 6
    assert (sep["enterprises"], oct_["enterprises"]) == (4, 6)
    # September: 5 commitments + 1 fulfilment -> (5 + 1) / 4 = 1.5; fulfilment / commitments = 1 / 5
    assert (sep["commitments_to_date"], sep["fulfilments_to_date"]) == (5, 1)
    assert sep["commitment_ratio"] == Decimal("1.5000") and sep["fulfilment_ratio"] == Decimal("0.2000")
    # October: + U1 (the other row quarantined) and 2 fulfilments -> (6 + 3) / 6 = 1.5; 3 / 6 = 0.5
    assert (oct_["commitments_in_month"], oct_["fulfilments_in_month"]) == (1, 2)
    assert oct_["commitment_ratio"] == Decimal("1.5000") and oct_["fulfilment_ratio"] == Decimal("0.5000")
    # types: 5 of 6 in September (主动型 missing), all 6 in October; 0.25 each, at most 1
    assert (sep["commitment_types_covered"], sep["missing_commitment_types"]) == (5, "主动型")
    assert (oct_["commitment_types_covered"], oct_["missing_commitment_types"]) == (6, None)
    assert sep["commitment_type_points"] == Decimal("1.00")
    # subject groups: 法人 (E1, E2), 个体工商户 (G1), 社会组织 (S1), 自然人 (P1) = 4 -> 1.00 point;
    # October adds 事业单位 (U1)
    assert (sep["subject_groups_covered"], sep["missing_subject_groups"], sep["subject_group_points"]) == (
        4, "事业单位", Decimal("1.00"))
    assert (oct_["subject_groups_covered"], oct_["subject_groups_total"]) == (5, 5)


# -- USCC quality ----------------------------------------------------------------------------------------
def test_code_quality_rate_by_authority_and_district(wh):
    found = by(wh, "select * from marts.mart_code_quality_rate", "authority_code", "region_code")
    assert set(found) == {("9", "140213"), ("9", "140212"), ("5", "140212"), ("1", "140214"), ("1", "140200")}
    # 工商, 平城区: E1 E2 E3 W1 W2 B1 = 6 codes, B1 错码 -> 1 / 6
    pingcheng = found[("9", "140213")]
    assert (pingcheng["codes"], pingcheng["erroneous_codes"], pingcheng["duplicate_codes"]) == (6, 1, 0)
    assert pingcheng["bad_code_rate"] == dec(1 / 6, 8) and not pingcheng["meets_threshold"]
    assert pingcheng["erroneous_code_list"] == B1 and pingcheng["region_name"] == "平城区"
    assert pingcheng["authority_name_zh"] == "工商（市场监管）" and pingcheng["responsible_department_code"] == MR
    # 民政, 新荣区: S1 D1 D2 = 3, D1 and D2 one name under two codes (重码) -> 2 / 3
    xinrong = found[("5", "140212")]
    assert (xinrong["codes"], xinrong["duplicate_codes"], xinrong["bad_codes"]) == (3, 2, 2)
    assert xinrong["bad_code_rate"] == dec(2 / 3, 8) and xinrong["duplicate_code_list"] == ",".join(sorted([D1, D2]))
    # the housing department's own code (on the list) and U1 are clean
    assert found[("1", "140214")]["bad_codes"] == 0 and found[("1", "140214")]["meets_threshold"]


# -- catalogue coverage ------------------------------------------------------------------------------------
def test_coverage_per_department_names_what_is_missing(wh):
    found = by(wh, "select * from marts.mart_catalogue_coverage_department where department_code = ?",
               "month_start", params=[MR])
    # responsible for C01 C02 C03 C04 C11 C14 C16 C17 C28 (9); September C01 C02 C03 -> 3 / 9
    assert (found[SEP]["responsible_categories"], found[SEP]["responsible_categories_covered"]) == (9, 3)
    assert found[SEP]["coverage_rate"] == Decimal("0.3333")
    assert found[SEP]["missing_categories"] == "C04,C11,C14,C16,C17,C28"
    assert found[SEP]["missing_category_names"].split(",") == [
        "行政强制", "行政监督检查", "经营（活动）异常名录", "信用承诺", "履约践诺", "知识产权"]
    # October: C02 (L7; L5 was quarantined), C03 (L3), C11 (one of two rows) -> 3 / 9; the ledger,
    # objection and repair feeds (X01..X03) are not catalogue categories
    assert found[OCT]["missing_categories"] == "C01,C04,C14,C16,C17,C28"
    assert found[OCT]["other_categories_covered"] == 0
    assert not rows(wh, "select * from marts.mart_catalogue_coverage where category_code like 'X%'")


def test_coverage_overall_and_per_district(wh):
    overall = by(wh, "select * from marts.mart_catalogue_coverage_overall", "month_start")
    # September: C01 C02 C03 C16 C17 C25 = 6 of 33; October: C01 C02 C03 C11 C12 C13 C16 C17 = 8
    assert (overall[SEP]["categories_in_catalogue"], overall[SEP]["categories_covered"]) == (33, 6)
    assert overall[OCT]["categories_covered"] == 8
    assert overall[SEP]["coverage_points"] == Decimal("0.00")  # 3 - 0.2 x 27 < 0 -> 0
    assert overall[SEP]["missing_category_names"].split(",")[:2] == ["行政强制", "行政确认"]
    districts = by(wh, "select * from marts.mart_catalogue_coverage_district", "month_start", "region_code")
    # 新荣区 (140212): September G1 and S1 commitments -> C16; October D1/D2 registrations (C01), W4
    # judgments (C12), G1 fulfilment (C17)
    assert districts[(SEP, "140212")]["categories_covered"] == 1
    assert districts[(SEP, "140212")]["region_name"] == "新荣区"
    assert districts[(OCT, "140212")]["categories_covered"] == 3
    assert "C01" not in districts[(OCT, "140212")]["missing_categories"].split(",")
    assert "C12" not in districts[(OCT, "140212")]["missing_categories"].split(",")


def test_special_categories_shared_this_month_or_not(wh):
    found = by(wh, "select * from marts.mart_special_category_sharing", "month_start", "category_code")
    assert len([k for k in found if k[0] == SEP]) == 13
    assert found[(SEP, "C25")]["is_shared"] and found[(SEP, "C25")]["record_count"] == 1
    assert found[(SEP, "C25")]["compliance_rate"] == dec(1)
    assert found[(OCT, "C25")]["is_shared"] is False and found[(OCT, "C25")]["departments_not_shared"] == "power_supply"
    assert not found[(SEP, "C21")]["is_shared"] and found[(SEP, "C21")]["departments_not_shared"] == "tax"


# -- 屡禁不止、屡罚不改 ------------------------------------------------------------------------------------------
def test_repeat_offender_watchlist(wh):
    found = by(wh, "select * from marts.mart_repeat_offender_watchlist", "subject_key")
    # window (2023-10-16, 2026-10-16]: W1 11 penalties, one on 2023-10-16 -> 10 (listed); W2 10 - 1 = 9 (not);
    # W4 (个体工商户) 10 失信被执行人 entries (+1 "否"): listed; person W3 (10 entries) is not a market subject
    assert set(found) == {W1, W4}
    assert found[W1]["penalties_in_window"] == 10 and found[W1]["is_repeat_penalised"]
    assert found[W1]["window_start"] == dt.date(2023, 10, 16) and found[W1]["as_of_date"] == dt.date(2026, 10, 16)
    assert found[W1]["latest_penalty_date"] == dt.date(2026, 9, 1)
    assert found[W4]["executee_entries_in_window"] == 10 and found[W4]["is_repeat_executee"]
    assert found[W4]["subject_kind"] == "个体工商户"
    credit_file = one(wh, "select * from marts.mart_subject_credit_file where subject_key = ?", [W2])
    assert credit_file["penalty_count"] == 10 and not credit_file["is_repeat_offender"]


# -- publicity -----------------------------------------------------------------------------------------------
def test_penalty_publicity_status_and_public_view(wh):
    found = by(wh, "select * from marts.fct_penalty_publicity where department_code in ('tax', ?)", "doc_number",
               params=[MR])
    expected = {  # doc: (severity, source, publicity end, status)
        # 公示截止期 2025-12-10 = 6 months: 轻微 (3) does not cover it, 一般 (12) does; ended -> expired
        "同税罚〔2025〕1号": ("一般", "publicity_until", dt.date(2025, 12, 10), "expired"),
        # no 公示截止期, 处罚类别 contains 吊销 (rule 1): 严重, 3 years
        "同税罚〔2026〕2号": ("严重", "rule 1", dt.date(2029, 9, 1), "public"),
        # 公示截止期 24 months: 严重; ends at the delivered date
        "同税罚〔2026〕3号": ("严重", "publicity_until", dt.date(2028, 8, 3), "public"),
        # only 警告 (rule 6): 轻微, 3 months from 07-01 -> 10-01 < as-of 10-16: expired
        "同税罚〔2026〕4号": ("轻微", "rule 6", dt.date(2026, 10, 1), "expired"),
        # 公示截止期 beyond 3 years: 严重, clipped to decision + 36 months
        "同税罚〔2026〕5号": ("严重", "publicity_until", dt.date(2029, 9, 2), "public"),
        # 罚款, default rule 9: 一般; repaired 10-10 (XF-1 granted)
        L2: ("一般", "rule 9", dt.date(2027, 9, 17), "repaired"),
        # 警告: 轻微; XF-2 refused, XF-3 granted on 10-16 = as-of: repaired
        L3: ("轻微", "rule 6", dt.date(2026, 12, 28), "repaired"),
    }
    assert {d: (r["severity"], r["severity_source"], r["publicity_end_date"], r["publicity_status"])
            for d, r in found.items()} == expected
    assert found[L2]["repaired_on"] == dt.date(2026, 10, 10) and found[L3]["repaired_on"] == dt.date(2026, 10, 16)
    public = {r[0] for r in wh.execute("select doc_number from marts.mart_public_penalties").fetchall()}
    # public: T2, T3, T5 and, of W1/W2's 一般 penalties (1 year), those decided after 2025-10-16:
    # W1 2026-09-01, W2 2025-11-03 and 2026-02-02
    assert public == {"同税罚〔2026〕2号", "同税罚〔2026〕3号", "同税罚〔2026〕5号", "同应急罚〔W1〕11号",
                      "同应急罚〔W2〕9号", "同应急罚〔W2〕10号"}


# -- department monthly score (002 附表一) --------------------------------------------------------------------
def score_rows(wh, month: dt.date, department: str) -> dict:
    return {(r["rule_code"], r["item_code"]): r["points"] for r in rows(
        wh, "select * from marts.mart_department_monthly_score where month_start = ? and department_code = ?",
        [month, department])}


def test_department_monthly_score_explains_each_rule(wh):
    sep = score_rows(wh, SEP, MR)
    assert sep == {
        ("S03_REPORTING", ""): Decimal("8.00"),  # 10 x 上报率 0.8
        ("S03_COMPLIANCE", ""): Decimal("10.00"),  # 10 x 1
        ("S03_TIMELINESS", ""): Decimal("5.00"),  # 10 x 0.5
        ("S04_OBJECTION_LATE", ""): Decimal("0.00"),  # no objection fell due unhandled
        ("S05_OTHER_ADMIN", "C04"): Decimal("0.00"),  # nothing submitted: 0
        ("S05_OTHER_ADMIN", "C11"): Decimal("0.00"),
        ("S06_SPECIAL_52", "C28"): Decimal("-5.00"),  # 知识产权 not shared: -5
        ("S07_BAD_CODE", ""): Decimal("-1.00"),  # B1 in its registrations: -1 per month
        ("S09_COMMITMENT", ""): Decimal("0.00"),  # responsible for C16, sent none: no points
        ("S17_REPAIR", ""): Decimal("0.00"),
        ("S29_OWN_LISTING", ""): Decimal("0.00"),
    }
    october = score_rows(wh, OCT, MR)
    assert october[("S03_COMPLIANCE", "")] == Decimal("6.67")  # 10 x 2/3
    assert october[("S04_OBJECTION_LATE", "")] == Decimal("-6.00")  # YY-3, YY-4: 2 x -3
    assert october[("S05_OTHER_ADMIN", "C11")] == Decimal("2.50")  # 5 x 1/2
    assert october[("S17_REPAIR", "")] == Decimal("2.00")  # XF-1, XF-3 granted: 2 x 1
    detail = one(wh, "select * from marts.mart_department_monthly_score where month_start = ? and department_code = ? "
                     "and rule_code = 'S03_REPORTING'", [SEP, MR])
    assert (detail["basis_value"], detail["basis_numerator"], detail["basis_denominator"]) == (dec("0.8"), 4, 5)
    assert detail["scoring_item"] == "(三)" and detail["rule_points"] == Decimal("10.00")
    assert score_rows(wh, SEP, "power_supply")[("S06_SPECIAL_52", "C25")] == Decimal("5.00")  # 5 x 1
    assert score_rows(wh, OCT, "power_supply")[("S06_SPECIAL_52", "C25")] == Decimal("-5.00")
    assert score_rows(wh, OCT, "civil_affairs")[("S07_BAD_CODE", "")] == Decimal("-2.00")  # D1, D2
    approval = (score_rows(wh, SEP, "approval"), score_rows(wh, OCT, "approval"))
    assert (approval[0][("S09_COMMITMENT", "")], approval[1][("S09_COMMITMENT", "")]) == (Decimal("5.00"),
                                                                                       Decimal("2.50"))
    fgw = (score_rows(wh, SEP, "fgw"), score_rows(wh, OCT, "fgw"))
    assert fgw[0][("S16_SERIOUS_LIST", "")] == Decimal("10.00")  # U1, E2 designated in September
    assert fgw[1][("S24_LIST_EXIT", "")] == Decimal("10.00")  # E2 removed 10-09
    assert score_rows(wh, OCT, "housing")[("S29_OWN_LISTING", "")] == Decimal("-20.00")
    assert score_rows(wh, SEP, "housing")[("S29_OWN_LISTING", "")] == Decimal("0.00")


def test_department_monthly_ranking_totals(wh):
    ranking = by(wh, "select * from marts.mart_department_monthly_ranking where department_code = ?",
                 "month_start", params=[MR])
    # September: 8 + 10 + 5 + 0 + 0 + 0 - 5 - 1 + 0 + 0 + 0 = 17
    assert ranking[SEP]["total_points"] == Decimal("17.00") and ranking[SEP]["scored_rules"] == 11
    # October: 10 + 6.67 + 10 - 6 + 0 + 2.5 - 5 - 1 + 0 + 2 + 0 = 19.17
    assert ranking[OCT]["total_points"] == Decimal("19.17") and ranking[OCT]["deducted_points"] == Decimal("-12.00")
    assert ranking[OCT]["month_rank"] >= 1


# -- demonstration-city summary ------------------------------------------------------------------------------
def test_demonstration_indicators(wh):
    found = by(wh, "select * from marts.mart_demonstration_indicators", "month_start", "indicator_code")
    expected = {  # (month, indicator): (value, passed)
        # codes first reported by 09-30: E1 E2 E3 B1 G1 S1, bad B1 -> 1/6; by 10-31 all 13, bad B1 D1 D2
        (SEP, "uscc_error_rate"): (1 / 6, False), (OCT, "uscc_error_rate"): (3 / 13, False),
        (SEP, "gov_on_serious_list"): (0, True), (OCT, "gov_on_serious_list"): (1, False),  # housing
        (SEP, "institution_on_serious_list"): (1, False),  # U1 (事业单位) listed 09-15
        (SEP, "dp_reporting_rate"): (0.8, False), (OCT, "dp_reporting_rate"): (1, True),
        # September: MR 2 + tax 5 rows, late 1 + 3 -> 及时率 3/7; October: MR 3 + emergency 21 rows, one
        # quarantined -> 合规率 23/24, late 21 (W1/W2's old penalties) -> 及时率 3/24
        (SEP, "dp_compliance_rate"): (1, True), (OCT, "dp_compliance_rate"): (23 / 24, False),
        (SEP, "dp_timeliness_rate"): (3 / 7, False), (OCT, "dp_timeliness_rate"): (3 / 24, False),
        # valid objections closed in the month / 双公示 records published by its end: 1 / 7, 1 / 30
        (SEP, "valid_objection_share"): (1 / 7, False), (OCT, "valid_objection_share"): (1 / 30, False),
        (SEP, "objection_avg_workdays"): (2, True), (OCT, "objection_avg_workdays"): (5.5, False),
        (SEP, "repair_overdue_count"): (0, True), (OCT, "repair_overdue_count"): (2, False),
        (SEP, "commitment_ratio"): (1.5, False), (OCT, "fulfilment_ratio"): (0.5, False),
        (SEP, "commitment_type_coverage"): (5, True), (SEP, "commitment_subject_coverage"): (4, True),
        (SEP, "catalogue_coverage"): (0.1818, False),
    }
    for key, (value, passed) in expected.items():
        assert found[key]["indicator_value"] == dec(value, 8), key
        assert found[key]["passed"] is passed, key
    assert found[(SEP, "uscc_error_rate")]["indicator_type"] == "hard"
    assert found[(SEP, "uscc_error_rate")]["threshold"] == Decimal("0.00010000")
    assert len(found) == 2 * 14


def test_indicator_marts_hold_no_unmasked_id_numbers(wh):
    secrets = {P1_ID, W3_ID}
    tables = wh.execute("select table_catalog, table_schema, table_name from information_schema.tables "
                        "where table_schema in ('marts', 'intermediate')").fetchall()
    for catalog, schema, table in tables:
        text = " ".join(" ".join("" if v is None else str(v) for v in r)
                        for r in wh.execute(f"select * from {catalog}.{schema}.{table}").fetchall())
        assert not any(s in text for s in secrets), table


def test_every_model_and_column_is_documented(wh):
    """Each built staging / intermediate / mart relation is a YAML model whose columns are exactly the table's."""
    import yaml
    from credit_warehouse.settings import DBT_PROJECT_DIR

    documented: dict[str, list[str]] = {}
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            assert model.get("description"), model["name"]
            assert all(c.get("description") for c in model.get("columns", [])), model["name"]
            documented[model["name"]] = [c["name"] for c in model.get("columns", [])]
    built = wh.execute("select table_name, list(column_name order by ordinal_position) from information_schema.columns "
                       "where table_schema in ('staging', 'intermediate', 'marts') group by 1").fetchall()
    for table, columns in built:
        assert table in documented, table
        assert documented[table] == columns, (table, set(columns) ^ set(documented[table]))
