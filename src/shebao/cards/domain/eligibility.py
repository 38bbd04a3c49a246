"""Eligibility for a card (制卡条件): the reasons, the programme configuration and the
reference rules for one application.

The rules here are written for one record at a time, plainly, so that they can be read as the
definition; `engine` applies the same rules to whole files with DuckDB, and a differential
test holds the two to the same answers.

Definitions (each failure is reported; several may apply to one row):

- INVALID_ID: the ID number fails GB 11643 (`shebao.identity`). The checks that need a
  person (population, death, card, duplicate, scope) are not made for such a row.
- NOT_IN_POPULATION: no row of the population base has this (normalised) ID number.
- DECEASED: a population row of this person has 人员状态 死亡 or a 死亡日期.
- NO_PHOTO / PHOTO_QUALITY: only when photos are supplied. The photo is found by the
  normalised ID number, the ID number as written, or the work/student number (file name
  without suffix, case-insensitive).
- HAS_CARD: the person holds a card in status 正常 or 挂失 (临时挂失, 正式挂失).
- DUPLICATE_APPLICATION: the same ID number on an earlier row of the same file.
- INVALID_PHONE: 联系电话 is not a mainland mobile number (`shebao.identity.phone`);
  empty counts as invalid, since the card centre must be able to reach the applicant.
- BANK_NOT_COOPERATING: only when cooperating banks are given: the chosen bank (by its
  canonical name, see `canonical_bank`) is not one of them, or none was chosen.
- OUT_OF_SCOPE: only under a programme: one of its scope rules excludes the person, judged
  on the population base. Rules that need data the inputs do not carry are not applied, and
  the result says which.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final

from shebao.cards.domain.photos import PhotoSpec, PhotoVerdict
from shebao.identity.id_number import validate_id_number
from shebao.identity.phone import validate_mobile

__all__ = [
    "DECEASED_STATUS",
    "NON_HUKOU",
    "Application",
    "Failure",
    "HukouAgeLimit",
    "NonHukouEnterpriseEmployeesExcluded",
    "NonHukouMustBeInsured",
    "PersonFacts",
    "Programme",
    "Reason",
    "ScopeRule",
    "canonical_bank",
    "canonical_banks",
    "check_application",
    "person_facts",
    "photo_entry",
    "reasons_text",
    "resolve_bank",
    "scope_attributes",
]

DECEASED_STATUS: Final[str] = "死亡"
NON_HUKOU: Final[str] = "非户籍"
HOLDING_CARD_STATUSES: Final[frozenset[str]] = frozenset({"正常", "挂失", "临时挂失", "正式挂失"})


class Reason(StrEnum):
    """Declaration order is the order in which reasons are listed in every output."""

    INVALID_ID = "INVALID_ID"
    NOT_IN_POPULATION = "NOT_IN_POPULATION"
    DECEASED = "DECEASED"
    NO_PHOTO = "NO_PHOTO"
    PHOTO_QUALITY = "PHOTO_QUALITY"
    HAS_CARD = "HAS_CARD"
    DUPLICATE_APPLICATION = "DUPLICATE_APPLICATION"
    INVALID_PHONE = "INVALID_PHONE"
    BANK_NOT_COOPERATING = "BANK_NOT_COOPERATING"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS: Final[dict[Reason, str]] = {
    Reason.INVALID_ID: "身份证号码无效",
    Reason.NOT_IN_POPULATION: "人口库中查无此人",
    Reason.DECEASED: "人口库登记为已死亡",
    Reason.NO_PHOTO: "无照片",
    Reason.PHOTO_QUALITY: "照片不符合制卡要求",
    Reason.HAS_CARD: "已持有有效的社会保障卡",
    Reason.DUPLICATE_APPLICATION: "重复申领",
    Reason.INVALID_PHONE: "联系电话无效",
    Reason.BANK_NOT_COOPERATING: "所选银行不是合作银行",
    Reason.OUT_OF_SCOPE: "不在本次发卡范围",
}
NO_PHOTO_DETAIL: Final[str] = "照片包中没有以身份证号或工作证号(学籍号)命名的照片"
HAS_CARD_DETAIL: Final[str] = "已有状态为正常或挂失的社会保障卡"
REASON_ORDER: Final[dict[Reason, int]] = {r: i for i, r in enumerate(Reason)}


@dataclass(frozen=True, slots=True)
class Failure:
    reason: Reason
    detail: str = ""

    @property
    def message(self) -> str:
        return f"{self.reason.label}：{self.detail}" if self.detail else self.reason.label


def reasons_text(failures: Iterable[Failure]) -> tuple[str, str]:
    """(codes joined by ';', Chinese messages joined by '；') in the fixed order."""
    ordered = sorted(failures, key=lambda f: REASON_ORDER[f.reason])
    return ";".join(f.reason for f in ordered), "；".join(f.message for f in ordered)


# ---- scope rules -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HukouAgeLimit:
    """Household-registered persons aged `max_age` or over (周岁, by the birth date in the ID
    number, on the as-of date) are out of scope."""

    max_age: int
    needs: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return f"户籍人员年满{self.max_age}周岁"


@dataclass(frozen=True, slots=True)
class NonHukouEnterpriseEmployeesExcluded:
    """Non-household-registered persons insured as enterprise employees are out of scope."""

    needs: tuple[str, ...] = ("enterprise_employee",)

    @property
    def message(self) -> str:
        return "非户籍的参保企业职工不在本次发卡范围"


@dataclass(frozen=True, slots=True)
class NonHukouMustBeInsured:
    """Non-household-registered persons who are not insured here are out of scope."""

    needs: tuple[str, ...] = ("insured",)

    @property
    def message(self) -> str:
        return "非户籍人员未在本地参保"


ScopeRule = HukouAgeLimit | NonHukouEnterpriseEmployeesExcluded | NonHukouMustBeInsured
SCOPE_ATTRIBUTES: Final[tuple[str, ...]] = ("enterprise_employee", "insured")


@dataclass(frozen=True, slots=True)
class Programme:
    """An issuing programme (发卡项目): who is in scope, the photo standard, the cooperating
    banks. `hukou_region_prefixes` says where "household-registered" means here: a person
    registered elsewhere counts as non-household-registered (empty: anywhere)."""

    name: str
    title: str
    scope: tuple[ScopeRule, ...] = ()
    hukou_region_prefixes: tuple[str, ...] = ()
    photo: PhotoSpec = field(default_factory=PhotoSpec)
    banks: tuple[str, ...] = ()


# ---- facts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the population base (and, where known, the insurance records) say of a person.
    `enterprise_employee` and `insured` are None when unknown."""

    id_number: str
    status: str = "正常"
    death_date: str = ""
    hukou_type: str = "户籍"
    region_code: str = ""
    enterprise_employee: bool | None = None
    insured: bool | None = None

    @property
    def deceased(self) -> bool:
        return self.status == DECEASED_STATUS or bool(self.death_date)

    def hukou_here(self, programme: Programme) -> bool:
        """An empty 户籍类型 reads as 户籍: the police population base lists the
        household-registered and marks the others."""
        if self.hukou_type == NON_HUKOU:
            return False
        prefixes = programme.hukou_region_prefixes
        return not prefixes or self.region_code.startswith(prefixes)


