"""Validation rules generated from the catalogue (seeds/layout_fields.csv, record_layouts.csv).

One ``Rule`` per (rule, field) across every category whose layout has that field, so a city that
edits the catalogue gets new rules without code changes. Each rule is a SQL predicate over a batch
of ``raw.feed_rows`` (alias ``b``) selecting the offending rows: the Great Expectations expectation
and the insert into ``validation.row_issues`` are built from the same predicate.

Severity: ``blocking`` rows are quarantined (kept in raw, never staged); ``warning`` rows are loaded
and flagged. Early pilot USCCs that fail the check character are warnings: flagged, never dropped.

Most predicates look at one row. Three look further, still as SQL in DuckDB: uniqueness compares
the rows of the same delivered file, ``duplicate_code`` (重码) compares a code's subject name with
the name the code was first delivered under (all of raw.feed_rows), and the region rules compare
codes with the province-level prefixes of ``seeds/region_prefixes.csv``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from credit_warehouse.catalogue import ORG_SUBJECT_TYPES, PERSON_SUBJECT_TYPE, Catalogue, FieldSpec
from credit_warehouse.validation import expressions as sql

BLOCKING, WARNING = "blocking", "warning"
RECORD_COMPLETENESS = "record_completeness"
FIELD_FORMAT = "field_format"
CODE_VALIDITY = "code_validity"
TIMELINESS = "timeliness"
UNIQUENESS = "uniqueness"
REFERENTIAL = "referential"
ROW_SUITES = (RECORD_COMPLETENESS, FIELD_FORMAT, CODE_VALIDITY, UNIQUENESS, REFERENTIAL, TIMELINESS)
# A row suite's rules that read delivered values alone form a GX suite of their own, on the batch's raw
# rows (a GX suite validates one table): ``<suite>_raw_rows``.
RAW_ROWS_SUFFIX = "_raw_rows"
ROW_GX_SUITES = ROW_SUITES + tuple(suite + RAW_ROWS_SUFFIX for suite in ROW_SUITES)

ALIAS = "b"  # the batch of raw.feed_rows as every predicate refers to it
CALENDAR_TABLE = "validation.workday_calendar"

# The fields and values the conditional requirements of layout_fields.csv refer to (national 双公示
# standard): org/person requirements depend on the subject type, `fine` on the penalty category,
# and ID numbers are checked as resident IDs when the ID type says so (or the layout has no type).
SUBJECT_TYPE_FIELD = "subject_type"
FINE_TRIGGER_FIELD, FINE_TRIGGER_TEXT = "penalty_category", "罚款"
ID_TYPE_FIELD, RESIDENT_ID_TYPE = "id_type", "身份证"
# The fields that identify a record's subject (organisation code, person's ID number) and its name.
SUBJECT_CODE_FIELD, SUBJECT_ID_FIELD, SUBJECT_NAME_FIELD = "uscc", "id_number", "subject_name"
RAW_TABLE = "raw.feed_rows"
# Derived batch columns (``batch_statements``): a code field normalised, a date field parsed, once per row.
CODE_SUFFIX, DATE_SUFFIX = "__code", "__date"
# ... and the fields the conditions of several rules compare trimmed (org/person requirements, resident
# IDs, the enum): trimmed once per row (the subject type's 7 rules 3.1 -> 0.6 s over a 6M-row batch).
TRIMMED_SUFFIX, TRIMMED_FIELDS = "__trimmed", (SUBJECT_TYPE_FIELD, ID_TYPE_FIELD)
# The record key of a batch row, the rows of its file with that key, and their distinct contents.
RECORD_KEY, KEY_COPIES, KEY_VERSIONS = "record__key", "record__copies", "record__versions"
# The subject name the row's code was first delivered under (重码): a batch column, looked up in the
# names kept per code (validation.code_names: code_names.refresh_code_names) over the loads folded in.
REFERENCE_NAME = SUBJECT_CODE_FIELD + "__reference_name"
# Checks computed once per batch row from the columns above (``derived_checks``): the subject code's
# check character (null unless format and pair are valid), and whether the name differs from the reference.
CHECK_SUFFIX = "__check_ok"
NAME_DIFFERS = SUBJECT_CODE_FIELD + "__name_differs"
CODE_NAMES_TABLE, CODE_NAME_LOADS_TABLE = "validation.code_names", "validation.code_name_loads"


class CatalogueRuleError(ValueError):
    """The catalogue asks for a rule that cannot be expressed (e.g. `org` without a subject type)."""


@dataclass(frozen=True)
class Rule:
    rule_id: str
    suite: str
    severity: str  # blocking | warning
    field: str
    categories: tuple[str, ...]
    description: str
    reason_zh: str  # plain Chinese for correction letters to departments
    predicate: str  # SQL over the batch alias `b`: true for an offending row
    joins: str = ""  # joins the predicate needs (the working-day calendar)
    variant: str = ""  # tells apart rules sharing rule_id and field (requirement kind, enum set)
    pii: bool = False  # values are ID numbers: masked wherever they are shown
    value: str = ""  # SQL of the offending value when it is not the field's raw value (a record key...)
    # Reads a column the batch computes (validation.pending_rows); set by build_rules. A rule reading
    # delivered values alone runs on the batch's raw rows (validation.pending_raw) instead.
    reads_computed: bool = True

    @property
    def key(self) -> str:
        """Unique name of the rule: one Great Expectations expectation each."""
        return ".".join(part for part in (self.rule_id, self.field, self.variant) if part)


def _col(field: str, alias: str = ALIAS) -> str:
    return f"{alias}.{field}"


def _code_col(field: str) -> str:
    """The field's code as the warehouse normalises it (full-width forms, spaces): a batch column."""
    return _col(field + CODE_SUFFIX)


