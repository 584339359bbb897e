"""Subject names from integers: unique organisation names, plausible person names.

Organisation names must be unique: two subjects sharing a name would look like a 重码 (one name under
two codes) that nobody injected. Each kind's k-th subject is mapped through a bijective scramble
onto a mixed-radix tuple (area, two characters, template), and the name concatenates those parts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from credit_warehouse.sample_city import vocabulary as v
from credit_warehouse.sample_city.streams import mix64


@dataclass(frozen=True)
class Area:
    code: str
    name: str  # as in region_codes.csv: 大同市, 云冈区, 阳高县, 大同经济技术开发区

    @property
    def full(self) -> str:
        """The area as it opens an organisation name: 大同市云冈区, 大同经济技术开发区."""
        if self.name.startswith(v.CITY[:2]):
            return self.name
        return v.CITY + self.name


@dataclass(frozen=True)
class NameScheme:
    areas: str  # all | local (districts and counties, no city level) | none (area not in the name)
    chars: tuple[str, ...]  # pool for the two distinctive characters
    templates: int
    render: Callable[[Area, str, int, int], str]  # (area, two chars, template index, hash) -> name


def _company(area: Area, z: str, t: int, h: int) -> str:
    return f"{area.full}{z}{v.INDUSTRIES[t][0]}{v.COMPANY_FORMS[h % len(v.COMPANY_FORMS)]}"


SCHEMES: dict[str, NameScheme] = {
    "91": NameScheme("all", v.ZIHAO_CHARS, len(v.INDUSTRIES), _company),
    "92": NameScheme("local", v.ZIHAO_CHARS, len(v.SHOPS), lambda a, z, t, h: f"{a.name}{z}{v.SHOPS[t]}"),
    "93": NameScheme("local", v.ZIHAO_CHARS, len(v.COOPERATIVE_PRODUCTS),
                     lambda a, z, t, h: f"{a.full}{z}{v.COOPERATIVE_PRODUCTS[t]}专业合作社"),
    "11": NameScheme("local", v.PLACE_CHARS, len(v.TOWN_KINDS),
                     lambda a, z, t, h: f"{a.full}{z}{v.TOWN_KINDS[t][0]}{v.TOWN_KINDS[t][1]}"),
    "12": NameScheme("local", v.PLACE_CHARS, len(v.INSTITUTIONS),
                     lambda a, z, t, h: f"{a.full}{z}{v.INSTITUTIONS[t]}"),
    "51": NameScheme("all", v.ZIHAO_CHARS, len(v.ASSOCIATION_TOPICS) * len(v.ASSOCIATIONS),
                     lambda a, z, t, h: f"{a.full}{z}{v.ASSOCIATION_TOPICS[t // len(v.ASSOCIATIONS)]}"
                                        f"{v.ASSOCIATIONS[t % len(v.ASSOCIATIONS)]}"),
    "52": NameScheme("all", v.ZIHAO_CHARS, len(v.PRIVATE_NON_ENTERPRISES),
                     lambda a, z, t, h: f"{a.full}{z}{v.PRIVATE_NON_ENTERPRISES[t]}"),
    "53": NameScheme("none", v.ZIHAO_CHARS, len(v.FOUNDATION_PURPOSES),
                     lambda a, z, t, h: f"{v.CITY}{z}{v.FOUNDATION_PURPOSES[t]}基金会"),
    "31": NameScheme("none", v.ZIHAO_CHARS, 1, lambda a, z, t, h: f"山西{z}律师事务所"),
    "A1": NameScheme("local", v.PLACE_CHARS, len(v.RELIGIOUS_SITES),
                     lambda a, z, t, h: f"{a.name}{z}{v.RELIGIOUS_SITES[t]}"),
    "N2": NameScheme("local", v.PLACE_CHARS, 1, lambda a, z, t, h: f"{a.full}{z}村股份经济合作社"),
    "Y1": NameScheme("all", v.ZIHAO_CHARS, len(v.OTHER_ORGS),
                     lambda a, z, t, h: f"{a.full}{z}{v.OTHER_ORGS[t]}"),
}


class Scramble:
    """A bijection of [0, capacity): k -> (k * a + b) mod capacity with gcd(a, capacity) = 1."""

    def __init__(self, capacity: int, salt: int) -> None:
        self.capacity = capacity
        a = 1_000_003 + (salt % 1000) * 2
        while math.gcd(a, capacity) != 1:
            a += 1
        self.a, self.b = a, salt % capacity

    def __call__(self, k: int) -> int:
        return (k * self.a + self.b) % self.capacity


class OrgNamer:
    """Unique names (and the area that goes into the USCC) for the k-th subject of one kind."""

    def __init__(self, kind: str, all_areas: list[Area], local_areas: list[Area], salt: int) -> None:
        self.scheme = SCHEMES[kind]
        self.areas = {"all": all_areas, "local": local_areas, "none": [all_areas[0]]}[self.scheme.areas]
        self.all_areas = all_areas
        n_chars = len(self.scheme.chars)
        self.radix = (len(self.areas), n_chars, n_chars, self.scheme.templates)
        self.scramble = Scramble(math.prod(self.radix), salt)
        self.salt = salt

    def name_and_area(self, k: int) -> tuple[str, Area]:
        s = self.scramble(k)
        s, t = divmod(s, self.radix[3])
        s, c2 = divmod(s, self.radix[2])
        a, c1 = divmod(s, self.radix[1])
        h = mix64(self.salt + k)
        area = self.areas[a]
        if self.scheme.areas == "none":  # the area is not part of the name: any area will do
            area = self.all_areas[h % len(self.all_areas)]
        name = self.scheme.render(area, self.scheme.chars[c1] + self.scheme.chars[c2], t, h >> 8)
        if k >= self.scramble.capacity:  # only for populations beyond millions: keep names unique
            name += f"第{k // self.scramble.capacity + 1}分支机构"
        return name, area


def person_name(h: int, male: bool, rare: bool = False) -> str:
    """A name from a 64-bit hash; ``rare`` puts a GB18030-only character at the end."""
    surname = v.SURNAMES[h % len(v.SURNAMES)]
    pool = v.GIVEN_MALE if male else v.GIVEN_FEMALE
    given = pool[(h >> 16) % len(pool)]
    if (h >> 32) % 3 == 0 and len(given) == 1:  # many names have two given characters
        given += pool[(h >> 40) % len(pool)][0]
    if rare:  # replace the last given character, or add one to a single-character name
        given = given[:-1] if len(given) > 1 else given
        given += v.RARE_NAME_CHARS[(h >> 48) % len(v.RARE_NAME_CHARS)]
    return surname + given
