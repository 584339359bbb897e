"""The rules that look beyond one row (uniqueness, 重码, referential) and the region rules, as SQL in an
in-memory DuckDB: the same queries Great Expectations runs (display form) and the row_issues insert
uses must find the same rows. Also: the README's rule table is the generated one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from credit_warehouse.catalogue import Catalogue
from credit_warehouse.validation.code_names import refresh_code_names
from credit_warehouse.validation.expressions import blank_sql
from credit_warehouse.validation.rule_docs import BEGIN, END, SUMMARIES, rules_markdown
from credit_warehouse.validation.rule_table import rule_rows
from credit_warehouse.validation.rules import (
    batch_statements,
    build_rules,
    offending_rows_sql,
    reason_for,
    rule_source,
)
from credit_warehouse.validation.suites import gx_query
from credit_warehouse.warehouse import ensure_schema

README = Path(__file__).resolve().parents[1] / "README.md"
ORG = "91140213MA00000016"
ORG_FIELDS = dict(subject_type="法人及非法人组织", legal_rep="王五")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture(scope="module")
def rules(catalogue):
    return {rule.key: rule for rule in build_rules(catalogue, 7)}


@pytest.fixture
def con(catalogue):
    connection = duckdb.connect()
    ensure_schema(connection, catalogue)
    yield connection
    connection.close()


def add(con, catalogue, seq: int, row: int, category: str, **values) -> None:
    record = dict(load_id=f"L{seq}", load_seq=seq, file_sha256=f"file{seq}", source_file=f"d/{category}_{seq}.csv",
                  row_number=row, department_code="market_regulation", category_code=category,
                  record_layout=catalogue.categories[category].layout, business_date=dt.date(2026, 10, 12), **values)
    con.execute(f"insert into raw.feed_rows ({', '.join(record)}) values ({', '.join('?' * len(record))})",
                list(record.values()))


def offending(con, rule) -> list[tuple[str, int, str]]:
    """(file, row, value) the row_issues insert would record; GX's display query must agree."""
    catalogue = Catalogue.load()
    refresh_code_names(con, catalogue)
    for statement in batch_statements("raw.feed_rows", catalogue, "batch", build_rules(catalogue, 7)):
        con.execute(statement)
    batch = rule_source(rule, "batch", "raw.feed_rows")
    rows = con.execute(offending_rows_sql(rule, batch)).fetchall()
    shown = con.execute(gx_query(offending_rows_sql(rule, "{batch}", display=True)).format(
        batch=f"{batch} AS subselect")).fetchall()
    assert len(shown) == len(rows)
    return sorted((r[0], r[2], r[-1]) for r in rows)


def test_same_key_twice_in_one_file(con, catalogue, rules):
    add(con, catalogue, 1, 1, "C03", doc_number="罚1", content="甲", **ORG_FIELDS)
    add(con, catalogue, 1, 2, "C03", doc_number=" 罚1 ", content="乙", **ORG_FIELDS)  # same key, other values
    add(con, catalogue, 1, 3, "C03", doc_number="罚3", content="丙")
    add(con, catalogue, 1, 4, "C03", doc_number="罚3", content="丙")  # verbatim repeat
    add(con, catalogue, 2, 1, "C03", doc_number="罚1", content="丁")  # another file: a re-send, not a duplicate
    add(con, catalogue, 3, 1, "C24", account_no="e1", billing_period="2026-09", amount_due="1")
    add(con, catalogue, 3, 2, "C24", account_no="E1", billing_period="202609", amount_due="2")
    add(con, catalogue, 3, 3, "C24", account_no="E2", billing_period=" ", amount_due="3")  # a blank key part:
    add(con, catalogue, 3, 4, "C24", account_no="E2", amount_due="4")  # no key, so never a duplicate
    assert offending(con, rules["duplicate_record_key.doc_number"]) == [("file1", 1, "罚1"), ("file1", 2, "罚1")]
    assert offending(con, rules["repeated_record.doc_number"]) == [("file1", 3, "罚3"), ("file1", 4, "罚3")]
    assert offending(con, rules["duplicate_record_key.account_no"]) == [("file3", 1, "E1|202609"),
                                                                         ("file3", 2, "E1|202609")]
    assert rules["duplicate_record_key.doc_number"].severity == "blocking"
    assert rules["repeated_record.doc_number"].severity == "warning"