def _date_col(field: str) -> str:
    """The date the field's text means, or null: a batch column."""
    return _col(field + DATE_SUFFIX)


def _trimmed(field: str) -> str:
    """The field's value without surrounding whitespace: a batch column for ``TRIMMED_FIELDS``."""
    return _col(field + TRIMMED_SUFFIX) if field in TRIMMED_FIELDS else sql.trim_whitespace_sql(_col(field))


def derived_columns(catalogue: Catalogue) -> dict[str, str]:
    """Values many rules read, computed once per row of a batch (``batch_statements``), not inside every
    predicate: DuckDB does not share subexpressions within a WHERE clause, so a USCC check character
    written over the normalising expression evaluated it ~20 times a row (measured 60x slower)."""
    found = {field + TRIMMED_SUFFIX: sql.trim_whitespace_sql(_col(field))
             for field in TRIMMED_FIELDS if field in catalogue.all_fields}
    agencies = agency_code_fields(catalogue)
    for field, pairs in _specs_by_field(catalogue).items():
        types = {spec.data_type for _, spec in pairs}
        if types & {"uscc", "id_number"} and field not in agencies:
            found[field + CODE_SUFFIX] = sql.normalize_code_sql(_col(field))
        if "date" in types:
            found[field + DATE_SUFFIX] = sql.parse_date_sql(_col(field))
    return found


def agency_code_fields(catalogue: Catalogue) -> list[str]:
    """USCC fields other than the subject's: the authority's and the data source's codes, a few agencies'
    codes in millions of rows. Their USCC rules are judged once per distinct code (``_agency_verdicts``);
    a field some layout types otherwise (an ID number) is judged per row, as the subject's code is."""
    return [field for field, pairs in _specs_by_field(catalogue).items()
            if field != SUBJECT_CODE_FIELD and all(spec.data_type == "uscc" for _, spec in pairs)]


def _agency_verdict(field: str, rule_id: str) -> str:
    """The batch column holding an agency code's verdict for one USCC rule."""
    return f"{field}__{rule_id}"


def _agency_verdicts(catalogue: Catalogue, field: str, source: str) -> tuple[list[str], str]:
    """(batch columns, join): each USCC rule's verdict on an agency code, computed once per distinct code
    of the batch and joined to its rows by the code as delivered. Judged per row, the four rules cost
    ~2 s a field over a 6M-row batch (a check character is 17 weighted look-ups) for a few dozen codes."""
    verdicts = _uscc_bad(catalogue, field, "codes.code")
    table = field + "__codes"
    judged = ", ".join(f"{bad} as {_agency_verdict(field, rule_id)}" for rule_id, bad in verdicts.items())
    join = (f" left join (select codes.delivered, {judged} from (select delivered, "
            f"{sql.normalize_code_sql('delivered')} as code from (select distinct {field} as delivered "
            f"from {source} as delivered_codes) as distinct_codes) as codes) as {table} "
            f"on {table}.delivered = {_col(field)}")
    return [f"{table}.{_agency_verdict(field, rule_id)}" for rule_id in verdicts], join


def derived_checks(catalogue: Catalogue) -> dict[str, str]:
    """Checks computed once per batch row over the derived columns, for the rules that find rows in
    most batches, whose offending rows are then read three times (GX's count and sample, the
    row_issues insert): the subject code's USCC check character, 17 weighted look-ups a code (1.6 s a
    pass over January's 2.5M codes at 1,000,000 subjects), and 重码's name comparison. The authority's
    and data source's codes are judged once per distinct code instead (``_agency_verdicts``)."""
    found: dict[str, str] = {}
    specs = _specs_by_field(catalogue).get(SUBJECT_CODE_FIELD, [])
    if any(spec.data_type == "uscc" for _, spec in specs):
        found[SUBJECT_CODE_FIELD + CHECK_SUFFIX] = _uscc_check_char_ok(_code_col(SUBJECT_CODE_FIELD))
    if named_code_categories(catalogue):
        # The reference is a normalised name, which normalising leaves as it is: a name delivered exactly
        # as the reference (99.7% of named rows) is not normalised (1.5 -> 0.2 s a 6M-row batch).
        reference, name = _col(REFERENCE_NAME), _col(SUBJECT_NAME_FIELD)
        found[NAME_DIFFERS] = (f"(case when {reference} is null then null when {reference} = {name} then false "
                               f"else {reference} <> {sql.normalize_name_sql(name)} end)")
    return found


def _key_groups(catalogue: Catalogue) -> dict[tuple[str, ...], list[str]]:
    """Categories by the key fields of their layout (record_layouts.csv), in code order."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for code in sorted(catalogue.categories):
        groups.setdefault(catalogue.layout_of(code).key_fields, []).append(code)
    return groups


def _by_key_group(catalogue: Catalogue, expression: Callable[[list[str], tuple[str, ...]], str]) -> str:
    """One value per row, computed by its category's key group (null outside every group)."""
    whens = " ".join(f"when {_categories_sql(categories)} then {expression(categories, key_fields)}"
                     for key_fields, categories in _key_groups(catalogue).items())
    return f"(case {whens} end)"