def person_facts(rows: Sequence[PersonFacts]) -> PersonFacts:
    """One person from the population rows carrying their ID number: the first row, dead if
    any row says so (duplicates are the population base's own defect; a death wins)."""
    first = rows[0]
    if first.deceased or not any(r.deceased for r in rows):
        return first
    dead = next(r for r in rows if r.deceased)
    return PersonFacts(
        id_number=first.id_number,
        status=DECEASED_STATUS,
        death_date=dead.death_date,
        hukou_type=first.hukou_type,
        region_code=first.region_code,
        enterprise_employee=first.enterprise_employee,
        insured=first.insured,
    )


@dataclass(frozen=True, slots=True)
class Application:
    """One application row as the unit wrote it."""

    row: int
    id_number: str
    name: str = ""
    bank: str = ""
    phone: str = ""
    work_number: str = ""


# ---- banks ---------------------------------------------------------------------------------

_BANK_SHORT: Final[dict[str, str]] = {
    "农行": "农业银行",
    "工行": "工商银行",
    "建行": "建设银行",
    "中行": "中国银行",
    "交行": "交通银行",
    "邮政储蓄银行": "邮储银行",
    "邮政银行": "邮储银行",
    "邮储": "邮储银行",
    "中国邮政": "邮储银行",
    "中国邮政储蓄银行": "邮储银行",
}
_BANK_SUFFIXES: Final[tuple[str, ...]] = ("股份有限公司", "有限责任公司", "有限公司")
_FOLD: Final[dict[int, int | None]] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {
    ord(ch): None for ch in " \t\r\n\u3000\u00a0\u200b\ufeff"
}


def canonical_bank(name: str) -> str:
    """One spelling per bank: 中国农业银行 / 农行 / 农业银行 → 农业银行; 中国邮政储蓄银行 /
    邮政储蓄银行 → 邮储银行; 农村商业银行 → 农商银行. 中国银行 stays 中国银行."""
    text = name.translate(_FOLD)
    for suffix in _BANK_SUFFIXES:
        text = text.removesuffix(suffix)
    if text in _BANK_SHORT:
        return _BANK_SHORT[text]
    if text.startswith("中国") and text.endswith("银行") and len(text) > 4:
        text = text[2:]
    text = text.replace("农村商业银行", "农商银行")
    return _BANK_SHORT.get(text, text)


def canonical_banks(names: Iterable[str]) -> frozenset[str]:
    return frozenset(canonical_bank(n) for n in names if n.strip())