def test_a_code_under_another_name_is_duplicate_code(con, catalogue, rules):
    add(con, catalogue, 1, 1, "C03", subject_name="大同市甲公司", uscc=ORG, doc_number="a")
    add(con, catalogue, 1, 2, "C03", subject_name="大同市甲公司 ", uscc=ORG.lower(), doc_number="b")  # same subject
    add(con, catalogue, 2, 1, "C02", subject_name="大同市乙公司", uscc=ORG, doc_number="c")  # 重码
    assert offending(con, rules["duplicate_code.uscc"]) == [("file2", 1, ORG)]
    # a registration names the subject with authority: the earlier penalties become the 重码
    add(con, catalogue, 3, 1, "C01", subject_name="大同市乙公司", uscc=ORG)
    assert offending(con, rules["duplicate_code.uscc"]) == [("file1", 1, ORG), ("file1", 2, ORG.lower())]


def test_types_are_compared_trimmed(con, catalogue, rules):
    # padded types mean what they say: the org requirement applies, the enum accepts them, the ID is checked
    add(con, catalogue, 1, 1, "C03", subject_type=" 法人及非法人组织\u3000", legal_rep="王五", doc_number="a")
    add(con, catalogue, 1, 2, "C03", subject_type="自然人 ", id_type=" 身份证", id_number="12345", doc_number="b")
    add(con, catalogue, 1, 3, "C03", subject_type="法人", uscc=ORG, legal_rep="王五", doc_number="c")
    assert offending(con, rules["missing_required_field.uscc.org"]) == [("file1", 1, None)]
    assert offending(con, rules["invalid_enum.subject_type.licence"]) == [("file1", 3, "法人")]
    assert [row[:2] for row in offending(con, rules["resident_id_format.id_number"])] == [("file1", 2)]


def _reference_names(con) -> list[tuple]:
    return con.execute("select * from validation.code_names order by code").fetchall()


def test_reference_names_kept_load_by_load_equal_the_whole_history_at_once(con, catalogue):
    """validation.code_names folded in after every load (landing order shuffled, as a recovery can
    land a lower load_seq late) holds what one fold over every row gives."""
    import random

    names = ["甲公司", "乙公司", "丙公司"]
    codes = [ORG, "91140213MA00000024", "91140213MA0000003X"]
    loads = [[(seq, row, random.Random(seq * 10 + row).choice(["C01", "C02", "C03", "C03"]),
               codes[(seq + row) % 3], names[(seq * row) % 3]) for row in range(1, 4)] for seq in range(1, 25)]
    random.Random(7).shuffle(loads)
    folded = 0
    for load in loads:  # a load lands whole, then is folded
        for seq, row, category, code, name in load:
            add(con, catalogue, seq, row, category, subject_name=name, uscc=code, doc_number=f"{seq}-{row}")
        folded += refresh_code_names(con, catalogue)
    assert folded == 24
    assert refresh_code_names(con, catalogue) == 0  # nothing new
    at_once = duckdb.connect()
    ensure_schema(at_once, catalogue)
    for seq, row, category, code, name in (row for load in loads for row in load):
        add(at_once, catalogue, seq, row, category, subject_name=name, uscc=code, doc_number=f"{seq}-{row}")
    assert refresh_code_names(at_once, catalogue) == 24
    assert _reference_names(con) == _reference_names(at_once)
    assert len(_reference_names(con)) == 3


def test_reference_names_are_rebuilt_when_the_catalogue_changes_what_is_checked(con, catalogue, rules):
    add(con, catalogue, 1, 1, "C03", subject_name="大同市甲公司", uscc=ORG, doc_number="a")
    add(con, catalogue, 2, 1, "C03", subject_name="大同市乙公司", uscc=ORG, doc_number="b")
    assert offending(con, rules["duplicate_code.uscc"]) == [("file2", 1, ORG)]
    con.execute("update validation.code_name_loads set basis = 'C03/'")  # built by another catalogue
    con.execute("update validation.code_names set first_name = '别的公司'")
    assert refresh_code_names(con, catalogue) == 2
    assert offending(con, rules["duplicate_code.uscc"]) == [("file2", 1, ORG)]


def test_region_codes_need_a_province_level_prefix(con, catalogue, rules):
    elsewhere = "91110108MA00000014"  # Beijing: registered elsewhere, fine
    add(con, catalogue, 1, 1, "C03", uscc=elsewhere, doc_number="a", **ORG_FIELDS)
    add(con, catalogue, 1, 2, "C03", uscc="91990213MA00000016", doc_number="b", **ORG_FIELDS)
    add(con, catalogue, 1, 3, "C03", subject_type="自然人", id_type="身份证", id_number="990213198506151237",
        doc_number="c")
    add(con, catalogue, 1, 4, "C03", subject_type="自然人", id_type="身份证", id_number="110101198506151234",
        doc_number="d")
    assert offending(con, rules["uscc_region_code.uscc"]) == [("file1", 2, "91990213MA00000016")]
    assert offending(con, rules["resident_id_region_code.id_number"]) == [("file1", 3, "990213198506151237")]
    assert rules["uscc_region_code.uscc"].severity == rules["resident_id_region_code.id_number"].severity == "warning"