def batch_statements(rows: str, catalogue: Catalogue, table: str, rules: Iterable[Rule] = ()) -> list[str]:
    """Statements materialising a batch the rules run on into ``table``: of the raw rows ``rows``
    (raw.feed_rows, a view or a subquery of it) the columns the computed ones and ``rules`` read
    (``batch_raw_columns``), the derived columns, the record key and how often it occurs in its file
    (copies) with how many different contents (versions), and the name the row's code was first
    delivered under (重码, from validation.code_names: run ``code_names.refresh_code_names`` first),
    and the verdicts of the agencies' USCC rules, once per distinct code (``_agency_verdicts``). The
    runner materialises it once per batch (validation.pending_rows), so the uniqueness rules read two
    columns instead of a self-join each, and 重码 one column instead of the history. The rules that
    read delivered values alone read ``rows`` itself: copying every raw column into the batch was half
    of writing it (a 6M-row batch of the 1,000,000-subject city: 25.5-25.8 s with the 69 raw columns,
    19.0-19.8 s with the 28 read here; the other rules' counts as fast on the raw rows).

    In steps, not one query: the rows are written once with copies = versions = 1, then only the rows
    of keys seen more than once in their file are updated (a few thousand in a month of the
    1,000,000-subject city), their contents hashed there to tell versions from copies. Joining the
    counts of every key back onto the wide rows in the same query cost 51 s for that month's 3.0M
    rows; the steps cost ~25 s."""
    derived, key, checks, reference_name, reference_join, agency, agency_joins = _computed_sql(catalogue, rows)
    kept = ", ".join(_col(column) for column in batch_raw_columns(catalogue, rules))
    content = _by_key_group(catalogue, lambda categories, _: _content_sql(catalogue, categories, ALIAS))
    # The checks read the derived columns, so they are computed over a subquery that has them.
    statements = [
        f"create or replace table {table} as select {ALIAS}.*{checks} from ("
        f"select {kept}{derived}, {key} as {RECORD_KEY}, "
        f"1 as {KEY_COPIES}, 1 as {KEY_VERSIONS}{reference_name}{agency} "
        f"from {rows} as {ALIAS}{reference_join}{agency_joins}) as {ALIAS}"]
    # The contents are hashed for the rows of keys seen twice only, not for every row of the batch,
    # from their raw rows (the batch keeps few raw columns). A file by its load_seq (one per landed
    # file), not its 64-character hash: cheaper to group and join.
    repeated = (f"select kept.load_seq, kept.row_number, kept.{RECORD_KEY} from {table} as kept inner join ("
                f"select load_seq, {RECORD_KEY} from {table} where {RECORD_KEY} is not null "
                f"group by load_seq, {RECORD_KEY} having count(*) > 1) as twice "
                f"on twice.load_seq = kept.load_seq and twice.{RECORD_KEY} = kept.{RECORD_KEY}")
    statements.append(
        f"update {table} set {KEY_COPIES} = same_key.copies, {KEY_VERSIONS} = same_key.versions "
        f"from (select repeated.load_seq, repeated.{RECORD_KEY}, count(*) as copies, "
        f"count(distinct {content}) as versions from {rows} as {ALIAS} inner join ({repeated}) as repeated "
        f"on repeated.load_seq = {ALIAS}.load_seq and repeated.row_number = {ALIAS}.row_number "
        f"group by repeated.load_seq, repeated.{RECORD_KEY}) "
        f"as same_key where same_key.load_seq = {table}.load_seq "
        f"and same_key.{RECORD_KEY} = {table}.{RECORD_KEY}")
    return statements


def _computed_sql(catalogue: Catalogue, rows: str) -> tuple[str, str, str, str, str, str, str]:
    """The select-list parts and joins of the computed batch columns (``batch_statements``)."""
    derived = "".join(f", {expression} as {name}" for name, expression in derived_columns(catalogue).items())
    key = _by_key_group(catalogue, lambda categories, fields: _key_sql(catalogue, categories, fields, ALIAS))
    reference_name = reference_join = ""
    if named_code_categories(catalogue):  # the catalogue checks 重码
        reference_name = (f", coalesce(code_names.register_name, code_names.first_name) as {REFERENCE_NAME}")
        reference_join = (f" left join {CODE_NAMES_TABLE} as code_names "
                          f"on code_names.code = {sql.clean_code_sql(_col(SUBJECT_CODE_FIELD))}")
    checks = "".join(f", {expression} as {name}" for name, expression in derived_checks(catalogue).items())
    agency_columns, agency_joins = [], ""
    for field in agency_code_fields(catalogue):
        columns, join = _agency_verdicts(catalogue, field, rows)
        agency_columns += columns
        agency_joins += join
    agency = "".join(f", {column}" for column in agency_columns)
    return derived, key, checks, reference_name, reference_join, agency, agency_joins


# Kept in every batch: what a row issue records of its row, and the file order the update groups by.
BATCH_ROW_COLUMNS = ("file_sha256", "load_id", "load_seq", "row_number", "department_code", "category_code")


def _columns_read(text: str) -> set[str]:
    """The batch columns an expression reads: every predicate refers to them as ``b.<column>``."""
    return set(re.findall(rf"\b{ALIAS}\.(\w+)", text))


def computed_columns(catalogue: Catalogue) -> set[str]:
    """The columns ``batch_statements`` adds to the raw ones."""
    names = {*derived_columns(catalogue), *derived_checks(catalogue), RECORD_KEY, KEY_COPIES, KEY_VERSIONS}
    if named_code_categories(catalogue):
        names.add(REFERENCE_NAME)
    for field in agency_code_fields(catalogue):
        names.update(_agency_verdict(field, rule_id) for rule_id in _uscc_bad(catalogue, field, "code"))
    return names


def batch_raw_columns(catalogue: Catalogue, rules: Iterable[Rule]) -> list[str]:
    """The raw columns the batch keeps: those its computed columns and the rules reading them read."""
    computed = _computed_sql(catalogue, RAW_TABLE)
    read = _columns_read(" ".join(computed)) | {column for rule in rules if rule.reads_computed
                                                for column in _columns_read(_rule_sql(rule))}
    return [*BATCH_ROW_COLUMNS, *sorted(read - computed_columns(catalogue) - set(BATCH_ROW_COLUMNS))]


def _rule_sql(rule: Rule) -> str:
    return " ".join((rule.predicate, rule.joins, rule.value or _col(rule.field)))


def _categories_sql(categories: Iterable[str], alias: str = ALIAS) -> str:
    return sql.in_list(f"{alias}.category_code", tuple(categories))


