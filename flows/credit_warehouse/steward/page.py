"""The review page: one static HTML file for data stewards (in Chinese), self-contained.

Inline CSS and SVG; a four-line inline script only opens a department's drill-down when the page is
opened at its anchor. No font, style sheet, script or image is fetched from anywhere. Key numbers
carry ``data-metric`` attributes and department rows ``data-*`` counts, so a test (or a scraper)
reads them without parsing text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape

from credit_warehouse.steward.charts import sparkline, trend_chart
from credit_warehouse.steward.review_data import (
    SEVERITY_ZH,
    STATUS_ZH,
    DepartmentReview,
    Failure,
    ReviewData,
)

CSS = """
body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Helvetica Neue", Arial, sans-serif;
       margin: 0 auto; max-width: 1600px; padding: 0 1.5rem 3rem; color: #222; line-height: 1.45; }
header { border-bottom: 2px solid #1f4e79; margin-bottom: 1rem; }
h1 { color: #1f4e79; font-size: 1.6rem; margin: 1rem 0 .3rem; }
h2 { color: #1f4e79; font-size: 1.2rem; margin-top: 2rem; border-left: 4px solid #1f4e79; padding-left: .5rem; }
nav a { margin-right: 1.2rem; }
a { color: #0b5cad; }
.muted { color: #666; font-size: .9rem; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem 1rem; min-width: 9rem; background: #f8fafc; }
.card .label { color: #555; font-size: .85rem; }
.card .value { font-size: 1.6rem; font-weight: bold; }
.blocking { color: #b00020; } .warning { color: #9a6700; } .ok { color: #1b7f2a; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .88rem; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .25rem .45rem; vertical-align: top; text-align: left; }
th { background: #eef3f8; position: sticky; top: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.zero td { color: #888; }
table.failures td:nth-child(8), table.failures td:nth-child(10), table.failures th { white-space: nowrap; }
table.failures td:nth-child(7) { min-width: 18rem; }
details.department { border: 1px solid #d0d7de; border-radius: 6px; margin: .6rem 0; padding: .3rem .8rem; }
details.department > summary { cursor: pointer; font-weight: bold; padding: .3rem 0; }
details.closed-list > summary { cursor: pointer; color: #555; }
.axis { font-size: 11px; fill: #555; }
code { font-size: .85rem; }
footer { margin-top: 3rem; color: #666; font-size: .85rem; border-top: 1px solid #ddd; padding-top: .6rem; }
"""
# Open the drill-down a link points at (#dept-...): <details> stays closed on plain anchor navigation.
SCRIPT = """
function openTarget() { var el = location.hash && document.getElementById(location.hash.slice(1));
  if (el && el.tagName === "DETAILS") { el.open = true; } }
window.addEventListener("hashchange", openTarget); document.addEventListener("DOMContentLoaded", openTarget);
"""
FAILURE_HEADERS = ("数据类别", "来源文件", "行号", "记录主键", "问题字段", "问题值", "问题说明", "严重程度", "规则",
                   "首次发现")


@dataclass(frozen=True)
class PageLinks:
    """Relative links from the page (they work from the file system, no server)."""

    data_docs: str  # Data Docs index
    suites: dict[str, str] = field(default_factory=dict)  # suite -> its Data Docs page, when built
    # (rule_id, field, category) -> the Data Docs page of the GX suite holding that rule's expectation
    rules: dict[tuple[str, str, str], str] = field(default_factory=dict)
    corrections: dict[str, tuple[str, str]] = field(default_factory=dict)  # department -> (csv, xlsx)
    corrections_dir: str | None = None


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"


def _row(cells: Iterable[object], numeric: Iterable[int] = (), attributes: str = "") -> str:
    numbers = set(numeric)
    return (f"<tr{attributes}>" + "".join(f'<td class="num">{c}</td>' if i in numbers else f"<td>{c}</td>"
                                          for i, c in enumerate(cells)) + "</tr>")


def _table(headers: Iterable[str], rows: list[str], table_id: str = "", numeric: Iterable[int] = (),
           css_class: str = "") -> str:
    numbers = set(numeric)
    head = "".join(f'<th class="num">{_e(h)}</th>' if i in numbers else f"<th>{_e(h)}</th>"
                   for i, h in enumerate(headers))
    ident = (f' id="{table_id}"' if table_id else "") + (f' class="{css_class}"' if css_class else "")
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _summary(data: ReviewData) -> str:
    affected = sum(1 for d in data.departments if d.open_total)
    cards = (("未关闭问题", "open-total", data.open_total, ""),
             ("其中阻断（未入库）", "open-blocking", data.open_blocking, "blocking"),
             ("其中警告（已入库并标记）", "open-warning", data.open_warning, "warning"),
             ("已关闭（更正重报）", "closed", data.closed, "ok"),
             ("涉及部门", "departments-with-open", affected, ""),
             ("合规率（全部报送）", "compliance-rate", _percent(data.compliance_rate), ""))
    return '<section id="summary" class="cards">' + "".join(
        f'<div class="card"><div class="label">{_e(label)}</div>'
        f'<div class="value {css}" data-metric="{metric}">{_e(value)}</div></div>'
        for label, metric, value, css in cards) + "</section>"


def _trend(data: ReviewData) -> str:
    days = [d.day for d in data.trend]
    chart = trend_chart(days, {"未关闭问题": ([d.open_total for d in data.trend], "#1f4e79"),
                               "其中阻断": ([d.open_blocking for d in data.trend], "#b00020")})
    rows = [_row([_e(d.day), d.open_total, d.open_blocking, d.open_warning, d.new, d.closed], range(1, 6),
                 f' data-day="{d.day}" data-open="{d.open_total}"') for d in reversed(data.trend)]
    table = _table(("报送日期", "未关闭", "阻断", "警告", "新增", "关闭"), rows, "trend-table", range(1, 6))
    return (f'<section id="trend"><h2>未关闭问题趋势（按报送日期）</h2>{chart}'
            f'<details><summary>按日数据</summary>{table}</details></section>')


def _ranking(data: ReviewData, links: PageLinks) -> str:
    rows = []
    for rank, d in enumerate(data.departments, start=1):
        files = links.corrections.get(d.code)
        download = (f'<a href="{_e(files[0])}">CSV</a> <a href="{_e(files[1])}">XLSX</a>' if files else "—")
        rejected = sum(1 for x in d.deliveries if x.outcome == "rejected" and not x.resent)
        attributes = (f' data-department="{_e(d.code)}" data-open="{d.open_total}" data-blocking="{d.open_blocking}" '
                      f'data-warning="{d.open_warning}" data-closed="{d.closed}"'
                      + ("" if d.open_total or d.deliveries else ' class="zero"'))
        rows.append(_row([rank, f'<a href="#dept-{_e(d.code)}">{_e(d.name)}</a>', d.open_total,
                          f'<span class="blocking">{d.open_blocking}</span>', d.open_warning, d.closed,
                          _percent(d.compliance_rate), _percent(d.month_compliance_rate),
                          len(d.uncovered_categories), rejected, sparkline(d.trend), download],
                         (0, 2, 3, 4, 5, 6, 7, 8, 9), attributes))
    month = f"（{data.month:%Y年%m月}）" if data.month else ""
    headers = ("排名", "部门", "未关闭", "阻断", "警告", "已关闭", "合规率（全部）", f"合规率{month}",
               f"目录未覆盖类别{month}", "被拒收文件", "趋势", "更正清单")
    return (f'<section id="ranking"><h2>部门排名（按未关闭问题数）</h2>'
            f'{_table(headers, rows, "department-ranking", (0, 2, 3, 4, 5, 6, 7, 8, 9))}</section>')


def _failure_rows(failures: list[Failure], links: PageLinks) -> list[str]:
    rows = []
    for f in failures:
        suite = links.rules.get((f.rule_id, f.field, f.category_code)) or links.suites.get(f.suite)
        rule = f'<a href="{_e(suite)}">{_e(f.rule_id)}</a>' if suite else _e(f.rule_id)
        severity = f'<span class="{f.severity}">{SEVERITY_ZH[f.severity]}</span>'
        closed = (f"<br><span class=\"muted\">{STATUS_ZH[f.status]} {_e(f.closed_on)}：{_e(f.closed_by_source_file)} "
                  f"第{_e(f.closed_by_row_number)}行</span>" if f.closed_on else "")
        value = f"<code>{_e(f.offending_value)}</code>"
        rows.append(_row([f"{_e(f.category_code)} {_e(f.category_name)}", f"<code>{_e(f.source_file)}</code>",
                          f.row_number, _e(f.record_key), _e(f.field_header_zh), value,
                          _e(f.reason_zh) + closed, severity, rule, _e(f.failing_since)], (2,),
                         f' data-failure-id="{_e(f.failure_id)}" data-status="{_e(f.status)}" '
                         f'data-rule="{_e(f.rule_id)}" data-source-file="{_e(f.source_file)}" '
                         f'data-row="{f.row_number}"'))
    return rows


def _truncation_note(d: DepartmentReview, links: PageLinks) -> str:
    files = links.corrections.get(d.code)
    where = (f'<a href="{_e(files[0])}">CSV</a> / <a href="{_e(files[1])}">XLSX</a>' if files else "更正清单")
    return (f'<p class="muted truncated" data-open-shown="{len(d.open_failures)}" data-open-total="{d.open_total}">'
            f"本页列出最近发现的 {len(d.open_failures)} 条未关闭问题（共 {d.open_total} 条），"
            f"完整清单见本部门更正清单（{where}）。</p>")


def _department_details(d: DepartmentReview, links: PageLinks) -> str:
    open_rows, closed = _failure_rows(d.open_failures, links), [f for f in d.failures if not f.is_open]
    parts = [f'<details class="department" id="dept-{_e(d.code)}" data-department="{_e(d.code)}">'
             f"<summary>{_e(d.name)}（{_e(d.code)}）— 未关闭 {d.open_total}"
             f"（阻断 {d.open_blocking}，警告 {d.open_warning}），已关闭 {d.closed}</summary>"]
    if d.uncovered_categories:
        parts.append(f"<p>本月未报送其负责的目录类别：{_e('、'.join(d.uncovered_categories))}</p>")
    if len(d.open_failures) < d.open_total:
        parts.append(_truncation_note(d, links))
    none = '<p class="ok">无未关闭问题。</p>'
    parts.append(_table(FAILURE_HEADERS, open_rows, numeric=(2,), css_class="failures") if open_rows else none)
    if closed:
        table = _table(FAILURE_HEADERS, _failure_rows(closed, links), numeric=(2,), css_class="failures")
        parts.append(f'<details class="closed-list"><summary>最近已关闭的问题（{len(closed)} 条）</summary>'
                     f"{table}</details>")
    if d.deliveries:
        rows = [_row([_e(x.business_date), f"<code>{_e(x.source_file)}</code>", _e(x.reason_zh),
                      _e(x.reason_detail), "已重新报送" if x.resent and x.outcome == "rejected" else
                      ("—" if x.outcome != "rejected" else "待重新报送")]) for x in d.deliveries]
        parts.append("<h4>文件报送问题</h4>" + _table(("报送日期", "文件", "问题", "详情", "状态"), rows))
    parts.append("</details>")
    return "".join(parts)


def _details(data: ReviewData, links: PageLinks) -> str:
    shown = [d for d in data.departments if d.failures or d.deliveries or d.uncovered_categories]
    return ('<section id="details"><h2>各部门问题明细</h2><p class="muted">点击部门名称展开；记录按来源文件和行号定位，'
            "证件号码已脱敏。</p>" + "".join(_department_details(d, links) for d in shown) + "</section>")


def _rules(data: ReviewData, links: PageLinks) -> str:
    rows = []
    for r in data.rule_counts:
        suite = links.suites.get(r["suite"])
        name = f'<a href="{_e(suite)}">{_e(r["suite"])}</a>' if suite else _e(r["suite"])
        rows.append(_row([_e(r["rule_id"]), name, SEVERITY_ZH.get(r["severity"], r["severity"]), r["open"],
                          r["total"]], (3, 4), f' data-rule="{_e(r["rule_id"])}" data-open="{r["open"]}"'))
    return (f'<section id="rules"><h2>校验规则命中情况</h2>'
            f'{_table(("规则", "校验套件", "严重程度", "未关闭", "合计"), rows, "rule-counts", (3, 4))}</section>')


def render_page(data: ReviewData, links: PageLinks, generated_at: dt.datetime) -> str:
    as_of = data.as_of.isoformat() if data.as_of else "—"
    corrections = (f'<a id="corrections-link" href="{_e(links.corrections_dir)}">更正清单文件夹</a>'
                   if links.corrections_dir else "")
    return "".join([
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>数据质量审核 · 校验问题台账（截至 {as_of}）</title><style>{CSS}</style>",
        f"<script>{SCRIPT}</script></head><body>",
        '<header><h1>公共信用信息平台 · 数据质量审核</h1>',
        f'<p class="muted">截至报送日期 <span data-metric="as-of">{as_of}</span>；最近校验批次 '
        f'<code data-metric="latest-run">{_e(data.latest_run_id)}</code></p>',
        f'<nav><a id="data-docs-link" href="{_e(links.data_docs)}">校验结果详情（Great Expectations Data Docs）</a>'
        f"{corrections}</nav></header>",
        _summary(data), _trend(data), _ranking(data, links), _details(data, links), _rules(data, links),
        f"<footer>生成于 {generated_at:%Y-%m-%d %H:%M:%S}。本页为离线静态页面，不访问任何网络资源；"
        "证件号码均已脱敏，部门可按来源文件和行号定位原记录。阻断类问题的记录未入库、不对外发布；"
        "警告类问题的记录已入库并标记。同一记录（相同部门、类别和记录主键）更正后重新报送即自动关闭问题。</footer>",
        "</body></html>",
    ])
