{#- Subject identifiers: resident ID numbers (GB 11643) and USCC (GB 32100-2015).
    Mirrors flows/credit_warehouse/codes.py; tests/test_dbt_models.py proves both agree. -#}

{#- Registration authority code -> allowed organisation category codes (codes.USCC_VALID_PAIRS). -#}
{% macro uscc_valid_pairs() -%}
    {{ return({'1': '1239', '2': '19', '3': '123459', '4': '19', '5': '1239', '6': '129', '7': '129',
               '8': '19', '9': '123', 'A': '19', 'N': '1239', 'Y': '1'}) }}
{%- endmacro %}

{#- (authority, category) -> subject kind (codes.USCC_SUBJECT_KINDS). -#}
{% macro uscc_subject_kinds() -%}
    {{ return({'11': '机关', '12': '事业单位', '13': '中央编办直接管理机构编制的群众团体', '19': '其他',
               '31': '律师执业机构', '32': '公证处', '33': '基层法律服务所', '34': '司法鉴定机构',
               '35': '仲裁委员会', '39': '其他', '51': '社会团体', '52': '民办非企业单位', '53': '基金会',
               '59': '其他', '91': '企业', '92': '个体工商户', '93': '农民专业合作社', 'A1': '宗教活动场所',
               'N1': '组级集体经济组织', 'N2': '村级集体经济组织', 'N3': '乡镇级集体经济组织', 'Y1': '其他'}) }}
{%- endmacro %}

{#- An 18-character resident ID shape: region (6 digits), birth date 18xx-20xx, sequence, check. -#}
{% macro resident_id_regex() -%}
    {{ return('[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]') }}
{%- endmacro %}

{#- Something that looks like a resident ID inside free text, not glued to other letters/digits.
    Group 2 is the ID-like text. -#}
{% macro resident_id_in_text_regex() -%}
    {{ return('(^|[^0-9A-Za-z])(' ~ credit_warehouse.resident_id_regex() ~ ')([^0-9A-Za-z]|$)') }}
{%- endmacro %}

{#- MOD 11-2 check character of an 18-character resident ID is right (null if not computable). -#}
{% macro resident_id_check_ok(expression) -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    (substr('10X98765432', cast(mod(
        {%- for w in weights %}
        {{ credit_warehouse.try_cast('substr(' ~ expression ~ ', ' ~ loop.index ~ ', 1)', 'integer') }} * {{ w }}{{ ' +' if not loop.last }}
        {%- endfor %}
    , 11) as integer) + 1, 1) = upper(substr({{ expression }}, 18, 1)))
{%- endmacro %}

{#- Why a resident ID number is not valid ('format', 'birth_date', 'check_char') or 'valid'. -#}
{% macro resident_id_status(expression) -%}
    case
        when {{ expression }} is null then null
        when not {{ credit_warehouse.regex_matches(expression, '^[0-9]{17}[0-9X]$') }} then 'format'
        when {{ credit_warehouse.parse_date('substr(' ~ expression ~ ', 7, 8)') }} is null then 'birth_date'
        when not {{ credit_warehouse.resident_id_check_ok(expression) }} then 'check_char'
        else 'valid'
    end
{%- endmacro %}

{#- The USCC check character computed from the first 17 characters. -#}
{% macro uscc_expected_check_char(expression) -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    substr('0123456789ABCDEFGHJKLMNPQRTUWXY', cast(mod(31 - mod(
        {%- for w in weights %}
        ({{ dbt.position('substr(' ~ expression ~ ', ' ~ loop.index ~ ', 1)', "'0123456789ABCDEFGHJKLMNPQRTUWXY'") }} - 1) * {{ w }}{{ ' +' if not loop.last }}
        {%- endfor %}
    , 31), 31) as integer) + 1, 1)
{%- endmacro %}

{#- Why a USCC is not valid, with the validation rule vocabulary: 'format', 'invalid_pair',
    'check_char'; 'valid' when it passes (codes.uscc_problem). -#}
{% macro uscc_status(expression) -%}
    {%- set pairs = [] -%}
    {%- for authority, categories in credit_warehouse.uscc_valid_pairs().items() -%}
        {%- for category in categories -%}{%- do pairs.append(authority ~ category) -%}{%- endfor -%}
    {%- endfor -%}
    case
        when {{ expression }} is null then null
        when not {{ credit_warehouse.regex_matches(expression,
            '^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$') }} then 'format'
        when substr({{ expression }}, 1, 2) not in ('{{ pairs | join("', '") }}') then 'invalid_pair'
        when substr({{ expression }}, 18, 1) <> {{ credit_warehouse.uscc_expected_check_char(expression) }}
            then 'check_char'
        else 'valid'
    end
{%- endmacro %}

{#- Subject kind from the USCC (authority, category) pair; '其他' when the pair is unknown. -#}
{% macro uscc_subject_kind(expression) -%}
    case substr({{ expression }}, 1, 2)
    {%- for pair, kind in credit_warehouse.uscc_subject_kinds().items() %}
        when '{{ pair }}' then '{{ kind }}'
    {%- endfor %}
        else '其他'
    end
{%- endmacro %}

{#- A value delivered as a USCC that is really a resident ID number (e.g. an individual business
    reported under its owner's ID): it has the ID shape, and it is not a valid USCC that merely
    happens to look like one (valid USCC with a wrong ID check character). -#}
{% macro is_resident_id_like(expression) -%}
    {#- A case, not `and`: DuckDB evaluates both sides of an `and` in a select list for every row, and
        the USCC check character (17 lookups) of every code cost stg_payments 7.9 s of 11.6M values at
        1,000,000 subjects; the branch runs only for the few values shaped like an ID number. -#}
    case when {{ credit_warehouse.regex_matches(expression, '^' ~ credit_warehouse.resident_id_regex() ~ '$') }}
        then coalesce(not ({{ credit_warehouse.uscc_status(expression) }} = 'valid'
                           and not {{ credit_warehouse.resident_id_check_ok(expression) }}), false)
        else false end
{%- endmacro %}

{#- Keyed hash of an ID number: sha256(pii_secret || upper(trim(id)))[:32] (codes.person_key). -#}
{% macro person_key(expression) -%}
    {%- set secret = dbt.string_literal(dbt.escape_single_quotes(var('pii_secret'))) -%}
    case when {{ expression }} is not null then
        substr({{ credit_warehouse.sha256_hex(dbt.concat([secret, "upper(" ~ credit_warehouse.trim_whitespace(expression) ~ ")"])) }}, 1, 32)
    end
{%- endmacro %}

{#- Masked ID number (脱敏): first 3 and last 2 characters kept (codes.mask_id_number). -#}
{% macro mask_id_number(expression) -%}
    case
        when {{ expression }} is null then null
        when {{ dbt.length(expression) }} <= 5 then {{ credit_warehouse.repeat_text("'*'", dbt.length(expression)) }}
        else {{ dbt.concat(["substr(" ~ expression ~ ", 1, 3)",
                            credit_warehouse.repeat_text("'*'", dbt.length(expression) ~ " - 5"),
                            dbt.right(expression, 2)]) }}
    end
{%- endmacro %}

{#- Free text with every embedded resident-ID-like number masked (applied twice so that two IDs
    separated by a single character are both caught). The text is NFKC-mapped first (macro nfkc),
    so an ID number typed in full-width digits is masked too. -#}
{% macro mask_ids_in_text(expression) -%}
    {%- set pattern = '(^|[^0-9A-Za-z])([1-9][0-9]{2})[0-9]{3}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{2}([0-9][0-9Xx])([^0-9A-Za-z]|$)' -%}
    {%- set replacement = '\\1\\2*************\\3\\4' -%}
    {%- set text = credit_warehouse.nfkc(expression) -%}
    {#- Most text holds no run of 17 digits and no full-width form: one regex test on the value as it
        is then returns it unchanged, since nfkc would change nothing and there is nothing to mask
        (profiled at 1,000,000 subjects: 3.7x cheaper than nfkc twice plus a test). Chinese prose whose
        only full-width forms are the comma and colon (most 违法事实 and 处罚内容) has no run of 17
        digits after nfkc either, which only replaces those two: it gets the two replaces after a second
        test, instead of nfkc twice (four tests, four replaces) and a test for the run (a year's 5.4M
        penalty facts 2.2 -> 1.3 s, the same text). Otherwise, a run of 17 digits (after nfkc) skips
        the two replacements, which cost ~14x the test. -#}
    case when not {{ credit_warehouse.regex_matches(expression, '[0-9]{17}|' ~ credit_warehouse.nfkc_chars_class()) }}
        then {{ expression }}
    when not {{ credit_warehouse.regex_matches(expression, '[0-9]{17}|' ~ credit_warehouse.nfkc_translated_class()) }}
        then {{ dbt.replace(dbt.replace(expression, "'，'", "','"), "'：'", "':'") }}
    when {{ credit_warehouse.regex_matches(text, '[0-9]{17}') }}
        then {{ credit_warehouse.regex_replace_all(
            credit_warehouse.regex_replace_all(text, pattern, replacement), pattern, replacement) }}
        else {{ text }} end
{%- endmacro %}

{#- True when the text contains a resident-ID-like number. -#}
{% macro contains_resident_id(expression) -%}
    coalesce({{ credit_warehouse.regex_matches(expression, credit_warehouse.resident_id_in_text_regex()) }}, false)
{%- endmacro %}

{#- A key (document number...) that embeds an ID number is replaced by a keyed hash ('#' + 32 hex),
    so raw ID numbers never travel beyond staging even inside record keys. -#}
{% macro protect_key(expression) -%}
    case
        when {{ credit_warehouse.contains_resident_id(expression) }}
            then {{ dbt.concat(["'#'", credit_warehouse.person_key(expression)]) }}
        else {{ expression }}
    end
{%- endmacro %}

{#- Subject name as compared for 重码 detection: no spaces, full-width brackets as ASCII, upper case. -#}
{% macro normalize_name(expression) -%}
    upper({{ dbt.replace(dbt.replace(dbt.replace(dbt.replace("trim(" ~ expression ~ ")", "'（'", "'('"),
                                                 "'）'", "')'"), "' '", "''"), "'　'", "''") }})
{%- endmacro %}
