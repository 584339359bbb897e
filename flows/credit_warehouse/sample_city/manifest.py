"""What the sample city generated: files, injected defects and corrections, saved as JSON.

Pipeline tests read it to check that every injected defect is caught, so each defect names the exact
file (relative to the inbox, forward slashes), 1-based data row (header excluded), field and value.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from credit_warehouse.sample_city.rates import BAD_CHECK_CHAR, INVALID_PAIR


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    source_file: str
    department_code: str
    category_code: str
    business_date: dt.date
    file_format: str
    encoding: str  # "" for xlsx
    rows: int
    role: str  # delivery | duplicate | correction
    sha256: str


@dataclass(frozen=True, slots=True)
class InjectedDefect:
    kind: str
    department_code: str
    category_code: str
    source_file: str | None  # None only for missing_category (no file exists)
    row_number: int | None  # None for file-level kinds (duplicate_file, missing_category)
    field: str | None  # canonical field name (catalogue ``field``), e.g. "decision_date"
    value: str | None  # value as written ("" for a blanked field)
    record_key: str | None  # key as written: doc_number, uscc (registration) or account_no|billing_period
    detail: str = ""
    original_file: str | None = None  # corrected_resend / duplicate_file: the first delivery
    original_row: int | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    """A record re-sent in a ``_corr1`` file with the same key and changed values."""

    correction_file: str
    correction_row: int
    original_file: str
    original_row: int
    department_code: str
    category_code: str
    record_key: str
    changed_fields: tuple[str, ...]
    original_in_range: bool  # False: the original was delivered before the generated range


@dataclass(frozen=True, slots=True)
class ConcealedDecision:
    """A 双公示 decision in a department's ledger (台账) that no licence / penalty file ever reports."""

    department_code: str
    category_code: str  # the 双公示 category the decision belongs to
    source_file: str  # the ledger file listing it
    row_number: int
    doc_number: str
    decision_date: dt.date


@dataclass(frozen=True, slots=True)
class HandledCase:
    """An objection (异议) or credit repair (信用修复) request as delivered by the handling department."""

    kind: str  # objection | repair
    department_code: str
    source_file: str
    row_number: int
    number: str  # 异议编号 / 修复申请编号
    ref_doc_number: str  # the objected record / the penalty to repair
    received_date: dt.date
    closed_date: dt.date | None  # None: still open when delivered
    outcome: str  # 异议成立 / 异议不成立 / 准予修复 / 不予修复, "" while open
    handling_workdays: int | None
    late: bool  # handled after the deadline (closed late)


def _date_or_none(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@dataclass
class GenerationManifest:
    parameters: dict[str, Any]
    files: list[GeneratedFile] = field(default_factory=list)
    defects: list[InjectedDefect] = field(default_factory=list)
    duplicate_files: list[tuple[str, str]] = field(default_factory=list)  # (original, copy)
    corrections: list[Correction] = field(default_factory=list)
    missing_feeds: list[tuple[str, str]] = field(default_factory=list)  # (department, category)
    bad_subject_codes: dict[str, list[str]] = field(default_factory=dict)  # kind -> codes delivered
    population: dict[str, int] = field(default_factory=dict)  # subjects per kind
    concealed_decisions: list[ConcealedDecision] = field(default_factory=list)
    cases: list[HandledCase] = field(default_factory=list)  # objections and repairs

    @property
    def records(self) -> int:
        """Data rows in delivered files (duplicates and corrections excluded)."""
        return sum(f.rows for f in self.files if f.role == "delivery")

    def subject_codes(self, kind: str) -> list[str]:
        """Defective subject codes (bad_check_char / invalid_pair) that appear in generated files."""
        if kind not in (BAD_CHECK_CHAR, INVALID_PAIR):
            raise ValueError(f"not a subject defect kind: {kind}")
        return list(self.bad_subject_codes.get(kind, []))

    def defects_of(self, kind: str) -> list[InjectedDefect]:
        return [d for d in self.defects if d.kind == kind]

    def kinds(self) -> set[str]:
        return {d.kind for d in self.defects}

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for defect in self.defects:
            counts[defect.kind] = counts.get(defect.kind, 0) + 1
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
        return (f"{len(self.files)} files, {self.records} records, "
                f"{sum(self.population.values())} subjects; defects: {parts}")

    def to_json(self) -> dict[str, Any]:
        def row(item: Any) -> dict[str, Any]:
            data = asdict(item)
            return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in data.items()}

        return {
            "parameters": self.parameters,
            "files": [row(f) for f in self.files],
            "defects": [row(d) for d in self.defects],
            "duplicate_files": [list(p) for p in self.duplicate_files],
            "corrections": [row(c) for c in self.corrections],
            "missing_feeds": [list(p) for p in self.missing_feeds],
            "bad_subject_codes": self.bad_subject_codes,
            "population": self.population,
            "concealed_decisions": [row(c) for c in self.concealed_decisions],
            "cases": [row(c) for c in self.cases],
        }

    def save(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GenerationManifest:
        defect_names = {f.name for f in fields(InjectedDefect)}
        return cls(
            parameters=data["parameters"],
            files=[GeneratedFile(**{**f, "business_date": _date_or_none(f["business_date"])})
                   for f in data["files"]],
            defects=[InjectedDefect(**{k: v for k, v in d.items() if k in defect_names})
                     for d in data["defects"]],
            duplicate_files=[(a, b) for a, b in data["duplicate_files"]],
            corrections=[Correction(**{**c, "changed_fields": tuple(c["changed_fields"])})
                         for c in data["corrections"]],
            missing_feeds=[(a, b) for a, b in data["missing_feeds"]],
            bad_subject_codes={k: list(v) for k, v in data["bad_subject_codes"].items()},
            population=dict(data["population"]),
            concealed_decisions=[ConcealedDecision(**{**c, "decision_date": _date_or_none(c["decision_date"])})
                                 for c in data.get("concealed_decisions", [])],
            cases=[HandledCase(**{**c, "received_date": _date_or_none(c["received_date"]),
                                  "closed_date": _date_or_none(c["closed_date"])}) for c in data.get("cases", [])],
        )

    @classmethod
    def load(cls, path: Path | str) -> GenerationManifest:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
