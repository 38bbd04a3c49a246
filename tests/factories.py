"""Test data built through the real services (no hand-written fixtures)."""

from __future__ import annotations

import itertools
from datetime import date

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.services import organisation_create, user_create
from shebao.cards.domain.codes import card_id_code, card_number_of
from shebao.cards.models import Card
from shebao.geo.codes import level_of, parent_code_of, prefix_of
from shebao.geo.models import Region
from shebao.identity.id_number import id_number_check_char as id_check_char
from shebao.registry.models import Person
from shebao.registry.services import PersonInput, person_create

PASSWORD = "Shebao2026test"
_seq = itertools.count(1)

# A small slice of the demo city: 鄂州市 with two districts, two towns, three villages.
REGIONS = [
    ("420000", "湖北省"),
    ("420700", "鄂州市"),
    ("420702", "梁子湖区"),
    ("420704", "鄂城区"),
    ("420702100", "太和镇"),
    ("420704001", "凤凰街道"),
    ("420704001201", "凤凰村村委会"),
    ("420704001202", "樊口村村委会"),
    ("420702100201", "太和村村委会"),
]


def make_regions() -> dict[str, Region]:
    out: dict[str, Region] = {}
    for code, name in REGIONS:
        parent = parent_code_of(code)
        out[code] = Region.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "level": level_of(code),
                "parent_id": parent if parent in out else None,
                "prefix": prefix_of(code),
                "full_name": name,
            },
        )[0]
    return out


def make_org(
    kind: str,
    region_code: str,
    *,
    parent: Organisation | None = None,
    credit_code: str = "",
    name: str = "",
) -> Organisation:
    n = next(_seq)
    return organisation_create(
        actor=None,
        code=f"T{n:05d}",
        name=name or f"{OrganisationKind(kind).label}{n}",
        kind=kind,
        region=Region.objects.get(code=region_code),
        parent=parent,
        credit_code=credit_code,
    )


def make_user(role: str | Role, org: Organisation | None, *, username: str = "") -> User:
    n = next(_seq)
    return user_create(
        actor=None,
        username=username or f"u{n}_{role}",
        password=PASSWORD,
        organisation=org,
        roles=[role],
        full_name=f"测试用户{n}",
    )


def id_number_for(region_code: str, birth: date, seq: int, *, male: bool = True) -> str:
    """A valid 18-digit ID number for a county, birth date and sequence."""
    order = (seq * 2 + (1 if male else 0)) % 1000
    body = f"{region_code[:6]}{birth:%Y%m%d}{order:03d}"
    return body + id_check_char(body)


def make_person(
    region_code: str,
    *,
    name: str = "张三",
    birth: date = date(1980, 5, 17),
    male: bool = True,
    household: str = "",
    phone: str = "",
) -> Person:
    n = next(_seq)
    return person_create(
        actor=None,
        data=PersonInput(
            id_number=id_number_for(region_code, birth, n, male=male),
            name=name,
            hukou_region_code=region_code,
            household_number=household,
            phone=phone,
        ),
    )


def make_card(
    person: Person,
    *,
    custodian: Organisation | None,
    status: str = "made",
    bank: Organisation | None = None,
) -> Card:
    """A card row as production leaves it (status `made`, in the custodian's hands), with a
    valid card number and identification code. Status changes go through the services."""
    n = next(_seq)
    region = person.hukou_region_id
    return Card.objects.create(
        card_number=card_number_of(f"T{n:07d}"),
        card_id_code=card_id_code(region[:6], n),
        person=person,
        status=status,
        issuing_region_id=region[:6] if Region.objects.filter(code=region[:6]).exists() else region,
        custodian=custodian,
        bank=bank,
    )
