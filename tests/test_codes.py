"""USCC and resident ID rules against python-stdnum, where stdnum is right."""

from __future__ import annotations

import datetime as dt
import random

from credit_warehouse.codes import (
    USCC_ALPHABET,
    make_resident_id,
    make_uscc,
    mask_id_number,
    person_key,
    resident_id_problem,
    uscc_problem,
)
from stdnum.cn import ric, uscc


def random_body(rng: random.Random) -> str:
    return "".join(rng.choice(USCC_ALPHABET) for _ in range(9))


def test_domain_example_is_valid():
    assert uscc_problem("91350100M000100Y43") is None


def test_check_char_agrees_with_stdnum_on_digit_led_codes():
    rng = random.Random(7)
    for _ in range(2000):
        code = make_uscc("9", rng.choice("123"), "140213", random_body(rng))
        assert uscc_problem(code) is None and uscc.is_valid(code)
        broken = code[:17] + next(c for c in USCC_ALPHABET if c != code[17])
        assert uscc_problem(broken) == "uscc_check_char" and not uscc.is_valid(broken)


def test_letter_led_codes_that_stdnum_rejects_are_valid():
    code = make_uscc("N", "2", "140221", "MA0X12345")
    assert uscc_problem(code) is None
    assert not uscc.is_valid(code)  # the stdnum limitation this module exists for


def test_invalid_pair_and_format():
    assert uscc_problem(make_uscc("9", "4", "140213", "MA0X12345")) == "uscc_invalid_pair"
    assert uscc_problem(make_uscc("Y", "2", "140213", "MA0X12345")) == "uscc_invalid_pair"
    assert uscc_problem("91140213MA0X1234I5") == "uscc_format"  # I is not in the alphabet
    assert uscc_problem("9114021") == "uscc_format"


def test_resident_ids_agree_with_stdnum_for_old_counties():
    rng = random.Random(3)
    for _ in range(500):
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(25000))
        number = make_resident_id("110101", birth, rng.randrange(1000))
        assert resident_id_problem(number) is None and ric.is_valid(number)
    assert resident_id_problem("110101199002301234") == "resident_id_birth_date"
    good = make_resident_id("140213", dt.date(1990, 1, 2), 5)
    assert resident_id_problem(good[:17] + ("0" if good[17] != "0" else "1")) == "resident_id_check_char"


def test_masking_and_keyed_hash():
    number = make_resident_id("140213", dt.date(1990, 1, 2), 5)
    masked = mask_id_number(number)
    assert masked[:3] == number[:3] and masked[-2:] == number[-2:] and set(masked[3:-2]) == {"*"}
    assert person_key(number, "s1") == person_key(number.lower(), "s1") != person_key(number, "s2")