def _specs_by_field(catalogue: Catalogue) -> dict[str, list[tuple[str, FieldSpec]]]:
    """field -> [(category, spec)] over every category in code order."""
    found: dict[str, list[tuple[str, FieldSpec]]] = {field: [] for field in catalogue.all_fields}
    for code in sorted(catalogue.categories):
        for spec in catalogue.fields_of(code):
            found[spec.field].append((code, spec))
    return found


def _headers(specs: Iterable[FieldSpec]) -> str:
    """「主体名称」 or 「许可决定日期」/「处罚决定日期」: how departments know the field."""
    names = dict.fromkeys(spec.header_zh for spec in specs)
    return "/".join(f"「{name}」" for name in names)


def _layout_has(catalogue: Catalogue, category: str, field: str) -> bool:
    return any(spec.field == field for spec in catalogue.fields_of(category))


def _header_of(catalogue: Catalogue, category: str, field: str) -> str:
    return next(spec.header_zh for spec in catalogue.fields_of(category) if spec.field == field)


def _group(pairs: Iterable[tuple[str, FieldSpec]],
           key: Callable[[FieldSpec], Hashable]) -> dict[Hashable, list[tuple[str, FieldSpec]]]:
    groups: dict[Hashable, list[tuple[str, FieldSpec]]] = {}
    for category, spec in pairs:
        groups.setdefault(key(spec), []).append((category, spec))
    return groups


# --- record_completeness ---------------------------------------------------------------------------

def _requirement_condition(catalogue: Catalogue, requirement: str, categories: list[str]) -> tuple[str, str]:
    """(SQL condition under which the field is required, Chinese wording of it)."""
    needs = {"org": SUBJECT_TYPE_FIELD, "person": SUBJECT_TYPE_FIELD, "fine": FINE_TRIGGER_FIELD}.get(requirement)
    if needs:
        missing = [c for c in categories if not _layout_has(catalogue, c, needs)]
        if missing:
            raise CatalogueRuleError(f"requirement '{requirement}' needs field {needs} in the layout of {missing}")
    subject_type = _trimmed(SUBJECT_TYPE_FIELD)
    if requirement == "org":
        return (sql.in_list(subject_type, ORG_SUBJECT_TYPES),
                f"{_header_of(catalogue, categories[0], SUBJECT_TYPE_FIELD)}为{'或'.join(ORG_SUBJECT_TYPES)}时")
    if requirement == "person":
        return (f"{subject_type} = {sql.literal(PERSON_SUBJECT_TYPE)}",
                f"{_header_of(catalogue, categories[0], SUBJECT_TYPE_FIELD)}为{PERSON_SUBJECT_TYPE}时")
    if requirement == "fine":
        return (f"coalesce(contains({_col(FINE_TRIGGER_FIELD)}, {sql.literal(FINE_TRIGGER_TEXT)}), false)",
                f"{_header_of(catalogue, categories[0], FINE_TRIGGER_FIELD)}包含“{FINE_TRIGGER_TEXT}”时")
    if requirement == "required":
        return "true", ""
    raise CatalogueRuleError(f"unknown requirement '{requirement}'")


def completeness_rules(catalogue: Catalogue) -> list[Rule]:
    rules = []
    for field, pairs in _specs_by_field(catalogue).items():
        for requirement, group in _group(pairs, lambda s: s.requirement).items():
            if requirement == "optional":
                continue
            categories = [c for c, _ in group]
            condition, condition_zh = _requirement_condition(catalogue, requirement, categories)
            headers = _headers(s for _, s in group)
            when = "" if requirement == "required" else f" when {requirement} requirement applies"
            rules.append(Rule(
                rule_id="missing_required_field", suite=RECORD_COMPLETENESS, severity=BLOCKING, field=field,
                categories=tuple(categories),
                description=f"{field} is blank (null or whitespace){when}; required in {', '.join(categories)}",
                reason_zh=(f"{condition_zh}，{headers}为必填项，但未填写。" if condition_zh
                           else f"必填项{headers}未填写。"),
                predicate=f"{_categories_sql(categories)} and {condition} and {sql.blank_sql(_col(field))}",
                variant="" if requirement == "required" else requirement,
                pii=any(s.data_type == "id_number" for _, s in group)))
    return rules


# Rows the reader could not read properly (raw.feed_rows.row_issue, readers.ROW_ISSUES): kept in
# raw, quarantined here, so nothing unreadable is dropped or half-loaded.
ROW_ISSUE_REASONS_ZH = {
    "ragged_row": ("该行的列数与表头不一致（可能被换行断开，或字段中含未加引号的分隔符），原始内容已保留，"
                   "请核对后重新报送。"),
    "truncated_row": "文件在该行中途结束（文件不完整），请重新报送完整文件。",
    "undecodable_row": "该行含有无法识别的字符（既非UTF-8也非GBK/GB18030编码），请检查导出编码后重新报送。",
    "unparseable_row": "该行引号不配对，无法解析，原始内容已保留，请核对后重新报送。",
    "json_not_object": "该条记录不是JSON对象，请按接口规范报送。",
}


def row_structure_rules(catalogue: Catalogue) -> list[Rule]:
    from credit_warehouse.readers import ROW_ISSUES

    categories = tuple(sorted(catalogue.categories))
    return [Rule(rule_id=code, suite=RECORD_COMPLETENESS, severity=BLOCKING, field="row_issue",
                 categories=categories, description=f"row not read properly: {ROW_ISSUES[code]}",
                 reason_zh=ROW_ISSUE_REASONS_ZH[code], predicate=f"{ALIAS}.row_issue = {sql.literal(code)}")
            for code in ROW_ISSUES]


# --- field_format ----------------------------------------------------------------------------------