def test_blank_means_null_or_only_whitespace_of_the_trim_macro(con):
    """blank_sql runs its regex only on values starting with whitespace: the answer must still be
    'nothing but \\t \\n \\f \\r, space, NBSP and the ideographic space', for every single character
    (\\v and the other Unicode spaces are values, as the trim macro sees them) and mixed values."""
    whitespace = set("\t\n\f\r \u00a0\u3000")
    mixed = ["", " \u3000\t", "\u3000x", " x ", "x ", "\r\n", "\u00a0\u2003", "  \u200b", None]
    con.execute(f"create table blank_values as select chr(c::integer) as v from range(1, {0x3100}) as t(c)")
    con.executemany("insert into blank_values values (?)", [[v] for v in mixed])
    values = [chr(c) for c in range(1, 0x3100)] + mixed
    blank = dict(con.execute(f"select v, {blank_sql('v')} from blank_values").fetchall())
    assert blank == {v: v is None or set(v) <= whitespace for v in values}


def test_agency_codes_are_judged_once_per_code_with_the_same_verdicts(con, catalogue, rules):
    """The authority's code is checked per distinct code and joined back to its rows: every row of a bad
    code is found, padded and blank codes are not, and each code meets the rule it breaks only."""
    codes = {1: "11140200RCMBP1GQ0D", 2: "\u300011140200RCMBP1GQ0D ", 3: "11140200RCMBP1GQ0E", 4: "11140200RCMBP1GQ0E",
             5: "1114020", 6: "18140200RCMBP1GQ0P", 7: "11990200RCMBP1GQ0P", 8: " ", 9: None}
    for row, code in codes.items():
        add(con, catalogue, 1, row, "C03", uscc=ORG, doc_number=f"d{row}", authority_uscc=code, **ORG_FIELDS)
    expected = {"uscc_check_char": [3, 4], "uscc_format": [5], "uscc_invalid_pair": [6], "uscc_region_code": [7]}
    for rule_id, rows in expected.items():
        assert offending(con, rules[f"{rule_id}.authority_uscc"]) == [("file1", r, codes[r]) for r in rows], rule_id


def test_a_subject_without_type_and_code_does_not_resolve(con, catalogue, rules):
    add(con, catalogue, 1, 1, "C03", subject_name="某某", subject_type="", doc_number="a")
    add(con, catalogue, 1, 2, "C03", subject_name="某公司", subject_type="法人及非法人组织", doc_number="b")
    add(con, catalogue, 1, 3, "C03", subject_name="某人", subject_type=" ", id_number="140213198506151237",
        doc_number="c")
    # row 2 misses its USCC: missing_required_field says so, the referential rule adds nothing
    assert offending(con, rules["subject_unresolvable.uscc.id_number"]) == [("file1", 1, "某某")]
    assert "C01" not in rules["subject_unresolvable.uscc.id_number"].categories  # registrations always require the code
    # the operational feeds (ledgers, objections, repairs) identify their subjects the same way
    add(con, catalogue, 1, 4, "X02", subject_name="某某", subject_type="", doc_number="e")
    add(con, catalogue, 1, 5, "X02", subject_name="某人", subject_type="自然人", id_type="身份证",
        id_number="140213198506151237", doc_number="f")
    assert offending(con, rules["subject_unresolvable.uscc.id_number"]) == [("file1", 1, "某某"), ("file1", 4, "某某")]


def test_reasons_name_the_categorys_own_header(catalogue, rules):
    late = rules["late_report.decision_date"]
    assert "「处罚决定日期」" in reason_for(late, catalogue, "C03")
    assert "「许可决定日期」" not in reason_for(late, catalogue, "C03")
    rows = rule_rows(list(rules.values()), catalogue)
    keys = [(r[1], r[4], r[5]) for r in rows]
    assert len(keys) == len(set(keys))  # (rule_id, field, category) finds one rule


def test_every_rule_is_documented_and_the_readme_table_is_current(catalogue, rules):
    assert {r.rule_id for r in rules.values()} <= set(SUMMARIES)
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == rules_markdown(catalogue, 7), "README rule table is stale: run `creditwh rules`"


def test_every_documented_rejection_code_has_a_chinese_reason():
    """Correction lists explain rejected files in Chinese: every file-level code of the README's table."""
    import re

    from credit_warehouse.settings import REPO_ROOT
    from credit_warehouse.steward.review_data import DELIVERY_REASON_ZH

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    codes = {code for line in readme.splitlines() if re.match(r"\| `.*\| file \|", line)
             for code in re.findall(r"`([a-z0-9_]+)`", line.split("|")[1])}
    assert len(codes) > 15
    assert codes <= set(DELIVERY_REASON_ZH), codes - set(DELIVERY_REASON_ZH)
