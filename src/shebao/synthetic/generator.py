"""The synthetic population: households, persons, employers, enrollments, benefits,
prisoners and students of a set of villages, generated with numpy and assembled with polars.

Deterministic by seed (the same inputs give the same frames), vectorised throughout (no loop
runs per person: loops run over household slots, employer kinds and counties), so a million
persons take seconds and ten million fit in memory.

Dates are held as int32 days since 1970-01-01 while generating and become polars `Date`
columns at the end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from shebao.identity.credit_code import CREDIT_CODE_ALPHABET
from shebao.synthetic import _tables as t
from shebao.synthetic.codes import (
    credit_code_strings,
    id_number_strings,
    organisation_check_values,
    ymd_of_days,
)

__all__ = [
    "BENEFIT_STATUSES",
    "DEFAULT_AS_OF",
    "SCHEME_CODES",
    "SCHEME_FLOORS",
    "SyntheticDataset",
    "Village",
    "dataset_generate",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_AS_OF: Final[date] = date(2026, 6, 30)
_EPOCH: Final[date] = date(1970, 1, 1)
_YEAR: Final[float] = 365.2425

# The year each scheme began in its present form: no enrollment starts earlier.
SCHEME_FLOORS: Final[dict[str, date]] = {
    "110": date(1995, 1, 1),
    "120": date(2014, 10, 1),
    "170": date(2009, 10, 1),
    "210": date(1999, 1, 22),
    "310": date(1999, 1, 1),
    "390": date(2003, 1, 1),
    "410": date(2004, 1, 1),
    "510": date(1995, 1, 1),
}

# Role codes inside the generator.
_HEAD, _SPOUSE, _CHILD, _PARENT, _GRANDCHILD, _CHILD_SPOUSE = range(6)
# Enrollment status codes inside the generator, and their registry values.
_ACTIVE, _SUSPENDED, _TERMINATED = range(3)
_STATUS_VALUES: Final[tuple[str, ...]] = ("active", "suspended", "terminated")
_LIFE_VALUES: Final[tuple[str, ...]] = ("alive", "deceased", "moved_out")
_ALIVE, _DECEASED, _MOVED = range(3)
_HUKOU_VALUES: Final[tuple[str, ...]] = ("hukou", "non_hukou")
SCHEME_CODES: Final[tuple[str, ...]] = ("110", "120", "170", "210", "310", "390", "410", "510")
BENEFIT_STATUSES: Final[tuple[str, ...]] = ("正常发放", "暂停发放", "终止发放")
_PAID, _PAUSED, _STOPPED = range(3)


@dataclass(frozen=True, slots=True)
class Village:
    """A village or residential committee to populate."""

    code: str  # 12 digits
    name: str
    town_code: str  # 9 digits
    county_code: str  # 6 digits
    town_name: str = ""
    county_name: str = ""
    full_name: str = ""


@dataclass(frozen=True)
class SyntheticDataset:
    """The generated frames. Codes follow the registry: gender M/F; hukou_type hukou /
    non_hukou; life_status alive / deceased / moved_out; enrollment status active /
    suspended / terminated; employer kind as registry.choices.EmployerKind.

    `person_no` is a person's row number in `persons`; the other frames carry it besides the
    ID number so that they can be joined without strings.

    households   household_number, village_code, address, hukou_type, size
    persons      person_no, id_number, name, gender, birth_date, ethnicity, address_code (the
                 ID's county), hukou_region_code (village, or home county if non-hukou),
                 residence_region_code (village), household_number, relation_to_head,
                 hukou_type, life_status, status_date, death_unreported (a death the police
                 register has not recorded yet), phone, employer_credit_code, student
    employers    credit_code, name, kind, kind_label, region_code (county), registered_on,
                 registration_status (存续/注销/吊销), is_active, is_school, employees
    enrollments  person_no, id_number, scheme_code, status, insurance_region_code,
                 employer_credit_code, start_date, end_date
    benefits     person_no, id_number, scheme_code, benefit_status, last_paid (YYYYMM)
    prisoners    person_no, id_number, start_date, end_date
    students     person_no, id_number, student_number, school_name
    """

    seed: int
    as_of: date
    households: pl.DataFrame
    persons: pl.DataFrame
    employers: pl.DataFrame
    enrollments: pl.DataFrame
    benefits: pl.DataFrame
    prisoners: pl.DataFrame
    students: pl.DataFrame
    villages: tuple[Village, ...] = field(default=())


def _days(d: date) -> int:
    return (d - _EPOCH).days


def _years(years: float | FloatArray) -> Any:
    """Days in `years` years, rounded up so that 'after age 16' holds on any calendar."""
    return np.ceil(np.asarray(years) * _YEAR).astype(np.int64) + 1


def _weighted(rng: np.random.Generator, weights: Sequence[float], size: int) -> IntArray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int64)


def _int_series(values: IntArray, valid: BoolArray | None = None) -> pl.Series:
    """An Int64 series, null where `valid` is False (through Arrow: no Python objects)."""
    arr = pa.array(values.astype(np.int64), mask=None if valid is None else ~valid)
    return pl.Series(arr)


def _idx(values: IntArray, valid: BoolArray | None = None) -> pl.Series:
    """A gather index: UInt32 (polars' index type, so no conversion), null where `valid` is
    False."""
    arr = pa.array(values.astype(np.uint32), mask=None if valid is None else ~valid)
    return pl.Series(arr)


def _date_series(days: IntArray, name: str, valid: BoolArray | None = None) -> pl.Series:
    arr = pa.array(days.astype(np.int32), mask=None if valid is None else ~valid)
    return pl.Series(name, arr).cast(pl.Date)


def _stable_order(key: IntArray) -> IntArray:
    """np.argsort(key, kind="stable") for non-negative int64 keys, several times faster on
    millions of rows: the row number is packed under the key and the values are sorted."""
    n = key.size
    shift = max(1, int(n).bit_length())
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if int(key.max()).bit_length() + shift > 62:
        return np.argsort(key, kind="stable")
    packed = np.sort((key << shift) | np.arange(n, dtype=np.int64))
    return packed & ((1 << shift) - 1)


def _gather(
    values: Sequence[str] | pl.Series, index: IntArray, name: str, valid: BoolArray | None = None
) -> pl.Series:
    """values[index] as a string series (null where `valid` is False)."""
    pool = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
    return pool.gather(_idx(index, valid)).alias(name)


# --- age pyramid ---------------------------------------------------------------------------

# Weights for the age of the head of household by 5-year band from 25 (25–29 … 95–99),
# fitted so that the whole population comes out near the 2020 census
# (0–14 ≈ 18 %, 15–59 ≈ 63 %, 60+ ≈ 19 %); they give about 16 %, 64 % and 20 %.
_HEAD_AGE_BANDS: Final[tuple[float, ...]] = (
    5.0, 9.0, 10.0, 9.5, 9.5, 9.5, 9.0, 7.5, 6.5, 5.5, 3.5, 2.0, 1.0, 0.4, 0.1,
)  # fmt: skip


def _head_ages(rng: np.random.Generator, count: int) -> FloatArray:
    band = _weighted(rng, _HEAD_AGE_BANDS, count)
    return 25.0 + band * 5 + rng.random(count) * 5


# --- the generator ---------------------------------------------------------------------------


@dataclass
class _People:
    """Per-person numpy arrays while generating."""

    household: IntArray
    slot: IntArray
    role: IntArray
    male: BoolArray
    age: FloatArray
    birth: IntArray
    village: IntArray
    non_hukou: BoolArray
    origin: IntArray  # index into the county list
    life: IntArray
    status_day: IntArray  # -1 when alive
    unreported_death: BoolArray


# Household size (1..8) by the age of the head: young couples, families with children,
# empty nests and three generations, the elderly alone or in pairs.
_SIZE_BY_HEAD_AGE: Final[tuple[tuple[float, tuple[float, ...]], ...]] = (
    (30, (0.30, 0.30, 0.25, 0.10, 0.04, 0.01, 0.0, 0.0)),
    (40, (0.12, 0.15, 0.35, 0.25, 0.09, 0.03, 0.007, 0.003)),
    (50, (0.10, 0.15, 0.33, 0.25, 0.11, 0.04, 0.015, 0.005)),
    (60, (0.12, 0.30, 0.25, 0.15, 0.10, 0.05, 0.02, 0.01)),
    (70, (0.20, 0.42, 0.13, 0.10, 0.08, 0.05, 0.015, 0.005)),
    (999, (0.38, 0.45, 0.08, 0.04, 0.03, 0.015, 0.005, 0.0)),
)


def _households(
    rng: np.random.Generator, n: int, village_weight: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """Household sizes (summing to n), villages and head ages, ordered by village."""
    limits = np.array([limit for limit, _ in _SIZE_BY_HEAD_AGE])
    cum = np.cumsum(np.array([p for _, p in _SIZE_BY_HEAD_AGE]), axis=1)
    cum /= cum[:, -1:]
    sizes = np.zeros(0, dtype=np.int64)
    head_age = np.zeros(0, dtype=np.float64)
    while sizes.sum() < n:
        batch = max(16, int(n / 2.5))
        age = _head_ages(rng, batch)
        band = np.searchsorted(limits, age, side="right")
        u = rng.random(batch)
        size = 1 + (u[:, None] > cum[band]).sum(axis=1)
        sizes = np.concatenate([sizes, size.astype(np.int64)])
        head_age = np.concatenate([head_age, age])
    total = np.cumsum(sizes)
    count = int(np.searchsorted(total, n)) + 1
    sizes = sizes[:count].copy()
    head_age = head_age[:count]
    sizes[-1] -= int(total[count - 1]) - n
    village = rng.choice(len(village_weight), size=count, p=village_weight).astype(np.int64)
    order = _stable_order(village)
    return sizes[order], village[order], head_age[order]


def _members(
    rng: np.random.Generator, sizes: IntArray, head_age: FloatArray
) -> tuple[IntArray, IntArray, IntArray, BoolArray, FloatArray]:
    """Household, slot, role, sex and age of every person."""
    h_count = len(sizes)
    n = int(sizes.sum())
    hh = np.repeat(np.arange(h_count, dtype=np.int64), sizes)
    starts = np.cumsum(sizes) - sizes
    slot = np.arange(n, dtype=np.int64) - np.repeat(starts, sizes)
    size = sizes[hh]

    has_spouse_h = (sizes >= 2) & (rng.random(h_count) < np.where(head_age < 70, 0.9, 0.7))
    parent_last_h = (sizes >= 3) & (head_age <= 62) & (rng.random(h_count) < 0.25)
    left_behind_h = (sizes == 3) & (head_age >= 62) & (rng.random(h_count) < 0.5)
    head_male_h = rng.random(h_count) < np.where(has_spouse_h, 0.78, 0.5)
    a = head_age[hh]
    elder = a >= 55

    role = np.full(n, _CHILD, dtype=np.int64)
    role[slot == 0] = _HEAD
    role[(slot == 1) & has_spouse_h[hh]] = _SPOUSE
    role[(slot == 1) & ~has_spouse_h[hh] & (a < 45) & (rng.random(n) < 0.3)] = _PARENT
    role[(slot == 3) & elder] = _CHILD_SPOUSE
    role[(slot >= 4) & elder] = _GRANDCHILD
    role[(slot == 2) & left_behind_h[hh]] = _GRANDCHILD
    role[(slot == size - 1) & (slot >= 2) & parent_last_h[hh]] = _PARENT

    r = rng.random(n)
    age = np.empty(n, dtype=np.float64)
    head_male = head_male_h[hh]
    age[:] = a
    sp = role == _SPOUSE
    # Spouses are of marriageable age (20); 20.1 leaves room for rounding to days.
    age[sp] = np.clip(a[sp] + rng.normal(np.where(head_male[sp], -2.0, 2.0), 3.0), 20.1, 100)
    ch = role == _CHILD
    gap = 20 + r[ch] * (np.minimum(38.0, a[ch]) - 20)
    age[ch] = np.maximum(a[ch] - gap, 0.0) + rng.random(int(ch.sum())) * 0.99
    age[ch] = np.minimum(age[ch], a[ch] - 20)
    pa = role == _PARENT
    age[pa] = np.minimum(a[pa] + 22 + r[pa] * 12, 100.0)
    gc = role == _GRANDCHILD
    gap = 44 + r[gc] * (np.minimum(66.0, a[gc]) - 44)
    age[gc] = np.clip(a[gc] - gap, 0.0, None)

    male = np.where(role == _HEAD, head_male, rng.random(n) < 0.52)
    male[sp] = ~head_male[sp]
    male[pa] = rng.random(int(pa.sum())) < 0.4

    # A child's spouse partners the adult child in slot 2; otherwise the slot is a child.
    cs = role == _CHILD_SPOUSE
    partner = np.flatnonzero(cs) - 1
    partner_adult = (role[partner] == _CHILD) & (age[partner] >= 22)
    idx = np.flatnonzero(cs)
    ok = idx[partner_adult]
    age[ok] = np.clip(age[partner[partner_adult]] + rng.normal(-1.0, 3.0, ok.size), 20.1, 100)
    male[ok] = ~male[partner[partner_adult]]
    no = idx[~partner_adult]
    role[no] = _CHILD
    age[no] = np.maximum(a[no] - 20 - rng.random(no.size) * (np.minimum(38.0, a[no]) - 20), 0.0)
    return hh, slot, role, male, np.clip(age, 0.0, 104.9)


def _life(
    rng: np.random.Generator, age: FloatArray, birth: IntArray, as_of: int
) -> tuple[IntArray, IntArray, BoolArray]:
    n = age.size
    life = np.full(n, _ALIVE, dtype=np.int64)
    day = np.full(n, -1, dtype=np.int64)
    p_dead = np.clip(0.0008 * np.exp(0.085 * (age - 40)), 0.0, 0.25)
    dead = rng.random(n) < p_dead
    life[dead] = _DECEASED
    span = np.minimum(as_of - birth[dead], int(3 * _YEAR))
    day[dead] = as_of - (rng.random(int(dead.sum())) * span).astype(np.int64)
    mover = ~dead & (age >= 18) & (age < 45) & (rng.random(n) < 0.02)
    life[mover] = _MOVED
    span = np.minimum(as_of - (birth[mover] + _years(16)), int(5 * _YEAR))
    day[mover] = as_of - (rng.random(int(mover.sum())) * np.maximum(span, 0)).astype(np.int64)
    unreported = dead & (rng.random(n) < 0.08)
    return life, day, unreported


def _id_numbers(
    rng: np.random.Generator,
    address: IntArray,
    address_index: IntArray,
    birth: IntArray,
    male: BoolArray,
    as_of: int,
) -> tuple[pl.Series, IntArray]:
    """Unique ID numbers: the sequence is unique within (address code, birth date, sex), odd
    for men (001–999) and even for women (002–998). A group that would overflow moves its
    surplus to earlier days; the (possibly moved) birth dates are returned too."""
    n = address_index.size
    birth = birth.copy()
    rows = np.arange(n, dtype=np.int64)
    cap = np.where(male, 500, 499)
    while True:
        key = (address_index * 65536 + (birth + 25567)) * 2 + male
        order = _stable_order(key)
        ks = key[order]
        new_run = np.ones(n, dtype=bool)
        new_run[1:] = ks[1:] != ks[:-1]
        run_start = np.maximum.accumulate(np.where(new_run, rows, 0))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = rows - run_start
        over = rank >= cap
        if not over.any():
            break
        # Spread each group's surplus over the days before it, on a window wide enough that
        # a day receives a quarter of its capacity at most: one or two passes settle it.
        run_id = np.cumsum(new_run) - 1
        size = np.empty(n, dtype=np.int64)
        size[order] = np.bincount(run_id)[run_id]
        window = np.maximum(30, 4 * size[over] // cap[over])
        birth[over] -= 1 + (rng.random(int(over.sum())) * window).astype(np.int64)
    offset = np.empty(n, dtype=np.int64)
    offset[order] = rng.integers(0, 500, n)[run_start]
    spread = rank * 37 + offset  # 37 is prime to 500 and 499: a permutation of the slots
    sequence = np.where(male, 2 * (spread % 500) + 1, 2 * (spread % 499) + 2)
    return id_number_strings(address, address_index, birth, sequence), birth


def _names(
    rng: np.random.Generator, p: _People, sizes: IntArray, has_male_partner: BoolArray
) -> pl.Series:
    """Surname and a given name of one or two characters. Children take the family
    (father's) surname; wives, mothers and children's spouses keep their own."""
    n = p.role.size
    weights = [w for _, w in t.SURNAMES]
    surnames = [s for s, _ in t.SURNAMES]
    family = _weighted(rng, weights, sizes.size)[p.household]
    own = _weighted(rng, weights, n)
    line = (p.role == _CHILD) | (p.role == _GRANDCHILD)
    line |= (p.role == _HEAD) & (p.male | ~has_male_partner)
    line |= (p.role == _SPOUSE) & p.male
    surname_idx = np.where(line, family, own)
    # The head's father shares the head's surname.
    heads = np.cumsum(sizes) - sizes
    father = (p.role == _PARENT) & p.male
    surname_idx[father] = surname_idx[heads][p.household][father]

    pools = (t.MALE_OLD, t.MALE_NEW, t.FEMALE_OLD, t.FEMALE_NEW)
    chars = [c for pool in pools for c in pool]
    offsets = np.cumsum([0] + [len(pool) for pool in pools])[:-1]
    lengths = np.array([len(pool) for pool in pools])
    born_new = p.birth >= _days(date(1980, 1, 1))
    pool = np.where(p.male, 0, 2) + born_new
    # Rank-weighted picks: the first characters of each pool are the more common ones.
    first = offsets[pool] + (lengths[pool] * rng.random(n) ** 1.25).astype(np.int64)
    second = offsets[pool] + (lengths[pool] * rng.random(n) ** 1.1).astype(np.int64)
    single = rng.random(n) < np.where(born_new, 0.08, 0.2)
    # A one-character given name: the second character is the empty string at the end.
    second_s = _gather([*chars, ""], np.where(single, len(chars), second), "g2")
    return pl.select(
        pl.concat_str(
            [_gather(surnames, surname_idx, "s"), _gather(chars, first, "g1"), second_s]
        ).alias("name")
    ).to_series()


def _ethnicity(rng: np.random.Generator, p: _People, h_count: int) -> pl.Series:
    n = p.role.size
    names = [t.HAN] + [m for m, _ in t.MINORITIES]
    weights = [t.HAN_SHARE] + [
        (1 - t.HAN_SHARE) * w / sum(w for _, w in t.MINORITIES) for _, w in t.MINORITIES
    ]
    family = _weighted(rng, weights, h_count)[p.household]
    own = _weighted(rng, weights, n)
    blood = (p.role == _HEAD) | (p.role == _CHILD) | (p.role == _GRANDCHILD)
    return _gather(names, np.where(blood, family, own), "ethnicity")


def _phones(rng: np.random.Generator, age: FloatArray) -> tuple[pl.Series, BoolArray]:
    n = age.size
    has = (age >= 16) & (rng.random(n) < np.where(age < 70, 0.95, 0.6))
    prefix = np.asarray(t.PHONE_PREFIXES, dtype=np.int64)[rng.integers(0, len(t.PHONE_PREFIXES), n)]
    number = prefix * 10**8 + rng.integers(0, 10**8, n)
    return _int_series(number, has).cast(pl.String).alias("phone"), has


@dataclass
class _Employers:
    kind: IntArray
    county: IntArray  # index into the county list
    village: IntArray  # a village of the employer's town (for names)
    registered: IntArray
    active: BoolArray
    codes: npt.NDArray[np.str_]
    names: pl.Series
    weight: FloatArray


def _employer_names(
    rng: np.random.Generator,
    kind: IntArray,
    village: IntArray,
    villages: Sequence[Village],
    city_name: str,
) -> pl.Series:
    m = kind.size
    county_names = pl.Series([v.county_name for v in villages])[pl.Series(village)]
    town_names = pl.Series([v.town_name for v in villages])[pl.Series(village)]
    place = county_names if not city_name else pl.Series([city_name] * m)
    brand = _gather(t.BRANDS, rng.integers(0, len(t.BRANDS), m), "b")
    industry = _gather(t.INDUSTRIES, rng.integers(0, len(t.INDUSTRIES), m), "i")
    form = _gather(
        [f for f, _ in t.COMPANY_FORMS], _weighted(rng, [w for _, w in t.COMPANY_FORMS], m), "f"
    )
    gov = _gather(t.GOVERNMENT_UNITS, rng.integers(0, len(t.GOVERNMENT_UNITS), m), "g")
    public = _gather(t.PUBLIC_UNITS, rng.integers(0, len(t.PUBLIC_UNITS), m), "p")
    town_public = _gather(t.TOWN_PUBLIC_UNITS, rng.integers(0, len(t.TOWN_PUBLIC_UNITS), m), "tp")
    social = _gather(t.SOCIAL_ORGS, rng.integers(0, len(t.SOCIAL_ORGS), m), "so")
    shop = _gather(t.SHOPS, rng.integers(0, len(t.SHOPS), m), "sh")
    surname = _gather([s for s, _ in t.SURNAMES[:40]], rng.integers(0, 40, m), "su")
    at_town = pl.Series(rng.random(m) < 0.4)
    frame = pl.DataFrame(
        {
            "kind": kind,
            "county": county_names,
            "town": town_names,
            "place": place,
            "brand": brand,
            "industry": industry,
            "form": form,
            "gov": gov,
            "public": public,
            "town_public": town_public,
            "social": social,
            "shop": shop,
            "surname": surname,
            "at_town": at_town,
        }
    )
    c = pl.col
    named = frame.with_columns(
        pl.when(c("kind") == 0)
        .then(c("county") + c("gov"))
        .when((c("kind") == 1) & c("at_town") & (c("town") != ""))
        .then(c("town") + c("town_public"))
        .when(c("kind") == 1)
        .then(c("county") + c("public"))
        .when(c("kind") == 2)
        .then(c("place") + c("brand") + c("industry") + c("form"))
        .when(c("kind") == 3)
        .then(c("county") + c("social"))
        .otherwise(c("county") + c("surname") + pl.lit("记") + c("shop"))
        .alias("name")
    )
    return _unique_names(named)


def _unique_names(frame: pl.DataFrame) -> pl.Series:
    """Organisation names are unique, as in the market-regulation register: a name drawn
    again (eleven 鄂城区人民政府办公室 at a million people) becomes a branch named by its town,
    and, should that repeat too, numbered."""
    c = pl.col
    seen = pl.int_range(pl.len()).over("name")
    frame = frame.with_columns(
        pl.when((seen > 0) & (c("town") != ""))
        .then(c("name") + pl.lit("（") + c("town") + pl.lit("）"))
        .otherwise(c("name"))
        .alias("name")
    )
    seen = pl.int_range(pl.len()).over("name")
    frame = frame.with_columns(
        pl.when(seen > 0)
        .then(c("name") + pl.lit("（") + (seen + 1).cast(pl.Utf8) + pl.lit("）"))
        .otherwise(c("name"))
        .alias("name")
    )
    return frame.get_column("name")


def _employers(
    rng: np.random.Generator,
    count: int,
    people_village: IntArray,
    county_of_village: IntArray,
    county_codes: Sequence[str],
    villages: Sequence[Village],
    city_name: str,
    as_of: int,
) -> _Employers:
    kinds = t.EMPLOYER_KINDS
    kind = _weighted(rng, [k[2] for k in kinds], count)
    kind[: len(kinds)] = np.arange(len(kinds))  # every kind at least once
    # Employers sit where people live.
    village = people_village[rng.integers(0, people_village.size, count)]
    county = county_of_village[village]
    lo = np.array([_days(date(y, 1, 1)) for y in (1949, 1950, 1992, 1995, 2000)])
    hi = np.array([_days(date(y, 12, 31)) for y in (1995, 2005, 2025, 2022, 2025)])
    hi = np.minimum(hi, as_of - 60)
    registered = lo[kind] + (rng.random(count) * (hi[kind] - lo[kind])).astype(np.int64)
    closable = (kind == 2) | (kind == 4)
    active = ~(closable & (rng.random(count) < 0.05))

    # Credit codes: authority+type (2), county code (6), organisation code (8 + check), check.
    prefixes = [k[4] for k in kinds]
    alphabet = CREDIT_CODE_ALPHABET
    body = np.zeros((count, 17), dtype=np.int64)
    first_pair = [[alphabet.index(ch) for ch in prefixes[k][0]] for k in range(len(kinds))]
    body[:, 0:2] = np.asarray(first_pair, dtype=np.int64)[kind]
    # Social organisations: 51 社会团体 or 52 民办非企业单位.
    social = kind == 3
    body[social, 1] = np.where(rng.random(int(social.sum())) < 0.5, 1, 2)
    county_digits = np.array([[int(ch) for ch in code] for code in county_codes], dtype=np.int64)
    body[:, 2:8] = county_digits[county]
    new_style = registered >= _days(date(2015, 10, 1))
    codes = np.empty(count, dtype="<U18")
    todo = np.ones(count, dtype=bool)
    while todo.any():
        k = int(todo.sum())
        org = rng.integers(0, 10, (k, 8))
        letters = rng.integers(0, 31, (k, 6))
        ns = new_style[todo]
        org[ns, 0] = alphabet.index("M")
        org[ns, 1] = alphabet.index("A")
        org[ns, 2:] = letters[ns]
        rows = np.flatnonzero(todo)
        body[rows, 8:16] = org
        body[rows, 16] = organisation_check_values(org)
        codes[rows] = credit_code_strings(body[rows])
        _, first = np.unique(codes, return_index=True)
        todo = np.ones(count, dtype=bool)
        todo[first] = False
    names = _employer_names(rng, kind, village, villages, city_name)
    weight = rng.lognormal(0.0, 1.1, count) * np.where(active, 1.0, 0.1)
    return _Employers(kind, county, village, registered, active, codes, names, weight)


def _assign_employers(
    rng: np.random.Generator, workers: IntArray, worker_county: IntArray, emp: _Employers
) -> IntArray:
    """An employer for each worker: by the employee share of each kind, in the worker's
    county for 85 % (where one exists), weighted by employer size."""
    kinds = t.EMPLOYER_KINDS
    want_kind = _weighted(rng, [k[3] for k in kinds], workers.size)
    local = rng.random(workers.size) < 0.85
    out = np.full(workers.size, -1, dtype=np.int64)
    for k in range(len(kinds)):
        of_kind = np.flatnonzero(emp.kind == k)
        pick = want_kind == k
        for county in np.unique(worker_county[pick]):
            group = of_kind[emp.county[of_kind] == county]
            rows = np.flatnonzero(pick & local & (worker_county == county))
            if group.size and rows.size:
                w = emp.weight[group] / emp.weight[group].sum()
                out[rows] = group[rng.choice(group.size, size=rows.size, p=w)]
        rows = np.flatnonzero(pick & (out == -1))
        if rows.size:
            w = emp.weight[of_kind] / emp.weight[of_kind].sum()
            out[rows] = of_kind[rng.choice(of_kind.size, size=rows.size, p=w)]
    return out


def _spread(
    rng: np.random.Generator, earliest: IntArray, latest: int, skew: float = 2.0
) -> IntArray:
    """A day between `earliest` and `latest`: u**skew of a uniform u, so skew > 1 favours
    the early end (mean 1/(skew+1) of the span) and skew < 1 the late end."""
    span = np.maximum(latest - earliest, 0)
    return earliest + (rng.random(earliest.size) ** skew * span).astype(np.int64)


def dataset_generate(
    *,
    villages: Sequence[Village],
    persons: int,
    seed: int = 42,
    as_of: date = DEFAULT_AS_OF,
    origin_counties: Sequence[str] = (),
    city_name: str = "",
    non_hukou_share: float = 0.10,
) -> SyntheticDataset:
    """Generate the population of `villages` (`persons` people) as of `as_of`.

    origin_counties: 6-digit county codes where non-hukou residents (~10 %) come from (their
        ID address code and hukou place); without them, other counties of the villages.
    city_name: used in enterprise names (鄂州市恒达建材有限公司); else the county name.
    """
    if persons < 1:
        raise ValueError("persons must be at least 1")
    if not villages:
        raise ValueError("at least one village is needed")
    rng = np.random.default_rng(seed)
    villages = tuple(villages)
    today = _days(as_of)
    county_codes = sorted({v.county_code for v in villages} | set(origin_counties))
    county_index = {c: i for i, c in enumerate(county_codes)}
    county_of_village = np.array([county_index[v.county_code] for v in villages], dtype=np.int64)
    community = np.array([v.code[9] in "01" for v in villages])

    # Households and their members.
    v_weight = rng.lognormal(0.0, 0.5, len(villages)) * np.where(community, 1.6, 1.0)
    v_weight /= v_weight.sum()
    sizes, hh_village, head_age = _households(rng, persons, v_weight)
    h_count = sizes.size
    hh, slot, role, male, age = _members(rng, sizes, head_age)
    birth = today - np.floor(age * _YEAR).astype(np.int64)
    non_hukou_h = rng.random(h_count) < non_hukou_share
    origins = [county_index[c] for c in origin_counties] or list(range(len(county_codes)))
    origin_h = np.asarray(origins, dtype=np.int64)[rng.integers(0, len(origins), h_count)]
    if not origin_counties and len(county_codes) > 1:
        # Come from another county than the one they live in.
        own = county_of_village[hh_village]
        same = origin_h == own
        origin_h[same] = (
            own[same] + 1 + rng.integers(0, len(county_codes) - 1, int(same.sum()))
        ) % len(county_codes)
    village = hh_village[hh]
    non_hukou = non_hukou_h[hh]
    origin = origin_h[hh]
    life, status_day, unreported = _life(rng, age, birth, today)
    p = _People(
        hh, slot, role, male, age, birth, village, non_hukou, origin, life, status_day, unreported
    )

    address_county = np.where(non_hukou, origin, county_of_village[village])
    county_int = np.array([int(c) for c in county_codes], dtype=np.int64)
    id_numbers, birth = _id_numbers(rng, county_int, address_county, birth, male, today)
    p.birth = birth
    age = (today - birth) / _YEAR
    p.age = age
    # A status date never precedes birth (births may have moved by a day above).
    dated = status_day >= 0
    status_day[dated] = np.maximum(status_day[dated], birth[dated])

    has_male_partner = np.zeros(h_count, dtype=bool)
    np.logical_or.at(has_male_partner, hh[(role == _SPOUSE) & male], True)
    names = _names(rng, p, sizes, has_male_partner[hh])
    ethnicity = _ethnicity(rng, p, h_count)
    phone, _ = _phones(rng, age)

    # Education and work.
    alive = life == _ALIVE
    n = persons
    school_age = alive & (age >= 6) & (age < 18) & (rng.random(n) < 0.98)
    college = alive & (age >= 18) & (age < 23) & (rng.random(n) < 0.5)
    student = school_age | college
    retire_age = np.where(male, 60.0, 55.0)
    working_age = (age >= 18) & (age < retire_age) & (life != _MOVED)
    employed = working_age & ~student & (rng.random(n) < np.where(non_hukou, 0.62, 0.42))
    retired = (age >= retire_age) & (rng.random(n) < 0.38)
    workers = np.flatnonzero(employed)
    worker_county = county_of_village[village[workers]]
    emp_count = max(len(t.EMPLOYER_KINDS), math.ceil(workers.size / 14))
    emp = _employers(
        rng, emp_count, village, county_of_village, county_codes, villages, city_name, today
    )
    employer_of = np.full(n, -1, dtype=np.int64)
    employer_of[workers] = _assign_employers(rng, workers, worker_county, emp)

    # Prison terms.
    prison_p = np.where(male, 0.002, 0.0003)
    jailed = (life != _DECEASED) & (age >= 18) & (age < 65) & (rng.random(n) < prison_p)
    j = np.flatnonzero(jailed)
    j_start = today - (rng.random(j.size) * np.minimum(6 * _YEAR, (age[j] - 18) * _YEAR)).astype(
        np.int64
    )
    j_end = j_start + (180 + rng.random(j.size) * 10 * _YEAR).astype(np.int64)
    in_prison = np.zeros(n, dtype=bool)
    in_prison[j[(j_start <= today) & (j_end > today)]] = True

    enrollments = _enrollments(
        rng, p, today, employer_of, emp, student, retired, county_of_village, county_codes
    )
    benefits = _benefits(rng, p, enrollments, today, in_prison)

    # --- frames ---------------------------------------------------------------------------
    v_codes = pl.Series([v.code for v in villages], dtype=pl.String)
    width = max(4, len(str(int(np.bincount(hh_village).max()))))
    hh_seq = np.arange(h_count) - np.searchsorted(hh_village, hh_village)
    hh_numbers = v_codes.gather(_idx(hh_village)) + pl.Series(hh_seq + 1).cast(pl.String).str.zfill(
        width
    )
    households = pl.DataFrame(
        {
            "household_number": hh_numbers,
            "village_code": v_codes.gather(_idx(hh_village)),
            "address": _addresses(rng, villages, hh_village),
            "hukou_type": _gather(_HUKOU_VALUES, non_hukou_h.astype(np.int64), "hukou_type"),
            "size": sizes.astype(np.int32),
        }
    )
    county_s = pl.Series(county_codes, dtype=pl.String)
    # Hukou residents are registered at their village; the others at their home county.
    region_pool = pl.concat([v_codes, county_s])
    hukou_region = region_pool.gather(_idx(np.where(non_hukou, len(villages) + origin, village)))
    relation = _relations(role, male)
    persons_df = pl.DataFrame(
        {
            "person_no": np.arange(n, dtype=np.int64),
            "id_number": id_numbers,
            "name": names,
            "gender": _gather(("F", "M"), male.astype(np.int64), "gender"),
            "birth_date": _date_series(birth, "birth_date"),
            "ethnicity": ethnicity,
            "address_code": county_s.gather(_idx(address_county)),
            "hukou_region_code": hukou_region,
            "residence_region_code": v_codes.gather(_idx(village)),
            "household_number": hh_numbers.gather(_idx(hh)),
            "relation_to_head": relation,
            "hukou_type": _gather(_HUKOU_VALUES, non_hukou.astype(np.int64), "hukou_type"),
            "life_status": _gather(_LIFE_VALUES, life, "life_status"),
            "status_date": _date_series(np.maximum(status_day, 0), "status_date", status_day >= 0),
            "death_unreported": unreported,
            "phone": phone,
            "employer_credit_code": _gather(
                pl.Series(emp.codes), employer_of, "employer_credit_code", employer_of >= 0
            ),
            "student": student,
        }
    )
    kinds = t.EMPLOYER_KINDS
    closed = np.asarray(t.REGISTRATION_CLOSED)[rng.integers(0, 2, emp.kind.size)]
    school = emp.names.str.contains("|".join(t.SCHOOL_MARKERS))
    employers_df = pl.DataFrame(
        {
            "credit_code": emp.codes,
            "name": emp.names,
            "kind": np.asarray([k[0] for k in kinds])[emp.kind],
            "kind_label": np.asarray([k[1] for k in kinds])[emp.kind],
            "region_code": county_s.gather(_idx(emp.county)),
            "registered_on": _date_series(emp.registered, "registered_on"),
            "registration_status": np.where(emp.active, t.REGISTRATION_ACTIVE, closed),
            "is_active": emp.active,
            "is_school": school,
            "employees": np.bincount(employer_of[employer_of >= 0], minlength=emp.kind.size).astype(
                np.int32
            ),
        }
    )
    ids = persons_df["id_number"]
    enroll_df = _enrollment_frame(enrollments, ids, emp.codes, county_s)
    benefits_df = _benefit_frame(benefits, ids)
    prisoners_df = pl.DataFrame(
        {
            "person_no": j,
            "id_number": ids.gather(_idx(j)),
            "start_date": _date_series(j_start, "start_date"),
            "end_date": _date_series(j_end, "end_date"),
        }
    )
    students_df = _students(rng, p, student, ids, villages, today)
    return SyntheticDataset(
        seed=seed,
        as_of=as_of,
        households=households,
        persons=persons_df,
        employers=employers_df,
        enrollments=enroll_df,
        benefits=benefits_df,
        prisoners=prisoners_df,
        students=students_df,
        villages=villages,
    )


def _relations(role: IntArray, male: BoolArray) -> pl.Series:
    labels = (
        t.HEAD, t.HEAD, t.SPOUSE, t.SPOUSE, t.DAUGHTER, t.SON, t.MOTHER, t.FATHER,
        t.GRANDDAUGHTER, t.GRANDSON, t.DAUGHTER_IN_LAW, t.SON_IN_LAW,
    )  # fmt: skip
    return _gather(labels, role * 2 + male, "relation_to_head")


def _addresses(
    rng: np.random.Generator, villages: Sequence[Village], hh_village: IntArray
) -> pl.Series:
    h = hh_village.size
    bases = [
        (v.full_name or v.name).removesuffix("村委会").removesuffix("居民委员会") for v in villages
    ]
    base = pl.Series(bases, dtype=pl.String).gather(_idx(hh_village))
    community = pl.Series(np.array([v.code[9] in "01" for v in villages])[hh_village])
    frame = pl.DataFrame(
        {
            "base": base,
            "community": community,
            "a": rng.integers(1, 13, h),
            "b": rng.integers(1, 81, h),
            "c": rng.integers(1, 6, h),
            "d": rng.integers(1, 19, h),
            "e": rng.integers(1, 5, h),
        }
    )
    c = pl.col
    s = pl.String
    return frame.select(
        pl.when(c("community"))
        .then(
            c("base")
            + c("b").cast(s)
            + "栋"
            + c("c").cast(s)
            + "单元"
            + c("d").cast(s)
            + "0"
            + c("e").cast(s)
            + "室"
        )
        .otherwise(c("base") + c("a").cast(s) + "组" + c("b").cast(s) + "号")
        .alias("address")
    ).to_series()


@dataclass
class _Enrollments:
    person: IntArray
    scheme: IntArray  # index into SCHEME_CODES
    status: IntArray
    county: IntArray
    employer: IntArray
    start: IntArray
    end: IntArray  # -1 when open


def _enrollments(
    rng: np.random.Generator,
    p: _People,
    today: int,
    employer_of: IntArray,
    emp: _Employers,
    student: BoolArray,
    retired: BoolArray,
    county_of_village: IntArray,
    county_codes: Sequence[str],
) -> _Enrollments:
    n = p.role.size
    floors = {code: _days(d) for code, d in SCHEME_FLOORS.items()}
    home_county = county_of_village[p.village]
    # Resident schemes are joined at the hukou place (elsewhere for non-hukou residents).
    resident_county = np.where(p.non_hukou, p.origin, home_county)
    parts: list[_Enrollments] = []

    def add(
        persons: IntArray, scheme: str, county: IntArray, employer: IntArray, start: IntArray
    ) -> None:
        parts.append(
            _Enrollments(
                persons,
                np.full(persons.size, SCHEME_CODES.index(scheme), dtype=np.int64),
                np.zeros(persons.size, dtype=np.int64),
                county,
                employer,
                np.minimum(start, today),
                np.full(persons.size, -1, dtype=np.int64),
            )
        )

    # Employees: schemes of their employer's kind, insured where the employer is.
    w = np.flatnonzero(employer_of >= 0)
    e = employer_of[w]
    kind = emp.kind[e]
    job_start = _spread(rng, np.maximum(p.birth[w] + _years(18), emp.registered[e]), today)
    public = (kind == 0) | (kind == 1)
    cover = rng.random((5, w.size))
    for scheme, mask in (
        ("110", ~public & (cover[0] < 0.93)),
        ("120", public & (cover[0] < 0.97)),
        ("310", cover[1] < 0.97),
        ("210", (kind != 0) & (cover[2] < 0.85)),
        ("410", cover[3] < 0.9),
        ("510", cover[4] < 0.85),
    ):
        add(
            w[mask],
            scheme,
            emp.county[e[mask]],
            e[mask],
            np.maximum(job_start[mask], floors[scheme]),
        )
    employee_pension = np.zeros(n, dtype=bool)
    employee_pension[w[(~public & (cover[0] < 0.93)) | (public & (cover[0] < 0.97))]] = True
    employee_medical = np.zeros(n, dtype=bool)
    employee_medical[w[cover[1] < 0.97]] = True

    # Retirees keep their employee pension and medical insurance.
    r = np.flatnonzero(retired)
    public_r = rng.random(r.size) < 0.2
    first = np.maximum(p.birth[r] + _years(20), floors["110"])
    retire_day = np.minimum(p.birth[r] + _years(np.where(p.male[r], 60, 55)), today)
    start_r = _spread(rng, first, int(today), 4.0)
    start_r = np.minimum(start_r, np.maximum(retire_day, first))
    add(
        r[~public_r],
        "110",
        home_county[r[~public_r]],
        np.full(int((~public_r).sum()), -1),
        start_r[~public_r],
    )
    add(r[public_r], "120", home_county[r[public_r]], np.full(int(public_r.sum()), -1),
        np.maximum(start_r[public_r], floors["120"]))  # fmt: skip
    medical_r = rng.random(r.size) < 0.97
    add(r[medical_r], "310", home_county[r[medical_r]], np.full(int(medical_r.sum()), -1),
        np.maximum(start_r[medical_r], floors["310"]))  # fmt: skip
    employee_pension[r] = True
    employee_medical[r[medical_r]] = True

    # Residents: pension for other adults from 16 (not pupils and students), medical for all
    # without employee medical insurance, children included.
    rest = np.flatnonzero(~employee_pension & ~student & (p.age >= 16) & (rng.random(n) < 0.9))
    add(rest, "170", resident_county[rest], np.full(rest.size, -1),
        _spread(rng, np.maximum(p.birth[rest] + _years(16), floors["170"]), today))  # fmt: skip
    med = np.flatnonzero(~employee_medical & (employer_of < 0) & (rng.random(n) < 0.97))
    add(med, "390", resident_county[med], np.full(med.size, -1),
        _spread(rng, np.maximum(p.birth[med], floors["390"]), today, 6.0))  # fmt: skip

    en = _Enrollments(
        person=np.concatenate([x.person for x in parts]),
        scheme=np.concatenate([x.scheme for x in parts]),
        status=np.concatenate([x.status for x in parts]),
        county=np.concatenate([x.county for x in parts]),
        employer=np.concatenate([x.employer for x in parts]),
        start=np.concatenate([x.start for x in parts]),
        end=np.concatenate([x.end for x in parts]),
    )
    order = _stable_order(en.person * len(SCHEME_CODES) + en.scheme)
    for name in ("person", "scheme", "status", "county", "employer", "start", "end"):
        setattr(en, name, getattr(en, name)[order])

    # Statuses: most pay; some paused; a few ended. Deaths and moves end most memberships,
    # but not all yet (the lag the comparison finds).
    m = en.person.size
    u = rng.random(m)
    en.status = np.where(u < 0.9, _ACTIVE, np.where(u < 0.98, _SUSPENDED, _TERMINATED))
    closed_employer = (en.employer >= 0) & ~emp.active[np.maximum(en.employer, 0)]
    en.status[closed_employer & (rng.random(m) < 0.8)] = _SUSPENDED
    life = p.life[en.person]
    day = p.status_day[en.person]
    left = life != _ALIVE
    en.start[left] = np.minimum(en.start[left], day[left])
    ends = left & (rng.random(m) < np.where(life == _DECEASED, 0.85, 0.8))
    en.status[ends] = _TERMINATED
    en.end[ends] = day[ends]
    en.status[left & ~ends & (en.status == _TERMINATED)] = _ACTIVE
    plain_end = (en.status == _TERMINATED) & ~ends
    en.end[plain_end] = _spread(rng, en.start[plain_end], today, 0.5)
    return en


def _enrollment_frame(
    en: _Enrollments, ids: pl.Series, credit_codes: npt.NDArray[np.str_], county_s: pl.Series
) -> pl.DataFrame:
    has_employer = en.employer >= 0
    return pl.DataFrame(
        {
            "person_no": en.person,
            "id_number": ids.gather(_idx(en.person)),
            "scheme_code": _gather(SCHEME_CODES, en.scheme, "scheme_code"),
            "status": _gather(_STATUS_VALUES, en.status, "status"),
            "insurance_region_code": county_s.gather(_idx(en.county)),
            "employer_credit_code": _gather(
                pl.Series(credit_codes), en.employer, "employer_credit_code", has_employer
            ),
            "start_date": _date_series(en.start, "start_date"),
            "end_date": _date_series(np.maximum(en.end, 0), "end_date", en.end >= 0),
        }
    )


@dataclass
class _Benefits:
    person: IntArray
    scheme: IntArray
    status: IntArray
    last_paid: IntArray  # YYYYMM


def _yyyymm(days: IntArray) -> IntArray:
    return ymd_of_days(days) // 100


def _benefits(
    rng: np.random.Generator, p: _People, en: _Enrollments, today: int, in_prison: BoolArray
) -> _Benefits:
    """Pensions in payment: employee pensions from 60 (men) / 55 (women), resident pensions
    from 60. Deaths stop payment, except for a share not yet known (the classic finding)."""
    pension = np.isin(en.scheme, [SCHEME_CODES.index(c) for c in ("110", "120", "170")])
    person = en.person
    age = p.age[person]
    resident = en.scheme == SCHEME_CODES.index("170")
    threshold = np.where(resident | p.male[person], 60.0, 55.0)
    rows = np.flatnonzero(pension & (age >= threshold))
    person = en.person[rows]
    k = rows.size
    life = p.life[person]
    day = p.status_day[person]
    status = np.full(k, _PAID, dtype=np.int64)
    last = np.full(k, int(_yyyymm(np.array([today]))[0]), dtype=np.int64)
    u = rng.random(k)
    months_ago = today - (rng.random(k) * 365).astype(np.int64)
    paused = ((life == _ALIVE) & (u < 0.03)) | (in_prison[person] & (rng.random(k) < 0.8))
    status[paused] = _PAUSED
    last[paused] = _yyyymm(months_ago[paused])
    dead = (life == _DECEASED) & (u >= 0.1)
    status[dead] = _STOPPED
    last[dead] = _yyyymm(day[dead])
    moved = (life == _MOVED) & (u >= 0.3)
    status[moved] = _STOPPED
    last[moved] = _yyyymm(day[moved])
    return _Benefits(person, en.scheme[rows], status, last)


def _benefit_frame(b: _Benefits, ids: pl.Series) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_no": b.person,
            "id_number": ids.gather(_idx(b.person)),
            "scheme_code": _gather(SCHEME_CODES, b.scheme, "scheme_code"),
            "benefit_status": _gather(BENEFIT_STATUSES, b.status, "benefit_status"),
            "last_paid": pl.Series(b.last_paid).cast(pl.String),
        }
    )


def _students(
    rng: np.random.Generator,
    p: _People,
    student: BoolArray,
    ids: pl.Series,
    villages: Sequence[Village],
    today: int,
) -> pl.DataFrame:
    s = np.flatnonzero(student)
    age = p.age[s]
    village = p.village[s]
    towns = pl.Series([v.town_name for v in villages], dtype=pl.String).gather(_idx(village))
    counties = pl.Series([v.county_name for v in villages], dtype=pl.String).gather(
        pl.Series(village)
    )
    entry_year = ymd_of_days(np.array([today]))[0] // 10000 - (age - 18).astype(np.int64)
    frame = pl.DataFrame(
        {
            "person_no": s,
            "id_number": ids.gather(_idx(s)),
            "age": age,
            "town": towns,
            "county": counties,
            "k": rng.integers(1, 4, s.size),
            "college": _gather(t.COLLEGES, rng.integers(0, len(t.COLLEGES), s.size), "college"),
            "college_no": pl.Series(entry_year).cast(pl.String)
            + pl.Series(rng.integers(0, 10**8, s.size)).cast(pl.String).str.zfill(8),
        }
    )
    c = pl.col
    return frame.select(
        "person_no",
        "id_number",
        pl.when(c("age") < 18)
        .then(pl.lit("G") + c("id_number"))
        .otherwise(c("college_no"))
        .alias("student_number"),
        pl.when(c("age") < 12)
        .then(c("town") + "中心小学")
        .when(c("age") < 15)
        .then(c("town") + "初级中学")
        .when(c("age") < 18)
        .then(c("county") + "第" + c("k").cast(pl.String) + "中学")
        .otherwise(c("college"))
        .alias("school_name"),
    )
