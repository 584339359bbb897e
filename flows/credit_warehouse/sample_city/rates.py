"""Which defects the sample city injects, and how often."""

from __future__ import annotations

from dataclasses import dataclass, fields

# Defect kinds as they appear in the manifest.
BAD_CHECK_CHAR = "bad_check_char"
INVALID_PAIR = "invalid_pair"
DUPLICATE_CODE = "duplicate_code"
MISSING_REQUIRED = "missing_required"
BAD_DATE = "bad_date"
LATE_REPORT = "late_report"
DUPLICATE_FILE = "duplicate_file"
CORRECTED_RESEND = "corrected_resend"
MISSING_CATEGORY = "missing_category"
UNKNOWN_REGION = "unknown_region"  # subject code whose region code has no province-level division
DUPLICATE_KEY = "duplicate_key"  # a row repeating the record key of the row above (same file)
UNIDENTIFIABLE_SUBJECT = "unidentifiable_subject"  # no subject type and no code: the subject cannot resolve

SUBJECT_KINDS = (BAD_CHECK_CHAR, INVALID_PAIR)  # a property of the subject, on every record of it
ROW_KINDS = (DUPLICATE_CODE, MISSING_REQUIRED, BAD_DATE, LATE_REPORT, UNKNOWN_REGION, DUPLICATE_KEY,
             UNIDENTIFIABLE_SUBJECT)  # one row each
ALL_KINDS = (*SUBJECT_KINDS, *ROW_KINDS, DUPLICATE_FILE, CORRECTED_RESEND, MISSING_CATEGORY)


@dataclass(frozen=True)
class DefectRates:
    """Defect rates. Subject kinds are shares of organisations, row kinds and corrections shares of
    records, ``duplicate_file`` a share of files; ``missing_category_departments`` is a count.

    Two rates shape the indicators rather than the validation: ``concealed_decision`` (双公示
    decisions in a department's ledger that it never reports: 上报率 < 100%, a share of reported
    decisions) and ``late_handling`` (objections and credit repairs handled after their deadline).
    They are listed in the manifest's ``concealed_decisions`` and ``cases``, not as defects."""

    bad_check_char: float = 0.003
    invalid_pair: float = 0.002
    duplicate_code: float = 0.003
    missing_required: float = 0.01
    bad_date: float = 0.005
    late_report: float = 0.02
    unknown_region: float = 0.003
    duplicate_key: float = 0.003
    unidentifiable_subject: float = 0.002
    duplicate_file: float = 0.02
    corrected_resend: float = 0.005
    missing_category_departments: int = 1
    concealed_decision: float = 0.05
    late_handling: float = 0.25

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "missing_category_departments":
                if not isinstance(value, int) or value < 0:
                    raise ValueError("missing_category_departments must be a non-negative int")
            elif not 0.0 <= value <= 1.0:
                raise ValueError(f"{item.name} must be a share between 0 and 1, got {value}")
        if sum(self.rate(k) for k in (*ROW_KINDS, CORRECTED_RESEND)) > 0.5:
            raise ValueError("row defect rates and corrected_resend must sum to at most 0.5")

    @classmethod
    def none(cls) -> DefectRates:
        """A clean city: no defect of any kind."""
        return cls(**{item.name: 0 for item in fields(cls)})

    def rate(self, kind: str) -> float:
        return float(getattr(self, kind))

    def enabled(self, kind: str) -> bool:
        if kind == MISSING_CATEGORY:
            return self.missing_category_departments > 0
        return self.rate(kind) > 0