def _format_rule(rule_id: str, field: str, group: list[tuple[str, FieldSpec]], bad: str, what: str,
                 reason: str, variant: str = "") -> Rule:
    categories = [c for c, _ in group]
    return Rule(rule_id=rule_id, suite=FIELD_FORMAT, severity=BLOCKING, field=field,
                categories=tuple(categories),
                description=f"{field} is not {what}; checked in {', '.join(categories)}",
                reason_zh=f"{_headers(s for _, s in group)}{reason}",
                predicate=f"{_categories_sql(categories)} and not {sql.blank_sql(_col(field))} and {bad}",
                variant=variant)


def format_rules(catalogue: Catalogue) -> list[Rule]:
    rules = []
    for field, pairs in _specs_by_field(catalogue).items():
        for data_type, group in _group(pairs, lambda s: s.data_type).items():
            column = _col(field)
            if data_type == "date":
                rules.append(_format_rule(
                    "unparseable_date", field, group, f"{_date_col(field)} is null",
                    "a real date as YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD or YYYY年MM月DD日",
                    "不是有效日期：应为真实存在的日期，格式为YYYY-MM-DD、YYYY/MM/DD、YYYY.MM.DD、YYYYMMDD"
                    "或YYYY年MM月DD日。"))
            elif data_type == "amount":
                rules.append(_format_rule(
                    "invalid_amount", field, group, f"{sql.parse_amount_sql(column)} is null",
                    "a number (decimal(18,4), thousands separators allowed)",
                    "不是有效金额：应填写数字（可含千位分隔符“,”），不要带单位或文字。"))
            elif data_type == "period":
                rules.append(_format_rule(
                    "invalid_period", field, group, f"not {sql.period_ok_sql(column)}",
                    "a billing period YYYYMM (month 01-12)", "不是有效账期：应为YYYYMM格式，月份为01至12。"))
            elif data_type == "enum":
                enum_groups = _group(group, lambda s: s.enum_values)
                for values, enum_group in enum_groups.items():
                    if not values:
                        raise CatalogueRuleError(f"enum field {field} has no enum_values")
                    # several value sets for one field: name each by its first layout. The value is
                    # compared trimmed, as staging's clean_text reads it.
                    variant = enum_group[0][1].layout if len(enum_groups) > 1 else ""
                    rules.append(_format_rule(
                        "invalid_enum", field, enum_group, f"not {sql.in_list(_trimmed(field), values)}",
                        f"one of {'|'.join(values)}", f"取值不在规定范围内：只能填写{'、'.join(values)}之一。",
                        variant))
    return rules


# --- code_validity ---------------------------------------------------------------------------------

def _code_rule(rule_id: str, severity: str, field: str, group: list[tuple[str, FieldSpec]], scope: str,
               bad: str, what: str, reason: str, pii: bool = False) -> Rule:
    categories = [c for c, _ in group]
    return Rule(rule_id=rule_id, suite=CODE_VALIDITY, severity=severity, field=field,
                categories=tuple(categories), description=f"{field}: {what}; checked in {', '.join(categories)}",
                reason_zh=reason.format(headers=_headers(s for _, s in group)),
                predicate=f"{scope} and not {sql.blank_sql(_col(field))} and {bad}", pii=pii)


def code_rules(catalogue: Catalogue) -> list[Rule]:
    rules = []
    agencies = agency_code_fields(catalogue)
    for field, pairs in _specs_by_field(catalogue).items():
        column = _code_col(field)  # full-width forms and spaces do not count
        uscc = [(c, s) for c, s in pairs if s.data_type == "uscc"]
        if uscc:
            scope = _categories_sql(c for c, _ in uscc)
            bad = _uscc_bad(catalogue, field, column)
            if field in agencies:  # the batch's verdicts, judged once per code
                bad = {rule_id: _col(_agency_verdict(field, rule_id)) for rule_id in bad}
            rules += [
                _code_rule("uscc_format", BLOCKING, field, uscc, scope, bad["uscc_format"],
                           "not 18 characters of the USCC alphabet with a 6-digit region code",
                           "{headers}格式错误：统一社会信用代码应为18位，由数字和大写字母（不含I、O、S、V、Z）"
                           "组成，第3至8位为行政区划码。"),
                _code_rule("uscc_invalid_pair", WARNING, field, uscc, scope, bad["uscc_invalid_pair"],
                           "registration authority / organisation category pair not in GB 32100-2015",
                           "{headers}第1位（登记管理部门码）与第2位（机构类别码）的组合不存在，请核对代码。"),
                _code_rule("uscc_check_char", WARNING, field, uscc, scope, bad["uscc_check_char"],
                           "check character (18th) does not match GB 32100-2015 (early pilot codes: flagged, kept)",
                           "{headers}校验码（第18位）错误，请核对代码是否录入有误。"),
                _code_rule("uscc_region_code", WARNING, field, uscc, scope, bad["uscc_region_code"],
                           "region code (characters 3-8) does not start with a province-level division code",
                           "{headers}第3至8位的登记管理机关行政区划码不存在（前两位不是有效的省级行政区划代码），"
                           "请核对代码。"),
            ]
        ids = [(c, s) for c, s in pairs if s.data_type == "id_number"]
        if ids:
            typed = [c for c, _ in ids if _layout_has(catalogue, c, ID_TYPE_FIELD)]
            untyped = [c for c, _ in ids if c not in typed]
            id_type = _trimmed(ID_TYPE_FIELD)
            scopes = ([f"({_categories_sql(typed)} and {id_type} = {sql.literal(RESIDENT_ID_TYPE)})"] if typed
                      else []) + ([_categories_sql(untyped)] if untyped else [])
            scope = "(" + " or ".join(scopes) + ")"
            fmt, birth, check = (sql.resident_id_format_ok_sql(column), sql.resident_id_birth_ok_sql(column),
                                 sql.resident_id_check_ok_sql(column))
            when = f"证件类型为{RESIDENT_ID_TYPE}时，{{headers}}"
            rules += [
                _code_rule("resident_id_format", BLOCKING, field, ids, scope, f"not {fmt}",
                           "resident ID is not 17 digits and a digit or X", f"{when}应为18位（前17位为数字，"
                           "最后一位为数字或X）。", pii=True),
                _code_rule("resident_id_birth_date", BLOCKING, field, ids, scope, f"{fmt} and not {birth}",
                           "resident ID embeds an impossible birth date (characters 7-14)",
                           f"{when}第7至14位的出生日期不存在。", pii=True),
                _code_rule("resident_id_check_char", BLOCKING, field, ids, scope,
                           f"{fmt} and {birth} and not {check}", "resident ID check character (MOD 11-2) is wrong",
                           f"{when}校验码（第18位）错误，请核对号码。", pii=True),
                _code_rule("resident_id_region_code", WARNING, field, ids, scope,
                           f"{fmt} and not {_region_ok(catalogue, 'resident_id', f'substr({column}, 1, 2)')}",
                           "region code (first 6 digits) does not start with a province-level division code",
                           f"{when}前6位的行政区划码不存在（前两位不是有效的省级行政区划代码），"
                           "请核对号码。", pii=True),
            ]
    return rules


