"""DuckDB SQL expressions behind the validation rules: blanks, dates, amounts, periods and codes.

Every function takes a SQL expression (usually a column such as ``b.decision_date``) and returns a
SQL expression. The code checks mirror ``credit_warehouse.codes`` exactly, applied to the code as
the warehouse normalises it (``normalize_code_sql``: full-width forms as ASCII, whitespace removed,
upper case), so ``９１３５ ０１００…`` loads as ``91350100…`` instead of being rejected; the parsing
functions are twins of the dbt macros staging uses, so a value validation accepts is a value
staging can type.
"""

from __future__ import annotations

from credit_warehouse.codes import (
    ASCII_FORMS,
    FULLWIDTH_FORMS,
    RID_CHECK,
    RID_WEIGHTS,
    USCC_ALPHABET,
    USCC_VALID_PAIRS,
    USCC_WEIGHTS,
)

# Whitespace as the dbt macro ``trim_whitespace`` sees it: ASCII whitespace, ideographic space, NBSP.
_WS = r"[\s\x{3000}\x{00A0}]"
# USCC alphabet (no I, O, S, V, Z) as a regex class, lower case accepted (checked upper-cased).
_USCC_CHAR = "[0-9A-HJ-NP-RTUW-Ya-hj-np-rtuw-y]"
USCC_FORMAT_REGEX = f"{_USCC_CHAR}{{2}}[0-9]{{6}}{_USCC_CHAR}{{10}}"
RESIDENT_ID_FORMAT_REGEX = "[0-9]{17}[0-9Xx]"
# The date shapes departments deliver (DOMAIN.md, README "inbox contract"): YYYY-M-D, YYYY/M/D,
# YYYY.M.D (1-2 digit month/day), YYYYMMDD or YYYY年M月D日, optionally followed by a time of day,
# which is ignored. Full-width digits and separators count as their ASCII forms.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
_DATE_SHAPE_REGEX = (r"[0-9]{4}(-[0-9]{1,2}-[0-9]{1,2}|/[0-9]{1,2}/[0-9]{1,2}|\.[0-9]{1,2}\.[0-9]{1,2}|[0-9]{4}"
                     r"|年[0-9]{1,2}月[0-9]{1,2}日)"
                     r"( [0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?")
PERIOD_REGEX = "[0-9]{4}[-/]?(0[1-9]|1[0-2])"
# Every character nfkc_sql maps (and a few full-width forms it leaves alone): dbt's nfkc_chars_class.
NFKC_CHARS_CLASS = r"[\x{FF0C}-\x{FF5A}\x{3000}]"
# Codes needing no normalisation (the common case): the fast path of normalize_code.
_PLAIN_CODE_REGEX = "[0-9A-Za-z]+"
# Amounts needing no normalisation (the common case): the fast path of parse_amount.
_PLAIN_AMOUNT_REGEX = r"-?[0-9]+(\.[0-9]+)?"
# Resident-ID-like number inside free text (masked in anything shown in Data Docs). Capturing groups
# only: GX hands the query to SQLAlchemy's text(), which would read "(?:18" as a bind parameter ":18".
_ID_IN_TEXT_REGEX = (r"(^|[^0-9A-Za-z])([1-9][0-9]{2})[0-9]{3}(1[89]|20)[0-9]{2}(0[1-9]|1[0-2])"
                     r"(0[1-9]|[12][0-9]|3[01])[0-9]{2}([0-9][0-9Xx])([^0-9A-Za-z]|$)")
_ID_MASK = r"\1\2*************\6\7"


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def in_list(expression: str, values: tuple[str, ...] | list[str]) -> str:
    return f"{expression} in ({', '.join(literal(v) for v in values)})"


def nfkc_sql(expression: str) -> str:
    """Full-width digits, letters and separators as ASCII (codes.FULLWIDTH_FORMS): dbt macro ``nfkc``.
    As there, a value holding no character to map is returned as it is: translate costs ~1.3 µs a
    value whatever it holds, the test ~0.05 µs."""
    translated = f"translate({expression}, {literal(FULLWIDTH_FORMS)}, {literal(ASCII_FORMS)})"
    return f"(case when not regexp_matches({expression}, '{NFKC_CHARS_CLASS}') then {expression} else {translated} end)"