def resolve_bank(name: str, banks: Iterable[str]) -> str | None:
    """The cooperating bank (canonical name, one of `banks`) that a written bank name means:
    its canonical name when that is one of them; otherwise a well-known short name that ends
    exactly one of them — 农商银行 for 鄂州农商银行 — and at least names a kind of bank (X银行,
    four characters or more). None when no bank or more than one fits (农商银行 where two
    农商银行 cooperate): the row is refused and the clerk writes the full name."""
    text = canonical_bank(name)
    pool = frozenset(banks)
    if text in pool:
        return text
    if len(text) < 4 or not text.endswith("银行"):
        return None
    fits = [bank for bank in pool if bank.endswith(text)]
    return fits[0] if len(fits) == 1 else None


# ---- the rules, one record at a time ------------------------------------------------------


def photo_entry(
    application: Application, normalized_id: str, index: Mapping[str, str]
) -> str | None:
    """The ZIP entry of an applicant's photo: named by the normalised ID number, by the ID
    number as written, or by the work/student number (stems compared upper-cased; values come
    trimmed from the file reader)."""
    for key in (normalized_id, application.id_number, application.work_number):
        if key and key.upper() in index:
            return index[key.upper()]
    return None


def scope_attributes(programme: Programme) -> frozenset[str]:
    return frozenset(a for rule in programme.scope for a in rule.needs)


def _age(id_number: str, as_of: date) -> int:
    birth = int(id_number[6:14])
    return (as_of.year * 10000 + as_of.month * 100 + as_of.day - birth) // 10000


def _out_of_scope(
    person: PersonFacts, id_number: str, programme: Programme, as_of: date, known: frozenset[str]
) -> list[str]:
    here = person.hukou_here(programme)
    out: list[str] = []
    for rule in programme.scope:
        if not set(rule.needs) <= known:
            continue
        match rule:
            case HukouAgeLimit(max_age=max_age):
                if here and _age(id_number, as_of) >= max_age:
                    out.append(rule.message)
            case NonHukouEnterpriseEmployeesExcluded():
                if not here and person.enterprise_employee is True:
                    out.append(rule.message)
            case NonHukouMustBeInsured():
                if not here and person.insured is False:
                    out.append(rule.message)
    return out


def check_application(
    application: Application,
    *,
    person: PersonFacts | None,
    holds_card: bool,
    first_row_with_id: int | None,
    photos_checked: bool,
    photo: PhotoVerdict | None,
    banks: frozenset[str] | None,
    programme: Programme | None,
    as_of: date,
    known_attributes: frozenset[str] = frozenset(),
) -> tuple[Failure, ...]:
    """The failures of one application, in the fixed order.

    `person`: the population facts for its ID number (None: not in the base);
    `first_row_with_id`: the first row of the file carrying the same normalised ID number;
    `photos_checked`: whether photos were supplied, `photo` the verdict on this row's photo
    (None: it has none);
    `banks`: canonical cooperating banks, None for no bank check; `known_attributes`: which
    optional person attributes (SCOPE_ATTRIBUTES) the inputs carry.
    """
    failures: list[Failure] = []
    check = validate_id_number(application.id_number, as_of=as_of)
    if not check.ok:
        failures.append(Failure(Reason.INVALID_ID, check.errors[0].message))
    else:
        if person is None:
            failures.append(Failure(Reason.NOT_IN_POPULATION))
        elif person.deceased:
            failures.append(Failure(Reason.DECEASED))
    if photos_checked:
        if photo is None:
            failures.append(Failure(Reason.NO_PHOTO, NO_PHOTO_DETAIL))
        elif not photo.ok:
            failures.append(Failure(Reason.PHOTO_QUALITY, photo.message))
    if check.ok and holds_card:
        failures.append(Failure(Reason.HAS_CARD, HAS_CARD_DETAIL))
    if check.ok and first_row_with_id is not None and first_row_with_id < application.row:
        failures.append(Failure(Reason.DUPLICATE_APPLICATION, duplicate_detail(first_row_with_id)))
    phone = validate_mobile(application.phone)
    if not phone.ok:
        failures.append(Failure(Reason.INVALID_PHONE, phone.errors[0].message))
    if banks is not None and resolve_bank(application.bank, banks) is None:
        failures.append(Failure(Reason.BANK_NOT_COOPERATING, bank_detail(application.bank, banks)))
    if check.ok and person is not None and programme is not None:
        out = _out_of_scope(person, check.normalized, programme, as_of, known_attributes)
        if out:
            failures.append(Failure(Reason.OUT_OF_SCOPE, "；".join(out)))
    return tuple(failures)


def bank_detail(bank: str, banks: frozenset[str]) -> str:
    chosen = f"“{bank}”" if bank else "未选择银行"
    return f"{chosen}，合作银行为{banks_text(banks)}"


def banks_text(banks: frozenset[str]) -> str:
    return "、".join(sorted(banks)) or "（无）"


def duplicate_detail(first_row: int) -> str:
    return f"与第 {first_row} 行的身份证号码相同"