def _uscc_bad(catalogue: Catalogue, field: str, column: str) -> dict[str, str]:
    """Each USCC rule's test of the code ``column``: rule id -> SQL, true where the code breaks the rule."""
    fmt, pair = sql.uscc_format_ok_sql(column), sql.uscc_pair_ok_sql(column)
    return {"uscc_format": f"not {fmt}",
            "uscc_invalid_pair": f"{fmt} and not {pair}",
            "uscc_check_char": _check_char_bad(field, column),
            "uscc_region_code": f"{fmt} and not {_region_ok(catalogue, 'uscc', f'substr({column}, 3, 2)')}"}


def _uscc_check_char_ok(column: str) -> str:
    """The code's check character is right; null unless format and pair are valid (so ``not`` of it
    selects only well-formed codes with a wrong check character)."""
    return (f"(case when {sql.uscc_format_ok_sql(column)} and {sql.uscc_pair_ok_sql(column)} "
            f"then {sql.uscc_check_ok_sql(column)} end)")


def _check_char_bad(field: str, column: str) -> str:
    """The USCC's check character is wrong: the batch's column where ``derived_checks`` computed it
    (the subject code), else the same check in the predicate."""
    if field == SUBJECT_CODE_FIELD:
        return f"not {_col(field + CHECK_SUFFIX)}"
    return f"not {_uscc_check_char_ok(column)}"


def _region_ok(catalogue: Catalogue, code_kind: str, prefix: str) -> str:
    """The province-level prefix is known. Only the province level is checked: the region seed holds
    the city's own divisions, subjects registered elsewhere are normal, and codes keep the county of
    issue after a county is merged or renamed, so a full 6-digit table would flag valid codes."""
    prefixes = catalogue.region_prefixes_for(code_kind)
    if not prefixes:
        raise CatalogueRuleError("seeds/region_prefixes.csv lists no province-level prefix")
    return f"({sql.in_list(prefix, prefixes)})"


def named_code_categories(catalogue: Catalogue) -> list[str]:
    """The categories whose layout has both the subject code and the subject name (重码 is checked in)."""
    return [c for c in sorted(catalogue.categories)
            if _layout_has(catalogue, c, SUBJECT_CODE_FIELD) and _layout_has(catalogue, c, SUBJECT_NAME_FIELD)]


def registration_categories(catalogue: Catalogue) -> list[str]:
    """The 重码 categories whose layout is keyed by the code itself: their name is the reference."""
    return [c for c in named_code_categories(catalogue)
            if catalogue.layout_of(c).key_fields == (SUBJECT_CODE_FIELD,)]


def duplicate_code_rules(catalogue: Catalogue) -> list[Rule]:
    """重码: the subject code was first delivered under another subject name.

    The reference name of a code is its earliest registration-layout name (layouts keyed by the code
    itself), else the earliest name any row carried it under (load order), over all of raw.feed_rows:
    later rows naming another subject are flagged. A legitimate renaming shows up too: a warning.
    The reference name is a batch column (``batch_statements``): reading the history in the predicate cost
    each of GX's two queries and the row_issues insert ~9 s (1,000,000 subjects, a month's batch), and
    it is kept per code (``code_names``): reading the history once per batch cost 19.6 s a batch.
    """
    field, name = SUBJECT_CODE_FIELD, SUBJECT_NAME_FIELD
    categories = named_code_categories(catalogue)
    if not categories:
        return []
    headers = _headers(s for c in categories for s in catalogue.fields_of(c) if s.field == field)
    return [Rule(
        rule_id="duplicate_code", suite=CODE_VALIDITY, severity=WARNING, field=field, categories=tuple(categories),
        description=(f"重码: {field} was first delivered under another subject name (registration name first); "
                     f"checked in {', '.join(categories)}"),
        reason_zh=(f"重码：该{headers}此前已登记或报送为另一主体名称，同一代码对应了不同主体，"
                   "请核对代码与主体名称。"),
        predicate=(f"{_categories_sql(categories)} and {sql.uscc_format_ok_sql(_col(field))} "
                   f"and not {sql.blank_sql(_col(name))} "
                   f"and {_col(NAME_DIFFERS)}"))]


# --- uniqueness ------------------------------------------------------------------------------------

