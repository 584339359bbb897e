"""Inline SVG charts for the review page: no script, no library, nothing fetched."""

from __future__ import annotations

import datetime as dt
from html import escape


def _points(values: list[int], width: float, height: float, top: int, pad: float = 2.0) -> str:
    if not values:
        return ""
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    scale = (height - 2 * pad) / max(top, 1)
    return " ".join(f"{pad + i * step:.1f},{height - pad - v * scale:.1f}" for i, v in enumerate(values))


def sparkline(values: list[int], width: int = 120, height: int = 24) -> str:
    """A small line of open failures per day (last value marked)."""
    if not values:
        return ""
    top = max(values)
    label = f"未关闭问题：最低 {min(values)}，最高 {top}，最新 {values[-1]}"
    points = _points(values, width, height, top)
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
            f'<polyline fill="none" stroke="#c0392b" stroke-width="1.5" points="{points}"/></svg>')


def trend_chart(days: list[dt.date], series: dict[str, tuple[list[int], str]], width: int = 900,
                height: int = 240) -> str:
    """Lines per series (label -> (values, colour)) over the days, with axis labels and a legend."""
    if not days:
        return '<p class="muted">暂无数据。</p>'
    left, plot_w, plot_h = 48, width - 60, height - 48
    top = max([max(values, default=0) for values, _ in series.values()] + [1])
    parts = [f'<svg class="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="未关闭问题趋势"><title>未关闭问题趋势（{days[0]} 至 {days[-1]}）</title>',
             f'<g transform="translate({left},12)">',
             f'<line x1="0" y1="{plot_h}" x2="{plot_w}" y2="{plot_h}" stroke="#999"/>',
             f'<line x1="0" y1="0" x2="0" y2="{plot_h}" stroke="#999"/>',
             f'<text x="-6" y="10" text-anchor="end" class="axis">{top}</text>',
             f'<text x="-6" y="{plot_h}" text-anchor="end" class="axis">0</text>',
             f'<text x="0" y="{plot_h + 18}" class="axis">{days[0].isoformat()}</text>',
             f'<text x="{plot_w}" y="{plot_h + 18}" text-anchor="end" class="axis">{days[-1].isoformat()}</text>']
    for n, (label, (values, colour)) in enumerate(series.items()):
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{_points(values, plot_w, plot_h, top, 0)}"><title>{escape(label)}</title></polyline>')
        parts.append(f'<rect x="{plot_w - 220 + n * 110}" y="-8" width="12" height="4" fill="{colour}"/>'
                     f'<text x="{plot_w - 204 + n * 110}" y="-3" class="axis">{escape(label)}</text>')
    parts.append("</g></svg>")
    return "".join(parts)
