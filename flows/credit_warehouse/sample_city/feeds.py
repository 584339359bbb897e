"""Per-feed delivery habits: column headers (catalogue header or alias), an extra column, volume.

Everything here depends on (seed, feed) only, so a feed looks the same on every day it delivers.
"""

from __future__ import annotations

from dataclasses import dataclass

from credit_warehouse.catalogue import (
    Catalogue,
    Category,
    Department,
    Feed,
    FieldSpec,
    Layout,
    normalize_header,
)
from credit_warehouse.sample_city.streams import stream

# Records per working day per 10,000 subjects for one feed of the category: penalties and licences
# are frequent, adjudication (C08) and compensation (C09) rare. Unknown categories get 1.
DAILY_WEIGHTS = {"C02": 8.0, "C03": 8.0, "C04": 2.0, "C05": 2.0, "C06": 1.5, "C07": 2.0, "C08": 0.3,
                 "C09": 0.3, "C10": 1.0, "C11": 5.0, "C12": 6.0, "C13": 0.6, "C14": 5.0, "C15": 1.0,
                 "C16": 6.0, "C17": 4.0, "C18": 2.0, "C19": 3.0, "C20": 3.0, "C27": 5.0, "C28": 2.0,
                 "C29": 1.0, "C30": 2.0, "C31": 1.0, "C32": 1.5, "C33": 3.0}
# Share of natural persons among subjects of "any"-scope categories (public security mostly fines people).
PERSON_SHARES = {"C02": 0.15, "C03": 0.3, "C07": 0.5, "C10": 0.3, "C12": 0.35}
DEPARTMENT_PERSON_SHARES = {"public_security": 0.7}
# Monthly bills: share of organisations holding an account, and which kinds may hold one.
ACCOUNT_SHARES = {"C21": 0.35, "C22": 0.3, "C23": 0.15, "C24": 0.2, "C25": 0.25, "C26": 0.1}
ACCOUNT_KINDS = {"C21": frozenset({"91", "92", "93"})}
# Account number prefixes per category; tax accounts are the taxpayer's code itself.
ACCOUNT_PREFIX = {"C22": "SB", "C23": "GJJ", "C24": "SW", "C25": "14", "C26": "RQ"}
# Categories where repeat offenders draw a fifth of the records (屡禁不止、屡罚不改).
HOT_CATEGORIES = frozenset({"C03", "C12", "C13", "C14"})
# Columns some departments' systems export on top of the catalogue: the pipeline must keep them.
EXTRA_COLUMNS = ("内部编号", "序号", "录入人", "更新时间", "信息来源系统")
ALIAS_SHARE = 0.3
EXTRA_SHARE = 0.35


@dataclass(frozen=True)
class FeedSpec:
    feed: Feed
    department: Department
    category: Category
    layout: Layout
    fields: tuple[FieldSpec, ...]
    headers: tuple[str, ...]  # file columns: catalogue fields in field_position order (+ extra)
    extra: str | None
    extra_first: bool
    crlf: bool  # CSV line ends: Windows exports (GB18030 ones) use CRLF

    @property
    def code(self) -> str:
        return self.feed.feed_code

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields)

    @property
    def bound(self) -> bool:
        """Rows belong to given subjects (registrations, account holders) instead of random picks."""
        return self.layout.name in ("registration", "payment")

    @property
    def has_uscc(self) -> bool:
        return "uscc" in self.field_names and self.category.subject_scope != "person"

    @property
    def date_fields(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields if f.data_type == "date")

    @property
    def weight(self) -> float:
        return DAILY_WEIGHTS.get(self.category.code, 1.0)

    @property
    def person_share(self) -> float:
        scope = self.category.subject_scope
        if scope == "person":
            return 1.0
        if scope != "any":
            return 0.0
        return DEPARTMENT_PERSON_SHARES.get(self.department.code, PERSON_SHARES.get(self.category.code, 0.2))


def _headers(seed: int, feed: Feed, fields: tuple[FieldSpec, ...], header_map: dict[str, str]
             ) -> tuple[tuple[str, ...], str | None, bool]:
    rng = stream(seed, "headers", feed.feed_code)
    headers: list[str] = []
    for spec in fields:
        name = spec.header_zh
        if spec.aliases and rng.random() < ALIAS_SHARE:
            alias = spec.aliases[rng.randrange(len(spec.aliases))]
            # Only aliases that map back to this field (some aliases are other layouts' headers).
            if header_map.get(normalize_header(alias)) == spec.field and alias not in headers:
                name = alias
        headers.append(name)
    extra, first = None, False
    if rng.random() < EXTRA_SHARE:
        extra = EXTRA_COLUMNS[rng.randrange(len(EXTRA_COLUMNS))]
        if normalize_header(extra) in header_map:
            extra = None
        else:
            first = extra == "序号"
            headers = [extra, *headers] if first else [*headers, extra]
    return tuple(headers), extra, first


def feed_specs(seed: int, catalogue: Catalogue) -> dict[str, FeedSpec]:
    """Every active feed's delivery habits, by feed code."""
    specs = {}
    for (department, category), feed in sorted(catalogue.feeds.items()):
        if not feed.active or category not in catalogue.categories or department not in catalogue.departments:
            continue
        fields = tuple(sorted(catalogue.fields_of(category), key=lambda f: f.position))
        headers, extra, first = _headers(seed, feed, fields, catalogue.header_map(category))
        specs[feed.feed_code] = FeedSpec(
            feed, catalogue.departments[department], catalogue.categories[category],
            catalogue.layout_of(category), fields, headers, extra, first, crlf=feed.encoding == "gb18030")
    return specs


def missing_feeds(seed: int, specs: dict[str, FeedSpec], departments: int) -> list[tuple[str, str]]:
    """(department, category) pairs a department never sends although it is responsible for them.

    Picked among departments with at least two catalogue feeds; registrations and monthly bills are
    spared so that subject names and the 52号文 categories still arrive. Operational feeds (ledger,
    objections, repairs) are never picked: they are not catalogue categories.
    """
    by_department: dict[str, list[FeedSpec]] = {}
    for spec in specs.values():
        if not spec.category.is_catalogue:
            continue
        by_department.setdefault(spec.department.code, []).append(spec)
    candidates = sorted(d for d, feeds in by_department.items() if len(feeds) >= 2)
    rng = stream(seed, "missing-feeds")
    chosen = rng.sample(candidates, min(departments, len(candidates)))
    missing = []
    for department in sorted(chosen):
        feeds = sorted(by_department[department], key=lambda s: s.code)
        ordinary = [s for s in feeds if s.feed.cadence == "daily" and not s.bound] or feeds
        pick = ordinary[rng.randrange(len(ordinary))]
        missing.append((department, pick.category.code))
    return missing
