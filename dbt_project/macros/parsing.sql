{#- Typing of raw text values. Rows with blocking issues (unparseable dates, invalid amounts...)
    never reach staging, but parsing stays defensive: a value that still cannot be parsed becomes
    null instead of failing the build. -#}

{#- Free text: trimmed, empty -> null. -#}
{% macro clean_text(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}

{#- Full-width digits, letters and separators (－ ／ ． ， ：, ideographic space) as ASCII: what NFKC
    does to them. DuckDB has no NFKC function; the same tables are codes.FULLWIDTH_FORMS /
    ASCII_FORMS in Python and validation/expressions.py nfkc_sql (tests/test_bad_input.py checks).
    DuckDB's translate costs ~1.3 µs a value whatever it holds (13.7 s for the 11.6M billing periods of
    a year of the 1,000,000-subject city; 7.1 s for 5.4M penalty contents), a regex test ~0.05 µs. So
    a value without a character to map is returned as it is (most values), and one whose only ones
    are the full-width comma and colon of Chinese prose gets two replaces (~0.04 µs); only the rest is
    translated. The same result as translate on every value (tests/test_dbt_models.py). -#}
{% macro nfkc(expression) -%}
    case
        when not {{ credit_warehouse.regex_matches(expression, credit_warehouse.nfkc_chars_class()) }}
            then {{ expression }}
        when {{ credit_warehouse.regex_matches(expression, credit_warehouse.nfkc_translated_class()) }}
            then translate({{ expression }}, '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－／．，：　', '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-/.,: ')
        else {{ dbt.replace(dbt.replace(expression, "'，'", "','"), "'：'", "':'") }}
    end
{%- endmacro %}

{#- A character class holding every character nfkc maps (U+FF0C..U+FF5A and the ideographic space),
    and a few full-width forms it leaves alone: a value without a match is its own nfkc
    (tests/test_bad_input.py checks the class against codes.FULLWIDTH_FORMS). -#}
{% macro nfkc_chars_class() -%}
    [\x{FF0C}-\x{FF5A}\x{3000}]
{%- endmacro %}

{#- The characters of nfkc_chars_class that nfkc translates: all but the full-width comma and colon
    (two replaces) and the forms it leaves alone. -#}
{% macro nfkc_translated_class() -%}
    [\x{FF0D}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{3000}]
{%- endmacro %}

{#- Keys (document numbers, account numbers): any surrounding whitespace removed, upper case,
    empty -> null. -#}
{% macro clean_code(expression) -%}
    nullif(upper({{ credit_warehouse.trim_whitespace(expression) }}), '')
{%- endmacro %}

{#- Identifiers (USCC, ID numbers) as codes.normalize_code: full-width forms as ASCII, whitespace
    removed everywhere (a code never contains a space), upper case, empty -> null. -#}
{% macro normalize_code(expression) -%}
    {#- Most codes arrive as plain ASCII letters and digits, which translate and replace leave as
        they are: a cheap match skips both (profiled: ~5x cheaper per value at city scale). -#}
    case when {{ credit_warehouse.regex_matches(expression, '^[0-9A-Za-z]+$') }} then upper({{ expression }})
    else nullif(upper({{ credit_warehouse.regex_replace_all(credit_warehouse.nfkc(expression),
                                                          '[\\s\\x{3000}\\x{00A0}]+', '') }}), '') end
{%- endmacro %}

{#- A date delivered as YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD or YYYY年MM月DD日 (full-width
    forms allowed, a trailing time part ignored); twin of validation/expressions.py parse_date_sql. -#}
{% macro parse_date(expression) -%}
    {{ return(adapter.dispatch('parse_date', 'credit_warehouse')(expression)) }}
{%- endmacro %}

{#- The documented date shapes: twin of validation/expressions.py _DATE_SHAPE_REGEX. -#}
{% macro date_shape_regex() -%}
    [0-9]{4}(-[0-9]{1,2}-[0-9]{1,2}|/[0-9]{1,2}/[0-9]{1,2}|\.[0-9]{1,2}\.[0-9]{1,2}|[0-9]{4}|年[0-9]{1,2}月[0-9]{1,2}日)( [0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?
{%- endmacro %}

{% macro duckdb__parse_date(expression) -%}
    {#- A value already in a documented shape (the common case; the shape regex of parse_date_sql) is
        parsed as delivered: translate and trim would change nothing and cost half the time. -#}
    case when regexp_full_match({{ expression }}, '{{ date_shape_regex() }}') then
        {{ credit_warehouse.strptime_by_separator(dbt.split_part(expression, "' '", 1)) }}
    else
        {{ credit_warehouse.strptime_by_separator(dbt.split_part(
            credit_warehouse.trim_whitespace(credit_warehouse.nfkc(expression)), "' '", 1)) }}
    end
{%- endmacro %}

{#- try_strptime with the one documented format the date's separator names, not the list of all five:
    DuckDB tried the list's formats in turn at ~0.45 µs a value (5.1 s for the 11.4M billing periods of
    a year at 1,000,000 subjects, their format third), one format ~0.05 µs. The result is the same:
    a format with another separator cannot read the value. Twin of parse_date_sql's. -#}
{% macro strptime_by_separator(text) -%}
    case
        when contains({{ text }}, '-') then cast(try_strptime({{ text }}, '%Y-%m-%d') as date)
        when contains({{ text }}, '/') then cast(try_strptime({{ text }}, '%Y/%m/%d') as date)
        when contains({{ text }}, '.') then cast(try_strptime({{ text }}, '%Y.%m.%d') as date)
        when contains({{ text }}, '年') then cast(try_strptime({{ text }}, '%Y年%m月%d日') as date)
        else cast(try_strptime({{ text }}, '%Y%m%d') as date)
    end
{%- endmacro %}

{#- Portable fallback: normalise to YYYYMMDD digits, then build an ISO date and cast it safely.
    年/月 and dots become dashes, 日 goes; single-digit months/days are padded first. -#}
{% macro default__parse_date(expression) -%}
    {%- set text = dbt.split_part(credit_warehouse.trim_whitespace(credit_warehouse.nfkc(expression)), "' '", 1) -%}
    {%- set text = credit_warehouse.regex_replace_all(
        credit_warehouse.regex_replace_all(text, '[年月.]', '-'), '日$', '') -%}
    {%- set iso = credit_warehouse.regex_replace_all(
        credit_warehouse.regex_replace_all(text, '^([0-9]{4})[-/]([0-9])([-/])', '\\1-0\\2\\3'),
        '^([0-9]{4})[-/]([0-9]{2})[-/]([0-9])$', '\\1-\\2-0\\3') -%}
    {%- set digits = dbt.replace(dbt.replace(iso, "'-'", "''"), "'/'", "''") -%}
    case when {{ dbt.length(digits) }} = 8 then
        {{ credit_warehouse.try_cast(dbt.concat(["substr(" ~ digits ~ ", 1, 4)", "'-'",
                                                 "substr(" ~ digits ~ ", 5, 2)", "'-'",
                                                 "substr(" ~ digits ~ ", 7, 2)"]), 'date') }}
    end
{%- endmacro %}

{#- An amount: thousands separators removed, decimal(18,4); unparseable -> null. -#}
{% macro parse_amount(expression) -%}
    {#- a plain decimal (the common case) is cast as delivered: translate, trim and replace would
        change nothing (twin of parse_amount_sql) -#}
    case when {{ credit_warehouse.regex_matches(expression, '^-?[0-9]+(\\.[0-9]+)?$') }}
        then {{ credit_warehouse.try_cast(expression, 'decimal(18,4)') }}
    else {{ credit_warehouse.try_cast(
        "nullif(" ~ dbt.replace("trim(" ~ credit_warehouse.nfkc(expression) ~ ")", "','", "''") ~ ", '')",
        'decimal(18,4)') }} end
{%- endmacro %}

{#- A billing period YYYYMM (also YYYY-MM, YYYY/MM) as the first day of that month. -#}
{% macro parse_period_start(expression) -%}
    {{ credit_warehouse.parse_date(dbt.concat([
        "substr(" ~ dbt.replace(dbt.replace("trim(" ~ credit_warehouse.nfkc(expression) ~ ")", "'-'", "''"), "'/'", "''") ~ ", 1, 6)",
        "'01'"])) }}
{%- endmacro %}

{#- The billing period normalised to YYYYMM text (as used in record keys). -#}
{% macro normalize_period(expression) -%}
    nullif(substr({{ dbt.replace(dbt.replace("trim(" ~ credit_warehouse.nfkc(expression) ~ ")", "'-'", "''"), "'/'", "''") }}, 1, 6), '')
{%- endmacro %}

{#- Text that may travel to the marts: cleaned, and any embedded resident-ID-like number masked
    (a department may type an ID number into any column). -#}
{% macro safe_text(expression) -%}
    {{ credit_warehouse.mask_ids_in_text(credit_warehouse.clean_text(expression)) }}
{%- endmacro %}

{#- A code column (authority / data source USCC) normalised, with resident-ID-like values masked. -#}
{% macro safe_code(expression) -%}
    {{ credit_warehouse.mask_ids_in_text(credit_warehouse.normalize_code(expression)) }}
{%- endmacro %}
