"""Clean records, one layout each: canonical field -> text as delivered (dates in the feed's format).

A builder only draws from the record's own random stream, so a record can be rebuilt alone (for a
correction re-send or a fulfilment that refers to an earlier commitment).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from credit_warehouse.catalogue import PERSON_SUBJECT_TYPE
from credit_warehouse.sample_city import content as c
from credit_warehouse.sample_city import vocabulary as v
from credit_warehouse.sample_city.dates import DateText
from credit_warehouse.sample_city.feeds import ACCOUNT_PREFIX, FeedSpec
from credit_warehouse.sample_city.population import Subject
from credit_warehouse.sample_city.streams import mix64

LONG_TERM = dt.date(2099, 12, 31)  # 有效期至 2099/12/31 means 长期 (permanent)
PUBLICITY_MONTHS = {"轻微": 3, "一般": 12, "严重": 36}
Record = dict[str, str]
T = TypeVar("T")


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _loguniform(rng: random.Random, low: float, high: float) -> float:
    return low * (high / low) ** rng.random()


def _wan(value: float) -> str:
    """An amount in 万元 as departments export it: two decimals."""
    return f"{max(value, 0.01):.2f}"


def doc_number(spec: FeedSpec, day: dt.date, decision: dt.date, row: int, layout: str | None = None) -> str:
    """Unique per (department, category): the serial encodes the report day and the row.

    Serial = days from 1 January of the decision year to the report day, then the row number.
    ``layout`` overrides the feed's layout (a fulfilment citing a commitment number).
    """
    year = decision.year
    offset = (day - dt.date(year, 1, 1)).days
    serial = f"{offset:03d}{row + 1:04d}" if row < 9999 else f"{offset:03d}{row + 1:06d}"
    department = spec.department.code
    abbr = c.DEPT_ABBR.get(department, department.upper())
    layout = layout or spec.layout.name
    if layout == "judicial":
        return f"（{year}）晋02执{serial}号" if department == "court" else f"同{abbr}民监〔{year}〕{serial}号"
    kind = {"commitment": "诺", "fulfilment": "践诺", "contract": "合"}.get(layout)
    kind = kind or c.DOC_KIND.get(spec.category.code, spec.category.code)
    return f"同{abbr}{kind}〔{year}〕{serial}号"


@dataclass
class Context:
    """What a builder needs besides the subject: the report day, decision date and row."""

    spec: FeedSpec
    day: dt.date
    decision: dt.date
    row: int
    rng: random.Random
    text: DateText

    def date(self, day: dt.date) -> str:
        return self.text(day, self.spec.feed.date_format)


def subject_fields(subject: Subject) -> Record:
    if subject.is_person:
        return {"subject_name": subject.name, "subject_type": PERSON_SUBJECT_TYPE, "uscc": "",
                "legal_rep": "", "id_type": "身份证", "id_number": subject.code}
    return {"subject_name": subject.name, "subject_type": subject.subject_type, "uscc": subject.code,
            "legal_rep": subject.legal_rep, "id_type": "", "id_number": ""}


@functools.cache
def _department_fields(name: str, uscc: str) -> Record:
    return {"authority": name, "authority_uscc": uscc, "data_source_unit": name, "data_source_uscc": uscc,
            "remarks": ""}


def _authority(ctx: Context) -> Record:
    """The delivering department acts as the authority and is the data source (read-only dict)."""
    department = ctx.spec.department
    return _department_fields(department.name, department.uscc)


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[rng.randrange(len(items))]


def penalty_content(category: str, fine: str, confiscated: str) -> str:
    parts = []
    for kind in category.split(";"):
        if kind == "警告":
            parts.append("给予警告")
        elif kind == "罚款":
            parts.append(f"罚款人民币{round(float(fine) * 10000)}元")
        elif kind == "没收违法所得":
            amount = f"人民币{round(float(confiscated) * 10000)}元" if confiscated else ""
            parts.append(f"没收违法所得{amount}")
        elif kind == "行政拘留":
            parts.append("行政拘留五日")
        elif kind == "暂扣许可证件":
            parts.append("暂扣机动车驾驶证六个月")
        else:
            parts.append(kind)
    return "，".join(parts) + "。"


def build_penalty(ctx: Context, subject: Subject) -> Record:
    rng, department = ctx.rng, ctx.spec.department.code
    target = "person" if subject.is_person else "org"
    pool = [p for p in c.PENALTIES.get(department, ()) if p.who in ("any", target)]
    if not pool:
        pool = list(c.PERSON_PENALTIES if subject.is_person else c.GENERIC_PENALTIES)
    tpl = _pick(rng, pool)
    fine = _wan(_loguniform(rng, *tpl.fine)) if "罚款" in tpl.category else ""
    confiscated = _wan(_loguniform(rng, 0.01, 2)) if "没收违法所得" in tpl.category else ""
    revoked = ""
    if "暂扣许可证件" in tpl.category:  # a file number, never the ID number (it would escape masking)
        revoked = f"机动车驾驶证（档案编号1402{mix64(subject.index) % 10**8:08d}）"
    until = add_months(ctx.decision, PUBLICITY_MONTHS[tpl.severity])
    return {**subject_fields(subject), **_authority(ctx),
            "doc_number": doc_number(ctx.spec, ctx.day, ctx.decision, ctx.row),
            "violation_type": tpl.violation_type, "violation_facts": tpl.facts, "legal_basis": tpl.basis,
            "penalty_category": tpl.category, "content": penalty_content(tpl.category, fine, confiscated),
            "fine_amount": fine, "confiscation_amount": confiscated, "revoked_licence": revoked,
            "decision_date": ctx.date(ctx.decision), "valid_to": ctx.date(until),
            "publicity_until": ctx.date(until) if rng.random() < 0.6 else ""}


def build_licence(ctx: Context, subject: Subject) -> Record:
    rng = ctx.rng
    pool = c.LICENCES.get(ctx.spec.department.code, c.GENERIC_LICENCES)
    if subject.is_person:
        pool = c.PERSON_LICENCES
    tpl = _pick(rng, pool)
    has_cert = bool(tpl.cert_name) and rng.random() < 0.85
    valid_to = LONG_TERM
    if tpl.years:
        valid_to = add_months(ctx.decision, 12 * tpl.years) - dt.timedelta(days=1)
    number = f"{tpl.cert_prefix}{ctx.decision:%Y}{mix64(ctx.row * 7919 + ctx.day.toordinal()) % 10**6:06d}"
    return {**subject_fields(subject), **_authority(ctx),
            "doc_name": tpl.doc_name, "doc_number": doc_number(ctx.spec, ctx.day, ctx.decision, ctx.row),
            "licence_category": tpl.category, "cert_name": tpl.cert_name if has_cert else "",
            "cert_number": number if has_cert else "", "content": tpl.content,
            "decision_date": ctx.date(ctx.decision), "valid_from": ctx.date(ctx.decision),
            "valid_to": ctx.date(valid_to), "current_status": "有效" if rng.random() < 0.85 else "1"}


def _act_fields(ctx: Context, act: c.Act) -> Record:
    amount = _wan(_loguniform(ctx.rng, *act.amount)) if act.amount else ""
    return {"matter": act.matter, "content": act.content, "amount": amount,
            "doc_number": doc_number(ctx.spec, ctx.day, ctx.decision, ctx.row),
            "decision_date": ctx.date(ctx.decision)}


def build_decision(ctx: Context, subject: Subject) -> Record:
    act = _pick(ctx.rng, c.DECISIONS.get(ctx.spec.category.code, c.GENERIC_ACTS))
    return {**subject_fields(subject), **_authority(ctx), **_act_fields(ctx, act)}


def build_special(ctx: Context, subject: Subject) -> Record:
    act = _pick(ctx.rng, c.SPECIALS.get(ctx.spec.category.code, c.GENERIC_ACTS))
    return {**subject_fields(subject), **_authority(ctx), **_act_fields(ctx, act)}


def build_judicial(ctx: Context, subject: Subject) -> Record:
    rng = ctx.rng
    return {**subject_fields(subject), **_authority(ctx),
            "doc_number": doc_number(ctx.spec, ctx.day, ctx.decision, ctx.row),
            "matter": _pick(rng, c.JUDICIAL_MATTERS), "content": _pick(rng, c.JUDICIAL_DUTIES),
            "amount": _wan(_loguniform(rng, 0.5, 500)), "executee_flag": "是" if rng.random() < 0.3 else "否",
            "decision_date": ctx.date(ctx.decision)}


def build_list_entry(ctx: Context, subject: Subject) -> Record:
    rng, category = ctx.rng, ctx.spec.category.code
    list_type, reason = _pick(rng, c.LISTS.get(category, c.LISTS["C15"]))
    if category == "C15":
        end = ctx.date(add_months(ctx.decision, 24))
    else:
        end = ctx.date(add_months(ctx.decision, 12)) if rng.random() < 0.1 else ""
    return {**subject_fields(subject), **_authority(ctx),
            "doc_number": doc_number(ctx.spec, ctx.day, ctx.decision, ctx.row), "list_type": list_type,
            "content": reason, "decision_date": ctx.date(ctx.decision), "end_date": end}


def build_commitment(ctx: Context, subject: Subject) -> Record:
    rng = ctx.rng
    return {**subject_fields(subject), **_authority(ctx),
            "doc_number": doc_number(ctx.spec, ctx.day, ctx.decision, ctx.row),
            "commitment_type": _pick(rng, c.COMMITMENT_TYPES), "matter": _pick(rng, c.COMMITMENT_MATTERS),
            "decision_date": ctx.date(ctx.decision)}


def build_fulfilment(ctx: Context, subject: Subject, commitment_ref: str = "") -> Record:
    rng = ctx.rng
    return {**subject_fields(subject), **_authority(ctx),
            "doc_number": doc_number(ctx.spec, ctx.day, ctx.decision, ctx.row),
            "commitment_ref": commitment_ref,
            "fulfilment_status": "已践诺" if rng.random() < 0.9 else "未践诺",
            "decision_date": ctx.date(ctx.decision)}


def build_contract(ctx: Context, subject: Subject) -> Record:
    rng = ctx.rng
    return {**subject_fields(subject), **_authority(ctx),
            "doc_number": doc_number(ctx.spec, ctx.day, ctx.decision, ctx.row),
            "matter": f"{ctx.decision.year}年度{_pick(rng, c.CONTRACTS)}",
            "amount": _wan(_loguniform(rng, 5, 2000)),
            "contract_status": _pick(rng, c.CONTRACT_STATUS), "decision_date": ctx.date(ctx.decision)}


def build_evaluation(ctx: Context, subject: Subject) -> Record:
    rng, department = ctx.rng, ctx.spec.department.code
    if subject.is_person:
        matter, results = _pick(rng, c.QUALIFICATIONS.get(department, c.QUALIFICATIONS["hrss"]))
    else:
        matter, results = _pick(rng, c.EVALUATIONS.get(department, c.GENERIC_EVALUATIONS))
    valid_to = ctx.date(add_months(ctx.decision, 12 * rng.randint(1, 3))) if rng.random() < 0.7 else ""
    return {**subject_fields(subject), **_authority(ctx),
            "doc_number": doc_number(ctx.spec, ctx.day, ctx.decision, ctx.row), "matter": matter,
            "result": _pick(rng, results), "decision_date": ctx.date(ctx.decision), "valid_to": valid_to}


def registration_authority(subject: Subject, department: str) -> str:
    if department == "market_regulation":
        return f"{subject.area.full}市场监督管理局"
    if department == "civil_affairs":
        return f"{subject.area.full}民政局"
    if department == "justice":
        return "山西省司法厅"
    return "中共大同市委机构编制委员会办公室"


def build_registration(ctx: Context, subject: Subject, established: dt.date) -> Record:
    rng = ctx.rng
    scope = ""
    if subject.kind == "91":
        scope = next((s for ind, s in v.INDUSTRIES if ind in subject.name), "")
    elif subject.kind == "92":
        scope = "零售、餐饮及居民服务"
    capital = ""
    if subject.kind in ("91", "93", "31", "51", "52", "53") and rng.random() < 0.9:
        capital = _wan(_loguniform(rng, 3, 5000 if subject.kind == "91" else 300))
    status = "存续" if established >= ctx.day - dt.timedelta(days=30) else \
        _pick(rng, ("存续", "存续", "存续", "存续", "存续", "存续", "在业", "在业", "吊销", "注销", "迁出"))
    department = ctx.spec.department
    return {"subject_name": subject.name, "subject_type": subject.subject_type, "uscc": subject.code,
            "legal_rep": subject.legal_rep,
            "reg_authority": registration_authority(subject, department.code),
            "establish_date": ctx.date(established), "reg_capital": capital,
            "address": f"{v.PROVINCE}{subject.area.full}{_pick(rng, v.ROADS)}{rng.randint(1, 399)}号",
            "business_scope": scope if rng.random() < 0.9 else "", "reg_status": status,
            "data_source_unit": department.name, "data_source_uscc": department.uscc, "remarks": ""}


def account_number(spec: FeedSpec, subject: Subject) -> str:
    """A stable account number per (feed, subject); tax accounts are the taxpayer's code."""
    prefix = ACCOUNT_PREFIX.get(spec.category.code)
    if prefix is None:
        return subject.code
    return f"{prefix}{(subject.index * 7919 + 104729 * len(prefix)) % 10**10:010d}"