def _key_sql(catalogue: Catalogue, categories: list[str], key_fields: tuple[str, ...], alias: str) -> str:
    """The record key from raw values, '|'-joined, null when a part is blank: normalised as staging
    does (clean_code; billing periods as YYYYMM), so it matches the dbt record key before hashing."""
    types = {s.field: s.data_type for c in categories for s in catalogue.fields_of(c)}
    parts = [sql.normalize_period_sql(_col(f, alias)) if types.get(f) == "period"
             else sql.clean_code_sql(_col(f, alias)) for f in key_fields]
    # `||` is null when any part is: each part is computed once (a null test before concat_ws computed
    # every part twice, 5.0 against 2.8 s over a 6M-row batch).
    return "(" + " || '|' || ".join(parts) + ")"


def _content_sql(catalogue: Catalogue, categories: list[str], alias: str) -> str:
    """A hash of every catalogue value of the row: equal for rows delivered twice verbatim. DuckDB's
    64-bit hash, not md5 of the values as text (4x cheaper): it only tells apart the few rows of one
    file sharing a record key."""
    fields = dict.fromkeys(s.field for c in categories for s in catalogue.fields_of(c))
    return f"hash({', '.join(_col(f, alias) for f in fields)})"


def uniqueness_rules(catalogue: Catalogue) -> list[Rule]:
    """One record key once per delivered file: the same key on differing rows is ambiguous (blocking,
    every such row quarantined); a row repeated verbatim is harmless (warning). Across files the same
    key is a re-send (a new version), which is how corrections arrive. Keys, copies and versions are
    batch columns (``batch_statements``)."""
    rules = []
    for key_fields, categories in _key_groups(catalogue).items():
        headers = "+".join(_headers(s for c in categories for s in catalogue.fields_of(c) if s.field == f)
                           for f in key_fields)
        base = dict(suite=UNIQUENESS, field=key_fields[0], categories=tuple(categories), value=_col(RECORD_KEY))
        scope = f"{_categories_sql(categories)} and {_col(RECORD_KEY)} is not null"
        rules += [
            Rule(rule_id="duplicate_record_key", severity=BLOCKING, **base,
                 description=(f"record key ({'|'.join(key_fields)}) on several differing rows of one file; "
                              f"checked in {', '.join(categories)}"),
                 reason_zh=(f"记录主键重复：同一文件中有多行的{headers}相同但内容不同，无法确定以哪一行为准，"
                            "这些行均未入库。请核对后每条记录只保留一行，更正后重新报送。"),
                 predicate=f"{scope} and {_col(KEY_VERSIONS)} > 1"),
            Rule(rule_id="repeated_record", severity=WARNING, **base,
                 description=(f"the same row (same key {'|'.join(key_fields)}, same values) twice in one file; "
                              f"checked in {', '.join(categories)}"),
                 reason_zh=f"重复记录：同一文件中{headers}相同的记录重复出现（内容完全相同），已按一条记录入库，请勿重复填报。",
                 predicate=f"{scope} and {_col(KEY_COPIES)} > 1 and {_col(KEY_VERSIONS)} = 1"),
        ]
    return rules


# --- referential -----------------------------------------------------------------------------------

def referential_rules(catalogue: Catalogue) -> list[Rule]:
    """Every record's subject resolves: it carries a USCC or an ID number (the warehouse keys subjects
    by them; a name alone cannot be told apart from a namesake). Generated only where the catalogue's
    requirements do not already demand a code, so it adds no second failure for one blank field:
    with the standard catalogue it fires when 行政相对人类别 names no subject type and no code is given."""
    code_fields = (SUBJECT_CODE_FIELD, SUBJECT_ID_FIELD)
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for code in sorted(catalogue.categories):
        profile = tuple((s.field, s.requirement) for s in catalogue.fields_of(code) if s.field in code_fields)
        if profile and all(requirement != "required" for _, requirement in profile):
            groups.setdefault(profile, []).append(code)
    rules = []
    for profile, categories in groups.items():
        conditions = [_requirement_condition(catalogue, requirement, categories)
                      for _, requirement in profile if requirement in ("org", "person")]
        demanded = " or ".join(f"coalesce({condition}, false)" for condition, _ in conditions) or "false"
        fields = [field for field, _ in profile]
        headers = "和".join(_headers(s for c in categories for s in catalogue.fields_of(c) if s.field == f)
                           for f in fields)
        requirements = {requirement for _, requirement in profile}
        kinds = [*(ORG_SUBJECT_TYPES if "org" in requirements else ()),
                 *((PERSON_SUBJECT_TYPE,) if "person" in requirements else ())]
        type_header = (_header_of(catalogue, categories[0], SUBJECT_TYPE_FIELD)
                       if _layout_has(catalogue, categories[0], SUBJECT_TYPE_FIELD) else "主体类别")
        untyped = f"，且「{type_header}」未填写为{'、'.join(kinds)}之一" if kinds else ""
        rules.append(Rule(
            rule_id="subject_unresolvable", suite=REFERENTIAL, severity=BLOCKING, field=fields[0],
            categories=tuple(categories), variant="+".join(fields[1:]),  # layouts differ in code fields
            description=(f"the subject has no code ({' / '.join(fields)} blank) and no requirement demands one; "
                         f"checked in {', '.join(categories)}"),
            reason_zh=(f"无法识别信用主体：{headers}均未填写{untyped}，记录无法关联到信用主体。"
                       "请补充主体代码和主体类别后重新报送。"),
            predicate=(f"{_categories_sql(categories)} and "
                       + " and ".join(sql.blank_sql(_col(f)) for f in fields) + f" and not ({demanded})"),
            value=_col(SUBJECT_NAME_FIELD) if all(_layout_has(catalogue, c, SUBJECT_NAME_FIELD) for c in categories)
            else "null"))
    return rules


# --- timeliness ------------------------------------------------------------------------------------

