"""The subject population: every subject type of DOMAIN.md §2, derived only from (seed, subjects).

Subjects are numbered 0..subjects-1 in contiguous blocks per kind (organisations first, natural
persons last), so picking "an organisation" is one ``randrange``. A subject's attributes are
computed from its number on demand (and cached): a million subjects cost no memory up front.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from credit_warehouse.catalogue import ORG_SUBJECT_TYPES, PERSON_SUBJECT_TYPE, Catalogue
from credit_warehouse.codes import USCC_ALPHABET, make_resident_id, make_uscc
from credit_warehouse.sample_city.dates import WorkdayIndex
from credit_warehouse.sample_city.names import Area, OrgNamer, Scramble, person_name
from credit_warehouse.sample_city.rates import BAD_CHECK_CHAR, INVALID_PAIR, DefectRates
from credit_warehouse.sample_city.streams import mix64, stable_int, stream

PERSON = "person"
MIN_SUBJECTS = 50
# (USCC authority+category or PERSON, share). Non-legal-person organisations use 31 (律师事务所),
# A1, N2 and Y1 so that codes starting with a letter occur (python-stdnum rejects them wrongly).
KIND_SHARES: tuple[tuple[str, float], ...] = (
    ("91", 0.42), ("92", 0.22), ("93", 0.02), ("11", 0.01), ("12", 0.02), ("51", 0.008), ("52", 0.008),
    ("53", 0.002), ("31", 0.004), ("A1", 0.002), ("N2", 0.008), ("Y1", 0.004), (PERSON, 0.272),
)
# First two characters of the 9-character subject identifier, by kind (the rest is unique per subject).
BODY_PREFIX = {"91": "MA", "92": "MA", "93": "MA", "11": "00", "12": "40", "51": "50", "52": "52",
               "53": "53", "31": "31", "A1": "A0", "N2": "N0", "Y1": "Y0"}
# (authority, category) pairs that GB 32100 does not allow: "invalid pair" pilot codes.
INVALID_PAIRS = (("9", "4"), ("Y", "2"), ("9", "9"), ("5", "4"), ("1", "5"), ("A", "2"))
# Who registers which kind (C01 feeds); kinds whose registrar has no C01 feed are never registered.
REGISTRARS = {"91": "market_regulation", "92": "market_regulation", "93": "market_regulation",
              "N2": "market_regulation", "Y1": "market_regulation", "11": "establishment",
              "12": "establishment", "51": "civil_affairs", "52": "civil_affairs", "53": "civil_affairs",
              "A1": "civil_affairs", "31": "justice"}
# Registrations are spread over this window (fixed, so that a day's registrations never depend on
# the generated range); about 1/12 of organisations register in any month of it.
REGISTRATION_WINDOW = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
HOT_SHARE = 0.003  # repeat offenders: draw a fifth of penalties and judgments (屡禁不止 indicator)
RARE_NAME_SHARE = 0.004
BIRTH_EPOCH, BIRTH_DAYS = dt.date(1950, 1, 1), 20_000  # persons born 1950-2004


@dataclass(frozen=True, slots=True)
class Subject:
    index: int
    kind: str  # USCC authority+category ("91", "A1"...) or "person"
    name: str
    subject_type: str  # 法人及非法人组织 | 个体工商户 | 自然人
    code: str  # USCC as delivered (possibly defective) or 18-digit resident ID
    legal_rep: str  # "" for persons
    area: Area
    defect: str | None  # bad_check_char | invalid_pair | None
    male: bool

    @property
    def is_person(self) -> bool:
        return self.kind == PERSON


def _kind_counts(subjects: int) -> dict[str, int]:
    counts = {kind: max(1, round(share * subjects)) for kind, share in KIND_SHARES}
    counts["91"] += subjects - sum(counts.values())
    return counts


def _sample(rng: random.Random, population: Sequence[int], share: float, minimum: int = 0) -> list[int]:
    """A sorted random share of ``population`` (cheaper than one hash per subject at a million)."""
    k = min(len(population), max(minimum, round(share * len(population))))
    return sorted(rng.sample(population, k))


_PAIRS = [a + b for a in USCC_ALPHABET for b in USCC_ALPHABET]  # base-31 digit pairs


def _base31_7(value: int) -> str:
    """``value`` < 31**7 as seven characters of the USCC alphabet (most significant first)."""
    value, low = divmod(value, 961)
    value, mid = divmod(value, 961)
    top, high = divmod(value, 961)
    return USCC_ALPHABET[top] + _PAIRS[high] + _PAIRS[mid] + _PAIRS[low]


class Population:
    def __init__(self, seed: int, subjects: int, catalogue: Catalogue, defects: DefectRates,
                 workdays: WorkdayIndex) -> None:
        if subjects < MIN_SUBJECTS:
            raise ValueError(f"the sample city needs at least {MIN_SUBJECTS} subjects, got {subjects}")
        self.seed, self.size, self.catalogue, self.workdays = seed, subjects, catalogue, workdays
        self.counts = _kind_counts(subjects)
        self.kinds: list[str] = []
        self.starts: list[int] = []
        start = 0
        for kind, _ in KIND_SHARES:
            self.kinds.append(kind)
            self.starts.append(start)
            start += self.counts[kind]
        self.org_count = subjects - self.counts[PERSON]
        self.all_areas = [Area(code, name) for code, name in sorted(catalogue.regions.items())]
        self.local_areas = [a for a in self.all_areas if a.code[4:] != "00"] or self.all_areas
        # Resident IDs carry county-level codes only (development zones 71-79 issue none).
        self.id_areas = [a for a in self.local_areas if a.code[4] != "7"] or self.local_areas
        self.namers = {kind: OrgNamer(kind, self.all_areas, self.local_areas, stable_int(seed, "names", kind))
                       for kind, _ in KIND_SHARES if kind != PERSON}
        self.salt = stable_int(seed, "population")
        self.body_scramble = Scramble(31**7, stable_int(seed, "bodies"))
        self.person_scramble = Scramble(BIRTH_DAYS * len(self.id_areas) * 1000, stable_int(seed, "persons"))
        self.bad = self._choose_bad(defects)
        self.bad_lists = {kind: sorted(i for i, k in self.bad.items() if k == kind)
                          for kind in (BAD_CHECK_CHAR, INVALID_PAIR)}
        hot = _sample(stream(seed, "hot"), range(self.org_count), HOT_SHARE)
        self.hot = [i for i in hot if i not in self.bad] or [0]
        self._registrations: dict[dt.date, dict[str, list[int]]] | None = None
        self._accounts: dict[str, list[int]] = {}
        self.subject = functools.lru_cache(maxsize=1 << 18)(self._subject)

    # -- defective codes -------------------------------------------------------------------------
    def _choose_bad(self, defects: DefectRates) -> dict[int, str]:
        bad: dict[int, str] = {}
        for kind in (BAD_CHECK_CHAR, INVALID_PAIR):
            rate = defects.rate(kind)
            if rate > 0:  # at least one such subject, even in a small city
                free: Sequence[int] = range(self.org_count)
                if bad:
                    free = [i for i in free if i not in bad]
                chosen = _sample(stream(self.seed, "bad", kind), free, rate * self.org_count / len(free), 1)
                bad.update(dict.fromkeys(chosen, kind))
        return bad

    def is_bad(self, index: int) -> bool:
        return index in self.bad

    # -- subjects --------------------------------------------------------------------------------
    def kind_of(self, index: int) -> tuple[str, int]:
        """(kind, rank of the subject within its kind)."""
        if not 0 <= index < self.size:
            raise IndexError(index)
        i = bisect.bisect_right(self.starts, index) - 1
        return self.kinds[i], index - self.starts[i]

    def _subject(self, index: int) -> Subject:
        kind, k = self.kind_of(index)
        h = mix64(self.salt ^ index)
        rare = (h >> 44) % 100_000 < RARE_NAME_SHARE * 100_000
        if kind == PERSON:
            s = self.person_scramble(k)
            s, days = divmod(s, BIRTH_DAYS)
            seq, a = divmod(s, len(self.id_areas))
            seq %= 1000
            area = self.id_areas[a]
            male = seq % 2 == 1
            number = make_resident_id(area.code, BIRTH_EPOCH + dt.timedelta(days=days), seq)
            return Subject(index, kind, person_name(h, male, rare), PERSON_SUBJECT_TYPE, number, "", area,
                           None, male)
        name, area = self.namers[kind].name_and_area(k)
        body = BODY_PREFIX[kind] + _base31_7(self.body_scramble(index))
        authority, category = kind[0], kind[1]
        defect = self.bad.get(index)
        if defect == INVALID_PAIR:
            authority, category = INVALID_PAIRS[h % len(INVALID_PAIRS)]
        code = make_uscc(authority, category, area.code, body)
        if defect == BAD_CHECK_CHAR:  # an "early pilot code": a wrong 18th character
            code = code[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(code[17]) + 1 + h % 30) % 31]
        male = (h >> 20) % 4 != 0
        subject_type = ORG_SUBJECT_TYPES[1] if kind == "92" else ORG_SUBJECT_TYPES[0]
        return Subject(index, kind, name, subject_type, code, person_name(h >> 3, male, rare), area,
                       defect, male)

    def true_code(self, subject: Subject) -> str:
        """The valid USCC a defective subject should have had (for documentation in the manifest)."""
        if subject.is_person or subject.defect is None:
            return subject.code
        return make_uscc(subject.kind[0], subject.kind[1], subject.area.code, subject.code[8:17])

    # -- registrations and accounts --------------------------------------------------------------
    def registrations(self, day: dt.date, department: str) -> Sequence[int]:
        """Organisations whose registration the department publishes on ``day``."""
        if self._registrations is None:
            self._registrations = self._build_registrations()
        return self._registrations.get(day, {}).get(department, ())

    def _build_registrations(self) -> dict[dt.date, dict[str, list[int]]]:
        start, end = REGISTRATION_WINDOW
        span = (end - start).days + 1
        rng = stream(self.seed, "registration")
        has_feed = {d for (d, c), f in self.catalogue.feeds.items() if c == "C01" and f.active}
        index: dict[dt.date, dict[str, list[int]]] = {}
        for kind, first in zip(self.kinds, self.starts, strict=True):
            registrar = REGISTRARS.get(kind)
            if registrar not in has_feed:
                continue
            days = [self.workdays.on_or_after(start + dt.timedelta(days=d)) for d in range(span)]
            for i in range(first, first + self.counts[kind]):
                day = days[rng.randrange(span)]
                if day is not None and day <= end:
                    index.setdefault(day, {}).setdefault(registrar, []).append(i)
        return index

    def accounts(self, feed_code: str, share: float, kinds: frozenset[str] | None) -> list[int]:
        """Organisations holding an account with a utility / tax office / fund (stable over months)."""
        if feed_code not in self._accounts:
            holders = range(self.org_count)
            if kinds is not None:  # kinds are contiguous blocks of subject numbers
                holders = [i for kind, first in zip(self.kinds, self.starts, strict=True) if kind in kinds
                           for i in range(first, first + self.counts[kind])]
            self._accounts[feed_code] = _sample(stream(self.seed, "accounts", feed_code), holders, share)
        return self._accounts[feed_code]

    def describe(self) -> dict[str, int]:
        return {("natural_person" if k == PERSON else f"uscc_{k}"): n for k, n in self.counts.items()}