def build_payment(ctx: Context, subject: Subject, arrears: bool, base: float) -> Record:
    """One monthly bill; ``base`` is the account's typical monthly amount (yuan)."""
    rng = ctx.rng
    period_end = ctx.day.replace(day=1) - dt.timedelta(days=1)
    due = round(base * (0.7 + 0.6 * rng.random()), 2)
    paid = due
    if arrears:  # nothing paid, or a part
        paid = 0.0 if rng.random() < 0.6 else round(due * rng.uniform(0.1, 0.6), 2)
    paid_on = ""
    if paid > 0:
        # paid after the billing month, before the delivery day
        paid_on = ctx.date(period_end + dt.timedelta(days=rng.randint(1, max(1, ctx.day.day - 1))))
    department = ctx.spec.department
    remarks = "欠费" if arrears and rng.random() < 0.5 else ""
    return {"subject_name": subject.name, "uscc": subject.code,
            "account_no": account_number(ctx.spec, subject),
            "billing_period": f"{period_end.year}{period_end.month:02d}", "amount_due": f"{due:.2f}",
            "amount_paid": f"{paid:.2f}", "payment_date": paid_on, "arrears": f"{due - paid:.2f}",
            "data_source_unit": department.name, "data_source_uscc": department.uscc, "remarks": remarks}