def timeliness_rules(catalogue: Catalogue, deadline_workdays: int) -> list[Rule]:
    """late_report: more than N working days in (decision date, report date], for layouts with timeliness.

    The report date is the business date of the delivered file. Working days come from the
    materialised calendar as a running index, so the lag is a difference of two joined indexes.
    A decision date before the calendar's first day counts as late; a decision after the report
    date is never late. (Report dates beyond the calendar stop the run before this: CalendarGapError.)
    """
    by_event: dict[str, list[str]] = {}
    for code in sorted(catalogue.categories):
        layout = catalogue.layout_of(code)
        if layout.timeliness_applies:
            spec = next((s for s in catalogue.fields_of(code) if s.field == layout.event_date_field), None)
            if spec is None or spec.data_type != "date":
                raise CatalogueRuleError(f"layout {layout.name}: event date field {layout.event_date_field} "
                                         "must be a date field for the timeliness rule")
            by_event.setdefault(layout.event_date_field, []).append(code)
    rules = []
    for field, categories in by_event.items():
        decided = _date_col(field)
        joins = (f"left join {CALENDAR_TABLE} as reported_on on reported_on.calendar_date = {ALIAS}.business_date "
                 f"left join {CALENDAR_TABLE} as decided_on on decided_on.calendar_date = {decided}")
        predicate = (f"{_categories_sql(categories)} and {decided} is not null and {decided} <= {ALIAS}.business_date "
                     f"and ({decided} < (select min(calendar_date) from {CALENDAR_TABLE}) "
                     f"or reported_on.workday_index - decided_on.workday_index > {int(deadline_workdays)})")
        headers = _headers(s for c in categories for s in catalogue.fields_of(c) if s.field == field)
        rules.append(Rule(
            rule_id="late_report", suite=TIMELINESS, severity=WARNING, field=field, categories=tuple(categories),
            description=(f"reported more than {deadline_workdays} working days after {field} "
                         f"(Chinese statutory calendar with adjusted workdays); checked in {', '.join(categories)}"),
            reason_zh=(f"迟报：自{headers}至报送日期超过{deadline_workdays}个工作日"
                       "（按国家法定节假日及调休安排计算），请在规定时限内报送。"),
            predicate=predicate, joins=joins))
    return rules


# --- all -------------------------------------------------------------------------------------------

def build_rules(catalogue: Catalogue, deadline_workdays: int) -> list[Rule]:
    """Every row rule of the catalogue, in suite order; keys are unique."""
    rules = [*row_structure_rules(catalogue), *completeness_rules(catalogue), *format_rules(catalogue),
             *code_rules(catalogue), *duplicate_code_rules(catalogue), *uniqueness_rules(catalogue),
             *referential_rules(catalogue), *timeliness_rules(catalogue, deadline_workdays)]
    keys = [r.key for r in rules]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise CatalogueRuleError(f"duplicate rule keys: {sorted(duplicates)}")
    # validation.rules (reasons for stewards) is joined to row issues on (rule_id, field, category)
    seen = [(r.rule_id, r.field, c) for r in rules for c in r.categories]
    ambiguous = {k for k in seen if seen.count(k) > 1}
    if ambiguous:
        raise CatalogueRuleError(f"several rules share (rule_id, field, category): {sorted(ambiguous)}")
    computed = computed_columns(catalogue)
    return [dataclasses.replace(rule, reads_computed=bool(_columns_read(_rule_sql(rule)) & computed))
            for rule in rules]


def rule_source(rule: Rule, batch: str, raw_rows: str) -> str:
    """The rows a rule reads: the batch table, or the batch's raw rows for a rule of delivered values alone."""
    return batch if rule.reads_computed else raw_rows


def gx_suite(rule: Rule) -> str:
    """The GX suite of a rule (``RAW_ROWS_SUFFIX``)."""
    return rule.suite if rule.reads_computed else rule.suite + RAW_ROWS_SUFFIX


def reason_for(rule: Rule, catalogue: Catalogue, category: str) -> str:
    """The rule's reason as a department of ``category`` reads it: only that category's own header
    (a rule covering several layouts lists every layout's header, e.g. 「许可决定日期」/「处罚决定日期」)."""
    own = [s for s in catalogue.fields_of(category) if s.field == rule.field]
    if not own:
        return rule.reason_zh
    every = [s for c in rule.categories for s in catalogue.fields_of(c) if s.field == rule.field]
    return rule.reason_zh.replace(_headers(every), _headers(own), 1)


def timeliness_categories(rules: Iterable[Rule]) -> tuple[str, ...]:
    return tuple(sorted({c for r in rules if r.suite == TIMELINESS for c in r.categories}))


def offending_rows_sql(rule: Rule, source: str, *, display: bool = False) -> str:
    """The rows of ``source`` (a raw.feed_rows batch) that break ``rule``.

    ``display=False``: what ``validation.row_issues`` receives (raw value). ``display=True``: what
    Great Expectations runs and shows in Data Docs: the same FROM/JOIN/WHERE, ID numbers masked,
    ordered so the sample is stable. Both return the same number of rows.
    """
    value = rule.value or _col(rule.field)
    if display:
        value = sql.mask_id_number_sql(value) if rule.pii else sql.mask_ids_in_text_sql(value)
        columns = f"{ALIAS}.load_id, {ALIAS}.row_number, {ALIAS}.department_code, {ALIAS}.category_code"
    else:
        columns = (f"{ALIAS}.file_sha256, {ALIAS}.load_id, {ALIAS}.row_number, {ALIAS}.department_code, "
                   f"{ALIAS}.category_code")
    joins = f" {rule.joins}" if rule.joins else ""
    # GX expands {batch} to "(select ...) AS subselect": wrap the source so it can take our alias.
    query = (f"select {columns}, {value} as offending_value from (select * from {source}) as {ALIAS}{joins} "
             f"where {rule.predicate}")
    if display:
        query += f" order by {ALIAS}.load_id, {ALIAS}.row_number"
    return query
