"""Subject identifiers: USCC (GB 32100-2015) and resident ID numbers (GB 11643-1999).

Written by hand because python-stdnum's ``cn.uscc`` rejects valid codes whose first two characters
are letters (N..., Y..., A...) and checks no (registration authority, category) pair, and ``cn.ric``
rejects IDs from counties missing in its birthplace table. The same rules exist as SQL in
``validation/rules.py``; ``tests/test_codes.py`` proves both agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1,3,9,27,19,26,16,...
# Registration authority code -> allowed organisation category codes (GB 32100-2015 table 1).
USCC_VALID_PAIRS: dict[str, str] = {
    "1": "1239", "2": "19", "3": "123459", "4": "19", "5": "1239", "6": "129", "7": "129",
    "8": "19", "9": "123", "A": "19", "N": "1239", "Y": "1",
}
# (authority, category) -> subject kind, used to describe subjects in dim_subject.
USCC_SUBJECT_KINDS: dict[str, str] = {
    "11": "机关", "12": "事业单位", "13": "中央编办直接管理机构编制的群众团体", "19": "其他",
    "31": "律师执业机构", "32": "公证处", "33": "基层法律服务所", "34": "司法鉴定机构",
    "35": "仲裁委员会", "39": "其他", "51": "社会团体", "52": "民办非企业单位", "53": "基金会",
    "59": "其他", "91": "企业", "92": "个体工商户", "93": "农民专业合作社", "A1": "宗教活动场所",
    "N1": "组级集体经济组织", "N2": "村级集体经济组织", "N3": "乡镇级集体经济组织", "Y1": "其他",
}
RID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
# NFKC restricted to the full-width forms that codes, dates and amounts arrive with (digits,
# letters, － ／ ． ， ：, ideographic space): exactly what NFKC maps them to. Restricted because
# the SQL twin (DuckDB has no NFKC) is a translate() over these tables, the same in the validation
# rules (validation/expressions.py) and the dbt macros (macros/parsing.sql ``nfkc``).
FULLWIDTH_FORMS = ("０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
                   "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－／．，：\u3000")
ASCII_FORMS = ("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-/.,: ")
_NFKC_TABLE = str.maketrans(FULLWIDTH_FORMS, ASCII_FORMS)
RID_CHECK = "10X98765432"


def uscc_check_char(first17: str) -> str:
    """The 18th character for the first 17 characters of a USCC."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid USCC, or None when it is. Reasons match validation rule ids."""
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code) or not code[2:8].isdigit():
        return "uscc_format"
    if code[1] not in USCC_VALID_PAIRS.get(code[0], ""):
        return "uscc_invalid_pair"
    if uscc_check_char(code[:17]) != code[17]:
        return "uscc_check_char"
    return None


def make_uscc(authority: str, category: str, region: str, body: str) -> str:
    """A valid USCC from its parts (body = 9-character subject identifier)."""
    first17 = f"{authority}{category}{region}{body}"
    return first17 + uscc_check_char(first17)


def resident_id_check_char(first17: str) -> str:
    return RID_CHECK[sum(int(c) * w for c, w in zip(first17, RID_WEIGHTS, strict=True)) % 11]


def resident_id_problem(number: str) -> str | None:
    """Why ``number`` is not a valid 18-digit resident ID, or None when it is."""
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return "resident_id_format"
    try:
        dt.datetime.strptime(number[6:14], "%Y%m%d")
    except ValueError:
        return "resident_id_birth_date"
    if resident_id_check_char(number[:17]) != number[17]:
        return "resident_id_check_char"
    return None


def make_resident_id(region: str, birth: dt.date, sequence: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def mask_id_number(number: str) -> str:
    """Mask an ID number for display: keep the first 3 and last 2 characters (脱敏)."""
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


def nfkc_forms(text: str) -> str:
    """Full-width digits, letters and separators as ASCII (see FULLWIDTH_FORMS)."""
    return text.translate(_NFKC_TABLE)


def normalize_code(text: str) -> str:
    """A code (USCC, ID number) as the warehouse compares it: full-width forms as ASCII, no
    whitespace anywhere, upper case. Twin of the dbt macro ``normalize_code``."""
    return "".join(nfkc_forms(text).split()).upper()


def person_key(number: str, secret: str) -> str:
    """Keyed hash of an ID number: joins persons across records without revealing the number.

    sha256(secret || normalize_code(number)), first 32 hex: the dbt macro ``person_key`` computes
    the same in SQL (on the normalised number staging carries).
    """
    return hashlib.sha256((secret + normalize_code(number)).encode()).hexdigest()[:32]
