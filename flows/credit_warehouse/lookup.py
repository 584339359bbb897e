"""Look up one subject's credit file in the published warehouse (``creditwh show``, the benchmark).

Subjects are keyed by USCC; natural persons by 'P' + a keyed hash of the resident ID number, so the
published marts never hold the number itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from credit_warehouse.codes import normalize_code, person_key

RESIDENT_ID = re.compile(r"^\d{17}[\dXx]$")
PROFILE_SQL = "select * from marts.mart_subject_credit_file where subject_key = ?"
CATEGORIES_SQL = "select * from marts.mart_subject_category_summary where subject_key = ? order by category_code"


@dataclass(frozen=True)
class CreditFile:
    profile: dict[str, Any]
    categories: list[dict[str, Any]]
    category_columns: list[str]


def subject_key(code: str, pii_secret: str) -> str:
    """The key of a USCC or resident ID as staging computes it (full-width digits, spaces, lower x)."""
    code = normalize_code(code)
    return "P" + person_key(code, pii_secret) if RESIDENT_ID.match(code) else code


def _dicts(cursor: duckdb.DuckDBPyConnection) -> tuple[list[str], list[dict[str, Any]]]:
    names = [d[0] for d in cursor.description or []]
    return names, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def credit_file(con: duckdb.DuckDBPyConnection, key: str) -> CreditFile | None:
    """The subject's profile row and its per-category summary; None when the key is unknown."""
    _, profiles = _dicts(con.execute(PROFILE_SQL, [key]))
    if not profiles:
        return None
    columns, categories = _dicts(con.execute(CATEGORIES_SQL, [key]))
    return CreditFile(profiles[0], categories, columns)