BUILDERS: dict[str, Callable[[Context, Subject], Record]] = {
    "penalty": build_penalty, "licence": build_licence, "decision": build_decision, "special": build_special,
    "judicial": build_judicial, "list_entry": build_list_entry, "commitment": build_commitment,
    "fulfilment": build_fulfilment, "contract": build_contract, "evaluation": build_evaluation,
}


def _changed_amount(old: str, rng: random.Random) -> str:
    """A corrected amount in 万元 that really differs from ``old`` after rounding."""
    new = _wan(float(old) * rng.choice((0.5, 0.8, 1.2, 1.5, 2.0)))
    return new if new != old else _wan(float(old) + 0.01)


def correct(record: Record, spec: FeedSpec, rng: random.Random, text: Callable[[dt.date], str],
            day: dt.date) -> tuple[str, ...]:
    """Change a record in place as a department's correction would; returns the changed fields."""
    layout = spec.layout.name
    changed: list[str] = []
    if layout == "payment":
        due = float(record["amount_due"])
        if float(record["arrears"]) > 0:  # the arrears were settled: the bill is re-sent as paid
            record.update(amount_paid=f"{due:.2f}", arrears="0.00", payment_date=text(day))
            changed += ["amount_paid", "arrears", "payment_date"]
        else:  # meter re-read
            new = round(due * rng.uniform(0.8, 0.95), 2)
            record.update(amount_due=f"{new:.2f}", amount_paid=f"{new:.2f}")
            changed += ["amount_due", "amount_paid"]
    elif layout == "penalty" and record.get("fine_amount"):
        fine = _changed_amount(record["fine_amount"], rng)
        record.update(fine_amount=fine, content=penalty_content(
            record["penalty_category"], fine, record.get("confiscation_amount", "")))
        changed += ["fine_amount", "content"]
    elif layout == "registration":
        record["address"] = f"{v.PROVINCE}{v.CITY}{_pick(rng, v.ROADS)}{rng.randint(400, 999)}号"
        changed.append("address")
    elif layout == "fulfilment":
        record["fulfilment_status"] = "未践诺" if record["fulfilment_status"] == "已践诺" else "已践诺"
        changed.append("fulfilment_status")
    elif layout == "evaluation":
        record["result"] = record["result"] + "（复核）"
        changed.append("result")
    elif record.get("amount"):
        record["amount"] = _changed_amount(record["amount"], rng)
        changed.append("amount")
    else:
        field = "content" if "content" in record else "matter"
        record[field] = record[field].rstrip("。") + "（更正）"
        changed.append(field)
    if "remarks" in spec.field_names:
        record["remarks"] = "数据更正"
        changed.append("remarks")
    return tuple(changed)