def normalize_code_sql(expression: str) -> str:
    """codes.normalize_code: full-width forms as ASCII, no whitespace at all, upper case.
    Twin of the dbt macro ``normalize_code`` (without its nullif: blanks are checked apart).
    Most codes arrive as plain ASCII letters and digits, for which translate and replace change
    nothing: a cheap match skips them (measured ~5x cheaper at city scale)."""
    full = f"upper(regexp_replace({nfkc_sql(expression)}, '{_WS}+', '', 'g'))"
    plain = f"regexp_full_match({expression}, '{_PLAIN_CODE_REGEX}')"
    return f"(case when {plain} then upper({expression}) else {full} end)"


def trim_whitespace_sql(expression: str) -> str:
    """Twin of the dbt macro ``trim_whitespace`` (duckdb dispatch)."""
    return f"regexp_replace({expression}, '^{_WS}+|{_WS}+$', '', 'g')"


# The code points of ``_WS`` (RE2's ``\s`` is ASCII \t \n \f \r and space): a value can only be blank if
# it starts with one of them.
_WS_CODE_POINTS = (9, 10, 12, 13, 32, 0x00A0, 0x3000)


def blank_sql(expression: str) -> str:
    """True when the value is null or only whitespace. The regex runs only on values that start with
    whitespace (a code point compared first): the 52 completeness rules' counts over a 6M-row batch
    took 3.0 s with a regex call a value, 2.0 s this way."""
    starts_blank = f"ord({expression}) in ({', '.join(map(str, _WS_CODE_POINTS))})"
    return (f"({expression} is null or {expression} = '' "
            f"or ({starts_blank} and regexp_full_match({expression}, '{_WS}*')))")


def parse_date_sql(expression: str) -> str:
    """The date a delivered text means, or null: the twin of the dbt macro ``parse_date``.

    ``dbt_project/macros/parsing.sql`` (``duckdb__parse_date``) maps full-width forms to ASCII,
    trims, drops a time part and tries ``DATE_FORMATS``; this function emits that same expression,
    guarded by the documented shapes, because DuckDB's strptime alone also reads ``26-10-09`` as
    the year 26 and ``2026109`` as 2026-10-09. So every value accepted here gets the very date
    staging computes, and impossible dates (2026-02-30) are null in both. Change both together.
    """
    trimmed = trim_whitespace_sql(nfkc_sql(expression))

    def dbt_twin(text: str) -> str:
        return strptime_by_separator_sql(f"string_split({text}, ' ')[1]")

    # A value already in a documented shape (the common case) is parsed as delivered: translate and
    # trim would change nothing, and skipping them halves the cost (city-scale profile).
    return (f"(case when regexp_full_match({expression}, '{_DATE_SHAPE_REGEX}') then {dbt_twin(expression)} "
            f"when regexp_full_match({trimmed}, '{_DATE_SHAPE_REGEX}') then {dbt_twin(trimmed)} end)")


def strptime_by_separator_sql(text: str) -> str:
    """try_strptime with the one format of DATE_FORMATS the separator in ``text`` names: DuckDB tried a
    list's formats in turn at ~9x the cost of one, and a format with another separator cannot read
    the value, so the date is the same. Twin of the dbt macro ``strptime_by_separator``."""
    def parsed(fmt: str) -> str:
        return f"cast(try_strptime({text}, {literal(fmt)}) as date)"

    # the character after %Y: the separator, or '%' for the format without one (the last resort)
    whens = " ".join(f"when contains({text}, {literal(fmt[2])}) then {parsed(fmt)}" for fmt in DATE_FORMATS
                     if fmt[2] != "%")
    plain = next(fmt for fmt in DATE_FORMATS if fmt[2] == "%")
    return f"(case {whens} else {parsed(plain)} end)"


def clean_code_sql(expression: str) -> str:
    """Twin of the dbt macro ``clean_code``: surrounding whitespace removed, upper case, '' -> null."""
    return f"nullif(upper({trim_whitespace_sql(expression)}), '')"


def normalize_period_sql(expression: str) -> str:
    """Twin of the dbt macro ``normalize_period``: YYYY-MM / YYYY/MM / YYYYMM -> YYYYMM, '' -> null,
    full-width forms as ASCII (so a period typed in full width keys a record as staging keys it)."""
    return f"nullif(substr(replace(replace(trim({nfkc_sql(expression)}), '-', ''), '/', ''), 1, 6), '')"


def normalize_name_sql(expression: str) -> str:
    """Twin of the dbt macro ``normalize_name`` (重码 comparison): no spaces, ASCII brackets, upper case."""
    replaced = f"replace(replace(replace(replace(trim({expression}), '（', '('), '）', ')'), ' ', ''), '　', '')"
    return f"upper({replaced})"


