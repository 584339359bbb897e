"""The catalogue seeds: the single source of truth for feeds, record layouts, validation and dbt.

A city changes its catalogue by editing ``seeds/*.csv``; nothing here hard-codes a category.
"""

from __future__ import annotations

import csv
import functools
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cached_property
from pathlib import Path

from credit_warehouse.settings import SEEDS_DIR

ORG_SUBJECT_TYPES = ("法人及非法人组织", "个体工商户")
PERSON_SUBJECT_TYPE = "自然人"


@functools.lru_cache(maxsize=1 << 16)  # the same few hundred headers, read in every file's first rows
def normalize_header(text: str) -> str:
    """Header as compared for matching: NFKC (full-width brackets/digits), no whitespace, no BOM."""
    return "".join(unicodedata.normalize("NFKC", text).replace("\ufeff", "").split())


@dataclass(frozen=True)
class FieldSpec:
    layout: str
    position: int
    field: str
    header_zh: str
    aliases: tuple[str, ...]
    requirement: str  # required | optional | org | person | fine
    data_type: str  # text | date | amount | enum | uscc | id_number | period
    enum_values: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    name: str
    description_zh: str
    key_fields: tuple[str, ...]
    event_date_field: str
    timeliness_applies: bool


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    category_class: str
    layout: str
    is_special_52: bool
    cadence: str  # daily | monthly
    subject_scope: str  # org | person | any
    # False for operational feeds (decision ledger, objections, repairs): loaded and validated like
    # any feed, but not one of the catalogue's categories, so they never count toward coverage.
    is_catalogue: bool = True
    is_double_publicity: bool = False  # 双公示 (licences, penalties): 上报率/合规率/及时率 apply


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    kind: str
    uscc: str
    region_code: str


@dataclass(frozen=True)
class Feed:
    feed_code: str
    department_code: str
    category_code: str
    file_format: str  # csv | xlsx | json
    encoding: str
    date_format: str
    cadence: str
    delivery_day: int | None
    active: bool


@dataclass(frozen=True)
class RegionPrefix:
    """A province-level division code prefix (first 2 digits of a 6-digit region code)."""

    prefix: str
    name: str
    level: str  # province | central | residence_permit
    valid_in: str  # both | uscc | resident_id: which codes may carry it


def _rows(seeds_dir: Path, name: str) -> list[dict[str, str]]:
    with (seeds_dir / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _split(value: str) -> tuple[str, ...]:
    return tuple(part for part in value.split("|") if part)


@dataclass(frozen=True)
class Catalogue:
    categories: dict[str, Category]
    layouts: dict[str, Layout]
    fields: dict[str, tuple[FieldSpec, ...]]  # by layout, in seed order
    departments: dict[str, Department]
    feeds: dict[tuple[str, str], Feed]  # (department_code, category_code)
    regions: dict[str, str]  # region_code -> name
    region_prefixes: dict[str, RegionPrefix] = dataclass_field(default_factory=dict)  # 2-digit prefix -> division

    @classmethod
    def load(cls, seeds_dir: Path = SEEDS_DIR) -> Catalogue:
        fields: dict[str, list[FieldSpec]] = {}
        for r in _rows(seeds_dir, "layout_fields.csv"):
            fields.setdefault(r["record_layout"], []).append(FieldSpec(
                r["record_layout"], int(r["field_position"]), r["field"], r["header_zh"],
                _split(r["header_aliases"]), r["requirement"], r["data_type"], _split(r["enum_values"])))
        feeds = {}
        for r in _rows(seeds_dir, "feed_registry.csv"):
            feed = Feed(r["feed_code"], r["department_code"], r["category_code"], r["file_format"],
                        r["encoding"], r["date_format"], r["cadence"],
                        int(r["delivery_day"]) if r["delivery_day"] else None, r["active"] == "true")
            feeds[(feed.department_code, feed.category_code)] = feed
        return cls(
            categories={r["category_code"]: Category(
                r["category_code"], r["category_name_zh"], r["category_name_en"], r["category_class"],
                r["record_layout"], r["is_special_52"] == "true", r["cadence"], r["subject_scope"],
                r.get("is_catalogue", "true") == "true", r.get("is_double_publicity", "false") == "true")
                for r in _rows(seeds_dir, "catalogue_categories.csv")},
            layouts={r["record_layout"]: Layout(
                r["record_layout"], r["description_zh"], _split(r["key_fields"]), r["event_date_field"],
                r["timeliness_applies"] == "true") for r in _rows(seeds_dir, "record_layouts.csv")},
            fields={k: tuple(v) for k, v in fields.items()},
            departments={r["department_code"]: Department(
                r["department_code"], r["department_name"], r["department_kind"], r["department_uscc"],
                r["region_code"]) for r in _rows(seeds_dir, "departments.csv")},
            feeds=feeds,
            regions={r["region_code"]: r["region_name"] for r in _rows(seeds_dir, "region_codes.csv")},
            region_prefixes={r["prefix"]: RegionPrefix(r["prefix"], r["region_name"], r["level"], r["valid_in"])
                             for r in _rows(seeds_dir, "region_prefixes.csv")},
        )

    @cached_property
    def all_fields(self) -> tuple[str, ...]:
        """Every canonical field of every layout, in first-seen order: the raw table's value columns."""
        seen: dict[str, None] = {}
        for specs in self.fields.values():
            for spec in specs:
                seen.setdefault(spec.field, None)
        return tuple(seen)

    def region_prefixes_for(self, code_kind: str) -> tuple[str, ...]:
        """Province-level prefixes a code of ``code_kind`` (uscc | resident_id) may start its region with."""
        return tuple(sorted(p.prefix for p in self.region_prefixes.values() if p.valid_in in ("both", code_kind)))

    def layout_of(self, category_code: str) -> Layout:
        return self.layouts[self.categories[category_code].layout]

    def fields_of(self, category_code: str) -> tuple[FieldSpec, ...]:
        return self.fields[self.categories[category_code].layout]

    def header_map(self, category_code: str) -> dict[str, str]:
        """Normalised Chinese header (or alias) -> canonical field, for one category's layout."""
        mapping: dict[str, str] = {}
        for spec in self.fields_of(category_code):
            for name in (spec.header_zh, *spec.aliases):
                mapping.setdefault(normalize_header(name), spec.field)
        return mapping

    @property
    def catalogue_codes(self) -> tuple[str, ...]:
        """The catalogue's own categories (33 by default), without the operational feeds."""
        return tuple(code for code, category in self.categories.items() if category.is_catalogue)

    def responsibilities(self) -> list[tuple[str, str]]:
        """(department, category) pairs a department must deliver: the active feeds."""
        return sorted(key for key, feed in self.feeds.items() if feed.active)