def parse_amount_sql(expression: str) -> str:
    """Twin of the dbt macro ``parse_amount``: full-width forms as ASCII, thousands separators
    removed, decimal(18,4) or null. A plain decimal (the common case) is cast as delivered: the
    translate, trim and replace would change nothing and cost ~4x the cast."""
    full = f"try_cast(nullif(replace(trim({nfkc_sql(expression)}), ',', ''), '') as decimal(18,4))"
    return (f"(case when regexp_full_match({expression}, '{_PLAIN_AMOUNT_REGEX}') "
            f"then try_cast({expression} as decimal(18,4)) else {full} end)")


def period_ok_sql(expression: str) -> str:
    """A billing period YYYYMM (also YYYY-MM, YYYY/MM, as staging's ``normalize_period`` reads it).
    A value that matches as delivered is returned true without the full-width mapping and trimming,
    which change nothing in such a value (the rule cost 2.5 s a pass on a 1,000,000-subject month)."""
    full = f"regexp_full_match({trim_whitespace_sql(nfkc_sql(expression))}, '{PERIOD_REGEX}')"
    return f"(case when regexp_full_match({expression}, '{PERIOD_REGEX}') then true else {full} end)"


# --- USCC (GB 32100-2015), as codes.uscc_problem -------------------------------------------------

def uscc_format_ok_sql(expression: str) -> str:
    return f"regexp_full_match({expression}, '{USCC_FORMAT_REGEX}')"


def uscc_pair_ok_sql(expression: str) -> str:
    pairs = sorted(authority + category for authority, categories in USCC_VALID_PAIRS.items()
                   for category in categories)
    return in_list(f"upper(substr({expression}, 1, 2))", pairs)


def uscc_check_char_sql(expression: str) -> str:
    """The 18th character codes.uscc_check_char computes from the first 17 (needs a valid format).
    ``expression`` is a code as ``normalize_code_sql`` leaves it, upper case: an ``upper()`` of each of
    the 17 characters cost a quarter of the check (1.2 -> 0.9 s over a month's 2.5M codes)."""
    terms = " + ".join(f"(strpos('{USCC_ALPHABET}', substr({expression}, {i + 1}, 1)) - 1) * {w}"
                       for i, w in enumerate(USCC_WEIGHTS))
    return f"substr('{USCC_ALPHABET}', ((31 - ({terms}) % 31) % 31) + 1, 1)"


def uscc_check_ok_sql(expression: str) -> str:
    """The check character is right; ``expression`` upper case, as for ``uscc_check_char_sql``."""
    return f"({uscc_check_char_sql(expression)} = substr({expression}, 18, 1))"


# --- Resident ID numbers (GB 11643-1999), as codes.resident_id_problem ----------------------------

def resident_id_format_ok_sql(expression: str) -> str:
    return f"regexp_full_match({expression}, '{RESIDENT_ID_FORMAT_REGEX}')"


def resident_id_birth_ok_sql(expression: str) -> str:
    # strptime %Y%m%d on the 8 embedded digits, as codes.py; year 0 exists in DuckDB, not in Python.
    birth = f"try_strptime(substr({expression}, 7, 8), '%Y%m%d')"
    return f"({birth} is not null and substr({expression}, 7, 4) <> '0000')"


def resident_id_check_ok_sql(expression: str) -> str:
    terms = " + ".join(f"cast(substr({expression}, {i + 1}, 1) as integer) * {w}"
                       for i, w in enumerate(RID_WEIGHTS))
    return f"(substr('{RID_CHECK}', (({terms}) % 11) + 1, 1) = upper(substr({expression}, 18, 1)))"


# --- Display --------------------------------------------------------------------------------------

def mask_id_number_sql(expression: str) -> str:
    """codes.mask_id_number in SQL: first 3 and last 2 characters kept (脱敏)."""
    return (f"(case when length({expression}) <= 5 then repeat('*', length({expression})) "
            f"else substr({expression}, 1, 3) || repeat('*', length({expression}) - 5) "
            f"|| right({expression}, 2) end)")


def mask_ids_in_text_sql(expression: str) -> str:
    """Resident-ID-like numbers inside any text masked (twice: two IDs one character apart); the text
    is NFKC-mapped first so full-width digits cannot smuggle a number past the mask."""
    once = f"regexp_replace({nfkc_sql(expression)}, '{_ID_IN_TEXT_REGEX}', '{_ID_MASK}', 'g')"
    return f"regexp_replace({once}, '{_ID_IN_TEXT_REGEX}', '{_ID_MASK}', 'g')"
